//! The queue in Redis Streams, shared by every replica: any replica's worker delivers any
//! event, and the events leased by a replica that died are taken over by the others.
//!
//! Per route `R` (keys `<prefix>q:{R}:…`, the route as a cluster hash tag):
//! - `ev:<n>`: a hash per event (payload, attempts, last failure, state, lease token), `n`
//!   from the route's counter `seq`; the event's [`QueueId`] is `R:n`;
//! - `stream`: a stream of `q = n` entries for the events ready to deliver, read by the
//!   consumer group `workers` (`XREADGROUP`); a leased event is a pending entry of its
//!   replica's consumer, taken over (`XCLAIM`) by the next lease of any replica once its
//!   lease time has passed; delivered or failed, it is `XACK`ed and deleted. (Not
//!   `XAUTOCLAIM`: its idle threshold is the claimer's, while a lease keeps the duration it
//!   was taken for; the scan reads the 1,000 oldest pending entries of the route per lease);
//! - `delayed`: a sorted set of the events waiting for a retry, by due time, moved back into
//!   the stream by the next lease once due;
//! - `dead`: the dead-letter sorted set, by time of death;
//! - `ids`: event id → `n`, so an event is held once;
//! - `meta`: the route's event and byte counts.
//!
//! `<prefix>q:routes` lists the routes and `<prefix>q:totals` counts what every route holds,
//! for the bounds. Each operation is one Lua script, atomic on the server. The scripts touch
//! these global keys too, so this backend needs a standalone Redis (or Valkey): a cluster is
//! refused. Durability is Redis's: an enqueue is acknowledged once Redis has it, which
//! survives a Redis crash only with `appendonly yes` and `appendfsync always` (`everysec`
//! may lose the last second).

use super::{
    Enqueued, Event, EventState, Failure, Lease, Leased, Queue, QueueError, QueueFuture, QueueId,
    QueueLimits, QueuedEvent, RouteStats, Which,
};
use crate::store::RedisConfig;
use bytes::Bytes;
use http::{Method, StatusCode};
use redis::aio::ConnectionManager;
use redis::{Script, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

const ENQUEUE: &str = r#"
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then return {0, held} end
local events = tonumber(redis.call('HGET', KEYS[4], 'events') or '0')
local bytes = tonumber(redis.call('HGET', KEYS[4], 'bytes') or '0')
if events >= tonumber(ARGV[8]) then return {2, 'max_events'} end
if bytes + tonumber(ARGV[7]) > tonumber(ARGV[9]) then return {2, 'max_bytes'} end
local n = tostring(redis.call('INCR', KEYS[2]))
local entry = redis.call('XADD', KEYS[3], '*', 'q', n)
redis.call('HSET', ARGV[11] .. n, 'event_id', ARGV[1], 'method', ARGV[2], 'target', ARGV[3],
  'headers', ARGV[4], 'body', ARGV[5], 'arrived', ARGV[6], 'size', ARGV[7], 'attempts', 0,
  'state', 'ready', 'entry', entry, 'next_at', ARGV[12])
redis.call('HSET', KEYS[1], ARGV[1], n)
redis.call('HINCRBY', KEYS[4], 'events', 1)
redis.call('HINCRBY', KEYS[4], 'bytes', ARGV[7])
redis.call('HINCRBY', KEYS[6], 'events', 1)
redis.call('HINCRBY', KEYS[6], 'bytes', ARGV[7])
redis.call('SADD', KEYS[5], ARGV[10])
return {1, n}
"#;

/// KEYS: stream, delayed. ARGV: consumer, now, lease ms, max, ev prefix, token.
const LEASE: &str = r#"
redis.pcall('XGROUP', 'CREATE', KEYS[1], 'workers', '0', 'MKSTREAM')
local now = tonumber(ARGV[2])
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)) do
  local entry = redis.call('XADD', KEYS[1], '*', 'q', n)
  redis.call('HSET', ARGV[5] .. n, 'state', 'ready', 'entry', entry)
  redis.call('ZREM', KEYS[2], n)
