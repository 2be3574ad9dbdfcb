//! Secrets and the HMAC key state computed from them once, at load.

use super::scheme::{Algorithm, KeyEncoding, PayloadPart, SignedPayload};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use std::fmt;

/// A webhook signing secret. Its `Debug` output never shows the value.
///
/// ```
/// use hookgate::core::Secret;
/// let secret = Secret::from("whsec_very_secret");
/// assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
/// ```
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the secret exactly as the provider's dashboard shows it.
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Secret(value.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

/// A secret that cannot become a key. The message never contains the secret.
///
/// ```
/// use hookgate::core::{KeyError, Provider, Verifier, VerifierError};
/// let p = Provider::StandardWebhooks;
/// let error = Verifier::new(p.scheme(), ["whsec_not base64!".into()], None, p.default_event_id()).unwrap_err();
/// assert_eq!(error, VerifierError::Key { index: 1, source: KeyError::NotBase64 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An empty secret would make every signature forgeable.
    #[error("the secret is empty")]
    Empty,
    /// A Standard Webhooks secret must be `whsec_` followed by base64.
    #[error("the secret is not `whsec_` followed by base64, as Standard Webhooks requires")]
    NotBase64,
}

/// The keyed HMAC state of one secret; cloned for each request instead of re-keying.
#[derive(Clone)]
pub(crate) enum MacState {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

/// The MAC of one request under one key: up to 64 bytes, on the stack.
pub(crate) struct MacOutput {
    bytes: [u8; 64],
    len: usize,
}

impl MacOutput {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl MacState {
    pub(crate) fn new(
        algorithm: Algorithm,
        encoding: KeyEncoding,
        secret: &Secret,
    ) -> Result<Self, KeyError> {
        let raw = secret.expose();
        if raw.is_empty() {
            return Err(KeyError::Empty);
        }
        let decoded;
        let key: &[u8] = match encoding {
            KeyEncoding::Raw => raw,
            KeyEncoding::StandardWebhooks => {
                let text = raw.strip_prefix(b"whsec_").unwrap_or(raw);
                decoded = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| KeyError::NotBase64)?;
                if decoded.is_empty() {
                    return Err(KeyError::Empty);
                }
                &decoded
            }
        };
        // HMAC accepts keys of any length, so new_from_slice cannot fail here.
        Ok(match algorithm {
            Algorithm::Sha1 => {
                MacState::Sha1(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
            Algorithm::Sha256 => {
                MacState::Sha256(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
            Algorithm::Sha512 => {
                MacState::Sha512(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
        })
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            MacState::Sha1(m) => m.update(data),
            MacState::Sha256(m) => m.update(data),
            MacState::Sha512(m) => m.update(data),
        }
    }

    /// The MAC of the signed content: `payload`'s parts with the body, the timestamp text and
    /// the message id filled in. The signer and the verifier both use it.
    pub(crate) fn sign_payload(
        mut self,
        payload: &SignedPayload,
        body: &[u8],
        timestamp: &str,
        id: &str,
    ) -> MacOutput {
        for part in payload.parts() {
            match part {
                PayloadPart::Literal(text) => self.update(text.as_bytes()),
                PayloadPart::Body => self.update(body),
                PayloadPart::Timestamp => self.update(timestamp.as_bytes()),
                PayloadPart::Id => self.update(id.as_bytes()),
            }
        }
        self.finalize()
    }

    pub(crate) fn finalize(self) -> MacOutput {
        let mut out = MacOutput {
            bytes: [0; 64],
            len: 0,
        };
        let mut put = |b: &[u8]| {
            out.bytes[..b.len()].copy_from_slice(b);
            out.len = b.len();
        };
        match self {
            MacState::Sha1(m) => put(&m.finalize().into_bytes()),
            MacState::Sha256(m) => put(&m.finalize().into_bytes()),
            MacState::Sha512(m) => put(&m.finalize().into_bytes()),
        }
        out
    }
}
