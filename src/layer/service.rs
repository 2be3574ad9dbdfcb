use super::{ResponseFuture, DUPLICATE_HEADER};
use crate::core::Rejection;
use crate::route::{OnStoreError, Route};
use crate::store::{Claim, ClaimToken, SeenStore};
use crate::webhook::ClientAddr;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body of [`WebhookService`]: the inner service's body, or hookgate's own JSON.
///
/// ```
/// use http_body_util::{Either, Full};
/// let body: hookgate::layer::ResponseBody<String> = Either::Right(Full::new(bytes::Bytes::from_static(b"{}")));
/// ```
pub type ResponseBody<B> = Either<B, Full<Bytes>>;

/// The middleware service made by [`WebhookLayer`](super::WebhookLayer).
///
/// ```
/// use hookgate::{core::Provider, Route, WebhookLayer};
/// use tower::Layer;
///
/// let route = Route::builder().provider(Provider::Github).secret("s").build().unwrap();
/// let service = WebhookLayer::new(route).layer(tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// }));
/// assert_eq!(service.route_for("/any").unwrap().name(), "github");
/// ```
#[derive(Clone)]
pub struct WebhookService<S> {
    inner: S,
    routing: Routing,
    store: Arc<dyn SeenStore>,
}

/// Which route a request is verified against.
#[derive(Clone, Debug)]
pub(crate) enum Routing {
    /// Every request (the layer sits on one route, which the router already matched).
    Single(Route),
    /// By exact path; other paths are 404 `unknown_route`.
    ByPath(Arc<HashMap<String, Route>>),
}

impl Routing {
    fn route_for(&self, path: &str) -> Option<&Route> {
        match self {
            Routing::Single(route) => Some(route),
            Routing::ByPath(routes) => routes.get(path),
        }
    }
}

impl<S> std::fmt::Debug for WebhookService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("routing", &self.routing)
            .finish_non_exhaustive()
    }
}

impl<S> WebhookService<S> {
    pub(crate) fn new(inner: S, routing: Routing, store: Arc<dyn SeenStore>) -> Self {
        WebhookService {
            inner,
            routing,
            store,
        }
    }

    /// The route for requests to `path`, if any.
    pub fn route_for(&self, path: &str) -> Option<&Route> {
        self.routing.route_for(path)
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + From<Bytes> + Send + 'static,
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
        let Some(route) = self.routing.route_for(request.uri().path()).cloned() else {
            tracing::info!(
                path = request.uri().path(),
                "no webhook route for this path"
            );
            let response = Rejection::UnknownRoute
                .to_response::<Full<Bytes>>()
                .map(Either::Right);
            return ResponseFuture::new(std::future::ready(Ok(response)));
        };
        // The readied service is the one to call; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let store = self.store.clone();
        ResponseFuture::new(handle(inner, route, store, request))
    }
}

fn reject<B>(route: &Route, rejection: Rejection) -> Response<ResponseBody<B>> {
    tracing::info!(
        route = route.name(),
        status = rejection.status().as_u16(),
        error = rejection.code(),
        "rejected"
    );
    rejection.to_response::<Full<Bytes>>().map(Either::Right)
}

async fn handle<S, ReqBody, ResBody>(
    mut inner: S,
    route: Route,
    store: Arc<dyn SeenStore>,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + From<Bytes>,
    ReqBody::Error: Into<BoxError>,
{
    if request.method() != Method::POST {
        return Ok(reject(&route, Rejection::MethodNotAllowed));
    }
    let client = request.extensions().get::<ClientAddr>().map(|c| c.client);
    if !route.allows(client) {
        return Ok(reject(&route, Rejection::IpNotAllowed));
    }

    let (mut parts, body) = request.into_parts();
    let body = match read_body(&route, &parts.headers, body).await {
        Ok(body) => body,
        Err(rejection) => return Ok(reject(&route, rejection)),
    };

    let verified = match route.verify(&parts.headers, body, SystemTime::now()) {
        Ok(verified) => verified,
        Err(rejection) => return Ok(reject(&route, rejection)),
    };
    if let Err(wait) = route.check_rate() {
        return Ok(reject(&route, Rejection::RateLimited { retry_after: wait }));
    }

    let mut claim = None;
    if let Some(ttl) = route.dedup_ttl() {
        let key = format!("{}:{}", route.name(), verified.event_id);
        match store.claim(&key, route.claim_timeout()).await {
            Ok(Claim::New(token)) => {
                claim = Some(ClaimGuard {
                    store: store.clone(),
                    key,
                    token,
                    ttl,
                    settled: false,
                })
            }
            Ok(Claim::Delivered) => return Ok(duplicate(&route, &verified.event_id)),
            Ok(Claim::InFlight { retry_after }) => {
                return Ok(reject(&route, Rejection::InFlight { retry_after }));
            }
            Err(error) => match route.on_store_error() {
                OnStoreError::Reject => {
                    tracing::warn!(route = route.name(), %error, "seen-event store unavailable");
                    return Ok(reject(&route, Rejection::StoreUnavailable));
                }
                OnStoreError::Allow => {
                    tracing::warn!(route = route.name(), %error, "seen-event store unavailable, delivering without dedup");
                }
            },
        }
    }

    // The inner service sees one coherent, fully buffered request.
    let body = verified.body.clone();
    let event_id = verified.event_id.clone();
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    parts.extensions.insert(verified);
    let response = inner
        .call(Request::from_parts(parts, ReqBody::from(body)))
        .await;

    let status = response.as_ref().map(Response::status).ok();
    let delivered = status.is_some_and(|s| s.is_success());
    if let Some(claim) = claim {
        claim.settle(delivered).await;
    }
    tracing::debug!(
        route = route.name(),
        event_id = %event_id,
        status = status.map(|s| s.as_u16()),
        "delivered"
    );
    response.map(|r| r.map(Either::Left))
}

async fn read_body<B>(route: &Route, headers: &http::HeaderMap, body: B) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let max = route.max_body();
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(Rejection::BodyTooLarge);
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match tokio::time::timeout(route.request_timeout(), Limited::new(body, limit).collect()).await {
        Err(_elapsed) => Err(Rejection::RequestTimeout),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Rejection::BodyTooLarge)
        }
        Ok(Err(_)) => Err(Rejection::BadRequest),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn duplicate<B>(route: &Route, event_id: &str) -> Response<ResponseBody<B>> {
    tracing::debug!(route = route.name(), event_id, "duplicate");
    let body =
        serde_json::to_vec(&serde_json::json!({"status": "duplicate", "event_id": event_id}))
            .expect("a map of strings always serializes");
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(DUPLICATE_HEADER, HeaderValue::from_static("true"));
    response
}

/// A claim that is released if the delivery is abandoned (the client hung up, the future was
/// dropped) before it was settled.
struct ClaimGuard {
    store: Arc<dyn SeenStore>,
    key: String,
    token: ClaimToken,
    ttl: std::time::Duration,
    settled: bool,
}

impl ClaimGuard {
    /// Commits the id for the route's `dedup_ttl` after a delivery, releases it otherwise.
    async fn settle(mut self, delivered: bool) {
        self.settled = true;
        let result = if delivered {
            self.store.commit(&self.key, self.token, self.ttl).await
        } else {
            self.store.release(&self.key, self.token).await
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
        if self.settled {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let key = std::mem::take(&mut self.key);
            let token = self.token;
            runtime.spawn(async move {
                let _ = store.release(&key, token).await;
            });
        }
    }
}
