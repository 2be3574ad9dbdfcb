//! The delivery policy of a route: what happens to a request around its verification (body
//! bounds, client addresses, rate limit, deduplication). What verifies is the core
//! [`Verifier`](crate::core::Verifier); this is everything else.

use crate::defaults;
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// What to do when the seen-event store cannot be reached.
///
/// ```
/// use hookgate::{OnStoreError, Policy};
/// // Deliver without deduplication rather than answer 503 while the store is down.
/// let policy = Policy::builder().on_store_error(OnStoreError::Allow).build().unwrap();
/// assert_eq!(policy.on_store_error(), OnStoreError::Allow);
/// assert_eq!("allow".parse::<OnStoreError>().unwrap(), OnStoreError::Allow);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnStoreError {
    /// Answer 503 `store_unavailable`: the provider retries later (fail closed).
    #[default]
    Reject,
    /// Deliver without deduplication.
    Allow,
}

/// An `on_store_error` value that is neither `reject` nor `allow`.
///
/// ```
/// let error = "ignore".parse::<hookgate::OnStoreError>().unwrap_err();
/// assert_eq!(error.to_string(), "on_store_error must be \"reject\" or \"allow\", not `ignore`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("on_store_error must be \"reject\" or \"allow\", not `{0}`")]
pub struct UnknownOnStoreError(String);

impl std::str::FromStr for OnStoreError {
    type Err = UnknownOnStoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reject" => Ok(OnStoreError::Reject),
            "allow" => Ok(OnStoreError::Allow),
            other => Err(UnknownOnStoreError(other.to_owned())),
        }
    }
}

/// A rate limit: a steady rate and a burst.
///
/// ```
/// use hookgate::{Policy, RateLimit};
/// let limit = RateLimit::new(100, 200);
/// let policy = Policy::builder().rate_limit(limit).build().unwrap();
/// assert_eq!(policy.rate_limit(), Some(limit));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once.
    pub burst: u32,
    /// One limit for every replica, kept in the shared store (Redis); otherwise each process
    /// keeps its own.
    pub shared: bool,
}

impl RateLimit {
    /// `per_second` sustained, `burst` at once, in this process.
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimit {
            per_second,
            burst,
            shared: false,
        }
    }

    /// The same limit, shared by every replica through the store.
    ///
    /// ```
    /// let limit = hookgate::RateLimit::new(100, 200).shared();
    /// assert!(limit.shared);
    /// ```
    #[must_use]
    pub fn shared(mut self) -> Self {
        self.shared = true;
        self
    }
}

/// A policy that could not be built.
///
/// ```
/// use hookgate::{Policy, PolicyError, RateLimit};
/// let error = Policy::builder().rate_limit(RateLimit::new(0, 10)).build().unwrap_err();
/// assert_eq!(error, PolicyError::RateLimit);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A rate limit of zero.
    #[error("rate_limit per_second and burst must be at least 1")]
    RateLimit,
    /// A body bound of zero.
    #[error("max_body must be at least 1 byte")]
    MaxBody,
}

type Limiter = RateLimiter<governor::state::NotKeyed, governor::state::InMemoryState, DefaultClock>;

/// How a route treats requests around verification. Cheap to clone; clones share the rate
/// limiter.
///
/// ```
/// use hookgate::Policy;
/// let policy = Policy::default();
/// assert_eq!(policy.max_body(), hookgate::defaults::MAX_BODY);
/// assert_eq!(policy.dedup_ttl(), Some(hookgate::defaults::DEDUP_TTL));
/// ```
#[derive(Clone)]
pub struct Policy {
    inner: Arc<PolicyInner>,
}

