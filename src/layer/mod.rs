#![doc = include_str!("../docs/layer.md")]

mod body;
mod budget;
mod future;
#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use body::ResponseBody;
pub use budget::BufferBudget;
pub use future::ResponseFuture;
pub use layer::WebhookLayer;
#[cfg(feature = "sidecar")]
pub(crate) use service::set_content_length;
pub use service::WebhookService;

/// Response header set on duplicate answers (`Hookgate-Duplicate: true`).
///
/// ```
/// assert_eq!(hookgate::layer::DUPLICATE_HEADER, "hookgate-duplicate");
/// ```
pub const DUPLICATE_HEADER: &str = "hookgate-duplicate";
