//! Every default of hookgate, in one place: the builders, the TOML config and the docs read
//! them from here, so a default never differs between the layer and the sidecar.
//!
//! ```
//! use hookgate::defaults;
//! assert_eq!(defaults::MAX_BODY, 1024 * 1024);
//! assert_eq!(defaults::DEDUP_TTL.as_secs(), 72 * 3600);
//! assert!(defaults::MAX_BODY <= defaults::MAX_BUFFERED);
//! ```

use std::time::Duration;

/// Bound on one request body: 1 MiB.
pub const MAX_BODY: u64 = 1024 * 1024;

/// Bound on receiving one request, head and body: 10 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on the upstream's answer (sidecar): 30 s.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Bound on connecting to the upstream (sidecar): 5 s, or the upstream timeout if shorter.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long delivered event ids are remembered: providers retry for up to three days.
pub const DEDUP_TTL: Duration = Duration::from_secs(72 * 3600);

/// How long an unfinished claim outlives the upstream timeout before it expires on its own.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// Bound on one delivery's claim: the upstream timeout plus [`CLAIM_MARGIN`].
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(35);

/// Event ids the sidecar's memory store remembers (`[store] capacity`).
pub const STORE_CAPACITY: u64 = 1_000_000;

/// Event ids remembered by the memory store a [`WebhookLayer`](crate::WebhookLayer) makes for
/// itself when it is given none.
pub const LAYER_STORE_CAPACITY: u64 = 100_000;

/// All request bodies buffered at once, across every connection and HTTP/2 stream: 64 MiB.
///
/// With the HTTP/2 receive windows below, the sidecar's buffered request bytes stay under
/// `MAX_BUFFERED + max_connections × H2_CONNECTION_WINDOW`.
pub const MAX_BUFFERED: u64 = 64 * 1024 * 1024;

/// `Retry-After` of a 503 `overloaded` answer.
pub const OVERLOADED_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Connections served at once by the sidecar; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 1024;

/// Concurrent streams per HTTP/2 connection (RFC 9113 recommends at least 100).
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 100;

/// HTTP/2 receive window of a connection: bytes a peer may send before hookgate reads them.
pub const H2_CONNECTION_WINDOW: u32 = 256 * 1024;

/// HTTP/2 receive window of a stream.
pub const H2_STREAM_WINDOW: u32 = 64 * 1024;

/// Bound on a request head (HTTP/1 read buffer, HTTP/2 header list): 64 KiB.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Default timestamp tolerance of schemes that sign one, past and future: 5 minutes.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Prefix of every key hookgate writes in Redis.
pub const REDIS_KEY_PREFIX: &str = "hookgate:";

/// Bound on one operation of a remote store (Redis): 250 ms.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(250);

/// Events the delivery queue holds at most, dead letters included (`[queue] max_events`).
pub const QUEUE_MAX_EVENTS: u64 = 1_000_000;

/// Bytes (bodies and headers) the delivery queue holds at most (`[queue] max_bytes`): 1 GiB.
pub const QUEUE_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// Failed delivery attempts after which a queued event is a dead letter.
pub const QUEUE_MAX_ATTEMPTS: u32 = 10;

/// Upper bound of the first retry's delay (full jitter: the delay is random below it).
pub const QUEUE_RETRY_INITIAL: Duration = Duration::from_secs(1);

/// Upper bound of any retry delay, an upstream's `Retry-After` included: 10 minutes.
pub const QUEUE_RETRY_MAX: Duration = Duration::from_secs(600);

/// Deliveries at once per queued route.
pub const QUEUE_CONCURRENCY: usize = 8;

/// How long a worker holds a leased event before it is due again: the upstream timeout
/// plus [`CLAIM_MARGIN`], so a delivery still waiting for the upstream keeps its lease.
pub const QUEUE_LEASE_TIMEOUT: Duration = Duration::from_secs(35);

/// `Retry-After` of a 503 `queue_full` answer.
pub const QUEUE_FULL_RETRY_AFTER: Duration = Duration::from_secs(60);
