#![doc = include_str!("../docs/custom_schemes.md")]

use super::event_id::JsonPointer;
use super::name::UnknownName;
use http::HeaderName;
use std::fmt;

/// How the signature is made: an HMAC, a public-key signature, or a shared token.
///
/// ```
/// use hookgate::core::scheme::Algorithm;
/// assert_eq!("sha512".parse(), Ok(Algorithm::Sha512));
/// assert_eq!("ed25519".parse(), Ok(Algorithm::Ed25519));
/// let error = "sha265".parse::<Algorithm>().unwrap_err();
/// assert!(error.to_string().starts_with("unknown algorithm `sha265`; did you mean `sha256`?"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA1 (legacy providers only).
    Sha1,
    /// HMAC-SHA256, what nearly every provider uses.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
    /// Ed25519 signature (Discord); the route's secrets are public keys.
    Ed25519,
    /// ECDSA P-256 with SHA-256, DER or raw `r||s` (SendGrid); secrets are public keys.
    EcdsaP256,
    /// No signature: the header carries a shared token, compared with each secret in
    /// constant time (GitLab `X-Gitlab-Token`, basic auth).
    Token,
    /// The header is a JWT (JWS compact form) signed with ES256 (Plaid): only `alg = ES256`
    /// is accepted, the token's `kid` picks the key, a claim
    /// ([`SchemeBuilder::body_digest_claim`]) carries the hex SHA-256 of the raw body, and
    /// another ([`SchemeBuilder::timestamp_claim`]) the issue time. Secrets are the sender's
    /// P-256 public keys, as JWK JSON text or as for `ecdsa-p256`.
    JwtEs256,
    /// AWS SNS: RSA PKCS#1 v1.5 over SNS's canonical string of the message's fields
    /// (`{sns}`), SHA1 or SHA256 as the message's `SignatureVersion` says. Secrets are the
    /// signing certificates (PEM); hookgate never fetches `SigningCertURL`.
    AwsSns,
}

impl Algorithm {
    /// Every name `parse` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "sha1",
        "sha256",
        "sha512",
        "ed25519",
        "ecdsa-p256",
        "token",
        "jwt-es256",
        "aws-sns",
    ];

    const ALL: [Algorithm; 8] = [
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
        Algorithm::Ed25519,
        Algorithm::EcdsaP256,
        Algorithm::Token,
        Algorithm::JwtEs256,
        Algorithm::AwsSns,
    ];

    /// The name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::Token => "token",
            Algorithm::JwtEs256 => "jwt-es256",
            Algorithm::AwsSns => "aws-sns",
        }
    }

    /// Parses a name of [`Algorithm::NAMES`]; same as `name.parse().ok()`.
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// Length of a signature in bytes, when fixed (HMACs and Ed25519); `None` for ECDSA
    /// (DER is variable), tokens, JWTs and SNS (RSA, the key's size).
    pub fn output_len(self) -> Option<usize> {
        match self {
            Algorithm::Sha1 => Some(20),
            Algorithm::Sha256 => Some(32),
            Algorithm::Sha512 => Some(64),
            Algorithm::Ed25519 => Some(64),
            Algorithm::EcdsaP256 | Algorithm::Token | Algorithm::JwtEs256 | Algorithm::AwsSns => {
                None
            }
        }
    }

    /// Whether the secrets are HMAC keys (the sender and hookgate share them).
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            Algorithm::Sha1 | Algorithm::Sha256 | Algorithm::Sha512
        )
    }

    /// Whether the secrets are public keys (or certificates).
    pub fn is_public_key(self) -> bool {
        matches!(
            self,
            Algorithm::Ed25519 | Algorithm::EcdsaP256 | Algorithm::JwtEs256 | Algorithm::AwsSns
        )
    }
}

/// How the signature bytes are written in the request.
///
/// ```
/// use hookgate::core::scheme::Encoding;
/// assert_eq!("base64".parse(), Ok(Encoding::Base64));
/// assert!("base46".parse::<Encoding>().unwrap_err().to_string().contains("did you mean `base64`?"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Hexadecimal, decoded case-insensitively.
    Hex,
    /// Standard base64 (padding optional).
    Base64,
    /// URL-safe base64 (padding optional).
    Base64Url,
    /// The text itself (shared tokens).
    Text,
}

impl Encoding {
    /// Every name `parse` accepts.
    pub const NAMES: &'static [&'static str] = &["hex", "base64", "base64url", "text"];

    /// The name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
            Encoding::Text => "text",
        }
    }

    /// Parses a name of [`Encoding::NAMES`]; same as `name.parse().ok()`.
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

impl std::str::FromStr for Algorithm {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| UnknownName::new("algorithm", name, Algorithm::NAMES))
    }
}

impl std::str::FromStr for Encoding {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        [
            Encoding::Hex,
            Encoding::Base64,
            Encoding::Base64Url,
            Encoding::Text,
        ]
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| UnknownName::new("encoding", name, Encoding::NAMES))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How signatures are laid out in the signature header.
///
/// ```
/// use hookgate::core::{scheme::SignatureFormat, Provider};
/// assert!(matches!(Provider::Stripe.scheme().format(), SignatureFormat::KeyValue { .. }));
/// assert!(matches!(Provider::Svix.scheme().format(), SignatureFormat::VersionedList { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureFormat {
    /// The header value is one signature, after an optional literal prefix (`sha256=`, `v0=`).
    Plain {
        /// Text that must precede the encoded signature; stripped before decoding.
        prefix: Option<String>,
    },
    /// `key=value` pairs such as `t=1700000000,v1=…,v1=…` (Stripe) or `ts=…;h1=…` (Paddle).
    KeyValue {
        /// Key of the signed timestamp (`t`).
        timestamp_key: String,
        /// Key of each signature (`v1`); it may appear several times.
        signature_key: String,
        /// The characters that separate pairs (`,` by default; `;` for Paddle); spaces
        /// around pairs are ignored.
        separators: String,
    },
    /// Space-separated `version,signature` entries such as `v1,abc= v1,def=` (Standard
    /// Webhooks); entries of other versions are ignored.
    VersionedList {
        /// The version accepted (`v1`).
        version: String,
    },
}

/// One piece of the signed content.
///
/// ```
/// use hookgate::core::scheme::{PayloadPart, SignedPayload};
/// let parts = SignedPayload::parse("v0:{timestamp}:{body}").unwrap().parts().to_vec();
/// assert_eq!(parts[0], PayloadPart::Literal("v0:".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadPart {
    /// Literal text, such as `.` or `v0:`.
    Literal(String),
    /// The raw request body, byte for byte.
    Body,
    /// The signed timestamp exactly as it appears in the request.
    Timestamp,
    /// The message id header's value (Standard Webhooks' `webhook-id`).
    Id,
    /// The request method (`POST`).
    Method,
    /// The URL the provider called: the route's public URL (or `https://` + `Host`), the
    /// path and the query as received.
    Url,
    /// The request path and query as received (`/hooks?a=1`).
    Path,
    /// A request header's value (`{header:X-Request-Id}`); an absent header is refused.
    Header(HeaderName),
    /// A string or number field of the JSON body (`{json:/signature/token}`).
    Json(JsonPointer),
    /// The form parameters of an `application/x-www-form-urlencoded` body, sorted by name,
    /// each written as name then value (Twilio, Mandrill).
    Form,
    /// AWS SNS's canonical string of a JSON message (`{sns}`): `Key\nValue\n` for
    /// `Message`, `MessageId`, `Subject` (when present), `Timestamp`, `TopicArn`, `Type` of a
    /// notification, or `Message`, `MessageId`, `SubscribeURL`, `Timestamp`, `Token`,
    /// `TopicArn`, `Type` of a (un)subscription confirmation. Only with `algorithm = "aws-sns"`.
    AwsSns,
}

