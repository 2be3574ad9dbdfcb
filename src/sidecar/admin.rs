//! The admin listener: `/healthz`, `/readyz` and `/metrics`, bounded like the main listener
//! (request heads within `request_timeout`, at most `max_connections` connections).

use crate::store::{MemoryStore, SeenStore};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// What the admin endpoints read.
pub(crate) struct Admin {
    pub(crate) store: Arc<dyn SeenStore>,
    pub(crate) memory: Option<Arc<MemoryStore>>,
    pub(crate) recorder: Arc<PrometheusRecorder>,
    pub(crate) handle: PrometheusHandle,
    pub(crate) request_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) queue: Option<Arc<dyn crate::queue::Queue>>,
}

impl Admin {
    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (status, content_type, body) = match request.uri().path() {
            "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
            "/readyz" => match self.store.ping().await {
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
                self.render_metrics(),
            ),
            "/queue/stats" | "/queue/dead-letters" if self.queue.is_some() => {
                match self.queue_json(request.uri().path()).await {
                    Ok(json) => (StatusCode::OK, "application/json", json),
                    Err(error) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        format!("queue unavailable: {error}\n"),
                    ),
                }
            }
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
        response
    }

    /// `/queue/stats` and `/queue/dead-letters`, as JSON for dashboards.
    async fn queue_json(&self, path: &str) -> Result<String, crate::queue::QueueError> {
        let queue = self.queue.as_ref().expect("checked by the caller");
        let secs = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let value = if path == "/queue/stats" {
            let stats = queue.stats(None).await?;
            serde_json::Value::Array(
                stats
                    .into_iter()
                    .map(|s| {
                        serde_json::json!({
                            "route": s.route, "queued": s.queued, "leased": s.leased,
                            "retrying": s.retrying, "dead": s.dead, "bytes": s.bytes,
                            "oldest_seconds": s.oldest.map(|d| d.as_secs()),
                        })
                    })
                    .collect(),
            )
        } else {
            let dead = queue.dead_letters(None, 1000).await?;
            serde_json::Value::Array(
                dead.into_iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id.to_string(), "route": e.route, "event_id": e.event_id,
                            "attempts": e.attempts,
                            "last_failure": e.last_failure.map(|f| f.to_string()),
                            "arrived": secs(e.arrived), "died": secs(e.next_attempt),
                        })
                    })
                    .collect(),
            )
        };
        Ok(value.to_string())
    }

    fn render_metrics(&self) -> String {
        if let Some(memory) = &self.memory {
            let entries = memory.len() as f64;
            metrics::with_local_recorder(&*self.recorder, || {
                metrics::gauge!(crate::metrics::STORE_ENTRIES).set(entries);
            });
        }
        self.handle.render()
    }

    /// Serves until `shutdown` resolves.
    pub(crate) async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let admin = Arc::new(self);
        let permits = Arc::new(tokio::sync::Semaphore::new(admin.max_connections));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(admin.request_timeout)
            .max_buf_size(crate::defaults::MAX_HEADER_BYTES);
        let mut connections = tokio::task::JoinSet::new();
        let mut upkeep = tokio::time::interval(Duration::from_secs(5));
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, "admin accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                // Histograms are kept in buckets that upkeep drains.
                _ = upkeep.tick() => {
                    admin.handle.run_upkeep();
                    continue;
                }
                () = &mut shutdown => break,
            };
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let admin = admin.clone();
            let service = hyper::service::service_fn(move |request| {
                let admin = admin.clone();
                async move { Ok::<_, Infallible>(admin.answer(request).await) }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            connections.spawn(async move {
                let _permit = permit;
                let _ = connection.await;
            });
        }
        connections.shutdown().await;
    }
}
