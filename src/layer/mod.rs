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
pub use service::WebhookService;

/// Response header set on duplicate answers (`Hookgate-Duplicate: true`).
///
/// ```
/// assert_eq!(hookgate::layer::DUPLICATE_HEADER, "hookgate-duplicate");
/// ```
pub const DUPLICATE_HEADER: &str = "hookgate-duplicate";