/// The content the signature is computed over, such as `{timestamp}.{body}`.
///
/// ```
/// use hookgate::core::scheme::SignedPayload;
/// let payload = SignedPayload::parse("{id}.{timestamp}.{body}").unwrap();
/// assert!(payload.uses_id() && payload.uses_timestamp());
/// assert_eq!(payload.to_string(), "{id}.{timestamp}.{body}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPayload {
    parts: Vec<PayloadPart>,
}

/// A `signed_payload` template that cannot be used.
///
/// ```
/// use hookgate::core::scheme::{SignedPayload, TemplateError};
/// assert_eq!(SignedPayload::parse("{nonce}.{body}"), Err(TemplateError::UnknownPlaceholder("nonce".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A `{…}` placeholder that is not one of the documented ones.
    #[error("unknown placeholder `{{{0}}}` (expected {{body}}, {{timestamp}}, {{id}}, {{method}}, {{url}}, {{path}}, {{form}}, {{sns}}, {{header:Name}} or {{json:/pointer}})")]
    UnknownPlaceholder(String),
    /// A `{` without its `}`.
    #[error("unclosed `{{` in signed_payload")]
    Unclosed,
    /// A template must cover the body: `{body}` once, or fields of it (`{form}`,
    /// `{json:/…}`) and no `{body}`.
    #[error("signed_payload must contain {{body}} exactly once (or sign the body's {{form}} or {{json:/…}} fields)")]
    BodyCount,
}

impl SignedPayload {
    /// Just the body.
    pub fn body() -> Self {
        SignedPayload {
            parts: vec![PayloadPart::Body],
        }
    }

    /// Parses a template such as `{timestamp}.{body}`, `v0:{timestamp}:{body}` or
    /// `{method}{url}{body}{timestamp}`.
    ///
    /// ```
    /// use hookgate::core::scheme::{PayloadPart, SignedPayload};
    ///
    /// let payload = SignedPayload::parse("{timestamp}.{body}").unwrap();
    /// assert_eq!(payload.parts()[0], PayloadPart::Timestamp);
    /// assert!(SignedPayload::parse("{timestamp}").is_err()); // never signs the body
    /// assert!(SignedPayload::parse("{url}{form}").is_ok()); // Twilio
    /// ```
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}').ok_or(TemplateError::Unclosed)?;
                    let name = &rest[1..end];
                    let unknown = || TemplateError::UnknownPlaceholder(name.to_owned());
                    parts.push(match name {
                        "body" => PayloadPart::Body,
                        "timestamp" => PayloadPart::Timestamp,
                        "id" => PayloadPart::Id,
                        "method" => PayloadPart::Method,
                        "url" => PayloadPart::Url,
                        "path" => PayloadPart::Path,
                        "form" => PayloadPart::Form,
                        "sns" => PayloadPart::AwsSns,
                        other => {
                            if let Some(header) = other.strip_prefix("header:") {
                                PayloadPart::Header(
                                    HeaderName::try_from(header.trim()).map_err(|_| unknown())?,
                                )
                            } else if let Some(pointer) = other.strip_prefix("json:") {
                                PayloadPart::Json(JsonPointer::parse(pointer).ok_or_else(unknown)?)
                            } else {
                                return Err(unknown());
                            }
                        }
                    });
                    rest = &rest[end + 1..];
                }
                Some(start) => {
                    parts.push(PayloadPart::Literal(rest[..start].to_owned()));
                    rest = &rest[start..];
                }
                None => {
                    parts.push(PayloadPart::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        let bodies = parts.iter().filter(|p| **p == PayloadPart::Body).count();
        let fields = parts.iter().any(|p| {
            matches!(
                p,
                PayloadPart::Form | PayloadPart::Json(_) | PayloadPart::AwsSns
            )
        });
        if bodies > 1 || (bodies == 0 && !fields) {
            return Err(TemplateError::BodyCount);
        }
        Ok(SignedPayload { parts })
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[PayloadPart] {
        &self.parts
    }

    /// Whether the template signs a timestamp.
    pub fn uses_timestamp(&self) -> bool {
        self.parts.contains(&PayloadPart::Timestamp)
    }

    /// Whether the template signs a message id.
    pub fn uses_id(&self) -> bool {
        self.parts.contains(&PayloadPart::Id)
    }

    /// Whether the template signs the whole raw body.
    pub fn uses_body(&self) -> bool {
        self.parts.contains(&PayloadPart::Body)
    }

    /// Whether the template signs the method, URL or path, which [`Verifier::verify`]
    /// does not know: such schemes need
    /// [`Verifier::verify_request`](crate::core::Verifier::verify_request).
    ///
    /// [`Verifier::verify`]: crate::core::Verifier::verify
    pub fn uses_request_head(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(
                p,
                PayloadPart::Method | PayloadPart::Url | PayloadPart::Path
            )
        })
    }
}

impl fmt::Display for SignedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                PayloadPart::Literal(text) => f.write_str(text)?,
                PayloadPart::Body => f.write_str("{body}")?,
                PayloadPart::Timestamp => f.write_str("{timestamp}")?,
                PayloadPart::Id => f.write_str("{id}")?,
                PayloadPart::Method => f.write_str("{method}")?,
                PayloadPart::Url => f.write_str("{url}")?,
                PayloadPart::Path => f.write_str("{path}")?,
                PayloadPart::Form => f.write_str("{form}")?,
                PayloadPart::AwsSns => f.write_str("{sns}")?,
                PayloadPart::Header(name) => write!(f, "{{header:{name}}}")?,
                PayloadPart::Json(pointer) => write!(f, "{{json:{pointer}}}")?,
            }
        }
        Ok(())
    }
}

/// Where the signed timestamp comes from.
///
/// ```
/// use hookgate::core::{scheme::TimestampSource, Provider};
/// let slack = Provider::Slack.scheme();
/// let TimestampSource::Header(names) = slack.timestamp() else { panic!("Slack signs a header") };
/// assert_eq!(names.preferred(), "x-slack-request-timestamp");
/// assert_eq!(*Provider::Github.scheme().timestamp(), TimestampSource::None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampSource {
    /// The scheme signs no timestamp.
    None,
    /// The first present of these headers.
    Header(HeaderNames),
    /// The `timestamp_key` entry of a [`SignatureFormat::KeyValue`] header.
    SignatureHeader,
    /// A field of the JSON body (Mailgun `/signature/timestamp`, Linear `/webhookTimestamp`).
    Json(JsonPointer),
    /// A NumericDate claim of a `jwt-es256` token (Plaid's `iat`).
    Claim(String),
}

