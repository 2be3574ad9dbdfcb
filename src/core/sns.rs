//! `aws-sns`: Amazon SNS HTTP(S) deliveries, a JSON message signed with RSA over SNS's canonical
//! string of some of its fields.
//!
//! hookgate never fetches on the request path, so the signing certificate SNS names in
//! `SigningCertURL` is given as the route's secret (several: rotation). The URL is still
//! checked, as AWS asks (https, an `sns.<region>.amazonaws.com` host), as defence in depth. The
//! body must be one JSON object whose signed fields are strings and appear once each, so what
//! hookgate verified is what any JSON reader of the forwarded body sees. A
//! `SubscriptionConfirmation` is verified and forwarded like any message: confirming it is an
//! outbound GET to `SubscribeURL`, left to the application.
//!
//! RSA PKCS#1 v1.5 verification is ring's; the certificate is read with `x509-cert`.

use super::key::{key_bytes, KeyError};
use super::rejection::Rejection;
use super::scheme::{Scheme, TimestampSource};
use super::verify::Envelope;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::signature::{
    UnparsedPublicKey, VerificationAlgorithm, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_2048_8192_SHA256,
};
use x509_cert::der::{Decode, Reader};

/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The RSA public key of one configured signing certificate.
#[derive(Clone)]
pub(crate) struct SigningKey {
    /// PKCS#1 `RSAPublicKey` DER, as ring takes it.
    public_key: Vec<u8>,
}

impl SigningKey {
    /// The certificate as `SigningCertURL` serves it (PEM), or its DER in base64.
    pub(crate) fn new(raw: &[u8]) -> Result<Self, KeyError> {
        let der = key_bytes(raw).ok_or(KeyError::Certificate("not PEM or base64"))?;
        let certificate = x509_cert::Certificate::from_der(&der)
            .map_err(|_| KeyError::Certificate("not one X.509 certificate"))?;
        let spki = &certificate.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(KeyError::Certificate("its key is not RSA"));
        }
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Certificate("its key is not RSA"))?
            .to_vec();
        // ring verifies 2048 to 8192-bit keys only: say so at load, not on every request.
        let bits = modulus_bits(&public_key).ok_or(KeyError::Certificate("its key is not RSA"))?;
        if !(2048..=8192).contains(&bits) {
            return Err(KeyError::Certificate(
                "its RSA key is not 2048 to 8192 bits",
            ));
        }
        Ok(SigningKey { public_key })
    }
}

/// The size of the modulus of a PKCS#1 `RSAPublicKey`.
fn modulus_bits(der: &[u8]) -> Option<usize> {
    use x509_cert::der::asn1::UintRef;
    let mut reader = x509_cert::der::SliceReader::new(der).ok()?;
    let modulus = reader
        .sequence(|r| {
            let n = UintRef::decode(r)?;
            UintRef::decode(r)?;
            Ok(n.as_bytes().to_vec())
        })
        .ok()?;
    reader.finish(()).ok()?;
    let first = *modulus.first()?;
    Some(modulus.len() * 8 - first.leading_zeros() as usize)
}

/// A field that may be absent: unlike `Option`, a JSON `null` is kept (and refused), never
/// read as "absent".
#[derive(Default)]
enum Field {
    #[default]
    Absent,
    Present(serde_json::Value),
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(Field::Present)
    }
}

impl Field {
    /// `Ok(None)` when absent, the text when a string, `Err` otherwise.
    fn text(&self) -> Result<Option<&str>, Rejection> {
        match self {
            Field::Absent => Ok(None),
            Field::Present(serde_json::Value::String(text)) => Ok(Some(text)),
            Field::Present(_) => Err(Rejection::InvalidSignature),
        }
    }
}

/// The members of an SNS message that are signed or steer the check. A member given twice is
/// a JSON error (serde refuses duplicate fields), so no reader can see another value.
#[derive(serde::Deserialize)]
struct Message {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "Timestamp")]
    timestamp: String,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject", default)]
    subject: Field,
    #[serde(rename = "SubscribeURL", default)]
    subscribe_url: Field,
    #[serde(rename = "Token", default)]
    token: Field,
    #[serde(rename = "SignatureVersion")]
    signature_version: String,
    #[serde(rename = "Signature")]
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
}

