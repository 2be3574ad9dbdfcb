//! The sidecar: accepts webhooks, routes them by path through the webhook layer to the
//! upstream forwarder, and drains in-flight requests on shutdown.

use crate::activity::{Activity, Tracked};
use crate::metrics::Metrics;
use bytes::Bytes;
use hookgate::config::Config;
use hookgate::forward::{Forward, UpstreamClient};
use hookgate::store::{MemoryStore, SeenStore};
use hookgate::{ClientAddr, Rejection, WebhookLayer, WebhookService};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tower_layer::Layer;
use tower_service::Service;

/// Bound on a request head (HTTP/1 read buffer, HTTP/2 header list).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The request body handed through the layer: the client's stream, then the buffered bytes.
pub struct SidecarBody(Either<Incoming, Full<Bytes>>);

impl From<Bytes> for SidecarBody {
    fn from(bytes: Bytes) -> Self {
        SidecarBody(Either::Right(Full::new(bytes)))
    }
}

impl Body for SidecarBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

type RouteService = WebhookService<Forward>;

/// Dispatches by exact path to each route's `WebhookLayer` + `Forward` stack.
#[derive(Clone)]
pub struct Sidecar {
    /// Path -> (route name, its service).
    routes: Arc<HashMap<String, (String, RouteService)>>,
    trusted_proxies: Arc<Vec<IpNet>>,
    metrics: Arc<Metrics>,
}

impl Sidecar {
    pub fn new(config: &Config, store: Arc<dyn SeenStore>, metrics: Arc<Metrics>) -> Self {
        let client =
            UpstreamClient::new(config.server.upstream_timeout.min(Duration::from_secs(5)));
        let routes = config
            .routes
            .iter()
            .map(|rc| {
                let forward = Forward::new(
                    client.clone(),
                    rc.upstream.clone(),
                    config.server.upstream_timeout,
                );
                let layer = WebhookLayer::new(rc.route.clone()).with_store(store.clone());
                (
                    rc.path.clone(),
                    (rc.route.name().to_owned(), layer.layer(forward)),
                )
            })
            .collect();
        Sidecar {
            routes: Arc::new(routes),
            trusted_proxies: Arc::new(config.server.trusted_proxies.clone()),
            metrics,
        }
    }

    fn client_addr(&self, peer: SocketAddr, request: &Request<Incoming>) -> ClientAddr {
        let trusted = self
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer.ip()));
        let forwarded = trusted
            .then(|| {
                // The right-most address a trusted proxy appended is the one it saw.
                request
                    .headers()
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .filter_map(|part| part.trim().parse::<IpAddr>().ok())
                    .next_back()
            })
            .flatten();
        ClientAddr {
            peer,
            client: forwarded.unwrap_or(peer.ip()),
            peer_trusted: trusted,
        }
    }

    pub async fn handle(
        &self,
        peer: SocketAddr,
        request: Request<Incoming>,
    ) -> Result<
        Response<
            impl Body<Data = Bytes, Error = Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
        >,
        Infallible,
    > {
        let Some((name, service)) = self.routes.get(request.uri().path()) else {
            self.metrics.record("", StatusCode::NOT_FOUND);
            return Ok(Rejection::UnknownRoute
                .to_response::<Full<Bytes>>()
                .map(Either::Right));
        };
        let mut service = service.clone();
        let client = self.client_addr(peer, &request);
        let mut request = request.map(|body| SidecarBody(Either::Left(body)));
        request.extensions_mut().insert(client);
        std::future::poll_fn(|cx| Service::<Request<SidecarBody>>::poll_ready(&mut service, cx))
            .await?;
        let response = service.call(request).await?;
        self.metrics.record(name, response.status());
        Ok(response.map(Either::Left))
    }
}

