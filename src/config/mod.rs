//! The TOML configuration of the sidecar, turned into a [`Verifier`] and a [`Policy`] per
//! route through the same builders library users call.
//!
//! Every error carries the line and column of the value at fault.
//!
//! ```
//! let config = hookgate::config::Config::from_toml(r#"
//! [[route]]
//! name = "github"
//! path = "/webhooks/github"
//! upstream = "http://127.0.0.1:3000/github"
//! provider = "github"
//! secrets = ["It's a Secret to Everybody"]
//! "#).unwrap();
//! assert_eq!(config.routes[0].name, "github");
//!
//! let error = hookgate::config::Config::from_toml("[[route]]\nname = 1\n").unwrap_err();
//! assert_eq!((error.line, error.column), (2, 8));
//! ```

mod raw;
mod tls;

pub use tls::TlsConfig;

use crate::core::scheme::{Scheme, SchemeTable};
use crate::core::{EventIdSpec, Provider, Secret, Verifier};
use crate::defaults;
use crate::policy::{OnStoreError, Policy, RateLimit};
use http::Uri;
use ipnet::IpNet;
use raw::{RawConfig, RawRoute, RawScheme};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// A loaded, checked configuration.
///
/// ```
/// let config = hookgate::config::Config::from_toml(r#"
/// [server]
/// listen = "127.0.0.1:8080"
/// upstream_timeout = "10s"
///
/// [store]
/// capacity = 5000
///
/// [[route]]
/// name = "github"
/// path = "/webhooks/github"
/// upstream = "http://127.0.0.1:3000/github"
/// provider = "github"
/// secrets = ["gh-secret"]
/// "#).unwrap();
/// assert_eq!(config.server.listen.port(), 8080);
/// assert_eq!(config.store.capacity, 5000);
/// assert_eq!(config.routes[0].path, "/webhooks/github");
/// ```
#[derive(Debug)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[store]`.
    pub store: StoreConfig,
    /// `[[route]]`, in file order.
    pub routes: Vec<RouteConfig>,
    /// Every file the configuration read (certificates, keys, `file:` values): the sidecar
    /// reloads when one changes.
    pub files: Vec<std::path::PathBuf>,
    /// `[queue]`, for routes with `delivery = "queued"`.
    #[cfg(feature = "queue")]
    pub queue: Option<QueueConfig>,
}

/// `[queue]`: where queued events wait for delivery.
#[cfg(feature = "queue")]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueueConfig {
    /// The engine.
    pub backend: QueueBackend,
    /// `max_events` and `max_bytes`: beyond them new events get 503 `queue_full`.
    pub limits: crate::queue::QueueLimits,
}

/// `[queue] backend`.
#[cfg(feature = "queue")]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum QueueBackend {
    /// One SQLite file (WAL, synced), the default: `path`.
    Embedded(std::path::PathBuf),
    /// Redis Streams on the `[store]`'s Redis: every replica delivers.
    Redis(crate::store::RedisConfig),
}

/// How a route hands verified events to its upstream.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Delivery {
    /// Forwarded at once; the upstream's answer is relayed.
    #[default]
    Direct,
    /// Written to the durable queue and answered 202; workers deliver with retries.
    #[cfg(feature = "queue")]
    Queued {
        /// Backoff and dead letters.
        retry: crate::queue::RetryPolicy,
        /// Deliveries in flight at once.
        concurrency: usize,
    },
}

/// `[server]`: listeners and global bounds.
///
/// ```
/// let config = hookgate::config::Config::from_toml(r#"
/// [server]
/// listen = "127.0.0.1:8080"
/// upstream_timeout = "10s"
///
/// [store]
/// capacity = 5000
///
/// [[route]]
/// name = "github"
/// path = "/webhooks/github"
/// upstream = "http://127.0.0.1:3000/github"
/// provider = "github"
/// secrets = ["gh-secret"]
/// "#).unwrap();
/// assert_eq!(config.server.upstream_timeout, std::time::Duration::from_secs(10));
/// assert_eq!(config.server.max_body, 1024 * 1024, "the default");
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where webhooks are received.
    pub listen: SocketAddr,
    /// `[server.tls]`: serve HTTPS on `listen`.
    pub tls: Option<TlsConfig>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served, if anywhere.
    pub admin_listen: Option<SocketAddr>,
    /// Default bound on a request body.
    pub max_body: u64,
    /// Bound on receiving a request (head and body).
    pub request_timeout: Duration,
    /// Bound on the upstream's answer.
    pub upstream_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// All request bodies buffered at once, across every connection and HTTP/2 stream.
    pub max_buffered: u64,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Worker threads, each with its own event loop and upstream pool (default: one per
    /// core).
    pub workers: usize,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

/// How the sidecar writes its log lines (`[server] log_format`, or `--log-format`).
///
/// ```
/// use hookgate::config::LogFormat;
/// assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
/// assert!("xml".parse::<LogFormat>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines; fields from requests are escaped.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "log_format must be \"text\" or \"json\", not `{other}`"
            )),
        }
    }
}

