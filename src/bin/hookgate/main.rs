//! The hookgate binary: the sidecar proxy and its command-line tools.
#![forbid(unsafe_code)]

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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let memory = Arc::new(MemoryStore::new(config.store.capacity));
        let store: Arc<dyn SeenStore> = memory.clone();
        let metrics = Arc::new(metrics::Metrics::new(config.routes.iter().map(|r| r.route.name())));
        let listener = match tokio::net::TcpListener::bind(config.server.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(listen = %config.server.listen, %error, "cannot listen");
                return ExitCode::FAILURE;
            }
        };
        if let Some(admin) = config.server.admin_listen {
            match tokio::net::TcpListener::bind(admin).await {
                Ok(listener) => {
                    tracing::info!(admin = %listener.local_addr().map_or(admin, |a| a), "admin listening");
                    tokio::spawn(server::serve_admin(listener, store.clone(), Some(memory.clone()), metrics.clone()));
                }
                Err(error) => {
                    tracing::error!(%admin, %error, "cannot listen");
                    return ExitCode::FAILURE;
                }
            }
        }
        let local = listener.local_addr().map_or(config.server.listen, |a| a);
        for rc in &config.routes {
            tracing::info!(route = rc.route.name(), path = %rc.path, upstream = %rc.upstream, "route");
        }
        tracing::info!(listen = %local, "listening");
        let sidecar = server::Sidecar::new(&config, store, metrics);
        let drain = config.server.request_timeout + config.server.upstream_timeout;
        server::serve(
            listener,
            sidecar,
            config.server.request_timeout,
            config.server.max_connections,
            drain,
            shutdown_signal(),
        )
        .await;
        tracing::info!("stopped");
        ExitCode::SUCCESS
    })
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
