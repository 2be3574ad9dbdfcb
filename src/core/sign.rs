//! Producing signatures exactly as a provider would: for `hookgate sign` / `send`, tests and
//! `resign`.
//!
//! Two levels, each in two forms:
//! - [`sign`] interprets a [`Scheme`] and returns the headers: the signature, the signed
//!   timestamp's header and the header of the signed `{id}`. [`sign_message`] also takes the
//!   request head (the method, URL and headers that Twilio, Square or HubSpot sign) and returns
//!   the body too, for schemes that carry their signature or timestamp in it (Mailgun, Linear,
//!   Figma);
//! - [`Provider::sign_request`] and [`Provider::sign_message`] are what a preset's sender
//!   sends: the same, plus the header its default event id is read from
//!   (`X-GitHub-Delivery`, `X-Shopify-Webhook-Id`).
//!
//! The [`Secret`] is what the sender signs with: the shared secret of an HMAC or token scheme,
//! and the **private** key of a public-key scheme (the route verifies with the public key):
//! Ed25519 (Discord) as hex or base64 of the 32-byte seed (or of seed and public key, 64
//! bytes; `whsk_` + base64 for Standard Webhooks `v1a`) or PKCS#8 PEM or DER; ECDSA P-256
//! (SendGrid) as PKCS#8 or SEC1 PEM or DER, or hex of the 32-byte scalar. A raw Ed25519 public
//! key cannot be told from a seed: given one, `sign` signs with the key of that seed, which
//! the route's public key then rejects.

use super::event_id::JsonPointer;
use super::key::{KeyError, SigningKey};
use super::presets::Provider;
use super::scheme::{
    Encoding, PayloadPart, Scheme, SignatureFormat, SignatureLocation, TimestampFormat,
    TimestampSource,
};
use super::verify::{form_pairs, path_and_query, RequestHead};
use super::{EventIdSource, Secret};
use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// What to sign besides the body and the request head.
///
/// ```
/// use hookgate::core::{sign, Provider, SignInput};
/// let input = SignInput { timestamp: 1_700_000_000, id: "msg_1" };
/// let headers = sign(&Provider::Svix.scheme(), &"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), b"{}", &input).unwrap();
/// let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["svix-signature", "svix-timestamp", "svix-id"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SignInput<'a> {
    /// Unix seconds, for schemes that sign a timestamp; written in the scheme's format
    /// (milliseconds for HubSpot, RFC 3339 for Twitch).
    pub timestamp: i64,
    /// The message id: signed by schemes that sign `{id}`, sent in the event id header of
    /// presets that read one (see [`Provider::sign_request`]), and written into a signed body
    /// field the body lacks (Mailgun's `/signature/token`, by [`sign_message`]).
    pub id: &'a str,
}

/// A signed request: the headers and the body to send (see [`sign_message`]).
///
/// ```
/// use hookgate::core::{sign_message, Provider, RequestHead, SignInput};
/// let (method, uri, headers) = (http::Method::POST, http::Uri::from_static("/hooks"), http::HeaderMap::new());
/// let input = SignInput { timestamp: 1_700_000_000, id: "" };
/// let signed = sign_message(&Provider::Github.scheme(), &"s".into(), &RequestHead::new(&method, &uri, &headers), b"{}", &input).unwrap();
/// assert_eq!(signed.headers[0].0, "x-hub-signature-256");
/// assert_eq!(signed.body, b"{}"); // GitHub sends the body as it is
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedMessage {
    /// The headers to send, signature first (as [`sign`] returns them). The request head's
    /// own headers are not repeated.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body to send: the body given, with the JSON fields written that the scheme reads
    /// from it (Mailgun's `signature` object, Linear's `webhookTimestamp`, Figma's `passcode`).
    /// Everything else keeps its bytes.
    pub body: Vec<u8>,
}

