//! The sidecar, assembled from a [`Config`]: the path router, client addresses and trusted
//! proxies, one [`WebhookLayer`](crate::WebhookLayer) + [`Forward`] stack per route, the accept
//! loops, the admin endpoints, metrics and a graceful drain. The `hookgate run` command is
//! this and nothing more, so tests and embedders run the same sidecar in-process.
//!
//! Like nginx's worker processes, each worker thread has its own event loop, listening socket
//! (`SO_REUSEPORT`) and upstream pool; the store, the buffer budget, the connection bound and
//! the metrics are shared. A request never changes thread.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = hookgate::config::Config::load("/etc/hookgate/hookgate.toml".as_ref())?;
//! let sidecar = hookgate::sidecar::Sidecar::bind(config).await?;
//! println!("listening on {}", sidecar.local_addr());
//! sidecar.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

mod activity;
mod admin;
mod queued;
mod reload;
mod router;
mod server;

pub use reload::Reloader;

use crate::config::Config;
use crate::forward::{Forward, UpstreamClient};
use crate::layer::BufferBudget;
use crate::store::{MemoryStore, SeenStore};
use crate::WebhookLayer;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_layer::Layer;

/// The sidecar could not start or stopped with an error.
///
/// ```
/// let error = hookgate::sidecar::SidecarError::Listen {
///     addr: "127.0.0.1:80".parse().unwrap(),
///     source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
/// };
/// assert!(error.to_string().starts_with("cannot listen on 127.0.0.1:80"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SidecarError {
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A worker thread or its event loop could not be started.
    #[error("cannot start a worker: {0}")]
    Worker(std::io::Error),
    /// A worker thread panicked.
    #[error("a worker thread panicked")]
    WorkerPanicked,
    /// The store could not be set up (an unusable Redis URL).
    #[error("{0}")]
    Store(crate::store::StoreError),
    /// The delivery queue could not be opened.
    #[error("cannot open the delivery queue: {0}")]
    Queue(crate::queue::QueueError),
}

/// A sidecar whose sockets are bound, ready to [`serve`](Sidecar::serve).
///
/// ```no_run
/// # async fn run(config: hookgate::config::Config) -> Result<(), hookgate::sidecar::SidecarError> {
/// let sidecar = hookgate::sidecar::Sidecar::bind(config).await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let serving = tokio::spawn(sidecar.serve(async { let _ = stopped.await; }));
/// // ... later: finish in-flight requests and return.
/// let _ = stop.send(());
/// serving.await.unwrap()?;
/// # Ok(()) }
/// ```
pub struct Sidecar {
    config: Config,
    listeners: Vec<std::net::TcpListener>,
    local_addr: SocketAddr,
    admin: Option<std::net::TcpListener>,
    admin_addr: Option<SocketAddr>,
    reload_from: Option<std::path::PathBuf>,
    reloads: (
        tokio::sync::mpsc::UnboundedSender<reload::Cause>,
        tokio::sync::mpsc::UnboundedReceiver<reload::Cause>,
    ),
}

