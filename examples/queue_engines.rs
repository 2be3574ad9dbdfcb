//! The embedded queue's engine measurement: SQLite (WAL, `synchronous=FULL`, through
//! `rusqlite`) on durable enqueue throughput with group commit and on crash safety.
//! BENCHMARKS.md ("Queue engines") has the figures and why SQLite was chosen over redb; the
//! redb half of this harness is in the commit "queue: engine comparison" (redb is no longer a
//! dependency). Another candidate is one more `Engine` impl.
//!
//! ```sh
//! cargo run --release --example queue_engines -- [--dir DIR] [--events N] [--seconds S]
//!     [--concurrency 1,8,64] [--body 1024] [--crash-runs 5]
//! ```
//!
//! - **Throughput**: `concurrency` producer threads each enqueue one event at a time and wait
//!   for its acknowledgement. One writer thread owns the database: it takes every pending
//!   enqueue (up to 1024), writes them in one transaction, commits with a sync, then
//!   acknowledges them all (group commit). At concurrency 1 that is one sync per event.
//!   Bounded: at most `--events` per run and `--seconds` per run.
//! - **Crash safety**: this program runs itself as a child writer (16 producers) that prints
//!   each id once its enqueue is acknowledged; the parent SIGKILLs it mid-burst, reopens the
//!   file and checks that every acknowledged id is there. A SIGKILL keeps what the kernel
//!   already has, so this tests the engine's own write ordering and recovery, not power loss.
//!
//! Everything is written under `--dir` (default: the system temp dir), removed at the end.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One embedded engine, as the queue's writer thread would use it.
trait Engine: Sized {
    const NAME: &'static str;
    fn open(path: &Path) -> Result<Self, BoxError>;
    /// Writes `batch` in one transaction and makes it durable before returning.
    fn write_batch(&mut self, batch: &[(u64, &[u8])]) -> Result<(), BoxError>;
    /// How many of `ids` are missing.
    fn missing(&self, ids: &[u64]) -> Result<usize, BoxError>;
    fn count(&self) -> Result<u64, BoxError>;
}

struct Sqlite(rusqlite::Connection);

impl Engine for Sqlite {
    const NAME: &'static str = "sqlite-wal-full";

    fn open(path: &Path) -> Result<Self, BoxError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                id INTEGER PRIMARY KEY,
                route TEXT NOT NULL,
                body BLOB NOT NULL,
                next_at INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS events_due ON events(route, next_at);",
        )?;
        Ok(Sqlite(conn))
    }

    fn write_batch(&mut self, batch: &[(u64, &[u8])]) -> Result<(), BoxError> {
        let tx = self.0.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (id, route, body, next_at) VALUES (?1, 'bench', ?2, 0)",
            )?;
            for (id, body) in batch {
                insert.execute(rusqlite::params![*id as i64, body])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn missing(&self, ids: &[u64]) -> Result<usize, BoxError> {
        let mut query = self.0.prepare("SELECT 1 FROM events WHERE id = ?1")?;
        let mut missing = 0;
        for id in ids {
            if !query.exists([*id as i64])? {
                missing += 1;
            }
        }
        Ok(missing)
    }

    fn count(&self) -> Result<u64, BoxError> {
        let count: i64 = self
            .0
            .query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
        Ok(count as u64)
    }
}

/// An enqueue waiting for the writer: its id, body and where to acknowledge it.
type Request = (u64, Arc<Vec<u8>>, mpsc::Sender<()>);

/// The group-commit writer: drains every pending request into one transaction.
fn writer<E: Engine>(mut engine: E, requests: mpsc::Receiver<Request>, batches: Arc<AtomicU64>) {
    let mut pending: Vec<Request> = Vec::with_capacity(1024);
    while let Ok(first) = requests.recv() {
        pending.push(first);
        while pending.len() < 1024 {
            match requests.try_recv() {
                Ok(request) => pending.push(request),
                Err(_) => break,
            }
        }
        let batch: Vec<(u64, &[u8])> = pending
            .iter()
            .map(|(id, body, _)| (*id, body.as_slice()))
            .collect();
        engine.write_batch(&batch).expect("write");
        batches.fetch_add(1, Ordering::Relaxed);
        for (_, _, ack) in pending.drain(..) {
            let _ = ack.send(());
        }
    }
}

struct RunResult {
    acked: u64,
    elapsed: Duration,
    batches: u64,
    latencies_us: Vec<u64>,
}

