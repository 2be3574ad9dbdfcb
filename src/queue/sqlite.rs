//! The embedded queue: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! - One writer thread per process owns the write connection. Every operation that writes
//!   (enqueue, lease, complete, retry, bury, replay, discard) is sent to it; it takes all the
//!   pending ones (up to [`MAX_BATCH`]), runs them in one `BEGIN IMMEDIATE` transaction,
//!   commits (one fsync of the WAL for the whole batch: group commit), and only then answers
//!   them. Each operation writes with one statement at most, after its checks, so a failed
//!   one leaves nothing behind (SQLite rolls a failed statement back) and the others commit:
//!   no savepoint per operation (they cost a third of the enqueue rate). An operation that
//!   needs several writes must add one.
//! - Reads (stats, dead letters, lookups, next due) use a second connection on tokio's
//!   blocking pool: WAL readers never wait for the writer.
//! - `totals` holds the events and bytes held, kept by triggers, so the bounds cost one row
//!   read per enqueue and stay right whichever process deletes.
//! - Row ids are `AUTOINCREMENT`: never reused, so a late `complete` of an old lease can
//!   never delete a newer event.
//! - Times are milliseconds since the Unix epoch (wall clock: they outlive the process).

use super::{
    Enqueued, Event, EventState, Failure, Lease, Leased, Queue, QueueError, QueueFuture, QueueId,
    QueueLimits, QueuedEvent, RouteStats, Which,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, Notify};

/// Operations written in one transaction at most.
const MAX_BATCH: usize = 512;

/// The schema's version (`PRAGMA user_version`): a file written by a newer hookgate is
/// refused rather than misread.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    event_id TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    arrived INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    next_at INTEGER NOT NULL,
    -- 0 ready, 1 leased until next_at, 2 dead
    state INTEGER NOT NULL DEFAULT 0,
    lease_token INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS events_event ON events(route, event_id);
