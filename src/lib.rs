#![doc = include_str!("docs/crate.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "config")]
pub mod config;
pub mod core;
pub mod defaults;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "sidecar")]
pub mod forward;
pub mod layer;
pub mod metrics;
mod policy;
#[cfg(feature = "queue")]
pub mod queue;
#[cfg(feature = "sidecar")]
pub mod sidecar;
pub mod store;
mod webhook;

pub use crate::core::Rejection;
pub use layer::{WebhookLayer, WebhookService};
pub use policy::{
    OnStoreError, Policy, PolicyBuilder, PolicyError, RateLimit, UnknownOnStoreError,
};
pub use webhook::{ClientAddr, VerifiedWebhook};

#[cfg(feature = "axum")]
pub use extract::WebhookLayerMissing;