end
local want = tonumber(ARGV[4])
local out = {}
local function take(entry, n, reclaimed)
  local ev = ARGV[5] .. n
  if redis.call('EXISTS', ev) == 0 then
    redis.call('XACK', KEYS[1], 'workers', entry)
    redis.call('XDEL', KEYS[1], entry)
    return
  end
  if reclaimed then
    redis.call('HINCRBY', ev, 'attempts', 1)
    redis.call('HSET', ev, 'last_error', 'lease expired')
    redis.call('HDEL', ev, 'last_status')
  end
  redis.call('HSET', ev, 'state', 'leased', 'lease', ARGV[6], 'next_at', now + tonumber(ARGV[3]))
  local f = redis.call('HMGET', ev, 'event_id', 'method', 'target', 'headers', 'body', 'arrived',
    'attempts', 'last_status', 'last_error')
  out[#out + 1] = {n, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8] or '', f[9] or ''}
end
-- Leases that expired, whoever held them: the oldest pending entries whose event's lease
-- time has passed are claimed for this consumer.
for _, p in ipairs(redis.call('XPENDING', KEYS[1], 'workers', '-', '+', 1000)) do
  if #out >= want then break end
  local e = redis.call('XRANGE', KEYS[1], p[1], p[1])
  if #e == 0 then
    redis.call('XACK', KEYS[1], 'workers', p[1])
  else
    local n = e[1][2][2]
    if tonumber(redis.call('HGET', ARGV[5] .. n, 'next_at') or '0') <= now then
      redis.call('XCLAIM', KEYS[1], 'workers', ARGV[1], 0, p[1])
      take(p[1], n, true)
    end
  end
end
if #out < want then
  local read = redis.call('XREADGROUP', 'GROUP', 'workers', ARGV[1], 'COUNT', want - #out,
    'STREAMS', KEYS[1], '>')
  if read then
    for _, e in ipairs(read[1][2]) do
      if type(e[2]) == 'table' then take(e[1], e[2][2], false) end
    end
  end
end
return out
"#;

/// Deletes an event wherever it is. KEYS: stream, ids, totals, delayed, dead, meta.
/// ARGV: ev key, n, only_dead (1: only if dead).
const DELETE: &str = r#"
local f = redis.call('HMGET', ARGV[1], 'entry', 'event_id', 'size', 'state')
if not f[2] then return 0 end
if ARGV[3] == '1' and f[4] ~= 'dead' then return 0 end
if f[1] and f[1] ~= '' then
  redis.call('XACK', KEYS[1], 'workers', f[1])
  redis.call('XDEL', KEYS[1], f[1])
end
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
redis.call('HDEL', KEYS[2], f[2])
redis.call('HINCRBY', KEYS[3], 'events', -1)
redis.call('HINCRBY', KEYS[3], 'bytes', -tonumber(f[3]))
redis.call('HINCRBY', KEYS[6], 'events', -1)
redis.call('HINCRBY', KEYS[6], 'bytes', -tonumber(f[3]))
redis.call('DEL', ARGV[1])
return 1
"#;

/// Retry or bury. KEYS: stream, delayed or dead. ARGV: ev key, n, token, score, state,
/// status ('' for none), reason.
const RESCHEDULE: &str = r#"
local f = redis.call('HMGET', ARGV[1], 'state', 'lease', 'entry')
if f[1] ~= 'leased' or f[2] ~= ARGV[3] then return 0 end
redis.call('XACK', KEYS[1], 'workers', f[3])
redis.call('XDEL', KEYS[1], f[3])
redis.call('HINCRBY', ARGV[1], 'attempts', 1)
redis.call('HSET', ARGV[1], 'state', ARGV[5], 'next_at', ARGV[4], 'entry', '', 'lease', '',
  'last_error', ARGV[7])
if ARGV[6] == '' then
  redis.call('HDEL', ARGV[1], 'last_status')
else
  redis.call('HSET', ARGV[1], 'last_status', ARGV[6])
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
return 1
"#;

/// KEYS: stream, dead. ARGV: ev prefix, now, n…
const REPLAY: &str = r#"
local count = 0
for i = 3, #ARGV do
  local n = ARGV[i]
  if redis.call('ZREM', KEYS[2], n) == 1 then
    local entry = redis.call('XADD', KEYS[1], '*', 'q', n)
    redis.call('HSET', ARGV[1] .. n, 'state', 'ready', 'attempts', 0, 'entry', entry,
      'next_at', ARGV[2], 'lease', '')
    count = count + 1
  end
end
return count
"#;

/// The fields [`listed`] reads, in order.
const LISTED: [&str; 8] = [
    "event_id",
    "arrived",
    "attempts",
    "last_status",
    "last_error",
    "next_at",
    "state",
    "size",
];

fn storage(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> QueueError {
    QueueError::storage(error)
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

fn bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Int(i) => i.to_string().into_bytes(),
        _ => Vec::new(),
    }
}

fn text(value: &Value) -> String {
    String::from_utf8_lossy(&bytes(value)).into_owned()
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(i) => *i,
        other => text(other).parse().unwrap_or(0),
    }
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        _ => Vec::new(),
    }
}

