//! The Redis / Valkey store: one dedup state and one rate limit shared by every replica.
//!
//! - A claim is `SET key <token> NX PX <claim timeout>` (in a script that also reads what
//!   holds the key when the claim fails, so a claim is one round trip). The token is unique
//!   per claim across replicas: 64 random bits per process and a counter.
//! - Commit and release are scripts that act only while the key holds that claim's token:
//!   a replica whose claim expired never commits over, nor releases, the claim another replica
//!   took after it. A commit whose claim expired with nobody else holding the key still
//!   remembers the id (the upstream answered 2xx: the event was delivered).
//! - Keys are the key prefix and the 16-byte digest of the unambiguous (route, event id)
//!   pair, so a remembered id costs the same whatever its length.
//! - The shared rate limit is GCRA (the algorithm governor uses) in a script, on the server's
//!   clock, so replicas with skewed clocks still share one limit.
//!
//! Scripts are sent by their SHA-1 (`EVALSHA`), and as text (`EVAL`) only when a node does
//! not know them yet: a restarted server, or another node of a cluster (each has its own
//! script cache).

use super::{Claim, ClaimToken, SeenStore, StoreError, StoreFuture, StoreKey};
use crate::RateLimit;
use redis::aio::ConnectionManager;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `SET NX PX`; on failure, what holds the key and for how long.
const CLAIM: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, '', 0}
end
return {0, redis.call('GET', KEYS[1]) or '', redis.call('PTTL', KEYS[1])}
"#;

/// Remembers the id for `dedup_ttl` if this claim still holds the key, or if nobody does.
const COMMIT: &str = r#"
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or not held then
  redis.call('SET', KEYS[1], 'D', 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Forgets the claim only while this claim holds the key.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// GCRA: ARGV[1] = emission interval, ARGV[2] = burst tolerance, both in microseconds.
/// Returns 0 when admitted, else the wait in microseconds.
const GCRA: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tolerance then
  return tat - now - tolerance
end
local next = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
return 0
"#;

/// A script and its SHA-1, the name `EVALSHA` knows it by.
struct Script {
    text: &'static str,
    sha1: String,
}

impl Script {
    fn new(text: &'static str) -> Script {
        use sha1::Digest as _;
        Script {
            text,
            sha1: hex::encode(sha1::Sha1::digest(text.as_bytes())),
        }
    }
}

struct Scripts {
    claim: Script,
    commit: Script,
    release: Script,
    gcra: Script,
}

static SCRIPTS: std::sync::LazyLock<Scripts> = std::sync::LazyLock::new(|| Scripts {
    claim: Script::new(CLAIM),
    commit: Script::new(COMMIT),
    release: Script::new(RELEASE),
    gcra: Script::new(GCRA),
});

/// The value of a delivered id.
const DELIVERED: &str = "D";

/// Where and how to reach Redis (or Valkey).
///
/// ```
/// use hookgate::store::RedisConfig;
/// use std::time::Duration;
/// let config = RedisConfig::new("redis://:s3cret@redis.internal:6379/0")
///     .key_prefix("payments:")
///     .timeout(Duration::from_millis(100));
/// // The password never shows.
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://` or `rediss://` URLs: one for a standalone server, one or more seeds for a
    /// cluster.
    pub urls: Vec<String>,
    /// Whether the URLs are seeds of a Redis Cluster.
    pub cluster: bool,
    /// Prefix of every key (default `hookgate:`).
    pub key_prefix: String,
    /// Bound on one store operation (default 250 ms).
    pub timeout: Duration,
}

