//! The embedded delivery queue on a real file: the whole life of an event, bounds, leases
//! that expire, a second handle on the same file, and a writer process SIGKILLed mid-burst.
#![cfg(feature = "queue")]

use bytes::Bytes;
use hookgate::queue::{
    Enqueued, Event, EventState, Failure, Queue, QueueError, QueueLimits, SqliteQueue, Which,
};
use http::StatusCode;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

const MINUTE: Duration = Duration::from_secs(60);

/// A directory of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hookgate-queue-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("queue.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &TempDir) -> SqliteQueue {
    SqliteQueue::open(dir.db(), QueueLimits::default()).unwrap()
}

fn event(route: &str, id: &str) -> Event {
    let mut event = Event::new(route, id, Bytes::from(format!("{{\"id\":\"{id}\"}}")));
    event.target = format!("/hooks/{route}?delivery={id}");
    event
        .headers
        .insert("content-type", "application/json".parse().unwrap());
    event
        .headers
        .append("x-signature", format!("sig-{id}").parse().unwrap());
    event.headers.append("x-repeat", "1".parse().unwrap());
    event.headers.append("x-repeat", "2".parse().unwrap());
    event
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn enqueue_lease_complete_keeps_every_byte() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        let mut sent = event("stripe", "evt_1");
        sent.body = Bytes::from_static(b"\x00\xff raw \r\n bytes");
        sent.method = http::Method::PUT;
        assert!(matches!(
            queue.enqueue(sent.clone()).await.unwrap(),
            Enqueued::Queued(_)
        ));
        queue.enqueue(event("stripe", "evt_2")).await.unwrap();
        queue.enqueue(event("github", "evt_1")).await.unwrap();

        let leased = queue.lease("stripe", 10, MINUTE).await.unwrap();
        assert_eq!(leased.len(), 2);
        let first = &leased[0];
        // Byte for byte, headers in order with repeats, and the arrival time to the ms.
        assert_eq!(first.event.body, sent.body);
        assert_eq!(first.event.headers, sent.headers);
        assert_eq!(first.event.method, http::Method::PUT);
        assert_eq!(first.event.target, "/hooks/stripe?delivery=evt_1");
        assert_eq!(
            (first.event.route.as_str(), first.event.event_id.as_str()),
            ("stripe", "evt_1")
        );
        let arrived_ms = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis()
        };
        assert_eq!(arrived_ms(first.event.arrived), arrived_ms(sent.arrived));
        assert_eq!((first.attempts, first.last_failure.clone()), (0, None));

        // Leased events are not handed out twice; the other route is untouched.
        assert!(queue.lease("stripe", 10, MINUTE).await.unwrap().is_empty());
        let stats = queue.stats(None).await.unwrap();
        assert_eq!(stats.len(), 2);
        assert_eq!((stats[0].route.as_str(), stats[0].queued), ("github", 1));
        assert_eq!(
            (stats[1].route.as_str(), stats[1].leased, stats[1].queued),
            ("stripe", 2, 0)
        );
        assert!(stats[1].bytes > 0 && stats[1].oldest.is_some());

        assert!(queue.complete(&first.lease).await.unwrap());
        assert!(!queue.complete(&first.lease).await.unwrap(), "already gone");
        assert!(queue.find("stripe", "evt_1").await.unwrap().is_none());
        let held = queue.find("stripe", "evt_2").await.unwrap().unwrap();
        assert!(matches!(held.state, EventState::Leased { .. }));
        assert!(queue.complete(&leased[1].lease).await.unwrap());
        assert!(queue.stats(Some("stripe")).await.unwrap().is_empty());
        assert_eq!(queue.stats(Some("github")).await.unwrap()[0].queued, 1);
    });
}

#[test]
fn one_event_per_route_and_id() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        let first = queue.enqueue(event("r", "e")).await.unwrap();
        let again = queue.enqueue(event("r", "e")).await.unwrap();
        assert_eq!(again, Enqueued::AlreadyQueued(first.id().clone()));
        // Leased or dead, it is still held.
        let leased = queue.lease("r", 1, MINUTE).await.unwrap();
        assert!(matches!(
            queue.enqueue(event("r", "e")).await.unwrap(),
            Enqueued::AlreadyQueued(_)
        ));
        queue
            .bury(&leased[0].lease, Failure::error("x"))
            .await
            .unwrap();
        assert!(matches!(
            queue.enqueue(event("r", "e")).await.unwrap(),
            Enqueued::AlreadyQueued(_)
        ));
        // Another route, or once delivered: a new event.
        assert!(matches!(
            queue.enqueue(event("r2", "e")).await.unwrap(),
            Enqueued::Queued(_)
        ));
        queue.discard("r", Which::All).await.unwrap();
        let next = queue.enqueue(event("r", "e")).await.unwrap();
        assert!(matches!(next, Enqueued::Queued(_)));
        assert_ne!(next.id(), first.id(), "ids are never reused");
    });
}

