//! Live reload: SIGHUP, a change of a watched file (certificate, key, `file:` value), or a
//! [`Reloader`] reads the whole configuration again; only a fully valid one replaces the
//! running one, atomically.

use crate::config::Config;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after a file event before reloading: a rotation rewrites several files.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Why a reload was asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cause {
    Signal,
    FileChanged,
    Asked,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Signal => "SIGHUP",
            Cause::FileChanged => "a watched file changed",
            Cause::Asked => "asked",
        }
    }
}

/// Asks a running sidecar to reload its configuration file, as SIGHUP does.
///
/// ```no_run
/// # async fn run(config: hookgate::config::Config) -> Result<(), hookgate::sidecar::SidecarError> {
/// let sidecar = hookgate::sidecar::Sidecar::bind(config).await?.reload_from("/etc/hookgate/hookgate.toml");
/// let reloader = sidecar.reloader();
/// tokio::spawn(sidecar.serve(std::future::pending()));
/// reloader.reload();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Reloader(pub(crate) mpsc::UnboundedSender<Cause>);

impl Reloader {
    /// Reloads soon (a no-op when the sidecar has no configuration file to reload from).
    pub fn reload(&self) {
        let _ = self.0.send(Cause::Asked);
    }
}

/// Settings that need a restart: what changed, and the value kept.
fn restart_only(old: &Config, new: &Config) -> Vec<(&'static str, String)> {
    let (a, b) = (&old.server, &new.server);
    let mut kept = Vec::new();
    let mut check = |name, changed: bool, value: String| {
        if changed {
            kept.push((name, value));
        }
    };
    check("listen", a.listen != b.listen, a.listen.to_string());
    check(
        "admin_listen",
        a.admin_listen != b.admin_listen,
        format!("{:?}", a.admin_listen),
    );
    check("workers", a.workers != b.workers, a.workers.to_string());
    check(
        "max_connections",
        a.max_connections != b.max_connections,
        a.max_connections.to_string(),
    );
    check(
        "max_buffered",
        a.max_buffered != b.max_buffered,
        a.max_buffered.to_string(),
    );
    check(
        "request_timeout (connections)",
        a.request_timeout != b.request_timeout,
        format!("{:?}", a.request_timeout),
    );
    check(
        "[store]",
        old.store.backend != new.store.backend || old.store.capacity != new.store.capacity,
        "the store it started with".to_owned(),
    );
    kept
}

/// Reads `path` again: the new configuration, or `None` (logged and counted) when it is not
/// valid and the old one keeps serving.
pub(crate) fn load(path: &Path, cause: Cause, old: &Config) -> Option<Config> {
    match Config::load(path) {
        Ok(new) => {
            for (name, kept) in restart_only(old, &new) {
                tracing::warn!(setting = name, kept = %kept, "this setting changes only with a restart; keeping the running value");
            }
            tracing::info!(
                cause = cause.as_str(),
                routes = new.routes.len(),
                "configuration reloaded"
            );
            crate::metrics::config_reload(true);
            Some(new)
        }
        Err(error) => {
            // One line, positioned as `hookgate check` prints it.
            tracing::error!(
                cause = cause.as_str(),
                "configuration not reloaded, the running one keeps serving: {}:{error}",
                path.display()
            );
            crate::metrics::config_reload(false);
            None
        }
    }
}

/// Forwards SIGHUP as a reload cause until the sender closes.
#[cfg(unix)]
pub(crate) fn on_sighup(tx: mpsc::UnboundedSender<Cause>) -> Option<tokio::task::JoinHandle<()>> {
    let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()?;
    Some(tokio::spawn(async move {
        while signal.recv().await.is_some() {
            if tx.send(Cause::Signal).is_err() {
                return;
            }
        }
    }))
}

#[cfg(not(unix))]
pub(crate) fn on_sighup(_tx: mpsc::UnboundedSender<Cause>) -> Option<tokio::task::JoinHandle<()>> {
    None
}

/// Watches the folders of `files` (Kubernetes swaps a mounted file by renaming a symlinked
/// folder, so the file itself cannot be watched); an event about one of the files, or about
/// Kubernetes' `..data` link, asks for a reload.
pub(crate) struct FileWatch {
    watcher: Option<notify::RecommendedWatcher>,
    files: Arc<std::sync::Mutex<Vec<PathBuf>>>,
    tx: mpsc::UnboundedSender<Cause>,
}

impl FileWatch {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Cause>) -> Self {
        FileWatch {
            watcher: None,
            files: Arc::default(),
            tx,
        }
    }

    /// Watches `files` from now on (replacing the previous set).
    pub(crate) fn watch(&mut self, files: &[PathBuf]) {
        use notify::Watcher as _;
        let files: Vec<PathBuf> = files.iter().map(|f| absolute(f)).collect();
        *self.files.lock().expect("never poisoned") = files.clone();
        if files.is_empty() {
            self.watcher = None;
            return;
        }
        let watched = self.files.clone();
        let tx = self.tx.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            let files = watched.lock().expect("never poisoned");
            let relevant = event.paths.iter().any(|path| {
                files.iter().any(|f| f == path)
                    || path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".."))
            });
            if relevant {
                let _ = tx.send(Cause::FileChanged);
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(watcher) => watcher,
            Err(error) => {
                tracing::warn!(%error, "cannot watch files; reload with SIGHUP");
                self.watcher = None;
                return;
            }
        };
        let mut dirs: Vec<&Path> = files.iter().filter_map(|f| f.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            if let Err(error) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
                tracing::warn!(%error, dir = %dir.display(), "cannot watch this folder; reload with SIGHUP");
            }
        }
        self.watcher = Some(watcher);
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Waits for the next cause, then for a quiet [`DEBOUNCE`], folding the causes that arrive
/// meanwhile into one reload.
pub(crate) async fn next(rx: &mut mpsc::UnboundedReceiver<Cause>) -> Option<Cause> {
    let cause = rx.recv().await?;
    loop {
        match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return Some(cause),
        }
    }
}
