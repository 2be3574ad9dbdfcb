//! Every preset against its vector file, `tests/vectors/presets/<preset>.json`: a preset
//! without a vector fails here.
//!
//! The vectors are written by `tests/vectors/make/make_presets.py` from each provider's
//! documented algorithm with Python's `hmac` / `cryptography` (an implementation independent of
//! hookgate's), from a provider's published example, or checked with the provider's SDK; the
//! `source` field says which. Each one is checked:
//! - valid: it verifies through `verify_request` with the clock pinned, and yields the
//!   expected event id (or the signature digest when the vector expects none);
//! - invalid: a secret of the same shape (`wrong_secret`) is refused; a changed body is refused
//!   whenever the scheme signs the whole body; a clock past the tolerance is refused for
//!   schemes that sign a timestamp.

use hookgate::core::{Provider, RequestHead, Verifier};
use hookgate::Rejection;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/presets");

struct Vector {
    doc: Value,
}

impl Vector {
    fn load(preset: Provider) -> Vector {
        let path = format!("{DIR}/{}.json", preset.name());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("preset `{preset}` has no vector file {path}: {e}"));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(doc["preset"], preset.name(), "{path}: wrong preset");
        let source = doc["source"].as_str().unwrap_or_default();
        assert!(
            ["sdk-test-suite", "sdk", "docs", "docs-example"].contains(&source),
            "{path}: source must say where the vector comes from, not `{source}`"
        );
        Vector { doc }
    }

    fn str(&self, field: &str) -> &str {
        self.doc[field].as_str().unwrap_or_default()
    }

    fn verifier(&self, preset: Provider, secret: &str) -> Verifier {
        let mut builder = Verifier::builder().provider(preset).secret(secret);
        if let Some(url) = self.doc["public_url"].as_str() {
            builder = builder.public_url(url);
        }
        builder.build().unwrap_or_else(|e| panic!("{preset}: {e}"))
    }

    fn headers(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in self.doc["headers"].as_object().into_iter().flatten() {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
            );
        }
        map
    }

    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.doc["now"].as_u64().unwrap())
    }

    fn verify(
        &self,
        verifier: &Verifier,
        body: &[u8],
        now: SystemTime,
    ) -> Result<hookgate::core::Verified, Rejection> {
        let method: Method = self.str("method").parse().unwrap();
        let uri: Uri = self.str("url").parse().unwrap();
        let headers = self.headers();
        verifier.verify_request(&RequestHead::new(&method, &uri, &headers), body, now)
    }
}

fn check(preset: Provider) -> Vec<String> {
    let mut failures = Vec::new();
    let v = Vector::load(preset);
    let body = v.str("body").as_bytes().to_vec();
    let verifier = v.verifier(preset, v.str("secret"));
    match v.verify(&verifier, &body, v.now()) {
        Ok(verified) => match v.doc["expected_event_id"].as_str() {
            Some(id) => {
                if verified.event_id != id {
                    failures.push(format!("event id {} != {id}", verified.event_id));
                }
            }
            None => {
                if !verified.event_id_from_signature {
                    failures.push(format!("unexpected event id {}", verified.event_id));
                }
            }
        },
        Err(rejection) => failures.push(format!("valid vector refused: {rejection:?}")),
    }

    let wrong = v.verifier(preset, v.str("wrong_secret"));
    if v.verify(&wrong, &body, v.now()).is_ok() {
        failures.push("verified under the wrong secret".into());
    }

    let scheme = preset.scheme();
    if scheme.signed_payload().uses_body() && scheme.algorithm().name() != "token" {
        let mut changed = body.clone();
        changed.push(b' ');
        if v.verify(&verifier, &changed, v.now()).is_ok() {
            failures.push("verified with a changed body".into());
        }
    }
    if let Some(tolerance) = preset.default_tolerance() {
        let late = v.now() + tolerance + Duration::from_secs(2);
        match v.verify(&verifier, &body, late) {
            Err(Rejection::TimestampOutOfTolerance) => {}
            other => failures.push(format!("past the tolerance: {other:?}")),
        }
    }
    failures
}

#[test]
fn every_preset_verifies_its_vector() {
    let mut failures = Vec::new();
    for &preset in Provider::all() {
        for failure in check(preset) {
            failures.push(format!("{preset}: {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn every_vector_file_is_a_preset() {
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let preset = name.trim_end_matches(".json");
        assert!(
            Provider::named(preset).is_some_and(|p| p.name() == preset),
            "{name} is not the vector of a preset"
        );
    }
}

#[test]
fn there_are_at_least_85_presets() {
    assert!(Provider::all().len() >= 85, "{}", Provider::all().len());
}
