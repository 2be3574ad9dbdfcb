//! Queued delivery: the inner service of a `delivery = "queued"` route writes the verified
//! event to the durable queue and answers 202; workers deliver it with retries.
//!
//! The 202 is a 2xx, so the layer commits the event id: a provider's retry of a queued event
//! is a duplicate and never queued twice (the queue's unique (route, event id) index catches
//! the retry that races the commit).

use crate::core::Rejection;
use crate::forward::{self, ForwardBody, UpstreamClient, ATTEMPT_HEADER};
use crate::queue::{
    random_u64, Event, Failure, Leased, Queue, QueueError, RetryDecision, RetryPolicy,
};
use crate::webhook::VerifiedWebhook;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::{BodyExt as _, Full};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};
use tower_service::Service;

/// Writes verified events to the queue (the inner service of a queued route).
#[derive(Clone)]
pub(crate) struct Enqueue {
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) route: Arc<str>,
}

impl Service<Request<Full<Bytes>>> for Enqueue {
    type Response = Response<ForwardBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.enqueue(request).await) })
    }
}

impl Enqueue {
    async fn enqueue(self, request: Request<Full<Bytes>>) -> Response<ForwardBody> {
        let (mut parts, body) = request.into_parts();
        let length = body.size_hint().exact().unwrap_or(0);
        let event_id = parts
            .extensions
            .get::<VerifiedWebhook>()
            .map(|v| v.event_id.clone())
            .unwrap_or_default();
        let target = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        // What the upstream will receive, decided now: the client address and the forwarded
        // headers are the provider's, not the worker's.
        let headers = forward::upstream_headers(&mut parts, length);
        // A `Full` body is one frame already in memory: collecting it hands the same bytes on.
        let body = match http_body_util::BodyExt::collect(body).await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        let mut event = Event::new(self.route.to_string(), event_id.clone(), body);
        event.method = parts.method;
        event.target = target;
        event.headers = headers;
        match self.queue.enqueue(event).await {
            Ok(_) => {
                crate::metrics::queue_enqueued(&self.route);
                queued(&event_id)
            }
            Err(QueueError::Full { limit }) => {
                tracing::warn!(route = %self.route, limit, "queue full");
                refuse(Rejection::QueueFull {
                    retry_after: crate::defaults::QUEUE_FULL_RETRY_AFTER,
                })
            }
            Err(error) => {
                tracing::error!(route = %self.route, %error, "cannot queue an event");
                refuse(Rejection::QueueUnavailable)
            }
        }
    }
}