/// How a timestamp is written.
///
/// ```
/// use hookgate::core::scheme::TimestampFormat;
/// assert_eq!(TimestampFormat::Rfc3339.parse("2023-11-14T22:13:20Z"), Some(1_700_000_000));
/// assert_eq!(TimestampFormat::UnixMillis.parse("1700000000123"), Some(1_700_000_000));
/// assert_eq!(TimestampFormat::Unix.parse("17e8"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimestampFormat {
    /// Unix seconds (`1700000000`).
    #[default]
    Unix,
    /// Unix milliseconds (`1700000000000`: HubSpot, WorkOS).
    UnixMillis,
    /// RFC 3339 / ISO 8601 (`2023-11-14T22:13:20.123Z`: Twitch, Box, Zendesk); without an
    /// offset, UTC.
    Rfc3339,
}

impl TimestampFormat {
    /// Every name in configuration files.
    pub const NAMES: &'static [&'static str] = &["unix", "unix_ms", "rfc3339"];

    /// The name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            TimestampFormat::Unix => "unix",
            TimestampFormat::UnixMillis => "unix_ms",
            TimestampFormat::Rfc3339 => "rfc3339",
        }
    }

    /// Unix seconds of `text`, or `None` when it is not written this way.
    pub fn parse(self, text: &str) -> Option<i64> {
        match self {
            TimestampFormat::Unix => digits(text, 12),
            TimestampFormat::UnixMillis => digits(text, 15).map(|ms| ms / 1000),
            TimestampFormat::Rfc3339 => rfc3339(text),
        }
    }

    /// `secs` (unix seconds) written this way, as a sender writes it (RFC 3339 in UTC, `Z`,
    /// no fraction).
    pub(crate) fn write(self, secs: i64) -> String {
        match self {
            TimestampFormat::Unix => secs.to_string(),
            TimestampFormat::UnixMillis => (i128::from(secs) * 1000).to_string(),
            TimestampFormat::Rfc3339 => {
                // Civil date from days (Howard Hinnant's algorithm), the inverse of `rfc3339`.
                let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
                let z = days + 719_468;
                let era = z.div_euclid(146_097);
                let doe = z - era * 146_097;
                let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
                let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
                let mp = (5 * doy + 2) / 153;
                let day = doy - (153 * mp + 2) / 5 + 1;
                let month = if mp < 10 { mp + 3 } else { mp - 9 };
                let year = yoe + era * 400 + i64::from(month <= 2);
                format!(
                    "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
                    rem / 3600,
                    rem % 3600 / 60,
                    rem % 60
                )
            }
        }
    }
}

impl std::str::FromStr for TimestampFormat {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        [
            TimestampFormat::Unix,
            TimestampFormat::UnixMillis,
            TimestampFormat::Rfc3339,
        ]
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| UnknownName::new("timestamp_format", name, TimestampFormat::NAMES))
    }
}

fn digits(text: &str, max: usize) -> Option<i64> {
    if text.is_empty() || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]`, a space allowed for `T`; no offset is UTC.
fn rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b.len() > 40 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> { digits(text.get(range)?, 4) };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &fraction[n..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            sign * (digits(h, 2)? * 3600 + digits(m, 2)? * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// How a configured secret becomes the key.
///
/// ```
/// use hookgate::core::{scheme::KeyEncoding, Provider};
/// // Stripe's `whsec_…` is the key byte for byte; Standard Webhooks decodes it.
/// assert_eq!(Provider::Stripe.scheme().key_encoding(), KeyEncoding::Raw);
/// assert_eq!(Provider::StandardWebhooks.scheme().key_encoding(), KeyEncoding::StandardWebhooks);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyEncoding {
    /// The secret's bytes are the key, as they are (a Stripe `whsec_…` string included).
    Raw,
    /// Standard Webhooks: the part after `whsec_` is base64-decoded.
    StandardWebhooks,
    /// The secret is base64 of the key (Microsoft Teams).
    Base64,
    /// The secret is hex of the key (Adyen).
    Hex,
}

impl KeyEncoding {
    /// Every name in configuration files.
    pub const NAMES: &'static [&'static str] = &["raw", "whsec", "base64", "hex"];

    /// The name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            KeyEncoding::Raw => "raw",
            KeyEncoding::StandardWebhooks => "whsec",
            KeyEncoding::Base64 => "base64",
            KeyEncoding::Hex => "hex",
        }
    }
}

impl std::str::FromStr for KeyEncoding {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        [
            KeyEncoding::Raw,
            KeyEncoding::StandardWebhooks,
            KeyEncoding::Base64,
            KeyEncoding::Hex,
        ]
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| UnknownName::new("key_encoding", name, KeyEncoding::NAMES))
    }
}

/// A non-empty list of header names, in order of preference: the first one present is read.
///
/// The first name is the one a signer writes and a rejection names; there is always one.
///
/// ```
/// use hookgate::core::scheme::HeaderNames;
/// use http::HeaderName;
///
/// let names = HeaderNames::new([HeaderName::from_static("svix-id"), HeaderName::from_static("webhook-id")]).unwrap();
/// assert_eq!(names.preferred(), "svix-id");
/// assert_eq!(names.len(), 2); // a slice of every name
/// assert!(HeaderNames::new([]).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderNames {
    /// The first of `all`, kept apart so that reading it cannot fail.
    preferred: HeaderName,
    /// Every name, `preferred` first.
    all: Vec<HeaderName>,
}

impl HeaderNames {
    /// A list of one name.
    pub fn one(name: HeaderName) -> Self {
        HeaderNames {
            preferred: name.clone(),
            all: vec![name],
        }
    }

    /// `preferred`, then `fallbacks` in order.
    pub fn with_fallbacks(
        preferred: HeaderName,
        fallbacks: impl IntoIterator<Item = HeaderName>,
    ) -> Self {
        let mut all = vec![preferred.clone()];
        all.extend(fallbacks);
        HeaderNames { preferred, all }
    }

    /// The names in order of preference; `None` when there are none.
    pub fn new(names: impl IntoIterator<Item = HeaderName>) -> Option<Self> {
        let all: Vec<HeaderName> = names.into_iter().collect();
        let preferred = all.first()?.clone();
        Some(HeaderNames { preferred, all })
    }

    /// The first name: the one a signer writes, and the one a rejection names when none is
    /// present.
    pub fn preferred(&self) -> &HeaderName {
        &self.preferred
    }

    /// Every name, the preferred one first.
    pub fn as_slice(&self) -> &[HeaderName] {
        &self.all
    }
}

impl std::ops::Deref for HeaderNames {
    type Target = [HeaderName];

    fn deref(&self) -> &[HeaderName] {
        &self.all
    }
}

/// Where the signatures are read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureLocation {
    /// The first present of these headers (all its values).
    Headers(HeaderNames),
    /// A string field of the JSON body (Mailgun `/signature/signature`).
    Json(JsonPointer),
}

