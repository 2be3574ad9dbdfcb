//! Load generator for the hookgate benchmarks (see BENCHMARKS.md; driven by bench/run.sh).
//!
//! ```text
//! loadgen upstream  --listen 127.0.0.1:18081 [--workers 1] [--max-time 10m]
//! loadgen run       --url http://127.0.0.1:18083/webhooks/stripe --preset stripe --secret S
//!                   --body-size 1024 --events 100000 --connections 16 --duration 10s
//!                   [--rate 2000] [--warmup 1s] [--max-requests M] [--wrap] [--threads 1]
//! loadgen coldstart --bin target/release/hookgate --config hookgate.toml
//!                   --health http://127.0.0.1:18084/healthz [--runs 5]
//! loadgen get       --url http://127.0.0.1:18084/metrics [--wait 5s]
//! loadgen verify    --secret S [--body-size 1024] [--iterations 20000]
//! loadgen dedup     [--events 300000] [--capacity 1000000]
//! ```
//!
//! `run` signs every event *before* the clock starts (distinct ids, so a deduplicating target
//! does real work), then replays them over keep-alive HTTP/1.1 connections: one task per
//! connection, each a bare `hyper::client::conn::http1` handshake over a `TcpStream`. With
//! `--rate` each connection follows a fixed schedule and latency is measured from the
//! scheduled send time whenever the connection was still busy with an earlier request, so a
//! slow server cannot hide its queueing delay (no coordinated omission). It prints one
//! `RESULT key=value ...` line for scripts and one line for humans. Every target must be a
//! loopback address; every run is bounded by `--duration` (and `--max-requests`).

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use hdrhistogram::Histogram;
use hookgate::core::{Provider, Secret, SignInput};
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command as Process, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};

/// Load generator for the hookgate benchmarks.
#[derive(Parser)]
#[command(name = "loadgen")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A minimal HTTP/1.1 upstream: reads the whole body, answers 200 "ok".
    Upstream(UpstreamArgs),
    /// Pre-sign N events, replay them, print rps and latency percentiles.
    Run(RunArgs),
    /// Spawn a hookgate binary repeatedly and time spawn -> first 200 from its health URL.
    Coldstart(ColdstartArgs),
    /// One GET (retried until --wait), body to stdout; exit 0 on 2xx.
    Get(GetArgs),
    /// Time the signature check alone (hookgate's verifier, one pre-signed event): the part
    /// of a request's CPU that is the HMAC of its body.
    Verify(VerifyArgs),
    /// Time the memory store's dedup work for N distinct events (key, claim, commit), one
    /// thread: the other part of hookgate's required work, after the signature check.
    Dedup(DedupArgs),
}

#[derive(Args)]
struct DedupArgs {
    /// Distinct events (ids) claimed and committed, on a store that starts empty.
    #[arg(long, default_value_t = 300_000)]
    events: u32,
    /// The store's capacity (the benchmark's `[store] capacity`).
    #[arg(long, default_value_t = 1_000_000)]
    capacity: u64,
    /// Name of this measurement in the RESULT line (no spaces).
    #[arg(long, default_value = "dedup")]
    label: String,
}