/// Why a request could not be signed.
///
/// ```
/// use hookgate::core::{sign, Provider, SignError, SignInput};
/// let input = SignInput { timestamp: 1, id: "line\nbreak" };
/// let error = sign(&Provider::Svix.scheme(), &"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), b"{}", &input).unwrap_err();
/// assert!(matches!(error, SignError::HeaderValue { .. }));
/// // Twilio signs the URL it calls: `sign` has none, `sign_message` takes the request head.
/// let error = sign(&Provider::Twilio.scheme(), &"token".into(), b"a=1", &input).unwrap_err();
/// assert_eq!(error, SignError::NoUrl);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The secret (or private key) cannot become a key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// No request under this scheme can be signed; `reason` says why (see
    /// [`Scheme::can_sign`]).
    #[error("hookgate cannot sign this scheme's requests: {reason}")]
    Unsupported {
        /// Why, in a sentence.
        reason: &'static str,
    },
    /// A header would carry text HTTP does not allow (an id or a prefix with a control
    /// character, say).
    #[error("the {header} header cannot carry that text: no control characters")]
    HeaderValue {
        /// The header that could not be written.
        header: HeaderName,
    },
    /// The scheme signs the method, URL or path, and [`sign`] has no request head: use
    /// [`sign_message`]. For `{url}`, its URI must be absolute (`https://host/path`) or the
    /// head must carry `Host`.
    #[error("this scheme signs the request's method, URL or path: sign the message with its request head, whose URL is absolute (the URL the provider calls)")]
    NoUrl,
    /// The scheme signs `{header:Name}` and the request head does not carry that header.
    #[error("this scheme signs the {0} header: give it in the request head")]
    NoHeader(HeaderName),
    /// The scheme signs a field of the JSON body that the body lacks ([`sign_message`] writes
    /// it from [`SignInput::id`] when that is not empty).
    #[error("this scheme signs the body field {0}, and the body has no string or number there")]
    NoBodyField(JsonPointer),
    /// A field must be written into the body, and the body is not a JSON object (or a value on
    /// the way to the field is not one).
    #[error("this scheme writes the body field {0}: the body must be a JSON object")]
    NotJsonObject(JsonPointer),
    /// The scheme signs the form parameters (`{form}`), and the body is not
    /// `application/x-www-form-urlencoded` (a `%` not followed by two hex digits).
    #[error(
        "this scheme signs the form parameters: the body must be application/x-www-form-urlencoded"
    )]
    NotForm,
    /// The scheme carries its signature or timestamp in a field of the JSON body (Mailgun,
    /// Linear, Figma): [`sign`] returns headers only; [`sign_message`] writes the body.
    #[error("this scheme carries its {field} in the body field {pointer}: sign the message, which writes it")]
    InBody {
        /// `signature` or `timestamp`.
        field: &'static str,
        /// Where in the body.
        pointer: JsonPointer,
    },
}

/// Computes the headers a sender using `scheme` would send with `body`: the signature, then
/// the signed timestamp's header and the signed id's header when the scheme signs them (each
/// under the scheme's preferred name; multi-header schemes such as Box's primary/secondary
/// sign with the first).
///
/// For a preset, [`Provider::sign_request`] also adds the header the preset's event id is read
/// from. Schemes that sign the request's method or URL, or that carry their signature or
/// timestamp in the body, need [`sign_message`] ([`SignError::NoUrl`],
/// [`SignError::InBody`]).
///
/// ```
/// use hookgate::core::{sign, Provider, SignInput};
///
/// let headers = sign(&Provider::Github.scheme(), &"mysecret".into(), br#"{"foo":"bar"}"#, &SignInput::default()).unwrap();
/// assert_eq!(headers[0].0, "x-hub-signature-256");
/// assert_eq!(
///     headers[0].1,
///     "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"
/// );
/// ```
pub fn sign(
    scheme: &Scheme,
    secret: &Secret,
    body: &[u8],
    input: &SignInput<'_>,
) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
    sign_inner(scheme, secret, None, body, input).map(|(headers, _)| headers)
}