impl std::fmt::Debug for Sidecar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sidecar")
            .field("local_addr", &self.local_addr)
            .field("admin_addr", &self.admin_addr)
            .field("workers", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

impl Sidecar {
    /// Binds the webhook listener (one socket per worker) and the admin listener. Must be
    /// called inside a tokio runtime.
    pub async fn bind(config: Config) -> Result<Sidecar, SidecarError> {
        let listen = config.server.listen;
        let listen_error = |addr| move |source| SidecarError::Listen { addr, source };
        // The first socket fixes the port (`listen` may ask for port 0); the others share it.
        let first = reuseport_listener(listen).map_err(listen_error(listen))?;
        let local_addr = first.local_addr().map_err(listen_error(listen))?;
        let mut listeners = vec![first];
        for _ in 1..config.server.workers {
            listeners.push(reuseport_listener(local_addr).map_err(listen_error(local_addr))?);
        }
        let (admin, admin_addr) = match config.server.admin_listen {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .map_err(listen_error(addr))?;
                let bound = listener.local_addr().map_err(listen_error(addr))?;
                (Some(listener), Some(bound))
            }
            None => (None, None),
        };
        Ok(Sidecar {
            config,
            listeners,
            local_addr,
            admin,
            admin_addr,
            reload_from: None,
            reloads: tokio::sync::mpsc::unbounded_channel(),
        })
    }

    /// Reloads from `path` (the file the configuration came from) on SIGHUP, when a watched
    /// file changes (certificate, key, `file:` value), and when a [`Reloader`] asks.
    #[must_use]
    pub fn reload_from(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.reload_from = Some(path.into());
        self
    }

    /// A handle that asks for a reload, as SIGHUP does.
    pub fn reloader(&self) -> Reloader {
        Reloader(self.reloads.0.clone())
    }

    /// Where webhooks are received.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the admin endpoints are served, if anywhere.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes in-flight requests
    /// (for at most `request_timeout + upstream_timeout`) and returns.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), SidecarError> {
        let Sidecar {
            config,
            listeners,
            local_addr,
            admin,
            reload_from,
            reloads: (reload_tx, mut reload_rx),
            ..
        } = self;
        let server = &config.server;
        let recorder = Arc::new(
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0, 30.0,
                    ],
                )
                .expect("the bucket list is not empty")
                .build_recorder(),
        );
        let handle = recorder.handle();
        let stores = Stores::new(&config)?;
        let queue = open_queue(&config)?;
        let budget = BufferBudget::new(server.max_buffered);
        metrics::with_local_recorder(&*recorder, || {
            metrics::gauge!(crate::metrics::BUFFER_BUDGET).set(budget.total() as f64);
        });
        let permits = Arc::new(tokio::sync::Semaphore::new(server.max_connections));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let drain = server.request_timeout + server.upstream_timeout;
        let tls = Arc::new(arc_swap::ArcSwapOption::from(
            config.server.tls.as_ref().map(|t| t.server_config.clone()),
        ));
        let mut watch = reload::FileWatch::new(reload_tx.clone());
        if reload_from.is_some() {
            watch.watch(&config.files);
        }
        let (config_tx, config_rx) = tokio::sync::watch::channel(Arc::new(config));
        let config = config_rx.borrow().clone();

        let mut workers = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.into_iter().enumerate() {
            let mut config_rx = config_rx.clone();
            let stores = stores.clone();
            let queue = queue.clone();
            let budget = budget.clone();
            let permits = permits.clone();
            let recorder = recorder.clone();
            let tls = tls.clone();
            let mut stopped = stopped.clone();
            let worker = std::thread::Builder::new()
                .name(format!("hookgate-worker-{i}"))
                .spawn(move || -> Result<(), SidecarError> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(SidecarError::Worker)?;
                    // This thread's series go to this sidecar's registry, even when several
                    // sidecars share a process (tests, embedders).
                    let _metrics = metrics::set_default_local_recorder(&*recorder);
                    runtime.block_on(async move {
                        let listener = tokio::net::TcpListener::from_std(listener)
                            .map_err(SidecarError::Worker)?;
                        // A remote store's connection lives on this worker's event loop, and
                        // so does the upstream pool: both outlive reloads.
                        let store = stores.for_this_runtime()?;
                        let config = config_rx.borrow_and_update().clone();
                        let client = UpstreamClient::new(
                            config
                                .server
                                .upstream_timeout
                                .min(crate::defaults::UPSTREAM_CONNECT_TIMEOUT),
                        );
                        let build = move |config: &Config| {
                            Arc::new(router(
                                config,
                                store.clone(),
                                budget.clone(),
                                client.clone(),
                                queue.clone(),
                            ))
                        };
                        let live = Arc::new(server::Live {
                            router: arc_swap::ArcSwap::new(build(&config)),
                            tls,
                        });
                        let rebuild = {
                            let live = live.clone();
                            tokio::spawn(async move {
                                while config_rx.changed().await.is_ok() {
                                    let config = config_rx.borrow_and_update().clone();
                                    live.router.store(build(&config));
                                }
                            })
                        };
                        let settings = server::Settings {
                            request_timeout: config.server.request_timeout,
                            drain,
                        };
                        let shutdown = async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        };
                        server::serve(listener, live, settings, permits, shutdown).await;
                        rebuild.abort();
                        Ok(())
                    })
                })
                .map_err(SidecarError::Worker)?;
            workers.push(worker);
        }
        let delivery = match &queue {
            Some(queue) => Some(spawn_delivery(
                &config,
                queue.clone(),
                recorder.clone(),
                stopped.clone(),
            )?),
            None => None,
        };
        let server = &config.server;
        let admin_store = stores.for_this_runtime()?;
        let waiting = stores
            .redis_urls()
            .map(|urls| tokio::spawn(wait_for_store(admin_store.clone(), urls)));

        let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        let admin_task = match admin {
            Some(listener) => {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(SidecarError::Worker)?;
                if let Ok(addr) = listener.local_addr() {
                    tracing::info!(admin = %addr, "admin listening");
                }
                let admin = admin::Admin {
                    store: admin_store,
                    memory: stores.memory(),
                    recorder: recorder.clone(),
                    handle,
                    request_timeout: server.request_timeout,
                    max_connections: server.max_connections,
                    queue: queue.clone(),
                };
                Some(tokio::spawn(admin.serve(listener, async {
                    let _ = admin_stopped.await;
                })))
            }
            None => None,
        };
        for rc in &config.routes {
            tracing::info!(route = %rc.name, path = %rc.path, upstream = %rc.upstream, "route");
        }
        tracing::info!(workers = server.workers, "started");
        tracing::info!(listen = %local_addr, "listening");

        metrics::with_local_recorder(&*recorder, || {
            for result in ["ok", "error"] {
                metrics::counter!(crate::metrics::CONFIG_RELOADS, "result" => result).absolute(0);
            }
        });
        let sighup = reload_from
            .as_ref()
            .and_then(|_| reload::on_sighup(reload_tx.clone()));
        drop(reload_tx);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(cause) = reload::next(&mut reload_rx) => {
                    let Some(path) = &reload_from else {
                        tracing::info!("reload asked, but this sidecar has no configuration file to reload from");
                        continue;
                    };
                    let current = config_tx.borrow().clone();
                    let reloaded = metrics::with_local_recorder(&*recorder, || {
                        reload::load(path, cause, &current)
                    });
                    if let Some(new) = reloaded {
                        tls.store(new.server.tls.as_ref().map(|t| t.server_config.clone()));
                        watch.watch(&new.files);
                        let _ = config_tx.send(Arc::new(new));
                    }
                }
            }
        }
        if let Some(sighup) = sighup {
            sighup.abort();
        }
        tracing::info!("shutting down: draining in-flight requests");
        let _ = stop.send(true);
        let _ = admin_stop.send(());
        if let Some(waiting) = waiting {
            waiting.abort();
        }
        let joined = tokio::task::spawn_blocking(move || {
            if let Some(delivery) = delivery {
                let _ = delivery.join();
            }
            workers
                .into_iter()
                .map(|worker| worker.join().map_err(|_| SidecarError::WorkerPanicked)?)
                .collect::<Result<Vec<()>, SidecarError>>()
        })
        .await
        .map_err(|_| SidecarError::WorkerPanicked)?;
        if let Some(task) = admin_task {
            let _ = task.await;
        }
        joined.map(|_| ())
    }
}

