//! The file as written: serde types with spans, before any meaning is checked.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub server: Option<RawServer>,
    pub store: Option<RawStore>,
    pub queue: Option<Spanned<RawQueue>>,
    pub route: Option<Vec<RawRoute>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Option<Spanned<String>>,
    pub admin_listen: Option<Spanned<String>>,
    pub max_body: Option<Spanned<Size>>,
    pub request_timeout: Option<Spanned<String>>,
    pub upstream_timeout: Option<Spanned<String>>,
    pub trusted_proxies: Option<Spanned<Vec<Spanned<String>>>>,
    pub max_connections: Option<Spanned<usize>>,
    pub workers: Option<Spanned<usize>>,
    pub max_buffered: Option<Spanned<Size>>,
    pub log_format: Option<Spanned<String>>,
    pub tls: Option<Spanned<RawTls>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub backend: Option<Spanned<String>>,
    pub url: Option<Spanned<OneOrMany>>,
    pub cluster: Option<Spanned<bool>>,
    pub key_prefix: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub capacity: Option<Spanned<u64>>,
    pub on_store_error: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub name: Spanned<String>,
    pub path: Spanned<String>,
    pub upstream: Spanned<String>,
    pub provider: Option<Spanned<String>>,
    pub scheme: Option<Spanned<RawScheme>>,
    pub secrets: Option<Spanned<Vec<Spanned<String>>>>,
    pub tolerance: Option<Spanned<String>>,
    pub event_id: Option<Spanned<OneOrMany>>,
    pub dedup: Option<Spanned<bool>>,
    pub dedup_ttl: Option<Spanned<String>>,
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    pub allow_ips: Option<Spanned<Vec<Spanned<String>>>>,
    pub max_body: Option<Spanned<Size>>,
    pub delivery: Option<Spanned<String>>,
    pub retry: Option<Spanned<RawRetry>>,
    pub verify_token: Option<Spanned<String>>,
    pub resign: Option<Spanned<RawResign>>,
    pub concurrency: Option<Spanned<usize>>,
    pub public_url: Option<Spanned<String>>,
}

/// `[route.scheme]`: the keys of [`crate::core::scheme::SchemeTable`], each with its span so
/// that an error points at the key at fault.
pub(super) type RawScheme = std::collections::BTreeMap<String, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub per_second: u32,
    pub burst: Option<u32>,
    pub shared: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Size {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub cert: Spanned<String>,
    pub key: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub backend: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub max_events: Option<Spanned<u64>>,
    pub max_bytes: Option<Spanned<Size>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    pub max_attempts: Option<u32>,
    pub initial: Option<Spanned<String>>,
    pub max: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResign {
    pub scheme: Spanned<String>,
    pub secret: Spanned<String>,
}
