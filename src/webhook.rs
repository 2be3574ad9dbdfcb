//! What the inner service learns about a verified webhook.

use crate::core::Provider;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A webhook that passed verification, inserted into the request's extensions before the
/// inner service (your handler, or the sidecar's upstream forwarder) is called.
#[derive(Debug, Clone)]
pub struct VerifiedWebhook {
    /// The route's name.
    pub route: Arc<str>,
    /// The event id used for deduplication.
    pub event_id: String,
    /// `true` when the request carried no event id and `event_id` is a digest of its
    /// signature (`sig:…`).
    pub event_id_from_signature: bool,
    /// The signed timestamp (unix seconds), for schemes that sign one.
    pub timestamp: Option<i64>,
    /// The provider preset, if the route uses one.
    pub provider: Option<Provider>,
    /// The exact raw body that was verified.
    pub body: Bytes,
}

/// The client of a request, as the server resolved it; insert it as a request extension so
/// `allow_ips` and `X-Forwarded-For` can use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The socket peer.
    pub peer: SocketAddr,
    /// The client: the peer, or the forwarded address when the peer is a trusted proxy.
    pub client: IpAddr,
    /// Whether the peer is a trusted proxy (its `X-Forwarded-*` headers are kept).
    pub peer_trusted: bool,
}
