//! What the provider sees when the upstream is down or hangs, and that the event is not lost.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A raw HTTP/1.1 upstream that counts the connections it accepts and closes each one,
/// without warning, after `per_connection` answers (an idle keep-alive timeout, as nginx or
/// a load balancer would apply it). It also records the `Host` each request carried.
async fn closing_upstream(
    per_connection: usize,
) -> (
    std::net::SocketAddr,
    Arc<AtomicUsize>,
    Arc<Mutex<Vec<String>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let hosts = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (accepted.clone(), hosts.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                for _ in 0..per_connection {
                    let Some(head) = read_request(&mut stream, &mut buf).await else {
                        return;
                    };
                    let host = head
                        .lines()
                        .find_map(|l| l.strip_prefix("host: "))
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().push(host);
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(answer).await.is_err() {
                        return;
                    }
                }
                // Closed here, with nothing said: the next request must not be lost to it.
            });
        }
    });
    (addr, accepted, hosts)
}

/// Reads one request (head and `content-length` body) from `stream`; returns its head.
async fn read_request(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                buf.drain(..end + 4 + length);
                return Some(head);
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn upstream_connections_are_reused_and_one_closed_while_idle_loses_nothing() {
    let (addr, accepted, hosts) = closing_upstream(5).await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &format!("http://{addr}/gh"),
        "",
        "workers = 1",
    ));
    for i in 0..12 {
        let answer = gate
            .post(Provider::Github, SECRET, &b"{}"[..], &format!("reuse-{i}"))
            .await;
        assert_eq!(answer.status, 200, "request {i}: {:?}", answer.body);
        // Time for the upstream's close to reach hookgate before the next request.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Keep-alive: one connection per five requests (the upstream closes them after five),
    // not one per request.
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    // The upstream is addressed by its own authority, not the provider's Host.
    assert!(hosts.lock().unwrap().iter().all(|h| *h == addr.to_string()));
}

#[tokio::test]
async fn queued_deliveries_reuse_upstream_connections() {
    let (addr, accepted, hosts) = closing_upstream(1000).await;
    let dir = TempDir::new();
    let gate = Hookgate::start(&format!(
        r#"
[server]
listen = "127.0.0.1:0"
workers = 1

[queue]
path = "{}"

[[route]]
name = "github"
path = "/webhooks/github"
upstream = "http://{addr}/gh"
provider = "github"
secrets = ["{SECRET}"]
delivery = "queued"
concurrency = 1
"#,
        dir.0.join("queue.db").display()
    ));
    for i in 0..10 {
        let answer = gate
            .post(Provider::Github, SECRET, &b"{}"[..], &format!("queued-{i}"))
            .await;
        assert_eq!(answer.status, 202, "event {i}: {:?}", answer.body);
        // One at a time: each delivery ends before the next event arrives.
        let deadline = Instant::now() + Duration::from_secs(10);
        while hosts.lock().unwrap().len() <= i {
            assert!(Instant::now() < deadline, "event {i} was not delivered");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The upstream's answers are read, so one connection carries every delivery.
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