/// `concurrency` producers enqueueing until `events` are acknowledged or `seconds` pass.
/// `on_ack` sees each acknowledged id (the crash child prints it).
fn run<E: Engine + Send + 'static>(
    path: &Path,
    concurrency: usize,
    events: u64,
    seconds: f64,
    body_size: usize,
    on_ack: Arc<dyn Fn(u64) + Send + Sync>,
) -> RunResult {
    let engine = E::open(path).expect("open");
    let (tx, rx) = mpsc::channel::<Request>();
    let batches = Arc::new(AtomicU64::new(0));
    let writer_batches = batches.clone();
    let writer_thread = std::thread::spawn(move || writer(engine, rx, writer_batches));
    let body = Arc::new(vec![b'x'; body_size]);
    let next = Arc::new(AtomicU64::new(1));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let producers: Vec<_> = (0..concurrency)
        .map(|_| {
            let tx = tx.clone();
            let body = body.clone();
            let next = next.clone();
            let on_ack = on_ack.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let (ack_tx, ack_rx) = mpsc::channel();
                loop {
                    let id = next.fetch_add(1, Ordering::Relaxed);
                    if id > events || Instant::now() >= deadline {
                        return latencies;
                    }
                    let sent = Instant::now();
                    tx.send((id, body.clone(), ack_tx.clone())).expect("writer");
                    ack_rx.recv().expect("ack");
                    latencies.push(sent.elapsed().as_micros() as u64);
                    on_ack(id);
                }
            })
        })
        .collect();
    drop(tx);
    let mut latencies_us: Vec<u64> = producers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    writer_thread.join().unwrap();
    latencies_us.sort_unstable();
    RunResult {
        acked: latencies_us.len() as u64,
        elapsed,
        batches: batches.load(Ordering::Relaxed),
        latencies_us,
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index] as f64 / 1000.0
}

fn throughput<E: Engine + Send + 'static>(dir: &Path, args: &Args) {
    for &concurrency in &args.concurrency {
        let path = dir.join(format!("{}-{concurrency}.db", E::NAME));
        let result = run::<E>(
            &path,
            concurrency,
            args.events,
            args.seconds,
            args.body,
            Arc::new(|_| {}),
        );
        let rate = result.acked as f64 / result.elapsed.as_secs_f64();
        println!(
            "| {} | {concurrency} | {} | {:.1} | {:.0} | {:.1} | {:.2} | {:.2} |",
            E::NAME,
            result.acked,
            result.elapsed.as_secs_f64(),
            rate,
            result.acked as f64 / result.batches.max(1) as f64,
            percentile(&result.latencies_us, 0.50),
            percentile(&result.latencies_us, 0.99),
        );
        remove_db(&path);
    }
}