/// `[store]`: where event ids are remembered.
///
/// ```
/// let config = hookgate::config::Config::from_toml(r#"
/// [server]
/// listen = "127.0.0.1:8080"
/// upstream_timeout = "10s"
///
/// [store]
/// capacity = 5000
///
/// [[route]]
/// name = "github"
/// path = "/webhooks/github"
/// upstream = "http://127.0.0.1:3000/github"
/// provider = "github"
/// secrets = ["gh-secret"]
/// "#).unwrap();
/// assert_eq!(config.store.on_store_error, hookgate::OnStoreError::Reject);
/// ```
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Where ids are remembered.
    pub backend: StoreBackend,
    /// Maximum number of remembered ids (memory store).
    pub capacity: u64,
    /// What a store failure does.
    pub on_store_error: OnStoreError,
}

/// `[store] backend`: the embedded memory store, or Redis shared by every replica.
///
/// ```
/// let config = hookgate::config::Config::from_toml(r#"
/// [store]
/// backend = "redis"
/// url = "redis://127.0.0.1:6379/0"
/// key_prefix = "payments:"
/// timeout = "100ms"
///
/// [[route]]
/// name = "github"
/// path = "/webhooks/github"
/// upstream = "http://127.0.0.1:3000/github"
/// provider = "github"
/// secrets = ["gh-secret"]
/// "#).unwrap();
/// let hookgate::config::StoreBackend::Redis(redis) = &config.store.backend else { panic!() };
/// assert_eq!(redis.key_prefix, "payments:");
/// assert_eq!(redis.timeout, std::time::Duration::from_millis(100));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreBackend {
    /// In this process (moka, LRU): one replica.
    Memory,
    /// Redis or Valkey, standalone or cluster: every replica shares it.
    #[cfg(feature = "redis")]
    Redis(crate::store::RedisConfig),
}

/// One `[[route]]`.
///
/// ```
/// let config = hookgate::config::Config::from_toml(r#"
/// [server]
/// listen = "127.0.0.1:8080"
/// upstream_timeout = "10s"
///
/// [store]
/// capacity = 5000
///
/// [[route]]
/// name = "github"
/// path = "/webhooks/github"
/// upstream = "http://127.0.0.1:3000/github"
/// provider = "github"
/// secrets = ["gh-secret"]
/// "#).unwrap();
/// let github = &config.routes[0];
/// assert_eq!(github.upstream, "http://127.0.0.1:3000/github");
/// // Claims outlive the upstream timeout by a margin.
/// assert_eq!(github.policy.claim_timeout(), std::time::Duration::from_secs(15));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteConfig {
    /// The route's name (`Hookgate-Route`, logs, metrics, store keys).
    pub name: String,
    /// What verifies the route's requests.
    pub verifier: Verifier,
    /// Bounds, client addresses, rate limit and deduplication.
    pub policy: Policy,
    /// The exact request path.
    pub path: String,
    /// Where verified webhooks are forwarded.
    pub upstream: Uri,
    /// Direct, or queued.
    pub delivery: Delivery,
    /// `resign`: the one signature the application verifies, whatever the provider.
    #[cfg(feature = "sidecar")]
    pub resign: Option<std::sync::Arc<crate::forward::Resign>>,
}

/// A configuration error at a position in the file.
///
/// ```
/// let error = hookgate::config::Config::from_toml("[server]\nrequest_timeout = \"soon\"\n").unwrap_err();
/// assert_eq!((error.line, error.column), (2, 19));
/// assert_eq!(error.to_string(), "2:19: `soon` is not a duration (examples: 500ms, 30s, 5m, 72h)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ConfigError {
    /// Line, from 1 (0 when the error is not in the file, such as an unreadable file).
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// What is wrong. Never contains a secret.
    pub message: String,
}