/// The route stacks of one worker.
fn router(
    config: &Config,
    store: Arc<dyn SeenStore>,
    budget: BufferBudget,
    client: UpstreamClient,
    queue: Option<Arc<dyn crate::queue::Queue>>,
) -> router::Router {
    let server = &config.server;
    let routes = config.routes.iter().map(|rc| {
        let layer = WebhookLayer::new(rc.verifier.clone())
            .name(rc.name.as_str())
            .policy(rc.policy.clone())
            .store(store.clone())
            .buffer_budget(budget.clone());
        let service = match (&rc.delivery, &queue) {
            (crate::config::Delivery::Queued { .. }, Some(queue)) => {
                router::RouteService::Queued(layer.layer(queued::Enqueue {
                    queue: queue.clone(),
                    route: rc.name.as_str().into(),
                }))
            }
            _ => {
                let mut forward =
                    Forward::new(client.clone(), rc.upstream.clone(), server.upstream_timeout);
                if let Some(resign) = &rc.resign {
                    forward = forward.resign(resign.clone());
                }
                router::RouteService::Direct(layer.layer(forward))
            }
        };
        (rc.path.clone(), service)
    });
    router::Router::new(routes, server.trusted_proxies.clone())
}

/// Opens `[queue]`, if configured.
fn open_queue(config: &Config) -> Result<Option<Arc<dyn crate::queue::Queue>>, SidecarError> {
    use crate::config::QueueBackend;
    let Some(queue) = &config.queue else {
        return Ok(None);
    };
    let opened: Arc<dyn crate::queue::Queue> = match &queue.backend {
        QueueBackend::Embedded(path) => Arc::new(
            crate::queue::SqliteQueue::open(path, queue.limits).map_err(SidecarError::Queue)?,
        ),
        QueueBackend::Redis(redis) => Arc::new(
            crate::queue::RedisQueue::new(redis.clone(), queue.limits)
                .map_err(SidecarError::Queue)?,
        ),
    };
    Ok(Some(opened))
}