/// A complete signature scheme: plain data, interpreted by the verifier and the signer.
///
/// Get one from a preset ([`Provider::scheme`](crate::core::Provider::scheme)) or build a
/// custom one with [`Scheme::builder`] or from its TOML table ([`SchemeTable`]); either way its
/// parts agree with each other (every header list a request is read through has a first name,
/// a signed `{timestamp}` or `{id}` has a place to come from), so no scheme can make the
/// verifier or the signer fail on a request. The parts are read with the accessors.
///
/// ```
/// use hookgate::core::{scheme::Encoding, Provider};
/// let shopify = hookgate::core::Provider::Shopify.scheme();
/// assert_eq!(shopify.signature_headers()[0], "x-shopify-hmac-sha256");
/// assert_eq!(shopify.encoding(), Encoding::Base64);
/// assert!(!shopify.signs_timestamp());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// Where the signatures are.
    pub(crate) signature: SignatureLocation,
    /// The signature algorithm.
    pub(crate) algorithm: Algorithm,
    /// How each signature is encoded.
    pub(crate) encoding: Encoding,
    /// How signatures are laid out in the header.
    pub(crate) format: SignatureFormat,
    /// What the signature covers.
    pub(crate) signed_payload: SignedPayload,
    /// Where the signed timestamp comes from.
    pub(crate) timestamp: TimestampSource,
    /// How the timestamp is written.
    pub(crate) timestamp_format: TimestampFormat,
    /// Headers carrying the message id for `{id}`, first present wins; always `Some` when the
    /// scheme signs `{id}` (checked by `validate`).
    pub(crate) id_headers: Option<HeaderNames>,
    /// How a secret becomes the key.
    pub(crate) key_encoding: KeyEncoding,
    /// `jwt-es256`: the claim carrying the hex SHA-256 of the raw body (checked by
    /// `validate`: always `Some` for `jwt-es256`, `None` otherwise).
    pub(crate) body_digest_claim: Option<String>,
}

/// A scheme whose parts are invalid or contradict each other.
///
/// ```
/// use hookgate::core::scheme::{Scheme, SchemeError};
/// let error = Scheme::builder("X-Sig").signed_payload("{id}.{body}").build().unwrap_err();
/// assert_eq!(error, SchemeError::IdWithoutHeader);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemeError {
    /// A header name that HTTP does not allow.
    #[error("`{name}` is not a valid header name ({field})")]
    HeaderName {
        /// The key in `[route.scheme]`: `header`, `timestamp_header` or `id_header`.
        field: &'static str,
        /// The name given.
        name: String,
    },
    /// The `signed_payload` template is invalid.
    #[error("signed_payload: {0}")]
    Template(#[from] TemplateError),
    /// No signature header (or JSON field).
    #[error("a scheme needs a signature header (or signature_json)")]
    NoHeader,
    /// `{timestamp}` is signed but no timestamp source is set, or the reverse.
    #[error("signed_payload uses {{timestamp}} but no timestamp_header, timestamp_json or format = \"kv\" is set (or the reverse)")]
    TimestampMismatch,
    /// `{id}` is signed but no id header is set.
    #[error("signed_payload uses {{id}} but no id_header is set")]
    IdWithoutHeader,
    /// A value of a key is not one of the valid names.
    #[error("{0}")]
    Name(#[from] UnknownName),
    /// A key's value cannot be used.
    #[error("{field}: {message}")]
    Invalid {
        /// The key in `[route.scheme]`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl SchemeError {
    /// The `[route.scheme]` key at fault, when one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            SchemeError::HeaderName { field, .. } | SchemeError::Invalid { field, .. } => {
                Some(field)
            }
            SchemeError::Template(_) => Some("signed_payload"),
            SchemeError::Name(name) => Some(name.kind),
            _ => None,
        }
    }
}

impl Scheme {
    /// Starts a custom scheme whose signature is in `header`.
    ///
    /// Defaults: HMAC-SHA256, hex, no prefix, signed content `{body}`, no timestamp.
    ///
    /// ```
    /// use hookgate::core::scheme::{Algorithm, Encoding, Scheme};
    ///
    /// // Signature `X-Signature: sha256=<hex>` over `{timestamp}.{body}`, timestamp in `X-Timestamp`.
    /// let scheme = Scheme::builder("X-Signature")
    ///     .algorithm(Algorithm::Sha256)
    ///     .encoding(Encoding::Hex)
    ///     .prefix("sha256=")
    ///     .signed_payload("{timestamp}.{body}")
    ///     .timestamp_header("X-Timestamp")
    ///     .build()
    ///     .unwrap();
    /// assert!(scheme.signs_timestamp());
    ///
    /// // A template that signs a timestamp needs to know where the timestamp is.
    /// assert!(Scheme::builder("X-Signature").signed_payload("{timestamp}.{body}").build().is_err());
    /// ```
    pub fn builder(header: impl Into<String>) -> SchemeBuilder {
        SchemeBuilder {
            headers: vec![header.into()],
            ..SchemeBuilder::empty()
        }
    }

    /// Starts a custom scheme whose signature is a field of the JSON body (Mailgun's
    /// `/signature/signature`).
    ///
    /// ```
    /// use hookgate::core::scheme::Scheme;
    /// let mailgun = Scheme::builder_json("/signature/signature")
    ///     .signed_payload("{timestamp}{json:/signature/token}")
    ///     .timestamp_json("/signature/timestamp")
    ///     .build()
    ///     .unwrap();
    /// assert!(mailgun.signature_headers().is_empty());
    /// ```
    pub fn builder_json(pointer: impl Into<String>) -> SchemeBuilder {
        SchemeBuilder {
            signature_json: Some(pointer.into()),
            ..SchemeBuilder::empty()
        }
    }

    /// Checks that the parts of the scheme agree with each other. Every scheme that can be
    /// had (a preset, or [`SchemeBuilder::build`]) passes; the verifier checks again anyway.
    pub fn validate(&self) -> Result<(), SchemeError> {
        self.validate_asymmetric_envelopes()?;
        let has_timestamp = !matches!(self.timestamp, TimestampSource::None);
        let token = self.algorithm == Algorithm::Token;
        // A timestamp inside a signed body is signed too; so is a JWT claim (checked above to
        // belong to a `jwt-es256` scheme) and the `Timestamp` field of an SNS message.
        let body_timestamp = match &self.timestamp {
            TimestampSource::Json(pointer) => {
                self.signed_payload.uses_body()
                    || (self.algorithm == Algorithm::AwsSns && pointer.as_str() == "/Timestamp")
            }
            TimestampSource::Claim(_) => true,
            _ => false,
        };
        if !token && self.signed_payload.uses_timestamp() != has_timestamp && !body_timestamp {
            return Err(SchemeError::TimestampMismatch);
        }
        if token && has_timestamp {
            return Err(SchemeError::TimestampMismatch);
        }
        if matches!(self.timestamp, TimestampSource::SignatureHeader)
            && !matches!(self.format, SignatureFormat::KeyValue { .. })
        {
            return Err(SchemeError::TimestampMismatch);
        }
        if self.signed_payload.uses_id() && self.id_headers.is_none() {
            return Err(SchemeError::IdWithoutHeader);
        }
        if matches!(self.signature, SignatureLocation::Json(_))
            && !matches!(self.format, SignatureFormat::Plain { .. })
        {
            return Err(SchemeError::Invalid {
                field: "format",
                message: "a signature in a JSON field is plain".into(),
            });
        }
        if self.encoding == Encoding::Text && !token {
            return Err(SchemeError::Invalid {
                field: "encoding",
                message: "encoding = \"text\" is for algorithm = \"token\"".into(),
            });
        }
        if !self.algorithm.is_hmac() && self.key_encoding != KeyEncoding::Raw {
            return Err(SchemeError::Invalid {
                field: "key_encoding",
                message: "key_encoding is for HMAC schemes".into(),
            });
        }
        Ok(())
    }

