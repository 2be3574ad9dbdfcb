//! One worker's upstream connections: HTTP/1.1 keep-alive connections per upstream authority,
//! reused most-recently-used first.
//!
//! Built directly on `hyper::client::conn::http1`: a request takes an idle connection (or
//! opens one), and the connection goes back to the pool when its response body has been read
//! to the end. Nothing is shared between workers, so the lock is never contended. A request
//! that a reused connection could not even start to send (the upstream closed it while it was
//! idle) is sent again on another connection; one that was sent is never sent twice.

use bytes::Bytes;
use http::uri::Authority;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Idle connections kept per pool (one pool per worker), all upstreams together.
const MAX_IDLE: usize = 256;
/// An idle connection older than this is closed rather than reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) struct Pool {
    connect_timeout: Duration,
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    authority: Authority,
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("connecting failed: {0}")]
    Connect(#[source] std::io::Error),
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

impl Pool {
    pub(crate) fn new(connect_timeout: Duration) -> Self {
        Pool {
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `request` (origin-form URI, `Host` set) to `authority` and waits for the response
    /// head.
    pub(crate) async fn send(
        self: &Arc<Self>,
        authority: &Authority,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<PooledBody>, PoolError> {
        while let Some(mut sender) = self.checkout(authority) {
            // Back in the pool only after its last response was read: ready at once, or
            // closed.
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(self.pooled(authority, sender, response)),
                Err(mut error) => match error.take_message() {
                    // Never written: the connection was closed under it; try another.
                    Some(unsent) => request = unsent,
                    None => return Err(error.into_error().into()),
                },
            }
        }
        // Boxed: connecting is rare with keep-alive, and its futures (the address lookup, the
        // handshake) would otherwise make every request's future kilobytes larger.
        let mut sender = Box::pin(self.connect(authority)).await?;
        let response = sender.send_request(request).await?;
        Ok(self.pooled(authority, sender, response))
    }

    /// The most recently used idle connection to `authority`; closed and expired ones on the
    /// way are dropped.
    fn checkout(&self, authority: &Authority) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let mut i = idle.len();
        while i > 0 {
            i -= 1;
            let entry = &idle[i];
            if entry.sender.is_closed() || now.duration_since(entry.since) > IDLE_TIMEOUT {
                idle.swap_remove(i);
            } else if entry.authority == *authority {
                return Some(idle.swap_remove(i).sender);
            }
        }
        None
    }

    fn checkin(&self, authority: Authority, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                authority,
                sender,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self, authority: &Authority) -> Result<SendRequest<Full<Bytes>>, PoolError> {
        // An IPv6 literal keeps its brackets in the authority.
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let stream = tokio::time::timeout(
            self.connect_timeout,
            tokio::net::TcpStream::connect((host, port)),
        )
        .await
        .map_err(|_elapsed| PoolError::ConnectTimeout)?
        .map_err(PoolError::Connect)?;
        stream.set_nodelay(true).map_err(PoolError::Connect)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    fn pooled(
        self: &Arc<Self>,
        authority: &Authority,
        sender: SendRequest<Full<Bytes>>,
        response: Response<Incoming>,
    ) -> Response<PooledBody> {
        let checkin = Checkin {
            pool: self.clone(),
            authority: authority.clone(),
            sender,
        };
        response.map(|inner| {
            let mut body = PooledBody {
                inner,
                checkin: Some(checkin),
            };
            // No body to read (204, Content-Length: 0): reusable now.
            if body.inner.is_end_stream() {
                body.check_in();
            }
            body
        })
    }
}

/// A connection lent to one response.
struct Checkin {
    pool: Arc<Pool>,
    authority: Authority,
    sender: SendRequest<Full<Bytes>>,
}

/// The upstream's response body; its connection returns to the pool when the body has been
/// read to the end (dropped earlier, the connection is closed instead).
pub(crate) struct PooledBody {
    inner: Incoming,
    checkin: Option<Checkin>,
}

impl PooledBody {
    fn check_in(&mut self) {
        if let Some(Checkin {
            pool,
            authority,
            sender,
        }) = self.checkin.take()
        {
            pool.checkin(authority, sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        match &frame {
            Poll::Ready(None) => this.check_in(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.check_in(),
            // An error: the connection is not reused.
            Poll::Ready(Some(Err(_))) => drop(this.checkin.take()),
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
