//! Micro benchmarks (criterion, `cargo bench`); see BENCHMARKS.md.
//!
//! - `verify/<preset>/<1KiB|64KiB>`: `Verifier::verify` of a request signed with
//!   `hookgate::core::sign`, for every preset, next to `raw_hmac_sha256/<size>` (a bare
//!   `Hmac<Sha256>` keyed afresh each call) and `raw_hmac_sha256_prekeyed/<size>` (a clone of
//!   a keyed state, which is what the verifier does) over the same body bytes.
//! - `event_id/json_pointer_64KiB/{id_first,id_last}`: `json:/id` read from a 64 KiB JSON
//!   object, the id first (best case) or last (worst case: the whole body is scanned).
//! - `memory_store/claim_commit`: `claim_now` + `commit_now` of a new key in a
//!   `MemoryStore::new(1_000_000)`.
//!
//! After the benchmarks it prints the ratio verify / raw HMAC per preset and size, read from
//! the estimates criterion has just written (median time per call).

use criterion::{BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use hookgate::core::{EventIdSpec, Provider, Secret, SignInput, Verifier};
use hookgate::store::{Claim, MemoryStore, StoreKey};
use http::HeaderMap;
use sha2::Sha256;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The signing time; the verifier's clock is pinned to it.
const SIGNED_AT: u64 = 1_700_000_000;
const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];
const EVENT_ID: &str = "evt_1NqZbenchmark0001";

fn secret_text(provider: Provider) -> &'static str {
    match provider {
        // Standard Webhooks keys are `whsec_` + base64.
        Provider::StandardWebhooks | Provider::Svix => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        _ => "whsec_bench_secret",
    }
}