struct Source<'a> {
    text: &'a str,
    base_dir: Option<&'a Path>,
    /// Every file the configuration reads (certificates, keys, `file:` values), to watch.
    files: std::cell::RefCell<Vec<std::path::PathBuf>>,
}

impl Source<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            line,
            column,
            message: message.into(),
        }
    }

    fn at<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.error(value.span(), message)
    }

    /// A path as written, relative to the configuration file's folder.
    fn path(&self, text: &str) -> std::path::PathBuf {
        match self.base_dir {
            Some(dir) if Path::new(text).is_relative() => dir.join(text),
            _ => Path::new(text).to_path_buf(),
        }
    }
}

impl Config {
    /// Reads and checks a configuration file; `file:` secrets are relative to its folder.
    ///
    /// ```no_run
    /// let config = hookgate::config::Config::load("/etc/hookgate/hookgate.toml".as_ref())?;
    /// # Ok::<(), hookgate::config::ConfigError>(())
    /// ```
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            line: 0,
            column: 0,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::parse(&Source {
            text: &text,
            base_dir: path.parent(),
            files: Default::default(),
        })
    }

    /// Checks a configuration given as text (`file:` secrets relative to the working
    /// directory).
    ///
    /// ```
    /// assert!(hookgate::config::Config::from_toml("").is_err(), "no route");
    /// ```
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Self::parse(&Source {
            text,
            base_dir: None,
            files: Default::default(),
        })
    }

    fn parse(src: &Source<'_>) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(src.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            src.error(span, e.message().trim().to_owned())
        })?;

        let server = raw.server.unwrap_or_default();
        let tls = match &server.tls {
            Some(tls) => {
                let raw_tls = tls.get_ref();
                let cert = src.path(raw_tls.cert.get_ref());
                let key = src.path(raw_tls.key.get_ref());
                src.files.borrow_mut().extend([cert.clone(), key.clone()]);
                Some(tls::load(cert, key).map_err(|e| src.at(&raw_tls.cert, e))?)
            }
            None => None,
        };
        let listen = match &server.listen {
            Some(v) => v
                .get_ref()
                .parse()
                .map_err(|_| src.at(v, "listen must be an address such as 0.0.0.0:8080"))?,
            None => SocketAddr::from(([0, 0, 0, 0], 8080)),
        };
        let admin_listen = match &server.admin_listen {
            Some(v) => Some(v.get_ref().parse().map_err(|_| {
                src.at(v, "admin_listen must be an address such as 127.0.0.1:9090")
            })?),
            None => None,
        };
        let max_body = opt_size(src, &server.max_body)?.unwrap_or(defaults::MAX_BODY);
        let request_timeout =
            opt_duration(src, &server.request_timeout)?.unwrap_or(defaults::REQUEST_TIMEOUT);
        let upstream_timeout =
            opt_duration(src, &server.upstream_timeout)?.unwrap_or(defaults::UPSTREAM_TIMEOUT);
        let trusted_proxies = nets(src, server.trusted_proxies.as_ref())?;
        let workers = match &server.workers {
            Some(v) if *v.get_ref() == 0 => return Err(src.at(v, "workers must be at least 1")),
            Some(v) => *v.get_ref(),
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        let max_connections = match &server.max_connections {
            Some(v) if *v.get_ref() == 0 => {
                return Err(src.at(v, "max_connections must be at least 1"))
            }
            Some(v) => *v.get_ref(),
            None => defaults::MAX_CONNECTIONS,
        };
        let max_buffered = opt_size(src, &server.max_buffered)?.unwrap_or(defaults::MAX_BUFFERED);
        if max_buffered < max_body {
            let at = server.max_buffered.as_ref().or(server.max_body.as_ref());
            let message = "max_buffered must be at least max_body: a body that fits no budget could never be received";
            return Err(match at {
                Some(v) => src.at(v, message),
                None => src.error(0..0, message),
            });
        }
        let log_format = match &server.log_format {
            Some(v) => v.get_ref().parse().map_err(|e: String| src.at(v, e))?,
            None => LogFormat::Text,
        };
        let server = ServerConfig {
            tls,
            listen,
            admin_listen,
            max_body,
            request_timeout,
            upstream_timeout,
            max_connections,
            max_buffered,
            log_format,
            workers,
            trusted_proxies,
        };

        let raw_store = raw.store.unwrap_or_default();
        let backend = store_backend(src, &raw_store)?;
        let on_store_error = match &raw_store.on_store_error {
            None => OnStoreError::Reject,
            Some(v) => v
                .get_ref()
                .parse()
                .map_err(|e: crate::policy::UnknownOnStoreError| src.at(v, e.to_string()))?,
        };
        let capacity = match &raw_store.capacity {
            Some(v) if *v.get_ref() == 0 => return Err(src.at(v, "capacity must be at least 1")),
            Some(v) => *v.get_ref(),
            None => defaults::STORE_CAPACITY,
        };
        let store = StoreConfig {
            backend,
            capacity,
            on_store_error,
        };

        let raw_routes = raw.route.unwrap_or_default();
        let mut names = HashSet::new();
        let mut paths = HashSet::new();
        let mut routes = Vec::with_capacity(raw_routes.len());
        for raw_route in &raw_routes {
            let rc = build_route(src, raw_route, &server, &store)?;
            if !names.insert(rc.name.clone()) {
                return Err(src.at(
                    &raw_route.name,
                    format!("route name `{}` is used twice", rc.name),
                ));
            }
            if !paths.insert(rc.path.clone()) {
                return Err(src.at(
                    &raw_route.path,
                    format!("path `{}` is used by two routes", rc.path),
                ));
            }
            routes.push(rc);
        }
        if routes.is_empty() {
            return Err(ConfigError {
                line: 1,
                column: 1,
                message: "no [[route]] is configured".into(),
            });
        }
        #[cfg(feature = "queue")]
        let queue = queue_config(src, raw.queue.as_ref(), &store, &routes)?;
        #[cfg(not(feature = "queue"))]
        if let Some(queue) = &raw.queue {
            return Err(src.at(queue, "[queue] needs the `queue` feature"));
        }
        Ok(Config {
            server,
            store,
            routes,
            files: src.files.take(),
            #[cfg(feature = "queue")]
            queue,
        })
    }
}

