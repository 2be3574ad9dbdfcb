//! The hookgate binary: the sidecar proxy and its command-line tools.
#![forbid(unsafe_code)]

mod queue;
mod tools;

use clap::{Parser, Subcommand, ValueEnum};
use hookgate::config::{Config, LogFormat};
use hookgate::sidecar::Sidecar;
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Log line format (overrides `[server] log_format`).
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
    },
    /// Validate a configuration file and print its routes (exit 0, or 2 on error).
    Check {
        /// Configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the headers a provider would send with the body read from stdin (then an empty
    /// line and the body, for presets that sign into it: Mailgun, Linear, Figma).
    Sign(tools::SignArgs),
    /// Sign a test event as the provider would and send it (POST unless --method).
    Send(tools::SendArgs),
    /// Check one captured request the way a route would (exit 0 verified, 1 rejected, 2 usage).
    Verify(tools::VerifyArgs),
    /// List the provider presets.
    Presets,
    /// Inspect and replay queued deliveries (works while the sidecar runs).
    #[command(subcommand)]
    Queue(queue::QueueCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config, log_format } => run(&config, log_format),
        Command::Check { config } => check(&config),
        Command::Sign(args) => tools::sign(args),
        Command::Send(args) => tools::send(args),
        Command::Verify(args) => tools::verify(args),
        Command::Queue(command) => queue::run(command),
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
        let verifier = &rc.verifier;
        let scheme = verifier
            .provider()
            .map_or("custom".to_owned(), |p| p.name().to_owned());
        println!(
            "  {:<16} POST {:<28} -> {}  [{scheme}, {} secret(s), event id {}]",
            rc.name,
            rc.path,
            rc.upstream,
            verifier.key_count(),
            verifier.event_id(),
        );
    }
    ExitCode::SUCCESS
}

fn run(path: &std::path::Path, log_format: Option<LogFormatArg>) -> ExitCode {
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let format = match log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => config.server.log_format,
    };
    init_logging(format);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // SIGHUP, or a change of a certificate, key or `file:` value, reloads the file.
        let sidecar = Sidecar::bind(config).await?.reload_from(path);
        sidecar.serve(shutdown_signal()).await
    });
    match result {
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

/// Logs to stderr. Fields that come from requests are recorded with `?` (escaped) by the
/// library, so no request byte can start a line of its own in either format.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        _ => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
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
