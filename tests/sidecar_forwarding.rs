//! The sidecar forwards verified webhooks byte for byte, with the headers DESIGN promises.
#![cfg(feature = "sidecar")]

mod common;

use bytes::Bytes;
use common::*;
use hookgate::core::Provider;

const SECRET: &str = "whsec_forwarding_test_secret";

#[tokio::test]
async fn body_is_forwarded_byte_for_byte_with_query_and_forwarded_headers() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "stripe",
        SECRET,
        &upstream.url("/hooks/stripe?team=1"),
        "",
        "",
    ));

    // Whitespace-significant JSON and bytes that are not UTF-8: re-encoding would break both.
    let mut body =
        b"{\n  \"id\" : \"evt_bytes\",\t\"note\": \"caf\xc3\xa9\"  , \"raw\": \"".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0x00, 0x80]);
    body.extend_from_slice(b"\"}\r\n\r\n");
    let mut req = signed(
        Provider::Stripe,
        SECRET,
        &gate.url("/webhooks/stripe?attempt=2&x=%20y"),
        body.clone(),
        "",
    );
    req.headers_mut()
        .insert("hookgate-route", "spoofed".parse().unwrap());
    req.headers_mut()
        .insert("hookgate-event-id", "spoofed".parse().unwrap());
    req.headers_mut()
        .insert("hookgate-anything", "spoofed".parse().unwrap());
    req.headers_mut()
        .insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
    req.headers_mut()
        .insert("x-custom", "kept".parse().unwrap());
    let answer = send(req).await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        Bytes::from("upstream answer 0"),
        "upstream response relayed"
    );
    assert_eq!(answer.headers["x-upstream"], "yes");
    let got = upstream.last();
    assert_eq!(got.body, Bytes::from(body.clone()), "exact bytes");
    assert_eq!(got.method, http::Method::POST);
    assert_eq!(got.uri.path(), "/hooks/stripe");
    assert_eq!(got.uri.query(), Some("team=1&attempt=2&x=%20y"));
    assert_eq!(got.headers["content-length"], body.len().to_string());
    assert!(got.headers.get("transfer-encoding").is_none());
    assert_eq!(got.headers["hookgate-route"], "stripe");
    // The id precedes the raw 0xff bytes, and the authenticated body is read only up to the id.
    assert_eq!(got.headers["hookgate-event-id"], "evt_bytes");
    assert!(
        got.headers.get("hookgate-anything").is_none(),
        "incoming Hookgate-* stripped"
    );
    assert_eq!(got.headers.get_all("hookgate-route").iter().count(), 1);
    assert_eq!(
        got.headers["x-forwarded-for"], "127.0.0.1",
        "an untrusted peer cannot claim another address"
    );
    assert_eq!(got.headers["x-forwarded-proto"], "http");
    assert_eq!(got.headers["x-forwarded-host"], gate.addr.to_string());
    assert_eq!(got.headers["x-custom"], "kept");
    assert!(
        got.headers.contains_key("stripe-signature"),
        "the signature reaches the handler too"
    );
}

#[tokio::test]
async fn whitespace_significant_json_keeps_its_bytes_and_its_id() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("stripe", SECRET, &upstream.url("/s"), "", ""));
    let body = "{ \"id\":\"evt_ws\" ,\n\n\t\"amount\" : 1.50e2, \"name\":\"\\u00e9t\u{e9}\" }   \n";
    let answer = gate.post(Provider::Stripe, SECRET, body, "").await;
    assert_eq!(answer.status, 200);
    let got = upstream.last();
    assert_eq!(
        got.body,
        Bytes::from(body),
        "no re-encoding: 1.50e2, \\u00e9 and spacing kept"
    );
    assert_eq!(got.headers["hookgate-event-id"], "evt_ws");
}

