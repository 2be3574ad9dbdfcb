//! The command line: check, sign, verify, presets, and the sidecar's lifecycle.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn hookgate(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails on its arguments exits without reading stdin: writing to it may
    // then fail with a broken pipe, which is not the test's concern (the exit code is).
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_example_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");
    let (code, stdout, stderr) = hookgate(&["check", "--config", example], b"");
    assert_eq!(code, 0, "{stderr}");
    for route in [
        "stripe",
        "github",
        "d3",
        "filedgr",
        "docextract",
        "dataflow",
    ] {
        assert!(stdout.contains(route), "{route} listed: {stdout}");
    }
}

#[test]
fn check_reports_line_and_column_and_exits_2() {
    let dir = TempDir::new();
    let cases = [
        ("[server]\nlisten = 8080\n", ":2:10:"),
        ("[[route]]\nname = \"a\"\npath = \"/a\"\nupstream = \"http://127.0.0.1:1/\"\nprovider = \"strip\"\nsecrets = [\"s\"]\n", ":5:12:"),
        ("[[route]]\nname = \"a\"\npath = \"/a\"\nupstream = \"http://127.0.0.1:1/\"\nprovider = \"stripe\"\n", ":2:8:"),
        ("[[route]]\nname = \"a\"\npath = \"/a\"\nupstream = \"http://127.0.0.1:1/\"\nprovider = \"github\"\nsecrets = [\"env:HOOKGATE_TEST_UNSET_VAR\"]\n", ":6:12:"),
        ("[server]\nmax_body = \"lots\"\n", ":2:12:"),
        ("[server]\nlistne = \"0.0.0.0:1\"\n", ":2:1:"),
    ];
    for (i, (text, position)) in cases.iter().enumerate() {
        let path = dir.0.join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let (code, _, stderr) = hookgate(&["check", "--config", path.to_str().unwrap()], b"");
        assert_eq!(code, 2, "case {i}: {stderr}");
        assert!(
            stderr.contains(position),
            "case {i}: expected {position} in {stderr}"
        );
    }
}

#[test]
fn secrets_are_read_from_env_and_files() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("secret.txt"), "from-file\n").unwrap();
    let path = dir.0.join("ok.toml");
    std::fs::write(
        &path,
        "[[route]]\nname = \"a\"\npath = \"/a\"\nupstream = \"http://127.0.0.1:1/\"\nprovider = \"github\"\nsecrets = [\"env:HOOKGATE_TEST_SECRET\", \"file:secret.txt\"]\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["check", "--config"])
        .arg(&path)
        .env("HOOKGATE_TEST_SECRET", "from-env")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 secret(s)"));
}

#[test]
fn sign_output_verifies_and_tampering_is_caught() {
    let body = br#"{"id":"evt_cli","object":"event"}"#;
    let (code, headers, stderr) = hookgate(
        &["sign", "--provider", "stripe", "--secret", "whsec_cli"],
        body,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(headers.starts_with("stripe-signature: t="), "{headers}");
    let mut args = vec![
        "verify",
        "--provider",
        "stripe",
        "--secret",
        "other",
        "--secret",
        "whsec_cli",
    ];
    let header_args: Vec<String> = headers.lines().map(str::to_owned).collect();
    for h in &header_args {
        args.extend(["-H", h]);
    }
    let (code, stdout, _) = hookgate(&args, body);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.trim(), "verified event_id=evt_cli");
    let (code, stdout, _) = hookgate(&args, br#"{"id":"evt_cli","object":"evenT"}"#);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("rejected invalid_signature"), "{stdout}");
    let (code, _, _) = hookgate(&["verify", "--provider", "nope", "--secret", "x"], body);
    assert_eq!(code, 2);
}

#[test]
fn verify_checks_published_vectors_with_a_pinned_clock() {
    let (code, stdout, _) = hookgate(
        &[
            "verify",
            "--provider",
            "standard-webhooks",
            "--secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "-H",
            "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek",
            "-H",
            "webhook-timestamp: 1614265330",
            "-H",
            "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "--now",
            "1614265330",
        ],
        br#"{"test": 2432232314}"#,
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout.trim(),
        "verified event_id=msg_p5jXN8AQM9LWM0D4loKWxJek"
    );
}

#[test]
fn presets_lists_every_preset() {
    let (code, stdout, _) = hookgate(&["presets"], b"");
    assert_eq!(code, 0);
    for p in Provider::all().iter().copied() {
        assert!(
            stdout.contains(&format!("\n| `{}` ", p.name())),
            "{} missing",
            p.name()
        );
    }
}

#[test]
fn readme_presets_table_matches_the_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, table, _) = hookgate(&["presets"], b"");
    assert!(
        readme.contains(table.trim()),
        "README presets table is out of date; paste `hookgate presets`"
    );
}

