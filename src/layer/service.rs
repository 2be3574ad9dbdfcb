use super::budget::{BufferBudget, Reservation};
use super::{ResponseBody, ResponseFuture, DUPLICATE_HEADER};
use crate::core::{Rejection, Verifier};
use crate::metrics::{self, Outcome};
use crate::policy::{OnStoreError, Policy};
use crate::store::{Claim, ClaimToken, SeenStore, StoreKey};
use crate::webhook::{ClientAddr, VerifiedWebhook};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The middleware service made by [`WebhookLayer`](super::WebhookLayer): it buffers the
/// body, verifies it, rate-limits and claims the event id, then calls the inner service with
/// the buffered body (`Request<Full<Bytes>>`, the [`VerifiedWebhook`] in its extensions), and
/// commits or releases the claim from the inner response.
///
/// ```
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::WebhookLayer;
/// use tower::Layer;
///
/// let verifier = Verifier::builder().provider(Provider::Github).secret("s").build().unwrap();
/// let service = WebhookLayer::new(verifier).layer(tower::service_fn(
///     |_: http::Request<http_body_util::Full<bytes::Bytes>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     },
/// ));
/// assert_eq!(service.name(), "github");
/// ```
#[derive(Clone)]
pub struct WebhookService<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// What every request of one route shares.
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) verifier: Verifier,
    pub(crate) policy: Policy,
    pub(crate) store: Arc<dyn SeenStore>,
    pub(crate) budget: BufferBudget,
    pub(crate) metrics: crate::metrics::RouteMetrics,
}

impl<S> std::fmt::Debug for WebhookService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("name", &self.shared.name)
            .field("verifier", &self.shared.verifier)
            .field("policy", &self.shared.policy)
            .finish_non_exhaustive()
    }
}

impl<S> WebhookService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        WebhookService { inner, shared }
    }

    /// The route's name (in logs, metrics, store keys and `Hookgate-Route`).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming this one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookService<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The readied service is the one to call; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(handle(inner, self.shared.clone(), request))
    }
}

