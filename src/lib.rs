//! hookgate verifies incoming webhooks on the receiver side.
#![forbid(unsafe_code)]

#[cfg(feature = "config")]
pub mod config;
pub mod core;
#[cfg(feature = "sidecar")]
pub mod forward;
pub mod layer;
mod route;
pub mod store;
mod webhook;

pub use crate::core::Rejection;
pub use layer::{WebhookLayer, WebhookService};
pub use route::{OnStoreError, RateLimit, Route, RouteBuilder, RouteError};
pub use webhook::{ClientAddr, VerifiedWebhook};
