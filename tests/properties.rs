//! Properties of every parser an attacker reaches, and of signing, with `proptest`.
//!
//! - the signature header parsers (plain, prefixed, `key=value` lists, versioned lists,
//!   several signatures or repeated headers) never panic, whatever the headers and the body;
//! - for every preset, what is signed verifies, and any single-bit flip of the body, a cut or
//!   extended body, another secret or a moved timestamp does not;
//! - signed-content templates parse without panicking and print back to what they parse from;
//! - the streaming event-id reader never panics, and agrees with a full `serde_json::Value`
//!   lookup, numbers by their exact text;
//! - the JWT (`plaid`) and SNS message parsers never panic; a changed Plaid token or body never
//!   verifies, and a changed SNS message verifies only when every signed value is unchanged;
//! - the TOML configuration never panics and places its errors inside the text.
//!
//! Each property runs `ProptestConfig::default()` cases (256, or `PROPTEST_CASES`): a long sweep
//! is `PROPTEST_CASES=100000 cargo test --release --test properties`.

use base64::Engine as _;
use hookgate::core::scheme::{Algorithm, Encoding, Scheme, SignedPayload, TimestampSource};
use hookgate::core::{EventIdSpec, Provider, Rejection, SignInput, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------------
// Signature headers: nothing an attacker sends makes the verifier panic.
// ---------------------------------------------------------------------------------------------

const SVIX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A verifier per preset and per shape of custom scheme, with every header it reads.
struct Target {
    name: String,
    verifier: Verifier,
    headers: Vec<HeaderName>,
}

/// The presets these properties cover: the first ten, whose shapes (plain, `key=value`,
/// versioned list; raw and `whsec_` keys) every later HMAC preset reuses. Every preset is
/// checked against its own vector in tests/preset_vectors.rs.
const CORE: [Provider; 10] = [
    Provider::D3,
    Provider::Filedgr,
    Provider::DocExtract,
    Provider::DataFlow,
    Provider::Stripe,
    Provider::Github,
    Provider::Slack,
    Provider::Shopify,
    Provider::StandardWebhooks,
    Provider::Svix,
];

static TARGETS: LazyLock<Vec<Target>> = LazyLock::new(|| {
    let mut schemes: Vec<(String, Scheme, hookgate::core::EventIdSpec)> = CORE
        .into_iter()
        .map(|p| (p.name().to_owned(), p.scheme(), p.default_event_id()))
        .collect();
    let custom = [
        Scheme::builder("x-plain").build(),
        Scheme::builder("x-prefixed")
            .algorithm(Algorithm::Sha1)
            .prefix("sha1=")
            .build(),
        Scheme::builder("x-kv")
            .key_value("ts", "sig")
            .signed_payload("{timestamp}.{body}")
            .build(),
        Scheme::builder("x-b64")
            .algorithm(Algorithm::Sha512)
            .encoding(Encoding::Base64)
            .signed_payload("{id}:{timestamp}:{body}")
            .timestamp_header("x-ts")
            .id_header("x-id")
            .build(),
    ];
    for scheme in custom {
        let scheme = scheme.expect("valid custom scheme");
        let id = EventIdSpec::parse(["json:/id", "header:x-delivery"]).unwrap();
        schemes.push((scheme.signature_headers()[0].to_string(), scheme, id));
    }
    schemes
        .into_iter()
        .map(|(name, scheme, event_id)| {
            let mut headers: Vec<HeaderName> = scheme.signature_headers().to_vec();
            if let TimestampSource::Header(names) = scheme.timestamp() {
                headers.extend(names.iter().cloned());
            }
            headers.extend(scheme.id_headers().iter().cloned());
            headers.extend(event_id.sources().iter().filter_map(|s| match s {
                hookgate::core::EventIdSource::Header(h) => Some(h.clone()),
                _ => None,
            }));
            let secret = if name == "svix" || name == "standard-webhooks" {
                SVIX_SECRET
            } else {
                "a secret"
            };
            let verifier = Verifier::new(
                scheme,
                [secret.into()],
                Some(Duration::from_secs(300)),
                event_id,
            )
            .expect("valid verifier");
            Target {
                name,
                verifier,
                headers,
            }
        })
        .collect()
});

/// Text of the shapes signature, timestamp and id headers take, well-formed or not.
fn header_text() -> impl Strategy<Value = Vec<u8>> {
    let kv = vec(("(t|ts|v1|v0|sig|x|)", "[ -+\\--~]{0,90}"), 0..20).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    });
    let list = vec(("(v1|v2|)", "[A-Za-z0-9+/=]{0,90}"), 0..20).prop_map(|entries| {
        entries
            .iter()
            .map(|(v, s)| format!("{v},{s}"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    prop_oneof![
        vec(any::<u8>(), 0..64),
        "[ -~]{0,160}".prop_map(String::into_bytes),
        "(sha256=|sha1=|v0=|)[0-9a-fA-F]{0,140}".prop_map(String::into_bytes),
        kv.prop_map(String::into_bytes),
        list.prop_map(String::into_bytes),
        "-?[0-9]{0,20}".prop_map(String::into_bytes),
    ]
}

fn now_strategy() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        (0u64..1 << 36).prop_map(|s| UNIX_EPOCH + Duration::from_secs(s)),
        (1u64..1 << 36).prop_map(|s| UNIX_EPOCH - Duration::from_secs(s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn verify_never_panics_on_any_header_or_body(
        target in any::<Index>(),
        values in vec(vec(header_text(), 0..4), 0..6),
        body in vec(any::<u8>(), 0..2048),
        now in now_strategy(),
    ) {
        let target = target.get(&TARGETS);
        let mut headers = HeaderMap::new();
        for (name, texts) in target.headers.iter().zip(&values) {
            for text in texts {
                if let Ok(value) = HeaderValue::from_bytes(text) {
                    headers.append(name.clone(), value);
                }
            }
        }
        // Whatever the answer, it is an answer: a verified request or a rejection that maps to
        // a 401.
        if let Err(rejection) = target.verifier.verify(&headers, &body, now) {
            prop_assert_eq!(rejection.status(), 401, "{}: {:?}", target.name, rejection);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signing: what is signed verifies; any change does not.
// ---------------------------------------------------------------------------------------------

/// A secret of the form the provider hands out.
fn secret_for(provider: Provider) -> BoxedStrategy<String> {
    match provider {
        Provider::StandardWebhooks | Provider::Svix => vec(any::<u8>(), 24..64)
            .prop_map(|key| {
                format!(
                    "whsec_{}",
                    base64::engine::general_purpose::STANDARD.encode(key)
                )
            })
            .boxed(),
        _ => "[ -~]{8,48}".boxed(),
    }
}

/// A provider, its secret, another secret, and a request to sign.
#[derive(Debug, Clone)]
struct Delivery {
    provider: Provider,
    secret: String,
    other: String,
    body: Vec<u8>,
    timestamp: i64,
    id: String,
    delay: u64,
}

/// A delivery from one of `providers`.
fn delivery_from(providers: Vec<Provider>) -> impl Strategy<Value = Delivery> {
    prop::sample::select(providers).prop_flat_map(|provider| {
        (
            secret_for(provider),
            secret_for(provider),
            prop_oneof![
                9 => vec(any::<u8>(), 0..2048),
                1 => vec(any::<u8>(), 0..70_000),
            ],
            1_600_000_000i64..1_900_000_000,
            "[a-zA-Z0-9_-]{1,32}",
            0u64..120,
        )
            .prop_map(
                move |(secret, other, body, timestamp, id, delay)| Delivery {
                    provider,
                    secret,
                    other,
                    body,
                    timestamp,
                    id,
                    delay,
                },
            )
    })
}

fn delivery() -> impl Strategy<Value = Delivery> {
    delivery_from(CORE.to_vec())
}

impl Delivery {
    fn verifier(&self, secrets: &[&str], tolerance: Option<Duration>) -> Verifier {
        Verifier::new(
            self.provider.scheme(),
            secrets.iter().map(|s| (*s).into()),
            tolerance,
            self.provider.default_event_id(),
        )
        .unwrap()
    }

    fn headers(&self, secret: &str, timestamp: i64) -> HeaderMap {
        let input = SignInput {
            timestamp,
            id: &self.id,
        };
        let mut headers = HeaderMap::new();
        headers.extend(
            self.provider
                .sign_request(&secret.into(), &self.body, &input)
                .unwrap(),
        );
        headers
    }

    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.timestamp as u64 + self.delay)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn signed_verifies_and_any_change_does_not(
        d in delivery(),
        at in any::<Index>(),
        bit in 0u8..8,
        extra in any::<u8>(),
    ) {
        prop_assume!(d.secret != d.other);
        let verifier = d.verifier(&[&d.secret], d.provider.default_tolerance());
        let headers = d.headers(&d.secret, d.timestamp);
        let now = d.now();

        let verified = verifier.verify(&headers, &d.body, now);
        prop_assert!(verified.is_ok(), "{}: {:?}", d.provider, verified);
        let verified = verified.unwrap();
        prop_assert!(!verified.event_id.is_empty());
        if d.provider.scheme().signs_timestamp() {
            prop_assert_eq!(verified.timestamp, Some(d.timestamp));
        }

        if !d.body.is_empty() {
            let mut flipped = d.body.clone();
            let i = at.index(flipped.len());
            flipped[i] ^= 1 << bit;
            prop_assert_eq!(
                verifier.verify(&headers, &flipped, now),
                Err(Rejection::InvalidSignature),
                "bit {} of byte {} flipped", bit, i
            );
            prop_assert_eq!(
                verifier.verify(&headers, &d.body[..d.body.len() - 1], now),
                Err(Rejection::InvalidSignature),
                "cut"
            );
        }
        let mut extended = d.body.clone();
        extended.push(extra);
        prop_assert_eq!(
            verifier.verify(&headers, &extended, now),
            Err(Rejection::InvalidSignature),
            "extended"
        );

        let forged = d.headers(&d.other, d.timestamp);
        prop_assert_eq!(
            verifier.verify(&forged, &d.body, now),
            Err(Rejection::InvalidSignature),
            "other secret"
        );

        // Rotation: the right secret anywhere in the list verifies.
        let rotated = d.verifier(&[&d.other, &d.secret], d.provider.default_tolerance());
        prop_assert!(rotated.verify(&headers, &d.body, now).is_ok(), "rotation");
    }

    #[test]
    fn a_signed_timestamp_cannot_be_moved(
        d in delivery_from(
            CORE.into_iter().filter(|p| p.scheme().signs_timestamp()).collect()
        ),
        shift in 1i64..200,
    ) {
        let moved = d.timestamp + shift;
        let verifier = d.verifier(&[&d.secret], None);
        let signed = d.headers(&d.secret, d.timestamp);
        // Re-stamp the request with another time but keep the original signature.
        let mut restamped = d.headers(&d.secret, moved);
        let name = d.provider.scheme().signature_headers()[0].clone();
        let original = signed[&name].to_str().unwrap();
        let value = match original.split_once(",v1=") {
            // `t=…,v1=…`: keep the signature, change t.
            Some((_, sig)) => format!("t={moved},v1={sig}"),
            None => original.to_owned(),
        };
        restamped.insert(name, value.parse().unwrap());
        let now = UNIX_EPOCH + Duration::from_secs(moved as u64);
        prop_assert_eq!(
            verifier.verify(&restamped, &d.body, now),
            Err(Rejection::InvalidSignature)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Signed-content templates.
// ---------------------------------------------------------------------------------------------

fn template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{body}".to_owned()),
        Just("{timestamp}".to_owned()),
        Just("{id}".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        "[^{}]{0,6}",
        "\\{[a-z]{0,10}\\}",
        any::<String>(),
    ];
    vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn templates_never_panic_and_print_back(text in prop_oneof![template(), any::<String>()]) {
        if let Ok(payload) = SignedPayload::parse(&text) {
            prop_assert_eq!(payload.to_string(), text.as_str());
            prop_assert_eq!(SignedPayload::parse(&payload.to_string()), Ok(payload));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Event ids.
// ---------------------------------------------------------------------------------------------

/// Object keys, with the characters a JSON pointer escapes and JSON strings escape.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,3}",
        "[a-z/~0-9\"\\\\ é\u{1}]{0,6}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

/// Any JSON value, with finite numbers, integers beyond 64 bits excluded (serde_json's
/// `Value` cannot hold them without `arbitrary_precision`).
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Finite only (no filter: a long sweep would hit proptest's limit of rejections).
        (prop::num::f64::POSITIVE
            | prop::num::f64::NEGATIVE
            | prop::num::f64::NORMAL
            | prop::num::f64::SUBNORMAL
            | prop::num::f64::ZERO)
            .prop_map(Value::from),
        "[a-z0-9]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(|s| Value::from(s.chars().take(40).collect::<String>())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Walks `steps` into `value`, choosing an existing member or element at each step, or an
/// absent key at a scalar; returns the pointer.
fn pointer_into(value: &Value, steps: &[Index], absent: &str) -> String {
    let mut pointer = String::new();
    let mut node = value;
    for step in steps {
        match node {
            Value::Object(map) if !map.is_empty() => {
                let (key, child) = map.iter().nth(step.index(map.len())).unwrap();
                pointer.push('/');
                pointer.push_str(&escape_token(key));
                node = child;
            }
            Value::Array(items) if !items.is_empty() => {
                let i = step.index(items.len());
                pointer.push_str(&format!("/{i}"));
                node = &items[i];
            }
            _ => {
                pointer.push('/');
                pointer.push_str(&escape_token(absent));
                break;
            }
        }
    }
    if pointer.is_empty() {
        pointer.push('/');
        pointer.push_str(&escape_token(absent));
    }
    pointer
}

fn extract(pointer: &str, body: &[u8]) -> Option<String> {
    EventIdSpec::parse([format!("json:{pointer}")])
        .expect("a pointer starting with / parses")
        .extract(&HeaderMap::new(), body, None)
}

/// A JSON number as a sender may write it.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,40})",
        "-?(0|[1-9][0-9]{0,6})(\\.[0-9]{1,8})?([eE][+-]?[0-9]{1,3})?",
    ]
}

const PLACEHOLDER: &str = "\u{1}hookgate-placeholder\u{1}";

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn event_id_never_panics_on_any_body(
        body in prop_oneof![
            vec(any::<u8>(), 0..512),
            "[\\[\\]{}\":,0-9a-z \\\\.eE+-]{0,200}".prop_map(String::into_bytes),
        ],
        pointer in prop_oneof!["/[a-z0-9/~]{0,12}", "/\\PC{0,12}"],
    ) {
        let _ = extract(&pointer, &body);
    }

    /// For any document and any pointer into it, the streaming reader finds what a full parse
    /// finds: a string's value, a number's text as serde_json writes it (which is the text in
    /// the document, since serde_json wrote it), nothing for anything else.
    #[test]
    fn event_id_agrees_with_a_full_parse(
        document in json(),
        steps in vec(any::<Index>(), 1..5),
        absent in key(),
        pretty in any::<bool>(),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&document).unwrap()
        } else {
            serde_json::to_string(&document).unwrap()
        };
        let pointer = pointer_into(&document, &steps, &absent);
        let expected = match document.pointer(&pointer) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        prop_assert_eq!(extract(&pointer, text.as_bytes()), expected, "{} in {}", pointer, text);
    }

    /// An id written at a generated path, among other members: a string comes back as its
    /// value, a number (of any size or form) as its exact text.
    #[test]
    fn event_id_at_a_generated_path_is_read_exactly(
        path in vec(prop_oneof![key().prop_map(Ok), (0usize..4).prop_map(Err)], 1..5),
        noise in vec(json(), 0..4),
        id in prop_oneof![
            "[ -~]{1,40}".prop_map(Ok),
            vec(any::<char>(), 1..40).prop_map(|c| Ok(c.into_iter().collect())),
            number_text().prop_map(Err),
        ],
        pretty in any::<bool>(),
    ) {
        // Build the document inside out, the placeholder where the id goes.
        let mut node = Value::from(PLACEHOLDER);
        let mut noise = noise.into_iter().cycle();
        for step in path.iter().rev() {
            node = match step {
                Ok(key) => {
                    let mut map = serde_json::Map::new();
                    if let Some(other) = noise.next() {
                        map.insert(format!("{key}-other"), other);
                    }
                    map.insert(key.clone(), node);
                    Value::Object(map)
                }
                Err(index) => {
                    let mut items: Vec<Value> =
                        (0..*index).map(|_| noise.next().unwrap_or(Value::Null)).collect();
                    items.push(node);
                    items.extend(noise.next());
                    Value::Array(items)
                }
            };
        }
        let pointer: String = path
            .iter()
            .map(|step| match step {
                Ok(key) => format!("/{}", escape_token(key)),
                Err(index) => format!("/{index}"),
            })
            .collect();
        let text = if pretty {
            serde_json::to_string_pretty(&node).unwrap()
        } else {
            serde_json::to_string(&node).unwrap()
        };
        let quoted = serde_json::to_string(PLACEHOLDER).unwrap();
        prop_assert_eq!(text.matches(&quoted).count(), 1);
        let (literal, expected) = match &id {
            Ok(s) => (serde_json::to_string(s).unwrap(), s.clone()),
            Err(number) => (number.clone(), number.clone()),
        };
        let text = text.replace(&quoted, &literal);

        let got = extract(&pointer, text.as_bytes());
        prop_assert_eq!(got.as_deref(), Some(expected.as_str()), "{} in {}", pointer, text);

        // The same place, by a full parse (which cannot hold numbers out of f64's range).
        if let Ok(parsed) = serde_json::from_str::<Value>(&text) {
            match (parsed.pointer(&pointer), &id) {
                (Some(Value::String(s)), Ok(id)) => prop_assert_eq!(s, id),
                (Some(Value::Number(n)), Err(literal)) => {
                    if n.is_i64() || n.is_u64() {
                        prop_assert_eq!(&n.to_string(), literal);
                    }
                }
                (other, _) => prop_assert!(false, "full parse found {:?} at {}", other, pointer),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Envelopes (`jwt-es256`, `aws-sns`): the JWT and SNS parsers never panic, and a change to a
// signed request is refused unless it leaves every signed value as it was.
// ---------------------------------------------------------------------------------------------

/// A preset's vector file and a verifier of its secret.
struct Envelope {
    vector: Value,
    verifier: Verifier,
}

fn envelope(name: &str) -> Envelope {
    let path = format!(
        "{}/tests/vectors/presets/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let vector: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let verifier = Verifier::builder()
        .provider(Provider::named(name).unwrap())
        .secret(vector["secret"].as_str().unwrap())
        .build()
        .unwrap();
    Envelope { vector, verifier }
}

static PLAID: LazyLock<Envelope> = LazyLock::new(|| envelope("plaid"));
static SNS: LazyLock<Envelope> = LazyLock::new(|| envelope("sns"));

impl Envelope {
    fn body(&self) -> &str {
        self.vector["body"].as_str().unwrap()
    }

    fn token(&self) -> &str {
        self.vector["headers"]["Plaid-Verification"]
            .as_str()
            .unwrap()
    }

    fn verify(&self, token: Option<&[u8]>, body: &[u8]) -> Result<(), Rejection> {
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            match HeaderValue::from_bytes(token) {
                Ok(value) => headers.insert("plaid-verification", value),
                Err(_) => return Err(Rejection::InvalidSignature),
            };
        }
        let now = UNIX_EPOCH + Duration::from_secs(self.vector["now"].as_u64().unwrap());
        self.verifier.verify(&headers, body, now).map(|_| ())
    }
}

/// Text shaped like a JWT: three base64url-ish segments, or anything.
fn jwt_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..128),
        "[A-Za-z0-9_=-]{0,60}\\.[A-Za-z0-9_=-]{0,200}\\.[A-Za-z0-9_=-]{0,90}"
            .prop_map(String::into_bytes),
        vec(json(), 2..3).prop_map(|parts| {
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.{}", b64(&parts[0]), b64(&parts[1]), "A".repeat(86)).into_bytes()
        }),
    ]
}

/// The values SNS signs, its version and the signature, as a JSON reader sees them
/// (`SigningCertURL` is not signed: it is only checked for its shape).
fn sns_signed_values(body: &[u8]) -> Option<Vec<Value>> {
    let message: Value = serde_json::from_slice(body).ok()?;
    Some(
        [
            "Type",
            "MessageId",
            "Message",
            "Subject",
            "Timestamp",
            "TopicArn",
            "SubscribeURL",
            "Token",
            "SignatureVersion",
            "Signature",
        ]
        .iter()
        .map(|key| message.get(*key).cloned().unwrap_or(Value::Null))
        .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn envelope_parsers_never_panic(
        token in jwt_text(),
        body in prop_oneof![vec(any::<u8>(), 0..1024), json().prop_map(|v| v.to_string().into_bytes())],
    ) {
        for result in [PLAID.verify(Some(&token), &body), SNS.verify(None, &body)] {
            if let Err(rejection) = result {
                prop_assert_eq!(rejection.status(), 401, "{:?}", rejection);
            } else {
                prop_assert!(false, "random input verified");
            }
        }
    }

    #[test]
    fn a_changed_plaid_token_or_body_is_refused(at in any::<Index>(), byte in any::<u8>(), in_body in any::<bool>()) {
        let (mut token, mut body) = (PLAID.token().as_bytes().to_vec(), PLAID.body().as_bytes().to_vec());
        let target = if in_body { &mut body } else { &mut token };
        let i = at.index(target.len());
        prop_assume!(target[i] != byte);
        target[i] = byte;
        prop_assert!(PLAID.verify(Some(&token), &body).is_err());
    }

    #[test]
    fn a_changed_sns_message_verifies_only_if_its_signed_values_are_unchanged(
        at in any::<Index>(),
        byte in any::<u8>(),
    ) {
        let mut body = SNS.body().as_bytes().to_vec();
        let i = at.index(body.len());
        prop_assume!(body[i] != byte);
        body[i] = byte;
        if SNS.verify(None, &body).is_ok() {
            prop_assert_eq!(sns_signed_values(&body), sns_signed_values(SNS.body().as_bytes()));
        }
    }
}

/// The TOML configuration (feature `config`).
#[cfg(feature = "config")]
mod toml_config {
    use super::*;
    use hookgate::config::Config;

    // ---------------------------------------------------------------------------------------------
    // TOML configuration.
    // ---------------------------------------------------------------------------------------------

    const VALID_CONFIGS: [&str; 2] = [
        r#"
[server]
listen = "127.0.0.1:8080"
upstream_timeout = "10s"
max_body = "64KiB"

[store]
capacity = 5000

[[route]]
name = "github"
path = "/webhooks/github"
upstream = "http://127.0.0.1:3000/github"
provider = "github"
secrets = ["gh-secret", "gh-old"]
rate_limit = { per_second = 10, burst = 20 }
allow_ips = ["10.0.0.0/8"]
"#,
        r#"
[[route]]
name = "acme"
path = "/webhooks/acme"
upstream = "http://127.0.0.1:3000/acme"
secrets = ["acme-secret"]
event_id = ["json:/event/id", "header:X-Acme-Delivery"]
tolerance = "5m"
dedup_ttl = "72h"
[route.scheme]
header = "X-Acme-Signature"
algorithm = "sha512"
encoding = "hex"
format = "kv"
timestamp_key = "ts"
signature_key = "sig"
signed_payload = "{timestamp}.{body}"

[[route]]
name = "svix"
path = "/webhooks/svix"
upstream = "http://127.0.0.1:3000/svix"
provider = "svix"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
"#,
    ];

    /// One edit of a config, on chars (the text stays UTF-8).
    #[derive(Debug, Clone)]
    enum Edit {
        Delete(Index),
        Insert(Index, char),
        Replace(Index, char),
        Truncate(Index),
        DuplicateLine(Index),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let ch = prop_oneof![
            prop::sample::select(
                "\"'=[]{}.,#\n\\ 0123456789abcdefxyz-:/é\u{0}\t"
                    .chars()
                    .collect::<Vec<_>>()
            ),
            any::<char>(),
        ];
        prop_oneof![
            any::<Index>().prop_map(Edit::Delete),
            (any::<Index>(), ch.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
            (any::<Index>(), ch).prop_map(|(i, c)| Edit::Replace(i, c)),
            any::<Index>().prop_map(Edit::Truncate),
            any::<Index>().prop_map(Edit::DuplicateLine),
        ]
    }

    fn apply(text: &str, edits: &[Edit]) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for edit in edits {
            let len = chars.len();
            match edit {
                Edit::Delete(i) if len > 0 => {
                    chars.remove(i.index(len));
                }
                Edit::Insert(i, c) => chars.insert(i.index(len + 1), *c),
                Edit::Replace(i, c) if len > 0 => chars[i.index(len)] = *c,
                Edit::Truncate(i) => chars.truncate(i.index(len + 1)),
                Edit::DuplicateLine(i) => {
                    let text: String = chars.iter().collect();
                    let lines: Vec<&str> = text.split('\n').collect();
                    let n = i.index(lines.len());
                    let mut out = lines.clone();
                    out.insert(n, lines[n]);
                    chars = out.join("\n").chars().collect();
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }

    /// A config error's position is a place in the text: a line that exists, a column within it
    /// (or just after its last char).
    fn check_position(text: &str) -> Result<(), TestCaseError> {
        if let Err(error) = Config::from_toml(text) {
            let lines: Vec<&str> = text.split('\n').collect();
            prop_assert!(
                error.line >= 1 && error.line <= lines.len(),
                "line {} of {}: {}",
                error.line,
                lines.len(),
                error
            );
            let width = lines[error.line - 1].chars().count();
            prop_assert!(
                error.column >= 1 && error.column <= width + 1,
                "column {} of a {}-char line: {}",
                error.column,
                width,
                error
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::default())]

        #[test]
        fn config_never_panics_on_any_text(text in prop_oneof![
            any::<String>(),
            "[\\[\\]a-z_ =\"{},.0-9\n#:/]{0,200}",
        ]) {
            check_position(&text)?;
        }

        #[test]
        fn config_never_panics_on_edited_valid_configs(
            base in prop::sample::select(VALID_CONFIGS.to_vec()),
            edits in vec(edit(), 1..6),
        ) {
            check_position(&apply(base, &edits))?;
        }
    }

    #[test]
    fn the_valid_configs_are_valid() {
        for text in VALID_CONFIGS {
            Config::from_toml(text).unwrap();
        }
    }
}