/// One request through the route, from its arrival to the inner service's answer.
async fn handle<S, ReqBody, ResBody>(
    mut inner: S,
    shared: Arc<Shared>,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
{
    let started = Instant::now();
    let route = &*shared.name;
    let policy = &shared.policy;
    let reject = |rejection: Rejection| {
        tracing::info!(
            route,
            status = rejection.status().as_u16(),
            error = rejection.code(),
            "rejected"
        );
        let response = rejection.to_response::<Bytes>().map(ResponseBody::own);
        shared.metrics.request(
            Outcome::Rejected(rejection.code()),
            response.status(),
            started.elapsed(),
        );
        Ok(response)
    };

    if request.method() != Method::POST {
        // A provider's GET setup challenge (Dropbox, Twitter CRC, Okta, Facebook) is answered
        // here, never forwarded; any other GET stays 405.
        let (parts, _body) = request.into_parts();
        if let Some(answer) = shared.verifier.answer_challenge(&(&parts).into(), b"") {
            return Ok(challenge_response(&shared.name, answer, started));
        }
        return reject(Rejection::MethodNotAllowed);
    }
    let client = request.extensions().get::<ClientAddr>().map(|c| c.client);
    if !policy.allows(client) {
        return reject(Rejection::IpNotAllowed);
    }

    let (mut parts, body) = request.into_parts();
    let mut held = Held {
        reservation: shared.budget.reservation(),
        gauge: shared.metrics.buffered.clone(),
        counted: 0,
    };
    let body = match read_body(policy, &parts.headers, body, &mut held.reservation).await {
        Ok(body) => body,
        Err(rejection) => return reject(rejection),
    };
    held.count();

    let verified = match shared
        .verifier
        .verify_request(&(&parts).into(), &body, SystemTime::now())
    {
        Ok(verified) => verified,
        Err(rejection) => return reject(rejection),
    };
    // A signed setup challenge (Zoom, Twitch, Slack) is answered once verified, never
    // forwarded.
    if shared.verifier.challenge().is_some_and(|c| c.is_signed()) {
        if let Some(answer) = shared.verifier.answer_challenge(&(&parts).into(), &body) {
            return Ok(challenge_response(&shared.name, answer, started));
        }
    }
    if let Some(limit) = policy.shared_rate_limit() {
        match shared.store.acquire_shared_rate(route, limit).await {
            Ok(Ok(())) => {}
            Ok(Err(wait)) => return reject(Rejection::RateLimited { retry_after: wait }),
            Err(error) => match policy.on_store_error() {
                OnStoreError::Allow => {
                    tracing::warn!(route, %error, "shared rate limit unavailable, admitting");
                    metrics::store_bypassed(&shared.name);
                }
                _ => {
                    tracing::warn!(route, %error, "shared rate limit unavailable");
                    return reject(Rejection::StoreUnavailable);
                }
            },
        }
    } else if let Err(wait) = policy.check_rate() {
        return reject(Rejection::RateLimited { retry_after: wait });
    }

    let mut claim = None;
    if let Some(ttl) = policy.dedup_ttl() {
        let key = StoreKey::new(route, &verified.event_id);
        match shared.store.claim(&key, policy.claim_timeout()).await {
            Ok(Claim::New(token)) => claim = Some(ClaimGuard::new(&shared, key, token, ttl)),
            Ok(Claim::Delivered) => {
                tracing::debug!(route, event_id = ?verified.event_id, "duplicate");
                let response = duplicate(&verified.event_id);
                shared
                    .metrics
                    .request(Outcome::Duplicate, response.status(), started.elapsed());
                return Ok(response);
            }
            Ok(Claim::InFlight { retry_after }) => {
                return reject(Rejection::InFlight { retry_after });
            }
            Err(error) => match policy.on_store_error() {
                OnStoreError::Allow => {
                    tracing::warn!(route, %error, "seen-event store unavailable, delivering without dedup");
                    metrics::store_bypassed(&shared.name);
                }
                // Fail closed, whatever a future variant adds.
                _ => {
                    tracing::warn!(route, %error, "seen-event store unavailable");
                    return reject(Rejection::StoreUnavailable);
                }
            },
        }
    }

    // The inner service sees one coherent, fully buffered request.
    parts.headers.remove(TRANSFER_ENCODING);
    set_content_length(&mut parts.headers, body.len() as u64);
    // Kept for the log line after the inner service, only when that line is written.
    let event_id = tracing::enabled!(tracing::Level::DEBUG).then(|| verified.event_id.clone());
    parts.extensions.insert(VerifiedWebhook {
        route: shared.name.clone(),
        event_id: verified.event_id,
        event_id_from_signature: verified.event_id_from_signature,
        timestamp: verified.timestamp,
        body: body.clone(),
    });
    let upstream_started = Instant::now();
    let response = inner
        .call(Request::from_parts(parts, Full::new(body)))
        .await;
    shared.metrics.upstream(upstream_started.elapsed());

    let status = response.as_ref().map(Response::status).ok();
    let delivered = status.is_some_and(|s| s.is_success());
    if let Some(claim) = claim {
        claim.settle(delivered).await;
    }
    if let Some(event_id) = event_id {
        tracing::debug!(
            route,
            event_id = ?event_id,
            status = status.map(|s| s.as_u16()),
            "delivered"
        );
    }
    if let Some(status) = status {
        let outcome = if delivered {
            Outcome::Delivered
        } else {
            Outcome::UpstreamError
        };
        shared.metrics.request(outcome, status, started.elapsed());
    }
    drop(held);
    response.map(|r| r.map(ResponseBody::inner))
}

/// Sets `Content-Length` to a buffered body's length, leaving it as it is when it already
/// says exactly that, once (making the value again costs an allocation).
pub(crate) fn set_content_length(headers: &mut HeaderMap, length: u64) {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let sent = values.next().and_then(|v| v.to_str().ok());
    if sent.and_then(|v| v.parse::<u64>().ok()) == Some(length) && values.next().is_none() {
        return;
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
}

/// Reads the whole body, bounded by `max_body`, by the request timeout, and by the buffer
/// budget (every byte is reserved before it is kept).
async fn read_body<B>(
    policy: &Policy,
    headers: &HeaderMap,
    body: B,
    reservation: &mut Reservation,
) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let max = policy.max_body();
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(Rejection::BodyTooLarge);
    }
    let deadline = tokio::time::Instant::now() + policy.request_timeout();
    let overloaded = || Rejection::Overloaded {
        retry_after: crate::defaults::OVERLOADED_RETRY_AFTER,
    };
    let declared = declared.and_then(|len| usize::try_from(len).ok());
    if let Some(len) = declared {
        reservation
            .grow_to(len, deadline)
            .await
            .map_err(|_| overloaded())?;
    }

    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut body = std::pin::pin!(body);
    // One frame is handed on as it is; several are joined once, into a buffer of the declared
    // length where there is one.
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut len = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_elapsed) => return Err(Rejection::RequestTimeout),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(Rejection::BadRequest),
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry nothing hookgate verifies.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let size = data.remaining();
        len = len.saturating_add(size);
        if len > max {
            return Err(Rejection::BodyTooLarge);
        }
        reservation
            .grow_to(len, deadline)
            .await
            .map_err(|_| overloaded())?;
        let chunk = data.copy_to_bytes(size);
        if let Some(joined) = &mut joined {
            joined.put(chunk);
        } else if let Some(head) = first.take() {
            let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0).max(len));
            buffer.put(head);
            buffer.put(chunk);
            joined = Some(buffer);
        } else {
            first = Some(chunk);
        }
    }
    Ok(match (joined, first) {
        (Some(joined), _) => joined.freeze(),
        (None, Some(first)) => first,
        (None, None) => Bytes::new(),
    })
}