    /// The rules of the two schemes whose signature is an envelope around the content
    /// (`jwt-es256`, `aws-sns`): each fixes what is signed, and their keys are theirs alone.
    fn validate_asymmetric_envelopes(&self) -> Result<(), SchemeError> {
        let invalid = |field: &'static str, message: &str| {
            Err(SchemeError::Invalid {
                field,
                message: message.into(),
            })
        };
        let jwt = self.algorithm == Algorithm::JwtEs256;
        let sns = self.algorithm == Algorithm::AwsSns;
        if !jwt && self.body_digest_claim.is_some() {
            return invalid("body_digest_claim", "is for algorithm = \"jwt-es256\"");
        }
        if !jwt && matches!(self.timestamp, TimestampSource::Claim(_)) {
            return invalid("timestamp_claim", "is for algorithm = \"jwt-es256\"");
        }
        let sns_payload = self.signed_payload.parts() == [PayloadPart::AwsSns];
        if !sns && self.signed_payload.parts().contains(&PayloadPart::AwsSns) {
            return invalid("signed_payload", "{sns} is for algorithm = \"aws-sns\"");
        }
        if jwt {
            if !matches!(self.signature, SignatureLocation::Headers(_)) {
                return invalid("signature_json", "a jwt-es256 token is read from a header");
            }
            if !matches!(self.format, SignatureFormat::Plain { .. }) {
                return invalid(
                    "format",
                    "a jwt-es256 header holds one token (format = \"plain\")",
                );
            }
            if self.encoding != Encoding::Base64Url {
                return invalid("encoding", "a JWT is base64url (the default for jwt-es256)");
            }
            if self.body_digest_claim.is_none() {
                return invalid(
                    "body_digest_claim",
                    "jwt-es256 needs the claim that carries the SHA-256 of the body: a token that does not cover the body proves nothing about it",
                );
            }
            if self.signed_payload != SignedPayload::body() {
                return invalid(
                    "signed_payload",
                    "a JWT signs its claims; the body is covered by body_digest_claim",
                );
            }
            if !matches!(
                self.timestamp,
                TimestampSource::None | TimestampSource::Claim(_)
            ) {
                return invalid(
                    "timestamp_claim",
                    "a jwt-es256 timestamp is a claim of the token (timestamp_claim)",
                );
            }
        }
        if sns {
            if !matches!(&self.signature, SignatureLocation::Json(p) if p.as_str() == "/Signature")
            {
                return invalid(
                    "signature_json",
                    "aws-sns reads signature_json = \"/Signature\"",
                );
            }
            if self.format != (SignatureFormat::Plain { prefix: None }) {
                return invalid(
                    "format",
                    "an SNS signature is plain base64, without a prefix",
                );
            }
            if self.encoding != Encoding::Base64 {
                return invalid(
                    "encoding",
                    "an SNS signature is base64 (the default for aws-sns)",
                );
            }
            if !sns_payload {
                return invalid("signed_payload", "aws-sns signs \"{sns}\" (the default)");
            }
            if !matches!(&self.timestamp, TimestampSource::None)
                && !matches!(&self.timestamp, TimestampSource::Json(p) if p.as_str() == "/Timestamp")
            {
                return invalid(
                    "timestamp_json",
                    "the signed timestamp of an SNS message is timestamp_json = \"/Timestamp\"",
                );
            }
        }
        Ok(())
    }

    /// Signature headers, in order of preference: the first one present is read; empty when
    /// the signature is a JSON field of the body.
    pub fn signature_headers(&self) -> &[HeaderName] {
        match &self.signature {
            SignatureLocation::Headers(names) => names,
            SignatureLocation::Json(_) => &[],
        }
    }

    /// Where the signatures are read.
    pub fn signature_location(&self) -> &SignatureLocation {
        &self.signature
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// How each signature is encoded.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// How signatures are laid out in the header.
    pub fn format(&self) -> &SignatureFormat {
        &self.format
    }

    /// What the signature covers.
    pub fn signed_payload(&self) -> &SignedPayload {
        &self.signed_payload
    }

    /// Where the signed timestamp comes from.
    pub fn timestamp(&self) -> &TimestampSource {
        &self.timestamp
    }

    /// How the timestamp is written.
    pub fn timestamp_format(&self) -> TimestampFormat {
        self.timestamp_format
    }

    /// Headers carrying the message id signed as `{id}`, first present wins; empty when the
    /// scheme signs no id.
    pub fn id_headers(&self) -> &[HeaderName] {
        self.id_headers
            .as_ref()
            .map_or(&[], |names| names.as_slice())
    }

    /// How a secret becomes the key.
    pub fn key_encoding(&self) -> KeyEncoding {
        self.key_encoding
    }

    /// `jwt-es256`: the claim carrying the hex SHA-256 of the raw body; `None` for other
    /// algorithms.
    ///
    /// ```
    /// use hookgate::core::Provider;
    /// let plaid = Provider::named("plaid").unwrap().scheme();
    /// assert_eq!(plaid.body_digest_claim(), Some("request_body_sha256"));
    /// assert_eq!(Provider::Stripe.scheme().body_digest_claim(), None);
    /// ```
    pub fn body_digest_claim(&self) -> Option<&str> {
        self.body_digest_claim.as_deref()
    }

    /// Whether requests under this scheme carry a signed timestamp.
    pub fn signs_timestamp(&self) -> bool {
        !matches!(self.timestamp, TimestampSource::None)
    }

    /// Whether [`sign_message`](crate::core::sign_message) can produce this scheme's requests
    /// (given the private key of a public-key scheme, and the request head of a scheme that
    /// signs the method or URL). Not signed: a scheme whose signature is a field of the body
    /// it signs (no request can carry a valid signature), and JWT (`jwt-es256`) and AWS SNS
    /// (`aws-sns`) requests, which hookgate verifies but does not produce.
    ///
    /// ```
    /// use hookgate::core::{scheme::Scheme, Provider};
    /// assert!(Provider::Twilio.scheme().can_sign() && Provider::Discord.scheme().can_sign());
    /// let circular = Scheme::builder_json("/sig").build().unwrap(); // signs {body}, sig inside
    /// assert!(!circular.can_sign());
    /// assert!(!Provider::named("plaid").unwrap().scheme().can_sign());
    /// ```
    pub fn can_sign(&self) -> bool {
        self.cannot_sign_because().is_none()
    }

    /// Why [`sign_message`](crate::core::sign_message) cannot produce this scheme's requests,
    /// or `None` when it can.
    pub(crate) fn cannot_sign_because(&self) -> Option<&'static str> {
        match self.algorithm {
            Algorithm::Token => None,
            Algorithm::JwtEs256 | Algorithm::AwsSns => Some(
                "JWT (jwt-es256) and AWS SNS (aws-sns) requests are not produced by hookgate",
            ),
            _ if matches!(self.signature, SignatureLocation::Json(_))
                && self.signed_payload.uses_body() =>
            {
                Some("the signature is a field of the body it signs, so no request can carry a valid one")
            }
            _ => None,
        }
    }
}

