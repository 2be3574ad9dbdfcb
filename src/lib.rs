//! hookgate verifies incoming webhooks on the receiver side.
#![forbid(unsafe_code)]

pub mod core;

pub use crate::core::Rejection;
