//! The hookgate binary: the sidecar proxy and its command-line tools.
#![forbid(unsafe_code)]

mod activity;
mod metrics;
mod server;
mod tools;

use clap::{Parser, Subcommand};
use hookgate::config::Config;
use hookgate::store::{MemoryStore, SeenStore};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Webhook verification gateway.
#[derive(Parser)]
#[command(name = "hookgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sidecar proxy.
    Run {
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file and print its routes (exit 0, or 2 on error).
    Check {
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the headers a provider would send with the body read from stdin.
    Sign(tools::SignArgs),
    /// Sign a test event and POST it.
    Send(tools::SendArgs),
    /// Check one captured request the way a route would (exit 0 verified, 1 rejected, 2 usage).
    Verify(tools::VerifyArgs),
    /// List the provider presets.
    Presets,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => run(&config),
        Command::Check { config } => check(&config),
        Command::Sign(args) => tools::sign(args),
        Command::Send(args) => tools::send(args),
        Command::Verify(args) => tools::verify(args),
        Command::Presets => {
            print!("{}", tools::presets_table());
            ExitCode::SUCCESS
        }
    }
}

fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|error| {
        eprintln!("{}:{error}", path.display());
        ExitCode::from(2)
    })
}

fn check(path: &std::path::Path) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    println!(
        "{}: ok, listening on {}",
        path.display(),
        config.server.listen
    );
    for rc in &config.routes {
        let route = &rc.route;
        let scheme = route
            .provider()
            .map_or("custom".to_owned(), |p| p.name().to_owned());
        println!(
            "  {:<16} POST {:<28} -> {}  [{scheme}, {} secret(s), event id {}]",
            route.name(),
            rc.path,
            rc.upstream,
            route.verifier().key_count(),
            route.verifier().event_id(),
        );
    }
    ExitCode::SUCCESS
}

fn run(path: &std::path::Path) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match serve_sidecar(config) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// A listening socket with `SO_REUSEPORT`, so each worker has its own and the kernel spreads
/// new connections across them (one shared socket hands most connections to whichever worker
/// wakes first).
fn reuseport_listener(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
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

/// Runs `workers` independent event loops (one thread, one listening socket and one upstream
/// pool each; the store and the metrics are shared), like nginx's worker processes: a request
/// never changes thread. The main thread serves the admin endpoints and waits for a signal.
fn serve_sidecar(config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // tokio binds sockets within a runtime; the workers re-register them in their own.
    let entered = runtime.enter();
    // The first socket fixes the port (`listen` may ask for port 0); the others share it.
    let first = reuseport_listener(config.server.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    let local = first.local_addr().map_err(|e| e.to_string())?;
    let mut listeners = vec![first];
    for _ in 1..config.server.workers {
        listeners
            .push(reuseport_listener(local).map_err(|e| format!("cannot listen on {local}: {e}"))?);
    }
    let admin = match config.server.admin_listen {
        Some(addr) => Some(
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
        ),
        None => None,
    };
    let memory = Arc::new(MemoryStore::new(config.store.capacity));
    let store: Arc<dyn SeenStore> = memory.clone();
    let metrics = Arc::new(metrics::Metrics::new(
        config.routes.iter().map(|r| r.route.name()),
    ));
    let permits = Arc::new(tokio::sync::Semaphore::new(config.server.max_connections));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let drain = config.server.request_timeout + config.server.upstream_timeout;

    let mut workers = Vec::with_capacity(config.server.workers);
    for (i, listener) in listeners.into_iter().enumerate() {
        let sidecar = server::Sidecar::new(&config, store.clone(), metrics.clone());
        let permits = permits.clone();
        let mut stopped = stopped.clone();
        let request_timeout = config.server.request_timeout;
        let worker = std::thread::Builder::new()
            .name(format!("hookgate-worker-{i}"))
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a worker: {e}"))?;
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                    let shutdown = async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    };
                    server::serve(listener, sidecar, request_timeout, permits, drain, shutdown)
                        .await;
                    Ok(())
                })
            })
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(worker);
    }

    drop(entered);
    runtime.block_on(async {
        if let Some(admin) = admin {
            let admin = tokio::net::TcpListener::from_std(admin).map_err(|e| e.to_string())?;
            if let Ok(addr) = admin.local_addr() {
                tracing::info!(admin = %addr, "admin listening");
            }
            tokio::spawn(server::serve_admin(admin, store, Some(memory), metrics));
        }
        for rc in &config.routes {
            tracing::info!(route = rc.route.name(), path = %rc.path, upstream = %rc.upstream, "route");
        }
        tracing::info!(workers = config.server.workers, "started");
        tracing::info!(listen = %local, "listening");
        shutdown_signal().await;
        tracing::info!("shutting down: draining in-flight requests");
        let _ = stop.send(true);
        Ok::<(), String>(())
    })?;
    for worker in workers {
        worker
            .join()
            .map_err(|_| "a worker panicked".to_owned())??;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
