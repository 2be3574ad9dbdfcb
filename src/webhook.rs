//! What the inner service learns about a verified webhook.

use crate::core::Provider;
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A webhook that passed verification, inserted into the request's extensions before the
/// inner service (your handler, or the sidecar's upstream forwarder) is called. With the
/// `axum` feature it is also an extractor.
///
/// ```
/// use hookgate::{core::Provider, Route};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let route = Route::builder().provider(Provider::Github).secret("mysecret").build().unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-hub-signature-256", "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3".parse().unwrap());
/// headers.insert("x-github-delivery", "d-42".parse().unwrap());
/// let event = hookgate::verify(&route, &headers, r#"{"foo":"bar"}"#.into(), UNIX_EPOCH + Duration::from_secs(1)).unwrap();
/// assert_eq!(&*event.route, "github");
/// assert_eq!(event.event_id, "d-42");
/// assert_eq!(event.provider, Some(Provider::Github));
/// assert_eq!(event.body, r#"{"foo":"bar"}"#);
/// ```
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
///
/// ```
/// use hookgate::ClientAddr;
/// let peer: std::net::SocketAddr = "10.0.0.7:51000".parse().unwrap();
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(ClientAddr { peer, client: peer.ip(), peer_trusted: false });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The socket peer.
    pub peer: SocketAddr,
    /// The client: the peer, or the forwarded address when the peer is a trusted proxy.
    pub client: IpAddr,
    /// Whether the peer is a trusted proxy (its `X-Forwarded-*` headers are kept).
    pub peer_trusted: bool,
}
