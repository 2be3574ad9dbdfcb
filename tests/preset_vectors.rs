//! Every preset against its vector file, `tests/vectors/presets/<preset>.json`: a preset
//! without a vector fails here.
//!
//! Where each vector comes from is its `source`, and the test holds it to it:
//! - `sdk`: made by the provider's SDK (`tests/vectors/make/make_sdk_py.py`, `make_sdk.mjs`),
//!   which signs it or accepts it and refuses it under `wrong_secret`; `sdk` names the package,
//!   its exact version and the function;
//! - `sdk-test-suite`: a vector published in an SDK's own tests, copied; `sdk` (or `note`) names
//!   the repository, file and commit;
//! - `docs` / `docs-example`: no SDK: the provider's documented algorithm or example, computed by
//!   `make_presets.py` with Python's `hmac` / `cryptography` (an implementation independent of
//!   hookgate's); `docs` names the documentation.
//!
//! Each one is checked:
//! - valid: it verifies through `verify_request` with the clock pinned, and yields the
//!   expected event id (or the signature digest when the vector expects none);
//! - invalid: a secret of the same shape (`wrong_secret`) is refused; a changed body is refused
//!   whenever the scheme signs the whole body; a clock past the tolerance is refused for
//!   schemes that sign a timestamp;
//! - `also` (optional): further requests of the provider (headers, body, expected_event_id),
//!   e.g. another header set its SDK accepts, verify too and are refused under `wrong_secret`.

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
        // Provenance: an SDK vector names the package, its version and the function (or the
        // repository, file and commit of the published test); a docs vector names its docs.
        let named = |field: &str| doc[field].as_str().is_some_and(|s| !s.trim().is_empty());
        match source {
            "sdk" => assert!(
                named("sdk") && doc["sdk"].as_str().unwrap().chars().any(|c| c.is_ascii_digit()),
                "{path}: an `sdk` vector records the package and its exact version in `sdk`"
            ),
            "sdk-test-suite" => assert!(
                named("sdk") || named("note"),
                "{path}: an `sdk-test-suite` vector records repository, file and commit in `sdk` or `note`"
            ),
            _ => assert!(
                named("docs"),
                "{path}: a `{source}` vector records the documentation it follows in `docs`"
            ),
        }
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
        header_map(&self.doc["headers"])
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
        self.verify_with(verifier, &self.headers(), body, now)
    }

    fn verify_with(
        &self,
        verifier: &Verifier,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<hookgate::core::Verified, Rejection> {
        let method: Method = self.str("method").parse().unwrap();
        let uri: Uri = self.str("url").parse().unwrap();
        verifier.verify_request(&RequestHead::new(&method, &uri, headers), body, now)
    }
}

fn header_map(headers: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.as_object().into_iter().flatten() {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    map
}

/// The expected event id (`None`: the signature digest) against what was verified.
fn event_id_failure(expected: &Value, verified: &hookgate::core::Verified) -> Option<String> {
    match expected.as_str() {
        Some(id) if verified.event_id != id => {
            Some(format!("event id {} != {id}", verified.event_id))
        }
        None if !verified.event_id_from_signature => {
            Some(format!("unexpected event id {}", verified.event_id))
        }
        _ => None,
    }
}

fn check(preset: Provider) -> Vec<String> {
    let mut failures = Vec::new();
    let v = Vector::load(preset);
    let body = v.str("body").as_bytes().to_vec();
    let verifier = v.verifier(preset, v.str("secret"));
    match v.verify(&verifier, &body, v.now()) {
        Ok(verified) => failures.extend(event_id_failure(&v.doc["expected_event_id"], &verified)),
        Err(rejection) => failures.push(format!("valid vector refused: {rejection:?}")),
    }
    // `also`: further requests of the same provider (another header set the SDK accepts), made
    // and checked like the main one, same secret, URL and clock.
    for (i, also) in v.doc["also"].as_array().into_iter().flatten().enumerate() {
        let headers = header_map(&also["headers"]);
        let body = also["body"].as_str().unwrap().as_bytes();
        match v.verify_with(&verifier, &headers, body, v.now()) {
            Ok(verified) => failures.extend(
                event_id_failure(&also["expected_event_id"], &verified)
                    .map(|f| format!("also[{i}]: {f}")),
            ),
            Err(rejection) => failures.push(format!("also[{i}] refused: {rejection:?}")),
        }
        let wrong = v.verifier(preset, v.str("wrong_secret"));
        if v.verify_with(&wrong, &headers, body, v.now()).is_ok() {
            failures.push(format!("also[{i}] verified under the wrong secret"));
        }
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

/// The README's "Vector provenance" table, made from the vector files: where each preset's
/// vector comes from (`source`) and who made or published it.
fn provenance_table() -> String {
    let mut out =
        String::from("| preset | vector | made or checked by / published in |\n|---|---|---|\n");
    for &preset in Provider::all() {
        let v = Vector::load(preset);
        let source = v.str("source");
        let from = match source {
            // "pkg (registry) 1.2.3: function …" -> "pkg (registry) 1.2.3"
            "sdk" => v.str("sdk").split(':').next().unwrap().trim().to_string(),
            // "github.com/owner/repo path …" -> "github.com/owner/repo path"
            "sdk-test-suite" => {
                let sdk = if v.str("sdk").is_empty() {
                    v.str("note")
                } else {
                    v.str("sdk")
                };
                sdk.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            }
            _ => {
                let docs = v.str("docs");
                if docs.starts_with("https://") {
                    format!("<{docs}>")
                } else {
                    docs.split(" (").next().unwrap().to_string()
                }
            }
        };
        out.push_str(&format!("| `{}` | {source} | {from} |\n", preset.name()));
    }
    out
}

#[test]
fn readme_vector_provenance_table_matches_the_vectors() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = provenance_table();
    assert!(
        readme.contains(&table),
        "README vector provenance table is out of date; paste:\n\n{table}"
    );
}
