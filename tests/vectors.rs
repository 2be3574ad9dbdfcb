//! Published webhook signature test vectors (provider docs, SDK test suites, RFC 4231),
//! verified through hookgate's presets and a custom scheme.
//!
//! The vectors live in `tests/vectors/published.json` (a copy of the published set, so the
//! repository tests on its own) and are read at run time. Their
//! timestamps are years old, so the clock is pinned to each vector's own timestamp.

use hmac::{Hmac, KeyInit, Mac};
use hookgate::core::scheme::{
    Algorithm, Encoding, KeyEncoding, Scheme, SignatureFormat, SignedPayload, TimestampFormat,
    TimestampSource,
};
use hookgate::core::{
    sign, EventIdSpec, Provider, RequestHead, Secret, SignInput, Verified, Verifier,
};
use hookgate::Rejection;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/published.json");

/// The `provider` of the RFC 4231 vector: not a webhook provider, checked by its own test.
const PRIMITIVE: &str = "hmac-sha256 primitive";

/// Providers in the file that hookgate has no preset for. Their vectors are counted as
/// skipped, never silently ignored. (Twitch's RFC 3339 timestamps and Square's signed URL are
/// presets now.)
const UNSUPPORTED: [&str; 0] = [];

/// Vectors of presets that must run: standard-webhooks (3: two valid, one invalid), github (2),
/// slack (1), twitch (1), square (1).
const EXPECTED_PRESET_VECTORS: usize = 8;
/// Of which this many are `valid: false`.
const EXPECTED_INVALID_VECTORS: usize = 1;
/// Standard Webhooks vectors, also run under the `svix` preset.
const EXPECTED_STANDARD_VECTORS: usize = 3;
/// Valid vectors with a signed timestamp (two Standard Webhooks, one Slack, one Twitch).
const EXPECTED_TIMESTAMPED_VALID: usize = 4;

fn load() -> Vec<Value> {
    let text =
        std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("cannot read {VECTORS}: {e}"));
    let doc: Value = serde_json::from_str(&text).expect("published.json is valid JSON");
    doc["vectors"]
        .as_array()
        .expect("`vectors` is an array")
        .clone()
}

fn str_field<'v>(vector: &'v Value, field: &str) -> &'v str {
    vector[field]
        .as_str()
        .unwrap_or_else(|| panic!("vector has no string `{field}`: {vector}"))
}

fn describe(vector: &Value) -> String {
    format!(
        "{} ({})",
        str_field(vector, "provider"),
        vector["source"].as_str().unwrap_or("?")
    )
}

/// The vector's headers as an `http::HeaderMap` (names are lower-cased by `http`).
fn headers(vector: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Some(obj) = vector["headers"].as_object() {
        for (name, value) in obj {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
            let value = HeaderValue::from_str(value.as_str().expect("string header value"))
                .expect("valid header value");
            map.append(name, value);
        }
    }
    map
}

/// The vector's signed unix timestamp: the value of a `*-timestamp` header, if any.
fn vector_timestamp(vector: &Value) -> Option<i64> {
    vector["headers"].as_object().and_then(|obj| {
        obj.iter()
            .find(|(name, _)| name.to_ascii_lowercase().ends_with("-timestamp"))
            .map(|(name, value)| {
                value
                    .as_str()
                    .and_then(|v| {
                        v.parse::<i64>()
                            .ok()
                            .or_else(|| TimestampFormat::Rfc3339.parse(v))
                    })
                    .unwrap_or_else(|| panic!("header {name} is not a timestamp: {value}"))
            })
    })
}

fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("positive timestamp"))
}

fn preset_verifier(provider: Provider, secret: &str) -> Verifier {
    Verifier::new(
        provider.scheme(),
        [Secret::from(secret)],
        provider.default_tolerance(),
        provider.default_event_id(),
    )
    .unwrap_or_else(|e| panic!("{provider}: verifier: {e}"))
}

/// The clock of a vector: its own timestamp when it signs one, any time otherwise.
fn pinned_clock(provider: Provider, vector: &Value) -> (SystemTime, Option<i64>) {
    match vector_timestamp(vector) {
        Some(ts) => (at(ts), Some(ts)),
        None => {
            assert!(
                provider.default_tolerance().is_none(),
                "{provider} signs a timestamp but the vector {} has none",
                describe(vector)
            );
            (SystemTime::now(), None)
        }
    }
}

fn verify_vector(
    provider: Provider,
    vector: &Value,
    now: SystemTime,
) -> Result<Verified, Rejection> {
    // Square signs the notification URL: the request target is then that absolute URL.
    let uri: http::Uri = vector["notification_url"]
        .as_str()
        .unwrap_or("/webhooks")
        .parse()
        .unwrap();
    let headers = headers(vector);
    preset_verifier(provider, str_field(vector, "secret")).verify_request(
        &RequestHead::new(&http::Method::POST, &uri, &headers),
        str_field(vector, "body").as_bytes(),
        now,
    )
}

