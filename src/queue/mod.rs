//! The durable delivery queue: verified events written to disk before they are acknowledged,
//! then delivered by workers with retries, a lease per delivery, and dead letters.
//!
//! This module is the storage and the policy only, with no HTTP: whoever runs the workers
//! forwards [`Leased`] events and reports the outcome.
//!
//! # The life of an event
//!
//! ```text
//!  enqueue ──▶ ready ──lease──▶ leased ──complete──▶ (deleted)
//!               ▲  ▲              │ │
//!               │  └──retry(after)┘ └──bury──▶ dead ──replay──▶ ready
//!               └── lease timeout (the worker died): back to ready, one more attempt
//! ```
//!
//! - [`Queue::enqueue`] returns once the event is on disk and synced. Concurrent enqueues
//!   share one transaction and one sync (group commit), so throughput is not one fsync per
//!   event. One event per (route, event id) is held at a time: enqueueing it again answers
//!   [`Enqueued::AlreadyQueued`] (a provider's retry that got past a lost seen-event store).
//! - [`Queue::lease`] hands out up to `n` events of a route whose next attempt is due, for
//!   `lease_timeout`. An event whose lease expires (its worker died, or hangs) is due again;
//!   that counts as a failed attempt ("lease expired"), so an event that kills its worker
//!   every time still ends in the dead letters.
//! - [`Queue::complete`] deletes a delivered event. [`Queue::retry`] and [`Queue::bury`]
//!   record a failed attempt (`attempts + 1`, the status or error), and either make it due
//!   again later or move it to the dead letters. They act only while the caller's lease holds
//!   the event: a worker whose lease expired cannot reschedule an event another worker has.
//!   [`RetryPolicy::decide`] says which.
//! - Bounds: [`QueueLimits`] caps the events and body bytes held (dead letters included);
//!   beyond them, [`Queue::enqueue`] fails with the distinct [`QueueError::Full`] and writes
//!   nothing (answer 503 with `Retry-After`: the provider keeps the event).
//!
//! # Guarantees
//!
//! An enqueue that returned `Ok` survives a SIGKILL at any moment (and, with the embedded
//! queue's `synchronous=FULL`, a power loss on a disk that honours fsync). Delivery is at
//! least once: exactly once unless the process dies between the upstream's 2xx and
//! [`Queue::complete`], or a lease expires while the upstream is still answering; the
//! upstream sees the same `Hookgate-Event-Id` both times.
//!
//! # The embedded queue
//!
//! [`SqliteQueue`] is one SQLite file in WAL mode with `synchronous=FULL` (the comparison
//! with redb is in BENCHMARKS.md, "Queue engines"). One writer thread owns the writes of a
//! process and batches every pending operation into one transaction; reads (stats, dead
//! letters) use their own connection and never wait for the writer. A second process (the
//! `hookgate queue` CLI) may open the same file while the sidecar runs: SQLite's locks
//! serialize the two writers, WAL lets the readers read.
//!
//! # The Redis Streams queue
//!
//! `RedisQueue` (feature `redis`) keeps the queue in a standalone Redis or Valkey shared by
//! every replica: a stream per route read through one consumer group, so any replica's
//! worker delivers any event, and the leases of a replica that died are taken over by the
//! next lease of another once they expire. Its durability is Redis's (`appendonly yes`,
//! `appendfsync always` for an acknowledged event to survive a Redis crash).
//!
//! ```
//! use hookgate::queue::{Event, Failure, Queue, QueueLimits, RetryDecision, RetryPolicy, SqliteQueue};
//! use std::time::Duration;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! # let dir = std::env::temp_dir().join(format!("hookgate-doc-queue-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let queue = SqliteQueue::open(dir.join("queue.db"), QueueLimits::default()).unwrap();
//!
//! // Accepting: durable once this returns.
//! let mut event = Event::new("stripe", "evt_1", &b"{\"id\":\"evt_1\"}"[..]);
//! event.headers.insert("stripe-signature", "t=1,v1=ab".parse().unwrap());
//! queue.enqueue(event).await.unwrap();
//!
//! // A worker: lease, deliver, report.
//! let policy = RetryPolicy::default();
//! for leased in queue.lease("stripe", 8, Duration::from_secs(60)).await.unwrap() {
//!     assert_eq!(&leased.event.body[..], b"{\"id\":\"evt_1\"}");
//!     let upstream_answered_2xx = false; // Hookgate-Attempt: leased.attempts + 1
//!     if upstream_answered_2xx {
//!         queue.complete(&leased.lease).await.unwrap();
//!     } else {
//!         let failure = Failure::status(http::StatusCode::SERVICE_UNAVAILABLE);
//!         match policy.decide(leased.attempts + 1, None, hookgate::queue::random_u64()) {
//!             RetryDecision::RetryAfter(after) => queue.retry(&leased.lease, after, failure).await.unwrap(),
//!             RetryDecision::DeadLetter => queue.bury(&leased.lease, failure).await.unwrap(),
//!         };
//!     }
//! }
//! let stats = queue.stats(Some("stripe")).await.unwrap();
//! assert_eq!((stats[0].retrying, stats[0].dead), (1, 0));
//! # drop(queue);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```