fn build_route(
    src: &Source<'_>,
    raw: &RawRoute,
    server: &ServerConfig,
    store: &StoreConfig,
) -> Result<RouteConfig, ConfigError> {
    let name = raw.name.get_ref().trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(src.at(&raw.name, "route name must be non-empty visible ASCII"));
    }
    let path = raw.path.get_ref().clone();
    if !path.starts_with('/') || path.contains('?') {
        return Err(src.at(&raw.path, "path must start with `/` and have no query"));
    }
    let upstream: Uri = raw.upstream.get_ref().parse().map_err(|_| {
        src.at(
            &raw.upstream,
            "upstream must be a URL such as http://127.0.0.1:3000/hooks",
        )
    })?;
    match upstream.scheme_str() {
        Some("http") if upstream.authority().is_some() => {}
        Some("https") => return Err(src.at(
            &raw.upstream,
            "https upstreams are not supported yet: run the upstream next to hookgate over http",
        )),
        _ => return Err(src.at(&raw.upstream, "upstream must be an absolute http:// URL")),
    }
    let delivery = delivery(src, raw)?;

    let mut verifier = Verifier::builder();
    match (&raw.provider, &raw.scheme) {
        (Some(provider), None) => {
            let preset = provider
                .get_ref()
                .parse::<Provider>()
                .map_err(|e| src.at(provider, e.to_string()))?;
            verifier = verifier.provider(preset);
        }
        (None, Some(scheme)) => verifier = verifier.scheme(custom_scheme(src, scheme)?),
        (Some(provider), Some(_)) => {
            return Err(src.at(provider, "set either provider or [route.scheme], not both"))
        }
        (None, None) => return Err(src.at(&raw.name, "route needs a provider or a [route.scheme]")),
    }

    if let Some(url) = &raw.public_url {
        let text = url.get_ref().trim_end_matches('/');
        let parsed: Option<Uri> = text.parse().ok();
        let ok = parsed.is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https"))
                && u.authority().is_some()
                && u.path_and_query().is_none_or(|pq| pq.query().is_none())
        });
        if !ok {
            return Err(src.at(
                url,
                "public_url must be the absolute URL the provider calls, such as https://hooks.example.com",
            ));
        }
        verifier = verifier.public_url(text);
    }

    let secrets = raw
        .secrets
        .as_ref()
        .filter(|s| !s.get_ref().is_empty())
        .ok_or_else(|| {
            src.at(
                &raw.name,
                "route has no secrets: every route needs at least one (fail closed)",
            )
        })?;
    for secret in secrets.get_ref() {
        verifier = verifier.secret(resolve_secret(src, secret)?);
    }
    if let Some(tolerance) = opt_duration(src, &raw.tolerance)? {
        verifier = verifier.tolerance(tolerance);
    }
    if let Some(event_id) = &raw.event_id {
        let list = match event_id.get_ref() {
            raw::OneOrMany::One(s) => vec![s.clone()],
            raw::OneOrMany::Many(v) => v.clone(),
        };
        let spec = EventIdSpec::parse(&list).map_err(|e| src.at(event_id, e.to_string()))?;
        verifier = verifier.event_id(spec);
    }
    if let Some(token) = &raw.verify_token {
        let bytes = resolve_value(src, token)?;
        let token_text =
            String::from_utf8(bytes).map_err(|_| src.at(token, "verify_token is not UTF-8"))?;
        verifier = verifier.verify_token(token_text);
    }
    let verifier = verifier
        .build()
        .map_err(|e| src.at(&raw.name, format!("route `{name}`: {e}")))?;

    let mut policy = Policy::builder();
    if let Some(ttl) = opt_duration(src, &raw.dedup_ttl)? {
        policy = policy.dedup_ttl(ttl);
    }
    if raw.dedup.as_ref().is_some_and(|d| !*d.get_ref()) {
        policy = policy.without_dedup();
    }
    if let Some(limit) = &raw.rate_limit {
        let l = limit.get_ref();
        let mut rate = RateLimit::new(l.per_second, l.burst.unwrap_or(l.per_second));
        if l.shared == Some(true) {
            if matches!(store.backend, StoreBackend::Memory) {
                return Err(src.at(
                    limit,
                    "a shared rate limit needs a shared store: set [store] backend = \"redis\"",
                ));
            }
            rate = rate.shared();
        }
        policy = policy.rate_limit(rate);
    }
    if raw.allow_ips.is_some() {
        policy = policy.allow_ips(nets(src, raw.allow_ips.as_ref())?);
    }
    let max_body = opt_size(src, &raw.max_body)?.unwrap_or(server.max_body);
    if max_body > server.max_buffered {
        if let Some(v) = &raw.max_body {
            return Err(src.at(v, "max_body must be at most [server] max_buffered"));
        }
    }
    let policy = policy
        .max_body(max_body)
        .request_timeout(server.request_timeout)
        .claim_timeout(server.upstream_timeout + defaults::CLAIM_MARGIN)
        .on_store_error(store.on_store_error)
        .build()
        .map_err(|e| {
            let at = match e {
                crate::policy::PolicyError::RateLimit => raw.rate_limit.as_ref().map(Spanned::span),
                _ => raw.max_body.as_ref().map(Spanned::span),
            };
            src.error(
                at.unwrap_or_else(|| raw.name.span()),
                format!("route `{name}`: {e}"),
            )
        })?;
    #[cfg(feature = "sidecar")]
    let resign = match &raw.resign {
        None => None,
        Some(resign) => {
            let r = resign.get_ref();
            let provider: Provider = r
                .scheme
                .get_ref()
                .parse()
                .map_err(|e: crate::core::UnknownName| src.at(&r.scheme, e.to_string()))?;
            let secret = resolve_secret(src, &r.secret)?;
            let scheme = verifier.scheme().clone();
            Some(std::sync::Arc::new(
                crate::forward::Resign::new(provider, secret, scheme).ok_or_else(|| {
                    src.at(
                        resign,
                        "resign needs a preset that signs the body alone into headers (not the URL, not body fields) and a secret of its form (the private key for Ed25519 / ECDSA)",
                    )
                })?,
            ))
        }
    };
    #[cfg(not(feature = "sidecar"))]
    if let Some(resign) = &raw.resign {
        return Err(src.at(resign, "resign needs the `sidecar` feature"));
    }
    Ok(RouteConfig {
        name: name.to_owned(),
        verifier,
        policy,
        path,
        upstream,
        delivery,
        #[cfg(feature = "sidecar")]
        resign,
    })
}

