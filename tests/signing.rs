//! Every preset hookgate can sign, signed as its provider would and verified by the same
//! preset: `Provider::sign_message`, then `Verifier::verify_request` with the same secret or,
//! for public-key presets, the public half of a key pair made here.

use base64::Engine as _;
use hookgate::core::scheme::{Algorithm, KeyEncoding, SignatureLocation};
use hookgate::core::{Provider, RequestHead, SignError, SignInput, Verifier};
use http::{HeaderMap, HeaderValue, Method, Uri};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use std::time::{Duration, UNIX_EPOCH};

const NOW: i64 = 1_700_000_000;

/// What the sender signs with, and what the route verifies with.
struct Keys {
    sign: String,
    verify: String,
}

fn keys(p: Provider) -> Keys {
    let scheme = p.scheme();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let shared = |secret: String| Keys {
        sign: secret.clone(),
        verify: secret,
    };
    match scheme.algorithm() {
        Algorithm::Ed25519 => {
            let seed = [0x5a; 32];
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            Keys {
                sign: hex::encode(seed),
                verify: hex::encode(key.verifying_key().as_bytes()),
            }
        }
        Algorithm::EcdsaP256 => {
            let key = p256::ecdsa::SigningKey::from_slice(&[0x3c; 32]).unwrap();
            Keys {
                sign: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
                verify: key
                    .verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .unwrap(),
            }
        }
        _ => match scheme.key_encoding() {
            KeyEncoding::StandardWebhooks => shared(format!("whsec_{}", b64(b"sixteen byte key"))),
            KeyEncoding::Base64 => shared(b64(b"sixteen byte key")),
            KeyEncoding::Hex => shared(hex::encode(b"sixteen byte key")),
            _ => shared("test-secret".into()),
        },
    }
}

fn body(p: Provider) -> &'static [u8] {
    if p.content_type() == "application/x-www-form-urlencoded" {
        b"Body=Hello+world&From=%2B15550100&To=%2B15550111&id=evt_1"
    } else {
        br#"{"id":"evt_1","event_id":"evt_1","type":"test.event","data":{"n":1}}"#
    }
}

#[test]
fn every_signable_preset_verifies_what_it_signs() {
    let uri = |p: Provider| -> Uri {
        format!(
            "https://hooks.example.com/webhooks/{}?source=test",
            p.name()
        )
        .parse()
        .unwrap()
    };
    let mut signed_count = 0;
    let mut refused = Vec::new();
    for &p in Provider::all() {
        let scheme = p.scheme();
        let keys = keys(p);
        let mut sent = HeaderMap::new();
        sent.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(p.content_type()),
        );
        let (method, uri) = (Method::POST, uri(p));
        let input = SignInput {
            timestamp: NOW,
            id: "delivery-1",
        };
        let head = RequestHead::new(&method, &uri, &sent);
        let signed = match p.sign_message(&keys.sign.as_str().into(), &head, body(p), &input) {
            Ok(signed) => signed,
            Err(error) => {
                assert!(
                    matches!(error, SignError::Unsupported { .. }),
                    "{p}: only schemes that can never be signed are refused, not: {error}"
                );
                assert!(!scheme.can_sign(), "{p}");
                refused.push(format!("{p}: {error}"));
                continue;
            }
        };
        if let SignatureLocation::Headers(names) = scheme.signature_location() {
            // Multi-header schemes (Box primary/secondary, DocuSign -1..N) sign with the first.
            assert_eq!(signed.headers[0].0, names.preferred(), "{p}");
        }

        let mut received = sent.clone();
        for (name, value) in &signed.headers {
            received.append(name.clone(), value.clone());
        }
        let verifier = Verifier::builder()
            .provider(p)
            .secret(keys.verify.as_str())
            .build()
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        let now = UNIX_EPOCH + Duration::from_secs(NOW as u64);
        let verified = verifier
            .verify_request(
                &RequestHead::new(&method, &uri, &received),
                &signed.body,
                now,
            )
            .unwrap_or_else(|rejection| panic!("{p}: {rejection}"));
        if scheme.signs_timestamp() {
            assert_eq!(verified.timestamp, Some(NOW), "{p}");
        }
        if scheme.signed_payload().uses_request_head() {
            // The URL is signed: the same request to another URL is not this one.
            let elsewhere = Uri::from_static("https://attacker.example/webhooks");
            assert!(
                verifier
                    .verify_request(
                        &RequestHead::new(&method, &elsewhere, &received),
                        &signed.body,
                        now
                    )
                    .is_err(),
                "{p}"
            );
        }

        // The headers-only API agrees, or says which of the documented reasons keeps it out.
        match p.sign_request(&keys.sign.as_str().into(), body(p), &input) {
            Ok(headers) => {
                assert_eq!(headers, signed.headers, "{p}");
                assert_eq!(signed.body, body(p), "{p}");
            }
            Err(SignError::NoUrl) => assert!(scheme.signed_payload().uses_request_head(), "{p}"),
            Err(SignError::InBody { .. }) => assert_ne!(signed.body, body(p), "{p}"),
            Err(other) => panic!("{p}: sign_request: {other}"),
        }
        signed_count += 1;
    }
    let total = Provider::all().len();
    println!("{signed_count} of {total} presets signed and verified");
    for line in &refused {
        println!("not signable: {line}");
    }
    assert!(
        signed_count * 10 >= total * 9,
        "{signed_count} of {total}: {refused:?}"
    );
}

#[test]
fn asymmetric_presets_sign_with_the_private_key_only() {
    let input = SignInput {
        timestamp: NOW,
        id: "",
    };
    let now = UNIX_EPOCH + Duration::from_secs(NOW as u64);
    for (name, other_key) in [("discord", [0x11; 32]), ("sendgrid", [0x22; 32])] {
        let p = Provider::named(name).unwrap();
        let keys = keys(p);
        let verifier = Verifier::builder()
            .provider(p)
            .secret(keys.verify.as_str())
            .build()
            .unwrap();
        let verifies = |key: &str| match p.sign_request(&key.into(), b"{}", &input) {
            Ok(headers) => {
                let mut received = HeaderMap::new();
                received.extend(headers);
                verifier.verify(&received, b"{}", now).is_ok()
            }
            Err(_) => false,
        };
        assert!(verifies(&keys.sign), "{name}");
        // Another key pair's private half signs; the route's public key rejects it.
        assert!(!verifies(&hex::encode(other_key)), "{name}");
        // The route's secret, the public key, never makes a valid signature: refused for
        // P-256; a raw Ed25519 public key reads as a seed (of another key pair).
        assert!(!verifies(&keys.verify), "{name}");
    }
    let sendgrid = Provider::named("sendgrid").unwrap();
    let error = sendgrid
        .sign_request(&keys(sendgrid).verify.as_str().into(), b"{}", &input)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "a public key cannot sign: ECDSA P-256 requests are signed with the private key"
    );
}