CREATE INDEX IF NOT EXISTS events_due ON events(route, next_at) WHERE state < 2;
CREATE INDEX IF NOT EXISTS events_dead ON events(route, id) WHERE state = 2;
CREATE TABLE IF NOT EXISTS totals (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    events INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS events_added AFTER INSERT ON events BEGIN
    UPDATE totals SET events = events + 1, bytes = bytes + NEW.size;
END;
CREATE TRIGGER IF NOT EXISTS events_removed AFTER DELETE ON events BEGIN
    UPDATE totals SET events = events - 1, bytes = bytes - OLD.size;
END;
";

/// The columns [`listed`] reads.
const LISTED: &str =
    "id, route, event_id, arrived, attempts, last_status, last_error, next_at, state, size";

fn storage(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> QueueError {
    QueueError::storage(error)
}

fn millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

fn time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

fn after(now: i64, delay: Duration) -> i64 {
    now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

/// Headers as `(u32 length, name, u32 length, value)*`, big-endian lengths.
pub(super) fn encode_headers(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        for part in [name.as_str().as_bytes(), value.as_bytes()] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

pub(super) fn decode_headers(mut bytes: &[u8]) -> Result<HeaderMap, QueueError> {
    fn part<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (length, rest) = bytes.split_first_chunk::<4>()?;
        let length = u32::from_be_bytes(*length) as usize;
        if rest.len() < length {
            return None;
        }
        let (part, rest) = rest.split_at(length);
        *bytes = rest;
        Some(part)
    }
    let corrupt = || storage("corrupt headers in the queue");
    let mut headers = HeaderMap::new();
    while !bytes.is_empty() {
        let name = part(&mut bytes).ok_or_else(corrupt)?;
        let value = part(&mut bytes).ok_or_else(corrupt)?;
        headers.append(
            HeaderName::from_bytes(name).map_err(|_| corrupt())?,
            HeaderValue::from_bytes(value).map_err(|_| corrupt())?,
        );
    }
    Ok(headers)
}

fn failure(status: Option<i64>, error: Option<String>) -> Option<Failure> {
    let status = status.and_then(|s| StatusCode::from_u16(u16::try_from(s).ok()?).ok());
    match (status, error) {
        (None, None) => None,
        (status, reason) => Some(Failure {
            status,
            reason: reason.unwrap_or_default(),
        }),
    }
}

/// A [`QueuedEvent`] from a row of the [`LISTED`] columns.
fn listed(row: &rusqlite::Row<'_>, now: i64) -> rusqlite::Result<QueuedEvent> {
    let next_at: i64 = row.get(7)?;
    let state = match row.get::<_, i64>(8)? {
        2 => EventState::Dead,
        1 if next_at > now => EventState::Leased {
            until: time(next_at),
        },
        _ => EventState::Ready,
    };
    Ok(QueuedEvent {
        id: QueueId(row.get::<_, i64>(0)?.to_string()),
        route: row.get(1)?,
        event_id: row.get(2)?,
        arrived: time(row.get(3)?),
        attempts: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        last_failure: failure(row.get(5)?, row.get(6)?),
        next_attempt: time(next_at),
        state,
        size: u64::try_from(row.get::<_, i64>(9)?).unwrap_or(0),
    })
}

/// The SQL condition and parameters selecting `which` dead letters of a route (`?1`).
fn which_clause(which: &Which) -> (&'static str, Option<Value>) {
    match which {
        Which::Id(id) => (
            " AND id = ?2",
            // An id that is not a number matches nothing.
            Some(Value::Integer(id.0.parse().unwrap_or(-1))),
        ),
        Which::EventId(event_id) => (" AND event_id = ?2", Some(Value::Text(event_id.clone()))),
        Which::All => ("", None),
    }
}

/// What the writer passes to every operation.
struct Context {
    limits: QueueLimits,
    now: i64,
    /// Set by operations that make events due (enqueue, replay): wake the workers.
    wake: std::cell::Cell<bool>,
}

/// An operation for the writer thread.
trait Op: Send {
    /// Runs inside the batch's transaction; returns how to answer once the commit is known.
    fn run(self: Box<Self>, conn: &Connection, context: &Context) -> Box<dyn Answer>;
    /// The batch failed before this operation ran.
    fn fail(self: Box<Self>, error: QueueError);
}

/// An operation's answer, sent once its transaction committed (or failed to).
trait Answer: Send {
    fn send(self: Box<Self>, commit: Result<(), &str>);
}

struct Job<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T, QueueError>>,
}

struct Reply<T> {
    result: Result<T, QueueError>,
    reply: oneshot::Sender<Result<T, QueueError>>,
}

impl<T: Send> Answer for Reply<T> {
    fn send(self: Box<Self>, commit: Result<(), &str>) {
        let result = match (self.result, commit) {
            (Ok(_), Err(error)) => Err(storage(format!("commit failed: {error}"))),
            (result, _) => result,
        };
        let _ = self.reply.send(result);
    }
}

impl<F, T> Op for Job<F, T>
where
    F: FnOnce(&Connection, &Context) -> Result<T, QueueError> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection, context: &Context) -> Box<dyn Answer> {
        Box::new(Reply {
            result: (self.work)(conn, context),
            reply: self.reply,
        })
    }

    fn fail(self: Box<Self>, error: QueueError) {
        let _ = self.reply.send(Err(error));
    }
}

fn writer(
    mut conn: Connection,
    ops: mpsc::Receiver<Box<dyn Op>>,
    limits: QueueLimits,
    notify: Arc<Notify>,
    commits: Arc<AtomicU64>,
) {
    let mut batch: Vec<Box<dyn Op>> = Vec::with_capacity(MAX_BATCH);
    let mut answers: Vec<Box<dyn Answer>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = ops.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let context = Context {
            limits,
            now: millis(SystemTime::now()),
            wake: std::cell::Cell::new(false),
        };
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(error) => {
                tracing::error!(%error, "queue: cannot begin a transaction");
                let message = error.to_string();
                for op in batch.drain(..) {
                    op.fail(storage(message.clone()));
                }
                continue;
            }
        };
        // One write statement per operation (see the module docs): no savepoints.
        for op in batch.drain(..) {
            answers.push(op.run(&tx, &context));
        }
        let committed = tx.commit().map_err(|error| {
            tracing::error!(%error, "queue: commit failed");
            error.to_string()
        });
        for answer in answers.drain(..) {
            answer.send(committed.as_ref().map(|_| ()).map_err(String::as_str));
        }
        if committed.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
            if context.wake.get() {
                notify.notify_waiters();
            }
        }
    }
}