fn custom_scheme(src: &Source<'_>, raw: &Spanned<RawScheme>) -> Result<Scheme, ConfigError> {
    let table: toml::Table = raw
        .get_ref()
        .iter()
        .map(|(key, value)| (key.clone(), value.get_ref().clone()))
        .collect();
    let table: SchemeTable = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| src.at(raw, format!("[route.scheme]: {}", e.message())))?;
    table.build().map_err(|error| {
        let span = error
            .field()
            .and_then(|field| raw.get_ref().get(field))
            .map(Spanned::span);
        src.error(span.unwrap_or_else(|| raw.span()), error.to_string())
    })
}

fn delivery(src: &Source<'_>, raw: &RawRoute) -> Result<Delivery, ConfigError> {
    let queued = match &raw.delivery {
        None => false,
        Some(v) => match v.get_ref().as_str() {
            "direct" => false,
            "queued" => true,
            other => {
                return Err(src.at(
                    v,
                    format!("delivery must be \"direct\" or \"queued\", not `{other}`"),
                ))
            }
        },
    };
    if !queued {
        if let Some(retry) = &raw.retry {
            return Err(src.at(retry, "retry is for delivery = \"queued\""));
        }
        if let Some(concurrency) = &raw.concurrency {
            return Err(src.at(concurrency, "concurrency is for delivery = \"queued\""));
        }
        return Ok(Delivery::Direct);
    }
    #[cfg(feature = "queue")]
    {
        let mut retry = crate::queue::RetryPolicy::default();
        if let Some(raw_retry) = &raw.retry {
            let r = raw_retry.get_ref();
            let max_attempts = match r.max_attempts {
                Some(0) => return Err(src.at(raw_retry, "max_attempts must be at least 1")),
                Some(n) => n,
                None => retry.max_attempts,
            };
            let initial = opt_duration(src, &r.initial)?.unwrap_or(retry.initial);
            let max = opt_duration(src, &r.max)?.unwrap_or(retry.max);
            if max < initial {
                return Err(src.at(raw_retry, "retry max must be at least initial"));
            }
            retry = crate::queue::RetryPolicy::new(max_attempts, initial, max);
        }
        let concurrency = match &raw.concurrency {
            Some(v) if *v.get_ref() == 0 => return Err(src.at(v, "concurrency must be at least 1")),
            Some(v) => *v.get_ref(),
            None => defaults::QUEUE_CONCURRENCY,
        };
        Ok(Delivery::Queued { retry, concurrency })
    }
    #[cfg(not(feature = "queue"))]
    Err(src.at(
        raw.delivery.as_ref().expect("queued"),
        "delivery = \"queued\" needs the `queue` feature",
    ))
}