/// The delivery workers of the queued routes, on a thread and event loop of their own (with
/// this sidecar's metrics), until `stopped`. Unfinished deliveries are left leased: their
/// lease expires and they are delivered again (at least once).
fn spawn_delivery(
    config: &Config,
    queue: Arc<dyn crate::queue::Queue>,
    recorder: Arc<metrics_exporter_prometheus::PrometheusRecorder>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>, SidecarError> {
    let routes: Vec<queued::QueuedRoute> = config
        .routes
        .iter()
        .filter_map(|rc| match rc.delivery {
            crate::config::Delivery::Queued { retry, concurrency } => Some(queued::QueuedRoute {
                name: rc.name.as_str().into(),
                upstream: rc.upstream.clone(),
                retry,
                concurrency,
                resign: rc.resign.clone(),
            }),
            _ => None,
        })
        .collect();
    let timeout = config.server.upstream_timeout;
    std::thread::Builder::new()
        .name("hookgate-delivery".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                tracing::error!("cannot start the delivery workers");
                return;
            };
            let _metrics = metrics::set_default_local_recorder(&*recorder);
            runtime.block_on(async move {
                let client = UpstreamClient::new(
                    timeout.min(crate::defaults::UPSTREAM_CONNECT_TIMEOUT),
                );
                let mut tasks = tokio::task::JoinSet::new();
                for route in routes.clone() {
                    tasks.spawn(queued::deliver_route(
                        queue.clone(),
                        route,
                        client.clone(),
                        timeout,
                    ));
                }
                let gauges = async {
                    loop {
                        if let Ok(stats) = queue.stats(None).await {
                            for s in stats {
                                for (state, n) in [
                                    ("queued", s.queued),
                                    ("leased", s.leased),
                                    ("retrying", s.retrying),
                                    ("dead", s.dead),
                                ] {
                                    metrics::gauge!("hookgate_queue_depth", "route" => s.route.clone(), "state" => state)
                                        .set(n as f64);
                                }
                                metrics::gauge!("hookgate_queue_oldest_seconds", "route" => s.route.clone())
                                    .set(s.oldest.unwrap_or_default().as_secs_f64());
                            }
                        }
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                };
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => {}
                    () = gauges => {}
                }
                tasks.shutdown().await;
            });
        })
        .map_err(SidecarError::Worker)
}

/// The seen-event store of each event loop: one memory store shared by all, or a Redis
/// connection set per event loop.
#[derive(Clone)]
enum Stores {
    Memory(Arc<MemoryStore>),
    #[cfg(feature = "redis")]
    Redis(crate::store::RedisConfig),
}

impl Stores {
    fn new(config: &Config) -> Result<Stores, SidecarError> {
        Ok(match &config.store.backend {
            crate::config::StoreBackend::Memory => {
                Stores::Memory(Arc::new(MemoryStore::new(config.store.capacity)))
            }
            #[cfg(feature = "redis")]
            crate::config::StoreBackend::Redis(redis) => Stores::Redis(redis.clone()),
        })
    }

    /// The store for the runtime this is called in.
    fn for_this_runtime(&self) -> Result<Arc<dyn SeenStore>, SidecarError> {
        Ok(match self {
            Stores::Memory(memory) => memory.clone(),
            #[cfg(feature = "redis")]
            Stores::Redis(config) => Arc::new(
                crate::store::RedisStore::new(config.clone()).map_err(SidecarError::Store)?,
            ),
        })
    }

    fn memory(&self) -> Option<Arc<MemoryStore>> {
        match self {
            Stores::Memory(memory) => Some(memory.clone()),
            #[cfg(feature = "redis")]
            Stores::Redis(_) => None,
        }
    }

    /// Where the remote store is, for the log (credentials removed).
    fn redis_urls(&self) -> Option<String> {
        match self {
            Stores::Memory(_) => None,
            #[cfg(feature = "redis")]
            Stores::Redis(config) => Some(config.redacted_urls().join(", ")),
        }
    }
}

/// Says in the log what the sidecar waits for while the remote store does not answer, and
/// when it does. Requests meanwhile follow `on_store_error`; `/readyz` answers 503.
async fn wait_for_store(store: Arc<dyn SeenStore>, urls: String) {
    let mut waiting = false;
    loop {
        match store.ping().await {
            Ok(()) => {
                if waiting {
                    tracing::info!(redis = %urls, "Redis answers: ready");
                } else {
                    tracing::info!(redis = %urls, "Redis answers");
                }
                return;
            }
            Err(error) => {
                if !waiting {
                    tracing::warn!(redis = %urls, %error, "waiting for Redis: requests are answered 503 store_unavailable (or delivered without dedup with on_store_error = \"allow\") until it answers");
                    waiting = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}

/// A listening socket with `SO_REUSEPORT`, so each worker has its own and the kernel spreads
/// new connections across them (one shared socket hands most connections to whichever worker
/// wakes first).
fn reuseport_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    listener.into_std()
}
