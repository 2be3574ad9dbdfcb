//! Connection activity: when a connection last moved bytes and how many requests it is serving,
//! so the server can close connections that sit idle.
//!
//! hyper closes an HTTP/1 connection whose next request head does not arrive in time, but an
//! HTTP/2 connection that opened and then went quiet would otherwise hold its slot (one of
//! `max_connections`) forever.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Activity of one connection.
///
/// Reads, writes and request ends only bump a counter (no clock is read on the request path);
/// the connection's watcher, which wakes about once per `request_timeout`, notes when the
/// counter last changed. A connection is therefore closed between one and two
/// `request_timeout`s after its last byte.
pub(crate) struct Activity {
    opened: Instant,
    /// Bytes moved (reads and writes that moved any) and requests ended, counted.
    moves: AtomicU64,
    in_flight: AtomicUsize,
    /// The watcher's last look: the count it saw ...
    seen_moves: AtomicU64,
    /// ... and, in milliseconds after `opened`, when it first saw that count.
    seen_at_ms: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Activity {
            opened: Instant::now(),
            moves: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            seen_moves: AtomicU64::new(0),
            seen_at_ms: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        self.moves.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a request in flight until the returned guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// When the connection becomes idle for `limit` if nothing moves meanwhile: `None` while a
    /// request is in flight. Called by the connection's watcher (one task).
    pub(crate) fn idle_deadline(&self, limit: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let moves = self.moves.load(Ordering::Relaxed);
        if self.seen_moves.swap(moves, Ordering::Relaxed) != moves {
            // Something moved since the last look: quiet from now at the earliest.
            let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.seen_at_ms.store(ms, Ordering::Relaxed);
        }
        let since = self.opened + Duration::from_millis(self.seen_at_ms.load(Ordering::Relaxed));
        Some(since + limit)
    }
}

/// A request being served; ends when dropped.
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An I/O object that records its activity.
pub(crate) struct Tracked<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO> Tracked<IO> {
    pub(crate) fn new(io: IO, activity: Arc<Activity>) -> Self {
        Tracked { io, activity }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