/// Builds a custom [`Scheme`]; see [`Scheme::builder`].
///
/// ```
/// use hookgate::core::scheme::Scheme;
/// // A Stripe-like header of another name: `X-Acme-Signature: ts=…,sig=…`.
/// let scheme = Scheme::builder("X-Acme-Signature")
///     .key_value("ts", "sig")
///     .signed_payload("{timestamp}.{body}")
///     .build()
///     .unwrap();
/// assert!(scheme.signs_timestamp());
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SchemeBuilder {
    headers: Vec<String>,
    signature_json: Option<String>,
    algorithm: Algorithm,
    encoding: Option<Encoding>,
    prefix: Option<String>,
    signed_payload: Option<String>,
    timestamp_headers: Vec<String>,
    timestamp_json: Option<String>,
    timestamp_format: TimestampFormat,
    key_value: Option<(String, String)>,
    separators: Option<String>,
    versioned: Option<String>,
    id_headers: Vec<String>,
    key_encoding: KeyEncoding,
    body_digest_claim: Option<String>,
    timestamp_claim: Option<String>,
}

impl SchemeBuilder {
    fn empty() -> Self {
        SchemeBuilder {
            headers: Vec::new(),
            signature_json: None,
            algorithm: Algorithm::Sha256,
            encoding: None,
            prefix: None,
            signed_payload: None,
            timestamp_headers: Vec::new(),
            timestamp_json: None,
            timestamp_format: TimestampFormat::Unix,
            key_value: None,
            separators: None,
            versioned: None,
            id_headers: Vec::new(),
            key_encoding: KeyEncoding::Raw,
            body_digest_claim: None,
            timestamp_claim: None,
        }
    }

    /// Another signature header, read when the ones before are absent.
    pub fn fallback_header(mut self, header: impl Into<String>) -> Self {
        self.headers.push(header.into());
        self
    }

    /// The algorithm (default HMAC-SHA256).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// How signatures are encoded (default hex; `text` for tokens).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// Text before the encoded signature, such as `sha256=`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The signed content template (default `{body}`); see [`SignedPayload::parse`].
    pub fn signed_payload(mut self, template: impl Into<String>) -> Self {
        self.signed_payload = Some(template.into());
        self
    }

    /// A header carrying the signed timestamp; call again for fallbacks.
    pub fn timestamp_header(mut self, header: impl Into<String>) -> Self {
        self.timestamp_headers.push(header.into());
        self
    }

    /// A JSON field of the body carrying the timestamp (a JSON pointer).
    pub fn timestamp_json(mut self, pointer: impl Into<String>) -> Self {
        self.timestamp_json = Some(pointer.into());
        self
    }

    /// How the timestamp is written (default unix seconds).
    pub fn timestamp_format(mut self, format: TimestampFormat) -> Self {
        self.timestamp_format = format;
        self
    }

    /// The signature header is `timestamp_key=…,signature_key=…` pairs (`t=…,v1=…`); the
    /// timestamp comes from it unless a timestamp header is set.
    pub fn key_value(
        mut self,
        timestamp_key: impl Into<String>,
        signature_key: impl Into<String>,
    ) -> Self {
        self.key_value = Some((timestamp_key.into(), signature_key.into()));
        self
    }

    /// The characters separating `key=value` pairs (default `,`).
    pub fn separators(mut self, separators: impl Into<String>) -> Self {
        self.separators = Some(separators.into());
        self
    }

    /// The signature header is a space-separated list of `version,signature` entries.
    pub fn versioned(mut self, version: impl Into<String>) -> Self {
        self.versioned = Some(version.into());
        self
    }

    /// A header carrying the message id signed as `{id}`; call again for fallbacks.
    pub fn id_header(mut self, header: impl Into<String>) -> Self {
        self.id_headers.push(header.into());
        self
    }

    /// How a secret becomes the HMAC key (default: its bytes).
    pub fn key_encoding(mut self, key_encoding: KeyEncoding) -> Self {
        self.key_encoding = key_encoding;
        self
    }

    /// `jwt-es256`: the claim of the token that carries the hex SHA-256 of the raw body
    /// (Plaid: `request_body_sha256`); required, so that the token covers the body.
    ///
    /// ```
    /// use hookgate::core::scheme::{Algorithm, Scheme};
    /// let plaid = Scheme::builder("Plaid-Verification")
    ///     .algorithm(Algorithm::JwtEs256)
    ///     .body_digest_claim("request_body_sha256")
    ///     .timestamp_claim("iat")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(plaid.body_digest_claim(), Some("request_body_sha256"));
    /// assert!(plaid.signs_timestamp());
    /// // Without the digest claim the token says nothing about the body: refused.
    /// assert!(Scheme::builder("X-Jwt").algorithm(Algorithm::JwtEs256).build().is_err());
    /// ```
    pub fn body_digest_claim(mut self, claim: impl Into<String>) -> Self {
        self.body_digest_claim = Some(claim.into());
        self
    }

    /// `jwt-es256`: the NumericDate claim (unix seconds) checked against the tolerance
    /// (Plaid: `iat`); see [`body_digest_claim`](Self::body_digest_claim). A token without
    /// it is refused.
    ///
    /// ```
    /// use hookgate::core::scheme::{Algorithm, Scheme, TimestampSource};
    /// let scheme = Scheme::builder("X-Jwt")
    ///     .algorithm(Algorithm::JwtEs256)
    ///     .body_digest_claim("body_sha256")
    ///     .timestamp_claim("iat")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(scheme.timestamp(), &TimestampSource::Claim("iat".into()));
    /// // A claim is a JWT's: other algorithms refuse it.
    /// assert!(Scheme::builder("X-Sig").timestamp_claim("iat").build().is_err());
    /// ```
    pub fn timestamp_claim(mut self, claim: impl Into<String>) -> Self {
        self.timestamp_claim = Some(claim.into());
        self
    }

