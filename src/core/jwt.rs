//! `jwt-es256`: a webhook signed as a JWT (JWS compact form, ES256), the body bound by a claim
//! holding its SHA-256 (Plaid's `Plaid-Verification`).
//!
//! The curve arithmetic is `p256`'s (already hookgate's ECDSA P-256 verifier); this module
//! only splits the compact form, decodes base64url and JSON, and applies the rules that JWT
//! libraries leave to options: the algorithm is pinned to ES256 from the scheme, never taken
//! from the token (no `none`, no HS256 with a public key as the HMAC key), a `crit` header is
//! refused, the key is chosen by `kid`, and every doubt is a rejection.

use super::key::{p256_key, KeyError};
use super::rejection::Rejection;
use super::scheme::{Scheme, TimestampSource};
use super::verify::Envelope;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A token longer than this is not a webhook signature (Plaid's are about 400 bytes).
const MAX_TOKEN: usize = 8 * 1024;

/// One configured `jwt-es256` key: a P-256 public key and, from a JWK, its key id.
#[derive(Clone)]
pub(crate) struct JwtKey {
    kid: Option<String>,
    key: VerifyingKey,
}

/// The members of a JWK that decide whether it can verify ES256 (others are ignored).
#[derive(serde::Deserialize)]
struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    /// A private key: refused, a route's secrets hold only what verifies.
    d: Option<serde::de::IgnoredAny>,
    /// Plaid: set once the key is retired; Plaid's own sample code refuses such keys.
    expired_at: Option<serde_json::Value>,
}

impl JwtKey {
    /// A JWK (JSON text, as `/webhook_verification_key/get` returns it, or the `key` member's
    /// value), or a P-256 public key in any form `ecdsa-p256` takes (no `kid`: tried for every
    /// token).
    pub(crate) fn new(raw: &[u8]) -> Result<Self, KeyError> {
        let text = std::str::from_utf8(raw).map_err(|_| KeyError::PublicKey("ES256"))?;
        if !text.trim_start().starts_with('{') {
            return p256_key(raw).map(|key| JwtKey { kid: None, key });
        }
        let jwk: Jwk =
            serde_json::from_str(text).map_err(|_| KeyError::Jwk("not a JSON object of a JWK"))?;
        if jwk.d.is_some() {
            return Err(KeyError::Jwk(
                "it holds a private key (`d`); give the public JWK",
            ));
        }
        if jwk.kty.as_deref() != Some("EC") || jwk.crv.as_deref() != Some("P-256") {
            return Err(KeyError::Jwk("kty must be \"EC\" and crv \"P-256\""));
        }
        if jwk.alg.as_deref().is_some_and(|alg| alg != "ES256") {
            return Err(KeyError::Jwk("alg must be \"ES256\""));
        }
        if jwk.usage.as_deref().is_some_and(|usage| usage != "sig") {
            return Err(KeyError::Jwk("use must be \"sig\""));
        }
        if jwk.expired_at.as_ref().is_some_and(|v| !v.is_null()) {
            return Err(KeyError::Jwk(
                "expired_at is set: the sender no longer signs with this key",
            ));
        }
        let coordinate = |c: Option<&String>| -> Result<[u8; 32], KeyError> {
            URL_SAFE_NO_PAD
                .decode(c.ok_or(KeyError::Jwk("x and y are required"))?)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(KeyError::Jwk("x and y must be 32 bytes of base64url"))
        };
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&coordinate(jwk.x.as_ref())?);
        point[33..].copy_from_slice(&coordinate(jwk.y.as_ref())?);
        let key = VerifyingKey::from_sec1_bytes(&point)
            .map_err(|_| KeyError::Jwk("x, y is not a point of P-256"))?;
        if jwk.kid.as_deref() == Some("") {
            return Err(KeyError::Jwk("kid is empty"));
        }
        Ok(JwtKey { kid: jwk.kid, key })
    }
}

/// The protected header members hookgate reads; `alg` twice is a JSON error, so a token
/// cannot show one algorithm to hookgate and another to a later reader.
#[derive(serde::Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
}