/// The same measurement through `hookgate::queue::SqliteQueue` itself (tokio tasks, the
/// queue's writer thread, its schema, indexes and bound checks): what an accepting sidecar
/// would see.
fn queue_throughput(dir: &Path, args: &Args) {
    use hookgate::queue::{Event, Queue, QueueLimits, SqliteQueue};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for &concurrency in &args.concurrency {
        let path = dir.join(format!("hookgate-queue-{concurrency}.db"));
        let queue = SqliteQueue::open(&path, QueueLimits::new(u64::MAX, u64::MAX)).unwrap();
        let body = bytes::Bytes::from(vec![b'x'; args.body]);
        let next = Arc::new(AtomicU64::new(1));
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(args.seconds);
        let events = args.events;
        let mut latencies_us: Vec<u64> = runtime.block_on(async {
            let tasks: Vec<_> = (0..concurrency)
                .map(|_| {
                    let (queue, body, next) = (queue.clone(), body.clone(), next.clone());
                    tokio::spawn(async move {
                        let mut latencies = Vec::new();
                        loop {
                            let id = next.fetch_add(1, Ordering::Relaxed);
                            if id > events || Instant::now() >= deadline {
                                return latencies;
                            }
                            let sent = Instant::now();
                            let event = Event::new("bench", id.to_string(), body.clone());
                            queue.enqueue(event).await.expect("enqueue");
                            latencies.push(sent.elapsed().as_micros() as u64);
                        }
                    })
                })
                .collect();
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.unwrap());
            }
            all
        });
        let elapsed = started.elapsed();
        latencies_us.sort_unstable();
        let acked = latencies_us.len() as u64;
        println!(
            "| hookgate SqliteQueue | {concurrency} | {acked} | {:.1} | {:.0} | {:.1} | {:.2} | {:.2} |",
            elapsed.as_secs_f64(),
            acked as f64 / elapsed.as_secs_f64(),
            acked as f64 / queue.commits().max(1) as f64,
            percentile(&latencies_us, 0.50),
            percentile(&latencies_us, 0.99),
        );
        drop(queue);
        remove_db(&path);
    }
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Runs the child writer `runs` times, SIGKILLs it after a varying delay, and checks.
fn crash<E: Engine>(dir: &Path, runs: u32) {
    let mut all_acked = 0;
    let mut all_missing = 0;
    let mut worst_reopen = Duration::ZERO;
    for run in 0..runs {
        let path = dir.join(format!("{}-crash-{run}.db", E::NAME));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child", E::NAME, path.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the child writer");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| line.trim().parse::<u64>().ok())
                .collect::<Vec<u64>>()
        });
        // Kill at a different point of the burst each run (after the file exists).
        std::thread::sleep(Duration::from_millis(300 + 170 * u64::from(run)));
        child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix.
        let status = child.wait().unwrap();
        let acked = reader.join().unwrap();
        let started = Instant::now();
        let engine = E::open(&path).expect("the store reopens after SIGKILL");
        let reopen = started.elapsed();
        let missing = engine.missing(&acked).unwrap();
        let rows = engine.count().unwrap();
        drop(engine);
        println!(
            "| {} | {run} | {status} | {} | {rows} | {missing} | {:.1} |",
            E::NAME,
            acked.len(),
            reopen.as_secs_f64() * 1000.0
        );
        assert!(!status.success(), "the child was killed, not finished");
        all_acked += acked.len();
        all_missing += missing;
        worst_reopen = worst_reopen.max(reopen);
        remove_db(&path);
    }
    println!(
        "{}: {runs} kills, {all_acked} acknowledged enqueues, {all_missing} missing after reopen, \
         slowest reopen {:.1} ms",
        E::NAME,
        worst_reopen.as_secs_f64() * 1000.0
    );
}

/// The crash child: 16 producers for at most 20 s, printing each acknowledged id.
fn child(engine: &str, path: &Path) {
    let print: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(|id| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{id}");
        let _ = out.flush();
    });
    match engine {
        Sqlite::NAME => drop(run::<Sqlite>(path, 16, u64::MAX, 20.0, 1024, print)),
        other => panic!("unknown engine {other}"),
    }
}

struct Args {
    dir: PathBuf,
    events: u64,
    seconds: f64,
    concurrency: Vec<usize>,
    body: usize,
    crash_runs: u32,
}

fn parse_args() -> Args {
    let mut args = Args {
        dir: std::env::temp_dir(),
        events: 20_000,
        seconds: 5.0,
        concurrency: vec![1, 8, 64],
        body: 1024,
        crash_runs: 5,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => args.dir = value.into(),
            "--events" => args.events = value.parse().expect("--events N"),
            "--seconds" => args.seconds = value.parse().expect("--seconds S"),
            "--concurrency" => {
                args.concurrency = value
                    .split(',')
                    .map(|c| c.parse().expect("--concurrency 1,8,64"))
                    .collect()
            }
            "--body" => args.body = value.parse().expect("--body BYTES"),
            "--crash-runs" => args.crash_runs = value.parse().expect("--crash-runs N"),
            other => panic!("unknown flag {other}"),
        }
    }
    args.events = args.events.min(1_000_000);
    args.seconds = args.seconds.min(60.0);
    args.crash_runs = args.crash_runs.min(20);
    args
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("child") {
        child(&argv[2], Path::new(&argv[3]));
        return;
    }
    let args = parse_args();
    let dir = args
        .dir
        .join(format!("hookgate-queue-engines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!(
        "durable enqueue, {} B bodies, at most {} events or {} s per run\n",
        args.body, args.events, args.seconds
    );
    println!("| engine | producers | acknowledged | seconds | enqueues/s | events per sync | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    throughput::<Sqlite>(&dir, &args);
    queue_throughput(&dir, &args);

    println!("\ncrash safety: SIGKILL of a 16-producer writer mid-burst, then reopen\n");
    println!("| engine | run | exit | acknowledged | rows after reopen | acknowledged but missing | reopen ms |");
    println!("|---|---|---|---|---|---|---|");
    crash::<Sqlite>(&dir, args.crash_runs);

    let _ = std::fs::remove_dir_all(&dir);
}