/// Signs a whole request as a sender using `scheme` would: the headers of [`sign`], over the
/// request head too (`{method}`, `{url}`, `{path}`, `{header:Name}`: Twilio, Square,
/// HubSpot, Trello), and the body with the JSON fields written that the scheme reads from it
/// (Mailgun's signature, timestamp and token, Linear's `webhookTimestamp`, Figma's
/// `passcode`). The timestamp is always written from [`SignInput::timestamp`]; a signed field
/// the body already has (Mailgun's token) is kept.
///
/// `{url}` is what [`Verifier::verify_request`](crate::core::Verifier::verify_request)
/// reconstructs from the same head: an absolute URI as it is, or `https://` + `Host` + the
/// path and query.
///
/// ```
/// use hookgate::core::{sign_message, Provider, RequestHead, SignInput, Verifier};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// // Twilio signs the URL it calls and the sorted form parameters.
/// let p = Provider::Twilio;
/// let (method, uri) = (http::Method::POST, http::Uri::from_static("https://example.com/sms?x=1"));
/// let body = b"To=%2B15550100&Body=hi";
/// let input = SignInput { timestamp: 1_700_000_000, id: "" };
/// let signed = sign_message(&p.scheme(), &"auth-token".into(), &RequestHead::new(&method, &uri, &http::HeaderMap::new()), body, &input).unwrap();
///
/// let mut headers = http::HeaderMap::new();
/// headers.extend(signed.headers);
/// let verifier = Verifier::builder().provider(p).secret("auth-token").build().unwrap();
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert!(verifier.verify_request(&RequestHead::new(&method, &uri, &headers), &signed.body, now).is_ok());
/// ```
pub fn sign_message(
    scheme: &Scheme,
    secret: &Secret,
    head: &RequestHead<'_>,
    body: &[u8],
    input: &SignInput<'_>,
) -> Result<SignedMessage, SignError> {
    let (headers, body) = sign_inner(scheme, secret, Some(head), body, input)?;
    Ok(SignedMessage {
        headers,
        body: body.into_owned(),
    })
}

/// The headers `sign` returns, in order.
type Headers = Vec<(HeaderName, HeaderValue)>;

/// `sign` (no head: headers only, the body as it is) and `sign_message` (the head given: the
/// body may be written).
fn sign_inner<'b>(
    scheme: &Scheme,
    secret: &Secret,
    head: Option<&RequestHead<'_>>,
    body: &'b [u8],
    input: &SignInput<'_>,
) -> Result<(Headers, Cow<'b, [u8]>), SignError> {
    if let Some(reason) = scheme.cannot_sign_because() {
        return Err(SignError::Unsupported { reason });
    }
    let writes_body = head.is_some();
    let in_body = |field: &'static str, pointer: &JsonPointer| {
        if writes_body {
            Ok(())
        } else {
            Err(SignError::InBody {
                field,
                pointer: pointer.clone(),
            })
        }
    };
    if let SignatureLocation::Json(pointer) = &scheme.signature {
        in_body("signature", pointer)?;
    }
    if let TimestampSource::Json(pointer) = &scheme.timestamp {
        in_body("timestamp", pointer)?;
    }
    let key = SigningKey::new(scheme.algorithm, scheme.key_encoding, secret)?;
    let timestamp = scheme.timestamp_format.write(input.timestamp);

    // Borrowed unless a field is written: `sign` (and `resign`, per forwarded request) copies
    // nothing.
    let mut body = Cow::Borrowed(body);
    if let TimestampSource::Json(pointer) = &scheme.timestamp {
        // Keep the JSON type the body has there; a new field is a number (Linear's
        // `webhookTimestamp`), or a string next to a signature in the body (Mailgun's
        // `signature` object is all strings) or for RFC 3339.
        let quoted = match json_raw(&body, pointer.tokens()) {
            Some(raw) => raw.starts_with('"'),
            None => matches!(scheme.signature, SignatureLocation::Json(_)),
        } || scheme.timestamp_format == TimestampFormat::Rfc3339;
        let value = if quoted {
            json_string(&timestamp)
        } else {
            timestamp.clone()
        };
        body = Cow::Owned(write_json(&body, pointer, &value)?);
    }
    for part in scheme.signed_payload.parts() {
        if let PayloadPart::Json(pointer) = part {
            if pointer.read(&body).is_none() {
                if !writes_body || input.id.is_empty() {
                    return Err(SignError::NoBodyField(pointer.clone()));
                }
                body = Cow::Owned(write_json(&body, pointer, &json_string(input.id))?);
            }
        }
    }

    let mut sent = Vec::with_capacity(2);
    if let TimestampSource::Header(names) = &scheme.timestamp {
        push(&mut sent, names.preferred(), &timestamp)?;
    }
    if let (Some(names), true) = (&scheme.id_headers, scheme.signed_payload.uses_id()) {
        push(&mut sent, names.preferred(), input.id)?;
    }
    let content = Content {
        scheme,
        head,
        sent: &sent,
        body: &body,
        timestamp: &timestamp,
        id: input.id,
    };
    let bytes = match key {
        SigningKey::Token(token) => token,
        SigningKey::Hmac(mut mac) => {
            content.feed(&mut |bytes| mac.update(bytes))?;
            mac.finalize().as_bytes().to_vec()
        }
        SigningKey::Ed25519(key) => {
            use ed25519_dalek::Signer as _;
            key.sign(&content.message()?).to_bytes().to_vec()
        }
        SigningKey::P256(key) => {
            use p256::ecdsa::signature::Signer as _;
            // DER, as SendGrid sends it (RFC 6979: deterministic, no randomness needed).
            let signature: p256::ecdsa::Signature = key.sign(&content.message()?);
            signature.to_der().as_bytes().to_vec()
        }
    };
    let encoded = match scheme.encoding {
        Encoding::Hex => hex::encode(&bytes),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&bytes),
        Encoding::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes),
        Encoding::Text => String::from_utf8(bytes).map_err(|_| match &scheme.signature {
            SignatureLocation::Headers(names) => SignError::HeaderValue {
                header: names.preferred().clone(),
            },
            SignatureLocation::Json(_) => SignError::Key(KeyError::Encoding("UTF-8 text")),
        })?,
    };
    let value = match &scheme.format {
        SignatureFormat::Plain { prefix } => {
            format!("{}{encoded}", prefix.as_deref().unwrap_or(""))
        }
        SignatureFormat::KeyValue {
            timestamp_key,
            signature_key,
            separators,
        } => {
            if scheme.timestamp == TimestampSource::SignatureHeader {
                let sep = separators.chars().next().unwrap_or(',');
                format!("{timestamp_key}={timestamp}{sep}{signature_key}={encoded}")
            } else {
                format!("{signature_key}={encoded}")
            }
        }
        SignatureFormat::VersionedList { version } => format!("{version},{encoded}"),
    };
    let mut headers = Vec::with_capacity(3);
    match &scheme.signature {
        SignatureLocation::Headers(names) => push(&mut headers, names.preferred(), &value)?,
        SignatureLocation::Json(pointer) => {
            body = Cow::Owned(write_json(&body, pointer, &json_string(&value))?)
        }
    }
    headers.extend(sent);
    Ok((headers, body))
}