#[test]
fn retry_waits_then_counts_the_attempt() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        queue.enqueue(event("r", "e")).await.unwrap();
        let leased = queue.lease("r", 1, MINUTE).await.unwrap().remove(0);
        let retried = queue
            .retry(
                &leased.lease,
                Duration::from_millis(400),
                Failure::status(StatusCode::SERVICE_UNAVAILABLE),
            )
            .await
            .unwrap();
        assert!(retried);
        assert!(
            !queue
                .retry(&leased.lease, Duration::ZERO, Failure::error("x"))
                .await
                .unwrap(),
            "the lease is spent"
        );
        let stats = &queue.stats(Some("r")).await.unwrap()[0];
        assert_eq!((stats.queued, stats.leased, stats.retrying), (0, 0, 1));
        assert!(
            queue.lease("r", 1, MINUTE).await.unwrap().is_empty(),
            "not due yet"
        );
        let due = queue.next_due("r").await.unwrap().unwrap();
        assert!(due > SystemTime::now() && due < SystemTime::now() + Duration::from_millis(450));

        tokio::time::sleep(Duration::from_millis(450)).await;
        let again = queue.lease("r", 1, MINUTE).await.unwrap().remove(0);
        assert_eq!(again.attempts, 1);
        assert_eq!(
            again.last_failure.unwrap().status,
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(queue.complete(&again.lease).await.unwrap());
        assert_eq!(queue.next_due("r").await.unwrap(), None);
    });
}

#[test]
fn an_expired_lease_comes_back_and_its_worker_can_no_longer_reschedule_it() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        queue.enqueue(event("r", "e")).await.unwrap();
        let dead_worker = queue
            .lease("r", 1, Duration::from_millis(150))
            .await
            .unwrap()
            .remove(0);
        assert!(queue.lease("r", 1, MINUTE).await.unwrap().is_empty());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stats = &queue.stats(Some("r")).await.unwrap()[0];
        assert_eq!(
            stats.leased, 0,
            "an expired lease is not counted as in delivery"
        );

        let other = queue.lease("r", 1, MINUTE).await.unwrap().remove(0);
        assert_eq!(other.lease.id, dead_worker.lease.id);
        assert_eq!(other.attempts, 1, "the expired lease counts as an attempt");
        assert_eq!(other.last_failure.as_ref().unwrap().reason, "lease expired");
        assert!(!queue
            .retry(&dead_worker.lease, Duration::ZERO, Failure::error("late"))
            .await
            .unwrap());
        assert!(!queue
            .bury(&dead_worker.lease, Failure::error("late"))
            .await
            .unwrap());
        assert!(queue
            .retry(&other.lease, Duration::ZERO, Failure::error("timeout"))
            .await
            .unwrap());
        assert_eq!(queue.lease("r", 1, MINUTE).await.unwrap()[0].attempts, 2);
    });
}

