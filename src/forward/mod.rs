//! The upstream forwarder: sends verified webhooks, byte for byte, to the webhook handler.

use crate::core::Rejection;
use crate::webhook::{ClientAddr, VerifiedWebhook};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::{Request, Response, Version};
use http_body::Body;
use http_body_util::{Either, Full};
use pool::{Pool, PooledBody};
use sha2::Digest as _;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower_service::Service;

mod pool;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Header naming the route on forwarded requests.
///
/// ```
/// assert_eq!(hookgate::forward::ROUTE_HEADER, "hookgate-route");
/// ```
pub const ROUTE_HEADER: HeaderName = HeaderName::from_static("hookgate-route");
/// Header carrying the event id on forwarded requests.
///
/// ```
/// assert_eq!(hookgate::forward::EVENT_ID_HEADER, "hookgate-event-id");
/// ```
pub const EVENT_ID_HEADER: HeaderName = HeaderName::from_static("hookgate-event-id");

/// Header carrying the attempt number on deliveries from the queue (from 1).
///
/// ```
/// assert_eq!(hookgate::forward::ATTEMPT_HEADER, "hookgate-attempt");
/// ```
pub const ATTEMPT_HEADER: HeaderName = HeaderName::from_static("hookgate-attempt");

/// The pooled HTTP client shared by all routes' forwarders.
///
/// ```
/// use hookgate::forward::{Forward, UpstreamClient};
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::WebhookLayer;
/// use std::time::Duration;
/// use tower::Layer;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // What the sidecar builds for each route: the layer in front of the forwarder.
/// let client = UpstreamClient::new(Duration::from_secs(5));
/// let forward = Forward::new(client, "http://127.0.0.1:3000/webhooks".parse().unwrap(), Duration::from_secs(30));
/// let verifier = Verifier::builder().provider(Provider::Github).secret("s").build().unwrap();
/// let service = WebhookLayer::new(verifier).layer(forward);
/// # });
/// ```
#[derive(Clone)]
pub struct UpstreamClient {
    pool: Arc<Pool>,
}

impl UpstreamClient {
    /// A pooled HTTP/1.1 client (keep-alive connections, up to 256 idle, each reused for at
    /// most 60 s of idleness); `connect_timeout` bounds each new connection. The sidecar makes
    /// one per worker.
    pub fn new(connect_timeout: Duration) -> Self {
        UpstreamClient {
            pool: Arc::new(Pool::new(connect_timeout)),
        }
    }
}

impl std::fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamClient").finish_non_exhaustive()
    }
}

/// Forwards requests to one upstream URL (the incoming query is appended) and relays the
/// response. An unreachable upstream is answered 502 `upstream_unavailable`, one that does not
/// answer within the timeout 504 `upstream_timeout`.
///
/// ```
/// use hookgate::forward::{Forward, UpstreamClient};
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::WebhookLayer;
/// use std::time::Duration;
/// use tower::Layer;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // What the sidecar builds for each route: the layer in front of the forwarder.
/// let client = UpstreamClient::new(Duration::from_secs(5));
/// let forward = Forward::new(client, "http://127.0.0.1:3000/webhooks".parse().unwrap(), Duration::from_secs(30));
/// let verifier = Verifier::builder().provider(Provider::Github).secret("s").build().unwrap();
/// let service = WebhookLayer::new(verifier).layer(forward);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Forward {
    // Behind one `Arc`: the service is cloned for every request (tower's readiness contract).
    target: Arc<Target>,
}

/// Where and how one route forwards, worked out once rather than per request.
#[derive(Clone, Debug)]
struct Target {
    client: UpstreamClient,
    upstream: Uri,
    timeout: Duration,
    resign: Option<Arc<Resign>>,
    /// The upstream's `Host`, made once.
    host: Option<HeaderValue>,
}

/// One signature for the application: after verification, the provider's signature headers
/// are removed and the forwarded request is signed with one scheme (id = the event id,
/// timestamp = when it is sent), so the application verifies one scheme whatever the
/// provider, and can tell the request came through hookgate.
///
/// ```
/// use hookgate::core::Provider;
/// use hookgate::forward::Resign;
/// let resign = Resign::new(Provider::StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(), Provider::Github.scheme()).unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-hub-signature-256", "sha256=00".parse().unwrap());
/// resign.apply(&mut headers, "evt_1", b"{}", 1_700_000_000);
/// assert!(!headers.contains_key("x-hub-signature-256"));
/// assert_eq!(headers["webhook-id"], "evt_1");
/// ```
pub struct Resign {
    scheme: crate::core::Scheme,
    secret: crate::core::Secret,
    strip: Vec<HeaderName>,
}