impl Message {
    /// SNS's string to sign: `Key\nValue\n` for each signed field of the type, in SNS's order.
    fn canonical(&self) -> Result<Vec<u8>, Rejection> {
        let mut out = Vec::with_capacity(self.message.len() + 512);
        let mut put = |key: &str, value: &str| {
            for part in [key, "\n", value, "\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        };
        put("Message", &self.message);
        put("MessageId", &self.message_id);
        match self.kind.as_str() {
            "Notification" => {
                if let Some(subject) = self.subject.text()? {
                    put("Subject", subject);
                }
                put("Timestamp", &self.timestamp);
                put("TopicArn", &self.topic_arn);
            }
            "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
                fn required(field: &Field) -> Result<&str, Rejection> {
                    field.text()?.ok_or(Rejection::InvalidSignature)
                }
                put("SubscribeURL", required(&self.subscribe_url)?);
                put("Timestamp", &self.timestamp);
                put("Token", required(&self.token)?);
                put("TopicArn", &self.topic_arn);
            }
            _ => return Err(Rejection::InvalidSignature),
        }
        put("Type", &self.kind);
        Ok(out)
    }
}

/// Whether `url` is where SNS serves signing certificates: `https://sns.<region>.amazonaws.com`
/// (`.com.cn` in China), no user, no port, a `.pem` path (the checks of the npm
/// `sns-validator`).
fn is_sns_certificate_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let (host, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if !path.starts_with('/') || !path.ends_with(".pem") {
        return false;
    }
    let Some(region) = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
    }) else {
        return false;
    };
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Verifies an SNS message body against the configured certificates' keys.
pub(crate) fn verify<'k>(
    scheme: &Scheme,
    keys: impl Iterator<Item = &'k SigningKey>,
    body: &[u8],
) -> Result<Envelope, Rejection> {
    let invalid = || Rejection::InvalidSignature;
    // UTF-8 first: serde_json skips the members it ignores without checking their bytes, and
    // a body that is not JSON to every reader must not pass as a verified message.
    let text = std::str::from_utf8(body).map_err(|_| invalid())?;
    let message: Message = serde_json::from_str(text).map_err(|_| invalid())?;
    let algorithm: &dyn VerificationAlgorithm = match message.signature_version.as_str() {
        "1" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "2" => &RSA_PKCS1_2048_8192_SHA256,
        _ => return Err(invalid()),
    };
    if !is_sns_certificate_url(&message.signing_cert_url) {
        return Err(invalid());
    }
    let signature = STANDARD
        .decode(&message.signature)
        .ok()
        .filter(|s| (256..=1024).contains(&s.len()))
        .ok_or_else(invalid)?;
    let canonical = message.canonical()?;
    let verified = keys.into_iter().any(|key| {
        UnparsedPublicKey::new(algorithm, &key.public_key)
            .verify(&canonical, &signature)
            .is_ok()
    });
    if !verified {
        return Err(invalid());
    }
    let timestamp = match &scheme.timestamp {
        TimestampSource::Json(_) => Some(
            scheme
                .timestamp_format
                .parse(&message.timestamp)
                .ok_or_else(invalid)?,
        ),
        _ => None,
    };
    Ok(Envelope {
        timestamp,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Provider;

    /// A self-signed 2048-bit RSA certificate and its key (made for these tests with Python's
    /// `cryptography`, as `tests/vectors/make/make_sns.py` does), and a second one.
    const CERT: &str = include_str!("../../tests/vectors/sns/cert.pem");
    const OTHER_CERT: &str = include_str!("../../tests/vectors/sns/other_cert.pem");
    const SIGNED: &str = include_str!("../../tests/vectors/sns/messages.json");

    fn messages() -> serde_json::Value {
        serde_json::from_str(SIGNED).unwrap()
    }

    fn scheme() -> Scheme {
        Provider::named("sns").unwrap().scheme()
    }

    fn check(cert: &str, body: &str) -> Result<Envelope, Rejection> {
        let key = SigningKey::new(cert.as_bytes()).unwrap();
        verify(&scheme(), std::iter::once(&key), body.as_bytes())
    }

    #[test]
    fn every_type_and_version_verifies() {
        for (name, body) in messages().as_object().unwrap() {
            let body = body.as_str().unwrap();
            let envelope = check(CERT, body).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(envelope.timestamp.is_some(), "{name}");
        }
    }

    #[test]
    fn another_certificate_is_refused() {
        let body = messages()["notification_v2"].as_str().unwrap().to_owned();
        assert_eq!(check(OTHER_CERT, &body), Err(Rejection::InvalidSignature));
    }

    fn edited(
        name: &str,
        edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
    ) -> String {
        let text = messages()[name].as_str().unwrap().to_owned();
        let mut message: serde_json::Value = serde_json::from_str(&text).unwrap();
        edit(message.as_object_mut().unwrap());
        message.to_string()
    }

    #[test]
    fn changed_fields_are_refused() {
        use serde_json::Value;
        let set = |key: &'static str, value: Value| {
            move |m: &mut serde_json::Map<String, Value>| {
                m.insert(key.into(), value);
            }
        };
        let s = |text: &str| Value::String(text.into());
        for (name, key, value) in [
            ("notification_v2", "Message", s("changed")),
            ("notification_v2", "MessageId", s("other")),
            ("notification_v2", "Subject", s("other")),
            ("notification_v2", "Subject", Value::Null),
            (
                "notification_v2",
                "Timestamp",
                s("2023-11-14T22:13:21.000Z"),
            ),
            (
                "notification_v2",
                "TopicArn",
                s("arn:aws:sns:us-east-1:1:other"),
            ),
            ("notification_v2", "Type", s("SubscriptionConfirmation")),
            ("notification_v2", "SignatureVersion", s("1")),
            ("notification_v2", "SignatureVersion", s("3")),
            ("notification_v1", "SignatureVersion", s("2")),
            ("subscription_v1", "Token", s("other")),
            ("subscription_v1", "SubscribeURL", s("https://example.com/")),
            ("notification_v2", "Signature", s("AAAA")),
        ] {
            let body = edited(name, set(key, value.clone()));
            assert_eq!(
                check(CERT, &body),
                Err(Rejection::InvalidSignature),
                "{name}: {key} = {value}"
            );
        }
        // Subject removed from a notification that has one.
        let body = edited("notification_v2", |m| {
            m.remove("Subject");
        });
        assert_eq!(check(CERT, &body), Err(Rejection::InvalidSignature));
        // A confirmation without its Token.
        let body = edited("subscription_v1", |m| {
            m.remove("Token");
        });
        assert_eq!(check(CERT, &body), Err(Rejection::InvalidSignature));
        // Unsigned members may change (SNS adds UnsubscribeURL, MessageAttributes…).
        let body = edited("notification_v2", set("UnsubscribeURL", s("https://x")));
        assert!(check(CERT, &body).is_ok());
    }

    #[test]
    fn signing_cert_urls_outside_sns_are_refused() {
        for url in [
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://s3.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://sns.us-east-1.amazonaws.com?x.pem",
        ] {
            assert!(!is_sns_certificate_url(url), "{url}");
            let body = edited("notification_v2", |m| {
                m.insert("SigningCertURL".into(), url.into());
            });
            assert_eq!(
                check(CERT, &body),
                Err(Rejection::InvalidSignature),
                "{url}"
            );
        }
        for url in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        ] {
            assert!(is_sns_certificate_url(url), "{url}");
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        let good = messages()["notification_v2"].as_str().unwrap().to_owned();
        // Bytes that are not UTF-8 in an unsigned member: not JSON to a strict reader.
        let mut bytes = good.clone().into_bytes();
        let at = good.find("?Action=Unsubscribe").unwrap();
        bytes[at] = 0x80;
        let key = SigningKey::new(CERT.as_bytes()).unwrap();
        assert_eq!(
            verify(&scheme(), std::iter::once(&key), &bytes),
            Err(Rejection::InvalidSignature)
        );
        // The same signed field twice: which one a reader takes is unclear.
        let twice = good.replacen("{", r#"{"Message":"other","#, 1);
        assert_eq!(check(CERT, &twice), Err(Rejection::InvalidSignature));
        for bad in [
            "",
            "[]",
            "{}",
            &good[..good.len() - 1],
            &good.replacen("\"Type\"", "\"type\"", 1),
        ] {
            assert_eq!(check(CERT, bad), Err(Rejection::InvalidSignature), "{bad}");
        }
    }

    #[test]
    fn the_sns_preset_reads_the_message_id_and_the_timestamp() {
        use crate::core::Verifier;
        use std::time::{Duration, UNIX_EPOCH};
        let verifier = Verifier::builder()
            .provider(Provider::named("sns").unwrap())
            .secret(OTHER_CERT)
            .secret(CERT) // rotation: the second certificate verifies
            .build()
            .unwrap();
        let body = messages()["notification_v2"].as_str().unwrap().to_owned();
        let headers = http::HeaderMap::new();
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        let verified = verifier
            .verify(&headers, body.as_bytes(), at(1_700_000_000))
            .unwrap();
        assert_eq!(verified.event_id, "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324");
        assert_eq!(verified.timestamp, Some(1_700_000_000));
        assert_eq!(
            verifier.verify(&headers, body.as_bytes(), at(1_700_003_601)),
            Err(Rejection::TimestampOutOfTolerance)
        );
        // A confirmation is verified like any message (and never confirmed by hookgate).
        let body = messages()["subscription_v1"].as_str().unwrap().to_owned();
        assert!(verifier
            .verify(&headers, body.as_bytes(), at(1_700_000_000))
            .is_ok());
    }

    #[test]
    fn certificates_are_checked_at_load() {
        assert!(SigningKey::new(CERT.as_bytes()).is_ok());
        for bad in [
            "not a certificate",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            // A P-256 public key is not a certificate.
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn62Erq4Iu+9/AQAU2CzvagneKwz4cbXODE8dE6WaWTQHy0V2nxBw4sJHD+Wxv+YxM8CwzcZOpL83kajsKgf9Tw==",
        ] {
            assert!(
                matches!(SigningKey::new(bad.as_bytes()), Err(KeyError::Certificate(_))),
                "{bad}"
            );
        }
    }
}
