//! Producing signatures exactly as a provider would: for `hookgate sign` / `send` and tests.
//!
//! Two levels:
//! - [`sign`] interprets a [`Scheme`]: the signature header, the signed timestamp's header and
//!   the header of the signed `{id}`, whatever the scheme signs;
//! - [`Provider::sign_request`] is the whole request a preset's sender makes: `sign` plus the
//!   header its default event id is read from (`X-GitHub-Delivery`, `X-Shopify-Webhook-Id`).

use super::key::{KeyError, MacState, Secret};
use super::presets::Provider;
use super::scheme::{
    Algorithm, Encoding, Scheme, SignatureFormat, SignatureLocation, TimestampSource,
};
use super::EventIdSource;
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
    /// The message id: signed by schemes that sign `{id}`, and sent in the event id header of
    /// presets that read one (see [`Provider::sign_request`]).
    pub id: &'a str,
}

/// Why a request could not be signed.
///
/// ```
/// use hookgate::core::{sign, Provider, SignError, SignInput};
/// let input = SignInput { timestamp: 1, id: "line\nbreak" };
/// let error = sign(&Provider::Svix.scheme(), &"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), b"{}", &input).unwrap_err();
/// assert!(matches!(error, SignError::HeaderValue { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The secret cannot become a key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The scheme is not one hookgate can sign (public keys, signatures in the body, signed
    /// URLs or form parameters): see [`Scheme::can_sign`].
    #[error("hookgate cannot sign this scheme's requests (public-key, body-field or URL-signed schemes)")]
    Unsupported,
    /// A header would carry text HTTP does not allow (an id or a prefix with a control
    /// character, say).
    #[error("the {header} header cannot carry that text: no control characters")]
    HeaderValue {
        /// The header that could not be written.
        header: HeaderName,
    },
}

/// Computes the headers a sender using `scheme` would send with `body`: the signature, then
/// the signed timestamp's header and the signed id's header when the scheme signs them (each
/// under the scheme's preferred name).
///
/// For a preset, [`Provider::sign_request`] also adds the header the preset's event id is read
/// from.
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
    if !scheme.can_sign() {
        return Err(SignError::Unsupported);
    }
    let SignatureLocation::Headers(signature_headers) = &scheme.signature else {
        return Err(SignError::Unsupported);
    };
    let timestamp = input.timestamp.to_string();
    let bytes = match scheme.algorithm {
        Algorithm::Token => {
            if secret.expose().is_empty() {
                return Err(SignError::Key(KeyError::Empty));
            }
            secret.expose().to_vec()
        }
        _ => {
            let mac = MacState::new(scheme.algorithm, scheme.key_encoding, secret)?;
            mac.sign_payload(&scheme.signed_payload, body, &timestamp, input.id)
                .as_bytes()
                .to_vec()
        }
    };
    let encoded = match scheme.encoding {
        Encoding::Hex => hex::encode(&bytes),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&bytes),
        Encoding::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes),
        Encoding::Text => String::from_utf8(bytes).map_err(|_| SignError::HeaderValue {
            header: signature_headers.preferred().clone(),
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
    push(&mut headers, signature_headers.preferred(), &value)?;
    if let TimestampSource::Header(names) = &scheme.timestamp {
        push(&mut headers, names.preferred(), &timestamp)?;
    }
    if let (Some(names), true) = (&scheme.id_headers, scheme.signed_payload.uses_id()) {
        push(&mut headers, names.preferred(), input.id)?;
    }
    Ok(headers)
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

impl Provider {
    /// Every header this provider sends with `body`: [`sign`] over the preset's scheme, plus,
    /// when `input.id` is not empty, the header the preset's default event id is read from
    /// (GitHub's `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`). Standard Webhooks and
    /// Svix sign their id, so `sign` already sends it (`webhook-id`, `svix-id`).
    ///
    /// This is the one way tests, benchmarks and `hookgate sign` / `send` sign "as the
    /// provider".
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
        if !input.id.is_empty() {
            for source in self.default_event_id().sources() {
                if let EventIdSource::Header(name) = source {
                    if !headers.iter().any(|(n, _)| n == name) {
                        push(&mut headers, name, input.id)?;
                    }
                }
            }
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