/// The signed content of one request, as the verifier's `Content` reads it from the other
/// side.
struct Content<'r> {
    scheme: &'r Scheme,
    head: Option<&'r RequestHead<'r>>,
    /// The headers `sign` writes besides the signature (timestamp, id).
    sent: &'r [(HeaderName, HeaderValue)],
    body: &'r [u8],
    timestamp: &'r str,
    id: &'r str,
}

impl Content<'_> {
    fn feed(&self, out: &mut dyn FnMut(&[u8])) -> Result<(), SignError> {
        for part in self.scheme.signed_payload.parts() {
            match part {
                PayloadPart::Literal(text) => out(text.as_bytes()),
                PayloadPart::AwsSns => {
                    return Err(SignError::Unsupported {
                        reason: "AWS SNS requests are not produced by hookgate",
                    })
                }
                PayloadPart::Body => out(self.body),
                PayloadPart::Timestamp => out(self.timestamp.as_bytes()),
                PayloadPart::Id => out(self.id.as_bytes()),
                PayloadPart::Method => out(self
                    .head
                    .ok_or(SignError::NoUrl)?
                    .method
                    .as_str()
                    .as_bytes()),
                PayloadPart::Path => {
                    out(path_and_query(self.head.ok_or(SignError::NoUrl)?.uri).as_bytes())
                }
                PayloadPart::Url => {
                    let head = self.head.ok_or(SignError::NoUrl)?;
                    match (head.uri.scheme_str(), head.uri.authority()) {
                        (Some(scheme), Some(authority)) => {
                            out(scheme.as_bytes());
                            out(b"://");
                            out(authority.as_str().as_bytes());
                        }
                        _ => {
                            let host = head
                                .headers
                                .get(http::header::HOST)
                                .and_then(|h| h.to_str().ok())
                                .ok_or(SignError::NoUrl)?;
                            out(b"https://");
                            out(host.trim().as_bytes());
                        }
                    }
                    out(path_and_query(head.uri).as_bytes());
                }
                PayloadPart::Header(name) => {
                    let value = self
                        .sent
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v)
                        .or_else(|| self.head.and_then(|h| h.headers.get(name)))
                        .ok_or_else(|| SignError::NoHeader(name.clone()))?;
                    out(value.as_bytes());
                }
                PayloadPart::Json(pointer) => {
                    let value = pointer
                        .read(self.body)
                        .ok_or_else(|| SignError::NoBodyField(pointer.clone()))?;
                    out(value.as_bytes());
                }
                PayloadPart::Form => {
                    let mut pairs = form_pairs(self.body).ok_or(SignError::NotForm)?;
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                    for (name, value) in pairs {
                        out(&name);
                        out(&value);
                    }
                }
            }
        }
        Ok(())
    }

    /// The whole signed content, for public-key signatures.
    fn message(&self) -> Result<Vec<u8>, SignError> {
        let mut message = Vec::with_capacity(self.body.len() + 64);
        self.feed(&mut |bytes| message.extend_from_slice(bytes))?;
        Ok(message)
    }
}