impl std::fmt::Debug for Resign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resign")
            .field("headers", &self.scheme.signature_headers())
            .finish_non_exhaustive()
    }
}

impl Resign {
    /// Signs with `provider`'s scheme and `secret`, removing the signature and timestamp
    /// headers of `verified` (the route's own scheme). `None` when [`sign`] cannot sign
    /// `provider`'s requests from the body alone (it signs the URL, or carries its signature
    /// or timestamp in the body), or the secret does not fit it (for Ed25519 and ECDSA
    /// presets, `secret` is the private key).
    ///
    /// [`sign`]: crate::core::sign
    pub fn new(
        provider: crate::core::Provider,
        secret: crate::core::Secret,
        verified: crate::core::Scheme,
    ) -> Option<Self> {
        let scheme = provider.scheme();
        // Proves the secret fits the scheme (a Standard Webhooks secret is whsec_ + base64).
        crate::core::sign(
            &scheme,
            &secret,
            b"",
            &crate::core::SignInput {
                timestamp: 0,
                id: "probe",
            },
        )
        .ok()?;
        let mut strip: Vec<HeaderName> = verified.signature_headers().to_vec();
        if let crate::core::scheme::TimestampSource::Header(names) = verified.timestamp() {
            strip.extend(names.iter().cloned());
        }
        Some(Resign {
            scheme,
            secret,
            strip,
        })
    }

    /// Replaces the provider's signature with this one over `body`.
    pub fn apply(&self, headers: &mut HeaderMap, event_id: &str, body: &[u8], timestamp: i64) {
        for name in &self.strip {
            headers.remove(name);
        }
        let input = crate::core::SignInput {
            timestamp,
            id: event_id,
        };
        // An id with bytes a header cannot carry: sign with its digest instead.
        let signed = crate::core::sign(&self.scheme, &self.secret, body, &input).or_else(|_| {
            let digest = hex::encode(&sha2::Sha256::digest(event_id.as_bytes())[..16]);
            crate::core::sign(
                &self.scheme,
                &self.secret,
                body,
                &crate::core::SignInput {
                    timestamp,
                    id: &digest,
                },
            )
        });
        if let Ok(signed) = signed {
            for (name, value) in signed {
                headers.insert(name, value);
            }
        }
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pin_project_lite::pin_project! {
    /// The body of a forwarded response: the upstream's, or hookgate's JSON on 502/504.
    ///
    /// ```
    /// use http_body::Body;
    /// fn relayed(body: hookgate::forward::ForwardBody) -> Option<u64> {
    ///     body.size_hint().exact()
    /// }
    /// ```
    pub struct ForwardBody {
        #[pin]
        inner: Either<PooledBody, Full<Bytes>>,
    }
}

impl ForwardBody {
    /// hookgate's own answer (a rejection, a queued event).
    pub(crate) fn full(bytes: Bytes) -> Self {
        ForwardBody {
            inner: Either::Right(Full::new(bytes)),
        }
    }
}

impl std::fmt::Debug for ForwardBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardBody").finish_non_exhaustive()
    }
}

impl Body for ForwardBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        self.project().inner.poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Forward {
    /// Forwards to `upstream` (an `http://` URL) with `client`, waiting at most `timeout`
    /// for the response head.
    pub fn new(client: UpstreamClient, upstream: Uri, timeout: Duration) -> Self {
        Forward {
            target: Arc::new(Target {
                host: upstream
                    .authority()
                    .and_then(|authority| HeaderValue::from_str(host_of(authority)).ok()),
                client,
                upstream,
                timeout,
                resign: None,
            }),
        }
    }

    /// Re-signs every forwarded request (see [`Resign`]).
    #[must_use]
    pub fn resign(mut self, resign: std::sync::Arc<Resign>) -> Self {
        Arc::make_mut(&mut self.target).resign = Some(resign);
        self
    }
}

impl Service<Request<Full<Bytes>>> for Forward {
    type Response = Response<ForwardBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.forward(request).await) })
    }
}

