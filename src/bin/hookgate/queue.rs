//! `hookgate queue stats | dead-letters | replay`: the delivery queue, from the command line,
//! while the sidecar runs (the embedded queue is SQLite in WAL mode: readers and a second
//! writer are allowed).

use clap::{Args, Subcommand};
use hookgate::config::{Config, QueueBackend};
use hookgate::queue::{Queue, QueueId, RedisQueue, SqliteQueue, Which};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Subcommand)]
pub enum QueueCommand {
    /// Per route: queued, in delivery, retrying, dead, oldest age.
    Stats(Target),
    /// Dead letters: id, event id, attempts, last failure, times.
    DeadLetters(Target),
    /// Puts dead letters back in the queue (attempts reset), due now.
    Replay {
        #[command(flatten)]
        target: Target,
        /// The event id (or the queue id) to replay.
        #[arg(long, conflicts_with = "all")]
        id: Option<String>,
        /// Every dead letter of the route.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args)]
pub struct Target {
    /// Configuration file (its [queue] section says where the queue is).
    #[arg(long, short)]
    config: PathBuf,
    /// Only this route.
    #[arg(long)]
    route: Option<String>,
}

fn open(target: &Target) -> Result<Arc<dyn Queue>, String> {
    let config =
        Config::load(&target.config).map_err(|e| format!("{}:{e}", target.config.display()))?;
    let queue = config
        .queue
        .ok_or("this configuration has no [queue] section")?;
    Ok(match queue.backend {
        QueueBackend::Embedded(path) => {
            Arc::new(SqliteQueue::open(path, queue.limits).map_err(|e| e.to_string())?)
        }
        QueueBackend::Redis(redis) => {
            Arc::new(RedisQueue::new(redis, queue.limits).map_err(|e| e.to_string())?)
        }
        _ => return Err("unknown queue backend".to_owned()),
    })
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub fn run(command: QueueCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            QueueCommand::Stats(target) => {
                let queue = open(&target)?;
                let stats = queue
                    .stats(target.route.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "{:<20} {:>8} {:>8} {:>8} {:>8} {:>10}",
                    "route", "queued", "leased", "retrying", "dead", "oldest_s"
                );
                for s in stats {
                    println!(
                        "{:<20} {:>8} {:>8} {:>8} {:>8} {:>10}",
                        s.route,
                        s.queued,
                        s.leased,
                        s.retrying,
                        s.dead,
                        s.oldest.map_or("-".to_owned(), |d| d.as_secs().to_string())
                    );
                }
                Ok(())
            }
            QueueCommand::DeadLetters(target) => {
                let queue = open(&target)?;
                let dead = queue
                    .dead_letters(target.route.as_deref(), 1000)
                    .await
                    .map_err(|e| e.to_string())?;
                for event in dead {
                    // Event ids come from requests: printed escaped.
                    println!(
                        "{} route={} event_id={:?} attempts={} last={:?} arrived={} died={}",
                        event.id,
                        event.route,
                        event.event_id,
                        event.attempts,
                        event
                            .last_failure
                            .map(|f| f.to_string())
                            .unwrap_or_default(),
                        unix(event.arrived),
                        unix(event.next_attempt),
                    );
                }
                Ok(())
            }
            QueueCommand::Replay { target, id, all } => {
                let route = target.route.clone().ok_or("replay needs --route")?;
                let which = match (id, all) {
                    (Some(id), false) if id.chars().all(|c| c.is_ascii_digit()) => {
                        // A number may be a queue id or an event id: try the event id first.
                        let queue = open(&target)?;
                        let n = queue
                            .replay(&route, Which::EventId(id.clone()))
                            .await
                            .map_err(|e| e.to_string())?;
                        if n > 0 {
                            println!("replayed {n}");
                            return Ok(());
                        }
                        Which::Id(id.parse::<QueueId>().expect("infallible"))
                    }
                    (Some(id), false) => Which::EventId(id),
                    (None, true) => Which::All,
                    _ => return Err("replay needs --id ID or --all".to_owned()),
                };
                let queue = open(&target)?;
                let n = queue
                    .replay(&route, which)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("replayed {n}");
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
