//! What the inner service learns about a verified webhook.

use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A webhook that passed verification, inserted into the request's extensions before the
/// inner service (your handler, or the sidecar's upstream forwarder) is called. With the
/// `axum` feature it is also an extractor.
///
/// ```
/// use bytes::Bytes;
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::{VerifiedWebhook, WebhookLayer};
/// use http_body_util::Full;
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let verifier = Verifier::builder().provider(Provider::Github).secret("mysecret").build().unwrap();
/// let service = WebhookLayer::new(verifier).layer(service_fn(|req: http::Request<Full<Bytes>>| async move {
///     let event = req.extensions().get::<VerifiedWebhook>().unwrap();
///     assert_eq!(&*event.route, "github");
///     assert_eq!(event.event_id, "d-42");
///     assert_eq!(event.body, r#"{"foo":"bar"}"#);
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// }));
/// let request = http::Request::post("/hooks")
///     .header("x-hub-signature-256", "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3")
///     .header("x-github-delivery", "d-42")
///     .body(Full::new(Bytes::from_static(br#"{"foo":"bar"}"#)))
///     .unwrap();
/// assert_eq!(service.oneshot(request).await.unwrap().status(), 200);
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
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
/// request.extensions_mut().insert(ClientAddr::direct(peer));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientAddr {
    /// The socket peer.
    pub peer: SocketAddr,
    /// The client: the peer, or the forwarded address when the peer is a trusted proxy.
    pub client: IpAddr,
    /// Whether the peer is a trusted proxy (its `X-Forwarded-*` headers are kept).
    pub peer_trusted: bool,
    /// Whether the request came over TLS (`X-Forwarded-Proto: https` upstream).
    pub tls: bool,
}

impl ClientAddr {
    /// A client that connected directly: the peer is the client, and is not a trusted proxy.
    ///
    /// ```
    /// let peer: std::net::SocketAddr = "10.0.0.7:51000".parse().unwrap();
    /// assert_eq!(hookgate::ClientAddr::direct(peer).client, peer.ip());
    /// ```
    pub fn direct(peer: SocketAddr) -> Self {
        ClientAddr {
            peer,
            client: peer.ip(),
            peer_trusted: false,
            tls: false,
        }
    }

    /// A client seen through `peer`; `client` is the address the trusted proxies reported
    /// when `peer_trusted`.
    ///
    /// ```
    /// let peer: std::net::SocketAddr = "10.0.0.2:40000".parse().unwrap();
    /// let client = hookgate::ClientAddr::new(peer, "203.0.113.9".parse().unwrap(), true);
    /// assert!(client.peer_trusted);
    /// ```
    pub fn new(peer: SocketAddr, client: IpAddr, peer_trusted: bool) -> Self {
        ClientAddr {
            peer,
            client,
            peer_trusted,
            tls: false,
        }
    }

    /// The same client, marked as having connected over TLS (or not).
    ///
    /// ```
    /// let peer: std::net::SocketAddr = "10.0.0.7:51000".parse().unwrap();
    /// assert!(hookgate::ClientAddr::direct(peer).over_tls(true).tls);
    /// ```
    #[must_use]
    pub fn over_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }
}