#[tokio::test]
async fn chunked_requests_are_forwarded_with_content_length() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("github", "gh-secret", &upstream.url("/gh"), "", ""));
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let req = signed(
        Provider::Github,
        "gh-secret",
        "http://x/",
        body.to_vec(),
        "delivery-chunked",
    );
    let mut raw_req = format!("POST /webhooks/github HTTP/1.1\r\nhost: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n", gate.addr);
    for (name, value) in req.headers() {
        raw_req.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    raw_req.push_str("\r\n");
    let mut bytes = raw_req.into_bytes();
    for chunk in body.chunks(7) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    let answer = raw(gate.addr, &bytes, std::time::Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let got = upstream.last();
    assert_eq!(&got.body[..], body);
    assert_eq!(got.headers["content-length"], body.len().to_string());
    assert!(got.headers.get("transfer-encoding").is_none());
    assert_eq!(got.headers["hookgate-event-id"], "delivery-chunked");
}

#[tokio::test]
async fn http2_clients_are_served() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("github", "gh-secret", &upstream.url("/gh"), "", ""));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<Bytes>>();
    let req = gate.signed_request(Provider::Github, "gh-secret", &b"{}"[..], "h2-delivery");
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    assert_eq!(upstream.last().headers["hookgate-event-id"], "h2-delivery");
}

#[tokio::test]
async fn unknown_path_is_404_and_other_methods_are_405() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("github", "gh-secret", &upstream.url("/gh"), "", ""));
    let answer = send(signed(
        Provider::Github,
        "gh-secret",
        &gate.url("/webhooks/nope"),
        &b"{}"[..],
        "d1",
    ))
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.json()["error"], "unknown_route");

    let mut req = gate.signed_request(Provider::Github, "gh-secret", &b"{}"[..], "d2");
    *req.method_mut() = http::Method::PUT;
    let answer = send(req).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["error"], "method_not_allowed");
    assert_eq!(upstream.count(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn forged_and_unsigned_requests_never_reach_the_upstream() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("github", "gh-secret", &upstream.url("/gh"), "", ""));
    let answer = gate
        .post(Provider::Github, "other-secret", &b"{}"[..], "d1")
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"], "invalid_signature");

    let mut req = gate.signed_request(Provider::Github, "gh-secret", &b"{}"[..], "d2");
    req.headers_mut().remove("x-hub-signature-256");
    let answer = send(req).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"], "missing_signature");
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn resign_gives_the_app_one_signature_whatever_the_provider() {
    const APP_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        "gh-secret",
        &upstream.url("/gh"),
        &format!(r#"resign = {{ scheme = "standard-webhooks", secret = "{APP_SECRET}" }}"#),
        "",
    ));
    let body = r#"{"action":"opened"}"#;
    assert_eq!(
        gate.post(Provider::Github, "gh-secret", body, "d-resign")
            .await
            .status,
        200
    );
    let received = upstream.last();
    assert!(
        !received.headers.contains_key("x-hub-signature-256"),
        "the provider's signature is removed"
    );
    assert_eq!(received.headers["webhook-id"], "d-resign");
    // The application verifies one scheme with its own secret.
    let app = hookgate::core::Verifier::builder()
        .provider(Provider::StandardWebhooks)
        .secret(APP_SECRET)
        .build()
        .unwrap();
    let verified = app
        .verify(
            &received.headers,
            &received.body,
            std::time::SystemTime::now(),
        )
        .expect("the re-signed request verifies under the app's secret");
    assert_eq!(verified.event_id, "d-resign");
    assert_eq!(received.body, body, "the body is untouched");

    // A scheme hookgate cannot sign is refused at load.
    let dir = TempDir::new();
    let path = dir.0.join("bad.toml");
    std::fs::write(
        &path,
        config(
            "github",
            "s",
            "http://127.0.0.1:1/gh",
            r#"resign = { scheme = "standard-webhooks", secret = "not-whsec" }"#,
            "",
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["check", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("resign"));
}
