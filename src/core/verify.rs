//! The verifier: `(headers, body, now) -> Result<Verified, Rejection>`, with no I/O.

use super::event_id::{signature_digest_id, EventIdSpec};
use super::key::{KeyError, MacState, Secret};
use super::rejection::Rejection;
use super::scheme::{Encoding, HeaderNames, Scheme, SignatureFormat, TimestampSource};
use base64::Engine as _;
use http::{HeaderMap, HeaderName};
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
    keys: Vec<MacState>,
    tolerance: Option<Duration>,
    event_id: EventIdSpec,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("provider", &self.provider)
            .field("scheme", &self.scheme)
            .field("keys", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .field("event_id", &self.event_id)
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
                MacState::new(scheme.algorithm, scheme.key_encoding, &secret).map_err(|source| {
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
        })
    }

    /// The provider preset the scheme comes from, when built from one.
    pub fn provider(&self) -> Option<super::Provider> {
        self.provider
    }

    pub(crate) fn with_provider(mut self, provider: super::Provider) -> Self {
        self.provider = Some(provider);
        self
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
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, Rejection> {
        let scheme = &self.scheme;
        let (header_name, values) =
            first_present(headers, &scheme.signature_headers).ok_or_else(|| {
                Rejection::MissingSignature(scheme.signature_headers.preferred().clone())
            })?;
        let parsed = parse_signature_header(scheme, values)?;
        if parsed.signatures.is_empty() {
            tracing::debug!(header = %header_name, "no decodable signature in the header");
            return Err(Rejection::InvalidSignature);
        }

        let timestamp_text = match &scheme.timestamp {
            TimestampSource::None => None,
            TimestampSource::SignatureHeader => {
                Some(parsed.timestamp.ok_or(Rejection::InvalidSignature)?)
            }
            TimestampSource::Header(names) => Some(first_value(headers, names)?),
        };
        let timestamp = match timestamp_text {
            Some(text) => Some(parse_unix_seconds(text).ok_or(Rejection::InvalidSignature)?),
            None => None,
        };
        let signed_id = match (&scheme.id_headers, scheme.signed_payload.uses_id()) {
            (Some(names), true) => Some(first_value(headers, names)?),
            // A validated scheme that signs `{id}` has id headers: this arm is never taken.
            (None, true) => return Err(Rejection::InvalidSignature),
            (_, false) => None,
        };

        let matched = self
            .keys
            .iter()
            .find_map(|key| {
                let expected = key.clone().sign_payload(
                    &scheme.signed_payload,
                    body,
                    timestamp_text.unwrap_or_default(),
                    signed_id.unwrap_or_default(),
                );
                parsed
                    .signatures
                    .iter()
                    .find(|candidate| bool::from(candidate.ct_eq(expected.as_bytes())))
            })
            .ok_or(Rejection::InvalidSignature)?;

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

struct ParsedHeader<'h> {
    signatures: Signatures,
    timestamp: Option<&'h str>,
}

/// The decoded signatures of one request, on the stack: at most [`MAX_CANDIDATES`] of at most
/// 64 bytes (SHA-512), so parsing a header allocates nothing.
struct Signatures {
    decoded: [[u8; 64]; MAX_CANDIDATES],
    count: usize,
    len: usize,
}

impl Signatures {
    fn new(len: usize) -> Self {
        Signatures {
            decoded: [[0; 64]; MAX_CANDIDATES],
            count: 0,
            len,
        }
    }

    /// Decodes `text`; one of the wrong length or encoding is dropped (it could never match).
    fn push(&mut self, encoding: Encoding, text: &str) {
        let slot = &mut self.decoded[self.count];
        let ok = match encoding {
            Encoding::Hex => hex::decode_to_slice(text, &mut slot[..self.len]).is_ok(),
            Encoding::Base64 => {
                use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
                let mut buf = [0u8; 64];
                let decoded = STANDARD
                    .decode_slice(text, &mut buf)
                    .or_else(|_| STANDARD_NO_PAD.decode_slice(text, &mut buf));
                match decoded {
                    Ok(n) if n == self.len => {
                        slot[..n].copy_from_slice(&buf[..n]);
                        true
                    }
                    _ => false,
                }
            }
        };
        if ok {
            self.count += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.decoded[..self.count]
            .iter()
            .map(|sig| &sig[..self.len])
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
) -> Result<ParsedHeader<'h>, Rejection> {
    let mut parsed = ParsedHeader {
        signatures: Signatures::new(scheme.algorithm.output_len()),
        timestamp: None,
    };
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
                            candidate(sig, &mut parsed)?;
                        }
                    }
                    None => candidate(value, &mut parsed)?,
                }
            }
            SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
            } => {
                for pair in value.split(',') {
                    let Some((key, val)) = pair.trim().split_once('=') else {
                        continue;
                    };
                    if key == timestamp_key {
                        // Two different timestamps in one header: which one was signed is unclear.
                        if parsed.timestamp.is_some_and(|t| t != val) {
                            return Err(Rejection::InvalidSignature);
                        }
                        parsed.timestamp = Some(val);
                    } else if key == signature_key {
                        candidate(val, &mut parsed)?;
                    }
                }
            }
            SignatureFormat::VersionedList { version } => {
                for entry in value.split_ascii_whitespace() {
                    if let Some((v, sig)) = entry.split_once(',') {
                        if v == version {
                            candidate(sig, &mut parsed)?;
                        }
                    }
                }
            }
        }
    }
    Ok(parsed)
}

fn parse_unix_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}
