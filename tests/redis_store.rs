//! Replicas sharing one real `redis-server` (and a real 3-node Redis Cluster): dedup, claims,
//! the shared rate limit and Redis failures, through in-process sidecars and real sockets.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use hookgate::store::{Claim, RedisConfig, RedisStore, SeenStore, StoreKey};
use http::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "gh-redis-secret";

/// A replica's config: the GitHub route in front of `upstream`, on `redis_url`.
fn replica(upstream: &Upstream, store: &str, route_extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
workers = 2
upstream_timeout = "5s"

{store}

[[route]]
name = "github"
path = "/webhooks/github"
upstream = "{}"
provider = "github"
secrets = ["{SECRET}"]
{route_extra}
"#,
        upstream.url("/gh")
    )
}

fn redis_store(url: &str) -> String {
    format!(
        "[store]\nbackend = \"redis\"\nurl = \"{url}\"\nkey_prefix = \"t{}-{}:\"\ntimeout = \"300ms\"",
        std::process::id(),
        now()
    )
}

async fn post(gate: &InProcess, id: &str) -> Answer {
    send(signed(
        Provider::Github,
        SECRET,
        &gate.url("/webhooks/github"),
        format!(r#"{{"n":"{id}"}}"#),
        id,
    ))
    .await
}

/// Posts until the answer is not 503 (a replica's connections reconnect on their own, each
/// at its next use), for at most 15 s.
async fn post_once_up(gate: &InProcess, id: &str) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = post(gate, id).await;
        if answer.status != 503 || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn is_duplicate(answer: &Answer) -> bool {
    answer.status == 200 && answer.headers.get("hookgate-duplicate").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_exactly_once() {
    let redis = RedisServer::start();
    let upstream =
        Upstream::scripted(Arc::new(|_| (StatusCode::OK, Duration::from_millis(30)))).await;
    let store = redis_store(&redis.url());
    let a = Arc::new(InProcess::start(&replica(&upstream, &store, "")).await);
    let b = Arc::new(InProcess::start(&replica(&upstream, &store, "")).await);

    let mut copies = tokio::task::JoinSet::new();
    for event in 0..50 {
        for copy in 0..4 {
            let gate = if copy % 2 == 0 { a.clone() } else { b.clone() };
            copies.spawn(async move { (event, post(&gate, &format!("evt-{event}")).await) });
        }
    }
    let mut delivered = vec![0usize; 50];
    while let Some(result) = copies.join_next().await {
        let (event, answer) = result.unwrap();
        match answer.status.as_u16() {
            200 if !is_duplicate(&answer) => delivered[event] += 1,
            200 => {}
            409 => assert_eq!(answer.json()["error"], "in_flight"),
            other => panic!("event {event}: unexpected {other}: {:?}", answer.body),
        }
    }
    assert!(delivered.iter().all(|&n| n == 1), "{delivered:?}");
    let mut ids: Vec<String> = upstream
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.headers["hookgate-event-id"].to_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (upstream.count(), ids.len()),
        (50, 50),
        "each event reached the upstream once"
    );

    // A provider's late retry is a duplicate on either replica.
    assert!(is_duplicate(&post(&a, "evt-7").await));
    assert!(is_duplicate(&post(&b, "evt-7").await));
    assert_eq!(upstream.count(), 50);
}

#[tokio::test]
async fn an_upstream_500_on_one_replica_lets_the_retry_on_the_other_through() {
    let redis = RedisServer::start();
    let upstream = Upstream::scripted(Arc::new(|n| {
        let status = if n == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        (status, Duration::ZERO)
    }))
    .await;
    let store = redis_store(&redis.url());
    let a = InProcess::start(&replica(&upstream, &store, "")).await;
    let b = InProcess::start(&replica(&upstream, &store, "")).await;
    assert_eq!(post(&a, "evt-500").await.status, 500, "relayed as it is");
    let retry = post(&b, "evt-500").await;
    assert_eq!(retry.status, 200);
    assert!(
        !is_duplicate(&retry),
        "the retry was delivered, not taken for a duplicate"
    );
    assert_eq!(upstream.count(), 2);
    assert!(is_duplicate(&post(&a, "evt-500").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_with_nothing_forwarded_and_back_without_a_restart() {
    let mut redis = RedisServer::start();
    let upstream = Upstream::start().await;
    let store = redis_store(&redis.url());
    let a = InProcess::start(&replica(&upstream, &store, "")).await;
    let b = InProcess::start(&replica(&upstream, &store, "")).await;
    assert_eq!(post(&a, "before").await.status, 200);
    let readyz = |gate: &InProcess| {
        let admin = gate.admin.unwrap();
        async move { admin_get(admin, "/readyz").await }
    };
    assert!(readyz(&a).await.starts_with("HTTP/1.1 200"));

    // Redis is killed while both replicas are under load: every request is either delivered
    // (200) or refused (503 store_unavailable), and exactly the delivered ones reached the
    // upstream.
    let a = Arc::new(a);
    let b = Arc::new(b);
    let mut load = tokio::task::JoinSet::new();
    for i in 0..200 {
        let gate = if i % 2 == 0 { a.clone() } else { b.clone() };
        load.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i * 2)).await;
            let id = format!("load-{i}");
            (id.clone(), post(&gate, &id).await)
        });
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    redis.kill();
    let mut answered_200 = std::collections::BTreeSet::new();
    while let Some(result) = load.join_next().await {
        let (id, answer) = result.unwrap();
        match answer.status.as_u16() {
            200 => assert!(answered_200.insert(id)),
            503 => assert_eq!(answer.json()["error"], "store_unavailable"),
            other => panic!("{id}: unexpected {other}"),
        }
    }
    let forwarded: std::collections::BTreeSet<String> = upstream
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.headers["hookgate-event-id"].to_str().unwrap().to_owned())
        .filter(|id| id.starts_with("load-"))
        .collect();
    assert_eq!(
        forwarded, answered_200,
        "forwarded exactly the events answered 200"
    );
    assert!(answered_200.len() < 200, "the kill happened mid-load");
    let before = upstream.count();

    for gate in [&*a, &*b] {
        let answer = post(gate, "during").await;
        assert_eq!(answer.status, 503);
        assert_eq!(answer.json()["error"], "store_unavailable");
        assert!(readyz(gate).await.starts_with("HTTP/1.1 503"));
    }
    assert_eq!(
        upstream.count(),
        before,
        "nothing forwarded while Redis is down"
    );

    redis.restart();
    // The replicas reconnect on their own; the provider's retry is then delivered (it was
    // never marked delivered), on either replica.
    let answer = post_once_up(&b, "during").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(!is_duplicate(&answer));
    assert_eq!(upstream.count(), before + 1);
    assert!(is_duplicate(&post_once_up(&a, "during").await));
    assert!(readyz(&a).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_expired_claim_never_commits_over_or_releases_a_later_claim() {
    let redis = RedisServer::start();
    let config = RedisConfig::new(redis.url()).key_prefix(format!("claims-{}:", now()));
    let a = RedisStore::new(config.clone()).unwrap();
    let b = RedisStore::new(config.clone()).unwrap();
    let key = StoreKey::new("github", "evt-slow");
    let Claim::New(slow) = a.claim(&key, Duration::from_millis(200)).await.unwrap() else {
        panic!("first claim")
    };
    // A's delivery outlives its claim; B takes the event.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let Claim::New(fresh) = b.claim(&key, Duration::from_secs(30)).await.unwrap() else {
        panic!("the expired claim is free again")
    };
    // A finishes late: neither its commit nor its release touches B's claim.
    a.commit(&key, slow, Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(matches!(
        b.claim(&key, Duration::from_secs(30)).await.unwrap(),
        Claim::InFlight { .. }
    ));
    a.release(&key, slow).await.unwrap();
    assert!(matches!(
        a.claim(&key, Duration::from_secs(30)).await.unwrap(),
        Claim::InFlight { .. }
    ));
    // B's own commit lands.
    b.commit(&key, fresh, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        a.claim(&key, Duration::from_secs(30)).await.unwrap(),
        Claim::Delivered
    );
    // A remembered id costs one key of a fixed size, whatever the id's length.
    let keys = redis.command(&["--scan", "--pattern", "claims-*"]).unwrap();
    assert_eq!(keys.lines().count(), 1, "{keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_rate_limit_admits_the_rate_once_for_all_replicas() {
    let redis = RedisServer::start();
    let upstream = Upstream::start().await;
    let store = redis_store(&redis.url());
    let limit = "rate_limit = { per_second = 5, burst = 5, shared = true }";
    let a = InProcess::start(&replica(&upstream, &store, limit)).await;
    let b = InProcess::start(&replica(&upstream, &store, limit)).await;
    let started = Instant::now();
    let mut admitted = 0u64;
    let mut limited = None;
    for i in 0..40 {
        let gate = if i % 2 == 0 { &a } else { &b };
        let answer = post(gate, &format!("rl-{i}")).await;
        match answer.status.as_u16() {
            200 => admitted += 1,
            429 => limited = Some(answer),
            other => panic!("unexpected {other}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The burst plus the steady rate over the run, once: not twice that.
    let allowed = 5 + (elapsed * 5.0).ceil() as u64;
    assert!(
        admitted >= 5 && admitted <= allowed,
        "{admitted} admitted in {elapsed:.2}s"
    );
    assert!(
        admitted < 10,
        "two replicas did not each admit the burst: {admitted}"
    );
    let limited = limited.expect("some requests were limited");
    assert_eq!(limited.json()["error"], "rate_limited");
    assert!(limited.retry_after() >= 1);
}

#[tokio::test]
async fn a_shared_rate_limit_needs_a_shared_store() {
    let error = hookgate::config::Config::from_toml(&format!(
        r#"
[[route]]
name = "github"
path = "/gh"
upstream = "http://127.0.0.1:1/gh"
provider = "github"
secrets = ["{SECRET}"]
rate_limit = {{ per_second = 5, shared = true }}
"#
    ))
    .unwrap_err();
    assert!(error.message.contains("backend = \"redis\""), "{error}");
    assert_eq!(error.line, 8);
}

/// Three `redis-server --cluster-enabled yes` joined by `redis-cli --cluster create`.
struct Cluster {
    nodes: Vec<RedisServer>,
}

impl Cluster {
    fn start() -> Cluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| RedisServer::start_with(&["--cluster-enabled", "yes"]))
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = std::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "redis-cli --cluster create");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes.iter().all(|n| {
            n.command(&["CLUSTER", "INFO"])
                .is_some_and(|info| info.contains("cluster_state:ok"))
        }) {
            assert!(
                Instant::now() < deadline,
                "the cluster did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Cluster { nodes }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_holds_claims_and_commits_across_slots() {
    let cluster = Cluster::start();
    let upstream = Upstream::start().await;
    let store = format!(
        "[store]\nbackend = \"redis\"\ncluster = true\nurl = [\"{}\"]\nkey_prefix = \"c{}:\"",
        cluster.nodes[0].url(),
        now()
    );
    let a = InProcess::start(&replica(&upstream, &store, "")).await;
    let b = InProcess::start(&replica(&upstream, &store, "")).await;
    for i in 0..30 {
        let answer = post(&a, &format!("c-{i}")).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert!(!is_duplicate(&answer));
        assert!(
            is_duplicate(&post(&b, &format!("c-{i}")).await),
            "event {i}"
        );
    }
    assert_eq!(upstream.count(), 30);
    // The keys landed on every node (spread over slots), not on one.
    for node in &cluster.nodes {
        let keys = node.command(&["DBSIZE"]).unwrap();
        assert!(
            keys.trim().parse::<u64>().unwrap() > 0,
            "a node holds no key"
        );
    }
}
