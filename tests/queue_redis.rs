//! The Redis Streams queue against a real `redis-server`: the life of an event, bounds, and
//! two replicas, one of which dies holding leases that the other takes over.
#![cfg(all(feature = "queue", feature = "redis", feature = "sidecar"))]

mod common;

use bytes::Bytes;
use common::RedisServer;
use hookgate::queue::{
    Enqueued, Event, EventState, Failure, Queue, QueueError, QueueLimits, RedisQueue, Which,
};
use hookgate::store::RedisConfig;
use http::StatusCode;
use std::collections::HashSet;
use std::time::{Duration, SystemTime};

const MINUTE: Duration = Duration::from_secs(60);

fn queue(server: &RedisServer, prefix: &str, limits: QueueLimits) -> RedisQueue {
    let config = RedisConfig::new(server.url())
        .key_prefix(prefix)
        .timeout(Duration::from_secs(2));
    RedisQueue::new(config, limits).unwrap()
}

fn event(route: &str, id: &str) -> Event {
    let mut event = Event::new(
        route,
        id,
        Bytes::from(format!("\x00{{\"id\":\"{id}\"}}\r\n")),
    );
    event.target = format!("/hooks?d={id}");
    event
        .headers
        .append("x-sig", format!("s-{id}").parse().unwrap());
    event.headers.append("x-sig", "again".parse().unwrap());
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_redis_streams() {
    let server = RedisServer::start();
    let queue = queue(&server, "t1:", QueueLimits::default());
    let sent = event("stripe", "a");
    let first = queue.enqueue(sent.clone()).await.unwrap();
    assert!(matches!(first, Enqueued::Queued(_)));
    assert_eq!(
        queue.enqueue(sent.clone()).await.unwrap(),
        Enqueued::AlreadyQueued(first.id().clone())
    );
    queue.enqueue(event("stripe", "b")).await.unwrap();
    queue.enqueue(event("github", "a")).await.unwrap();

    let leased = queue.lease("stripe", 10, MINUTE).await.unwrap();
    assert_eq!(leased.len(), 2);
    assert_eq!(leased[0].event.body, sent.body);
    assert_eq!(leased[0].event.headers, sent.headers);
    assert_eq!(leased[0].event.target, sent.target);
    assert_eq!(leased[0].attempts, 0);
    assert!(queue.lease("stripe", 10, MINUTE).await.unwrap().is_empty());
    let stats = queue.stats(None).await.unwrap();
    assert_eq!(
        stats.iter().map(|s| s.route.as_str()).collect::<Vec<_>>(),
        ["github", "stripe"]
    );
    assert_eq!((stats[1].leased, stats[1].queued), (2, 0));
    assert_eq!(stats[0].queued, 1);

    // Complete one; retry the other after 300 ms.
    assert!(queue.complete(&leased[0].lease).await.unwrap());
    assert!(!queue.complete(&leased[0].lease).await.unwrap());
    assert!(queue
        .retry(
            &leased[1].lease,
            Duration::from_millis(300),
            Failure::status(StatusCode::BAD_GATEWAY)
        )
        .await
        .unwrap());
    assert!(!queue
        .retry(&leased[1].lease, Duration::ZERO, Failure::error("x"))
        .await
        .unwrap());
    assert_eq!(queue.stats(Some("stripe")).await.unwrap()[0].retrying, 1);
    assert!(
        queue.lease("stripe", 10, MINUTE).await.unwrap().is_empty(),
        "not due yet"
    );
    let due = queue.next_due("stripe").await.unwrap().unwrap();
    assert!(due > SystemTime::now());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = queue.lease("stripe", 10, MINUTE).await.unwrap().remove(0);
    assert_eq!((again.event.event_id.as_str(), again.attempts), ("b", 1));
    assert_eq!(
        again.last_failure.unwrap().status,
        Some(StatusCode::BAD_GATEWAY)
    );

    // Bury, list, replay, bury, discard.
    assert!(queue
        .bury(&again.lease, Failure::error("gone"))
        .await
        .unwrap());
    let dead = queue.dead_letters(Some("stripe"), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].event_id.as_str(), dead[0].attempts, dead[0].state),
        ("b", 2, EventState::Dead)
    );
    assert_eq!(
        queue
            .replay("stripe", Which::EventId("b".into()))
            .await
            .unwrap(),
        1
    );
    let replayed = queue.lease("stripe", 10, MINUTE).await.unwrap().remove(0);
    assert_eq!(replayed.attempts, 0);
    queue
        .bury(&replayed.lease, Failure::error("gone"))
        .await
        .unwrap();
    assert_eq!(
        queue
            .replay("stripe", Which::Id(dead[0].id.clone()))
            .await
            .unwrap(),
        1
    );
    let replayed = queue.lease("stripe", 10, MINUTE).await.unwrap().remove(0);
    queue
        .bury(&replayed.lease, Failure::error("gone"))
        .await
        .unwrap();
    assert_eq!(queue.discard("stripe", Which::All).await.unwrap(), 1);
    assert!(queue.find("stripe", "b").await.unwrap().is_none());
    assert!(queue.find("github", "a").await.unwrap().is_some());
    assert!(queue.stats(Some("stripe")).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounds_on_redis() {
    let server = RedisServer::start();
    let queue = queue(&server, "t2:", QueueLimits::new(2, u64::MAX));
    queue.enqueue(event("r", "1")).await.unwrap();
    queue.enqueue(event("r", "2")).await.unwrap();
    let full = queue.enqueue(event("r", "3")).await.unwrap_err();
    assert!(
        matches!(
            full,
            QueueError::Full {
                limit: "max_events"
            }
        ),
        "{full}"
    );
    let leased = queue.lease("r", 1, MINUTE).await.unwrap().remove(0);
    queue.complete(&leased.lease).await.unwrap();
    queue.enqueue(event("r", "3")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replicas_leases_are_taken_over() {
    let server = RedisServer::start();
    let a = queue(&server, "t3:", QueueLimits::default());
    let b = queue(&server, "t3:", QueueLimits::default());
    for i in 0..10 {
        a.enqueue(event("r", &i.to_string())).await.unwrap();
    }
    // Replica A leases six and dies; B delivers the other four at once.
    let held_by_a = a.lease("r", 6, Duration::from_millis(300)).await.unwrap();
    assert_eq!(held_by_a.len(), 6);
    let first = b.lease("r", 10, Duration::from_millis(300)).await.unwrap();
    assert_eq!(first.len(), 4);
    for leased in &first {
        assert!(b.complete(&leased.lease).await.unwrap());
    }
    assert!(
        b.lease("r", 10, MINUTE).await.unwrap().is_empty(),
        "A's leases still hold"
    );
    drop(a);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken: Vec<_> = b.lease("r", 10, MINUTE).await.unwrap();
    assert_eq!(
        taken
            .iter()
            .map(|l| l.event.event_id.clone())
            .collect::<HashSet<_>>(),
        held_by_a
            .iter()
            .map(|l| l.event.event_id.clone())
            .collect::<HashSet<_>>()
    );
    assert!(
        taken.iter().all(|l| l.attempts == 1),
        "the expired lease counts as an attempt"
    );
    // A's stale lease can no longer reschedule (were it still alive).
    let late = queue(&server, "t3:", QueueLimits::default());
    assert!(!late
        .retry(&held_by_a[0].lease, Duration::ZERO, Failure::error("late"))
        .await
        .unwrap());
    for leased in &taken {
        assert!(b.complete(&leased.lease).await.unwrap());
    }
    assert!(b.stats(Some("r")).await.unwrap().is_empty());
}