/// Verifies `token` (the header's value) against `keys`, and the body against its digest
/// claim; the timestamp claim is returned for the tolerance check, `exp` / `nbf` are applied
/// here when present.
pub(crate) fn verify<'k>(
    scheme: &Scheme,
    keys: impl Iterator<Item = &'k JwtKey>,
    token: &str,
    body: &[u8],
    now: i64,
) -> Result<Envelope, Rejection> {
    let invalid = || Rejection::InvalidSignature;
    if token.len() > MAX_TOKEN {
        return Err(invalid());
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let header: JoseHeader = decode_json(header_b64).ok_or_else(invalid)?;
    if header.alg != "ES256" || header.crit.is_some() {
        return Err(invalid());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .filter(|bytes| bytes.len() == 64)
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(invalid)?;
    // Both (r, s) and (r, n - s) verify; the low-s form alone names the delivery, so a
    // replay with the other form cannot pass as a new event.
    let signature = signature.normalize_s().unwrap_or(signature);

    let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    let verified = keys
        .filter(|key| match (&header.kid, &key.kid) {
            (Some(wanted), Some(kid)) => wanted == kid,
            _ => true,
        })
        .any(|key| key.key.verify(signing_input, &signature).is_ok());
    if !verified {
        return Err(invalid());
    }

    let claims: serde_json::Map<String, serde_json::Value> =
        decode_json(payload_b64).ok_or_else(invalid)?;
    let claim = scheme.body_digest_claim.as_deref().ok_or_else(invalid)?;
    let claimed = claims
        .get(claim)
        .and_then(|v| v.as_str())
        .filter(|hex| hex.len() == 64)
        .and_then(|text| hex::decode(text).ok())
        .ok_or_else(invalid)?;
    let digest = Sha256::digest(body);
    if !bool::from(claimed.ct_eq(digest.as_slice())) {
        return Err(invalid());
    }

    let numeric_date = |name: &str| -> Result<Option<i64>, Rejection> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => numeric(value).map(Some).ok_or_else(invalid),
        }
    };
    if numeric_date("exp")?.is_some_and(|exp| now >= exp)
        || numeric_date("nbf")?.is_some_and(|nbf| now < nbf)
    {
        return Err(Rejection::TimestampOutOfTolerance);
    }
    let timestamp = match &scheme.timestamp {
        // A scheme that checks an issue time needs a token that has one.
        TimestampSource::Claim(name) => Some(numeric_date(name)?.ok_or_else(invalid)?),
        _ => None,
    };
    Ok(Envelope {
        timestamp,
        signature: signature.to_bytes().to_vec(),
    })
}