impl Forward {
    async fn forward(self, request: Request<Full<Bytes>>) -> Response<ForwardBody> {
        let target = &*self.target;
        let (mut parts, body) = request.into_parts();
        // A `Full` body knows its length: the upstream gets a Content-Length, never chunks.
        let length = body.size_hint().exact().unwrap_or(0);
        let Some(uri) = upstream_uri(&target.upstream, parts.uri.query()) else {
            return rejection(Rejection::BadRequest);
        };
        let mut headers = upstream_headers(&mut parts, length);
        if let (Some(resign), Some(verified)) =
            (&target.resign, parts.extensions.get::<VerifiedWebhook>())
        {
            resign.apply(&mut headers, &verified.event_id, &verified.body, unix_now());
        }
        match target
            .client
            .send_with_host(
                parts.method,
                uri,
                target.host.clone(),
                headers,
                body,
                target.timeout,
            )
            .await
        {
            Err(refused) => rejection(refused),
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(
                    parts,
                    ForwardBody {
                        inner: Either::Left(body),
                    },
                )
            }
        }
    }
}

impl UpstreamClient {
    /// Sends one request, waiting at most `timeout` for the response head: 504
    /// `upstream_timeout` after it, 502 `upstream_unavailable` when the upstream cannot be
    /// reached.
    pub(crate) async fn send(
        &self,
        method: http::Method,
        uri: Uri,
        headers: HeaderMap,
        body: Full<Bytes>,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, Rejection> {
        self.send_with_host(method, uri, None, headers, body, timeout)
            .await
    }

    /// [`send`](Self::send) with the upstream's `Host` value already made (`None`: made
    /// from `uri`).
    async fn send_with_host(
        &self,
        method: http::Method,
        uri: Uri,
        host: Option<HeaderValue>,
        headers: HeaderMap,
        body: Full<Bytes>,
        timeout: Duration,
    ) -> Result<Response<PooledBody>, Rejection> {
        let is_http = uri.scheme() == Some(&http::uri::Scheme::HTTP);
        let (authority, origin_form) = match (is_http, uri.into_parts()) {
            (
                true,
                http::uri::Parts {
                    authority: Some(authority),
                    path_and_query,
                    ..
                },
            ) => (
                authority,
                path_and_query.unwrap_or_else(|| PathAndQuery::from_static("/")),
            ),
            _ => {
                tracing::warn!("the upstream is not an http:// URL");
                return Err(Rejection::UpstreamUnavailable);
            }
        };
        let mut outgoing = Request::new(body);
        *outgoing.method_mut() = method;
        *outgoing.uri_mut() = Uri::from(origin_form);
        *outgoing.version_mut() = Version::HTTP_11;
        *outgoing.headers_mut() = headers;
        if let Some(host) = host.or_else(|| HeaderValue::from_str(host_of(&authority)).ok()) {
            outgoing.headers_mut().insert(header::HOST, host);
        }
        match tokio::time::timeout(timeout, self.pool.send(&authority, outgoing)).await {
            Err(_elapsed) => {
                tracing::warn!(upstream = %authority, "upstream timed out");
                Err(Rejection::UpstreamTimeout)
            }
            Ok(Err(error)) => {
                tracing::warn!(upstream = %authority, error = %error_chain(&error), "upstream unavailable");
                Err(Rejection::UpstreamUnavailable)
            }
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// The `Host` an upstream is addressed by: its authority without any user information.
fn host_of(authority: &http::uri::Authority) -> &str {
    let text = authority.as_str();
    text.rsplit_once('@').map_or(text, |(_, host)| host)
}

/// The headers the upstream receives for a verified request: the incoming ones minus
/// hop-by-hop headers and any `Hookgate-*` a client sent, plus `X-Forwarded-*`,
/// `Hookgate-Route`, `Hookgate-Event-Id` and the body's `Content-Length`.
pub(crate) fn upstream_headers(parts: &mut http::request::Parts, length: u64) -> HeaderMap {
    let mut headers = std::mem::take(&mut parts.headers);
    let incoming_host = headers.remove(header::HOST).or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    strip_hop_by_hop(&mut headers);
    // Whatever a client sent as hookgate's own headers goes (one pass over the names; there
    // are usually none).
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("hookgate-"))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
    set_forwarded(
        &mut headers,
        parts.extensions.get::<ClientAddr>(),
        incoming_host,
    );
    if let Some(verified) = parts.extensions.get::<VerifiedWebhook>() {
        if let Ok(route) = HeaderValue::from_str(&verified.route) {
            headers.insert(ROUTE_HEADER, route);
        }
        if let Ok(id) = HeaderValue::from_str(&verified.event_id) {
            headers.insert(EVENT_ID_HEADER, id);
        }
    }
    crate::layer::set_content_length(&mut headers, length);
    headers
}

fn rejection(rejection: Rejection) -> Response<ForwardBody> {
    rejection
        .to_response::<Full<Bytes>>()
        .map(|body| ForwardBody {
            inner: Either::Right(body),
        })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The upstream URL with the incoming query appended.
pub(crate) fn upstream_uri(upstream: &Uri, query: Option<&str>) -> Option<Uri> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Some(upstream.clone());
    };
    let path = upstream.path();
    let path_and_query = match upstream.query() {
        Some(existing) if !existing.is_empty() => format!("{path}?{existing}&{query}"),
        _ => format!("{path}?{query}"),
    };
    let mut parts = upstream.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

/// Removes the hop-by-hop headers of RFC 9110 §7.6.1, and those the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the names present (most messages carry none of these) rather than a
    // lookup for each hop-by-hop name.
    let mut found: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_hop_by_hop(name))
        .cloned()
        .collect();
    if found.is_empty() {
        return;
    }
    if found.contains(&header::CONNECTION) {
        found.extend(
            headers
                .get_all(header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|name| HeaderName::try_from(name.trim()).ok()),
        );
    }
    for name in found {
        headers.remove(name);
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ]
    .contains(name)
        || name == "keep-alive"
        || name == "proxy-connection"
}

fn set_forwarded(headers: &mut HeaderMap, client: Option<&ClientAddr>, host: Option<HeaderValue>) {
    const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    const XFP: HeaderName = HeaderName::from_static("x-forwarded-proto");
    const XFH: HeaderName = HeaderName::from_static("x-forwarded-host");
    let trusted = client.is_some_and(|c| c.peer_trusted);
    // Only a trusted proxy may tell us who the client was, and how and where it connected:
    // an untrusted peer's values are removed, a trusted one's read.
    let existing = |name: &HeaderName, headers: &mut HeaderMap| -> Option<HeaderValue> {
        if trusted {
            headers.get(name).cloned()
        } else {
            headers.remove(name);
            None
        }
    };
    let forwarded_for = existing(&XFF, headers);
    let forwarded_proto = existing(&XFP, headers);
    let forwarded_host = existing(&XFH, headers);
    if let Some(client) = client {
        let mut text = [0u8; 64];
        let peer = ip_text(client.peer.ip(), &mut text);
        let value = match forwarded_for.as_ref().and_then(|v| v.to_str().ok()) {
            Some(chain) => HeaderValue::from_bytes(&[chain.as_bytes(), b", ", peer].concat()),
            None => HeaderValue::from_bytes(peer),
        };
        if let Ok(value) = value {
            headers.insert(XFF, value);
        }
    }
    if forwarded_proto.is_none() {
        let proto = if client.is_some_and(|c| c.tls) {
            "https"
        } else {
            "http"
        };
        headers.insert(XFP, HeaderValue::from_static(proto));
    }
    if let (None, Some(host)) = (forwarded_host, host) {
        headers.insert(XFH, host);
    }
}

/// `ip` as text in `buf`: IPv4 by hand (the formatting machinery costs more than the rest of
/// the header work of a request), IPv6 through `Display`.
fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; 64]) -> &[u8] {
    let mut len = 0;
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                let text = digits.format(octet).as_bytes();
                buf[len..len + text.len()].copy_from_slice(text);
                len += text.len();
            }
        }
        std::net::IpAddr::V6(v6) => {
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{v6}"));
            len = usize::try_from(cursor.position()).unwrap_or(0);
        }
    }
    &buf[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_appended_to_the_upstream_url() {
        let up: Uri = "http://127.0.0.1:3000/hooks".parse().unwrap();
        assert_eq!(
            upstream_uri(&up, Some("a=1")).unwrap(),
            "http://127.0.0.1:3000/hooks?a=1"
        );
        assert_eq!(
            upstream_uri(&up, None).unwrap(),
            "http://127.0.0.1:3000/hooks"
        );
        let up: Uri = "http://127.0.0.1:3000/hooks?k=v".parse().unwrap();
        assert_eq!(
            upstream_uri(&up, Some("a=1")).unwrap(),
            "http://127.0.0.1:3000/hooks?k=v&a=1"
        );
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "10.200.3.40",
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.128",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(ip_text(ip, &mut buf), ip.to_string().as_bytes());
        }
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_stripped() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("stripe-signature", "t=1,v1=ab".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("stripe-signature"));
    }
}
