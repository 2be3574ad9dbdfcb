//! Setup challenges answered by the sidecar itself and never forwarded, through the real
//! binary: GET challenges (Dropbox, Twitter CRC, Okta, Facebook) and signed POST ones (Slack,
//! Zoom).
#![cfg(feature = "sidecar")]

mod common;

use base64::Engine as _;
use bytes::Bytes;
use common::*;
use hmac::{Hmac, KeyInit, Mac};
use hookgate::core::Provider;
use http_body_util::Full;

const SECRET: &str = "challenge-secret";

fn route(name: &str, upstream: &str, extra: &str) -> String {
    format!(
        "\n[[route]]\nname = \"{name}\"\npath = \"/webhooks/{name}\"\nupstream = \"{upstream}\"\nprovider = \"{name}\"\nsecrets = [\"{SECRET}\"]\n{extra}\n"
    )
}

fn hmac_sha256(key: &str, data: &str) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

async fn get(gate: &Hookgate, path: &str, header: Option<(&str, &str)>) -> Answer {
    let mut request = http::Request::get(gate.url(path));
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    send(request.body(Full::new(Bytes::new())).unwrap()).await
}

#[tokio::test]
async fn setup_challenges_are_answered_and_never_forwarded() {
    let upstream = Upstream::start().await;
    let up = upstream.url("/hooks");
    let mut config = String::from("[server]\nlisten = \"127.0.0.1:0\"\n");
    for name in ["dropbox", "twitter", "okta", "slack", "zoom", "github"] {
        config.push_str(&route(name, &up, ""));
    }
    config.push_str(&route("facebook", &up, "verify_token = \"vt-123\""));
    let gate = Hookgate::start(&config);

    let dropbox = get(&gate, "/webhooks/dropbox?challenge=abc123", None).await;
    assert_eq!(dropbox.status, 200);
    assert_eq!(dropbox.body, "abc123");
    assert_eq!(dropbox.headers["x-content-type-options"], "nosniff");

    let crc = get(&gate, "/webhooks/twitter?crc_token=tok-1", None).await;
    assert_eq!(crc.status, 200);
    let expected = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(SECRET, "tok-1"));
    assert_eq!(crc.json()["response_token"], format!("sha256={expected}"));

    let okta = get(
        &gate,
        "/webhooks/okta",
        Some(("x-okta-verification-challenge", "v-9")),
    )
    .await;
    assert_eq!(
        (okta.status.as_u16(), okta.json()["verification"].as_str()),
        (200, Some("v-9"))
    );

    let subscribe = "/webhooks/facebook?hub.mode=subscribe&hub.challenge=c-42&hub.verify_token=";
    let facebook = get(&gate, &format!("{subscribe}vt-123"), None).await;
    assert_eq!(
        (facebook.status.as_u16(), &facebook.body[..]),
        (200, &b"c-42"[..])
    );
    assert_eq!(
        get(&gate, &format!("{subscribe}wrong"), None).await.status,
        403
    );

    // A GET to a route whose preset has no GET challenge stays 405.
    assert_eq!(get(&gate, "/webhooks/github", None).await.status, 405);

    // Slack's url_verification, signed: answered with the challenge once verified.
    let body = r#"{"type":"url_verification","challenge":"slack-c-7","token":"x"}"#;
    let slack = send(signed(
        Provider::Slack,
        SECRET,
        &gate.url("/webhooks/slack"),
        body,
        "",
    ))
    .await;
    assert_eq!(
        (slack.status.as_u16(), slack.json()["challenge"].as_str()),
        (200, Some("slack-c-7"))
    );
    // Unsigned, it is refused like any forgery.
    let mut forged = signed(
        Provider::Slack,
        "not-the-secret",
        &gate.url("/webhooks/slack"),
        body,
        "",
    );
    forged.headers_mut().remove("x-slack-signature");
    assert_eq!(send(forged).await.status, 401);

    // Zoom's endpoint.url_validation, signed: the plain token and its HMAC in hex.
    let body = r#"{"event":"endpoint.url_validation","payload":{"plainToken":"pt-5"}}"#;
    let zoom = send(signed(
        Provider::Zoom,
        SECRET,
        &gate.url("/webhooks/zoom"),
        body,
        "",
    ))
    .await;
    assert_eq!(zoom.status, 200, "{:?}", zoom.body);
    assert_eq!(zoom.json()["plainToken"], "pt-5");
    assert_eq!(
        zoom.json()["encryptedToken"],
        hex::encode(hmac_sha256(SECRET, "pt-5"))
    );

    assert_eq!(upstream.count(), 0, "no challenge was forwarded");
    // An ordinary signed Slack event still is.
    let event = r#"{"type":"event_callback","event_id":"Ev1"}"#;
    assert_eq!(
        send(signed(
            Provider::Slack,
            SECRET,
            &gate.url("/webhooks/slack"),
            event,
            ""
        ))
        .await
        .status,
        200
    );
    assert_eq!(upstream.count(), 1);
}
