//! What the provider sees when the upstream is down or hangs, and that the event is not lost.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use std::time::{Duration, Instant};

const SECRET: &str = "gh-upstream-secret";

#[tokio::test]
async fn upstream_down_is_502_and_the_retry_is_delivered_once_it_is_back() {
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &format!("http://127.0.0.1:{port}/gh"),
        "",
        "",
    ));
    let req = || gate.signed_request(Provider::Github, SECRET, &b"{}"[..], "down-1");
    let answer = send(req()).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.json()["error"], "upstream_unavailable");
    assert!(
        !answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "no internal detail"
    );

    // The claim was released: once the upstream is up, the provider's retry goes through.
    let upstream = Upstream::start_on(format!("127.0.0.1:{port}").parse().unwrap()).await;
    let retry = send(req()).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(upstream.count(), 1);
    assert_eq!(upstream.last().headers["hookgate-event-id"], "down-1");
}

#[tokio::test]
async fn upstream_that_hangs_is_504_within_the_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &format!("http://{addr}/gh"),
        "",
        "upstream_timeout = \"1s\"",
    ));
    let started = Instant::now();
    let answer = gate
        .post(Provider::Github, SECRET, &b"{}"[..], "hang-1")
        .await;
    assert_eq!(answer.status, 504);
    assert_eq!(answer.json()["error"], "upstream_timeout");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Not delivered, so not remembered: the retry is forwarded again (and times out again).
    let retry = gate
        .post(Provider::Github, SECRET, &b"{}"[..], "hang-1")
        .await;
    assert_eq!(retry.status, 504, "a timed-out event is not a duplicate");
}