#[tokio::test]
async fn send_delivers_a_signed_event_through_the_sidecar() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        "send-secret",
        &upstream.url("/gh"),
        "",
        "",
    ));
    let url = gate.url("/webhooks/github");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin())
            .args([
                "send",
                &url,
                "--provider",
                "github",
                "--secret",
                "send-secret",
                "--id",
                "cli-1",
                "--data",
                r#"{"a":1}"#,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(upstream.count(), 1);
    assert_eq!(upstream.last().headers["hookgate-event-id"], "cli-1");
    assert_eq!(&upstream.last().body[..], br#"{"a":1}"#);
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let upstream = Upstream::scripted(std::sync::Arc::new(|_| {
        (http::StatusCode::OK, Duration::from_millis(1500))
    }))
    .await;
    let mut gate = Hookgate::start(&config(
        "github",
        "term-secret",
        &upstream.url("/gh"),
        "",
        "",
    ));
    let request = send(signed(
        Provider::Github,
        "term-secret",
        &gate.url("/webhooks/github"),
        &b"{}"[..],
        "term-1",
    ));
    let pid = gate.child.id().to_string();
    let signal = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    };
    let (answer, ()) = tokio::join!(request, signal);
    assert_eq!(answer.status, 200, "the in-flight request finished");
    let status = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = gate.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "hookgate did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn run_with_log_format_json_writes_one_json_object_per_line() {
    let dir = TempDir::new();
    let path = dir.0.join("hookgate.toml");
    std::fs::write(
        &path,
        config("github", "s", "http://127.0.0.1:9/gh", "", ""),
    )
    .unwrap();
    let mut child = Command::new(bin())
        .args(["run", "--log-format", "json", "--config"])
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut seen = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        let message = value["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        seen.push(message.clone());
        if message == "listening" {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains(&"route".to_owned()), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("listening"));
}

#[test]
fn verify_takes_the_url_and_method_for_presets_that_sign_them() {
    // Square signs the notification URL and the body (the Square SDK's own test vector).
    let vector: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/presets/square.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let url = format!(
        "{}{}",
        vector["public_url"].as_str().unwrap(),
        vector["url"].as_str().unwrap()
    );
    let signature = vector["headers"]["x-square-hmacsha256-signature"]
        .as_str()
        .unwrap();
    let header = format!("x-square-hmacsha256-signature: {signature}");
    let body = vector["body"].as_str().unwrap();
    let secret = vector["secret"].as_str().unwrap();
    let args = |url: &str| {
        vec![
            "verify".to_owned(),
            "--provider".to_owned(),
            "square".to_owned(),
            "--secret".to_owned(),
            secret.to_owned(),
            "-H".to_owned(),
            header.clone(),
            "--url".to_owned(),
            url.to_owned(),
            "--method".to_owned(),
            "POST".to_owned(),
            "--now".to_owned(),
            "1700000000".to_owned(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hookgate(&args, body.as_bytes())
    };
    let (code, stdout, stderr) = run(args(&url));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("verified event_id=ac3ac95b"), "{stdout}");
    // Another URL is another signed content.
    let (code, stdout, _) = run(args("https://attacker.example/679a4f3a"));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.starts_with("rejected invalid_signature"), "{stdout}");
}

/// `hookgate verify` with `args` and the headers `sign` printed.
fn verify_signed(args: &[&str], signed: &str, body: &[u8]) -> (i32, String) {
    let mut all: Vec<&str> = vec!["verify"];
    all.extend(args);
    for line in signed.lines().take_while(|l| !l.is_empty()) {
        all.extend(["-H", line]);
    }
    let (code, stdout, stderr) = hookgate(&all, body);
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn sign_takes_the_url_for_presets_that_sign_it() {
    let body = b"Body=Hello+world&From=%2B15550100&To=%2B15550111";
    let url = "https://hooks.example.com/webhooks/twilio?account=AC1";
    let key = ["--provider", "twilio", "--secret", "twilio-auth-token"];
    let mut args = vec!["sign"];
    args.extend(key);
    let (code, _, stderr) = hookgate(&args, body);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("twilio signs the URL it calls: pass --url"),
        "{stderr}"
    );
    args.extend(["--url", url, "--id", "idem-1"]);
    let (code, signed, stderr) = hookgate(&args, body);
    assert_eq!(code, 0, "{stderr}");
    assert!(signed.starts_with("x-twilio-signature: "), "{signed}");
    assert!(
        signed.contains("i-twilio-idempotency-token: idem-1"),
        "{signed}"
    );
    let mut verify = key.to_vec();
    verify.extend(["--url", url]);
    let (code, out) = verify_signed(&verify, &signed, body);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "verified event_id=idem-1");
    // The same signature for another URL is not the provider's.
    let (code, out) = verify_signed(
        &[
            &key[..],
            &["--url", "https://hooks.example.com/webhooks/twilio"],
        ]
        .concat(),
        &signed,
        body,
    );
    assert_eq!(code, 1, "{out}");
}

#[test]
fn sign_takes_the_private_key_for_public_key_presets() {
    let seed = [0x42u8; 32];
    let public = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .as_bytes(),
    );
    let private = hex::encode(seed);
    let body = br#"{"id":"interaction-1","type":1}"#;
    let (code, signed, stderr) = hookgate(
        &["sign", "--provider", "discord", "--private-key", &private],
        body,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(signed.starts_with("x-signature-ed25519: "), "{signed}");
    let (code, out) = verify_signed(
        &["--provider", "discord", "--secret", &public],
        &signed,
        body,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "verified event_id=interaction-1");

    // A file works too (PEM keys are several lines).
    let dir = TempDir::new();
    let path = dir.0.join("discord.key");
    std::fs::write(&path, format!("{private}\n")).unwrap();
    let file = format!("@{}", path.display());
    let (code, signed_from_file, stderr) = hookgate(
        &[
            "sign",
            "--provider",
            "discord",
            "--private-key",
            &file,
            "--timestamp",
            "1700000000",
        ],
        body,
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, out) = verify_signed(
        &[
            "--provider",
            "discord",
            "--secret",
            &public,
            "--now",
            "1700000000",
        ],
        &signed_from_file,
        body,
    );
    assert_eq!(code, 0, "{out}");

    // The wrong kind of key for the preset says which one to pass.
    let (code, _, stderr) = hookgate(
        &["sign", "--provider", "discord", "--secret", &public],
        body,
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("pass a key pair's private half with --private-key"),
        "{stderr}"
    );
    let (code, _, stderr) = hookgate(
        &["sign", "--provider", "github", "--private-key", &private],
        body,
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("github signs with a shared secret: pass --secret"),
        "{stderr}"
    );
}

#[test]
fn sign_prints_the_body_for_presets_that_sign_into_it() {
    let body = br#"{"event-data":{"id":"mg-1","event":"delivered"}}"#;
    let (code, signed, stderr) = hookgate(
        &[
            "sign",
            "--provider",
            "mailgun",
            "--secret",
            "mg-key",
            "--id",
            "token-1",
        ],
        body,
    );
    assert_eq!(code, 0, "{stderr}");
    // No header carries anything: an empty line, then the body to send.
    let sent = signed
        .strip_prefix('\n')
        .expect("an empty line before the body");
    assert!(
        sent.starts_with(
            r#"{"event-data":{"id":"mg-1","event":"delivered"},"signature":{"timestamp":""#
        ),
        "{sent}"
    );
    assert!(
        sent.contains(r#""token":"token-1","signature":""#),
        "{sent}"
    );
    let (code, out) = verify_signed(
        &["--provider", "mailgun", "--secret", "mg-key"],
        "",
        sent.as_bytes(),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "verified event_id=mg-1");
}

#[tokio::test]
async fn send_signs_the_url_the_route_checks() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "twilio",
        "twilio-send-token",
        &upstream.url("/sms"),
        "",
        "",
    ));
    let url = gate.url("/webhooks/twilio?account=AC1");
    let send = |url: String, extra: &'static [&'static str]| {
        tokio::task::spawn_blocking(move || {
            let mut args = vec![
                "send",
                &url,
                "--provider",
                "twilio",
                "--secret",
                "twilio-send-token",
                "--id",
                "idem-send",
                "--data",
                "Body=hi&From=%2B15550100",
            ];
            args.extend(extra);
            Command::new(bin()).args(args).output().unwrap()
        })
    };
    // Signed for another URL than the one the route reconstructs (https:// + Host + path):
    // refused, and nothing reaches the upstream.
    let out = send(
        url.clone(),
        &["--url", "https://elsewhere.example/webhooks/twilio"],
    )
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("invalid_signature"));
    assert_eq!(upstream.count(), 0);
    // By default `send` signs what a route without `public_url` checks.
    let out = send(url, &[]).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(upstream.count(), 1);
    let received = upstream.last();
    assert_eq!(received.headers["hookgate-event-id"], "idem-send");
    assert_eq!(&received.body[..], b"Body=hi&From=%2B15550100");
}