/// Runs one vector under `provider` with the pinned clock and checks the outcome.
fn check_vector(provider: Provider, vector: &Value) {
    let valid = vector["valid"]
        .as_bool()
        .unwrap_or_else(|| panic!("vector has no `valid`: {}", describe(vector)));
    let (now, ts) = pinned_clock(provider, vector);
    let result = verify_vector(provider, vector, now);
    if valid {
        let verified = result.unwrap_or_else(|r| {
            panic!(
                "{provider}: valid vector {} rejected: {} ({r})",
                describe(vector),
                r.code()
            )
        });
        assert_eq!(verified.timestamp, ts, "{provider}: {}", describe(vector));
        match vector["headers"]["webhook-id"].as_str() {
            // Standard Webhooks: the event id is the signed message id.
            Some(id) => {
                assert_eq!(verified.event_id, id, "{provider}: {}", describe(vector));
                assert!(!verified.event_id_from_signature);
            }
            // Twitch's id is the signed message id; Square's the body's `event_id`.
            None if provider == Provider::Twitch || provider.name() == "square" => {
                assert!(
                    !verified.event_id_from_signature,
                    "{provider}: {verified:?}"
                );
            }
            // GitHub vectors carry no X-GitHub-Delivery, Slack's body is a form: the id falls
            // back to the signature digest.
            None => {
                assert!(
                    verified.event_id_from_signature && verified.event_id.starts_with("sig:"),
                    "{provider}: {}: expected a sig: fallback id, got {verified:?}",
                    describe(vector)
                );
            }
        }
    } else {
        let rejection = result.err().unwrap_or_else(|| {
            panic!(
                "{provider}: invalid vector {} was accepted",
                describe(vector)
            )
        });
        assert_eq!(
            rejection.code(),
            "invalid_signature",
            "{provider}: {}",
            describe(vector)
        );
        assert_eq!(rejection, Rejection::InvalidSignature);
        assert_eq!(rejection.status(), http::StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn published_vectors_verify_under_their_presets() {
    let mut ran = 0;
    let mut ran_invalid = 0;
    let mut skipped: Vec<String> = Vec::new();
    for vector in load() {
        let name = str_field(&vector, "provider");
        if name == PRIMITIVE {
            continue; // rfc4231_vector_verifies_through_a_custom_scheme
        }
        let Some(provider) = Provider::from_name(name) else {
            // No preset (twitch, square): counted, and checked against the known list below.
            skipped.push(name.to_owned());
            continue;
        };
        check_vector(provider, &vector);
        ran += 1;
        if vector["valid"] == Value::Bool(false) {
            ran_invalid += 1;
        }
    }
    skipped.sort();
    assert_eq!(
        skipped, UNSUPPORTED,
        "only the providers without a preset may be skipped"
    );
    assert!(
        ran >= EXPECTED_PRESET_VECTORS,
        "only {ran} preset vectors ran, expected at least {EXPECTED_PRESET_VECTORS}"
    );
    assert!(
        ran_invalid >= EXPECTED_INVALID_VECTORS,
        "only {ran_invalid} invalid vectors ran"
    );
}

#[test]
fn standard_webhooks_vectors_verify_under_the_svix_preset() {
    // Svix reads svix-* headers first but accepts webhook-* too.
    let mut ran = 0;
    for vector in load() {
        if vector["provider"] == "standard-webhooks" {
            check_vector(Provider::Svix, &vector);
            ran += 1;
        }
    }
    assert!(
        ran >= EXPECTED_STANDARD_VECTORS,
        "only {ran} standard-webhooks vectors ran under svix"
    );
}

#[test]
fn standard_webhooks_vectors_verify_with_svix_header_names() {
    // The same vectors with the headers renamed svix-*, under both presets.
    let mut ran = 0;
    for vector in load() {
        if vector["provider"] != "standard-webhooks" || vector["valid"] != Value::Bool(true) {
            continue;
        }
        let mut renamed = HeaderMap::new();
        for (name, value) in headers(&vector).iter() {
            let new = name.as_str().replacen("webhook-", "svix-", 1);
            renamed.insert(HeaderName::try_from(new).unwrap(), value.clone());
        }
        let (now, _) = pinned_clock(Provider::StandardWebhooks, &vector);
        for provider in [Provider::StandardWebhooks, Provider::Svix] {
            let verified = preset_verifier(provider, str_field(&vector, "secret"))
                .verify(&renamed, str_field(&vector, "body").as_bytes(), now)
                .unwrap_or_else(|r| panic!("{provider}: {}: {}", describe(&vector), r.code()));
            assert_eq!(
                verified.event_id,
                vector["headers"]["webhook-id"].as_str().unwrap()
            );
            ran += 1;
        }
    }
    assert!(ran >= 2 * 2, "only {ran} renamed vectors ran");
}

#[test]
fn stale_and_future_vectors_are_out_of_tolerance() {
    // Valid vectors that sign a timestamp, with the clock 10 minutes after (stale) and 10
    // minutes before (future timestamp) the signed one: default tolerance is 5 minutes.
    // (Invalid vectors are left out: their signature fails before the timestamp is looked at.)
    let mut ran = 0;
    for vector in load() {
        let Some(provider) = Provider::from_name(str_field(&vector, "provider")) else {
            continue;
        };
        let Some(ts) = vector_timestamp(&vector) else {
            continue;
        };
        if vector["valid"] != Value::Bool(true) {
            continue;
        }
        let mut providers = vec![provider];
        if provider == Provider::StandardWebhooks {
            providers.push(Provider::Svix);
        }
        for provider in providers {
            let tolerance = provider.default_tolerance().unwrap().as_secs() as i64;
            for (label, now) in [
                ("stale", ts + tolerance + 300),
                ("future", ts - tolerance - 300),
            ] {
                let rejection = verify_vector(provider, &vector, at(now))
                    .err()
                    .unwrap_or_else(|| {
                        panic!("{provider}: {label} {} accepted", describe(&vector))
                    });
                assert_eq!(
                    rejection.code(),
                    "timestamp_out_of_tolerance",
                    "{provider}: {label} {}",
                    describe(&vector)
                );
                assert_eq!(rejection.status(), http::StatusCode::UNAUTHORIZED);
            }
            // Within tolerance on both sides it still verifies.
            for now in [ts + tolerance - 60, ts - tolerance + 60] {
                verify_vector(provider, &vector, at(now)).unwrap_or_else(|r| {
                    panic!(
                        "{provider}: {} at ts{:+}: {}",
                        describe(&vector),
                        now - ts,
                        r.code()
                    )
                });
            }
        }
        ran += 1;
    }
    assert!(
        ran >= EXPECTED_TIMESTAMPED_VALID,
        "only {ran} timestamped vectors ran, expected {EXPECTED_TIMESTAMPED_VALID}"
    );
}

#[test]
fn rfc4231_vector_verifies_through_a_custom_scheme() {
    let vectors = load();
    let found: Vec<&Value> = vectors
        .iter()
        .filter(|v| v["provider"] == PRIMITIVE)
        .collect();
    assert_eq!(found.len(), 1, "exactly one RFC 4231 vector");
    let vector = found[0];
    let secret = str_field(vector, "secret");
    let body = str_field(vector, "body").as_bytes();
    let expected_hex = str_field(vector, "hex");

    // The vector itself, with the hmac crate directly.
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    assert_eq!(hex::encode(mac.finalize().into_bytes()), expected_hex);

    let header = HeaderName::from_static("x-signature");
    let scheme = Scheme::builder("x-signature")
        .algorithm(Algorithm::Sha256)
        .encoding(Encoding::Hex)
        .build()
        .unwrap();
    assert_eq!(scheme.format(), &SignatureFormat::Plain { prefix: None });
    assert_eq!(scheme.signed_payload(), &SignedPayload::body());
    assert_eq!(scheme.timestamp(), &TimestampSource::None);
    assert_eq!(scheme.key_encoding(), KeyEncoding::Raw);
    let verifier = Verifier::new(
        scheme.clone(),
        [Secret::from(secret)],
        None,
        EventIdSpec::parse(["json:/id"]).unwrap(),
    )
    .unwrap();
    let now = SystemTime::now();

    let request = |sig: &str| {
        let mut h = HeaderMap::new();
        h.insert(header.clone(), HeaderValue::from_str(sig).unwrap());
        h
    };

    let verified = verifier.verify(&request(expected_hex), body, now).unwrap();
    assert_eq!(verified.timestamp, None);
    assert!(verified.event_id_from_signature, "body is not JSON");
    assert!(verified.event_id.starts_with("sig:"));

    // Hex is case-insensitive.
    verifier
        .verify(&request(&expected_hex.to_ascii_uppercase()), body, now)
        .unwrap();

    // The library signer produces the same header.
    let signed = sign(&scheme, &Secret::from(secret), body, &SignInput::default()).unwrap();
    assert_eq!(signed.len(), 1);
    assert_eq!(signed[0].0, header);
    assert_eq!(signed[0].1, expected_hex);

    // One changed byte of the body, or of the key, fails.
    let mut tampered = body.to_vec();
    tampered[0] ^= 0x01;
    assert_eq!(
        verifier
            .verify(&request(expected_hex), &tampered, now)
            .unwrap_err()
            .code(),
        "invalid_signature"
    );
    let other = Verifier::new(
        scheme,
        [Secret::from("jefe")],
        None,
        EventIdSpec::parse(["json:/id"]).unwrap(),
    )
    .unwrap();
    assert_eq!(
        other
            .verify(&request(expected_hex), body, now)
            .unwrap_err()
            .code(),
        "invalid_signature"
    );
}
