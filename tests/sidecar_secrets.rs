//! No secret, and no expected signature, in any log line or response.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::{sign, Provider, SignInput};

const SECRET: &str = "whsec_TOPSECRET_do_not_log_4242";

#[tokio::test]
async fn secrets_and_expected_signatures_never_leak() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("stripe", SECRET, &upstream.url("/s"), "", ""));
    let body = r#"{"id":"evt_leak"}"#;

    // The signature hookgate would expect for a forged request must not be disclosed either.
    let forged_body = r#"{"id":"evt_forged"}"#;
    let expected = sign(
        &Provider::Stripe.scheme(),
        &SECRET.into(),
        forged_body.as_bytes(),
        &SignInput {
            timestamp: now(),
            id: "",
        },
    )
    .unwrap();
    let expected_hex = expected[0]
        .1
        .to_str()
        .unwrap()
        .split("v1=")
        .nth(1)
        .unwrap()
        .to_owned();

    let mut answers = Vec::new();
    answers.push(gate.post(Provider::Stripe, SECRET, body, "").await);
    answers.push(gate.post(Provider::Stripe, SECRET, body, "").await); // duplicate
    answers.push(gate.post(Provider::Stripe, "wrong", forged_body, "").await);
    let mut malformed = gate.signed_request(Provider::Stripe, SECRET, body, "");
    malformed
        .headers_mut()
        .insert("stripe-signature", "t=notanumber,v1=zz".parse().unwrap());
    answers.push(send(malformed).await);
    let mut stale = gate.signed_request(Provider::Stripe, SECRET, r#"{"id":"evt_stale"}"#, "");
    let ts = now() - 3600;
    let stale_headers = sign(
        &Provider::Stripe.scheme(),
        &SECRET.into(),
        br#"{"id":"evt_stale"}"#,
        &SignInput {
            timestamp: ts,
            id: "",
        },
    )
    .unwrap();
    stale
        .headers_mut()
        .insert("stripe-signature", stale_headers[0].1.clone());
    answers.push(send(stale).await);

    let codes: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(codes, [200, 200, 401, 401, 401]);
    assert_eq!(answers[4].json()["error"], "timestamp_out_of_tolerance");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let logs = gate.logs();
    assert!(
        logs.iter().any(|l| l.contains("invalid_signature")),
        "rejections are logged: {logs:?}"
    );
    let secret_tail = &SECRET["whsec_".len()..];
    for line in &logs {
        assert!(!line.contains(secret_tail), "secret in log line: {line}");
        assert!(
            !line.contains(&expected_hex),
            "expected signature in log line: {line}"
        );
    }
    for answer in &answers {
        let text = String::from_utf8_lossy(&answer.body);
        assert!(!text.contains(secret_tail), "secret in response: {text}");
        assert!(
            !text.contains(&expected_hex),
            "expected signature in response: {text}"
        );
        for (_, value) in &answer.headers {
            assert!(!value.to_str().unwrap_or("").contains(secret_tail));
        }
    }
}

#[test]
fn config_errors_do_not_print_secrets() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.toml");
    // A secret next to an error: the error message must not echo it.
    std::fs::write(
        &path,
        format!("[[route]]\nname = \"s\"\npath = \"/s\"\nupstream = \"http://127.0.0.1:1/\"\nprovider = \"stripe\"\nsecrets = [\"{SECRET}\"]\ntolerance = \"soon\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":7:13:"), "{stderr}");
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");
}