fn push(
    headers: &mut Vec<(HeaderName, HeaderValue)>,
    name: &HeaderName,
    text: &str,
) -> Result<(), SignError> {
    let value = HeaderValue::try_from(text).map_err(|_| SignError::HeaderValue {
        header: name.clone(),
    })?;
    headers.push((name.clone(), value));
    Ok(())
}

// === JSON fields of the body ===

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The members of a JSON object, in order, each value's exact text borrowed from the input.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

/// The exact text of the value at `tokens` in the JSON object `body`.
fn json_raw<'b>(body: &'b [u8], tokens: &[String]) -> Option<&'b str> {
    let text = std::str::from_utf8(body).ok()?;
    let mut raw = text;
    for token in tokens {
        let Members(members) = serde_json::from_str(raw).ok()?;
        raw = members.into_iter().find(|(k, _)| k == token)?.1.get();
    }
    Some(raw)
}

/// `body` with the value at `pointer` replaced by `value` (JSON text), or added as the last
/// member of its object (objects on the way created): every other byte is kept.
fn write_json(body: &[u8], pointer: &JsonPointer, value: &str) -> Result<Vec<u8>, SignError> {
    fn set(text: &str, tokens: &[String], value: &str) -> Option<String> {
        let (key, rest) = tokens.split_first()?;
        let Members(members) = serde_json::from_str(text).ok()?;
        match members.iter().find(|(k, _)| k == key) {
            Some((_, raw)) => {
                let raw = raw.get();
                // `raw` is a slice of `text`: its offset is the distance between their starts.
                let start = raw.as_ptr() as usize - text.as_ptr() as usize;
                let new = if rest.is_empty() {
                    value.to_owned()
                } else {
                    set(raw, rest, value)?
                };
                Some(format!(
                    "{}{new}{}",
                    &text[..start],
                    &text[start + raw.len()..]
                ))
            }
            None => {
                let mut new = value.to_owned();
                for token in rest.iter().rev() {
                    new = format!("{{{}:{new}}}", json_string(token));
                }
                let close = text.rfind('}')?;
                let comma = if members.is_empty() { "" } else { "," };
                Some(format!(
                    "{}{comma}{}:{new}{}",
                    &text[..close],
                    json_string(key),
                    &text[close..]
                ))
            }
        }
    }
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| set(text, pointer.tokens(), value))
        .map(String::into_bytes)
        .ok_or_else(|| SignError::NotJsonObject(pointer.clone()))
}

impl Provider {
    /// Every header this provider sends with `body`: [`sign`] over the preset's scheme, plus,
    /// when `input.id` is not empty, the header the preset's default event id is read from
    /// (GitHub's `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`). Standard Webhooks and
    /// Svix sign their id, so `sign` already sends it (`webhook-id`, `svix-id`).
    ///
    /// Presets that sign the URL (Twilio, Square, HubSpot, Trello, Mailchimp) or carry their
    /// signature or timestamp in the body (Mailgun, Linear, Figma) need
    /// [`Provider::sign_message`].
    ///
    /// ```
    /// use hookgate::core::{Provider, SignInput, Verifier};
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let p = Provider::Github;
    /// let body = br#"{"zen":"Keep it logically awesome."}"#;
    /// let input = SignInput { timestamp: 1_700_000_000, id: "72d3162e-cc78-11e3-81ab-4c9367dc0958" };
    /// let headers = p.sign_request(&"s3cret".into(), body, &input).unwrap();
    /// let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    /// assert_eq!(names, ["x-hub-signature-256", "x-github-delivery"]);
    ///
    /// let mut request = http::HeaderMap::new();
    /// request.extend(headers);
    /// let verifier = Verifier::new(p.scheme(), ["s3cret".into()], p.default_tolerance(), p.default_event_id()).unwrap();
    /// let verified = verifier.verify(&request, body, UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
    /// assert_eq!(verified.event_id, input.id);
    /// ```
    pub fn sign_request(
        self,
        secret: &Secret,
        body: &[u8],
        input: &SignInput<'_>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, SignError> {
        let mut headers = sign(&self.scheme(), secret, body, input)?;
        self.push_event_id(&mut headers, None, input)?;
        Ok(headers)
    }