#[cfg(feature = "redis")]
mod redis;
mod retry;
mod sqlite;

#[cfg(feature = "redis")]
pub use redis::RedisQueue;
pub use retry::{parse_retry_after, random_u64, RetryDecision, RetryPolicy};
pub use sqlite::SqliteQueue;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A boxed future returned by [`Queue`] methods.
pub type QueueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, QueueError>> + Send + 'a>>;

/// An event as accepted: what the worker will forward, byte for byte.
///
/// ```
/// let event = hookgate::queue::Event::new("github", "d1f2", &b"{}"[..]);
/// assert_eq!((event.method.as_str(), event.target.as_str()), ("POST", "/"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The route's name.
    pub route: String,
    /// The event id (the dedup key).
    pub event_id: String,
    /// The request method (default `POST`).
    pub method: Method,
    /// The request target as received, path and query (default `/`): the forwarder appends
    /// its query to the upstream URL.
    pub target: String,
    /// The headers to forward (hop-by-hop headers already removed, or not: stored as given).
    pub headers: HeaderMap,
    /// The exact body bytes.
    pub body: Bytes,
    /// When hookgate accepted it (default: now).
    pub arrived: SystemTime,
}

impl Event {
    /// A `POST /` event with no headers, arrived now.
    pub fn new(
        route: impl Into<String>,
        event_id: impl Into<String>,
        body: impl Into<Bytes>,
    ) -> Self {
        Event {
            route: route.into(),
            event_id: event_id.into(),
            method: Method::POST,
            target: "/".to_owned(),
            headers: HeaderMap::new(),
            body: body.into(),
            arrived: SystemTime::now(),
        }
    }

    /// Bytes counted against [`QueueLimits::max_bytes`]: the body, the headers and the names.
    pub fn size(&self) -> u64 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 8)
            .sum();
        (self.body.len() + headers + self.route.len() + self.event_id.len() + self.target.len())
            as u64
    }
}

/// The id of an event in a queue (the embedded queue's row id; a Redis stream entry id).
///
/// ```
/// let id: hookgate::queue::QueueId = "42".parse().unwrap();
/// assert_eq!(id.to_string(), "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(String);

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for QueueId {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(QueueId(s.to_owned()))
    }
}

