//! The `plaid` and `sns` presets (keys given as JWK text and as a PEM certificate) through the
//! TOML configuration, as an operator writes them: a preset route, and the same schemes
//! written out as `[route.scheme]` tables.
#![cfg(feature = "config")]

use hookgate::config::Config;
use hookgate::core::{RequestHead, Verifier};
use hookgate::Rejection;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;
use std::time::{Duration, UNIX_EPOCH};

fn vector(name: &str) -> Value {
    let path = format!(
        "{}/tests/vectors/presets/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A TOML basic string: JSON's escapes are TOML's.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn route_verifier(route: &str) -> Result<Verifier, String> {
    let text = format!(
        "[[route]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:1/\"\n{route}"
    );
    Config::from_toml(&text)
        .map(|mut config| config.routes.remove(0).verifier)
        .map_err(|e| e.to_string())
}

fn verify(verifier: &Verifier, v: &Value, body: &str) -> Result<String, Rejection> {
    let mut headers = HeaderMap::new();
    for (name, value) in v["headers"].as_object().unwrap() {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let (method, uri) = (Method::POST, Uri::from_static("/r"));
    let now = UNIX_EPOCH + Duration::from_secs(v["now"].as_u64().unwrap());
    verifier
        .verify_request(
            &RequestHead::new(&method, &uri, &headers),
            body.as_bytes(),
            now,
        )
        .map(|verified| verified.event_id)
}

#[test]
fn plaid_from_a_preset_route_and_from_its_scheme_table() {
    let v = vector("plaid");
    let body = v["body"].as_str().unwrap();
    let secrets = format!(
        "secrets = [{}, {}]\n",
        toml_string(
            v["wrong_secret"]
                .as_str()
                .unwrap()
                .replace("bfbd5111", "0ld0")
                .as_str()
        ),
        toml_string(v["secret"].as_str().unwrap()),
    );
    let preset = route_verifier(&format!("provider = \"plaid\"\n{secrets}")).unwrap();
    let custom = route_verifier(&format!(
        "{secrets}[route.scheme]\nheader = \"Plaid-Verification\"\nalgorithm = \"jwt-es256\"\nbody_digest_claim = \"request_body_sha256\"\ntimestamp_claim = \"iat\"\n"
    ))
    .unwrap();
    for verifier in [&preset, &custom] {
        let id = verify(verifier, &v, body).unwrap();
        assert!(id.starts_with("sig:"), "{id}");
        assert_eq!(
            verify(
                verifier,
                &v,
                &body.replace("DEFAULT_UPDATE", "HISTORICAL_UPDATE")
            ),
            Err(Rejection::InvalidSignature)
        );
    }
    // Another digest claim name: the token's claim is not found, so it is refused.
    let other = route_verifier(&format!(
        "{secrets}[route.scheme]\nheader = \"Plaid-Verification\"\nalgorithm = \"jwt-es256\"\nbody_digest_claim = \"body_sha256\"\n"
    ))
    .unwrap();
    assert_eq!(verify(&other, &v, body), Err(Rejection::InvalidSignature));
}

#[test]
fn a_bad_jwk_is_a_load_error_that_never_shows_the_key() {
    let v = vector("plaid");
    let jwk = v["secret"]
        .as_str()
        .unwrap()
        .replace("\"P-256\"", "\"P-384\"");
    let error = route_verifier(&format!(
        "provider = \"plaid\"\nsecrets = [{}]\n",
        toml_string(&jwk)
    ))
    .unwrap_err();
    assert!(error.contains("not a usable ES256 JWK"), "{error}");
    let x = &jwk[jwk.find("\"x\":\"").unwrap() + 5..][..20];
    assert!(!error.contains(x), "{error}");
}

#[test]
fn sns_from_a_preset_route_with_the_certificate_as_the_secret() {
    let v = vector("sns");
    let body = v["body"].as_str().unwrap();
    let cert = v["secret"].as_str().unwrap();
    let verifier = route_verifier(&format!(
        "provider = \"sns\"\nsecrets = [{}]\n",
        toml_string(cert)
    ))
    .unwrap();
    assert_eq!(
        verify(&verifier, &v, body).unwrap(),
        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    );
    // A multi-line TOML string, as a PEM is pasted.
    let pasted = route_verifier(&format!(
        "provider = \"sns\"\nsecrets = [\"\"\"\n{cert}\"\"\"]\n"
    ))
    .unwrap();
    assert!(verify(&pasted, &v, body).is_ok());
    let wrong = route_verifier(&format!(
        "provider = \"sns\"\nsecrets = [{}]\n",
        toml_string(v["wrong_secret"].as_str().unwrap())
    ))
    .unwrap();
    assert_eq!(verify(&wrong, &v, body), Err(Rejection::InvalidSignature));
    let error =
        route_verifier("provider = \"sns\"\nsecrets = [\"not a certificate\"]\n").unwrap_err();
    assert!(error.contains("not an SNS signing certificate"), "{error}");
}
