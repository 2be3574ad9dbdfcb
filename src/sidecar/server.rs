//! The accept loop of one worker: connections bounded by `max_connections`, request heads by
//! `request_timeout`, idle connections closed, HTTP/2 streams bounded per connection, and a
//! bounded drain on shutdown.

use super::activity::{Activity, Tracked};
use super::router::Router;
use crate::defaults;
use arc_swap::{ArcSwap, ArcSwapOption};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig as TlsServerConfig;

/// What a worker serves with, replaced whole on a reload: requests load the router when they
/// start (and finish on it), connections load the TLS configuration when they are accepted.
pub(crate) struct Live {
    pub(crate) router: ArcSwap<Router>,
    pub(crate) tls: Arc<ArcSwapOption<TlsServerConfig>>,
}

/// What every connection of a worker is served with.
pub(crate) struct Settings {
    pub(crate) request_timeout: Duration,
    pub(crate) drain: Duration,
}

/// The protocol a connection speaks, known before hyper sees it: from the first bytes on
/// plain TCP, from ALPN over TLS. Serving it with hyper's own HTTP/1 or HTTP/2 connection
/// (instead of hyper-util's auto builder, which would read the preface a second time through a
/// rewinding wrapper on every read) keeps the per-request path to what hyper itself does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// Waits until the first bytes tell HTTP/1 from HTTP/2, for at most `deadline`; `None` when
/// the client sent nothing in time or closed.
///
/// hyper's own header timeout only starts once it reads: without this bound a client that
/// connects and sends nothing would hold its connection (and a `max_connections` slot)
/// forever.
fn protocol_within(
    stream: &tokio::net::TcpStream,
    deadline: Duration,
) -> impl Future<Output = Option<Protocol>> + Send + '_ {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let decided = async {
        let mut buf = [0u8; 24];
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) if buf[..n] != H2_PREFACE[..n] => return Some(Protocol::Http1),
                Ok(n) if n == H2_PREFACE.len() => return Some(Protocol::Http2),
                // A partial HTTP/2 preface: peek returns at once, so wait for more bytes.
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    };
    async move {
        tokio::time::timeout(deadline, decided)
            .await
            .unwrap_or(None)
    }
}

/// Serves webhooks on `listener` until `shutdown` resolves, then drains open requests for at
/// most `drain`. Connections take a permit from `permits` (shared by all workers) for their
/// lifetime.
pub(crate) async fn serve(
    listener: TcpListener,
    live: Arc<Live>,
    settings: Settings,
    permits: Arc<tokio::sync::Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let Settings {
        request_timeout,
        drain,
    } = settings;
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(request_timeout)
        .max_buf_size(defaults::MAX_HEADER_BYTES);
    // Streams per connection and unread bytes per connection are bounded, so HTTP/2 cannot
    // multiply what one connection holds (the buffer budget bounds what is read).
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_header_list_size(defaults::MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(defaults::H2_MAX_CONCURRENT_STREAMS)
        .initial_connection_window_size(defaults::H2_CONNECTION_WINDOW)
        .initial_stream_window_size(defaults::H2_STREAM_WINDOW);
    let builders = Arc::new((http1, http2));
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
        let tls = live.tls.load_full();
        let activity = Activity::new();
        let requests = activity.clone();
        let live = live.clone();
        let secure = tls.is_some();
        let service = hyper::service::service_fn(move |request| {
            // The router of the moment: a reload never changes a request under way.
            let router = live.router.load_full();
            let in_flight = requests.begin();
            async move {
                let response = router.handle(peer, secure, request).await;
                drop(in_flight);
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let builders = builders.clone();
        let stopped = stopped.clone();
        connections.spawn(async move {
            let _permit = permit;
            let Some((stream, protocol)) = opened(stream, tls, request_timeout, peer).await else {
                return;
            };
            let io = TokioIo::new(Tracked::new(stream, activity.clone()));
            let connection = Connection {
                peer,
                activity,
                request_timeout,
                stopped,
            };
            let (http1, http2) = &*builders;
            match protocol {
                Protocol::Http1 => connection.drive(http1.serve_connection(io, service)).await,
                Protocol::Http2 => connection.drive(http2.serve_connection(io, service)).await,
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

/// The connection's byte stream once it is known what it speaks: after the TLS handshake
/// (ALPN tells the protocol), or after the first bytes on plain TCP. `None` (logged) when the
/// handshake fails or nothing arrives within `request_timeout`.
async fn opened(
    stream: tokio::net::TcpStream,
    tls: Option<Arc<TlsServerConfig>>,
    request_timeout: Duration,
    peer: std::net::SocketAddr,
) -> Option<(Box<dyn Io>, Protocol)> {
    let Some(config) = tls else {
        let Some(protocol) = protocol_within(&stream, request_timeout).await else {
            tracing::debug!(%peer, "no request head in time: closing");
            return None;
        };
        return Some((Box::new(stream), protocol));
    };
    // The handshake is bounded like a request head, and holds its connection slot meanwhile.
    // Plaintext on this port fails here.
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let stream = match tokio::time::timeout(request_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(%peer, "no TLS handshake in time: closing");
            return None;
        }
    };
    let protocol = match stream.get_ref().1.alpn_protocol() {
        Some(b"h2") => Protocol::Http2,
        _ => Protocol::Http1,
    };
    Some((Box::new(stream), protocol))
}

/// What watches one connection while hyper serves it.
struct Connection {
    peer: std::net::SocketAddr,
    activity: Arc<Activity>,
    request_timeout: Duration,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Connection {
    /// Serves `connection` to its end: closed gracefully when the sidecar shuts down, or when
    /// it has been idle (no request in flight, no bytes) for one to two `request_timeout`s
    /// (see [`Activity`]); dropped when it has not closed `request_timeout` after that.
    // Not an `async fn`: the future is declared `Send` here, which rustc cannot prove for a
    // generic `async fn` awaited in a spawned task (rust-lang/rust#110338).
    #[allow(clippy::manual_async_fn)]
    fn drive<C>(self, connection: C) -> impl Future<Output = ()> + Send
    where
        C: GracefulConnection + Send,
        C::Error: std::fmt::Display,
    {
        async move {
            let Connection {
                peer,
                activity,
                request_timeout,
                mut stopped,
            } = self;
            tokio::pin!(connection);
            let mut closing = false;
            // An idle connection that was asked to close gets this long to do so: an HTTP/2 peer
            // that never acknowledges the GOAWAY is then dropped.
            let mut close_by: Option<std::time::Instant> = None;
            loop {
                let now = std::time::Instant::now();
                let wake_at = match close_by {
                    Some(at) => at,
                    None => activity
                        .idle_deadline(request_timeout)
                        .unwrap_or(now + request_timeout),
                };
                tokio::select! {
                    // The connection first: most wake-ups are its.
                    biased;
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
        }
    }
}

/// A connection's byte stream: plain TCP or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}