    /// Checks and builds the scheme.
    pub fn build(self) -> Result<Scheme, SchemeError> {
        fn names(field: &'static str, list: &[String]) -> Result<Option<HeaderNames>, SchemeError> {
            let parsed = list
                .iter()
                .map(|name| {
                    HeaderName::try_from(name.trim()).map_err(|_| SchemeError::HeaderName {
                        field,
                        name: name.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(HeaderNames::new(parsed))
        }
        fn pointer(field: &'static str, text: &str) -> Result<JsonPointer, SchemeError> {
            JsonPointer::parse(text).ok_or_else(|| SchemeError::Invalid {
                field,
                message: format!("`{text}` is not a JSON pointer (it starts with `/`)"),
            })
        }
        let signed_payload = match &self.signed_payload {
            Some(template) => SignedPayload::parse(template)?,
            None if self.algorithm == Algorithm::AwsSns => SignedPayload {
                parts: vec![PayloadPart::AwsSns],
            },
            None => SignedPayload::body(),
        };
        let signature = match (&self.signature_json, names("header", &self.headers)?) {
            (Some(p), None) => SignatureLocation::Json(pointer("signature_json", p)?),
            (None, Some(names)) => SignatureLocation::Headers(names),
            (None, None) => return Err(SchemeError::NoHeader),
            (Some(_), Some(_)) => {
                return Err(SchemeError::Invalid {
                    field: "signature_json",
                    message: "set either header or signature_json, not both".into(),
                })
            }
        };
        let timestamp = match (
            names("timestamp_header", &self.timestamp_headers)?,
            &self.timestamp_json,
            &self.key_value,
        ) {
            _ if self.timestamp_claim.is_some() => {
                if !self.timestamp_headers.is_empty() || self.timestamp_json.is_some() {
                    return Err(SchemeError::Invalid {
                        field: "timestamp_claim",
                        message: "set one of timestamp_header, timestamp_json, timestamp_claim"
                            .into(),
                    });
                }
                let claim = self.timestamp_claim.clone().unwrap_or_default();
                if claim.is_empty() {
                    return Err(SchemeError::Invalid {
                        field: "timestamp_claim",
                        message: "a claim name is not empty".into(),
                    });
                }
                TimestampSource::Claim(claim)
            }
            (Some(_), Some(_), _) => {
                return Err(SchemeError::Invalid {
                    field: "timestamp_json",
                    message: "set either timestamp_header or timestamp_json, not both".into(),
                })
            }
            (Some(names), None, _) => TimestampSource::Header(names),
            (None, Some(p), _) => TimestampSource::Json(pointer("timestamp_json", p)?),
            (None, None, Some(_)) if signed_payload.uses_timestamp() => {
                TimestampSource::SignatureHeader
            }
            (None, None, _) => TimestampSource::None,
        };
        let separators = self.separators.unwrap_or_else(|| ",".into());
        if separators.is_empty() || separators.contains('=') {
            return Err(SchemeError::Invalid {
                field: "separators",
                message: "give one or more characters other than `=`".into(),
            });
        }
        let format = match (self.key_value, self.versioned) {
            (Some(_), Some(_)) => {
                return Err(SchemeError::Invalid {
                    field: "format",
                    message: "a header is either key=value pairs or a versioned list".into(),
                })
            }
            (Some((timestamp_key, signature_key)), None) => SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
                separators,
            },
            (None, Some(version)) => SignatureFormat::VersionedList { version },
            (None, None) => SignatureFormat::Plain {
                prefix: self.prefix,
            },
        };
        let encoding = self.encoding.unwrap_or(match self.algorithm {
            Algorithm::Token => Encoding::Text,
            Algorithm::JwtEs256 => Encoding::Base64Url,
            Algorithm::AwsSns => Encoding::Base64,
            _ => Encoding::Hex,
        });
        if self.body_digest_claim.as_deref() == Some("") {
            return Err(SchemeError::Invalid {
                field: "body_digest_claim",
                message: "a claim name is not empty".into(),
            });
        }
        let scheme = Scheme {
            signature,
            algorithm: self.algorithm,
            encoding,
            format,
            signed_payload,
            timestamp,
            timestamp_format: self.timestamp_format,
            id_headers: names("id_header", &self.id_headers)?,
            key_encoding: self.key_encoding,
            body_digest_claim: self.body_digest_claim,
        };
        scheme.validate()?;
        Ok(scheme)
    }
}

/// One name or a list of names (`header = "X-Sig"` or `header = ["X-Sig", "X-Sig-Old"]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values, in order of preference.
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// A scheme as written in TOML: the keys of a route's `[route.scheme]` table, and of every
/// preset in `presets.toml`. [`SchemeTable::build`] checks it and makes the [`Scheme`].
///
/// ```
/// use hookgate::core::scheme::SchemeTable;
/// let table: SchemeTable = toml::from_str(r#"
/// header = "Paddle-Signature"
/// format = "kv"
/// timestamp_key = "ts"
/// signature_key = "h1"
/// separators = ";"
/// signed_payload = "{timestamp}:{body}"
/// "#).unwrap();
/// let scheme = table.build().unwrap();
/// assert!(scheme.signs_timestamp());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeTable {
    /// Signature header(s), first present wins.
    pub header: Option<OneOrMany>,
    /// Or: the JSON pointer of the signature in the body.
    pub signature_json: Option<String>,
    /// `sha1`, `sha256` (default), `sha512`, `ed25519`, `ecdsa-p256`, `token`, `jwt-es256`,
    /// `aws-sns`.
    pub algorithm: Option<String>,
    /// `hex` (default), `base64`, `base64url`, `text` (tokens).
    pub encoding: Option<String>,
    /// Text before the signature (`sha256=`).
    pub prefix: Option<String>,
    /// The signed content template.
    pub signed_payload: Option<String>,
    /// Timestamp header(s).
    pub timestamp_header: Option<OneOrMany>,
    /// Or: the JSON pointer of the timestamp in the body.
    pub timestamp_json: Option<String>,
    /// `unix` (default), `unix_ms`, `rfc3339`.
    pub timestamp_format: Option<String>,
    /// Message id header(s) for `{id}`.
    pub id_header: Option<OneOrMany>,
    /// `plain` (default), `kv` or `versioned`.
    pub format: Option<String>,
    /// `kv`: the timestamp's key (default `t`).
    pub timestamp_key: Option<String>,
    /// `kv`: the signatures' key (default `v1`).
    pub signature_key: Option<String>,
    /// `kv`: pair separators (default `,`).
    pub separators: Option<String>,
    /// `versioned`: the version accepted (default `v1`).
    pub version: Option<String>,
    /// `raw` (default), `whsec`, `base64`, `hex`: how an HMAC secret becomes the key.
    pub key_encoding: Option<String>,
    /// `jwt-es256`: the claim carrying the hex SHA-256 of the body.
    pub body_digest_claim: Option<String>,
    /// `jwt-es256`: the NumericDate claim checked against the tolerance (`iat`).
    pub timestamp_claim: Option<String>,
}

impl SchemeTable {
    /// Checks the table and builds the scheme.
    pub fn build(&self) -> Result<Scheme, SchemeError> {
        let t = self.clone();
        let mut builder = match (t.header, t.signature_json) {
            (Some(header), None) => {
                let mut names = header.into_vec().into_iter();
                let mut builder = Scheme::builder(names.next().ok_or(SchemeError::NoHeader)?);
                for name in names {
                    builder = builder.fallback_header(name);
                }
                builder
            }
            (None, Some(pointer)) => Scheme::builder_json(pointer),
            (None, None) => return Err(SchemeError::NoHeader),
            (Some(_), Some(_)) => {
                return Err(SchemeError::Invalid {
                    field: "signature_json",
                    message: "set either header or signature_json, not both".into(),
                })
            }
        };
        if let Some(v) = t.algorithm {
            builder = builder.algorithm(v.parse()?);
        }
        if let Some(v) = t.encoding {
            builder = builder.encoding(v.parse()?);
        }
        if let Some(v) = t.prefix {
            builder = builder.prefix(v);
        }
        if let Some(v) = t.signed_payload {
            builder = builder.signed_payload(v);
        }
        for name in t
            .timestamp_header
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
        {
            builder = builder.timestamp_header(name);
        }
        if let Some(v) = t.timestamp_json {
            builder = builder.timestamp_json(v);
        }
        if let Some(v) = t.timestamp_format {
            builder = builder.timestamp_format(v.parse()?);
        }
        for name in t.id_header.map(OneOrMany::into_vec).unwrap_or_default() {
            builder = builder.id_header(name);
        }
        if let Some(v) = t.key_encoding {
            builder = builder.key_encoding(v.parse()?);
        }
        if let Some(v) = t.body_digest_claim {
            builder = builder.body_digest_claim(v);
        }
        if let Some(v) = t.timestamp_claim {
            builder = builder.timestamp_claim(v);
        }
        let kv_only = [
            ("timestamp_key", t.timestamp_key.is_some()),
            ("signature_key", t.signature_key.is_some()),
            ("separators", t.separators.is_some()),
        ];
        match t.format.as_deref() {
            None | Some("plain") => {}
            Some("kv") => {
                builder = builder.key_value(
                    t.timestamp_key.as_deref().unwrap_or("t"),
                    t.signature_key.as_deref().unwrap_or("v1"),
                );
                if let Some(separators) = t.separators {
                    builder = builder.separators(separators);
                }
            }
            Some("versioned") => {
                builder = builder.versioned(t.version.as_deref().unwrap_or("v1"));
            }
            Some(other) => {
                return Err(SchemeError::Invalid {
                    field: "format",
                    message: format!(
                        "format must be \"plain\", \"kv\" or \"versioned\", not `{other}`"
                    ),
                })
            }
        }
        if t.format.as_deref() != Some("kv") {
            if let Some((field, _)) = kv_only.into_iter().find(|(_, set)| *set) {
                return Err(SchemeError::Invalid {
                    field,
                    message: "is for format = \"kv\"".into(),
                });
            }
        }
        if t.version.is_some() && t.format.as_deref() != Some("versioned") {
            return Err(SchemeError::Invalid {
                field: "version",
                message: "is for format = \"versioned\"".into(),
            });
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rejects_contradictions_and_bad_names() {
        assert!(matches!(
            Scheme::builder("bad header").build(),
            Err(SchemeError::HeaderName {
                field: "header",
                ..
            })
        ));
        assert_eq!(
            Scheme::builder("x-sig").timestamp_header("x-ts").build(),
            Err(SchemeError::TimestampMismatch),
            "a timestamp that is not signed proves nothing"
        );
        assert_eq!(
            Scheme::builder("x-sig")
                .signed_payload("{id}.{body}")
                .build(),
            Err(SchemeError::IdWithoutHeader)
        );
        let kv = Scheme::builder("x-sig")
            .key_value("t", "v1")
            .signed_payload("{timestamp}.{body}")
            .build()
            .unwrap();
        assert_eq!(kv.timestamp, TimestampSource::SignatureHeader);
    }

    #[test]
    fn envelope_algorithms_fix_what_they_sign() {
        let table = |text: &str| toml::from_str::<SchemeTable>(text).unwrap().build();
        let field = |text: &str| table(text).unwrap_err().field();
        let jwt = r#"header = "X-Jwt"
algorithm = "jwt-es256"
body_digest_claim = "body_sha256"
"#;
        let scheme = table(&format!("{jwt}timestamp_claim = \"iat\"")).unwrap();
        assert_eq!(scheme.encoding(), Encoding::Base64Url);
        assert_eq!(scheme.timestamp(), &TimestampSource::Claim("iat".into()));
        for (extra, key) in [
            ("", Some("body_digest_claim")),
            (
                "signed_payload = \"{timestamp}.{body}\"\ntimestamp_header = \"x-t\"",
                Some("signed_payload"),
            ),
            ("encoding = \"hex\"", Some("encoding")),
            (
                "timestamp_header = \"x-t\"\ntimestamp_claim = \"iat\"",
                Some("timestamp_claim"),
            ),
            ("format = \"kv\"", Some("format")),
        ] {
            let text = if extra.is_empty() {
                "header = \"X-Jwt\"\nalgorithm = \"jwt-es256\"".to_owned()
            } else {
                format!("{jwt}{extra}")
            };
            assert_eq!(field(&text), key, "{text}");
        }
        // The claims and {sns} belong to their algorithms.
        assert_eq!(
            field("header = \"X\"\nbody_digest_claim = \"d\""),
            Some("body_digest_claim")
        );
        assert_eq!(
            field("header = \"X\"\ntimestamp_claim = \"iat\""),
            Some("timestamp_claim")
        );
        assert_eq!(
            field("signature_json = \"/Signature\"\nsigned_payload = \"{sns}\""),
            Some("signed_payload")
        );
        let sns = "signature_json = \"/Signature\"\nalgorithm = \"aws-sns\"\n";
        let scheme = table(sns).unwrap();
        assert_eq!(scheme.signed_payload().to_string(), "{sns}");
        assert!(!scheme.signed_payload().uses_body());
        assert_eq!(
            field("header = \"X\"\nalgorithm = \"aws-sns\""),
            Some("signature_json")
        );
        assert_eq!(
            field(&format!("{sns}timestamp_json = \"/Other\"")),
            Some("timestamp_json")
        );
        assert_eq!(
            field(&format!("{sns}signed_payload = \"{{body}}\"")),
            Some("signed_payload")
        );
        assert_eq!(field(&format!("{sns}encoding = \"hex\"")), Some("encoding"));
    }

    #[test]
    fn templates_round_trip_and_reject_nonsense() {
        for t in [
            "{body}",
            "{timestamp}.{body}",
            "v0:{timestamp}:{body}",
            "{id}.{timestamp}.{body}",
        ] {
            assert_eq!(SignedPayload::parse(t).unwrap().to_string(), t);
        }
        assert_eq!(
            SignedPayload::parse("{nonce}.{body}"),
            Err(TemplateError::UnknownPlaceholder("nonce".into()))
        );
        assert_eq!(SignedPayload::parse("{body"), Err(TemplateError::Unclosed));
        assert_eq!(
            SignedPayload::parse("{body}{body}"),
            Err(TemplateError::BodyCount)
        );
        assert_eq!(
            SignedPayload::parse("static"),
            Err(TemplateError::BodyCount)
        );
    }
}