#[derive(Args)]
struct VerifyArgs {
    /// Preset.
    #[arg(long, default_value = "stripe")]
    preset: String,
    /// Its secret.
    #[arg(long)]
    secret: String,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Verifications to time.
    #[arg(long, default_value_t = 20_000)]
    iterations: u32,
    /// Name of this measurement in the RESULT line (no spaces).
    #[arg(long, default_value = "verify")]
    label: String,
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

#[derive(Args)]
struct UpstreamArgs {
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    listen: SocketAddr,
    /// Runtime worker threads (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Exit on its own after this long (a safety net for scripts).
    #[arg(long, value_parser = duration)]
    max_time: Option<Duration>,
}

#[derive(Args)]
struct RunArgs {
    /// Target URL (loopback only); its path and query are requested.
    #[arg(long)]
    url: String,
    /// The provider preset whose signature scheme the events carry.
    #[arg(long, default_value = "stripe")]
    preset: String,
    /// Signing secret (default: a fixed bench secret valid for the preset).
    #[arg(long)]
    secret: Option<String>,
    /// Exact body size in bytes (a JSON object padded to this size).
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Distinct events to pre-sign.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Keep-alive connections, one task each.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured time.
    #[arg(long, default_value = "10s", value_parser = duration)]
    duration: Duration,
    /// Unmeasured time before it (same connections, consumes events too).
    #[arg(long, default_value = "0s", value_parser = duration)]
    warmup: Duration,
    /// Fixed aggregate request rate (requests/s), spread evenly over the connections.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop after this many measured requests.
    #[arg(long)]
    max_requests: Option<u64>,
    /// When the events run out, start over (repeats ids) instead of stopping.
    #[arg(long)]
    wrap: bool,
    /// Generator runtime threads (1: a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// A request not answered within this is an error (its connection is dropped).
    #[arg(long, default_value = "5s", value_parser = duration)]
    timeout: Duration,
    /// Name of this measurement in the RESULT line (no spaces).
    #[arg(long, default_value = "run")]
    label: String,
    /// Processes whose CPU time (utime + stime, all threads) over the measured window is
    /// reported per answered request (`cpu_us_per_req`): the proxy under test, e.g. nginx's
    /// master and workers.
    #[arg(long, value_delimiter = ',')]
    cpu_pids: Vec<u32>,
    /// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

#[derive(Args)]
struct ColdstartArgs {
    /// The hookgate binary.
    #[arg(long)]
    bin: PathBuf,
    /// Its configuration file.
    #[arg(long)]
    config: PathBuf,
    /// URL that answers 200 once it is ready (the admin /healthz).
    #[arg(long)]
    health: String,
    /// Repetitions; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Give up on one start after this long.
    #[arg(long, default_value = "5s", value_parser = duration)]
    timeout: Duration,
}

#[derive(Args)]
struct GetArgs {
    /// URL (loopback only).
    #[arg(long)]
    url: String,
    /// Keep retrying (connection refused, non-2xx) for this long.
    #[arg(long, default_value = "0s", value_parser = duration)]
    wait: Duration,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Upstream(args) => upstream(args),
        Command::Run(args) => run(args),
        Command::Coldstart(args) => coldstart(args),
        Command::Get(args) => get(args),
        Command::Verify(args) => verify(args),
        Command::Dedup(args) => dedup(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::from(2)
        }
    }
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    let built = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    built.map_err(|e| format!("cannot start the runtime: {e}"))
}

/// A target: loopback address, `Host` header value and request path.
struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    path: Uri,
}

