//! Heap allocations per request, counted by a global allocator: through the layer (verify,
//! dedup claim and commit, metrics), and through the whole sidecar (accept, HTTP/1 parsing,
//! the layer, forwarding to a real upstream, relaying its answer). The figures issue 19
//! tracks (bench/run.sh prints the `ALLOCATIONS` lines), and bounds that keep them from
//! creeping back.

#![cfg(feature = "sidecar")]

use bytes::Bytes;
use hookgate::core::{Provider, SignInput, Verifier};
use hookgate::WebhookLayer;
use http_body_util::Full;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tower::{Layer, Service, ServiceExt};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// The counter is global: one counting test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bound on allocations per delivered request through the layer (the body, the verified
/// event handed to the inner service, the store key, the boxed futures, tracing).
const BOUND: u64 = 24;

#[test]
fn a_delivered_request_allocates_a_bounded_number_of_times() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    ALLOCATIONS.store(0, Ordering::SeqCst);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Series are recorded as the sidecar records them (a Prometheus registry), so their labels
    // count too.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    runtime.block_on(async {
        let secret = "whsec_alloc_test";
        let verifier = Verifier::builder()
            .provider(Provider::Stripe)
            .secret(secret)
            .build()
            .unwrap();
        let mut service = WebhookLayer::new(verifier).layer(tower::service_fn(
            |_: http::Request<Full<Bytes>>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(Full::<Bytes>::default()))
            },
        ));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        const N: u64 = 2000;
        let requests: Vec<_> = (0..N)
            .map(|i| {
                let body = Bytes::from(format!(
                    r#"{{"id":"evt_{i:08}","pad":"{}"}}"#,
                    "x".repeat(900)
                ));
                let headers = Provider::Stripe
                    .sign_request(
                        &secret.into(),
                        &body,
                        &SignInput {
                            timestamp: now,
                            id: "",
                        },
                    )
                    .unwrap();
                let mut request = http::Request::post("/webhooks/stripe")
                    .header("content-length", body.len())
                    .body(Full::new(body))
                    .unwrap();
                for (name, value) in headers {
                    request.headers_mut().insert(name, value);
                }
                request
            })
            .collect();
        // Warm up (first use of lazily built state), then count.
        let mut counted = 0;
        for (i, request) in requests.into_iter().enumerate() {
            if i == 100 {
                COUNTING.store(true, Ordering::SeqCst);
            }
            let response = ServiceExt::<http::Request<Full<Bytes>>>::ready(&mut service)
                .await
                .unwrap()
                .call(request)
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            drop(response);
            counted += u64::from(i >= 100);
        }
        COUNTING.store(false, Ordering::SeqCst);
        let per_request = ALLOCATIONS.load(Ordering::SeqCst) as f64 / counted as f64;
        println!("allocations per delivered request through the layer: {per_request:.1}");
        println!("ALLOCATIONS layer={per_request:.1}");
        assert!(
            per_request <= BOUND as f64,
            "{per_request:.1} allocations per request (bound {BOUND})"
        );
    });
}

/// Bound on allocations per request through the sidecar, end to end: the layer's, plus
/// hyper's server and client sides and the forwarder.
const SIDECAR_BOUND: u64 = 40;

#[test]
fn a_request_through_the_sidecar_allocates_a_bounded_number_of_times() {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    ALLOCATIONS.store(0, Ordering::SeqCst);
    // A blocking upstream and client that allocate nothing per request, so the count is the
    // sidecar's.
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in upstream.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while read_message(&mut stream, &mut buf).is_some() {
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let secret = "whsec_alloc_test";
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nworkers = 1\n\n[[route]]\nname = \"stripe\"\n\
         path = \"/webhooks/stripe\"\nupstream = \"http://{upstream_addr}/hook\"\n\
         provider = \"stripe\"\nsecrets = [\"{secret}\"]\n"
    );
    let config = hookgate::config::Config::from_toml(&config).unwrap();
    let sidecar = runtime
        .block_on(hookgate::sidecar::Sidecar::bind(config))
        .unwrap();
    let addr = sidecar.local_addr();
    runtime.spawn(sidecar.serve(std::future::pending()));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    const N: u64 = 3000;
    let requests: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            let body = format!(r#"{{"id":"evt_{i:08}","pad":"{}"}}"#, "x".repeat(900));
            let headers = Provider::Stripe
                .sign_request(
                    &secret.into(),
                    body.as_bytes(),
                    &SignInput {
                        timestamp: now,
                        id: "",
                    },
                )
                .unwrap();
            let mut request = format!(
                "POST /webhooks/stripe HTTP/1.1\r\nhost: hookgate\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                body.len()
            );
            for (name, value) in headers {
                request.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
            }
            request.push_str("\r\n");
            request.push_str(&body);
            request.into_bytes()
        })
        .collect();

    let mut client = TcpStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();
    let mut buf = [0u8; 8192];
    let mut counted = 0;
    for (i, request) in requests.iter().enumerate() {
        if i == 200 {
            COUNTING.store(true, Ordering::SeqCst);
        }
        client.write_all(request).unwrap();
        let head = read_message(&mut client, &mut buf).expect("an answer");
        assert!(
            head.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(head)
        );
        counted += u64::from(i >= 200);
    }
    COUNTING.store(false, Ordering::SeqCst);
    let per_request = ALLOCATIONS.load(Ordering::SeqCst) as f64 / counted as f64;
    println!("allocations per request through the sidecar: {per_request:.1}");
    println!("ALLOCATIONS sidecar={per_request:.1}");
    drop(runtime);
    assert!(
        per_request <= SIDECAR_BOUND as f64,
        "{per_request:.1} allocations per request (bound {SIDECAR_BOUND})"
    );
}

/// Reads one HTTP/1 message (head + `content-length` body) into `buf` without allocating;
/// returns its head, or `None` at end of stream.
fn read_message<'a>(stream: &mut std::net::TcpStream, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    use std::io::Read;
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).ok()?;
        if n == 0 {
            return None;
        }
        filled += n;
        let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head_len = end + 4;
        let length = content_length(&buf[..head_len]);
        while filled < head_len + length {
            let n = stream.read(&mut buf[filled..]).ok()?;
            if n == 0 {
                return None;
            }
            filled += n;
        }
        return Some(&buf[..head_len]);
    }
}

fn content_length(head: &[u8]) -> usize {
    head.split(|&b| b == b'\n')
        .find_map(|line| {
            let (name, value) = line.split_at(line.iter().position(|&b| b == b':')?);
            name.eq_ignore_ascii_case(b"content-length").then(|| {
                value[1..]
                    .iter()
                    .filter(|b| b.is_ascii_digit())
                    .fold(0usize, |n, &b| n * 10 + usize::from(b - b'0'))
            })
        })
        .unwrap_or(0)
}
