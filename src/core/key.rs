//! Secrets and the HMAC key state computed from them once, at load.

use super::scheme::{Algorithm, KeyEncoding};
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
    /// `key_encoding = "base64"` or `"hex"`, and the secret is not.
    #[error("the secret is not {0}, as the scheme's key_encoding requires")]
    Encoding(&'static str),
    /// An Ed25519 or ECDSA scheme's secret must be the provider's public key.
    #[error("the secret is not a {0} public key (hex, base64, base64 DER or PEM)")]
    PublicKey(&'static str),
    /// Public keys verify, they cannot sign.
    #[error("a public key cannot sign: {0} requests are signed with the private key")]
    CannotSign(&'static str),
    /// An Ed25519 or ECDSA scheme signs with a private key, and the key given is not one.
    #[error("the key is not an {algorithm} private key: give {expected}")]
    PrivateKey {
        /// `Ed25519` or `ECDSA P-256`.
        algorithm: &'static str,
        /// The encodings accepted.
        expected: &'static str,
    },
    /// A `jwt-es256` secret that is JWK text but not a usable ES256 public key (the reason
    /// says which member is wrong; it never quotes the key).
    #[error("the secret is not a usable ES256 JWK: {0}")]
    Jwk(&'static str),
    /// An `aws-sns` secret must be the signing certificate (PEM) with an RSA key of 2048 to
    /// 8192 bits.
    #[error("the secret is not an SNS signing certificate: {0}")]
    Certificate(&'static str),
}

/// The keyed HMAC state of one secret; cloned for each request instead of re-keying.
#[derive(Clone)]
pub(crate) enum MacState {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

/// What one configured secret verifies with.
#[derive(Clone)]
pub(crate) enum Key {
    Hmac(MacState),
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    Token(Vec<u8>),
    Jwt(super::jwt::JwtKey),
    SnsCertificate(super::sns::SigningKey),
}

impl Key {
    pub(crate) fn new(
        algorithm: Algorithm,
        encoding: KeyEncoding,
        secret: &Secret,
    ) -> Result<Self, KeyError> {
        let raw = secret.expose();
        if raw.is_empty() {
            return Err(KeyError::Empty);
        }
        match algorithm {
            Algorithm::Ed25519 => ed25519_key(raw).map(Key::Ed25519),
            Algorithm::EcdsaP256 => p256_key(raw).map(Key::P256),
            Algorithm::Token => Ok(Key::Token(raw.to_vec())),
            Algorithm::JwtEs256 => super::jwt::JwtKey::new(raw).map(Key::Jwt),
            Algorithm::AwsSns => super::sns::SigningKey::new(raw).map(Key::SnsCertificate),
            _ => MacState::new(algorithm, encoding, secret).map(Key::Hmac),
        }
    }
}

/// What one secret signs with (see [`sign`](crate::core::sign)): the HMAC key, the private
/// key of a public-key scheme, or the shared token.
pub(crate) enum SigningKey {
    Hmac(MacState),
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    Token(Vec<u8>),
}

impl SigningKey {
    pub(crate) fn new(
        algorithm: Algorithm,
        encoding: KeyEncoding,
        secret: &Secret,
    ) -> Result<Self, KeyError> {
        let raw = secret.expose();
        if raw.is_empty() {
            return Err(KeyError::Empty);
        }
        match algorithm {
            Algorithm::Ed25519 => ed25519_signing_key(raw).map(SigningKey::Ed25519),
            Algorithm::EcdsaP256 => p256_signing_key(raw).map(SigningKey::P256),
            Algorithm::Token => Ok(SigningKey::Token(raw.to_vec())),
            _ => MacState::new(algorithm, encoding, secret).map(SigningKey::Hmac),
        }
    }
}

const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The private key block of a PEM file that has others too (`openssl ecparam -genkey` writes
/// `EC PARAMETERS` first); any other text as it is.
fn private_block(raw: &[u8]) -> &[u8] {
    let Ok(text) = std::str::from_utf8(raw) else {
        return raw;
    };
    let Some(begin) = text
        .match_indices("-----BEGIN ")
        .map(|(i, _)| i)
        .find(|&i| {
            text[i..]
                .lines()
                .next()
                .is_some_and(|l| l.contains("PRIVATE KEY-----"))
        })
    else {
        return raw;
    };
    let end = text[begin..]
        .find("-----END ")
        .and_then(|e| text[begin + e..].find('\n').map(|n| begin + e + n))
        .unwrap_or(text.len());
    &raw[begin..end]
}

/// The bytes of a PEM block, or of a hex or base64 text (standard or URL-safe).
pub(crate) fn key_bytes(raw: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = std::str::from_utf8(raw).ok()?.trim();
    if text.starts_with("-----BEGIN") {
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        return STANDARD.decode(body).ok();
    }
    if text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(text).ok();
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

fn ed25519_key(raw: &[u8]) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
    let error = KeyError::PublicKey("Ed25519");
    // Standard Webhooks `v1a` public keys: `whpk_` + base64.
    let raw = raw.strip_prefix(b"whpk_").unwrap_or(raw);
    let bytes = key_bytes(raw).ok_or(error.clone())?;
    let key: [u8; 32] = match bytes.len() {
        32 => bytes.try_into().map_err(|_| error.clone())?,
        44 if bytes[..12] == ED25519_SPKI_PREFIX => {
            bytes[12..].try_into().map_err(|_| error.clone())?
        }
        _ => return Err(error),
    };
    ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| error)
}

/// PKCS#8 v1 (RFC 8410) wrapping of a 32-byte Ed25519 seed.
pub(crate) const ED25519_PKCS8_DER: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn ed25519_signing_key(raw: &[u8]) -> Result<ed25519_dalek::SigningKey, KeyError> {
    let error = KeyError::PrivateKey {
        algorithm: "Ed25519",
        expected: "hex or base64 of the 32-byte seed (or of seed and public key, 64 bytes), or PKCS#8 PEM or DER",
    };
    // A public key given where the private one belongs: say so, rather than "not a key".
    if raw.starts_with(b"whpk_")
        || key_bytes(raw).is_some_and(|b| b.len() == 44 && b[..12] == ED25519_SPKI_PREFIX)
    {
        return Err(KeyError::CannotSign("Ed25519"));
    }
    // Standard Webhooks `v1a` secret keys: `whsk_` + base64.
    let raw = raw.strip_prefix(b"whsk_").unwrap_or(raw);
    let bytes = key_bytes(private_block(raw)).ok_or(error.clone())?;
    let seed: [u8; 32] = match bytes.len() {
        32 => bytes[..].try_into().map_err(|_| error.clone())?,
        48 if bytes[..16] == ED25519_PKCS8_DER => {
            bytes[16..].try_into().map_err(|_| error.clone())?
        }
        64 => bytes[..32].try_into().map_err(|_| error.clone())?,
        _ => return Err(error),
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    // Seed and public key (libsodium's 64-byte secret key): the halves must belong together.
    if bytes.len() == 64 && key.verifying_key().as_bytes()[..] != bytes[32..] {
        return Err(error);
    }
    Ok(key)
}

fn p256_signing_key(raw: &[u8]) -> Result<p256::ecdsa::SigningKey, KeyError> {
    use p256::pkcs8::DecodePrivateKey;
    let error = KeyError::PrivateKey {
        algorithm: "ECDSA P-256",
        expected: "PKCS#8 or SEC1 PEM or DER, or hex of the 32-byte scalar",
    };
    let bytes = key_bytes(private_block(raw)).ok_or(error.clone())?;
    if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(&bytes) {
        return Ok(key);
    }
    if let Ok(key) = p256::SecretKey::from_sec1_der(&bytes) {
        return Ok(key.into());
    }
    if bytes.len() == 32 {
        if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    if p256_key(raw).is_ok() {
        return Err(KeyError::CannotSign("ECDSA P-256"));
    }
    Err(error)
}

pub(crate) fn p256_key(raw: &[u8]) -> Result<p256::ecdsa::VerifyingKey, KeyError> {
    use p256::pkcs8::DecodePublicKey;
    let error = KeyError::PublicKey("ECDSA P-256");
    let bytes = key_bytes(raw).ok_or(error.clone())?;
    p256::ecdsa::VerifyingKey::from_public_key_der(&bytes)
        .or_else(|_| p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes))
        .map_err(|_| error)
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
                &decoded
            }
            KeyEncoding::Base64 => {
                decoded = base64::engine::general_purpose::STANDARD
                    .decode(raw.trim_ascii())
                    .map_err(|_| KeyError::Encoding("base64"))?;
                &decoded
            }
            KeyEncoding::Hex => {
                decoded = hex::decode(raw.trim_ascii()).map_err(|_| KeyError::Encoding("hex"))?;
                &decoded
            }
        };
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        // HMAC accepts keys of any length, so new_from_slice cannot fail here.
        Ok(match algorithm {
            Algorithm::Sha1 => {
                MacState::Sha1(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
            Algorithm::Sha512 => {
                MacState::Sha512(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
            Algorithm::Sha256 => {
                MacState::Sha256(Hmac::new_from_slice(key).expect("HMAC takes any key length"))
            }
            other => return Err(KeyError::CannotSign(other.name())),
        })
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            MacState::Sha1(m) => m.update(data),
            MacState::Sha256(m) => m.update(data),
            MacState::Sha512(m) => m.update(data),
        }
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
