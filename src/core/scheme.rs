#![doc = include_str!("../docs/custom_schemes.md")]

use super::name::UnknownName;
use http::HeaderName;
use std::fmt;

/// The hash function of the HMAC.
///
/// ```
/// use hookgate::core::scheme::Algorithm;
/// assert_eq!("sha512".parse(), Ok(Algorithm::Sha512));
/// let error = "sha265".parse::<Algorithm>().unwrap_err();
/// assert_eq!(error.to_string(), "unknown algorithm `sha265`; did you mean `sha256`? (valid: sha1, sha256, sha512)");
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
}

impl Algorithm {
    /// Every name `parse` accepts.
    pub const NAMES: &'static [&'static str] = &["sha1", "sha256", "sha512"];

    /// The name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Parses `sha1`, `sha256` or `sha512`; same as `name.parse().ok()`.
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// Length of the MAC in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }
}

/// How the MAC bytes are written in the header.
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
}

impl Encoding {
    /// Every name `parse` accepts.
    pub const NAMES: &'static [&'static str] = &["hex", "base64"];

    /// The name in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        }
    }

    /// Parses `hex` or `base64`; same as `name.parse().ok()`.
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

impl std::str::FromStr for Algorithm {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| UnknownName::new("algorithm", name, Algorithm::NAMES))
    }
}

impl std::str::FromStr for Encoding {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        [Encoding::Hex, Encoding::Base64]
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
    /// Comma-separated `key=value` pairs such as `t=1700000000,v1=…,v1=…` (Stripe).
    KeyValue {
        /// Key of the signed timestamp (`t`).
        timestamp_key: String,
        /// Key of each signature (`v1`); it may appear several times.
        signature_key: String,
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
}

/// The content the HMAC is computed over, such as `{timestamp}.{body}`.
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
    /// A `{…}` placeholder other than `{body}`, `{timestamp}` or `{id}`.
    #[error("unknown placeholder `{{{0}}}` (expected {{body}}, {{timestamp}} or {{id}})")]
    UnknownPlaceholder(String),
    /// A `{` without its `}`.
    #[error("unclosed `{{` in signed_payload")]
    Unclosed,
    /// A template that never includes the body would let any body through.
    #[error("signed_payload must contain {{body}} exactly once")]
    BodyCount,
}

impl SignedPayload {
    /// Just the body.
    pub fn body() -> Self {
        SignedPayload {
            parts: vec![PayloadPart::Body],
        }
    }

    /// Parses a template such as `{timestamp}.{body}` or `v0:{timestamp}:{body}`.
    ///
    /// ```
    /// use hookgate::core::scheme::{PayloadPart, SignedPayload};
    ///
    /// let payload = SignedPayload::parse("{timestamp}.{body}").unwrap();
    /// assert_eq!(payload.parts()[0], PayloadPart::Timestamp);
    /// assert!(SignedPayload::parse("{timestamp}").is_err()); // never signs the body
    /// ```
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}').ok_or(TemplateError::Unclosed)?;
                    parts.push(match &rest[1..end] {
                        "body" => PayloadPart::Body,
                        "timestamp" => PayloadPart::Timestamp,
                        "id" => PayloadPart::Id,
                        other => return Err(TemplateError::UnknownPlaceholder(other.to_owned())),
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
        if parts.iter().filter(|p| **p == PayloadPart::Body).count() != 1 {
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
}

impl fmt::Display for SignedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                PayloadPart::Literal(text) => f.write_str(text)?,
                PayloadPart::Body => f.write_str("{body}")?,
                PayloadPart::Timestamp => f.write_str("{timestamp}")?,
                PayloadPart::Id => f.write_str("{id}")?,
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
    /// The first present of these headers, in unix seconds.
    Header(HeaderNames),
    /// The `timestamp_key` entry of a [`SignatureFormat::KeyValue`] header.
    SignatureHeader,
}

/// How a configured secret becomes the HMAC key.
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

/// A complete signature scheme: plain data, interpreted by the verifier and the signer.
///
/// Get one from a preset ([`Provider::scheme`](crate::core::Provider::scheme)) or build a
/// custom one with [`Scheme::builder`]; either way its parts agree with each other (every
/// header list a request is read through has a first name, a signed `{timestamp}` or `{id}`
/// has a header to come from), so no scheme can make the verifier or the signer fail on a
/// request. The parts are read with the accessors.
///
/// ```
/// use hookgate::core::{scheme::Encoding, Provider};
/// let shopify = hookgate::core::Provider::Shopify.scheme();
/// assert_eq!(shopify.signature_headers().preferred(), "x-shopify-hmac-sha256");
/// assert_eq!(shopify.encoding(), Encoding::Base64);
/// assert!(!shopify.signs_timestamp());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// Signature headers, in order of preference: the first one present is read.
    pub(crate) signature_headers: HeaderNames,
    /// The HMAC hash function.
    pub(crate) algorithm: Algorithm,
    /// How each signature is encoded.
    pub(crate) encoding: Encoding,
    /// How signatures are laid out in the header.
    pub(crate) format: SignatureFormat,
    /// What the HMAC covers.
    pub(crate) signed_payload: SignedPayload,
    /// Where the signed timestamp comes from.
    pub(crate) timestamp: TimestampSource,
    /// Headers carrying the message id for `{id}`, first present wins; always `Some` when the
    /// scheme signs `{id}` (checked by `validate`).
    pub(crate) id_headers: Option<HeaderNames>,
    /// How a secret becomes the key.
    pub(crate) key_encoding: KeyEncoding,
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
        /// The builder field (`header`, `timestamp_header`, `id_header`).
        field: &'static str,
        /// The name given.
        name: String,
    },
    /// The `signed_payload` template is invalid.
    #[error("signed_payload: {0}")]
    Template(#[from] TemplateError),
    /// No signature header.
    #[error("a scheme needs a signature header")]
    NoHeader,
    /// `{timestamp}` is signed but no timestamp source is set, or the reverse.
    #[error("signed_payload uses {{timestamp}} but no timestamp_header or format = \"kv\" is set (or the reverse)")]
    TimestampMismatch,
    /// `{id}` is signed but no id header is set.
    #[error("signed_payload uses {{id}} but no id_header is set")]
    IdWithoutHeader,
}

