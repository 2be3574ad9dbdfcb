//! Test harness: a real upstream HTTP server, the real `hookgate` binary, real sockets.
#![allow(dead_code)]

use bytes::Bytes;
use hookgate::core::{Provider, SignInput};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// How the upstream answers its n-th request (from 0).
pub type Script = Arc<dyn Fn(usize) -> (StatusCode, Duration) + Send + Sync>;

/// A real HTTP/1.1 server recording what it receives.
pub struct Upstream {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Upstream {
    /// Answers 200 "ok" at once.
    pub async fn start() -> Upstream {
        Self::scripted(Arc::new(|_| (StatusCode::OK, Duration::ZERO))).await
    }

    pub async fn scripted(script: Script) -> Upstream {
        Self::scripted_on("127.0.0.1:0".parse().unwrap(), script).await
    }

    /// Answers 200 at once, on a given address.
    pub async fn start_on(addr: SocketAddr) -> Upstream {
        Self::scripted_on(addr, Arc::new(|_| (StatusCode::OK, Duration::ZERO))).await
    }

    pub async fn scripted_on(addr: SocketAddr, script: Script) -> Upstream {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let log = log.clone();
                let script = script.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let log = log.clone();
                    let script = script.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let n = {
                            let mut log = log.lock().unwrap();
                            log.push(Received {
                                method: parts.method,
                                uri: parts.uri,
                                headers: parts.headers,
                                body,
                            });
                            log.len() - 1
                        };
                        let (status, delay) = script(n);
                        tokio::time::sleep(delay).await;
                        let mut resp =
                            Response::new(Full::new(Bytes::from(format!("upstream answer {n}"))));
                        *resp.status_mut() = status;
                        resp.headers_mut()
                            .insert("x-upstream", "yes".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Upstream { addr, received }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn last(&self) -> Received {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("upstream received a request")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// The real `hookgate run` process, its address, and every line it logged.
pub struct Hookgate {
    pub addr: SocketAddr,
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hookgate-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The address in the "listening" log line, in the text or the JSON format.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    if let Some(rest) = line.split("listening listen=").nth(1) {
        return rest.trim().parse().ok();
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["fields"]["message"] != "listening" {
        return None;
    }
    value["fields"]["listen"].as_str()?.parse().ok()
}

/// Peak resident memory of a process, in bytes (`VmHWM` of `/proc/PID/status`).
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// The binary under test: this build's, or `HOOKGATE_BIN` (to run a suite against another
/// build, e.g. for a before/after measurement).
pub fn bin() -> String {
    std::env::var("HOOKGATE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_hookgate").to_owned())
}

impl Hookgate {
    /// Starts `hookgate run` with `config` (whose `listen` should be `127.0.0.1:0`) and waits
    /// until it listens.
    pub fn start(config: &str) -> Hookgate {
        let dir = TempDir::new();
        let path = dir.0.join("hookgate.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(bin())
            .args(["run", "--config"])
            .arg(&path)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("hookgate did not start; logs: {:?}", logs.lock().unwrap()));
        Hookgate {
            addr,
            child,
            logs,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The configuration file the process runs from (rewrite it, then [`Hookgate::reload`]).
    pub fn config_path(&self) -> std::path::PathBuf {
        self._dir.0.join("hookgate.toml")
    }

    /// Sends SIGHUP.
    pub fn reload(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until a log line contains `text` `count` times in all, for at most 10 s.
    pub fn wait_for_log(&self, text: &str, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.logs().iter().filter(|l| l.contains(text)).count() < count {
            assert!(
                std::time::Instant::now() < deadline,
                "no `{text}` in the log: {:?}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still the one that started (never restarted, never exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// A request signed as `provider` with `secret`, to the route `config` made for it.
    pub fn signed_request(
        &self,
        provider: Provider,
        secret: &str,
        body: impl Into<Bytes>,
        id: &str,
    ) -> Request<Full<Bytes>> {
        signed(
            provider,
            secret,
            &self.url(&format!("/webhooks/{}", provider.name())),
            body,
            id,
        )
    }

    /// POSTs that request.
    pub async fn post(
        &self,
        provider: Provider,
        secret: &str,
        body: impl Into<Bytes>,
        id: &str,
    ) -> Answer {
        send(self.signed_request(provider, secret, body, id)).await
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// The admin address, read from the log line that announces it.
    pub fn admin_addr(&self) -> SocketAddr {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(addr) = self.logs().iter().find_map(|l| {
                l.split("admin listening admin=")
                    .nth(1)
                    .and_then(|a| a.trim().parse().ok())
            }) {
                return addr;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no admin address in {:?}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The sidecar in the test process: `Sidecar::bind` + `serve`, stopped when dropped.
pub struct InProcess {
    pub addr: SocketAddr,
    pub admin: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<Result<(), hookgate::sidecar::SidecarError>>>,
}

impl InProcess {
    /// Loads `config` (TOML) and serves it until [`InProcess::stop`] or drop.
    pub async fn start(config: &str) -> InProcess {
        let config = hookgate::config::Config::from_toml(config).unwrap();
        let sidecar = hookgate::sidecar::Sidecar::bind(config).await.unwrap();
        let (addr, admin) = (sidecar.local_addr(), sidecar.admin_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(sidecar.serve(async {
            let _ = stopped.await;
        }));
        InProcess {
            addr,
            admin,
            stop: Some(stop),
            serving: Some(serving),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, drains, and returns what `serve` returned.
    pub async fn stop(mut self) -> Result<(), hookgate::sidecar::SidecarError> {
        let _ = self.stop.take().unwrap().send(());
        self.serving.take().unwrap().await.unwrap()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Hookgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config with one route in front of `upstream`, plus `extra` route keys and `server` keys.
pub fn config(
    provider: &str,
    secret: &str,
    upstream: &str,
    route_extra: &str,
    server_extra: &str,
) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
{server_extra}

{store}
[[route]]
name = "{provider}"
path = "/webhooks/{provider}"
upstream = "{upstream}"
provider = "{provider}"
secrets = ["{secret}"]
{route_extra}
"#,
        store = store_section(),
    )
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A request signed as `provider` would sign it, with its id header (`Provider::sign_request`).
pub fn signed(
    provider: Provider,
    secret: &str,
    url: &str,
    body: impl Into<Bytes>,
    id: &str,
) -> Request<Full<Bytes>> {
    let body = body.into();
    let headers = provider
        .sign_request(
            &secret.into(),
            &body,
            &SignInput {
                timestamp: now(),
                id,
            },
        )
        .unwrap();
    let mut req = Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap();
    for (name, value) in headers {
        req.headers_mut().insert(name, value);
    }
    req
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }

    /// The `Retry-After` header, in whole seconds (panics when absent or not a number).
    pub fn retry_after(&self) -> u64 {
        let value = self
            .headers
            .get("retry-after")
            .unwrap_or_else(|| panic!("no Retry-After on a {} answer", self.status));
        value.to_str().unwrap().parse().unwrap()
    }
}

pub async fn send(req: Request<Full<Bytes>>) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let resp = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .expect("answer in time")
        .expect("request sent");
    let (parts, body) = resp.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// `GET path` on the admin listener at `addr`: the raw HTTP answer.
pub async fn admin_get(addr: SocketAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
    raw(addr, request.as_bytes(), Duration::from_secs(5)).await
}

/// Writes raw bytes on a fresh connection and reads until the server closes or `wait` passes.
pub async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_all(&mut stream, wait).await
}

pub async fn read_all(stream: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `[store]` section every end-to-end config gets: the memory store, or Redis when
/// `HOOKGATE_TEST_REDIS` names a server (so the same suites run against both), with a key
/// prefix of its own per config so tests never see each other's ids.
pub fn store_section() -> String {
    match std::env::var("HOOKGATE_TEST_REDIS") {
        Ok(url) if !url.is_empty() => {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!(
                "[store]\nbackend = \"redis\"\nurl = \"{url}\"\nkey_prefix = \"test-{}-{n}-{}:\"\n",
                std::process::id(),
                now()
            )
        }
        _ => String::new(),
    }
}

/// Whether the end-to-end suites run against Redis (`HOOKGATE_TEST_REDIS`).
pub fn on_redis() -> bool {
    std::env::var("HOOKGATE_TEST_REDIS").is_ok_and(|v| !v.is_empty())
}

/// A real `redis-server` on a free loopback port, in a directory of its own; killed when
/// dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: TempDir,
    extra: Vec<String>,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// With extra `redis-server` arguments (e.g. `--cluster-enabled yes`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            port,
            child: None,
            dir: TempDir::new(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL): every connection drops at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: no persistence) and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.0.to_str().unwrap()])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.command(&["PING"]).is_some_and(|r| r.contains("PONG")) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs one command with `redis-cli`; its output, or `None` when it failed.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