/// A NumericDate: seconds since the epoch, an integer or a finite number (truncated).
fn numeric(value: &serde_json::Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && f.abs() < 1e15)
            .map(|f| f as i64)
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scheme::Algorithm;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::SigningKey;

    const BODY: &[u8] = br#"{"webhook_type":"ITEM","webhook_code":"ERROR"}"#;
    const NOW: i64 = 1_700_000_000;

    fn plaid() -> Scheme {
        Scheme::builder("Plaid-Verification")
            .algorithm(Algorithm::JwtEs256)
            .body_digest_claim("request_body_sha256")
            .timestamp_claim("iat")
            .build()
            .unwrap()
    }

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn jwk(key: &SigningKey, kid: &str) -> String {
        let point = key.verifying_key().to_encoded_point(false);
        format!(
            r#"{{"alg":"ES256","crv":"P-256","kid":"{kid}","kty":"EC","use":"sig","x":"{}","y":"{}","created_at":1,"expired_at":null}}"#,
            URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        )
    }

    fn token(key: &SigningKey, header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    fn claims(iat: i64, body: &[u8]) -> String {
        format!(
            r#"{{"iat":{iat},"request_body_sha256":"{}"}}"#,
            hex::encode(Sha256::digest(body))
        )
    }

    const HEADER: &str = r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#;

    fn check(keys: &[JwtKey], token: &str, body: &[u8]) -> Result<Envelope, Rejection> {
        verify(&plaid(), keys.iter(), token, body, NOW)
    }

    fn keys(jwks: &[String]) -> Vec<JwtKey> {
        jwks.iter()
            .map(|j| JwtKey::new(j.as_bytes()).unwrap())
            .collect()
    }

    #[test]
    fn a_plaid_token_verifies_and_yields_its_iat() {
        let key = signing_key(7);
        let t = token(&key, HEADER, &claims(NOW - 10, BODY));
        let envelope = check(&keys(&[jwk(&key, "k1")]), &t, BODY).unwrap();
        assert_eq!(envelope.timestamp, Some(NOW - 10));
        // Rotation: the matching kid among several keys.
        let other = signing_key(8);
        let both = keys(&[jwk(&other, "k0"), jwk(&key, "k1")]);
        assert!(check(&both, &t, BODY).is_ok());
        // A bare public key (no kid) is tried for any token.
        let pem = {
            use p256::pkcs8::EncodePublicKey;
            key.verifying_key()
                .to_public_key_pem(Default::default())
                .unwrap()
        };
        assert!(check(&[JwtKey::new(pem.as_bytes()).unwrap()], &t, BODY).is_ok());
    }

    #[test]
    fn only_es256_is_accepted() {
        let key = signing_key(7);
        let k = keys(&[jwk(&key, "k1")]);
        for header in [
            r#"{"alg":"none","kid":"k1"}"#,
            r#"{"alg":"HS256","kid":"k1"}"#,
            r#"{"alg":"ES384","kid":"k1"}"#,
            r#"{"alg":"es256","kid":"k1"}"#,
            r#"{"kid":"k1"}"#,
            r#"{"alg":"HS256","alg":"ES256","kid":"k1"}"#,
            r#"{"alg":"ES256","kid":"k1","crit":["b64"]}"#,
        ] {
            let t = token(&key, header, &claims(NOW, BODY));
            assert_eq!(
                check(&k, &t, BODY),
                Err(Rejection::InvalidSignature),
                "{header}"
            );
        }
        // `alg: none` with an empty signature, the classic.
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims(NOW, BODY))
        );
        assert_eq!(check(&k, &unsigned, BODY), Err(Rejection::InvalidSignature));
        // HS256 keyed with the public JWK text: the HMAC confusion attack.
        use hmac::{Hmac, KeyInit, Mac};
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims(NOW, BODY))
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(jwk(&key, "k1").as_bytes()).unwrap();
        mac.update(input.as_bytes());
        let forged = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(check(&k, &forged, BODY), Err(Rejection::InvalidSignature));
    }

    #[test]
    fn the_kid_picks_the_key() {
        let key = signing_key(7);
        let t = token(&key, HEADER, &claims(NOW, BODY));
        // The right key under another kid is not used for this token.
        assert_eq!(
            check(&keys(&[jwk(&key, "k2")]), &t, BODY),
            Err(Rejection::InvalidSignature)
        );
        // The right kid on another key fails on the signature.
        assert_eq!(
            check(&keys(&[jwk(&signing_key(9), "k1")]), &t, BODY),
            Err(Rejection::InvalidSignature)
        );
    }

    #[test]
    fn the_body_digest_is_checked() {
        let key = signing_key(7);
        let k = keys(&[jwk(&key, "k1")]);
        let t = token(&key, HEADER, &claims(NOW, BODY));
        assert_eq!(
            check(&k, &t, b"{}"),
            Err(Rejection::InvalidSignature),
            "another body"
        );
        for bad in [
            r#"{"iat":1700000000}"#.to_owned(),
            r#"{"iat":1700000000,"request_body_sha256":"abc"}"#.to_owned(),
            format!(
                r#"{{"iat":1700000000,"request_body_sha256":{:?}}}"#,
                [0u8; 32]
            ),
        ] {
            let t = token(&key, HEADER, &bad);
            assert_eq!(
                check(&k, &t, BODY),
                Err(Rejection::InvalidSignature),
                "{bad}"
            );
        }
        // Upper-case hex is the same digest.
        let upper = format!(
            r#"{{"iat":{NOW},"request_body_sha256":"{}"}}"#,
            hex::encode_upper(Sha256::digest(BODY))
        );
        assert!(check(&k, &token(&key, HEADER, &upper), BODY).is_ok());
    }

    #[test]
    fn times_are_claims() {
        let key = signing_key(7);
        let k = keys(&[jwk(&key, "k1")]);
        // No iat: the scheme checks one, so the token is refused.
        let t = token(
            &key,
            HEADER,
            &claims(NOW, BODY).replace("\"iat\":", "\"iss\":"),
        );
        assert_eq!(check(&k, &t, BODY), Err(Rejection::InvalidSignature));
        let t = token(
            &key,
            HEADER,
            &claims(NOW, BODY).replace(&NOW.to_string(), "\"1700000000\""),
        );
        assert_eq!(check(&k, &t, BODY), Err(Rejection::InvalidSignature));
        // An expired token, or one not valid yet.
        let with = |extra: &str| {
            token(
                &key,
                HEADER,
                &claims(NOW, BODY).replacen('{', &format!("{{{extra},"), 1),
            )
        };
        assert_eq!(
            check(&k, &with(r#""exp":1699999999"#), BODY),
            Err(Rejection::TimestampOutOfTolerance)
        );
        assert_eq!(
            check(&k, &with(r#""nbf":1700000100"#), BODY),
            Err(Rejection::TimestampOutOfTolerance)
        );
        assert!(check(&k, &with(r#""exp":1700000100"#), BODY).is_ok());
        // An old iat verifies here; the verifier's tolerance refuses it (verify.rs tests).
        let old = token(&key, HEADER, &claims(NOW - 3600, BODY));
        assert_eq!(check(&k, &old, BODY).unwrap().timestamp, Some(NOW - 3600));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let key = signing_key(7);
        let k = keys(&[jwk(&key, "k1")]);
        let good = token(&key, HEADER, &claims(NOW, BODY));
        let (input, signature) = good.rsplit_once('.').unwrap();
        let high_s = {
            let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
            let (r, s) = sig.split_scalars();
            let flipped = Signature::from_scalars(r, -*s).unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(flipped.to_bytes()))
        };
        // The other form of the same signature verifies, and names the same delivery.
        assert_eq!(
            check(&k, &high_s, BODY).unwrap().signature,
            check(&k, &good, BODY).unwrap().signature
        );
        for bad in [
            String::new(),
            "a.b".into(),
            format!("{good}.x"),
            format!("{input}."),
            format!("{input}.{signature}="),
            format!("{input}.{}", &signature[1..]),
            format!("{input}={}", &good[input.len()..]),
            good.replacen('e', "E", 1),
            format!(
                "{}.{}.{signature}",
                URL_SAFE_NO_PAD.encode("[]"),
                URL_SAFE_NO_PAD.encode("{}")
            ),
            "x".repeat(MAX_TOKEN + 1),
        ] {
            assert_eq!(
                check(&k, &bad, BODY),
                Err(Rejection::InvalidSignature),
                "{bad}"
            );
        }
        // Claims that are not a JSON object, validly signed.
        let t = token(&key, HEADER, "[1]");
        assert_eq!(check(&k, &t, BODY), Err(Rejection::InvalidSignature));
    }

    #[test]
    fn the_plaid_preset_checks_the_header_and_the_age() {
        use crate::core::{Provider, Verifier};
        use std::time::{Duration, UNIX_EPOCH};
        let key = signing_key(7);
        let verifier = Verifier::builder()
            .provider(Provider::named("plaid").unwrap())
            .secret(jwk(&key, "k1"))
            .build()
            .unwrap();
        let at = |secs: i64| UNIX_EPOCH + Duration::from_secs(secs as u64);
        let t = token(&key, HEADER, &claims(NOW, BODY));
        let mut headers = http::HeaderMap::new();
        assert!(matches!(
            verifier.verify(&headers, BODY, at(NOW)),
            Err(Rejection::MissingSignature(_))
        ));
        headers.insert("plaid-verification", t.parse().unwrap());
        let verified = verifier.verify(&headers, BODY, at(NOW + 299)).unwrap();
        assert!(verified.event_id_from_signature);
        assert_eq!(verified.timestamp, Some(NOW));
        // iat older than 5 minutes (and the same far in the future).
        assert_eq!(
            verifier.verify(&headers, BODY, at(NOW + 301)),
            Err(Rejection::TimestampOutOfTolerance)
        );
        assert_eq!(
            verifier.verify(&headers, BODY, at(NOW - 301)),
            Err(Rejection::TimestampOutOfTolerance)
        );
        // Two tokens in one request: refused, whichever is valid.
        headers.append("plaid-verification", t.parse().unwrap());
        assert_eq!(
            verifier.verify(&headers, BODY, at(NOW)),
            Err(Rejection::InvalidSignature)
        );
        // A key that is not a JWK of ES256 never loads.
        let hs256 = r#"{"kty":"oct","k":"c2VjcmV0"}"#;
        assert!(Verifier::builder()
            .provider(Provider::named("plaid").unwrap())
            .secret(hs256)
            .build()
            .is_err());
    }

    #[test]
    fn jwks_that_cannot_verify_es256_are_load_errors() {
        let key = signing_key(7);
        let good = jwk(&key, "k1");
        assert!(JwtKey::new(good.as_bytes()).is_ok());
        for (from, to) in [
            (r#""kty":"EC""#, r#""kty":"RSA""#),
            (r#""crv":"P-256""#, r#""crv":"P-384""#),
            (r#""alg":"ES256""#, r#""alg":"HS256""#),
            (r#""use":"sig""#, r#""use":"enc""#),
            (r#""expired_at":null"#, r#""expired_at":1700000000"#),
            (r#""kid":"k1""#, r#""kid":"""#),
            (r#""x":""#, r#""x":"AA"#),
            (r#""kty":"EC""#, r#""kty":"EC","d":"secret""#),
        ] {
            let bad = good.replace(from, to);
            assert!(
                matches!(JwtKey::new(bad.as_bytes()), Err(KeyError::Jwk(_))),
                "{bad}"
            );
        }
        assert!(JwtKey::new(b"{not json").is_err());
        assert!(JwtKey::new(b"not a key").is_err());
    }
}