#[cfg(feature = "queue")]
fn queue_config(
    src: &Source<'_>,
    raw: Option<&Spanned<raw::RawQueue>>,
    store: &StoreConfig,
    routes: &[RouteConfig],
) -> Result<Option<QueueConfig>, ConfigError> {
    let queued = routes
        .iter()
        .any(|r| matches!(r.delivery, Delivery::Queued { .. }));
    let Some(raw) = raw else {
        if queued {
            return Err(src.error(
                0..0,
                "a route has delivery = \"queued\": add a [queue] section with its path",
            ));
        }
        return Ok(None);
    };
    let q = raw.get_ref();
    let backend = match q
        .backend
        .as_ref()
        .map_or("embedded", |b| b.get_ref().as_str())
    {
        "embedded" => {
            let Some(path) = &q.path else {
                return Err(src.at(raw, "[queue] needs a path (the queue's file)"));
            };
            QueueBackend::Embedded(src.path(path.get_ref()))
        }
        "redis" => match &store.backend {
            #[cfg(feature = "redis")]
            StoreBackend::Redis(redis) if !redis.cluster => QueueBackend::Redis(redis.clone()),
            _ => {
                let at = q.backend.as_ref().expect("set");
                return Err(src.at(
                    at,
                    "the redis queue uses the [store]'s Redis: set [store] backend = \"redis\" (standalone, not cluster)",
                ));
            }
        },
        other => {
            let at = q.backend.as_ref().expect("set");
            return Err(src.at(
                at,
                format!("unknown queue backend `{other}`: expected \"embedded\" or \"redis\""),
            ));
        }
    };
    let mut limits = crate::queue::QueueLimits::default();
    if let Some(v) = &q.max_events {
        if *v.get_ref() == 0 {
            return Err(src.at(v, "max_events must be at least 1"));
        }
        limits.max_events = *v.get_ref();
    }
    if let Some(bytes) = opt_size(src, &q.max_bytes)? {
        limits.max_bytes = bytes;
    }
    Ok(Some(QueueConfig { backend, limits }))
}

