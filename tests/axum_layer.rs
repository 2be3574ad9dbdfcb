//! hookgate as a library: an axum Router with WebhookLayer, by oneshot and over a real socket.
#![cfg(feature = "axum")]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hookgate::core::{sign, Provider, SignInput, Verifier, VerifierError};
use hookgate::layer::BufferBudget;
use hookgate::store::MemoryStore;
use hookgate::{ClientAddr, Policy, PolicyBuilder, RateLimit, VerifiedWebhook, WebhookLayer};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const STRIPE: &str = "whsec_axum_test";

/// What the handler saw, per call.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<(VerifiedWebhook, Bytes)>>>);

impl Calls {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// An app whose handler answers `status` (shared, so a test can change it between calls).
fn app(
    layer: WebhookLayer,
    calls: Calls,
    status: Arc<Mutex<StatusCode>>,
    delay: Duration,
) -> Router {
    let handler = move |event: VerifiedWebhook, body: Bytes| {
        let calls = calls.clone();
        let status = status.clone();
        async move {
            tokio::time::sleep(delay).await;
            calls.0.lock().unwrap().push((event, body));
            let status = *status.lock().unwrap();
            (status, "handled")
        }
    };
    Router::new()
        .route("/webhooks/stripe", post(handler))
        .route_layer(layer)
}

fn stripe_verifier() -> Verifier {
    Verifier::builder()
        .provider(Provider::Stripe)
        .secret(STRIPE)
        .build()
        .unwrap()
}

/// The Stripe route's layer under `policy`.
fn stripe_layer(policy: PolicyBuilder) -> WebhookLayer {
    WebhookLayer::new(stripe_verifier()).policy(policy.build().unwrap())
}

fn stripe_route() -> WebhookLayer {
    stripe_layer(Policy::builder())
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn stripe_request(body: &str, timestamp: i64) -> Request<Body> {
    let headers = sign(
        &Provider::Stripe.scheme(),
        &STRIPE.into(),
        body.as_bytes(),
        &SignInput { timestamp, id: "" },
    )
    .unwrap();
    let mut request = Request::post("/webhooks/stripe")
        .body(Body::from(body.to_owned()))
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(name, value);
    }
    request
}

async fn json(
    response: axum::response::Response,
) -> (StatusCode, http::HeaderMap, serde_json::Value) {
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (parts.status, parts.headers, value)
}

fn ok_status() -> Arc<Mutex<StatusCode>> {
    Arc::new(Mutex::new(StatusCode::OK))
}

#[tokio::test]
async fn a_valid_event_reaches_the_handler_with_verified_webhook_filled() {
    let calls = Calls::default();
    let app = app(stripe_route(), calls.clone(), ok_status(), Duration::ZERO);
    let body = r#"{"id":"evt_axum_1", "type":"charge.succeeded"}"#;
    let ts = now();
    let response = app.oneshot(stripe_request(body, ts)).await.unwrap();
    assert_eq!(response.status(), 200);
    let (event, raw) = calls.0.lock().unwrap()[0].clone();
    assert_eq!(&*event.route, "stripe");
    assert_eq!(event.event_id, "evt_axum_1");
    assert!(!event.event_id_from_signature);
    assert_eq!(event.timestamp, Some(ts));
    assert_eq!(event.body, Bytes::from(body), "the verified bytes");
    assert_eq!(
        raw,
        Bytes::from(body),
        "the body is still readable as Bytes"
    );
}

#[tokio::test]
async fn each_rejection_reaches_the_client_and_never_the_handler() {
    let calls = Calls::default();
    let route = stripe_layer(Policy::builder().max_body(256));
    let app = app(route, calls.clone(), ok_status(), Duration::ZERO);
    let body = r#"{"id":"evt_rej"}"#;

    let mut cases: Vec<(&str, Request<Body>, u16, &str)> = Vec::new();
    let mut missing = stripe_request(body, now());
    missing.headers_mut().remove("stripe-signature");
    cases.push(("missing", missing, 401, "missing_signature"));
    let mut tampered = stripe_request(body, now());
    *tampered.body_mut() = Body::from(r#"{"id":"evt_rej2"}"#);
    cases.push(("tampered", tampered, 401, "invalid_signature"));
    cases.push((
        "stale",
        stripe_request(body, now() - 600),
        401,
        "timestamp_out_of_tolerance",
    ));
    cases.push((
        "future",
        stripe_request(body, now() + 600),
        401,
        "timestamp_out_of_tolerance",
    ));
    let big = format!(r#"{{"id":"evt_big","pad":"{}"}}"#, "x".repeat(300));
    cases.push((
        "too large",
        stripe_request(&big, now()),
        413,
        "body_too_large",
    ));
    let mut get = stripe_request(body, now());
    *get.method_mut() = http::Method::PUT;
    cases.push(("method", get, 405, ""));

    for (name, request, status, code) in cases {
        let (got, headers, value) = json(app.clone().oneshot(request).await.unwrap()).await;
        assert_eq!(got.as_u16(), status, "{name}: {value}");
        if !code.is_empty() {
            assert_eq!(value["error"], code, "{name}");
            assert_eq!(headers["content-type"], "application/json", "{name}");
        }
    }
    assert_eq!(calls.count(), 0, "no rejected request reached the handler");
}

/// A body that never delivers a byte.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }
}

#[tokio::test]
async fn a_stalled_body_is_408() {
    let calls = Calls::default();
    let route = stripe_layer(Policy::builder().request_timeout(Duration::from_millis(200)));
    let app = app(route, calls.clone(), ok_status(), Duration::ZERO);
    let mut request = stripe_request("{}", now());
    *request.body_mut() = Body::new(Stalled);
    let (status, _, value) = json(app.oneshot(request).await.unwrap()).await;
    assert_eq!(status, 408);
    assert_eq!(value["error"], "request_timeout");
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn rate_limit_and_allow_ips() {
    let calls = Calls::default();
    let route = stripe_layer(Policy::builder().rate_limit(RateLimit::new(1, 1)));
    let app1 = app(route, calls.clone(), ok_status(), Duration::ZERO);
    assert_eq!(
        app1.clone()
            .oneshot(stripe_request(r#"{"id":"a"}"#, now()))
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, headers, value) = json(
        app1.oneshot(stripe_request(r#"{"id":"b"}"#, now()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(value["error"], "rate_limited");
    assert_eq!(headers["retry-after"], "1");

    let route = stripe_layer(Policy::builder().allow_ips(vec!["10.0.0.0/8".parse().unwrap()]));
    let app2 = app(route, calls.clone(), ok_status(), Duration::ZERO);
    // No known client address: fail closed.
    let (status, _, value) = json(
        app2.clone()
            .oneshot(stripe_request(r#"{"id":"c"}"#, now()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), value["error"].as_str()),
        (403, Some("ip_not_allowed"))
    );
    let with_client = |ip: &str| {
        let mut request = stripe_request(&format!(r#"{{"id":"{ip}"}}"#), now());
        request
            .extensions_mut()
            .insert(ClientAddr::direct(format!("{ip}:1234").parse().unwrap()));
        request
    };
    assert_eq!(
        app2.clone()
            .oneshot(with_client("192.0.2.1"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app2.oneshot(with_client("10.1.2.3"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(calls.count(), 2, "only the allowed requests were handled");
}

#[tokio::test]
async fn handler_5xx_releases_the_claim_and_2xx_makes_the_retry_a_duplicate() {
    let calls = Calls::default();
    let status = Arc::new(Mutex::new(StatusCode::SERVICE_UNAVAILABLE));
    let app = app(
        stripe_route(),
        calls.clone(),
        status.clone(),
        Duration::ZERO,
    );
    let body = r#"{"id":"evt_retry"}"#;

    let first = app
        .clone()
        .oneshot(stripe_request(body, now()))
        .await
        .unwrap();
    assert_eq!(first.status(), 503, "the handler's answer is relayed");
    *status.lock().unwrap() = StatusCode::OK;
    let retry = app
        .clone()
        .oneshot(stripe_request(body, now()))
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    assert!(retry.headers().get("hookgate-duplicate").is_none());
    assert_eq!(calls.count(), 2, "the retry reached the handler");

    let (status, headers, value) =
        json(app.oneshot(stripe_request(body, now())).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["hookgate-duplicate"], "true");
    assert_eq!(
        value,
        serde_json::json!({"status": "duplicate", "event_id": "evt_retry"})
    );
    assert_eq!(calls.count(), 2, "the duplicate did not reach the handler");
}

#[tokio::test]
async fn concurrent_copies_one_handled_the_other_409() {
    let calls = Calls::default();
    let app = app(
        stripe_route(),
        calls.clone(),
        ok_status(),
        Duration::from_millis(300),
    );
    let body = r#"{"id":"evt_race"}"#;
    let (a, b) = tokio::join!(
        app.clone().oneshot(stripe_request(body, now())),
        app.clone().oneshot(stripe_request(body, now()))
    );
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn through_a_real_server() {
    let calls = Calls::default();
    let app = app(stripe_route(), calls.clone(), ok_status(), Duration::ZERO);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let send = |body: &str| {
        let mut request = stripe_request(body, now());
        *request.uri_mut() = format!("http://{addr}/webhooks/stripe").parse().unwrap();
        client.request(request)
    };
    let body = "{\"id\":\"evt_real\",\n  \"raw\": \"bytes stay as sent\" }";
    let response = send(body).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(calls.0.lock().unwrap()[0].1, Bytes::from(body));
    let response = send(body).await.unwrap();
    assert_eq!(response.headers()["hookgate-duplicate"], "true");
    let mut forged = stripe_request(body, now());
    forged.headers_mut().insert(
        "stripe-signature",
        format!("t={},v1={}", now(), "ab".repeat(32))
            .parse()
            .unwrap(),
    );
    *forged.uri_mut() = format!("http://{addr}/webhooks/stripe").parse().unwrap();
    assert_eq!(client.request(forged).await.unwrap().status(), 401);
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn one_layer_per_route_sharing_a_store_and_a_budget() {
    // The documented wiring: the router chooses the route, each route has its own layer, and
    // the layers share one store and one buffer budget.
    let store = Arc::new(MemoryStore::new(1000));
    let budget = BufferBudget::new(1024 * 1024);
    let github = Verifier::builder()
        .provider(Provider::Github)
        .secret("gh")
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/webhooks/stripe",
            post(|e: VerifiedWebhook| async move { e.route.to_string() }).route_layer(
                WebhookLayer::new(stripe_verifier())
                    .store(store.clone())
                    .buffer_budget(budget.clone()),
            ),
        )
        .route(
            "/webhooks/github",
            post(|e: VerifiedWebhook| async move { e.route.to_string() }).route_layer(
                WebhookLayer::new(github)
                    .store(store.clone())
                    .buffer_budget(budget.clone()),
            ),
        )
        .route("/health", axum::routing::get(|| async { "ok" }));
    let response = app
        .clone()
        .oneshot(stripe_request(r#"{"id":"evt_p"}"#, now()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "stripe"
    );
    assert_eq!(budget.in_use(), 0, "the body's budget came back");
    // The Stripe event is a duplicate on its route whichever service clone answers.
    let (_, headers, _) = json(
        app.clone()
            .oneshot(stripe_request(r#"{"id":"evt_p"}"#, now()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(headers["hookgate-duplicate"], "true");
    // A GitHub request is verified as GitHub's, not Stripe's.
    let mut wrong = stripe_request(r#"{"id":"evt_q"}"#, now());
    *wrong.uri_mut() = "/webhooks/github".parse().unwrap();
    let (status, _, value) = json(app.clone().oneshot(wrong).await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), value["error"].as_str()),
        (401, Some("missing_signature"))
    );
    // Other routes are the app's own.
    let health = app
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// A body that sends `chunk` bytes again and again and never ends.
struct Endless(usize);

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b'x';
            self.0
        ])))))
    }
}

#[tokio::test]
async fn a_full_buffer_budget_answers_503_overloaded_and_is_returned_afterwards() {
    let calls = Calls::default();
    let budget = BufferBudget::new(64 * 1024);
    // Two apps share the budget: one whose requests wait 1 s, one whose requests wait 200 ms.
    let patient = Policy::builder()
        .max_body(64 * 1024)
        .request_timeout(Duration::from_secs(1));
    let patient = app(
        stripe_layer(patient).buffer_budget(budget.clone()),
        calls.clone(),
        ok_status(),
        Duration::ZERO,
    );
    let policy = Policy::builder()
        .max_body(64 * 1024)
        .request_timeout(Duration::from_millis(200));
    let layer = stripe_layer(policy).buffer_budget(budget.clone());
    let app = app(layer, calls.clone(), ok_status(), Duration::ZERO);

    // A body that stalls after 40 KiB holds 40 KiB of the budget until its timeout.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    tx.send(Bytes::from(vec![b'x'; 40 * 1024])).await.unwrap();
    let mut stalled = stripe_request("{}", now());
    stalled.headers_mut().remove("content-length");
    *stalled.body_mut() = Body::new(Channel(rx));
    let holder = tokio::spawn(patient.oneshot(stalled));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(budget.in_use(), 40 * 1024);

    // A second body of 40 KiB does not fit: 503 overloaded, with a Retry-After.
    let body = format!(r#"{{"id":"evt_o","pad":"{}"}}"#, "x".repeat(40 * 1024));
    let (status, headers, value) = json(
        app.clone()
            .oneshot(stripe_request(&body, now()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), value["error"].as_str()),
        (503, Some("overloaded"))
    );
    assert!(headers.contains_key("retry-after"));

    // The stalled request times out, its bytes come back, and the event is then delivered.
    let (status, _, _) = json(holder.await.unwrap().unwrap()).await;
    assert_eq!(status, 408);
    drop(tx);
    assert_eq!(budget.in_use(), 0);
    let response = app
        .clone()
        .oneshot(stripe_request(&body, now()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(budget.in_use(), 0);

    // A body that never ends is cut at max_body, and its bytes come back too.
    let mut endless = stripe_request("{}", now());
    endless.headers_mut().remove("content-length");
    *endless.body_mut() = Body::new(Endless(8 * 1024));
    let (status, _, _) = json(app.oneshot(endless).await.unwrap()).await;
    assert_eq!(status, 413);
    assert_eq!(budget.in_use(), 0);
    assert_eq!(calls.count(), 1);
}

/// A body fed by a channel: it ends when the sender is dropped.
struct Channel(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for Channel {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(http_body::Frame::data(c))))
    }
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_loud_500() {
    let app = Router::new().route("/x", post(|_: VerifiedWebhook| async { "never" }));
    let (status, _, value) = json(
        app.oneshot(Request::post("/x").body(Body::empty()).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(value["error"], "webhook_layer_missing");
}

#[test]
fn the_builders_reject_incomplete_routes_with_clear_errors() {
    let cases: Vec<(Result<Verifier, VerifierError>, &str)> = vec![
        (Verifier::builder().provider(Provider::Stripe).build(), "no secret is configured"),
        (Verifier::builder().secret("s").build(), "set a provider preset or a custom scheme"),
        (
            Verifier::builder()
                .provider(Provider::Github)
                .scheme(hookgate::core::Scheme::builder("x-sig").build().unwrap())
                .secret("s")
                .build(),
            "set either a provider preset or a custom scheme, not both",
        ),
        (Verifier::builder().provider(Provider::Github).secret("").build(), "secret #1: the secret is empty"),
        (
            Verifier::builder().provider(Provider::Svix).secret("whsec_!!!").build(),
            "secret #1: the secret is not `whsec_` followed by base64, as Standard Webhooks requires",
        ),
    ];
    for (result, message) in cases {
        assert_eq!(result.unwrap_err().to_string(), message);
    }
    assert_eq!(
        Policy::builder()
            .rate_limit(RateLimit::new(0, 1))
            .build()
            .unwrap_err()
            .to_string(),
        "rate_limit per_second and burst must be at least 1"
    );
    let custom = hookgate::core::Scheme::builder("X-Signature")
        .prefix("sha256=")
        .build()
        .unwrap();
    let verifier = Verifier::builder()
        .scheme(custom)
        .secret("s")
        .build()
        .unwrap();
    let layer = WebhookLayer::new(verifier).name("orders");
    let service = tower::Layer::layer(
        &layer,
        tower::service_fn(|_: http::Request<http_body_util::Full<Bytes>>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }),
    );
    assert_eq!(service.name(), "orders");
}