struct PolicyInner {
    max_body: u64,
    request_timeout: Duration,
    dedup_ttl: Option<Duration>,
    claim_timeout: Duration,
    /// The limit, and the local limiter unless the limit is shared.
    rate_limit: Option<(RateLimit, Option<Limiter>)>,
    allow_ips: Option<Vec<IpNet>>,
    on_store_error: OnStoreError,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::builder()
            .build()
            .expect("the default policy is valid")
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("max_body", &self.inner.max_body)
            .field("request_timeout", &self.inner.request_timeout)
            .field("dedup_ttl", &self.inner.dedup_ttl)
            .field("claim_timeout", &self.inner.claim_timeout)
            .field("rate_limit", &self.rate_limit())
            .field("allow_ips", &self.inner.allow_ips)
            .field("on_store_error", &self.inner.on_store_error)
            .finish()
    }
}

impl Policy {
    /// Starts a policy from the [defaults](crate::defaults).
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            max_body: defaults::MAX_BODY,
            request_timeout: defaults::REQUEST_TIMEOUT,
            dedup_ttl: Some(defaults::DEDUP_TTL),
            claim_timeout: defaults::CLAIM_TIMEOUT,
            rate_limit: None,
            allow_ips: None,
            on_store_error: OnStoreError::Reject,
        }
    }

    /// Bound on the body, in bytes.
    pub fn max_body(&self) -> u64 {
        self.inner.max_body
    }

    /// Bound on receiving the body (and on waiting for buffer budget).
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

    /// Takes one token from the local rate limiter; `Err` holds the wait until the next.
    /// A shared limit is not checked here (see [`Policy::shared_rate_limit`]).
    pub(crate) fn check_rate(&self) -> Result<(), Duration> {
        match &self.inner.rate_limit {
            Some((_, Some(limiter))) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(limiter.clock().now())),
            _ => Ok(()),
        }
    }

    /// The rate limit to take from the shared store, if the limit is shared.
    pub(crate) fn shared_rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit().filter(|limit| limit.shared)
    }

    /// Whether `addr` may call the route. Without an address (no server told us who the
    /// client is), a restricted route refuses: fail closed.
    pub(crate) fn allows(&self, addr: Option<IpAddr>) -> bool {
        match (&self.inner.allow_ips, addr) {
            (None, _) => true,
            (Some(nets), Some(addr)) => nets.iter().any(|net| net.contains(&addr)),
            (Some(_), None) => false,
        }
    }
}

/// Builds a [`Policy`]; see [`Policy::builder`].
///
/// ```
/// use hookgate::{Policy, RateLimit};
/// use std::time::Duration;
///
/// let policy = Policy::builder()
///     .max_body(256 * 1024)
///     .dedup_ttl(Duration::from_secs(7 * 24 * 3600))
///     .rate_limit(RateLimit::new(50, 100))
///     .allow_ips(vec!["203.0.113.0/24".parse().unwrap()])
///     .build()
///     .unwrap();
/// assert_eq!(policy.max_body(), 256 * 1024);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct PolicyBuilder {
    max_body: u64,
    request_timeout: Duration,
    dedup_ttl: Option<Duration>,
    claim_timeout: Duration,
    rate_limit: Option<RateLimit>,
    allow_ips: Option<Vec<IpNet>>,
    on_store_error: OnStoreError,
}

impl PolicyBuilder {
    /// Bounds the body (default 1 MiB).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Bounds receiving the body, and waiting for buffer budget (default 10 s).
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

    /// Checks the policy and makes its rate limiter.
    pub fn build(self) -> Result<Policy, PolicyError> {
        if self.max_body == 0 {
            return Err(PolicyError::MaxBody);
        }
        let rate_limit = match self.rate_limit {
            None => None,
            Some(limit) => {
                let (Some(per_second), Some(burst)) = (
                    NonZeroU32::new(limit.per_second),
                    NonZeroU32::new(limit.burst),
                ) else {
                    return Err(PolicyError::RateLimit);
                };
                let quota = Quota::per_second(per_second).allow_burst(burst);
                let local = (!limit.shared).then(|| RateLimiter::direct(quota));
                Some((limit, local))
            }
        };
        Ok(Policy {
            inner: Arc::new(PolicyInner {
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