/// Waits until the first bytes tell HTTP/1 from HTTP/2, for at most `deadline`.
///
/// hyper-util's auto builder reads this preface without a timeout, and hyper's own header
/// timeout only starts after it: without this bound a client that connects and sends nothing
/// would hold its connection (and a `max_connections` slot) forever.
async fn protocol_known_within(stream: &tokio::net::TcpStream, deadline: Duration) -> bool {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let decided = async {
        let mut buf = [0u8; 24];
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) if n == H2_PREFACE.len() || buf[..n] != H2_PREFACE[..n] => return true,
                // A partial HTTP/2 preface: peek returns at once, so wait for more bytes.
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    };
    tokio::time::timeout(deadline, decided)
        .await
        .unwrap_or(false)
}

/// Serves webhooks on `listener` until `shutdown` resolves, then drains open requests for at
/// most `drain`. Connections take a permit from `permits` (shared by all workers) for their
/// lifetime.
pub async fn serve(
    listener: TcpListener,
    sidecar: Sidecar,
    request_timeout: Duration,
    permits: Arc<tokio::sync::Semaphore>,
    drain: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(request_timeout)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    let builder = Arc::new(builder);
    // Connections watch this to shut down gracefully; it is read, not waited for, so a
    // connection that starts waiting late still sees it.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // Reap finished connections so the set does not grow with the server's age.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        // At the connection bound, this worker stops accepting until a connection ends
        // (permits are shared by all workers; the kernel backlog holds new clients).
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let sidecar = sidecar.clone();
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |request| {
            let sidecar = sidecar.clone();
            let in_flight = requests.begin();
            async move {
                let response = sidecar.handle(peer, request).await;
                drop(in_flight);
                response
            }
        });
        let builder = builder.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let _permit = permit;
            if !protocol_known_within(&stream, request_timeout).await {
                tracing::debug!(%peer, "no request head in time: closing");
                return;
            }
            let io = TokioIo::new(Tracked::new(stream, activity.clone()));
            let connection = builder.serve_connection(io, service);
            tokio::pin!(connection);
            let mut closing = false;
            // An idle connection that was asked to close gets this long to do so: an HTTP/2
            // peer that never acknowledges the GOAWAY is then dropped.
            let mut close_by: Option<std::time::Instant> = None;
            loop {
                let now = std::time::Instant::now();
                let wake_at = match close_by {
                    Some(at) => at,
                    None => activity.idle_deadline(request_timeout).unwrap_or(now + request_timeout),
                };
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%peer, error = %error, "connection ended with an error");
                        }
                        return;
                    }
                    _ = stopped.wait_for(|stop| *stop), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = tokio::time::sleep_until(wake_at.into()) => {
                        if close_by.is_some() {
                            tracing::debug!(%peer, "idle connection did not close: dropping it");
                            return;
                        }
                        let idle = activity.idle_deadline(request_timeout);
                        if !closing && idle.is_some_and(|at| at <= std::time::Instant::now()) {
                            tracing::debug!(%peer, "idle connection: closing");
                            connection.as_mut().graceful_shutdown();
                            closing = true;
                            close_by = Some(std::time::Instant::now() + request_timeout);
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!(?drain, "drain time exceeded; closing remaining connections");
        connections.shutdown().await;
    }
}

/// Serves `/healthz`, `/readyz` and `/metrics`.
pub async fn serve_admin(
    listener: TcpListener,
    store: Arc<dyn SeenStore>,
    memory: Option<Arc<MemoryStore>>,
    metrics: Arc<Metrics>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let store = store.clone();
        let memory = memory.clone();
        let metrics = metrics.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let store = store.clone();
            let memory = memory.clone();
            let metrics = metrics.clone();
            async move {
                let (status, content_type, body) = match request.uri().path() {
                    "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
                    "/readyz" => match store.ping().await {
                        Ok(()) => (StatusCode::OK, "text/plain", "ready\n".to_owned()),
                        Err(_) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "text/plain",
                            "store unavailable\n".to_owned(),
                        ),
                    },
                    "/metrics" => (
                        StatusCode::OK,
                        "text/plain; version=0.0.4",
                        metrics.render(memory.as_deref().map(MemoryStore::len)),
                    ),
                    _ => (
                        StatusCode::NOT_FOUND,
                        "text/plain",
                        "not found\n".to_owned(),
                    ),
                };
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = status;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(content_type),
                );
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
