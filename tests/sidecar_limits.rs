//! Bounds on what a client can make hookgate hold: body size, time, rate.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use std::time::{Duration, Instant};

const SECRET: &str = "gh-limits-secret";

fn gate(upstream: &Upstream, route_extra: &str) -> Hookgate {
    Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        route_extra,
        "max_body = \"1KiB\"\nrequest_timeout = \"1s\"",
    ))
}

#[tokio::test]
async fn declared_oversized_body_is_413_before_it_is_read() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    let head = "POST /webhooks/github HTTP/1.1\r\nhost: x\r\ncontent-length: 2000\r\nx-hub-signature-256: sha256=00\r\n\r\n";
    // Only the head is sent: the answer must come without waiting for 2000 bytes.
    let answer = raw(gate.addr, head.as_bytes(), Duration::from_millis(800)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"));
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn chunked_body_that_overflows_is_413() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    let mut bytes = b"POST /webhooks/github HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nx-hub-signature-256: sha256=00\r\n\r\n".to_vec();
    for _ in 0..3 {
        bytes.extend_from_slice(b"200\r\n");
        bytes.extend_from_slice(&[b'a'; 512]);
        bytes.extend_from_slice(b"\r\n");
    }
    let answer = raw(gate.addr, &bytes, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"));
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn a_body_that_stalls_is_408() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    let head = b"POST /webhooks/github HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\nx-hub-signature-256: sha256=00\r\n\r\n{\"partial\":";
    let started = Instant::now();
    let answer = raw(gate.addr, head, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by request_timeout"
    );
}

#[tokio::test]
async fn a_head_that_stalls_is_closed() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    let started = Instant::now();
    let answer = raw(
        gate.addr,
        b"POST /webhooks/github HTTP/1.1\r\nhost: x\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the slow head was cut off: {answer:?}"
    );
    assert!(!answer.contains("200 OK"));
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "rate_limit = { per_second = 1, burst = 2 }");
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..4 {
        let a = gate
            .post(Provider::Github, SECRET, &b"{}"[..], &format!("rl-{i}"))
            .await;
        statuses.push(a.status.as_u16());
        last = Some(a);
    }
    assert_eq!(&statuses[..2], &[200, 200], "the burst passes");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    let limited = last.unwrap();
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"], "rate_limited");
    let retry_after = limited.retry_after();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(upstream.count(), 2);
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_never_smuggled() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    // A request that is framed differently by CL and TE, followed by a hidden second request.
    let attack = b"POST /webhooks/github HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /webhooks/github HTTP/1.1\r\nhost: x\r\n\r\n";
    let answer = raw(gate.addr, attack, Duration::from_secs(3)).await;
    let responses = answer.matches("HTTP/1.1 ").count();
    assert_eq!(
        responses, 1,
        "exactly one answer, the smuggled bytes are not served: {answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        !answer.contains("405"),
        "the smuggled GET was answered: {answer}"
    );
}

#[tokio::test]
async fn connections_beyond_max_connections_wait_for_a_free_slot() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "max_connections = 1\nworkers = 1\nrequest_timeout = \"1500ms\"",
    ));
    // A client that connects and says nothing holds the only slot until its head times out.
    let idle = tokio::net::TcpStream::connect(gate.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let answer = gate
        .post(Provider::Github, SECRET, &b"{}"[..], "slot-1")
        .await;
    let waited = started.elapsed();
    assert_eq!(answer.status, 200);
    assert!(
        waited >= Duration::from_millis(1000),
        "served before the slot was free: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    drop(idle);
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_request_timeout() {
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    let mut idle = tokio::net::TcpStream::connect(gate.addr).await.unwrap();
    let started = Instant::now();
    let read = read_all(&mut idle, Duration::from_secs(5)).await;
    assert!(read.is_empty(), "{read}");
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(900),
        "closed too early: {closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_secs(3),
        "the server kept an idle connection: {closed_after:?}"
    );
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    use tokio::io::AsyncWriteExt;
    let upstream = Upstream::start().await;
    let gate = gate(&upstream, "");
    let mut conn = tokio::net::TcpStream::connect(gate.addr).await.unwrap();
    // The HTTP/2 preface and an empty SETTINGS frame, then silence.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let started = Instant::now();
    let _ = read_all(&mut conn, Duration::from_secs(8)).await;
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(900),
        "closed too early: {closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_secs(5),
        "an idle HTTP/2 connection was kept: {closed_after:?}"
    );
}