impl QueueId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What [`Queue::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// Written and synced.
    Queued(QueueId),
    /// This (route, event id) is already held (ready, leased or dead): nothing written.
    AlreadyQueued(QueueId),
}

impl Enqueued {
    /// The event's id in the queue.
    pub fn id(&self) -> &QueueId {
        match self {
            Enqueued::Queued(id) | Enqueued::AlreadyQueued(id) => id,
        }
    }
}

/// Proof that a worker holds an event, needed to report its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased event.
    pub id: QueueId,
    /// Unique to this lease.
    pub(crate) token: u64,
}

/// An event handed to a worker by [`Queue::lease`].
///
/// Send it with `Hookgate-Attempt: attempts + 1`. `attempts` can already reach the policy's
/// `max_attempts` when expired leases were counted: bury such an event rather than deliver
/// it again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Leased {
    /// Report the outcome with it.
    pub lease: Lease,
    /// What to forward.
    pub event: Event,
    /// Failed attempts so far (so this delivery is attempt `attempts + 1`).
    pub attempts: u32,
    /// How the previous attempt failed, if one did.
    pub last_failure: Option<Failure>,
}

/// How a delivery attempt failed: the upstream's status, or an error without one.
///
/// ```
/// use hookgate::queue::Failure;
/// assert_eq!(Failure::status(http::StatusCode::BAD_GATEWAY).to_string(), "502 Bad Gateway");
/// assert_eq!(Failure::error("upstream timed out").to_string(), "upstream timed out");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The upstream's answer, when it answered.
    pub status: Option<StatusCode>,
    /// What happened, for people.
    pub reason: String,
}

impl Failure {
    /// The upstream answered `status`.
    pub fn status(status: StatusCode) -> Self {
        Failure {
            status: Some(status),
            reason: status.to_string(),
        }
    }

    /// No answer: timeout, connection refused, lease expired…
    pub fn error(reason: impl Into<String>) -> Self {
        Failure {
            status: None,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// Waiting for its next attempt (due now or later).
    Ready,
    /// Being delivered, until the lease expires.
    Leased {
        /// When the lease expires.
        until: SystemTime,
    },
    /// A dead letter: kept until replayed or discarded.
    Dead,
}

/// An event as listed (dead letters, lookups): everything but the body and headers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueuedEvent {
    /// Its id in the queue.
    pub id: QueueId,
    /// The route's name.
    pub route: String,
    /// The event id.
    pub event_id: String,
    /// When it was accepted.
    pub arrived: SystemTime,
    /// Failed attempts.
    pub attempts: u32,
    /// How the last attempt failed.
    pub last_failure: Option<Failure>,
    /// When it is due (for a dead letter: when it died).
    pub next_attempt: SystemTime,
    /// Ready, leased or dead.
    pub state: EventState,
    /// Bytes counted against the bound ([`Event::size`]).
    pub size: u64,
}

/// One route's figures, for `hookgate queue stats` and the metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RouteStats {
    /// The route's name.
    pub route: String,
    /// Ready, never attempted.
    pub queued: u64,
    /// Being delivered (lease not expired).
    pub leased: u64,
    /// Ready again after a failed attempt.
    pub retrying: u64,
    /// Dead letters.
    pub dead: u64,
    /// Bytes held, dead letters included.
    pub bytes: u64,
    /// Age of the oldest event not dead.
    pub oldest: Option<Duration>,
}

/// Which dead letters [`Queue::replay`] or [`Queue::discard`] act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// One, by its id in the queue.
    Id(QueueId),
    /// One, by its event id.
    EventId(String),
    /// Every dead letter of the route.
    All,
}

/// Bounds on what a queue holds; beyond them enqueue answers [`QueueError::Full`].
///
/// ```
/// let limits = hookgate::queue::QueueLimits::default();
/// assert_eq!(limits.max_events, hookgate::defaults::QUEUE_MAX_EVENTS);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueLimits {
    /// Events held, dead letters included.
    pub max_events: u64,
    /// Bytes held ([`Event::size`]), dead letters included.
    pub max_bytes: u64,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_events: crate::defaults::QUEUE_MAX_EVENTS,
            max_bytes: crate::defaults::QUEUE_MAX_BYTES,
        }
    }
}