impl Scheme {
    /// Starts a custom HMAC scheme whose signature is in `header`.
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
            header: header.into(),
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
            prefix: None,
            signed_payload: None,
            timestamp_header: None,
            key_value: None,
            id_header: None,
        }
    }

    /// Checks that the parts of the scheme agree with each other. Every scheme that can be
    /// had (a preset, or [`SchemeBuilder::build`]) passes; the verifier checks again anyway.
    pub fn validate(&self) -> Result<(), SchemeError> {
        let has_timestamp = !matches!(self.timestamp, TimestampSource::None);
        if self.signed_payload.uses_timestamp() != has_timestamp {
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
        Ok(())
    }

    /// Signature headers, in order of preference: the first one present is read.
    pub fn signature_headers(&self) -> &HeaderNames {
        &self.signature_headers
    }

    /// The HMAC hash function.
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

    /// What the HMAC covers.
    pub fn signed_payload(&self) -> &SignedPayload {
        &self.signed_payload
    }

    /// Where the signed timestamp comes from.
    pub fn timestamp(&self) -> &TimestampSource {
        &self.timestamp
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

    /// Whether requests under this scheme carry a signed timestamp.
    pub fn signs_timestamp(&self) -> bool {
        !matches!(self.timestamp, TimestampSource::None)
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
    header: String,
    algorithm: Algorithm,
    encoding: Encoding,
    prefix: Option<String>,
    signed_payload: Option<String>,
    timestamp_header: Option<String>,
    key_value: Option<(String, String)>,
    id_header: Option<String>,
}

impl SchemeBuilder {
    /// The HMAC hash (default SHA-256).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// How signatures are encoded (default hex).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Text before the encoded signature, such as `sha256=`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The signed content template: `{body}`, `{timestamp}`, `{id}` and literal text
    /// (default `{body}`).
    pub fn signed_payload(mut self, template: impl Into<String>) -> Self {
        self.signed_payload = Some(template.into());
        self
    }

    /// The header carrying the signed timestamp (unix seconds).
    pub fn timestamp_header(mut self, header: impl Into<String>) -> Self {
        self.timestamp_header = Some(header.into());
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

    /// The header carrying the message id signed as `{id}`.
    pub fn id_header(mut self, header: impl Into<String>) -> Self {
        self.id_header = Some(header.into());
        self
    }

    /// Checks and builds the scheme.
    pub fn build(self) -> Result<Scheme, SchemeError> {
        fn header(field: &'static str, name: &str) -> Result<HeaderName, SchemeError> {
            HeaderName::try_from(name.trim()).map_err(|_| SchemeError::HeaderName {
                field,
                name: name.to_owned(),
            })
        }
        let signed_payload = match &self.signed_payload {
            Some(template) => SignedPayload::parse(template)?,
            None => SignedPayload::body(),
        };
        let timestamp = match (&self.timestamp_header, &self.key_value) {
            (Some(name), _) => {
                TimestampSource::Header(HeaderNames::one(header("timestamp_header", name)?))
            }
            (None, Some(_)) if signed_payload.uses_timestamp() => TimestampSource::SignatureHeader,
            (None, _) => TimestampSource::None,
        };
        let format = match self.key_value {
            Some((timestamp_key, signature_key)) => SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
            },
            None => SignatureFormat::Plain {
                prefix: self.prefix,
            },
        };
        let scheme = Scheme {
            signature_headers: HeaderNames::one(header("header", &self.header)?),
            algorithm: self.algorithm,
            encoding: self.encoding,
            format,
            signed_payload,
            timestamp,
            id_headers: match &self.id_header {
                Some(name) => Some(HeaderNames::one(header("id_header", name)?)),
                None => None,
            },
            key_encoding: KeyEncoding::Raw,
        };
        scheme.validate()?;
        Ok(scheme)
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