struct Shared {
    path: PathBuf,
    limits: QueueLimits,
    ops: Option<mpsc::Sender<Box<dyn Op>>>,
    writer: Option<std::thread::JoinHandle<()>>,
    reader: Mutex<Connection>,
    notify: Arc<Notify>,
    commits: Arc<AtomicU64>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The writer finishes what was sent, then its receiver sees the end and it returns.
        self.ops.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The embedded [`Queue`]: one SQLite file (WAL, `synchronous=FULL`) with group commit.
///
/// Cloning is cheap and shares the writer. The writer thread stops, after writing what it
/// was sent, when the last clone is dropped. See the [module docs](super) for an example.
#[derive(Clone)]
pub struct SqliteQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("path", &self.shared.path)
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

fn connect(path: &Path) -> Result<Connection, QueueError> {
    let conn = Connection::open(path).map_err(storage)?;
    // Another process (the CLI, or the sidecar while the CLI writes) may hold the write lock
    // for a moment.
    conn.busy_timeout(Duration::from_secs(5)).map_err(storage)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(storage)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(storage(format!(
            "{}: cannot use WAL mode (journal_mode is {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(storage)?;
    Ok(conn)
}

impl SqliteQueue {
    /// Opens the queue file at `path`, creating it if needed (not its directory). Another
    /// process may have it open.
    pub fn open(path: impl Into<PathBuf>, limits: QueueLimits) -> Result<Self, QueueError> {
        let path = path.into();
        let mut conn = connect(&path)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(storage)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(storage)?;
        if version > SCHEMA_VERSION {
            return Err(storage(format!(
                "{}: queue schema version {version} is newer than this hookgate's ({SCHEMA_VERSION})",
                path.display()
            )));
        }
        tx.execute_batch(SCHEMA).map_err(storage)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(storage)?;
        tx.commit().map_err(storage)?;
        let reader = connect(&path)?;
        let notify = Arc::new(Notify::new());
        let (ops, receiver) = mpsc::channel();
        let writer_notify = notify.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let writer_commits = commits.clone();
        let writer = std::thread::Builder::new()
            .name("hookgate-queue-writer".into())
            .spawn(move || writer(conn, receiver, limits, writer_notify, writer_commits))
            .map_err(storage)?;
        Ok(SqliteQueue {
            shared: Arc::new(Shared {
                path,
                limits,
                ops: Some(ops),
                writer: Some(writer),
                reader: Mutex::new(reader),
                notify,
                commits,
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The bounds.
    pub fn limits(&self) -> QueueLimits {
        self.shared.limits
    }

    /// Transactions this handle's writer has committed (each one sync): with group commit,
    /// fewer than the operations it ran. For metrics and tests.
    pub fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    /// Sends `work` to the writer; answered once its batch committed.
    fn write<T, F>(&self, work: F) -> QueueFuture<'static, T>
    where
        F: FnOnce(&Connection, &Context) -> Result<T, QueueError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = match &self.shared.ops {
            Some(ops) => ops
                .send(Box::new(Job { work, reply }))
                .map_err(|_| QueueError::Closed),
            None => Err(QueueError::Closed),
        };
        Box::pin(async move {
            sent?;
            answer.await.map_err(|_| QueueError::Closed)?
        })
    }

    /// Runs `read` on the reader connection, on tokio's blocking pool.
    fn read<T, F>(&self, read: F) -> QueueFuture<'static, T>
    where
        F: FnOnce(&Connection, i64) -> rusqlite::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let shared = self.shared.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = shared.reader.lock().unwrap_or_else(|e| e.into_inner());
                read(&conn, millis(SystemTime::now())).map_err(storage)
            })
            .await
            .map_err(storage)?
        })
    }
}

fn enqueue(conn: &Connection, context: &Context, event: Event) -> Result<Enqueued, QueueError> {
    let held: Option<i64> = conn
        .prepare_cached("SELECT id FROM events WHERE route = ?1 AND event_id = ?2")
        .and_then(|mut query| {
            query
                .query_row((&event.route, &event.event_id), |row| row.get(0))
                .optional()
        })
        .map_err(storage)?;
    if let Some(id) = held {
        return Ok(Enqueued::AlreadyQueued(QueueId(id.to_string())));
    }
    let size = event.size();
    let (events, bytes): (i64, i64) = conn
        .prepare_cached("SELECT events, bytes FROM totals")
        .and_then(|mut query| query.query_row([], |row| Ok((row.get(0)?, row.get(1)?))))
        .map_err(storage)?;
    if u64::try_from(events).unwrap_or(0) >= context.limits.max_events {
        return Err(QueueError::Full {
            limit: "max_events",
        });
    }
    if u64::try_from(bytes).unwrap_or(0).saturating_add(size) > context.limits.max_bytes {
        return Err(QueueError::Full { limit: "max_bytes" });
    }
    conn.prepare_cached(
        "INSERT INTO events (route, event_id, method, target, headers, body, size, arrived, next_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut insert| {
        insert.execute(rusqlite::params![
            event.route,
            event.event_id,
            event.method.as_str(),
            event.target,
            encode_headers(&event.headers),
            &event.body[..],
            i64::try_from(size).unwrap_or(i64::MAX),
            millis(event.arrived),
            context.now,
        ])
    })
    .map_err(storage)?;
    context.wake.set(true);
    Ok(Enqueued::Queued(QueueId(
        conn.last_insert_rowid().to_string(),
    )))
}

fn lease(
    conn: &Connection,
    context: &Context,
    route: &str,
    max: usize,
    lease_timeout: Duration,
) -> Result<Vec<Leased>, QueueError> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let token = super::random_u64();
    let mut update = conn
        .prepare_cached(
            "UPDATE events SET
                attempts = attempts + (state = 1),
                last_status = CASE WHEN state = 1 THEN NULL ELSE last_status END,
                last_error = CASE WHEN state = 1 THEN 'lease expired' ELSE last_error END,
                state = 1, next_at = ?1, lease_token = ?2
             WHERE id IN (SELECT id FROM events WHERE route = ?3 AND state < 2 AND next_at <= ?4
                          ORDER BY next_at, id LIMIT ?5)
             RETURNING id, event_id, method, target, headers, body, arrived, attempts,
                       last_status, last_error",
        )
        .map_err(storage)?;
    let rows = update
        .query_map(
            rusqlite::params![
                after(context.now, lease_timeout),
                token as i64,
                route,
                context.now,
                i64::try_from(max).unwrap_or(i64::MAX),
            ],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                    row.get::<_, Vec<u8>>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, i64>(7)?,
                    row.get::<_, Option<i64>>(8)?,
                    row.get::<_, Option<String>>(9)?,
                ))
            },
        )
        .map_err(storage)?;
    let mut leased = Vec::new();
    for row in rows {
        let (id, event_id, method, target, headers, body, arrived, attempts, status, error) =
            row.map_err(storage)?;
        leased.push(Leased {
            lease: Lease {
                id: QueueId(id.to_string()),
                token,
            },
            event: Event {
                route: route.to_owned(),
                event_id,
                method: Method::from_bytes(method.as_bytes())
                    .map_err(|_| storage("corrupt method in the queue"))?,
                target,
                headers: decode_headers(&headers)?,
                body: Bytes::from(body),
                arrived: time(arrived),
            },
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_failure: failure(status, error),
        });
    }
    leased.sort_by_key(|l| l.lease.id.0.parse::<i64>().unwrap_or(0));
    Ok(leased)
}