#[test]
fn bury_list_replay_discard() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        for id in ["a", "b", "c"] {
            queue.enqueue(event("r", id)).await.unwrap();
        }
        queue.enqueue(event("other", "z")).await.unwrap();
        for leased in queue.lease("r", 10, MINUTE).await.unwrap() {
            assert!(queue
                .bury(&leased.lease, Failure::status(StatusCode::GONE))
                .await
                .unwrap());
        }
        let dead = queue.dead_letters(Some("r"), 100).await.unwrap();
        assert_eq!(
            dead.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert!(dead
            .iter()
            .all(|d| d.state == EventState::Dead && d.attempts == 1));
        assert_eq!(
            dead[0].last_failure.as_ref().unwrap().status,
            Some(StatusCode::GONE)
        );
        assert_eq!(queue.dead_letters(None, 2).await.unwrap().len(), 2);
        assert!(queue
            .dead_letters(Some("other"), 100)
            .await
            .unwrap()
            .is_empty());
        assert!(
            queue.lease("r", 10, MINUTE).await.unwrap().is_empty(),
            "dead letters are not delivered"
        );
        let stats = &queue.stats(Some("r")).await.unwrap()[0];
        assert_eq!((stats.dead, stats.queued, stats.oldest), (3, 0, None));

        // Replay one by event id, one by queue id; the wrong route replays nothing.
        assert_eq!(
            queue
                .replay("other", Which::EventId("a".into()))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            queue.replay("r", Which::EventId("a".into())).await.unwrap(),
            1
        );
        assert_eq!(
            queue.replay("r", Which::EventId("a".into())).await.unwrap(),
            0,
            "no longer dead"
        );
        assert_eq!(
            queue
                .replay("r", Which::Id(dead[1].id.clone()))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            queue
                .replay("r", Which::Id("not-a-number".parse().unwrap()))
                .await
                .unwrap(),
            0
        );
        let replayed = queue.lease("r", 10, MINUTE).await.unwrap();
        assert_eq!(
            replayed
                .iter()
                .map(|l| l.event.event_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(replayed.iter().all(|l| l.attempts == 0), "attempts reset");
        for leased in &replayed {
            queue
                .bury(&leased.lease, Failure::error("still failing"))
                .await
                .unwrap();
        }
        assert_eq!(queue.replay("r", Which::All).await.unwrap(), 3);
        assert_eq!(queue.lease("r", 10, MINUTE).await.unwrap().len(), 3);

        queue.enqueue(event("r", "d")).await.unwrap();
        let leased = queue.lease("r", 1, MINUTE).await.unwrap().remove(0);
        queue
            .bury(&leased.lease, Failure::error("x"))
            .await
            .unwrap();
        assert_eq!(
            queue
                .discard("r", Which::EventId("nope".into()))
                .await
                .unwrap(),
            0
        );
        assert_eq!(queue.discard("r", Which::All).await.unwrap(), 1);
        assert!(queue.find("r", "d").await.unwrap().is_none());
    });
}

#[test]
fn bounds_answer_queue_full_and_free_up_on_delivery() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = SqliteQueue::open(dir.db(), QueueLimits::new(3, u64::MAX)).unwrap();
        for id in ["1", "2", "3"] {
            queue.enqueue(event("r", id)).await.unwrap();
        }
        let full = queue.enqueue(event("r", "4")).await.unwrap_err();
        assert!(
            matches!(
                full,
                QueueError::Full {
                    limit: "max_events"
                }
            ),
            "{full}"
        );
        // A duplicate of a held event is still recognised when full.
        assert!(matches!(
            queue.enqueue(event("r", "1")).await.unwrap(),
            Enqueued::AlreadyQueued(_)
        ));
        let leased = queue.lease("r", 1, MINUTE).await.unwrap().remove(0);
        queue
            .bury(&leased.lease, Failure::error("x"))
            .await
            .unwrap();
        assert!(
            queue.enqueue(event("r", "4")).await.is_err(),
            "dead letters count"
        );
        queue.discard("r", Which::All).await.unwrap();
        queue.enqueue(event("r", "4")).await.unwrap();
        drop(queue);

        let one = event("b", "x").size();
        let dir = TempDir::new();
        let queue = SqliteQueue::open(dir.db(), QueueLimits::new(100, 2 * one + 1)).unwrap();
        queue.enqueue(event("b", "x")).await.unwrap();
        queue.enqueue(event("b", "y")).await.unwrap();
        let full = queue.enqueue(event("b", "z")).await.unwrap_err();
        assert!(
            matches!(full, QueueError::Full { limit: "max_bytes" }),
            "{full}"
        );
        assert_eq!(queue.stats(None).await.unwrap()[0].bytes, 2 * one);
        let leased = queue.lease("b", 1, MINUTE).await.unwrap().remove(0);
        queue.complete(&leased.lease).await.unwrap();
        queue.enqueue(event("b", "z")).await.unwrap();
    });
}

#[test]
fn concurrent_enqueues_all_land_and_wake_the_workers() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        let wakeup = queue.wakeup();
        let woken = wakeup.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let started = Instant::now();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.enqueue(event("r", &i.to_string())).await })
            })
            .collect();
        for task in tasks {
            assert!(matches!(task.await.unwrap().unwrap(), Enqueued::Queued(_)));
        }
        let elapsed = started.elapsed();
        let commits = queue.commits();
        assert!(
            commits < 200,
            "group commit: 200 enqueues in {commits} transactions"
        );
        tokio::time::timeout(Duration::from_secs(1), woken)
            .await
            .expect("workers woken");
        assert_eq!(queue.stats(Some("r")).await.unwrap()[0].queued, 200);
        eprintln!("200 concurrent durable enqueues in {elapsed:?}, {commits} commits");
    });
}

