//! Defects found by trying the sidecar as an attacker and a reviewer would, each guarded here
//! through the real binary and real sockets.
#![cfg(feature = "sidecar")]

mod common;

use bytes::Bytes;
use common::*;
use hookgate::core::Provider;
use http::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SECRET: &str = "gh-hardening-secret";

/// Two events whose numeric ids differ only past f64's precision are two events: both are
/// delivered (an id is the number's exact JSON text).
#[tokio::test]
async fn numeric_event_ids_keep_their_exact_text() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        r#"event_id = "json:/n""#,
        "",
    ));
    for (i, n) in [
        "123456789012345678901234567890",
        "123456789012345678901234567891",
    ]
    .into_iter()
    .enumerate()
    {
        let body = format!(r#"{{"n":{n}}}"#);
        let answer = gate
            .post(Provider::Github, SECRET, body, &format!("d-{i}"))
            .await;
        assert_eq!(answer.status, 200, "event {n}");
        assert!(
            answer.headers.get("hookgate-duplicate").is_none(),
            "event {n}"
        );
        assert_eq!(upstream.last().headers["hookgate-event-id"], n);
    }
    assert_eq!(upstream.count(), 2, "both events reached the upstream");
}

/// Route `a:b` with event `c` and route `a` with event `b:c` are two events in one store.
#[tokio::test]
async fn store_keys_are_unambiguous_in_route_and_event_id() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&format!(
        r#"
[server]
listen = "127.0.0.1:0"

[[route]]
name = "a:b"
path = "/one"
upstream = "{up}"
provider = "github"
secrets = ["{SECRET}"]

[[route]]
name = "a"
path = "/two"
upstream = "{up}"
provider = "github"
secrets = ["{SECRET}"]
"#,
        up = upstream.url("/gh")
    ));
    let first = send(signed(
        Provider::Github,
        SECRET,
        &gate.url("/one"),
        "{}",
        "c",
    ))
    .await;
    let second = send(signed(
        Provider::Github,
        SECRET,
        &gate.url("/two"),
        "{}",
        "b:c",
    ))
    .await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (200, 200));
    assert!(second.headers.get("hookgate-duplicate").is_none());
    assert_eq!(
        upstream.count(),
        2,
        "the second event was not taken for the first"
    );
}

/// A signed event whose id carries a newline cannot start a log line of its own, in the text
/// format or the JSON one.
#[tokio::test]
async fn request_data_cannot_forge_a_log_line() {
    const FORGED: &str = "2026-01-01T00:00:00.000000Z  INFO hookgate: admin login accepted";
    for format in ["text", "json"] {
        let upstream = Upstream::start().await;
        let gate = Hookgate::start(&config(
            "github",
            SECRET,
            &upstream.url("/gh"),
            r#"event_id = "json:/id""#,
            &format!(r#"log_format = "{format}""#),
        ));
        let body = serde_json::json!({ "id": format!("evt\n{FORGED}\r\n{FORGED}") }).to_string();
        assert_eq!(
            gate.post(Provider::Github, SECRET, body.clone(), "x")
                .await
                .status,
            200
        );
        // The duplicate logs the id too, and an unknown path logs the path.
        assert_eq!(
            gate.post(Provider::Github, SECRET, body, "x").await.status,
            200
        );
        let path = format!("/nope%0A{}", FORGED.replace(' ', "%20"));
        send(signed(
            Provider::Github,
            SECRET,
            &gate.url(&path),
            "{}",
            "y",
        ))
        .await;
        // Let the last lines reach the log reader.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !gate.logs().iter().any(|l| l.contains("no webhook route")) {
            assert!(std::time::Instant::now() < deadline, "{:?}", gate.logs());
            std::thread::sleep(Duration::from_millis(20));
        }
        let logs = gate.logs();
        assert!(
            logs.iter()
                .any(|l| l.contains("delivered") && l.contains("admin login")),
            "{format}: the id is logged, escaped, on the delivered line: {logs:?}"
        );
        for line in &logs {
            assert!(
                !line.starts_with("2026-01-01"),
                "{format}: forged line: {line}"
            );
            if format == "json" {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|_| panic!("every line is one JSON object: {line}"));
            }
        }
    }
}