fn challenge_response<B>(
    route: &Arc<str>,
    answer: crate::core::challenge::ChallengeAnswer,
    started: Instant,
) -> Response<ResponseBody<B>> {
    tracing::info!(
        route = &**route,
        status = answer.status.as_u16(),
        "setup challenge answered"
    );
    let mut response = Response::new(ResponseBody::own(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value);
    }
    metrics::request(
        route,
        Outcome::Challenge,
        response.status(),
        started.elapsed(),
    );
    response
}

fn duplicate<B>(event_id: &str) -> Response<ResponseBody<B>> {
    let body =
        serde_json::to_vec(&serde_json::json!({"status": "duplicate", "event_id": event_id}))
            .expect("a map of strings always serializes");
    let mut response = Response::new(ResponseBody::own(Bytes::from(body)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
    response
}

/// A request's buffered bytes, reported in the route's gauge while they are held.
struct Held {
    reservation: Reservation,
    gauge: ::metrics::Gauge,
    counted: usize,
}

impl Held {
    fn count(&mut self) {
        self.counted = self.reservation.bytes();
        self.gauge.increment(self.counted as f64);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.counted > 0 {
            self.gauge.decrement(self.counted as f64);
        }
    }
}

/// A claim that is released if the delivery is abandoned (the client hung up, the future was
/// dropped) before it was settled.
struct ClaimGuard {
    store: Arc<dyn SeenStore>,
    gauge: ::metrics::Gauge,
    key: Option<StoreKey>,
    token: ClaimToken,
    ttl: Duration,
}

impl ClaimGuard {
    fn new(shared: &Shared, key: StoreKey, token: ClaimToken, ttl: Duration) -> Self {
        shared.metrics.claims.increment(1.0);
        ClaimGuard {
            store: shared.store.clone(),
            gauge: shared.metrics.claims.clone(),
            key: Some(key),
            token,
            ttl,
        }
    }

    /// Commits the id for the route's `dedup_ttl` after a delivery, releases it otherwise.
    async fn settle(mut self, delivered: bool) {
        let Some(key) = self.key.take() else {
            return;
        };
        self.gauge.decrement(1.0);
        let result = if delivered {
            self.store.commit(&key, self.token, self.ttl).await
        } else {
            self.store.release(&key, self.token).await
        };
        if let Err(error) = result {
            // A failed commit means a later copy may be delivered again once the claim
            // expires; a failed release, that the retry waits for that expiry.
            tracing::warn!(%error, delivered, "could not settle a claim; it expires on its own");
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        self.gauge.decrement(1.0);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let token = self.token;
            runtime.spawn(async move {
                let _ = store.release(&key, token).await;
            });
        }
    }
}
