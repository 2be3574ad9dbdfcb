//! The sans-I/O core: signature schemes as data, the verifier, event ids and rejections.
//!
//! Nothing here touches a socket, a clock or a runtime: the verifier is a plain function of
//! `(request head, body, now)`, so every rule can be tested with values.

mod builder;
pub mod challenge;
pub mod event_id;
mod jwt;
mod key;
mod name;
pub mod presets;
mod rejection;
pub mod scheme;
mod sign;
mod sns;
mod verify;

pub use builder::VerifierBuilder;
pub use event_id::{EventIdSource, EventIdSpec};
pub use key::{KeyError, Secret};
pub use name::UnknownName;
pub use presets::Provider;
pub use rejection::Rejection;
pub use scheme::Scheme;
pub use sign::{sign, sign_message, SignError, SignInput, SignedMessage};
pub use verify::{RequestHead, Verified, Verifier, VerifierError};