fn lease_id(lease: &Lease) -> i64 {
    lease.id.0.parse().unwrap_or(-1)
}

fn reschedule(
    conn: &Connection,
    lease: &Lease,
    state: i64,
    next_at: i64,
    failure: &Failure,
) -> Result<bool, QueueError> {
    let changed = conn
        .prepare_cached(
            "UPDATE events SET state = ?1, attempts = attempts + 1, next_at = ?2,
                last_status = ?3, last_error = ?4, lease_token = NULL
             WHERE id = ?5 AND state = 1 AND lease_token = ?6",
        )
        .and_then(|mut update| {
            update.execute(rusqlite::params![
                state,
                next_at,
                failure.status.map(|s| i64::from(s.as_u16())),
                failure.reason,
                lease_id(lease),
                lease.token as i64,
            ])
        })
        .map_err(storage)?;
    Ok(changed > 0)
}

impl Queue for SqliteQueue {
    fn enqueue(&self, event: Event) -> QueueFuture<'_, Enqueued> {
        self.write(move |conn, context| enqueue(conn, context, event))
    }

    fn lease<'a>(
        &'a self,
        route: &'a str,
        max: usize,
        lease_timeout: Duration,
    ) -> QueueFuture<'a, Vec<Leased>> {
        let route = route.to_owned();
        self.write(move |conn, context| lease(conn, context, &route, max, lease_timeout))
    }

    fn complete<'a>(&'a self, lease: &'a Lease) -> QueueFuture<'a, bool> {
        let id = lease_id(lease);
        self.write(move |conn, _| {
            let deleted = conn
                .prepare_cached("DELETE FROM events WHERE id = ?1")
                .and_then(|mut delete| delete.execute([id]))
                .map_err(storage)?;
            Ok(deleted > 0)
        })
    }

    fn retry<'a>(
        &'a self,
        lease: &'a Lease,
        after_delay: Duration,
        failure: Failure,
    ) -> QueueFuture<'a, bool> {
        let lease = lease.clone();
        self.write(move |conn, context| {
            reschedule(conn, &lease, 0, after(context.now, after_delay), &failure)
        })
    }

    fn bury<'a>(&'a self, lease: &'a Lease, failure: Failure) -> QueueFuture<'a, bool> {
        let lease = lease.clone();
        self.write(move |conn, context| reschedule(conn, &lease, 2, context.now, &failure))
    }

    fn stats<'a>(&'a self, route: Option<&'a str>) -> QueueFuture<'a, Vec<RouteStats>> {
        let route = route.map(str::to_owned);
        self.read(move |conn, now| {
            let sql = format!(
                "SELECT route,
                    sum(state < 2 AND NOT (state = 1 AND next_at > ?1) AND attempts = 0),
                    sum(state = 1 AND next_at > ?1),
                    sum(state < 2 AND NOT (state = 1 AND next_at > ?1) AND attempts > 0),
                    sum(state = 2),
                    sum(size),
                    min(CASE WHEN state < 2 THEN arrived END)
                 FROM events {} GROUP BY route ORDER BY route",
                if route.is_some() {
                    "WHERE route = ?2"
                } else {
                    ""
                }
            );
            let mut params = vec![Value::Integer(now)];
            params.extend(route.map(Value::Text));
            let mut query = conn.prepare_cached(&sql)?;
            let count = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
            let rows = query.query_map(rusqlite::params_from_iter(params), |row| {
                Ok(RouteStats {
                    route: row.get(0)?,
                    queued: count(row.get(1)?),
                    leased: count(row.get(2)?),
                    retrying: count(row.get(3)?),
                    dead: count(row.get(4)?),
                    bytes: count(row.get(5)?),
                    oldest: row.get::<_, Option<i64>>(6)?.map(|arrived| {
                        Duration::from_millis(u64::try_from(now - arrived).unwrap_or(0))
                    }),
                })
            })?;
            rows.collect()
        })
    }

    fn dead_letters<'a>(
        &'a self,
        route: Option<&'a str>,
        limit: usize,
    ) -> QueueFuture<'a, Vec<QueuedEvent>> {
        let route = route.map(str::to_owned);
        self.read(move |conn, now| {
            let sql = format!(
                "SELECT {LISTED} FROM events WHERE state = 2 {} ORDER BY id LIMIT ?1",
                if route.is_some() {
                    "AND route = ?2"
                } else {
                    ""
                }
            );
            let mut params = vec![Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX))];
            params.extend(route.map(Value::Text));
            let mut query = conn.prepare_cached(&sql)?;
            let rows =
                query.query_map(rusqlite::params_from_iter(params), |row| listed(row, now))?;
            rows.collect()
        })
    }

    fn replay<'a>(&'a self, route: &'a str, which: Which) -> QueueFuture<'a, u64> {
        let route = route.to_owned();
        self.write(move |conn, context| {
            let (clause, param) = which_clause(&which);
            let sql = format!(
                "UPDATE events SET state = 0, attempts = 0, next_at = ?3, lease_token = NULL
                 WHERE route = ?1 AND state = 2{clause}"
            );
            let params = [
                Value::Text(route),
                param.unwrap_or(Value::Null),
                Value::Integer(context.now),
            ];
            let changed = conn
                .prepare_cached(&sql)
                .and_then(|mut update| update.execute(rusqlite::params_from_iter(params)))
                .map_err(storage)?;
            if changed > 0 {
                context.wake.set(true);
            }
            Ok(changed as u64)
        })
    }

    fn discard<'a>(&'a self, route: &'a str, which: Which) -> QueueFuture<'a, u64> {
        let route = route.to_owned();
        self.write(move |conn, _| {
            let (clause, param) = which_clause(&which);
            let sql = format!("DELETE FROM events WHERE route = ?1 AND state = 2{clause}");
            let mut params = vec![Value::Text(route)];
            params.extend(param);
            let deleted = conn
                .prepare_cached(&sql)
                .and_then(|mut delete| delete.execute(rusqlite::params_from_iter(params)))
                .map_err(storage)?;
            Ok(deleted as u64)
        })
    }

    fn find<'a>(
        &'a self,
        route: &'a str,
        event_id: &'a str,
    ) -> QueueFuture<'a, Option<QueuedEvent>> {
        let (route, event_id) = (route.to_owned(), event_id.to_owned());
        self.read(move |conn, now| {
            conn.prepare_cached(&format!(
                "SELECT {LISTED} FROM events WHERE route = ?1 AND event_id = ?2"
            ))?
            .query_row((route, event_id), |row| listed(row, now))
            .optional()
        })
    }

    fn next_due<'a>(&'a self, route: &'a str) -> QueueFuture<'a, Option<SystemTime>> {
        let route = route.to_owned();
        self.read(move |conn, _| {
            let due: Option<i64> = conn
                .prepare_cached("SELECT min(next_at) FROM events WHERE route = ?1 AND state < 2")?
                .query_row([route], |row| row.get(0))?;
            Ok(due.map(time))
        })
    }

    fn wakeup(&self) -> Arc<Notify> {
        self.shared.notify.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_with_repeated_names_and_opaque_bytes() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.append("x-b", HeaderValue::from_bytes(b"\xe9t\xe9").unwrap());
        let decoded = decode_headers(&encode_headers(&headers)).unwrap();
        assert_eq!(decoded, headers);
        assert!(decode_headers(&[0, 0, 0, 9, b'x']).is_err());
        assert!(decode_headers(&[0, 0, 0, 1, b' ', 0, 0, 0, 0]).is_err());
        assert!(decode_headers(&[]).unwrap().is_empty());
    }

    #[test]
    fn times_survive_the_round_trip_at_millisecond_precision() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(time(millis(t)), t);
        assert_eq!(millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(after(i64::MAX - 1, Duration::from_secs(10)), i64::MAX);
    }
}