/// A body that sends `left` bytes, then stalls without ever ending.
struct StallAfter {
    left: usize,
}

impl http_body::Body for StallAfter {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Pending;
        }
        let n = self.left.min(16 * 1024);
        self.left -= n;
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![b'x'; n])))))
    }
}

/// 4 HTTP/2 connections × 128 streams, each pushing just under `max_body` and never ending,
/// held 488 MiB before the buffer budget. Now the process stays under 200 MiB, and once the
/// flood stops a signed event is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_flood_is_bounded_by_the_buffer_budget() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "max_body = \"1MiB\"\nrequest_timeout = \"30s\"",
    ));
    let pid = gate.child.id();
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let stream = TcpStream::connect(gate.addr).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        flood.spawn(async move {
            let _ = connection.await;
        });
        for _ in 0..128 {
            let mut sender = sender.clone();
            let request = Request::post(gate.url("/webhooks/github"))
                .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
                .body(StallAfter {
                    left: 1024 * 1024 - 1,
                })
                .unwrap();
            flood.spawn(async move {
                let _ = sender.ready().await;
                let _ = sender.send_request(request).await;
            });
        }
    }
    // Long enough for every stream that can be read to be read.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let peak = peak_rss(pid);
    println!(
        "peak RSS under the HTTP/2 flood: {} MiB",
        peak / (1024 * 1024)
    );
    assert!(
        peak < 200 * 1024 * 1024,
        "peak RSS {} MiB under the flood",
        peak / (1024 * 1024)
    );

    // The flood stops (its connections close); the budget comes back and an event gets in.
    flood.abort_all();
    while flood.join_next().await.is_some() {}
    let answer = gate
        .post(Provider::Github, SECRET, "{}", "after-flood")
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(upstream.count(), 1);
}

/// 300 connections that send half a request line to the admin listener are closed after
/// `request_timeout`, like the main listener's, and the admin endpoints keep answering.
#[tokio::test]
async fn the_admin_listener_is_bounded_like_the_main_one() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "admin_listen = \"127.0.0.1:0\"\nrequest_timeout = \"1s\"\nmax_connections = 400",
    ));
    let admin = gate.admin_addr();
    let mut streams = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(admin).await.unwrap();
        stream.write_all(b"GET /heal").await.unwrap();
        streams.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut closed = 0;
    for stream in &mut streams {
        // Closed: the read ends at once (EOF, maybe after a 408); open: it would wait.
        let _ = read_all(stream, Duration::from_millis(20)).await;
        let mut probe = [0u8; 1];
        let eof = matches!(
            tokio::time::timeout(
                Duration::from_millis(20),
                tokio::io::AsyncReadExt::read(stream, &mut probe)
            )
            .await,
            Ok(Ok(0)) | Ok(Err(_))
        );
        closed += usize::from(eof);
    }
    assert_eq!(closed, 300, "every half-sent request was closed");
    let health = admin_get(admin, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
}

/// The sidecar runs in-process, as embedders run it: it verifies, forwards, answers its
/// admin endpoints, and drains and returns when told to stop.
#[tokio::test]
async fn the_sidecar_runs_in_process_and_stops_cleanly() {
    let upstream = Upstream::start().await;
    let gate = InProcess::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "admin_listen = \"127.0.0.1:0\"",
    ))
    .await;
    let url = gate.url("/webhooks/github");
    assert_eq!(
        send(signed(Provider::Github, SECRET, &url, "{}", "in-1"))
            .await
            .status,
        200
    );
    assert_eq!(upstream.last().headers["hookgate-event-id"], "in-1");
    let duplicate = send(signed(Provider::Github, SECRET, &url, "{}", "in-1")).await;
    assert_eq!(duplicate.headers["hookgate-duplicate"], "true");
    let admin = gate.admin.unwrap();
    let metrics = admin_get(admin, "/metrics").await;
    assert!(
        metrics
            .contains(r#"hookgate_requests_total{route="github",outcome="duplicate",error=""} 1"#),
        "{metrics}"
    );
    gate.stop().await.unwrap();
    assert!(
        TcpStream::connect(url.trim_start_matches("http://").split('/').next().unwrap())
            .await
            .is_err(),
        "the listener is closed after stop"
    );
}
