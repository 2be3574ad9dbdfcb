//! A webhook route: how to verify its requests and what to do with verified ones.
//!
//! [`Route::builder`] is the one way to make a route: the TOML config goes through it too.

use crate::core::{EventIdSpec, Provider, Scheme, Secret, Verifier, VerifierError};
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Default bound on a request body.
pub(crate) const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// Default bound on receiving a request.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time delivered event ids are remembered: providers retry for up to three days.
pub(crate) const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(72 * 3600);
/// Default bound on one delivery's claim (upstream timeout 30 s plus a margin).
pub(crate) const DEFAULT_CLAIM_TIMEOUT: Duration = Duration::from_secs(35);

/// What to do when the seen-event store cannot be reached.
///
/// ```
/// use hookgate::{core::Provider, OnStoreError, Route};
/// // Deliver without deduplication rather than answer 503 while the store is down.
/// let route = Route::builder().provider(Provider::Github).secret("s").on_store_error(OnStoreError::Allow).build().unwrap();
/// assert_eq!(route.on_store_error(), OnStoreError::Allow);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStoreError {
    /// Answer 503 `store_unavailable`: the provider retries later (fail closed).
    #[default]
    Reject,
    /// Deliver without deduplication.
    Allow,
}

/// A rate limit: a steady rate and a burst.
///
/// ```
/// use hookgate::{core::Provider, RateLimit, Route};
/// let limit = RateLimit { per_second: 100, burst: 200 };
/// let route = Route::builder().provider(Provider::Github).secret("s").rate_limit(limit).build().unwrap();
/// assert_eq!(route.rate_limit(), Some(limit));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

/// A route that could not be built.
///
/// ```
/// use hookgate::{Route, RouteError};
/// let error = Route::builder().provider_name("stirpe").secret("s").build().unwrap_err();
/// assert!(matches!(error, RouteError::UnknownProvider(ref name) if name == "stirpe"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A provider name that is not a preset.
    #[error("unknown provider `{0}`; presets are: d3, filedgr, docextract, dataflow, stripe, github, slack, shopify, standard-webhooks, svix")]
    UnknownProvider(String),
    /// Neither a provider preset nor a custom scheme was given.
    #[error("route `{0}`: set a provider preset or a custom scheme")]
    NoScheme(String),
    /// Both a provider preset and a custom scheme were given.
    #[error("route `{0}`: set either a provider preset or a custom scheme, not both")]
    ProviderAndScheme(String),
    /// The verifier could not be built (no secret, unusable secret, bad scheme).
    #[error("route `{name}`: {source}")]
    Verifier {
        /// The route.
        name: String,
        /// Why.
        source: VerifierError,
    },
    /// A rate limit of zero.
    #[error("route `{0}`: rate_limit per_second and burst must be at least 1")]
    RateLimit(String),
}

/// A verified-webhook route, ready for [`WebhookLayer`](crate::WebhookLayer).
///
/// ```
/// use hookgate::core::Provider;
/// use hookgate::Route;
/// use std::time::Duration;
///
/// let route = Route::builder()
///     .provider(Provider::Stripe)
///     .secret("whsec_test_secret")
///     .tolerance(Duration::from_secs(300))
///     .build()
///     .unwrap();
/// assert_eq!(route.name(), "stripe");
///
/// // Fail closed: no secret, no route.
/// let error = Route::builder().provider(Provider::Github).build().unwrap_err();
/// assert_eq!(error.to_string(), "route `github`: no secret is configured");
/// ```
#[derive(Clone)]
pub struct Route {
    inner: Arc<RouteInner>,
}

type Limiter = RateLimiter<governor::state::NotKeyed, governor::state::InMemoryState, DefaultClock>;

struct RouteInner {
    name: Arc<str>,
    provider: Option<Provider>,
    verifier: Verifier,
    max_body: u64,
    request_timeout: Duration,
    dedup_ttl: Option<Duration>,
    claim_timeout: Duration,
    rate_limit: Option<(RateLimit, Limiter)>,
    allow_ips: Option<Vec<IpNet>>,
    on_store_error: OnStoreError,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.inner.name)
            .field("provider", &self.inner.provider)
            .field("verifier", &self.inner.verifier)
            .field("max_body", &self.inner.max_body)
            .field("request_timeout", &self.inner.request_timeout)
            .field("dedup_ttl", &self.inner.dedup_ttl)
            .field(
                "rate_limit",
                &self.inner.rate_limit.as_ref().map(|(r, _)| r),
            )
            .field("allow_ips", &self.inner.allow_ips)
            .field("on_store_error", &self.inner.on_store_error)
            .finish()
    }
}