fn store_backend(src: &Source<'_>, raw: &raw::RawStore) -> Result<StoreBackend, ConfigError> {
    let backend = raw
        .backend
        .as_ref()
        .map_or("memory", |b| b.get_ref().as_str());
    let redis_only = [
        ("url", raw.url.as_ref().map(Spanned::span)),
        ("cluster", raw.cluster.as_ref().map(Spanned::span)),
        ("key_prefix", raw.key_prefix.as_ref().map(Spanned::span)),
        ("timeout", raw.timeout.as_ref().map(Spanned::span)),
    ];
    match backend {
        "memory" => {
            if let Some((name, Some(span))) = redis_only.into_iter().find(|(_, s)| s.is_some()) {
                return Err(src.error(
                    span,
                    format!("`{name}` is for backend = \"redis\"; this store is \"memory\""),
                ));
            }
            Ok(StoreBackend::Memory)
        }
        #[cfg(feature = "redis")]
        "redis" => {
            let Some(url) = &raw.url else {
                let at = raw.backend.as_ref().map_or(0..0, Spanned::span);
                return Err(src.error(
                    at,
                    "backend = \"redis\" needs a url (redis:// or rediss://)",
                ));
            };
            // Spans are the whole `url` value: toml cannot span inside an untagged list.
            let values: Vec<Spanned<String>> = match url.get_ref() {
                raw::OneOrMany::One(one) => vec![one.clone()],
                raw::OneOrMany::Many(many) => many.clone(),
            }
            .into_iter()
            .map(|text| Spanned::new(url.span(), text))
            .collect();
            if values.is_empty() {
                return Err(src.at(url, "url needs at least one redis:// or rediss:// URL"));
            }
            let mut urls = Vec::with_capacity(values.len());
            for value in &values {
                let bytes = resolve_value(src, value)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| src.at(value, "the Redis URL is not UTF-8"))?;
                let text = text.trim().to_owned();
                // The message never repeats the URL: it may hold a password.
                if !(text.starts_with("redis://") || text.starts_with("rediss://")) {
                    return Err(src.at(value, "a Redis URL starts with redis:// or rediss://"));
                }
                if redis::Client::open(text.as_str()).is_err() {
                    return Err(src.at(value, "this Redis URL cannot be parsed"));
                }
                urls.push(text);
            }
            let cluster = raw.cluster.as_ref().is_some_and(|c| *c.get_ref());
            if !cluster && urls.len() > 1 {
                return Err(src.at(
                    url,
                    "several URLs are seeds of a cluster: set cluster = true",
                ));
            }
            let mut config = if cluster {
                crate::store::RedisConfig::cluster(urls)
            } else {
                crate::store::RedisConfig::new(urls.remove(0))
            };
            if let Some(prefix) = &raw.key_prefix {
                config = config.key_prefix(prefix.get_ref());
            }
            if let Some(timeout) = opt_duration(src, &raw.timeout)? {
                if timeout.is_zero() {
                    let at = raw.timeout.as_ref().map_or(0..0, Spanned::span);
                    return Err(src.error(at, "timeout must be above zero"));
                }
                config = config.timeout(timeout);
            }
            Ok(StoreBackend::Redis(config))
        }
        other => {
            let at = raw.backend.as_ref().map_or(0..0, Spanned::span);
            Err(src.error(
                at,
                format!("unknown store backend `{other}`: expected \"memory\" or \"redis\""),
            ))
        }
    }
}

fn resolve_secret(src: &Source<'_>, value: &Spanned<String>) -> Result<Secret, ConfigError> {
    resolve_value(src, value).map(Secret::new)
}

