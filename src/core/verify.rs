//! The verifier: `(request head, body, now) -> Result<Verified, Rejection>`, with no I/O.

use super::event_id::{signature_digest_id, EventIdSpec};
use super::key::{Key, KeyError, Secret};
use super::rejection::Rejection;
use super::scheme::{
    Algorithm, Encoding, HeaderNames, PayloadPart, Scheme, SignatureFormat, SignatureLocation,
    TimestampSource,
};
use base64::Engine as _;
use http::{HeaderMap, HeaderName, Method, Uri};
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// More signatures than this in one request is not a provider talking: refuse it.
const MAX_CANDIDATES: usize = 16;

/// What a successful verification proves about a request.
///
/// ```
/// use hookgate::core::{sign, Provider, SignInput, Verifier};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let p = Provider::Stripe;
/// let verifier = Verifier::new(p.scheme(), ["whsec_x".into()], p.default_tolerance(), p.default_event_id()).unwrap();
/// let body = br#"{"id":"evt_1"}"#;
/// let mut headers = http::HeaderMap::new();
/// for (name, value) in sign(&p.scheme(), &"whsec_x".into(), body, &SignInput { timestamp: 1_700_000_000, id: "" }).unwrap() {
///     headers.insert(name, value);
/// }
/// let verified = verifier.verify(&headers, body, UNIX_EPOCH + Duration::from_secs(1_700_000_060)).unwrap();
/// assert_eq!(verified.event_id, "evt_1");
/// assert_eq!(verified.timestamp, Some(1_700_000_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The event id: from the route's event id sources, or a digest of the verified signature
    /// when they are absent (see [`Verified::event_id_from_signature`]).
    pub event_id: String,
    /// `true` when the id is the signature digest fallback (`sig:…`).
    pub event_id_from_signature: bool,
    /// The signed timestamp (unix seconds), for schemes that sign one.
    pub timestamp: Option<i64>,
}

/// Verifies requests for one route: a scheme, its keys, a tolerance and an event id spec.
///
/// Each secret's HMAC state is keyed once, when the verifier is built; a request clones it.
///
/// ```
/// use hookgate::core::{Provider, Verifier};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let verifier = Verifier::new(
///     Provider::Github.scheme(),
///     ["It's a Secret to Everybody".into()],
///     None,
///     Provider::Github.default_event_id(),
/// )
/// .unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "x-hub-signature-256",
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse().unwrap(),
/// );
/// headers.insert("x-github-delivery", "72d3162e".parse().unwrap());
/// let verified = verifier.verify(&headers, b"Hello, World!", UNIX_EPOCH + Duration::from_secs(1)).unwrap();
/// assert_eq!(verified.event_id, "72d3162e");
/// ```
#[derive(Clone)]
pub struct Verifier {
    provider: Option<super::Provider>,
    scheme: Scheme,
    keys: Vec<Key>,
    tolerance: Option<Duration>,
    event_id: EventIdSpec,
    public_url: Option<String>,
    /// What setup challenges are answered with: the secrets (Zoom, Twitter key their tokens
    /// with one) and Facebook's verify token. Kept only for presets that have a challenge.
    challenge: Option<std::sync::Arc<ChallengeKeys>>,
}

struct ChallengeKeys {
    secrets: Vec<Secret>,
    verify_token: Option<String>,
}

/// What the verifier reads of a request besides its body: the method and URI (for schemes
/// that sign `{method}`, `{url}` or `{path}`) and the headers. [`sign_message`] signs the same
/// parts of the request it is given.
///
/// [`sign_message`]: crate::core::sign_message
///
/// ```
/// use hookgate::core::RequestHead;
/// let (parts, _) = http::Request::post("/hooks?x=1").body(()).unwrap().into_parts();
/// let head = RequestHead::from(&parts);
/// assert_eq!(head.uri.path(), "/hooks");
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request target as received (path and query; absolute under HTTP/2).
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

impl<'a> RequestHead<'a> {
    /// A request head from its parts.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        RequestHead {
            method,
            uri,
            headers,
        }
    }
}