    /// The whole request this provider sends: [`sign_message`] over the preset's scheme, plus
    /// the event id header as [`Provider::sign_request`] adds it (unless `head` carries it
    /// already). This is how `hookgate sign` and `send` sign "as the provider", for every
    /// preset: public-key ones with the private key as `secret`.
    ///
    /// ```
    /// use hookgate::core::{Provider, RequestHead, SignInput, Verifier};
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// // Mailgun signs a timestamp and a token and puts all three in the body's `signature`.
    /// let p = Provider::named("mailgun").unwrap();
    /// let (method, uri, none) = (http::Method::POST, http::Uri::from_static("/hooks"), http::HeaderMap::new());
    /// let head = RequestHead::new(&method, &uri, &none);
    /// let input = SignInput { timestamp: 1_700_000_000, id: "tok-1" };
    /// let signed = p.sign_message(&"key".into(), &head, br#"{"event-data":{"id":"ev1"}}"#, &input).unwrap();
    /// let body = String::from_utf8(signed.body.clone()).unwrap();
    /// assert!(body.starts_with(r#"{"event-data":{"id":"ev1"},"signature":{"timestamp":"1700000000","token":"tok-1","signature":""#));
    ///
    /// let verifier = Verifier::builder().provider(p).secret("key").build().unwrap();
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// assert_eq!(verifier.verify_request(&head, &signed.body, now).unwrap().event_id, "ev1");
    /// ```
    pub fn sign_message(
        self,
        secret: &Secret,
        head: &RequestHead<'_>,
        body: &[u8],
        input: &SignInput<'_>,
    ) -> Result<SignedMessage, SignError> {
        let mut signed = sign_message(&self.scheme(), secret, head, body, input)?;
        self.push_event_id(&mut signed.headers, Some(head), input)?;
        Ok(signed)
    }