/// A value written literally, as `env:NAME` or as `file:PATH` (one trailing newline ignored);
/// never empty. Errors name the variable or file, never the value.
fn resolve_value(src: &Source<'_>, value: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
    let text = value.get_ref();
    if let Some(name) = text.strip_prefix("env:") {
        return match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v.into_bytes()),
            Ok(_) => Err(src.at(value, format!("environment variable {name} is empty"))),
            Err(_) => Err(src.at(value, format!("environment variable {name} is not set"))),
        };
    }
    if let Some(path) = text.strip_prefix("file:") {
        let path = src.path(path);
        src.files.borrow_mut().push(path.clone());
        let mut bytes = std::fs::read(&path).map_err(|e| {
            src.at(
                value,
                format!("cannot read secret file {}: {}", path.display(), e.kind()),
            )
        })?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        if bytes.is_empty() {
            return Err(src.at(value, format!("secret file {} is empty", path.display())));
        }
        return Ok(bytes);
    }
    if text.is_empty() {
        return Err(src.at(value, "a secret cannot be empty"));
    }
    Ok(text.as_bytes().to_vec())
}

fn opt_duration(
    src: &Source<'_>,
    value: &Option<Spanned<String>>,
) -> Result<Option<Duration>, ConfigError> {
    value
        .as_ref()
        .map(|v| {
            humantime::parse_duration(v.get_ref().trim()).map_err(|_| {
                src.at(
                    v,
                    format!(
                        "`{}` is not a duration (examples: 500ms, 30s, 5m, 72h)",
                        v.get_ref()
                    ),
                )
            })
        })
        .transpose()
}

fn opt_size(
    src: &Source<'_>,
    value: &Option<Spanned<raw::Size>>,
) -> Result<Option<u64>, ConfigError> {
    value
        .as_ref()
        .map(|v| match v.get_ref() {
            raw::Size::Bytes(n) => Ok(*n),
            raw::Size::Text(text) => text
                .trim()
                .parse::<bytesize::ByteSize>()
                .map(|b| b.as_u64())
                .map_err(|_| src.at(v, format!("`{text}` is not a size (examples: 64KiB, 1MiB)"))),
        })
        .transpose()
}

fn nets(
    src: &Source<'_>,
    value: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Result<Vec<IpNet>, ConfigError> {
    let Some(list) = value else {
        return Ok(Vec::new());
    };
    list.get_ref()
        .iter()
        .map(|v| {
            let text = v.get_ref().trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| src.at(v, format!("`{text}` is not an IP address or network")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Config;

    fn route(extra: &str) -> String {
        format!(
            "[[route]]\nname = \"r\"\npath = \"/r\"\nupstream = \"http://127.0.0.1:3000/r\"\nsecrets = [\"s\"]\n{extra}"
        )
    }

    #[test]
    fn the_scheme_language_of_the_presets_is_accepted_in_a_route() {
        let config = Config::from_toml(&route(
            "public_url = \"https://hooks.example.com/\"\n[route.scheme]\nheader = [\"X-Sig\", \"X-Sig-Old\"]\nencoding = \"base64\"\nsigned_payload = \"{method}{url}{body}{timestamp}\"\ntimestamp_header = \"X-Ts\"\ntimestamp_format = \"unix_ms\"\n",
        ))
        .unwrap();
        let verifier = &config.routes[0].verifier;
        assert_eq!(verifier.public_url(), Some("https://hooks.example.com"));
        assert_eq!(verifier.scheme().signature_headers().len(), 2);

        let config = Config::from_toml(&route(
            "[route.scheme]\nheader = \"Paddle-Signature\"\nformat = \"kv\"\ntimestamp_key = \"ts\"\nsignature_key = \"h1\"\nseparators = \";\"\nsigned_payload = \"{timestamp}:{body}\"\n",
        ));
        assert!(config.is_ok());
    }

    #[test]
    fn scheme_errors_point_at_the_key() {
        let text = route("[route.scheme]\nheader = \"X-Sig\"\nalgorithm = \"sha265\"\n");
        let error = Config::from_toml(&text).unwrap_err();
        assert_eq!(error.line, 8, "{error}");
        assert!(
            error.to_string().contains("did you mean `sha256`?"),
            "{error}"
        );

        let text = route("[route.scheme]\nheader = \"X-Sig\"\nsigned_paylod = \"{body}\"\n");
        let error = Config::from_toml(&text).unwrap_err();
        assert!(error.to_string().contains("signed_paylod"), "{error}");

        let error = Config::from_toml(&route(
            "public_url = \"hooks.example.com\"\nprovider = \"square\"\n",
        ))
        .unwrap_err();
        assert!(error.to_string().contains("public_url"), "{error}");
    }
}