impl Route {
    /// Starts a route. It needs a provider preset or a custom scheme, and at least one secret.
    pub fn builder() -> RouteBuilder {
        RouteBuilder {
            name: None,
            unknown_provider: None,
            provider: None,
            scheme: None,
            secrets: Vec::new(),
            tolerance: None,
            event_id: None,
            max_body: DEFAULT_MAX_BODY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            dedup_ttl: Some(DEFAULT_DEDUP_TTL),
            claim_timeout: DEFAULT_CLAIM_TIMEOUT,
            rate_limit: None,
            allow_ips: None,
            on_store_error: OnStoreError::Reject,
        }
    }

    /// The route's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The provider preset, if the route uses one.
    pub fn provider(&self) -> Option<Provider> {
        self.inner.provider
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Bound on the body, in bytes.
    pub fn max_body(&self) -> u64 {
        self.inner.max_body
    }

    /// Bound on receiving the body.
    pub fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    /// How long delivered ids are remembered; `None` when deduplication is off.
    pub fn dedup_ttl(&self) -> Option<Duration> {
        self.inner.dedup_ttl
    }

    /// Bound on one delivery's claim.
    pub fn claim_timeout(&self) -> Duration {
        self.inner.claim_timeout
    }

    /// The rate limit, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.inner.rate_limit.as_ref().map(|(r, _)| *r)
    }

    /// Client networks allowed, if restricted.
    pub fn allow_ips(&self) -> Option<&[IpNet]> {
        self.inner.allow_ips.as_deref()
    }

    /// What a store failure does.
    pub fn on_store_error(&self) -> OnStoreError {
        self.inner.on_store_error
    }

    /// Verifies one request: body size, signature, timestamp and event id, with the clock at
    /// `now`. Pure: no store, no rate limit, no I/O. [`hookgate::verify`](crate::verify) is the
    /// same function.
    pub fn verify(
        &self,
        headers: &http::HeaderMap,
        body: bytes::Bytes,
        now: std::time::SystemTime,
    ) -> Result<crate::VerifiedWebhook, crate::Rejection> {
        if body.len() as u64 > self.inner.max_body {
            return Err(crate::Rejection::BodyTooLarge);
        }
        let verified = self.inner.verifier.verify(headers, &body, now)?;
        Ok(crate::VerifiedWebhook {
            route: self.inner.name.clone(),
            event_id: verified.event_id,
            event_id_from_signature: verified.event_id_from_signature,
            timestamp: verified.timestamp,
            provider: self.inner.provider,
            body,
        })
    }

    /// Takes one token from the route's rate limiter; `Err` holds the wait until the next.
    pub(crate) fn check_rate(&self) -> Result<(), Duration> {
        match &self.inner.rate_limit {
            None => Ok(()),
            Some((_, limiter)) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(limiter.clock().now())),
        }
    }

    /// Whether `addr` may call this route.
    pub(crate) fn allows(&self, addr: Option<IpAddr>) -> bool {
        match (&self.inner.allow_ips, addr) {
            (None, _) => true,
            (Some(nets), Some(addr)) => nets.iter().any(|net| net.contains(&addr)),
            (Some(_), None) => false,
        }
    }
}

/// Builds a [`Route`]; see [`Route::builder`].
///
/// Defaults: body up to 1 MiB, received within 10 s; delivered ids remembered for 72 h;
/// a delivery's claim expires after 35 s; no rate limit; any client address; 503 when the
/// store fails.
///
/// ```
/// use hookgate::core::{EventIdSpec, Provider};
/// use hookgate::{RateLimit, Route};
/// use std::time::Duration;
///
/// let route = Route::builder()
///     .name("payments")
///     .provider(Provider::Stripe)
///     .secret("whsec_new")
///     .secret("whsec_old") // rotation: both are tried
///     .tolerance(Duration::from_secs(120))
///     .event_id(EventIdSpec::parse(["json:/data/object/id"]).unwrap())
///     .dedup_ttl(Duration::from_secs(7 * 24 * 3600))
///     .max_body(256 * 1024)
///     .rate_limit(RateLimit { per_second: 50, burst: 100 })
///     .build()
///     .unwrap();
/// assert_eq!(route.name(), "payments");
/// assert_eq!(route.verifier().key_count(), 2);
/// ```
#[derive(Debug)]
#[must_use]
pub struct RouteBuilder {
    name: Option<String>,
    unknown_provider: Option<String>,
    provider: Option<Provider>,
    scheme: Option<Scheme>,
    secrets: Vec<Secret>,
    tolerance: Option<Duration>,
    event_id: Option<EventIdSpec>,
    max_body: u64,
    request_timeout: Duration,
    dedup_ttl: Option<Duration>,
    claim_timeout: Duration,
    rate_limit: Option<RateLimit>,
    allow_ips: Option<Vec<IpNet>>,
    on_store_error: OnStoreError,
}

