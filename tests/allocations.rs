//! Heap allocations per request through the layer (verify, dedup claim and commit, metrics),
//! counted by a global allocator: the figure issue 19 tracks, and a bound that keeps it from
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
const BOUND: u64 = 30;

#[test]
fn a_delivered_request_allocates_a_bounded_number_of_times() {
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
        assert!(
            per_request <= BOUND as f64,
            "{per_request:.1} allocations per request (bound {BOUND})"
        );
    });
}