#[test]
fn state_survives_reopening_and_a_second_handle_sees_and_acts() {
    let dir = TempDir::new();
    rt().block_on(async {
        let queue = open(&dir);
        queue.enqueue(event("r", "kept")).await.unwrap();
        queue.enqueue(event("r", "dead")).await.unwrap();
        let leased = queue.lease("r", 2, MINUTE).await.unwrap();
        queue
            .bury(&leased[1].lease, Failure::error("x"))
            .await
            .unwrap();

        // What the `hookgate queue` CLI does while the sidecar runs: its own handle.
        let cli = open(&dir);
        let stats = &cli.stats(Some("r")).await.unwrap()[0];
        assert_eq!((stats.leased, stats.dead), (1, 1));
        assert_eq!(cli.replay("r", Which::All).await.unwrap(), 1);
        drop(cli);
        assert_eq!(
            queue.lease("r", 5, MINUTE).await.unwrap()[0].event.event_id,
            "dead"
        );
        drop(queue);

        let reopened = open(&dir);
        let stats = &reopened.stats(Some("r")).await.unwrap()[0];
        assert_eq!(stats.leased, 2, "leases are durable too");
    });
}

#[test]
fn a_file_that_is_not_a_queue_is_refused() {
    let dir = TempDir::new();
    std::fs::write(dir.db(), vec![0x42; 8192]).unwrap();
    let error = SqliteQueue::open(dir.db(), QueueLimits::default()).unwrap_err();
    assert!(matches!(error, QueueError::Storage(_)), "{error}");
    let missing = SqliteQueue::open(dir.0.join("no/such/dir/q.db"), QueueLimits::default());
    assert!(missing.is_err());
}

/// The writer of the crash test, run as a child process of the test binary: 16 tasks
/// enqueue 1 KiB events and print `acked <event id>` after each `Ok`. Does nothing unless
/// `HOOKGATE_QUEUE_CRASH_CHILD` names the queue file.
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os("HOOKGATE_QUEUE_CRASH_CHILD") else {
        return;
    };
    rt().block_on(async move {
        let queue = SqliteQueue::open(PathBuf::from(path), QueueLimits::default()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let tasks: Vec<_> = (0..16)
            .map(|task| {
                let queue = queue.clone();
                tokio::spawn(async move {
                    for n in 0.. {
                        if Instant::now() > deadline {
                            return;
                        }
                        let id = format!("{task}-{n}");
                        let mut event = event("crash", &id);
                        event.body = Bytes::from(vec![b'x'; 1024]);
                        queue.enqueue(event).await.unwrap();
                        println!("acked {id}");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn sigkill_mid_burst_loses_no_acknowledged_event() {
    for (run, kill_after) in [200usize, 1500, 4000].into_iter().enumerate() {
        let dir = TempDir::new();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("HOOKGATE_QUEUE_CRASH_CHILD", dir.db())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, acks) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(id) = line.strip_prefix("acked ") {
                    let _ = lines.send(id.to_owned());
                }
            }
        });
        let mut acked = HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut checked_second_process = false;
        while acked.len() < kill_after {
            let id = acks
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the child writer acknowledges enqueues");
            acked.insert(id);
            if !checked_second_process && acked.len() >= kill_after / 2 {
                // Another process reads (and may write) while the writer runs.
                checked_second_process = true;
                rt().block_on(async {
                    let other = open(&dir);
                    let stats = other.stats(Some("crash")).await.unwrap();
                    assert!(stats[0].queued >= (kill_after / 2) as u64);
                });
            }
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success());
        reader.join().unwrap();
        acked.extend(acks.try_iter());

        let started = Instant::now();
        let queue = open(&dir);
        let reopened_in = started.elapsed();
        rt().block_on(async {
            let held: HashSet<String> = queue
                .lease("crash", 1_000_000, MINUTE)
                .await
                .unwrap()
                .into_iter()
                .inspect(|l| assert_eq!(l.event.body.len(), 1024))
                .map(|l| l.event.event_id)
                .collect();
            let missing: Vec<&String> = acked.iter().filter(|id| !held.contains(*id)).collect();
            assert!(
                missing.is_empty(),
                "run {run}: {} acknowledged events lost: {missing:?}",
                missing.len()
            );
            // And the file takes new writes.
            queue.enqueue(event("crash", "after")).await.unwrap();
            eprintln!(
                "run {run}: {} acknowledged, {} held after SIGKILL, reopened in {reopened_in:?}",
                acked.len(),
                held.len()
            );
        });
    }
}