impl RedisConfig {
    /// A standalone server at `url`, with the default prefix and timeout.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            urls: vec![url.into()],
            cluster: false,
            key_prefix: crate::defaults::REDIS_KEY_PREFIX.to_owned(),
            timeout: crate::defaults::STORE_TIMEOUT,
        }
    }

    /// A Redis Cluster reached through `seeds`.
    pub fn cluster<I: IntoIterator<Item = S>, S: Into<String>>(seeds: I) -> Self {
        RedisConfig {
            urls: seeds.into_iter().map(Into::into).collect(),
            cluster: true,
            ..RedisConfig::new(String::new())
        }
    }

    /// Prefix of every key.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Bound on one store operation.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URLs without their credentials, for logs.
    pub fn redacted_urls(&self) -> Vec<String> {
        self.urls.iter().map(|url| redact(url)).collect()
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("urls", &self.redacted_urls())
            .field("cluster", &self.cluster)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `redis://user:password@host` → `redis://host`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

enum Connection {
    /// Reconnects on its own; connects lazily, so a store can be made while Redis is down.
    Single(ConnectionManager),
    /// Connected on first use (and again after a failed first connection).
    Cluster {
        client: Box<ClusterClient>,
        connection: tokio::sync::OnceCell<ClusterConnection>,
    },
}

/// A [`SeenStore`] in Redis or Valkey, standalone or cluster, shared by every replica that
/// uses the same server and key prefix.
///
/// Make one per event loop (the sidecar makes one per worker): its connection is driven by
/// the runtime it was made in. Nothing is sent until the first operation, so a store made
/// while Redis is down works as soon as Redis is back.
///
/// ```no_run
/// use hookgate::store::{RedisConfig, RedisStore};
/// # async fn run() -> Result<(), hookgate::store::StoreError> {
/// let store = RedisStore::new(RedisConfig::new("redis://127.0.0.1:6379/0"))?;
/// let verifier = hookgate::core::Verifier::builder()
///     .provider(hookgate::core::Provider::Github).secret("s").build().unwrap();
/// let layer = hookgate::WebhookLayer::new(verifier).store(std::sync::Arc::new(store));
/// # Ok(()) }
/// ```
pub struct RedisStore {
    connection: Connection,
    prefix: Vec<u8>,
    timeout: Duration,
    /// Random per store, so tokens are unique across replicas.
    token_base: u64,
    counter: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn store_error(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::from(error.into())
}

impl RedisStore {
    /// A store for `config`. Fails only on an unusable URL; Redis itself is reached on the
    /// first operation. Must be called inside a tokio runtime.
    pub fn new(config: RedisConfig) -> Result<Self, StoreError> {
        let connection = if config.cluster {
            let client = ClusterClient::builder(config.urls.clone())
                .connection_timeout(config.timeout)
                .response_timeout(config.timeout)
                .build()
                .map_err(store_error)?;
            Connection::Cluster {
                client: Box::new(client),
                connection: tokio::sync::OnceCell::new(),
            }
        } else {
            let url = config
                .urls
                .first()
                .ok_or_else(|| store_error("no Redis URL"))?;
            let client = redis::Client::open(url.as_str()).map_err(store_error)?;
            let manager_config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(config.timeout))
                .set_response_timeout(Some(config.timeout))
                .set_max_delay(Duration::from_secs(2));
            let manager = ConnectionManager::new_lazy_with_config(client, manager_config)
                .map_err(store_error)?;
            Connection::Single(manager)
        };
        Ok(RedisStore {
            connection,
            prefix: config.key_prefix.into_bytes(),
            timeout: config.timeout,
            token_base: std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
            counter: AtomicU64::new(1),
        })
    }

    /// The Redis key of an event: the prefix and the key's 16-byte digest.
    fn key(&self, key: &StoreKey) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.prefix.len() + 16);
        bytes.extend_from_slice(&self.prefix);
        bytes.extend_from_slice(&key.digest());
        bytes
    }

    fn token(&self) -> u128 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        (u128::from(self.token_base) << 64) | u128::from(n)
    }

    /// Sends one command.
    async fn exec<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match &self.connection {
            Connection::Single(manager) => cmd.query_async(&mut manager.clone()).await,
            Connection::Cluster { client, connection } => {
                let connection = connection
                    .get_or_try_init(|| client.get_async_connection())
                    .await?;
                cmd.query_async(&mut connection.clone()).await
            }
        }
    }

    /// Runs `script` on `key` with `args` by its SHA-1 (`EVALSHA`: Redis does not hash the
    /// script text again), sending the text once (`EVAL`) when the node does not know it yet
    /// (a new or restarted server, another cluster node).
    async fn script<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        script: &Script,
        key: &[u8],
        args: &[&str],
    ) -> Result<T, StoreError> {
        let build = |verb: &str, body: &str| {
            let mut cmd = redis::cmd(verb);
            cmd.arg(body).arg(1).arg(key);
            for arg in args {
                cmd.arg(*arg);
            }
            cmd
        };
        let evalsha = build("EVALSHA", &script.sha1);
        self.query(op, async {
            match self.exec(&evalsha).await {
                Err(error)
                    if error.kind()
                        == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    self.exec(&build("EVAL", script.text)).await
                }
                result => result,
            }
        })
        .await
    }

    /// Runs `cmd`, bounded by the timeout, recording its latency and any error.
    async fn command<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        self.query(op, async { self.exec(&cmd).await }).await
    }

    /// Bounds `request` by the timeout, recording its latency and any error.
    async fn query<T>(
        &self,
        op: &'static str,
        request: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, request).await;
        crate::metrics::store_operation(op, started.elapsed());
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let kind = if error.is_timeout() {
                    "timeout"
                } else if error.is_io_error()
                    || error.is_connection_refusal()
                    || error.is_connection_dropped()
                {
                    "connection"
                } else {
                    "server"
                };
                crate::metrics::store_error(kind);
                Err(store_error(error))
            }
            Err(_elapsed) => {
                crate::metrics::store_error("timeout");
                Err(store_error(format!(
                    "no answer from Redis within {:?}",
                    self.timeout
                )))
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl SeenStore for RedisStore {
    fn claim<'a>(&'a self, key: &'a StoreKey, in_flight_ttl: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let token = self.token();
            let (token_arg, ttl) = (token.to_string(), millis(in_flight_ttl).to_string());
            let (claimed, held, pttl): (i64, String, i64) = self
                .script("claim", &SCRIPTS.claim, &self.key(key), &[&token_arg, &ttl])
                .await?;
            Ok(if claimed == 1 {
                Claim::New(ClaimToken(token))
            } else if held == DELIVERED {
                Claim::Delivered
            } else {
                // Another claim holds it (or it expired between the SET and the GET: retry
                // at once).
                Claim::InFlight {
                    retry_after: Duration::from_millis(u64::try_from(pttl).unwrap_or(0)),
                }
            })
        })
    }

    fn commit<'a>(
        &'a self,
        key: &'a StoreKey,
        token: ClaimToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let (token_arg, ttl) = (token.0.to_string(), millis(ttl).to_string());
            let _: i64 = self
                .script(
                    "commit",
                    &SCRIPTS.commit,
                    &self.key(key),
                    &[&token_arg, &ttl],
                )
                .await?;
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a StoreKey, token: ClaimToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let token_arg = token.0.to_string();
            let _: i64 = self
                .script("release", &SCRIPTS.release, &self.key(key), &[&token_arg])
                .await?;
            Ok(())
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let _: String = self.command("ping", redis::cmd("PING")).await?;
            Ok(())
        })
    }

    fn acquire_shared_rate<'a>(
        &'a self,
        name: &'a str,
        limit: RateLimit,
    ) -> StoreFuture<'a, Result<(), Duration>> {
        Box::pin(async move {
            let per_second = u64::from(limit.per_second.max(1));
            let emission = 1_000_000 / per_second;
            let tolerance = emission * u64::from(limit.burst.max(1) - 1);
            let mut key = self.prefix.clone();
            key.extend_from_slice(b"rate:");
            key.extend_from_slice(name.as_bytes());
            let wait_us: u64 = self
                .script(
                    "rate_limit",
                    &SCRIPTS.gcra,
                    &key,
                    &[&emission.to_string(), &tolerance.to_string()],
                )
                .await?;
            Ok(if wait_us == 0 {
                Ok(())
            } else {
                Err(Duration::from_micros(wait_us))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(redact("redis://:pw@h:6379/0"), "redis://h:6379/0");
        assert_eq!(redact("rediss://user:pw@h"), "rediss://h");
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
    }
}