impl QueueLimits {
    /// At most `max_events` events and `max_bytes` bytes.
    pub fn new(max_events: u64, max_bytes: u64) -> Self {
        QueueLimits {
            max_events,
            max_bytes,
        }
    }
}

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A bound is reached: nothing was written. Answer 503 `queue_full` with `Retry-After`.
    #[error("queue full: {limit} reached")]
    Full {
        /// `max_events` or `max_bytes`.
        limit: &'static str,
    },
    /// The storage failed (disk full, I/O error, corrupt file…): the operation did not happen.
    #[error("queue storage failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The queue's writer has stopped.
    #[error("queue closed")]
    Closed,
}

impl QueueError {
    fn storage(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        QueueError::Storage(error.into())
    }
}

/// A durable queue of events, per route.
///
/// Dropping a returned future does not cancel the operation once it reached the queue: an
/// enqueue may still be written (the provider's retry then finds it `AlreadyQueued`), and
/// events leased for a dropped future come back when their lease expires. Implemented by [`SqliteQueue`] and, with the
/// `redis` feature, `RedisQueue`.
pub trait Queue: Send + Sync + 'static {
    /// Writes `event` durably: once this returns `Ok`, a crash does not lose it.
    fn enqueue(&self, event: Event) -> QueueFuture<'_, Enqueued>;

    /// Leases up to `max` events of `route` that are due, oldest due first, for
    /// `lease_timeout`.
    fn lease<'a>(
        &'a self,
        route: &'a str,
        max: usize,
        lease_timeout: Duration,
    ) -> QueueFuture<'a, Vec<Leased>>;

    /// The event was delivered: delete it. `false` if it was gone already. Deletes even if
    /// the lease expired meanwhile (the upstream has the event).
    fn complete<'a>(&'a self, lease: &'a Lease) -> QueueFuture<'a, bool>;

    /// The attempt failed: `attempts + 1`, due again after `after`. `false` (and nothing done)
    /// if this lease no longer holds the event.
    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        after: Duration,
        failure: Failure,
    ) -> QueueFuture<'a, bool>;

    /// The attempt failed for the last time: `attempts + 1`, to the dead letters. `false`
    /// (and nothing done) if this lease no longer holds the event.
    fn bury<'a>(&'a self, lease: &'a Lease, failure: Failure) -> QueueFuture<'a, bool>;

    /// Figures per route (only `route` if given), in route order. Routes with no event are
    /// absent.
    fn stats<'a>(&'a self, route: Option<&'a str>) -> QueueFuture<'a, Vec<RouteStats>>;

    /// Up to `limit` dead letters (of `route` if given), oldest first.
    fn dead_letters<'a>(
        &'a self,
        route: Option<&'a str>,
        limit: usize,
    ) -> QueueFuture<'a, Vec<QueuedEvent>>;

    /// Dead letters of `route` back to ready, due now, attempts reset: how many.
    fn replay<'a>(&'a self, route: &'a str, which: Which) -> QueueFuture<'a, u64>;

    /// Deletes dead letters of `route`: how many.
    fn discard<'a>(&'a self, route: &'a str, which: Which) -> QueueFuture<'a, u64>;

    /// The event `event_id` of `route`, if held.
    fn find<'a>(
        &'a self,
        route: &'a str,
        event_id: &'a str,
    ) -> QueueFuture<'a, Option<QueuedEvent>>;

    /// When the next event of `route` is due (now or in the past: lease at once; `None`:
    /// nothing to deliver). Workers sleep until then or until [`Queue::wakeup`].
    fn next_due<'a>(&'a self, route: &'a str) -> QueueFuture<'a, Option<SystemTime>>;

    /// Notified (`notify_waiters`) whenever this process enqueues or replays events.
    fn wakeup(&self) -> Arc<tokio::sync::Notify>;
}