    fn push_event_id(
        self,
        headers: &mut Vec<(HeaderName, HeaderValue)>,
        head: Option<&RequestHead<'_>>,
        input: &SignInput<'_>,
    ) -> Result<(), SignError> {
        if input.id.is_empty() {
            return Ok(());
        }
        for source in self.default_event_id().sources() {
            if let EventIdSource::Header(name) = source {
                let given = head.is_some_and(|h| h.headers.contains_key(name));
                if !given && !headers.iter().any(|(n, _)| n == name) {
                    push(headers, name, input.id)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::ED25519_PKCS8_DER;

    #[test]
    fn presets_send_their_event_id_header() {
        let input = SignInput {
            timestamp: 1_700_000_000,
            id: "evt-1",
        };
        let names = |p: Provider, input: &SignInput<'_>| -> Vec<String> {
            let secret = match p {
                Provider::StandardWebhooks | Provider::Svix => {
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                }
                _ => "secret",
            };
            p.sign_request(&secret.into(), b"{}", input)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n.as_str().to_owned())
                .collect()
        };
        assert_eq!(
            names(Provider::Github, &input),
            ["x-hub-signature-256", "x-github-delivery"]
        );
        assert_eq!(
            names(Provider::Shopify, &input),
            ["x-shopify-hmac-sha256", "x-shopify-webhook-id"]
        );
        assert_eq!(
            names(Provider::StandardWebhooks, &input),
            ["webhook-signature", "webhook-timestamp", "webhook-id"]
        );
        assert_eq!(
            names(Provider::Svix, &input),
            ["svix-signature", "svix-timestamp", "svix-id"]
        );
        assert_eq!(names(Provider::Stripe, &input), ["stripe-signature"]);
        let no_id = SignInput {
            timestamp: 1,
            id: "",
        };
        assert_eq!(names(Provider::Github, &no_id), ["x-hub-signature-256"]);
    }

    #[test]
    fn text_a_header_cannot_carry_is_an_error() {
        let scheme = Scheme::builder("x-sig").prefix("a\nb").build().unwrap();
        assert_eq!(
            sign(&scheme, &"k".into(), b"", &SignInput::default()),
            Err(SignError::HeaderValue {
                header: HeaderName::from_static("x-sig")
            })
        );
        let input = SignInput {
            timestamp: 1,
            id: "a\rb",
        };
        assert!(Provider::Github
            .sign_request(&"k".into(), b"", &input)
            .is_err());
    }

    #[test]
    fn body_fields_are_written_in_place_and_everything_else_kept() {
        let at = |p: &str| JsonPointer::parse(p).unwrap();
        let write = |body: &str, p: &str, v: &str| {
            String::from_utf8(write_json(body.as_bytes(), &at(p), v).unwrap()).unwrap()
        };
        assert_eq!(
            write(r#"{ "a" : 1 , "t": 5 }"#, "/t", "9"),
            r#"{ "a" : 1 , "t": 9 }"#
        );
        assert_eq!(write(r#"{"a":1}"#, "/t", "9"), r#"{"a":1,"t":9}"#);
        assert_eq!(write("{ }", "/t", "9"), r#"{ "t":9}"#);
        assert_eq!(
            write(r#"{"s":{"x":"y"},"z":[1]}"#, "/s/t", r#""1""#),
            r#"{"s":{"x":"y","t":"1"},"z":[1]}"#
        );
        assert_eq!(
            write(r#"{"z":[1]}"#, "/s/a~1b", "2"),
            r#"{"z":[1],"s":{"a/b":2}}"#
        );
        for bad in ["[1]", "not json", r#"{"s":3}"#] {
            let error = write_json(bad.as_bytes(), &at("/s/t"), "1").unwrap_err();
            assert_eq!(error, SignError::NotJsonObject(at("/s/t")), "{bad}");
        }
        assert_eq!(
            json_raw(br#"{"a":{"b":"c"}}"#, &["a".into(), "b".into()]),
            Some(r#""c""#)
        );
    }

    #[test]
    fn timestamps_are_written_in_the_scheme_format() {
        assert_eq!(TimestampFormat::Unix.write(1_700_000_000), "1700000000");
        assert_eq!(
            TimestampFormat::UnixMillis.write(1_700_000_000),
            "1700000000000"
        );
        assert_eq!(
            TimestampFormat::Rfc3339.write(1_700_000_000),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(TimestampFormat::Rfc3339.write(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            TimestampFormat::Rfc3339.write(951_782_400),
            "2000-02-29T00:00:00Z"
        );
        for secs in [-86_401, 0, 951_868_799, 1_700_000_000, 4_102_444_800] {
            let text = TimestampFormat::Rfc3339.write(secs);
            assert_eq!(TimestampFormat::Rfc3339.parse(&text), Some(secs), "{text}");
        }
    }

    #[test]
    fn what_cannot_be_signed_says_why() {
        let input = SignInput {
            timestamp: 1,
            id: "",
        };
        let (method, uri, headers) = (
            http::Method::POST,
            http::Uri::from_static("/relative"),
            http::HeaderMap::new(),
        );
        let head = RequestHead::new(&method, &uri, &headers);
        // Twilio signs the URL: a relative one without Host is not the URL it calls.
        let twilio = Provider::Twilio.scheme();
        assert_eq!(
            sign(&twilio, &"k".into(), b"a=1", &input),
            Err(SignError::NoUrl)
        );
        assert_eq!(
            sign_message(&twilio, &"k".into(), &head, b"a=1", &input),
            Err(SignError::NoUrl)
        );
        let mailgun = Provider::named("mailgun").unwrap().scheme();
        assert!(matches!(
            sign(&mailgun, &"k".into(), b"{}", &input),
            Err(SignError::InBody {
                field: "signature",
                ..
            })
        ));
        // Mailgun's token: written from the id, or refused without one.
        assert_eq!(
            sign_message(&mailgun, &"k".into(), &head, b"{}", &input),
            Err(SignError::NoBodyField(
                JsonPointer::parse("/signature/token").unwrap()
            ))
        );
        let linear = Provider::named("linear").unwrap().scheme();
        assert!(matches!(
            sign(&linear, &"k".into(), b"{}", &input),
            Err(SignError::InBody {
                field: "timestamp",
                ..
            })
        ));
        assert!(matches!(
            sign_message(&linear, &"k".into(), &head, b"[]", &input),
            Err(SignError::NotJsonObject(_))
        ));
        let custom = Scheme::builder("x-sig")
            .signed_payload("{header:X-Req}{body}")
            .build()
            .unwrap();
        assert_eq!(
            sign_message(&custom, &"k".into(), &head, b"", &input),
            Err(SignError::NoHeader(HeaderName::from_static("x-req")))
        );
        let form = Scheme::builder("x-sig")
            .signed_payload("{form}")
            .build()
            .unwrap();
        assert_eq!(
            sign_message(&form, &"k".into(), &head, b"a=%zz", &input),
            Err(SignError::NotForm)
        );
        let circular = Scheme::builder_json("/sig").build().unwrap();
        assert!(matches!(
            sign_message(&circular, &"k".into(), &head, b"{}", &input),
            Err(SignError::Unsupported { .. })
        ));
    }

    #[test]
    fn private_keys_in_every_documented_encoding_and_public_keys_refused() {
        use base64::engine::general_purpose::STANDARD;
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
        let ed = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let ed_public = hex::encode(ed.verifying_key().as_bytes());
        let mut pkcs8 = ED25519_PKCS8_DER.to_vec();
        pkcs8.extend_from_slice(&[9; 32]);
        let mut pair = vec![9; 32];
        pair.extend_from_slice(ed.verifying_key().as_bytes());
        let discord = Provider::Discord.scheme();
        for key in [
            hex::encode([9; 32]),
            STANDARD.encode([9; 32]),
            format!("whsk_{}", STANDARD.encode([9; 32])),
            STANDARD.encode(&pair),
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                STANDARD.encode(&pkcs8)
            ),
        ] {
            let headers =
                sign(&discord, &key.as_str().into(), b"{}", &SignInput::default()).unwrap();
            let verifier = super::super::Verifier::builder()
                .provider(Provider::Discord)
                .secret(ed_public.as_str())
                .build()
                .unwrap();
            let mut map = http::HeaderMap::new();
            map.extend(headers);
            assert!(
                verifier.verify(&map, b"{}", std::time::UNIX_EPOCH).is_ok(),
                "{key}"
            );
        }
        pair[40] ^= 1;
        assert!(matches!(
            sign(
                &discord,
                &STANDARD.encode(&pair).as_str().into(),
                b"",
                &SignInput::default()
            ),
            Err(SignError::Key(KeyError::PrivateKey { .. }))
        ));
        assert_eq!(
            sign(
                &discord,
                &format!("whpk_{}", STANDARD.encode([9; 32])).as_str().into(),
                b"",
                &SignInput::default()
            ),
            Err(SignError::Key(KeyError::CannotSign("Ed25519")))
        );

        let ec = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let sendgrid = Provider::named("sendgrid").unwrap().scheme();
        let public_pem = ec
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        for key in [
            ec.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
                .to_string(),
            STANDARD.encode(ec.to_pkcs8_der().unwrap().as_bytes()),
            hex::encode([7; 32]),
            // `openssl ecparam -name prime256v1 -genkey`: parameters, then a SEC1 key.
            format!(
                "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
                p256::SecretKey::from_slice(&[7; 32])
                    .unwrap()
                    .to_sec1_pem(p256::pkcs8::LineEnding::LF)
                    .unwrap()
                    .as_str()
            ),
        ] {
            assert!(sign(&sendgrid, &key.as_str().into(), b"", &SignInput::default()).is_ok());
        }
        assert_eq!(
            sign(
                &sendgrid,
                &public_pem.as_str().into(),
                b"",
                &SignInput::default()
            ),
            Err(SignError::Key(KeyError::CannotSign("ECDSA P-256")))
        );
        assert!(matches!(
            sign(&sendgrid, &"nope".into(), b"", &SignInput::default()),
            Err(SignError::Key(KeyError::PrivateKey { .. }))
        ));
    }
}