fn queued(event_id: &str) -> Response<ForwardBody> {
    let body = serde_json::to_vec(&serde_json::json!({"status": "queued", "event_id": event_id}))
        .expect("a map of strings always serializes");
    let mut response = Response::new(ForwardBody::full(Bytes::from(body)));
    *response.status_mut() = StatusCode::ACCEPTED;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn refuse(rejection: Rejection) -> Response<ForwardBody> {
    rejection.to_response::<Bytes>().map(ForwardBody::full)
}

/// One queued route's delivery settings.
#[derive(Clone)]
pub(crate) struct QueuedRoute {
    pub(crate) name: Arc<str>,
    pub(crate) upstream: Uri,
    pub(crate) retry: RetryPolicy,
    pub(crate) concurrency: usize,
    pub(crate) resign: Option<Arc<crate::forward::Resign>>,
}

/// Delivers `route`'s events until the task is dropped: `concurrency` at a time, retries with
/// backoff and full jitter, dead letters after `max_attempts`.
pub(crate) async fn deliver_route(
    queue: Arc<dyn Queue>,
    route: QueuedRoute,
    client: UpstreamClient,
    timeout: Duration,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(route.concurrency));
    let wakeup = queue.wakeup();
    let lease_timeout = timeout + crate::defaults::CLAIM_MARGIN;
    loop {
        // Wait for a free slot before leasing, so nothing is leased that cannot start.
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let free = slots.available_permits() + 1;
        let leased = match queue.lease(&route.name, free, lease_timeout).await {
            Ok(leased) => leased,
            Err(error) => {
                tracing::warn!(route = %route.name, %error, "cannot lease queued events");
                drop(first);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if leased.is_empty() {
            drop(first);
            let notified = wakeup.notified();
            let wait = match queue.next_due(&route.name).await {
                Ok(Some(due)) => due
                    .duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(1)),
                _ => Duration::from_secs(1),
            };
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
            continue;
        }
        let mut permits = vec![first];
        for _ in 1..leased.len() {
            match slots.clone().try_acquire_owned() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        for (leased, permit) in leased.into_iter().zip(permits) {
            let queue = queue.clone();
            let route = route.clone();
            let client = client.clone();
            tokio::spawn(async move {
                deliver_one(&*queue, &route, &client, timeout, leased).await;
                drop(permit);
            });
        }
    }
}

/// The most of an upstream's answer read after a queued delivery (the rest closes the
/// connection instead of returning it to the pool).
const DRAIN_LIMIT: usize = 64 * 1024;

/// One attempt at one event.
async fn deliver_one(
    queue: &dyn Queue,
    route: &QueuedRoute,
    client: &UpstreamClient,
    timeout: Duration,
    leased: Leased,
) {
    let Leased {
        lease,
        event,
        attempts,
        ..
    } = leased;
    if attempts >= route.retry.max_attempts {
        // Its last lease expired (the worker died): it has had its attempts.
        let _ = queue
            .bury(&lease, Failure::error("lease expired on the last attempt"))
            .await;
        crate::metrics::queue_dead(&route.name);
        return;
    }
    let attempt = attempts + 1;
    let query = event.target.split_once('?').map(|(_, q)| q);
    let Some(uri) = forward::upstream_uri(&route.upstream, query) else {
        let _ = queue
            .bury(&lease, Failure::error("bad request target"))
            .await;
        crate::metrics::queue_dead(&route.name);
        return;
    };
    let mut headers = event.headers;
    headers.insert(ATTEMPT_HEADER, HeaderValue::from(attempt));
    if let Some(resign) = &route.resign {
        // Signed when sent: the timestamp is the delivery's, as the application checks it.
        resign.apply(
            &mut headers,
            &event.event_id,
            &event.body,
            forward::unix_now(),
        );
    }
    let started = Instant::now();
    let outcome = client
        .send(event.method, uri, headers, Full::new(event.body), timeout)
        .await;
    let outcome = match outcome {
        Ok(response) => {
            // Read what the upstream answered (bounded), so its connection goes back to the
            // pool rather than being closed: a queue draining a backlog reuses connections
            // as direct delivery does.
            let (parts, body) = response.into_parts();
            let read = http_body_util::Limited::new(body, DRAIN_LIMIT).collect();
            let _ = tokio::time::timeout(timeout, read).await;
            Ok(Response::from_parts(parts, ()))
        }
        Err(rejection) => Err(rejection),
    };
    crate::metrics::queue_attempt(&route.name, started.elapsed());
    let (failure, retry_after) = match outcome {
        Ok(response) if response.status().is_success() => {
            let _ = queue.complete(&lease).await;
            crate::metrics::queue_delivered(&route.name, event.arrived);
            tracing::debug!(route = %route.name, event_id = ?event.event_id, attempt, "delivered from the queue");
            return;
        }
        Ok(response) => {
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| crate::queue::parse_retry_after(v.as_bytes(), SystemTime::now()));
            (Failure::status(response.status()), retry_after)
        }
        Err(rejection) => (Failure::error(rejection.code()), None),
    };
    match route.retry.decide(attempt, retry_after, random_u64()) {
        RetryDecision::RetryAfter(delay) => {
            tracing::info!(route = %route.name, event_id = ?event.event_id, attempt, failure = %failure, ?delay, "delivery failed; retrying");
            let _ = queue.retry(&lease, delay, failure).await;
        }
        RetryDecision::DeadLetter => {
            tracing::warn!(route = %route.name, event_id = ?event.event_id, attempt, failure = %failure, "delivery failed for the last time: dead letter");
            let _ = queue.bury(&lease, failure).await;
            crate::metrics::queue_dead(&route.name);
        }
    }
}
