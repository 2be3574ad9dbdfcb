#![doc = include_str!("docs/crate.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "config")]
pub mod config;
pub mod core;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "sidecar")]
pub mod forward;
pub mod layer;
mod route;
pub mod store;
mod webhook;

pub use crate::core::Rejection;

/// Verifies one webhook request against `route` with the clock at `now`: the pure core API
/// for lambda handlers and frameworks without tower. No store, no rate limit, no I/O;
/// deduplicate on [`VerifiedWebhook::event_id`] yourself.
///
/// ```
/// use hookgate::core::Provider;
/// use hookgate::Route;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let route = Route::builder().provider(Provider::Github).secret("It's a Secret to Everybody").build().unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-hub-signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse().unwrap());
/// headers.insert("x-github-delivery", "d-1".parse().unwrap());
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let event = hookgate::verify(&route, &headers, "Hello, World!".into(), now).unwrap();
/// assert_eq!(event.event_id, "d-1");
///
/// let forged = hookgate::verify(&route, &headers, "Hello, World?".into(), now).unwrap_err();
/// assert_eq!(forged.code(), "invalid_signature");
/// ```
pub fn verify(
    route: &Route,
    headers: &http::HeaderMap,
    body: bytes::Bytes,
    now: std::time::SystemTime,
) -> Result<VerifiedWebhook, Rejection> {
    route.verify(headers, body, now)
}
pub use layer::{WebhookLayer, WebhookService};
pub use route::{OnStoreError, RateLimit, Route, RouteBuilder, RouteError};
pub use webhook::{ClientAddr, VerifiedWebhook};

#[cfg(feature = "axum")]
pub use extract::WebhookLayerMissing;