impl<'a> From<&'a http::request::Parts> for RequestHead<'a> {
    fn from(parts: &'a http::request::Parts) -> Self {
        RequestHead::new(&parts.method, &parts.uri, &parts.headers)
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("provider", &self.provider)
            .field("scheme", &self.scheme)
            .field("keys", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .field("event_id", &self.event_id)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// Why a verifier could not be built.
///
/// ```
/// use hookgate::core::{Provider, Verifier, VerifierError};
/// let p = Provider::Github;
/// let error = Verifier::new(p.scheme(), [], None, p.default_event_id()).unwrap_err();
/// assert_eq!(error, VerifierError::NoSecret);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifierError {
    /// Fail closed: a route must have at least one secret.
    #[error("no secret is configured")]
    NoSecret,
    /// Secret number `index` (from 1) cannot be used.
    #[error("secret #{index}: {source}")]
    Key {
        /// Position of the secret, from 1.
        index: usize,
        /// What is wrong with it.
        source: KeyError,
    },
    /// Neither a provider preset nor a custom scheme was given.
    #[error("set a provider preset or a custom scheme")]
    NoScheme,
    /// Both a provider preset and a custom scheme were given.
    #[error("set either a provider preset or a custom scheme, not both")]
    ProviderAndScheme,
    /// The scheme contradicts itself.
    #[error(transparent)]
    Scheme(#[from] super::scheme::SchemeError),
}

impl Verifier {
    /// Builds a verifier. `tolerance` is the allowed clock difference for schemes that sign a
    /// timestamp (`None`: the timestamp is signed but not checked for age).
    pub fn new(
        scheme: Scheme,
        secrets: impl IntoIterator<Item = Secret>,
        tolerance: Option<Duration>,
        event_id: EventIdSpec,
    ) -> Result<Self, VerifierError> {
        scheme.validate()?;
        let keys = secrets
            .into_iter()
            .enumerate()
            .map(|(i, secret)| {
                Key::new(scheme.algorithm, scheme.key_encoding, &secret).map_err(|source| {
                    VerifierError::Key {
                        index: i + 1,
                        source,
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(VerifierError::NoSecret);
        }
        Ok(Verifier {
            provider: None,
            scheme,
            keys,
            tolerance,
            event_id,
            public_url: None,
            challenge: None,
        })
    }

    /// Sets the URL the provider calls, scheme and authority (`https://hooks.example.com`),
    /// for schemes that sign `{url}`: the signed URL is this, then the path and query as
    /// received. Without it, `{url}` is the request's own absolute URI or `https://` + `Host`.
    pub fn with_public_url(mut self, public_url: impl Into<String>) -> Self {
        let url: String = public_url.into();
        self.public_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// The public URL set with [`with_public_url`](Self::with_public_url).
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The provider preset the scheme comes from, when built from one.
    pub fn provider(&self) -> Option<super::Provider> {
        self.provider
    }

    pub(crate) fn with_provider(mut self, provider: super::Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    pub(crate) fn with_challenge(
        mut self,
        secrets: Vec<Secret>,
        verify_token: Option<String>,
    ) -> Self {
        self.challenge = Some(std::sync::Arc::new(ChallengeKeys {
            secrets,
            verify_token,
        }));
        self
    }

    /// Answers the preset's setup challenge when `head` and `body` are one (see
    /// [`answer_challenge`](super::challenge::answer_challenge)); `None` for an ordinary
    /// request, or a verifier without a preset that has a challenge. Call it after
    /// [`verify_request`](Self::verify_request) for signed challenges.
    pub fn answer_challenge(
        &self,
        head: &RequestHead<'_>,
        body: &[u8],
    ) -> Option<super::challenge::ChallengeAnswer> {
        let keys = self.challenge.as_ref()?;
        super::challenge::answer_challenge(
            self.provider?,
            head,
            body,
            &keys.secrets,
            keys.verify_token.as_deref(),
        )
    }

    /// The preset's setup challenge, if it has one.
    pub fn challenge(&self) -> Option<super::challenge::Challenge> {
        self.provider?.challenge()
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The event id sources.
    pub fn event_id(&self) -> &EventIdSpec {
        &self.event_id
    }

    /// How many secrets are tried (more than one during a rotation).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The timestamp tolerance.
    pub fn tolerance(&self) -> Option<Duration> {
        self.tolerance
    }

    /// Verifies one request over its exact raw body bytes, with the clock at `now`.
    ///
    /// Schemes that sign the method, URL or path need them: use
    /// [`verify_request`](Self::verify_request); here they are refused as
    /// `invalid_signature`.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        self.verify_inner(headers, None, body, now)
    }

    /// Verifies one request given its head (method, URI, headers) and its exact raw body.
    ///
    /// ```
    /// use hookgate::core::{Provider, RequestHead, Verifier};
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let verifier = Verifier::builder().provider(Provider::Github).secret("It's a Secret to Everybody").build().unwrap();
    /// let request = http::Request::post("/webhooks/github")
    ///     .header("x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    ///     .header("x-github-delivery", "72d3162e")
    ///     .body(())
    ///     .unwrap();
    /// let (parts, ()) = request.into_parts();
    /// let verified = verifier
    ///     .verify_request(&RequestHead::from(&parts), b"Hello, World!", UNIX_EPOCH + Duration::from_secs(1))
    ///     .unwrap();
    /// assert_eq!(verified.event_id, "72d3162e");
    /// ```
    pub fn verify_request(
        &self,
        head: &RequestHead<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        self.verify_inner(head.headers, Some((head.method, head.uri)), body, now)
    }

    fn verify_inner(
        &self,
        headers: &HeaderMap,
        line: Option<(&Method, &Uri)>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        let scheme = &self.scheme;
        match scheme.algorithm {
            Algorithm::JwtEs256 => {
                let token = self.jwt_header(headers)?;
                let keys = self.keys.iter().filter_map(|key| match key {
                    Key::Jwt(key) => Some(key),
                    _ => None,
                });
                let envelope = super::jwt::verify(scheme, keys, token, body, unix_seconds(now))?;
                return self.finish(envelope, headers, body, now);
            }
            Algorithm::AwsSns => {
                let keys = self.keys.iter().filter_map(|key| match key {
                    Key::SnsCertificate(key) => Some(key),
                    _ => None,
                });
                let envelope = super::sns::verify(scheme, keys, body)?;
                return self.finish(envelope, headers, body, now);
            }
            _ => {}
        }
        let mut parsed = ParsedHeader {
            signatures: Signatures::new(scheme.algorithm.output_len()),
            timestamp: None,
        };
        match &scheme.signature {
            SignatureLocation::Headers(names) => {
                let (header_name, values) = first_present(headers, names)
                    .ok_or_else(|| Rejection::MissingSignature(names.preferred().clone()))?;
                parse_signature_header(scheme, values, &mut parsed)?;
                if parsed.signatures.is_empty() {
                    tracing::debug!(header = %header_name, "no decodable signature in the header");
                    return Err(Rejection::InvalidSignature);
                }
            }
            SignatureLocation::Json(pointer) => {
                let text = pointer.read(body).ok_or(Rejection::InvalidSignature)?;
                let text = match &scheme.format {
                    SignatureFormat::Plain {
                        prefix: Some(prefix),
                    } => text.strip_prefix(prefix.as_str()).unwrap_or_default(),
                    _ => text.as_str(),
                };
                parsed.signatures.push(scheme.encoding, text.trim());
                if parsed.signatures.is_empty() {
                    return Err(Rejection::InvalidSignature);
                }
            }
        }

        let timestamp_text: Option<Cow<'_, str>> = match &scheme.timestamp {
            TimestampSource::None => None,
            TimestampSource::SignatureHeader => Some(Cow::Borrowed(
                parsed.timestamp.ok_or(Rejection::InvalidSignature)?,
            )),
            TimestampSource::Header(names) => Some(Cow::Borrowed(first_value(headers, names)?)),
            TimestampSource::Json(pointer) => Some(Cow::Owned(
                pointer.read(body).ok_or(Rejection::InvalidSignature)?,
            )),
            // Claims belong to `jwt-es256`, verified above.
            TimestampSource::Claim(_) => return Err(Rejection::InvalidSignature),
        };
        let timestamp = match &timestamp_text {
            Some(text) => Some(
                scheme
                    .timestamp_format
                    .parse(text)
                    .ok_or(Rejection::InvalidSignature)?,
            ),
            None => None,
        };
        let signed_id = match (&scheme.id_headers, scheme.signed_payload.uses_id()) {
            (Some(names), true) => Some(first_value(headers, names)?),
            // A validated scheme that signs `{id}` has id headers: this arm is never taken.
            (None, true) => return Err(Rejection::InvalidSignature),
            (_, false) => None,
        };
        let content = Content {
            scheme,
            headers,
            line,
            body,
            timestamp: timestamp_text.as_deref().unwrap_or_default(),
            id: signed_id.unwrap_or_default(),
            public_url: self.public_url.as_deref(),
        };
        // Public-key schemes need the whole message; HMACs stream it.
        let message = if scheme.algorithm.is_public_key() {
            let mut message = Vec::with_capacity(body.len() + 64);
            content.feed(&mut |bytes| message.extend_from_slice(bytes))?;
            Some(message)
        } else {
            None
        };

        let mut matched = None;
        for key in &self.keys {
            matched = match key {
                Key::Hmac(state) => {
                    let mut state = state.clone();
                    content.feed(&mut |bytes| state.update(bytes))?;
                    let expected = state.finalize();
                    parsed
                        .signatures
                        .iter()
                        .find(|candidate| bool::from(candidate.ct_eq(expected.as_bytes())))
                }
                Key::Token(token) => parsed
                    .signatures
                    .iter()
                    .find(|candidate| bool::from(candidate.ct_eq(token.as_slice()))),
                Key::Ed25519(key) => {
                    let message = message.as_deref().unwrap_or_default();
                    parsed.signatures.iter().find(|candidate| {
                        ed25519_dalek::Signature::from_slice(candidate)
                            .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok())
                    })
                }
                // Verified above, before the header is parsed.
                Key::Jwt(_) | Key::SnsCertificate(_) => None,
                Key::P256(key) => {
                    use p256::ecdsa::signature::Verifier as _;
                    let message = message.as_deref().unwrap_or_default();
                    parsed.signatures.iter().find(|candidate| {
                        let sig = p256::ecdsa::Signature::from_der(candidate)
                            .or_else(|_| p256::ecdsa::Signature::from_slice(candidate));
                        sig.is_ok_and(|sig| {
                            let sig = sig.normalize_s().unwrap_or(sig);
                            key.verify(message, &sig).is_ok()
                        })
                    })
                }
            };
            if matched.is_some() {
                break;
            }
        }
        let matched = matched.ok_or(Rejection::InvalidSignature)?;

        if let (Some(ts), Some(tolerance)) = (timestamp, self.tolerance) {
            let now = unix_seconds(now);
            if now.abs_diff(ts) > tolerance.as_secs() {
                return Err(Rejection::TimestampOutOfTolerance);
            }
        }

        let (event_id, event_id_from_signature) =
            match self.event_id.extract(headers, body, signed_id) {
                Some(id) => (id, false),
                None => (signature_digest_id(matched), true),
            };
        Ok(Verified {
            event_id,
            event_id_from_signature,
            timestamp,
        })
    }
}

/// What the envelope schemes (`jwt-es256`, `aws-sns`) verified: the signed timestamp and the
/// signature bytes (in a canonical form: they name the delivery when the event has no id).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) timestamp: Option<i64>,
    pub(crate) signature: Vec<u8>,
}

impl Verifier {
    /// The token of a `jwt-es256` header: exactly one value, its prefix (if any) stripped.
    fn jwt_header<'h>(&'h self, headers: &'h HeaderMap) -> Result<&'h str, Rejection> {
        let SignatureLocation::Headers(names) = &self.scheme.signature else {
            return Err(Rejection::InvalidSignature);
        };
        let (_, mut values) = first_present(headers, names)
            .ok_or_else(|| Rejection::MissingSignature(names.preferred().clone()))?;
        let value = values.next().ok_or(Rejection::InvalidSignature)?;
        // Two tokens: which one the sender meant is unclear.
        if values.next().is_some() {
            return Err(Rejection::InvalidSignature);
        }
        let value = value
            .to_str()
            .map_err(|_| Rejection::InvalidSignature)?
            .trim();
        match &self.scheme.format {
            SignatureFormat::Plain {
                prefix: Some(prefix),
            } => value
                .strip_prefix(prefix.as_str())
                .map(str::trim_start)
                .ok_or(Rejection::InvalidSignature),
            _ => Ok(value),
        }
    }

    /// The tolerance and the event id, after an envelope scheme verified the request.
    fn finish(
        &self,
        envelope: Envelope,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        if let (Some(ts), Some(tolerance)) = (envelope.timestamp, self.tolerance) {
            if unix_seconds(now).abs_diff(ts) > tolerance.as_secs() {
                return Err(Rejection::TimestampOutOfTolerance);
            }
        }
        let (event_id, event_id_from_signature) = match self.event_id.extract(headers, body, None) {
            Some(id) => (id, false),
            None => (signature_digest_id(&envelope.signature), true),
        };
        Ok(Verified {
            event_id,
            event_id_from_signature,
            timestamp: envelope.timestamp,
        })
    }
}

/// Everything the signed content is made of, for one request.
struct Content<'r> {
    scheme: &'r Scheme,
    headers: &'r HeaderMap,
    line: Option<(&'r Method, &'r Uri)>,
    body: &'r [u8],
    timestamp: &'r str,
    id: &'r str,
    public_url: Option<&'r str>,
}

impl Content<'_> {
    /// Feeds the signed content, part by part, to `out`.
    fn feed(&self, out: &mut dyn FnMut(&[u8])) -> Result<(), Rejection> {
        for part in self.scheme.signed_payload.parts() {
            match part {
                PayloadPart::Literal(text) => out(text.as_bytes()),
                PayloadPart::Body => out(self.body),
                PayloadPart::Timestamp => out(self.timestamp.as_bytes()),
                PayloadPart::Id => out(self.id.as_bytes()),
                PayloadPart::Method => {
                    let (method, _) = self.line.ok_or(Rejection::InvalidSignature)?;
                    out(method.as_str().as_bytes());
                }
                PayloadPart::Path => {
                    let (_, uri) = self.line.ok_or(Rejection::InvalidSignature)?;
                    out(path_and_query(uri).as_bytes());
                }
                PayloadPart::Url => {
                    let (_, uri) = self.line.ok_or(Rejection::InvalidSignature)?;
                    match (self.public_url, uri.scheme_str(), uri.authority()) {
                        (Some(base), _, _) => out(base.as_bytes()),
                        (None, Some(scheme), Some(authority)) => {
                            out(scheme.as_bytes());
                            out(b"://");
                            out(authority.as_str().as_bytes());
                        }
                        (None, _, _) => {
                            let host = self
                                .headers
                                .get(http::header::HOST)
                                .and_then(|h| h.to_str().ok())
                                .ok_or(Rejection::InvalidSignature)?;
                            out(b"https://");
                            out(host.trim().as_bytes());
                        }
                    }
                    out(path_and_query(uri).as_bytes());
                }
                PayloadPart::Header(name) => {
                    let value = self
                        .headers
                        .get(name)
                        .ok_or_else(|| Rejection::MissingSignature(name.clone()))?;
                    out(value.as_bytes());
                }
                PayloadPart::Json(pointer) => {
                    let value = pointer.read(self.body).ok_or(Rejection::InvalidSignature)?;
                    out(value.as_bytes());
                }
                // `{sns}` belongs to `aws-sns`, verified before any content is fed.
                PayloadPart::AwsSns => return Err(Rejection::InvalidSignature),
                PayloadPart::Form => {
                    let mut pairs = form_pairs(self.body).ok_or(Rejection::InvalidSignature)?;
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
}

pub(crate) fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// The decoded `name=value` pairs of an `application/x-www-form-urlencoded` body.
pub(crate) fn form_pairs(body: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    fn decode(text: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            match text[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = text.get(i + 1..i + 3)?;
                    let hex = std::str::from_utf8(hex).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        Some(out)
    }
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let eq = pair.iter().position(|b| *b == b'=');
            let (name, value) = match eq {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

struct ParsedHeader<'h> {
    signatures: Signatures,
    timestamp: Option<&'h str>,
}

/// The longest signature or token kept: longer ones never match.
const MAX_SIGNATURE: usize = 128;

/// The decoded signatures of one request, on the stack: at most [`MAX_CANDIDATES`] of at most
/// [`MAX_SIGNATURE`] bytes, so parsing a header allocates nothing.
struct Signatures {
    decoded: [[u8; MAX_SIGNATURE]; MAX_CANDIDATES],
    lens: [usize; MAX_CANDIDATES],
    count: usize,
    /// The length every signature must have, when the algorithm fixes it.
    len: Option<usize>,
}

impl Signatures {
    fn new(len: Option<usize>) -> Self {
        Signatures {
            decoded: [[0; MAX_SIGNATURE]; MAX_CANDIDATES],
            lens: [0; MAX_CANDIDATES],
            count: 0,
            len,
        }
    }

    /// Decodes `text`; one of the wrong length or encoding is dropped (it could never match).
    fn push(&mut self, encoding: Encoding, text: &str) {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        if self.count == MAX_CANDIDATES {
            return;
        }
        let slot = &mut self.decoded[self.count];
        let mut buf = [0u8; MAX_SIGNATURE + 3];
        let decoded = match encoding {
            Encoding::Hex => {
                let n = text.len() / 2;
                (text.len() % 2 == 0 && n <= MAX_SIGNATURE)
                    .then(|| hex::decode_to_slice(text, &mut slot[..n]).ok().map(|()| n))
                    .flatten()
            }
            Encoding::Base64 | Encoding::Base64Url => {
                let (padded, unpadded) = if encoding == Encoding::Base64 {
                    (STANDARD, STANDARD_NO_PAD)
                } else {
                    (URL_SAFE, URL_SAFE_NO_PAD)
                };
                match padded
                    .decode_slice(text, &mut buf)
                    .or_else(|_| unpadded.decode_slice(text, &mut buf))
                {
                    Ok(n) if n <= MAX_SIGNATURE => {
                        slot[..n].copy_from_slice(&buf[..n]);
                        Some(n)
                    }
                    _ => None,
                }
            }
            Encoding::Text => (text.len() <= MAX_SIGNATURE).then(|| {
                slot[..text.len()].copy_from_slice(text.as_bytes());
                text.len()
            }),
        };
        if let Some(n) = decoded.filter(|n| self.len.is_none_or(|len| len == *n) && *n > 0) {
            self.lens[self.count] = n;
            self.count += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.decoded[..self.count]
            .iter()
            .zip(&self.lens)
            .map(|(sig, len)| &sig[..*len])
    }
}

/// The trimmed value of the first of `names` present: absent is `missing_signature` (naming the
/// preferred header), unreadable is `invalid_signature`.
fn first_value<'h>(headers: &'h HeaderMap, names: &'h HeaderNames) -> Result<&'h str, Rejection> {
    let (_, mut values) = first_present(headers, names)
        .ok_or_else(|| Rejection::MissingSignature(names.preferred().clone()))?;
    let value = values.next().ok_or(Rejection::InvalidSignature)?;
    Ok(value
        .to_str()
        .map_err(|_| Rejection::InvalidSignature)?
        .trim())
}

fn first_present<'h>(
    headers: &'h HeaderMap,
    names: &'h [HeaderName],
) -> Option<(
    &'h HeaderName,
    http::header::ValueIter<'h, http::HeaderValue>,
)> {
    names
        .iter()
        .find(|name| headers.contains_key(*name))
        .map(|name| (name, headers.get_all(name).iter()))
}

fn parse_signature_header<'h>(
    scheme: &Scheme,
    values: impl Iterator<Item = &'h http::HeaderValue>,
    parsed: &mut ParsedHeader<'h>,
) -> Result<(), Rejection> {
    let mut seen = 0usize;
    let mut candidate = |text: &str, parsed: &mut ParsedHeader<'h>| {
        seen += 1;
        if seen > MAX_CANDIDATES {
            return Err(Rejection::InvalidSignature);
        }
        parsed.signatures.push(scheme.encoding, text);
        Ok(())
    };
    for value in values {
        let value = value.to_str().map_err(|_| Rejection::InvalidSignature)?;
        match &scheme.format {
            SignatureFormat::Plain { prefix } => {
                let value = value.trim();
                match prefix {
                    Some(prefix) => {
                        if let Some(sig) = value.strip_prefix(prefix.as_str()) {
                            candidate(sig.trim_start(), parsed)?;
                        }
                    }
                    None => candidate(value, parsed)?,
                }
            }
            SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
                separators,
            } => {
                for pair in value.split(|c| separators.contains(c)) {
                    let Some((key, val)) = pair.trim().split_once('=') else {
                        continue;
                    };
                    let (key, val) = (key.trim(), val.trim());
                    if key == timestamp_key {
                        // Two different timestamps in one header: which one was signed is unclear.
                        if parsed.timestamp.is_some_and(|t| t != val) {
                            return Err(Rejection::InvalidSignature);
                        }
                        parsed.timestamp = Some(val);
                    } else if key == signature_key {
                        candidate(val, parsed)?;
                    }
                }
            }
            SignatureFormat::VersionedList { version } => {
                for entry in value.split_ascii_whitespace() {
                    if let Some((v, sig)) = entry.split_once(',') {
                        if v == version {
                            candidate(sig, parsed)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}