fn failure(status: &Value, error: &Value) -> Option<Failure> {
    let status = StatusCode::from_u16(u16::try_from(int(status)).ok()?).ok();
    let reason = text(error);
    (status.is_some() || !reason.is_empty()).then_some(Failure { status, reason })
}

/// A [`Queue`] in Redis Streams (standalone Redis or Valkey ≥ 6.2), shared by replicas.
///
/// ```no_run
/// use hookgate::queue::{Queue, QueueLimits, RedisQueue};
/// use hookgate::store::RedisConfig;
/// # async fn run() -> Result<(), hookgate::queue::QueueError> {
/// let queue = RedisQueue::new(RedisConfig::new("redis://127.0.0.1:6379/0"), QueueLimits::default())?;
/// let stats = queue.stats(None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisQueue {
    connection: ConnectionManager,
    prefix: String,
    /// This replica's consumer name in every route's group.
    consumer: String,
    limits: QueueLimits,
    timeout: Duration,
    notify: Arc<Notify>,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("prefix", &self.prefix)
            .field("consumer", &self.consumer)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RedisQueue {
    /// A queue in the Redis of `config` (standalone only), under its key prefix. Must be
    /// called inside a tokio runtime; Redis is reached on the first operation.
    pub fn new(config: RedisConfig, limits: QueueLimits) -> Result<Self, QueueError> {
        if config.cluster {
            return Err(storage(
                "the Redis queue needs a standalone Redis, not a cluster",
            ));
        }
        let url = config.urls.first().ok_or_else(|| storage("no Redis URL"))?;
        let client = redis::Client::open(url.as_str()).map_err(storage)?;
        let manager_config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_max_delay(Duration::from_secs(2));
        let connection =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(storage)?;
        Ok(RedisQueue {
            connection,
            prefix: config.key_prefix,
            consumer: format!("c{:016x}", super::random_u64()),
            limits,
            timeout: config.timeout,
            notify: Arc::new(Notify::new()),
        })
    }

    /// This replica's consumer name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    fn key(&self, route: &str, what: &str) -> String {
        format!("{}q:{{{route}}}:{what}", self.prefix)
    }

    fn global(&self, what: &str) -> String {
        format!("{}q:{what}", self.prefix)
    }

    fn ev(&self, route: &str, n: &str) -> String {
        format!("{}{n}", self.key(route, "ev:"))
    }

    /// `R:n` → (R, n).
    fn split(id: &QueueId) -> Option<(&str, &str)> {
        let (route, n) = id.0.rsplit_once(':')?;
        n.parse::<u64>().ok().map(|_| (route, n))
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, QueueError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| storage(format!("no answer from Redis within {:?}", self.timeout)))?
            .map_err(storage)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, QueueError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, cmd.query_async(&mut connection))
            .await
            .map_err(|_| storage(format!("no answer from Redis within {:?}", self.timeout)))?
            .map_err(storage)
    }

    async fn routes(&self, route: Option<&str>) -> Result<Vec<String>, QueueError> {
        let mut routes: Vec<String> = match route {
            Some(route) => vec![route.to_owned()],
            None => {
                self.query(redis::cmd("SMEMBERS").arg(self.global("routes")))
                    .await?
            }
        };
        routes.sort();
        Ok(routes)
    }

    async fn listed(
        &self,
        route: &str,
        n: &str,
        now: i64,
    ) -> Result<Option<QueuedEvent>, QueueError> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.ev(route, n)).arg(&LISTED[..]);
        let f: Vec<Value> = self.query(&cmd).await?;
        if f.len() != LISTED.len() || matches!(f[0], Value::Nil) {
            return Ok(None);
        }
        let next_at = int(&f[5]);
        let state = match text(&f[6]).as_str() {
            "dead" => EventState::Dead,
            "leased" if next_at > now => EventState::Leased {
                until: time(next_at),
            },
            _ => EventState::Ready,
        };
        Ok(Some(QueuedEvent {
            id: QueueId(format!("{route}:{n}")),
            route: route.to_owned(),
            event_id: text(&f[0]),
            arrived: time(int(&f[1])),
            attempts: u32::try_from(int(&f[2])).unwrap_or(0),
            last_failure: failure(&f[3], &f[4]),
            next_attempt: time(next_at),
            state,
            size: u64::try_from(int(&f[7])).unwrap_or(0),
        }))
    }

    async fn reschedule(
        &self,
        lease: &Lease,
        zset: &str,
        state: &str,
        at: i64,
        failure: &Failure,
    ) -> Result<bool, QueueError> {
        let Some((route, n)) = Self::split(&lease.id) else {
            return Ok(false);
        };
        let script = Script::new(RESCHEDULE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key(route, "stream"))
            .key(self.key(route, zset))
            .arg(self.ev(route, n))
            .arg(n)
            .arg(lease.token.to_string())
            .arg(at)
            .arg(state)
            .arg(
                failure
                    .status
                    .map_or(String::new(), |s| s.as_u16().to_string()),
            )
            .arg(&failure.reason);
        Ok(self.run::<i64>(invocation).await? == 1)
    }

    async fn delete(&self, route: &str, n: &str, only_dead: bool) -> Result<bool, QueueError> {
        let script = Script::new(DELETE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key(route, "stream"))
            .key(self.key(route, "ids"))
            .key(self.global("totals"))
            .key(self.key(route, "delayed"))
            .key(self.key(route, "dead"))
            .key(self.key(route, "meta"))
            .arg(self.ev(route, n))
            .arg(n)
            .arg(if only_dead { "1" } else { "0" });
        Ok(self.run::<i64>(invocation).await? == 1)
    }

    /// The `n`s of the dead letters `which` selects.
    async fn dead_ns(&self, route: &str, which: &Which) -> Result<Vec<String>, QueueError> {
        Ok(match which {
            Which::Id(id) => match Self::split(id) {
                Some((r, n)) if r == route => vec![n.to_owned()],
                _ => Vec::new(),
            },
            Which::EventId(event_id) => {
                let n: Option<String> = self
                    .query(redis::cmd("HGET").arg(self.key(route, "ids")).arg(event_id))
                    .await?;
                n.into_iter().collect()
            }
            Which::All => {
                self.query(
                    redis::cmd("ZRANGE")
                        .arg(self.key(route, "dead"))
                        .arg(0)
                        .arg(-1),
                )
                .await?
            }
        })
    }
}

