//! `delivery = "queued"` through the real binary: 202 at once, durable across SIGKILL, retries
//! with backoff, dead letters and replay from the CLI, and the queue's bound.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use http::StatusCode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "gh-queue-secret";

fn queued_config(
    upstream: &str,
    queue: &std::path::Path,
    retry: &str,
    queue_extra: &str,
) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
upstream_timeout = "5s"

[queue]
path = "{}"
{queue_extra}

[[route]]
name = "github"
path = "/webhooks/github"
upstream = "{upstream}"
provider = "github"
secrets = ["{SECRET}"]
delivery = "queued"
retry = {retry}
"#,
        queue.display()
    )
}

const FAST_RETRY: &str = r#"{ max_attempts = 50, initial = "50ms", max = "200ms" }"#;

/// A loopback address nothing listens on (yet).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// How many times the upstream received each event id.
fn deliveries(upstream: &Upstream) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for received in upstream.received.lock().unwrap().iter() {
        let id = received.headers["hookgate-event-id"]
            .to_str()
            .unwrap()
            .to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_sigkill_and_are_delivered_once() {
    let dir = TempDir::new();
    let queue = dir.0.join("queue.db");
    let upstream_addr = free_addr();
    let config = queued_config(
        &format!("http://{upstream_addr}/gh"),
        &queue,
        FAST_RETRY,
        "",
    );
    let mut gate = Hookgate::start(&config);
    for i in 0..20 {
        let started = Instant::now();
        let answer = gate
            .post(Provider::Github, SECRET, "{}", &format!("q-{i}"))
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
        assert_eq!(
            answer.json(),
            serde_json::json!({"status": "queued", "event_id": format!("q-{i}")})
        );
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "acknowledged at once"
        );
    }
    // SIGKILL: no drain, no goodbye.
    gate.child.kill().unwrap();
    gate.child.wait().unwrap();
    drop(gate);

    let upstream = Upstream::start_on(upstream_addr).await;
    let _gate = Hookgate::start(&config);
    wait_until("all 20 delivered", Duration::from_secs(20), || {
        upstream.count() >= 20
    });
    std::thread::sleep(Duration::from_millis(500));
    let counts = deliveries(&upstream);
    assert_eq!(counts.len(), 20, "{counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "each exactly once: {counts:?}"
    );
    let first = upstream.last();
    assert_eq!(first.headers["hookgate-route"], "github");
    assert!(first.headers.contains_key("hookgate-attempt"));
    assert!(
        first.headers.contains_key("x-forwarded-for"),
        "forwarded headers are the provider's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_does_not_slow_the_provider_and_retries_are_duplicates() {
    let dir = TempDir::new();
    let upstream = Upstream::scripted(Arc::new(|_| (StatusCode::OK, Duration::from_secs(2)))).await;
    let gate = Hookgate::start(&queued_config(
        &upstream.url("/gh"),
        &dir.0.join("q.db"),
        FAST_RETRY,
        "",
    ));
    let mut slowest = Duration::ZERO;
    for i in 0..5 {
        let started = Instant::now();
        let answer = gate
            .post(Provider::Github, SECRET, "{}", &format!("slow-{i}"))
            .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    assert!(
        slowest < Duration::from_millis(300),
        "acknowledged in {slowest:?}"
    );
    // The provider's retry of a queued event: a duplicate, never queued twice.
    let retry = gate.post(Provider::Github, SECRET, "{}", "slow-0").await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.headers["hookgate-duplicate"], "true");
    wait_until(
        "the slow deliveries complete",
        Duration::from_secs(15),
        || upstream.count() >= 5,
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(upstream.count(), 5);
    let after = gate.post(Provider::Github, SECRET, "{}", "slow-1").await;
    assert_eq!(
        after.headers["hookgate-duplicate"], "true",
        "still a duplicate once delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_then_dead_lettered_and_replayed() {
    let dir = TempDir::new();
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    // "flaky" fails twice then succeeds; everything fails while `healthy` is false.
    let upstream = Upstream::scripted(Arc::new(move |n| {
        let ok = flag.load(Ordering::SeqCst) || n >= 2;
        let status = if ok {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        (status, Duration::ZERO)
    }))
    .await;
    let config = queued_config(
        &upstream.url("/gh"),
        &dir.0.join("q.db"),
        r#"{ max_attempts = 3, initial = "50ms", max = "100ms" }"#,
        "",
    );
    let gate = Hookgate::start(&config);
    assert_eq!(
        gate.post(Provider::Github, SECRET, "{}", "flaky")
            .await
            .status,
        202
    );
    wait_until(
        "delivered on the third attempt",
        Duration::from_secs(10),
        || {
            upstream
                .received
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.headers["hookgate-attempt"] == "3")
        },
    );
    assert_eq!(deliveries(&upstream)["flaky"], 3);

    // An event that keeps failing: after max_attempts it is a dead letter.
    let before = upstream.count();
    let upstream_fails =
        Upstream::scripted(Arc::new(|_| (StatusCode::BAD_GATEWAY, Duration::ZERO))).await;
    let dead_config = queued_config(
        &upstream_fails.url("/gh"),
        &dir.0.join("dead.db"),
        r#"{ max_attempts = 2, initial = "50ms", max = "100ms" }"#,
        "",
    );
    let dead_gate = Hookgate::start(&dead_config);
    assert_eq!(
        dead_gate
            .post(Provider::Github, SECRET, "{}", "doomed")
            .await
            .status,
        202
    );
    let config_file = dead_gate.config_path();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(["queue"])
            .args(args)
            .args(["--config", config_file.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    wait_until("a dead letter", Duration::from_secs(10), || {
        cli(&["dead-letters"]).1.contains("doomed")
    });
    assert_eq!(upstream_fails.count(), 2, "max_attempts attempts, no more");
    let (_, dead) = cli(&["dead-letters"]);
    assert!(
        dead.contains("attempts=2") && dead.contains("502"),
        "{dead}"
    );
    let (code, stats) = cli(&["stats"]);
    assert_eq!(code, Some(0));
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("github") && l.split_whitespace().nth(4) == Some("1")),
        "{stats}"
    );

    // Replayed from the CLI while the sidecar runs: attempted again.
    let (code, replayed) = cli(&["replay", "--route", "github", "--all"]);
    assert_eq!((code, replayed.trim()), (Some(0), "replayed 1"));
    wait_until("the replay is attempted", Duration::from_secs(10), || {
        upstream_fails.count() >= 3
    });
    assert_eq!(upstream.count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_queue_full() {
    let dir = TempDir::new();
    let gate = Hookgate::start(&queued_config(
        &format!("http://{}/gh", free_addr()),
        &dir.0.join("q.db"),
        FAST_RETRY,
        "max_events = 2",
    ));
    assert_eq!(
        gate.post(Provider::Github, SECRET, "{}", "f-1")
            .await
            .status,
        202
    );
    assert_eq!(
        gate.post(Provider::Github, SECRET, "{}", "f-2")
            .await
            .status,
        202
    );
    let full = gate.post(Provider::Github, SECRET, "{}", "f-3").await;
    assert_eq!(full.status, 503);
    assert_eq!(full.json()["error"], "queue_full");
    assert!(full.retry_after() >= 1);
    // Not committed: once there is room, the provider's retry is queued.
    let again = gate.post(Provider::Github, SECRET, "{}", "f-3").await;
    assert_eq!(again.status, 503, "still full");
    assert!(again.headers.get("hookgate-duplicate").is_none());
}

/// The Redis Streams queue shared by two replicas: one is SIGKILLed while it delivers, and
/// the events it had leased are delivered by the other once their lease expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replicas_leased_events_are_delivered_by_the_other() {
    let redis = RedisServer::start();
    let upstream =
        Upstream::scripted(Arc::new(|_| (StatusCode::OK, Duration::from_millis(700)))).await;
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
upstream_timeout = "1s"

[store]
backend = "redis"
url = "{}"
key_prefix = "rq{}:"

[queue]
backend = "redis"

[[route]]
name = "github"
path = "/webhooks/github"
upstream = "{}"
provider = "github"
secrets = ["{SECRET}"]
delivery = "queued"
concurrency = 4
retry = {FAST_RETRY}
"#,
        redis.url(),
        std::process::id(),
        upstream.url("/gh")
    );
    let mut a = Hookgate::start(&config);
    let b = Hookgate::start(&config);
    for i in 0..10 {
        let answer = a
            .post(Provider::Github, SECRET, "{}", &format!("rs-{i}"))
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
    }
    // Let A lease and start delivering, then kill it mid-delivery.
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    wait_until("every event delivered", Duration::from_secs(30), || {
        deliveries(&upstream).len() == 10
    });
    // Nothing stays leased by the dead replica: B reclaims its leases when they expire and
    // completes them, so the queue ends empty (every event delivered at least once).
    let config_file = b.config_path();
    wait_until(
        "the queue drained by the surviving replica",
        Duration::from_secs(30),
        || {
            let out = std::process::Command::new(bin())
                .args(["queue", "stats", "--config", config_file.to_str().unwrap()])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success()
                && text
                    .lines()
                    .filter(|l| l.starts_with("github"))
                    .all(|l| l.split_whitespace().skip(1).take(4).all(|n| n == "0"))
        },
    );
    let counts = deliveries(&upstream);
    assert_eq!(counts.len(), 10, "{counts:?}");
}