/// A JSON body of exactly `size` bytes carrying the id where the preset's default event id
/// reads it, then padding.
fn body(provider: Provider, size: usize) -> Vec<u8> {
    let id = EVENT_ID;
    let head = match provider {
        Provider::D3 => format!(r#"{{"type":"bench.event","timestamp":"{id}","pad":""#),
        Provider::Filedgr => format!(r#"{{"eventId":"{id}","pad":""#),
        Provider::DocExtract => format!(r#"{{"data":{{"id":"{id}"}},"pad":""#),
        Provider::Slack => format!(r#"{{"event_id":"{id}","pad":""#),
        _ => format!(r#"{{"id":"{id}","object":"event","pad":""#),
    };
    let mut body = head.into_bytes();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    assert_eq!(body.len(), size);
    body
}

/// The headers the provider would send with `body`, its id header included.
fn signed_headers(provider: Provider, body: &[u8]) -> HeaderMap {
    let secret = Secret::from(secret_text(provider));
    let input = SignInput {
        timestamp: SIGNED_AT as i64,
        id: EVENT_ID,
    };
    let mut headers = HeaderMap::new();
    for (name, value) in provider
        .sign_request(&secret, body, &input)
        .expect("bench secret")
    {
        headers.append(name, value);
    }
    headers
}

fn bench_verify(c: &mut Criterion) {
    let now = UNIX_EPOCH + Duration::from_secs(SIGNED_AT);
    let mut group = c.benchmark_group("verify");
    for (size, label) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        for provider in Provider::all().iter().copied().take(10) {
            // the first ten: one of each shape
            let body = body(provider, size);
            let headers = signed_headers(provider, &body);
            let verifier = Verifier::new(
                provider.scheme(),
                [Secret::from(secret_text(provider))],
                provider.default_tolerance(),
                provider.default_event_id(),
            )
            .expect("valid verifier");
            // The measured path must be the successful one, with the id read from the request.
            let verified = verifier
                .verify(&headers, &body, now)
                .unwrap_or_else(|r| panic!("{provider} does not verify: {r:?}"));
            assert!(
                !verified.event_id_from_signature,
                "{provider}: the event id must come from the request"
            );
            group.bench_function(BenchmarkId::new(provider.name(), label), |b| {
                b.iter(|| verifier.verify(black_box(&headers), black_box(&body), now))
            });
        }

        let key = secret_text(Provider::Stripe).as_bytes();
        let body = body(Provider::Stripe, size);
        group.bench_function(BenchmarkId::new("raw_hmac_sha256", label), |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(black_box(key)).expect("any key");
                mac.update(black_box(&body));
                mac.finalize().into_bytes()
            })
        });
        let prekeyed = Hmac::<Sha256>::new_from_slice(key).expect("any key");
        group.bench_function(BenchmarkId::new("raw_hmac_sha256_prekeyed", label), |b| {
            b.iter(|| {
                let mut mac = black_box(&prekeyed).clone();
                mac.update(black_box(&body));
                mac.finalize().into_bytes()
            })
        });
    }
    group.finish();
}

/// A 64 KiB JSON object of nested Stripe-like members with `"id"` first or last.
fn json_64k(id_first: bool) -> Vec<u8> {
    const SIZE: usize = 64 * 1024;
    let id_member = format!(r#""id":"{EVENT_ID}""#);
    let mut members = Vec::new();
    // Braces, the id member and an empty `"pad":""`, each member after the first with a comma.
    let mut len = 2 + id_member.len() + 1 + r#""pad":"""#.len();
    for i in 0.. {
        let member = format!(
            r#""li_{i:05}":{{"object":"line_item","amount":{},"currency":"usd","description":"Widget \"{i}\" \u00e9","metadata":{{"order":"ord_{i}","n":{i}}},"tags":["a","b",{i}],"discount":null,"taxable":true,"rate":0.{i}}}"#,
            1000 + i
        );
        if len + member.len() + 1 > SIZE {
            break;
        }
        len += member.len() + 1;
        members.push(member);
    }
    members.push(format!(r#""pad":"{}""#, "x".repeat(SIZE - len)));
    if id_first {
        members.insert(0, id_member);
    } else {
        members.push(id_member);
    }
    let json = format!("{{{}}}", members.join(","));
    assert_eq!(json.len(), SIZE);
    json.into_bytes()
}

fn bench_event_id(c: &mut Criterion) {
    let spec = EventIdSpec::parse(["json:/id"]).expect("valid spec");
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("event_id");
    group.throughput(Throughput::Bytes(64 * 1024));
    for (variant, id_first) in [("id_last", false), ("id_first", true)] {
        let body = json_64k(id_first);
        assert_eq!(
            spec.extract(&headers, &body, None).as_deref(),
            Some(EVENT_ID)
        );
        group.bench_function(BenchmarkId::new("json_pointer_64KiB", variant), |b| {
            b.iter(|| spec.extract(black_box(&headers), black_box(&body), None))
        });
    }
    group.finish();
}

fn bench_memory_store(c: &mut Criterion) {
    const IN_FLIGHT: Duration = Duration::from_secs(35);
    const TTL: Duration = Duration::from_secs(72 * 3600);
    let store = MemoryStore::new(1_000_000);
    let mut group = c.benchmark_group("memory_store");
    let mut n = 0u64;
    let mut id = String::with_capacity(40);
    group.bench_function("claim_commit", |b| {
        b.iter(|| {
            n += 1;
            id.clear();
            let _ = write!(id, "evt_{n:016}");
            let key = StoreKey::new("stripe", &id);
            let claim = store.claim_now(black_box(&key), IN_FLIGHT);
            let Claim::New(token) = claim else {
                unreachable!("every key is new")
            };
            store.commit_now(&key, token, TTL);
            claim
        })
    });
    group.finish();
}

/// Where criterion writes its estimates (its own order of preference).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("criterion")
}

/// The median time per call (ns) of one benchmark, if it was measured by this run.
fn median_ns(dir: &Path, id: &str, since: SystemTime) -> Option<f64> {
    let path = dir.join(id).join("new").join("estimates.json");
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since);
    if !fresh {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn print_ratios(since: SystemTime) {
    let dir = criterion_dir();
    let mut lines = Vec::new();
    for provider in Provider::all().iter().copied().take(10) {
        // the first ten: one of each shape
        let mut line = format!("{:<18}", provider.name());
        let mut any = false;
        for (_, size) in SIZES {
            let verify = median_ns(&dir, &format!("verify/{}/{size}", provider.name()), since);
            let raw = median_ns(&dir, &format!("verify/raw_hmac_sha256/{size}"), since);
            let pre = median_ns(
                &dir,
                &format!("verify/raw_hmac_sha256_prekeyed/{size}"),
                since,
            );
            let cell = |base: Option<f64>| match (verify, base) {
                (Some(v), Some(b)) if b > 0.0 => format!("{:.2}", v / b),
                _ => "-".to_owned(),
            };
            any |= verify.is_some();
            let _ = write!(
                line,
                " {:>11} {:>9} {:>9}",
                verify.map_or("-".to_owned(), |v| format!("{:.2} µs", v / 1e3)),
                cell(raw),
                cell(pre)
            );
        }
        if any {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return;
    }
    let raw = |size: &str, name: &str| {
        median_ns(&dir, &format!("verify/{name}/{size}"), since)
            .map_or("-".to_owned(), |v| format!("{:.2} µs", v / 1e3))
    };
    println!();
    println!("verify / raw HMAC-SHA256 of the same body (median time per call; target <= 1.1)");
    println!(
        "{:<18} {:>11} {:>9} {:>9} {:>11} {:>9} {:>9}",
        "preset", "1KiB", "/raw", "/prekeyed", "64KiB", "/raw", "/prekeyed"
    );
    for line in lines {
        println!("{line}");
    }
    println!(
        "{:<18} {:>11} {:>9} {:>9} {:>11}",
        "raw_hmac_sha256",
        raw("1KiB", "raw_hmac_sha256"),
        "",
        "",
        raw("64KiB", "raw_hmac_sha256")
    );
    println!(
        "{:<18} {:>11} {:>9} {:>9} {:>11}",
        "  prekeyed",
        raw("1KiB", "raw_hmac_sha256_prekeyed"),
        "",
        "",
        raw("64KiB", "raw_hmac_sha256_prekeyed")
    );
}

fn main() {
    let started = SystemTime::now();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    bench_verify(&mut criterion);
    bench_event_id(&mut criterion);
    bench_memory_store(&mut criterion);
    criterion.final_summary();
    print_ratios(started);
}