fn target(url: &str) -> Result<Target, String> {
    let uri: Uri = url.parse().map_err(|e| format!("bad url {url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url}: only http:// URLs"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("{url}: no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip: IpAddr = if host == "localhost" {
        Ipv4Addr::LOCALHOST.into()
    } else {
        host.parse()
            .map_err(|_| format!("{url}: the host must be an IP address or localhost"))?
    };
    if !ip.is_loopback() {
        return Err(format!("{url}: refusing a non-loopback target"));
    }
    let path = uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(Target {
        addr: SocketAddr::new(ip, port),
        host: HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?,
        path,
    })
}

// ---------------------------------------------------------------------------------------------
// upstream

fn upstream(args: UpstreamArgs) -> Result<ExitCode, String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {}: loopback only",
            args.listen
        ));
    }
    let rt = runtime(args.workers)?;
    rt.block_on(async move {
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        eprintln!("loadgen upstream: listening on {}", args.listen);
        let deadline = args.max_time.map(|t| tokio::time::Instant::now() + t);
        loop {
            let accepted = match deadline {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline, listener.accept()).await {
                        Ok(accepted) => accepted,
                        Err(_) => {
                            eprintln!("loadgen upstream: --max-time reached, exiting");
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                }
                None => listener.accept().await,
            };
            let Ok((stream, _)) = accepted else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                    let mut body = request.into_body();
                    while let Some(frame) = body.frame().await {
                        if frame.is_err() {
                            break;
                        }
                    }
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

// ---------------------------------------------------------------------------------------------
// the signed events

/// One pre-signed event: the body's unique head (the shared tail follows it) and its headers.
struct Event {
    head: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// All events of a run. Bodies are `head + tail`: every head has the same length and the
/// padding tail is shared, so even a million 64 KiB events fit in memory.
struct Corpus {
    events: Vec<Event>,
    tail: Bytes,
}

/// A secret the preset accepts (Standard Webhooks wants `whsec_` + base64).
fn default_secret(provider: Provider) -> &'static str {
    match provider {
        Provider::StandardWebhooks | Provider::Svix => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        _ => "whsec_bench_secret",
    }
}

/// The start of a body, with the id where the preset's default event id reads it.
fn body_head(provider: Provider, id: &str) -> String {
    match provider {
        Provider::D3 => format!(r#"{{"type":"bench.event","timestamp":"{id}","pad":""#),
        Provider::Filedgr => format!(r#"{{"eventId":"{id}","pad":""#),
        Provider::DocExtract => format!(r#"{{"data":{{"id":"{id}"}},"pad":""#),
        Provider::Slack => format!(r#"{{"event_id":"{id}","pad":""#),
        _ => format!(r#"{{"id":"{id}","object":"event","pad":""#),
    }
}

fn build_corpus(
    provider: Provider,
    secret: &Secret,
    body_size: usize,
    count: usize,
    nonce: &str,
    timestamp: i64,
) -> Result<Corpus, String> {
    const CLOSE: &str = "\"}";
    if count == 0 {
        return Err("--events must be at least 1".into());
    }
    if count > 9_999_999_999 {
        return Err("--events is too large".into());
    }
    let id_of = |i: usize| format!("evt_{nonce}_{i:010}");
    let head_len = body_head(provider, &id_of(0)).len();
    let min = head_len + CLOSE.len();
    if body_size < min {
        return Err(format!(
            "--body-size {body_size} is too small for preset {provider}: at least {min}"
        ));
    }
    let mut tail = "x".repeat(body_size - min);
    tail.push_str(CLOSE);
    let tail = Bytes::from(tail);

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads);
    let chunks: Vec<Result<Vec<Event>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let tail = &tail;
                let range = (t * per_thread).min(count)..((t + 1) * per_thread).min(count);
                scope.spawn(move || {
                    let mut body = Vec::with_capacity(body_size);
                    body.resize(head_len, b' ');
                    body.extend_from_slice(tail);
                    let mut out = Vec::with_capacity(range.len());
                    for i in range {
                        let id = id_of(i);
                        let head = body_head(provider, &id);
                        body[..head_len].copy_from_slice(head.as_bytes());
                        let input = SignInput { timestamp, id: &id };
                        let headers = provider
                            .sign_request(secret, &body, &input)
                            .map_err(|e| e.to_string())?;
                        out.push(Event {
                            head: Bytes::from(head),
                            headers,
                        });
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a signing thread panicked".into()))
            })
            .collect()
    });
    let mut events = Vec::with_capacity(count);
    for chunk in chunks {
        events.extend(chunk?);
    }
    Ok(Corpus { events, tail })
}

/// A request body of two shared buffers: the event's head and the common tail.
struct EventBody {
    head: Option<Bytes>,
    tail: Option<Bytes>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let next = this
            .head
            .take()
            .filter(|b| !b.is_empty())
            .or_else(|| this.tail.take().filter(|b| !b.is_empty()));
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.as_ref().is_none_or(Bytes::is_empty)
            && self.tail.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        let len =
            self.head.as_ref().map_or(0, Bytes::len) + self.tail.as_ref().map_or(0, Bytes::len);
        SizeHint::with_exact(len as u64)
    }
}

// ---------------------------------------------------------------------------------------------
// run

struct Shared {
    corpus: Corpus,
    target: Target,
    connections: usize,
    /// Per-connection send interval when a rate is set.
    interval: Option<Duration>,
    start: Instant,
    measure_start: Instant,
    end: Instant,
    timeout: Duration,
    max_requests: Option<u64>,
    wrap: bool,
    next_event: AtomicUsize,
    measured_issued: AtomicU64,
    exhausted: AtomicBool,
    wrapped: AtomicBool,
    max_reached: AtomicBool,
    first_failure: Mutex<Option<String>>,
}

impl Shared {
    fn note_failure(&self, text: impl FnOnce() -> String) {
        if let Ok(mut first) = self.first_failure.lock() {
            if first.is_none() {
                *first = Some(text());
            }
        }
    }

    fn request(&self, event: &Event) -> Request<EventBody> {
        let mut request = Request::new(EventBody {
            head: Some(event.head.clone()),
            tail: Some(self.corpus.tail.clone()),
        });
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.target.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.target.host.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &event.headers {
            headers.append(name.clone(), value.clone());
        }
        request
    }
}

struct TaskResult {
    histogram: Histogram<u64>,
    ok: u64,
    non2xx: u64,
    errors: u64,
    connects: u64,
    last_done: Option<Instant>,
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

type Sender = hyper::client::conn::http1::SendRequest<EventBody>;

async fn connect(shared: &Shared) -> Result<Sender, String> {
    let stream = tokio::time::timeout(
        Duration::from_secs(2),
        TcpStream::connect(shared.target.addr),
    )
    .await
    .map_err(|_| "connect timed out".to_owned())?
    .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn connection_task(shared: Arc<Shared>, index: usize) -> TaskResult {
    let mut result = TaskResult {
        histogram: new_histogram(),
        ok: 0,
        non2xx: 0,
        errors: 0,
        connects: 0,
        last_done: None,
    };
    let events = &shared.corpus.events;
    let mut sender: Option<Sender> = None;
    // Connections are staggered over one interval so the aggregate rate is smooth.
    let mut next_send = shared.start
        + shared.interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(index as f64 / shared.connections as f64)
        });
    loop {
        // When to send, and where this request's latency is measured from.
        let origin = match shared.interval {
            Some(interval) => {
                let scheduled = next_send;
                next_send += interval;
                if scheduled >= shared.end {
                    break;
                }
                if Instant::now() < scheduled {
                    // The connection is idle: wait, and measure from the actual send (the
                    // timer's lateness is the generator's, not the server's).
                    tokio::time::sleep_until(scheduled.into()).await;
                    Instant::now()
                } else {
                    // Still busy with earlier requests: the server made this one late, and
                    // the wait counts (no coordinated omission).
                    scheduled
                }
            }
            None => Instant::now(),
        };
        if origin >= shared.end {
            break;
        }
        let measured = origin >= shared.measure_start;
        if measured {
            if let Some(max) = shared.max_requests {
                if shared.measured_issued.fetch_add(1, Ordering::Relaxed) >= max {
                    shared.max_reached.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
        let mut i = shared.next_event.fetch_add(1, Ordering::Relaxed);
        if i >= events.len() {
            if !shared.wrap {
                shared.exhausted.store(true, Ordering::Relaxed);
                break;
            }
            shared.wrapped.store(true, Ordering::Relaxed);
            i %= events.len();
        }

        let mut active = match sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => match connect(&shared).await {
                Ok(s) => {
                    result.connects += 1;
                    s
                }
                Err(error) => {
                    result.errors += u64::from(measured);
                    shared.note_failure(|| error);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let request = shared.request(&events[i]);
        let exchange = async {
            active
                .ready()
                .await
                .map_err(|e| format!("connection: {e}"))?;
            let response = active
                .send_request(request)
                .await
                .map_err(|e| format!("request: {e}"))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("response body: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(shared.timeout, exchange).await {
            Ok(Ok((status, body))) => {
                let done = Instant::now();
                sender = Some(active);
                if measured {
                    let micros = done.saturating_duration_since(origin).as_micros();
                    result
                        .histogram
                        .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
                    result.last_done = Some(done);
                    if status.is_success() {
                        result.ok += 1;
                    } else {
                        result.non2xx += 1;
                    }
                }
                if !status.is_success() {
                    shared.note_failure(|| {
                        format!(
                            "status {status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(200)])
                        )
                    });
                }
            }
            Ok(Err(error)) => {
                result.errors += u64::from(measured);
                shared.note_failure(|| error);
            }
            Err(_) => {
                result.errors += u64::from(measured);
                shared.note_failure(|| format!("no answer within {:?}", shared.timeout));
            }
        }
    }
    result
}

fn run(args: RunArgs) -> Result<ExitCode, String> {
    let provider = Provider::from_name(&args.preset).ok_or_else(|| {
        let names: Vec<_> = Provider::all().iter().map(|p| p.name()).collect();
        format!(
            "unknown preset {}: one of {}",
            args.preset,
            names.join(", ")
        )
    })?;
    let target = target(&args.url)?;
    if args.connections == 0 || args.connections > 4096 {
        return Err("--connections must be 1..=4096".into());
    }
    if args.duration.is_zero() || args.duration > Duration::from_secs(600) {
        return Err("--duration must be more than 0 and at most 10m".into());
    }
    if args.warmup > Duration::from_secs(60) {
        return Err("--warmup must be at most 60s".into());
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err("--rate must be a positive number".into());
        }
    }
    let secret: Secret = args
        .secret
        .clone()
        .unwrap_or_else(|| default_secret(provider).to_owned())
        .into();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    // Distinct ids across runs too, so a long-lived target never sees a duplicate.
    let nonce = format!("{:08x}", (now.as_nanos() / 1000) as u32);
    let signing = Instant::now();
    let corpus = build_corpus(
        provider,
        &secret,
        args.body_size,
        args.events,
        &nonce,
        now.as_secs() as i64,
    )?;
    eprintln!(
        "loadgen: {} events of {} bytes signed for {provider} in {:.2}s",
        corpus.events.len(),
        args.body_size,
        signing.elapsed().as_secs_f64()
    );

    let rt = runtime(args.threads)?;
    let start = Instant::now() + Duration::from_millis(20);
    let measure_start = start + args.warmup;
    let end = measure_start + args.duration;
    let shared = Arc::new(Shared {
        corpus,
        target,
        connections: args.connections,
        interval: args
            .rate
            .map(|rate| Duration::from_secs_f64(args.connections as f64 / rate)),
        start,
        measure_start,
        end,
        timeout: args.timeout,
        max_requests: args.max_requests,
        wrap: args.wrap,
        next_event: AtomicUsize::new(0),
        measured_issued: AtomicU64::new(0),
        exhausted: AtomicBool::new(false),
        wrapped: AtomicBool::new(false),
        max_reached: AtomicBool::new(false),
        first_failure: Mutex::new(None),
    });
    let cpu_pids = args.cpu_pids.clone();
    let cpu_at_start = std::thread::spawn(move || {
        std::thread::sleep(measure_start.saturating_duration_since(Instant::now()));
        cpu_ticks(&cpu_pids)
    });
    let results: Vec<TaskResult> = rt.block_on(async {
        tokio::time::sleep_until(start.into()).await;
        let tasks: Vec<_> = (0..args.connections)
            .map(|i| tokio::spawn(connection_task(shared.clone(), i)))
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            if let Ok(result) = task.await {
                results.push(result);
            }
        }
        results
    });
    let cpu_ticks_used = cpu_ticks(&args.cpu_pids)
        .zip(cpu_at_start.join().ok().flatten())
        .map(|(end, start)| (end.0.saturating_sub(start.0), end.1.saturating_sub(start.1)));
    drop(rt);

    let mut histogram = new_histogram();
    let (mut ok, mut non2xx, mut errors, mut connects) = (0u64, 0u64, 0u64, 0u64);
    let mut last = measure_start;
    for r in &results {
        histogram
            .add(&r.histogram)
            .map_err(|e| format!("histogram: {e:?}"))?;
        ok += r.ok;
        non2xx += r.non2xx;
        errors += r.errors;
        connects += r.connects;
        if let Some(done) = r.last_done {
            last = last.max(done);
        }
    }
    // Normally the whole --duration; shorter if the events or --max-requests ran out.
    let elapsed = last
        .saturating_duration_since(measure_start)
        .max(Duration::from_millis(1))
        .as_secs_f64();
    let answered = ok + non2xx;
    let q = |quantile: f64| {
        if answered == 0 {
            0
        } else {
            histogram.value_at_quantile(quantile)
        }
    };
    let (p50, p90, p99, p999) = (q(0.5), q(0.9), q(0.99), q(0.999));
    let max = if answered == 0 { 0 } else { histogram.max() };
    let exhausted = shared.exhausted.load(Ordering::Relaxed);
    let wrapped = shared.wrapped.load(Ordering::Relaxed);
    let rate = args
        .rate
        .map_or_else(|| "max".to_owned(), |r| format!("{r}"));
    let label = args.label.replace(char::is_whitespace, "_");
    // The proxy's own CPU per answered request over the measured window ("" when not asked).
    let cpu = match cpu_ticks_used {
        Some((user, system)) if answered > 0 => {
            let us = |ticks: u64| ticks as f64 * 1e6 / args.clk_tck.max(1) as f64 / answered as f64;
            format!(
                " cpu_us_per_req={:.2} user_us_per_req={:.2} sys_us_per_req={:.2}",
                us(user + system),
                us(user),
                us(system)
            )
        }
        _ => String::new(),
    };
    println!(
        "RESULT label={label} preset={provider} body={} conns={} rate={rate} secs={elapsed:.3} \
         rps={:.1} ok={ok} non2xx={non2xx} errors={errors} connects={connects} \
         p50_us={p50} p90_us={p90} p99_us={p99} p999_us={p999} max_us={max} \
         events={} exhausted={} wrapped={} max_requests_reached={}{cpu}",
        args.body_size,
        args.connections,
        ok as f64 / elapsed,
        shared.corpus.events.len(),
        u8::from(exhausted),
        u8::from(wrapped),
        u8::from(shared.max_reached.load(Ordering::Relaxed)),
    );
    println!(
        "{label}: {:.0} req/s (2xx) over {elapsed:.1}s; latency p50 {:.3} ms, p99 {:.3} ms, \
         p99.9 {:.3} ms; non-2xx {non2xx}, errors {errors}{}{}",
        ok as f64 / elapsed,
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        p999 as f64 / 1000.0,
        if exhausted {
            "; EVENTS EXHAUSTED: stopped early"
        } else {
            ""
        },
        if wrapped {
            "; events wrapped (ids repeated)"
        } else {
            ""
        },
    );
    if let Ok(Some(failure)) = shared.first_failure.lock().map(|f| f.clone()) {
        eprintln!("{label}: first failure: {failure}");
    }
    Ok(if answered == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

// ---------------------------------------------------------------------------------------------
// get and coldstart: a blocking HTTP/1.0 GET, so probing adds no runtime start-up

fn blocking_get(target: &Target, timeout: Duration) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = std::net::TcpStream::connect_timeout(&target.addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let host = target.host.to_str().unwrap_or("localhost");
    write!(
        stream,
        "GET {} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        target.path
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let status_line_end = response
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(bad)?;
    let status_line = std::str::from_utf8(&response[..status_line_end]).map_err(|_| bad())?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let body_start = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |p| p + 4);
    Ok((status, response[body_start..].to_vec()))
}

fn get(args: GetArgs) -> Result<ExitCode, String> {
    let target = target(&args.url)?;
    let deadline = Instant::now() + args.wait;
    loop {
        let outcome = blocking_get(&target, Duration::from_secs(2));
        match &outcome {
            Ok((status, body)) if StatusCode::from_u16(*status).is_ok_and(|s| s.is_success()) => {
                std::io::stdout()
                    .write_all(body)
                    .map_err(|e| e.to_string())?;
                return Ok(ExitCode::SUCCESS);
            }
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok((status, body)) => {
                eprintln!(
                    "loadgen get {}: status {status}: {}",
                    args.url,
                    String::from_utf8_lossy(body).trim()
                );
                return Ok(ExitCode::FAILURE);
            }
            Err(error) => {
                eprintln!("loadgen get {}: {error}", args.url);
                return Ok(ExitCode::FAILURE);
            }
        }
    }
}

fn coldstart(args: ColdstartArgs) -> Result<ExitCode, String> {
    let health = target(&args.health)?;
    if args.runs == 0 || args.runs > 50 {
        return Err("--runs must be 1..=50".into());
    }
    // The port must be free, or we would time a process that is already running.
    if blocking_get(&health, Duration::from_millis(200)).is_ok() {
        return Err(format!(
            "{} already answers: stop that server first",
            args.health
        ));
    }
    let mut times = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        let spawned = Instant::now();
        let mut child = Process::new(&args.bin)
            .arg("run")
            .arg("--config")
            .arg(&args.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn {}: {e}", args.bin.display()))?;
        let ready = loop {
            if let Ok((200, _)) = blocking_get(&health, Duration::from_millis(500)) {
                break Some(spawned.elapsed());
            }
            if spawned.elapsed() > args.timeout {
                break None;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = child.wait();
                return Err(format!("hookgate exited before it was ready: {status}"));
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let _ = child.kill();
        let _ = child.wait();
        let Some(ready) = ready else {
            return Err(format!("not ready within {:?}", args.timeout));
        };
        eprintln!(
            "coldstart run {}: ready in {:.2} ms",
            run + 1,
            ready.as_secs_f64() * 1e3
        );
        times.push(ready);
        // Let the kernel release the ports before the next start.
        std::thread::sleep(Duration::from_millis(50));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = ms(times[times.len() / 2]);
    println!(
        "RESULT label=coldstart runs={} median_ms={median:.2} min_ms={:.2} max_ms={:.2}",
        times.len(),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
    println!(
        "coldstart: spawn -> first 200 from {}: median {median:.2} ms over {} runs (min {:.2}, max {:.2})",
        args.health,
        times.len(),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
    Ok(ExitCode::SUCCESS)
}

/// (utime, stime) of the given processes (all their threads), in clock ticks; `None` when a
/// process cannot be read (or none is given).
fn cpu_ticks(pids: &[u32]) -> Option<(u64, u64)> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().try_fold((0u64, 0u64), |sum, pid| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')')? + 2..];
        let mut fields = rest.split(' ').skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some((sum.0 + utime, sum.1 + stime))
    })
}

fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
    let provider = Provider::named(&args.preset).ok_or("unknown preset")?;
    let secret: Secret = args.secret.clone().into();
    let now = SystemTime::now();
    let unix = now.duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
    let corpus = build_corpus(
        provider,
        &secret,
        args.body_size,
        1,
        "verify",
        unix.as_secs() as i64,
    )?;
    let event = &corpus.events[0];
    let mut body = event.head.to_vec();
    body.extend_from_slice(&corpus.tail);
    let mut headers = http::HeaderMap::new();
    for (name, value) in &event.headers {
        headers.append(name.clone(), value.clone());
    }
    let verifier = hookgate::core::Verifier::builder()
        .provider(provider)
        .secret(args.secret.as_str())
        .build()
        .map_err(|e| e.to_string())?;
    verifier
        .verify(&headers, &body, now)
        .map_err(|e| format!("the event does not verify: {e:?}"))?;
    let iterations = args.iterations.max(1);
    // This thread's CPU time, not the wall clock: other processes on a shared machine do not
    // inflate it.
    let started = thread_cpu_ns().ok_or("cannot read /proc/thread-self/schedstat")?;
    for _ in 0..iterations {
        std::hint::black_box(verifier.verify(&headers, std::hint::black_box(&body), now))
            .map_err(|e| format!("{e:?}"))?;
    }
    let used = thread_cpu_ns().ok_or("cannot read /proc/thread-self/schedstat")? - started;
    let us = used as f64 / 1e3 / f64::from(iterations);
    let label = args.label.replace(char::is_whitespace, "_");
    println!(
        "RESULT label={label} body={} us_per_verify={us:.2}",
        args.body_size
    );
    Ok(ExitCode::SUCCESS)
}

fn dedup(args: DedupArgs) -> Result<ExitCode, String> {
    use hookgate::store::{Claim, MemoryStore, StoreKey};
    let events = args.events.max(1);
    let store = MemoryStore::new(args.capacity);
    // The ids as the loadgen's events carry them, made before the clock starts.
    let ids: Vec<String> = (0..events).map(|i| format!("evt_dedup_{i:012}")).collect();
    let in_flight = Duration::from_secs(35);
    let ttl = Duration::from_secs(3600);
    let started = thread_cpu_ns().ok_or("cannot read /proc/thread-self/schedstat")?;
    for id in &ids {
        // What the layer does for a new event: its key, a claim, then the commit.
        let key = StoreKey::new("stripe", std::hint::black_box(id));
        let Claim::New(token) = store.claim_now(&key, in_flight) else {
            return Err(format!("{id} was not new"));
        };
        store.commit_now(&key, token, ttl);
    }
    let used = thread_cpu_ns().ok_or("cannot read /proc/thread-self/schedstat")? - started;
    let us = used as f64 / 1e3 / f64::from(events);
    let label = args.label.replace(char::is_whitespace, "_");
    println!("RESULT label={label} events={events} us_per_event={us:.2}");
    Ok(ExitCode::SUCCESS)
}

/// CPU time of the calling thread in nanoseconds (first field of its schedstat).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