impl RouteBuilder {
    /// Names the route (default: the provider's name, or `webhook`). The name appears in
    /// `Hookgate-Route`, logs, metrics and dedup keys: routes sharing a store need distinct
    /// names.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Uses the preset named `name` (as in configuration files); an unknown name is reported
    /// by [`build`](Self::build).
    pub fn provider_name(mut self, name: &str) -> Self {
        match Provider::from_name(name) {
            Some(provider) => self.provider = Some(provider),
            None => self.unknown_provider = Some(name.to_owned()),
        }
        self
    }

    /// Uses a provider preset's scheme, tolerance and event id.
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Uses a custom scheme.
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// Adds a secret; several secrets are all tried (rotation).
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Adds several secrets.
    pub fn secrets<I: IntoIterator<Item = S>, S: Into<Secret>>(mut self, secrets: I) -> Self {
        self.secrets.extend(secrets.into_iter().map(Into::into));
        self
    }

    /// Overrides the timestamp tolerance (past and future).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Overrides where the event id is read.
    pub fn event_id(mut self, event_id: EventIdSpec) -> Self {
        self.event_id = Some(event_id);
        self
    }

    /// Bounds the body (default 1 MiB).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Bounds receiving the body (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long delivered ids are remembered (default 72 h).
    pub fn dedup_ttl(mut self, ttl: Duration) -> Self {
        self.dedup_ttl = Some(ttl);
        self
    }

    /// Turns deduplication off (replays inside the tolerance are then delivered again).
    pub fn without_dedup(mut self) -> Self {
        self.dedup_ttl = None;
        self
    }

    /// Bounds one delivery's claim: after this, a copy of the event may be delivered again.
    /// Set it above the time the inner service may take (default 35 s).
    pub fn claim_timeout(mut self, timeout: Duration) -> Self {
        self.claim_timeout = timeout;
        self
    }

    /// Rate-limits the route.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Only these client networks may call the route.
    pub fn allow_ips(mut self, nets: Vec<IpNet>) -> Self {
        self.allow_ips = Some(nets);
        self
    }

    /// What a store failure does (default: reject with 503).
    pub fn on_store_error(mut self, choice: OnStoreError) -> Self {
        self.on_store_error = choice;
        self
    }

    /// Checks the route and keys its secrets.
    pub fn build(self) -> Result<Route, RouteError> {
        if let Some(unknown) = self.unknown_provider {
            return Err(RouteError::UnknownProvider(unknown));
        }
        let name = self
            .name
            .unwrap_or_else(|| self.provider.map_or("webhook", Provider::name).to_owned());
        let (scheme, default_tolerance, default_event_id) = match (self.provider, self.scheme) {
            (Some(_), Some(_)) => return Err(RouteError::ProviderAndScheme(name)),
            (None, None) => return Err(RouteError::NoScheme(name)),
            (Some(p), None) => (p.scheme(), p.default_tolerance(), p.default_event_id()),
            (None, Some(scheme)) => {
                let tolerance = scheme
                    .signs_timestamp()
                    .then_some(crate::core::presets::DEFAULT_TOLERANCE);
                // A custom scheme has no known id: replays are still caught by signature digest.
                (scheme, tolerance, crate::core::EventIdSpec::new(Vec::new()))
            }
        };
        let tolerance = if scheme.signs_timestamp() {
            self.tolerance.or(default_tolerance)
        } else {
            None
        };
        let verifier = Verifier::new(
            scheme,
            self.secrets,
            tolerance,
            self.event_id.unwrap_or(default_event_id),
        )
        .map_err(|source| RouteError::Verifier {
            name: name.clone(),
            source,
        })?;
        let rate_limit = match self.rate_limit {
            None => None,
            Some(limit) => {
                let (Some(per_second), Some(burst)) = (
                    NonZeroU32::new(limit.per_second),
                    NonZeroU32::new(limit.burst),
                ) else {
                    return Err(RouteError::RateLimit(name));
                };
                let quota = Quota::per_second(per_second).allow_burst(burst);
                Some((limit, RateLimiter::direct(quota)))
            }
        };
        Ok(Route {
            inner: Arc::new(RouteInner {
                name: name.into(),
                provider: self.provider,
                verifier,
                max_body: self.max_body,
                request_timeout: self.request_timeout,
                dedup_ttl: self.dedup_ttl,
                claim_timeout: self.claim_timeout,
                rate_limit,
                allow_ips: self.allow_ips,
                on_store_error: self.on_store_error,
            }),
        })
    }
}