impl Queue for RedisQueue {
    fn enqueue(&self, event: Event) -> QueueFuture<'_, Enqueued> {
        Box::pin(async move {
            let route = event.route.clone();
            let script = Script::new(ENQUEUE);
            let mut invocation = script.prepare_invoke();
            invocation
                .key(self.key(&route, "ids"))
                .key(self.key(&route, "seq"))
                .key(self.key(&route, "stream"))
                .key(self.global("totals"))
                .key(self.global("routes"))
                .key(self.key(&route, "meta"))
                .arg(&event.event_id)
                .arg(event.method.as_str())
                .arg(&event.target)
                .arg(super::sqlite::encode_headers(&event.headers))
                .arg(&event.body[..])
                .arg(millis(event.arrived))
                .arg(event.size())
                .arg(self.limits.max_events)
                .arg(self.limits.max_bytes)
                .arg(&route)
                .arg(self.key(&route, "ev:"))
                .arg(millis(SystemTime::now()));
            let (code, value): (i64, String) = self.run(invocation).await?;
            match code {
                1 => {
                    self.notify.notify_waiters();
                    Ok(Enqueued::Queued(QueueId(format!("{route}:{value}"))))
                }
                0 => Ok(Enqueued::AlreadyQueued(QueueId(format!("{route}:{value}")))),
                _ => Err(QueueError::Full {
                    limit: if value == "max_bytes" {
                        "max_bytes"
                    } else {
                        "max_events"
                    },
                }),
            }
        })
    }

    fn lease<'a>(
        &'a self,
        route: &'a str,
        max: usize,
        lease_timeout: Duration,
    ) -> QueueFuture<'a, Vec<Leased>> {
        Box::pin(async move {
            if max == 0 {
                return Ok(Vec::new());
            }
            let token = super::random_u64();
            let script = Script::new(LEASE);
            let mut invocation = script.prepare_invoke();
            invocation
                .key(self.key(route, "stream"))
                .key(self.key(route, "delayed"))
                .arg(&self.consumer)
                .arg(millis(SystemTime::now()))
                .arg(
                    u64::try_from(lease_timeout.as_millis())
                        .unwrap_or(u64::MAX)
                        .max(1),
                )
                .arg(max)
                .arg(self.key(route, "ev:"))
                .arg(token.to_string());
            let rows: Value = self.run(invocation).await?;
            let mut leased = Vec::new();
            for row in array(rows) {
                let f = array(row);
                if f.len() != 10 {
                    return Err(storage("unexpected answer to the lease script"));
                }
                let n = text(&f[0]);
                leased.push(Leased {
                    lease: Lease {
                        id: QueueId(format!("{route}:{n}")),
                        token,
                    },
                    event: Event {
                        route: route.to_owned(),
                        event_id: text(&f[1]),
                        method: Method::from_bytes(&bytes(&f[2]))
                            .map_err(|_| storage("corrupt method in the queue"))?,
                        target: text(&f[3]),
                        headers: super::sqlite::decode_headers(&bytes(&f[4]))?,
                        body: Bytes::from(bytes(&f[5])),
                        arrived: time(int(&f[6])),
                    },
                    attempts: u32::try_from(int(&f[7])).unwrap_or(0),
                    last_failure: failure(&f[8], &f[9]),
                });
            }
            Ok(leased)
        })
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> QueueFuture<'a, bool> {
        Box::pin(async move {
            match Self::split(&lease.id) {
                Some((route, n)) => self.delete(route, n, false).await,
                None => Ok(false),
            }
        })
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        after: Duration,
        failure: Failure,
    ) -> QueueFuture<'a, bool> {
        Box::pin(async move {
            let due = millis(SystemTime::now() + after);
            self.reschedule(lease, "delayed", "delayed", due, &failure)
                .await
        })
    }

    fn bury<'a>(&'a self, lease: &'a Lease, failure: Failure) -> QueueFuture<'a, bool> {
        Box::pin(async move {
            let now = millis(SystemTime::now());
            self.reschedule(lease, "dead", "dead", now, &failure).await
        })
    }

    fn stats<'a>(&'a self, route: Option<&'a str>) -> QueueFuture<'a, Vec<RouteStats>> {
        Box::pin(async move {
            let now = millis(SystemTime::now());
            let mut all = Vec::new();
            for route in self.routes(route).await? {
                let mut pipe = redis::pipe();
                pipe.cmd("XLEN").arg(self.key(&route, "stream"));
                pipe.cmd("ZCARD").arg(self.key(&route, "delayed"));
                pipe.cmd("ZCARD").arg(self.key(&route, "dead"));
                pipe.cmd("HMGET")
                    .arg(self.key(&route, "meta"))
                    .arg("events")
                    .arg("bytes");
                pipe.cmd("XRANGE")
                    .arg(self.key(&route, "stream"))
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1);
                let mut connection = self.connection.clone();
                let (in_stream, delayed, dead, meta, first): (i64, i64, i64, Vec<Value>, Value) =
                    tokio::time::timeout(self.timeout, pipe.query_async(&mut connection))
                        .await
                        .map_err(|_| storage("no answer from Redis"))?
                        .map_err(storage)?;
                let pending: i64 = match self
                    .query::<Value>(
                        redis::cmd("XPENDING")
                            .arg(self.key(&route, "stream"))
                            .arg("workers"),
                    )
                    .await
                {
                    Ok(summary) => array(summary).first().map_or(0, int),
                    Err(_) => 0, // no group yet: nothing leased
                };
                if int(meta.first().unwrap_or(&Value::Nil)) == 0 {
                    continue;
                }
                // The oldest: the first entry of the stream (approximate: a retry re-enters
                // the stream at the end).
                let oldest = match array(first).into_iter().next() {
                    Some(entry) => {
                        let fields = array(array(entry).into_iter().nth(1).unwrap_or(Value::Nil));
                        match fields.get(1) {
                            Some(n) => self.listed(&route, &text(n), now).await?.map(|e| {
                                Duration::from_millis(
                                    u64::try_from(now - millis(e.arrived)).unwrap_or(0),
                                )
                            }),
                            None => None,
                        }
                    }
                    None => None,
                };
                let count = |v: i64| u64::try_from(v).unwrap_or(0);
                all.push(RouteStats {
                    route,
                    queued: count(in_stream - pending),
                    leased: count(pending),
                    retrying: count(delayed),
                    dead: count(dead),
                    bytes: count(int(meta.get(1).unwrap_or(&Value::Nil))),
                    oldest,
                });
            }
            Ok(all)
        })
    }

    fn dead_letters<'a>(
        &'a self,
        route: Option<&'a str>,
        limit: usize,
    ) -> QueueFuture<'a, Vec<QueuedEvent>> {
        Box::pin(async move {
            let now = millis(SystemTime::now());
            let mut dead = Vec::new();
            for route in self.routes(route).await? {
                if dead.len() >= limit {
                    break;
                }
                let ns: Vec<String> = self
                    .query(
                        redis::cmd("ZRANGE")
                            .arg(self.key(&route, "dead"))
                            .arg(0)
                            .arg(limit - dead.len() - 1),
                    )
                    .await?;
                for n in ns {
                    dead.extend(self.listed(&route, &n, now).await?);
                }
            }
            Ok(dead)
        })
    }

    fn replay<'a>(&'a self, route: &'a str, which: Which) -> QueueFuture<'a, u64> {
        Box::pin(async move {
            let ns = self.dead_ns(route, &which).await?;
            if ns.is_empty() {
                return Ok(0);
            }
            let script = Script::new(REPLAY);
            let mut invocation = script.prepare_invoke();
            invocation
                .key(self.key(route, "stream"))
                .key(self.key(route, "dead"))
                .arg(self.key(route, "ev:"))
                .arg(millis(SystemTime::now()))
                .arg(ns);
            let replayed: u64 = self.run(invocation).await?;
            if replayed > 0 {
                self.notify.notify_waiters();
            }
            Ok(replayed)
        })
    }

    fn discard<'a>(&'a self, route: &'a str, which: Which) -> QueueFuture<'a, u64> {
        Box::pin(async move {
            let mut discarded = 0;
            for n in self.dead_ns(route, &which).await? {
                discarded += u64::from(self.delete(route, &n, true).await?);
            }
            Ok(discarded)
        })
    }

    fn find<'a>(
        &'a self,
        route: &'a str,
        event_id: &'a str,
    ) -> QueueFuture<'a, Option<QueuedEvent>> {
        Box::pin(async move {
            let n: Option<String> = self
                .query(redis::cmd("HGET").arg(self.key(route, "ids")).arg(event_id))
                .await?;
            match n {
                Some(n) => self.listed(route, &n, millis(SystemTime::now())).await,
                None => Ok(None),
            }
        })
    }

    fn next_due<'a>(&'a self, route: &'a str) -> QueueFuture<'a, Option<SystemTime>> {
        Box::pin(async move {
            let stats = self.stats(Some(route)).await?;
            let Some(stats) = stats.first() else {
                return Ok(None);
            };
            let now = SystemTime::now();
            if stats.queued > 0 {
                return Ok(Some(now));
            }
            let first: Vec<(String, i64)> = self
                .query(
                    redis::cmd("ZRANGE")
                        .arg(self.key(route, "delayed"))
                        .arg(0)
                        .arg(0)
                        .arg("WITHSCORES"),
                )
                .await?;
            let delayed = first.first().map(|(_, at)| time(*at));
            // Leases held here or elsewhere may expire: look again within a second.
            let leased = (stats.leased > 0).then(|| now + Duration::from_secs(1));
            Ok(match (delayed, leased) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
        })
    }

    fn wakeup(&self) -> Arc<Notify> {
        self.notify.clone()
    }
}
