//! Producing signatures exactly as a provider would: for `hookgate sign` / `send` and tests.

use super::key::{KeyError, MacState, Secret};
use super::scheme::{Encoding, Scheme, SignatureFormat, TimestampSource};
use base64::Engine as _;
use http::{HeaderName, HeaderValue};

/// What to sign besides the body.
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
    /// Unix seconds, for schemes that sign a timestamp.
    pub timestamp: i64,
    /// The message id, for schemes that sign one (`{id}`).
    pub id: &'a str,
}

/// Computes the headers a provider using `scheme` would send with `body`.
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
) -> Result<Vec<(HeaderName, HeaderValue)>, KeyError> {
    let mac = MacState::new(scheme.algorithm, scheme.key_encoding, secret)?;
    let timestamp = input.timestamp.to_string();
    let out = mac.sign_payload(&scheme.signed_payload, body, &timestamp, input.id);
    let encoded = match scheme.encoding {
        Encoding::Hex => hex::encode(out.as_bytes()),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(out.as_bytes()),
    };
    let value = match &scheme.format {
        SignatureFormat::Plain { prefix } => {
            format!("{}{encoded}", prefix.as_deref().unwrap_or(""))
        }
        SignatureFormat::KeyValue {
            timestamp_key,
            signature_key,
        } => format!("{timestamp_key}={timestamp},{signature_key}={encoded}"),
        SignatureFormat::VersionedList { version } => format!("{version},{encoded}"),
    };
    let header = |text: &str| {
        HeaderValue::try_from(text).expect("signatures, timestamps and ids are visible ASCII")
    };
    let mut headers = vec![(scheme.signature_headers[0].clone(), header(&value))];
    if let TimestampSource::Header(names) = &scheme.timestamp {
        headers.push((names[0].clone(), header(&timestamp)));
    }
    if scheme.signed_payload.uses_id() {
        headers.push((scheme.id_headers[0].clone(), header(input.id)));
    }
    Ok(headers)
}
