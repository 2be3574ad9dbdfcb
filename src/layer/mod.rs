//! The webhook middleware: verification, rate limit and deduplication in front of any tower
//! service.
//!
//! [`WebhookLayer`] wraps an inner service (an axum handler, or the sidecar's upstream
//! forwarder). For each request it:
//!
//! 1. refuses other methods than `POST` (405) and clients outside `allow_ips` (403);
//! 2. buffers the body, bounded by `max_body` (413) and `request_timeout` (408);
//! 3. verifies the signature over the exact bytes (401) and the timestamp (401);
//! 4. applies the route's rate limit (429 with `Retry-After`);
//! 5. claims the event id: a delivered event gets `200 {"status":"duplicate",…}` with
//!    `Hookgate-Duplicate: true`, an event being delivered right now gets 409 with
//!    `Retry-After`, an unreachable store 503 (unless `on_store_error = allow`);
//! 6. calls the inner service with the same bytes and a [`VerifiedWebhook`] extension;
//! 7. commits the claim when the inner service answers 2xx, releases it otherwise, so the
//!    provider's retry is delivered.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use hookgate::core::Provider;
//! use hookgate::{Route, VerifiedWebhook, WebhookLayer};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let route = Route::builder().provider(Provider::Github).secret("mysecret").build().unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(route))
//!     .service(service_fn(|req: Request<Full<Bytes>>| async move {
//!         let event = req.extensions().get::<VerifiedWebhook>().unwrap();
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(event.event_id.clone()))))
//!     }));
//!
//! let request = Request::post("/webhooks/github")
//!     .header("x-hub-signature-256", "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3")
//!     .header("x-github-delivery", "delivery-1")
//!     .body(Full::new(Bytes::from_static(br#"{"foo":"bar"}"#)))
//!     .unwrap();
//! let response = service.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//!
//! let forged = Request::post("/webhooks/github")
//!     .header("x-hub-signature-256", "sha256=00")
//!     .body(Full::new(Bytes::from_static(br#"{"foo":"bar"}"#)))
//!     .unwrap();
//! assert_eq!(service.oneshot(forged).await.unwrap().status(), 401);
//! # });
//! ```
//!
//! [`VerifiedWebhook`]: crate::VerifiedWebhook

mod future;
#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::WebhookLayer;
pub use service::{ResponseBody, WebhookService};

/// Response header set on duplicate answers (`Hookgate-Duplicate: true`).
///
/// ```
/// assert_eq!(hookgate::layer::DUPLICATE_HEADER, "hookgate-duplicate");
/// ```
pub const DUPLICATE_HEADER: &str = "hookgate-duplicate";
