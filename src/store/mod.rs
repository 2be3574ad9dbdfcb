#![doc = include_str!("../docs/deduplication.md")]

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisConfig, RedisStore};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future returned by [`SeenStore`] methods.
///
/// ```
/// use hookgate::store::{StoreError, StoreFuture};
/// fn answer(ok: bool) -> StoreFuture<'static, ()> {
///     Box::pin(async move { if ok { Ok(()) } else { Err(StoreError::from(Box::<dyn std::error::Error + Send + Sync>::from("down"))) } })
/// }
/// ```
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The key of one event in a store: unambiguous in (route, event id).
///
/// The route name is length-prefixed, so no route name and event id can make the key of
/// another pair (route `a:b` with id `c` and route `a` with id `b:c` differ).
///
/// ```
/// use hookgate::store::StoreKey;
/// assert_ne!(StoreKey::new("a:b", "c"), StoreKey::new("a", "b:c"));
/// assert_eq!(StoreKey::new("stripe", "evt_1").as_str(), "6:stripe:evt_1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreKey {
    text: String,
    /// Hashed once, when the key is made: a claim and its commit use the same digest.
    digest: [u8; 16],
}

impl StoreKey {
    /// The key of `event_id` on `route`.
    pub fn new(route: &str, event_id: &str) -> Self {
        use sha2::Digest as _;
        let mut text = String::with_capacity(route.len() + event_id.len() + 8);
        text.push_str(itoa::Buffer::new().format(route.len()));
        text.push(':');
        text.push_str(route);
        text.push(':');
        text.push_str(event_id);
        let hash = sha2::Sha256::digest(text.as_bytes());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&hash[..16]);
        StoreKey { text, digest }
    }

    /// The key as text (`<length of route>:<route>:<event id>`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key hashed to a fixed 16 bytes (the first half of its SHA-256): what stores hold,
    /// whatever the length of the id.
    pub fn digest(&self) -> [u8; 16] {
        self.digest
    }
}

/// Proof of a claim, needed to commit or release it.
///
/// ```
/// use hookgate::store::{Claim, MemoryStore, StoreKey};
/// use std::time::Duration;
/// let store = MemoryStore::new(10);
/// let key = StoreKey::new("route", "evt");
/// let Claim::New(token) = store.claim_now(&key, Duration::from_secs(30)) else { unreachable!() };
/// store.release_now(&key, token);
/// assert!(matches!(store.claim_now(&key, Duration::from_secs(30)), Claim::New(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimToken(pub(crate) u128);

/// The answer to a claim.
///
/// ```
/// use hookgate::store::{Claim, MemoryStore, StoreKey};
/// use std::time::Duration;
/// let store = MemoryStore::new(10);
/// let key = StoreKey::new("route", "1");
/// assert!(matches!(store.claim_now(&key, Duration::from_secs(30)), Claim::New(_)));
/// assert!(matches!(store.claim_now(&key, Duration::from_secs(30)), Claim::InFlight { .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// First time this event is seen: deliver it, then commit or release the token.
    New(ClaimToken),
    /// The event was delivered already.
    Delivered,
    /// Another copy is being delivered; its claim expires within `retry_after`.
    InFlight {
        /// Time until the other claim expires at the latest.
        retry_after: Duration,
    },
}

/// The store could not answer; whether that lets the event through is the route's
/// `on_store_error` choice.
///
/// ```
/// let error = hookgate::store::StoreError::from(Box::<dyn std::error::Error + Send + Sync>::from("connection refused"));
/// assert_eq!(error.to_string(), "seen-event store unavailable: connection refused");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("seen-event store unavailable: {0}")]
pub struct StoreError(#[from] pub Box<dyn std::error::Error + Send + Sync>);

/// Where claims and delivered event ids live.
///
/// Keys are [`StoreKey`]s, unambiguous in (route, event id). Implementations must make
/// `claim` atomic: of two concurrent claims of one key, exactly one gets [`Claim::New`].
///
/// A store that always fails, to see `on_store_error` at work:
///
/// ```
/// use hookgate::store::{Claim, ClaimToken, SeenStore, StoreError, StoreFuture, StoreKey};
/// use std::time::Duration;
///
/// struct Down;
///
/// fn down<T: Send + 'static>() -> StoreFuture<'static, T> {
///     Box::pin(async { Err(StoreError::from(Box::<dyn std::error::Error + Send + Sync>::from("down"))) })
/// }
///
/// impl SeenStore for Down {
///     fn claim<'a>(&'a self, _: &'a StoreKey, _: Duration) -> StoreFuture<'a, Claim> { down() }
///     fn commit<'a>(&'a self, _: &'a StoreKey, _: ClaimToken, _: Duration) -> StoreFuture<'a, ()> { down() }
///     fn release<'a>(&'a self, _: &'a StoreKey, _: ClaimToken) -> StoreFuture<'a, ()> { down() }
///     fn ping(&self) -> StoreFuture<'_, ()> { down() }
/// }
///
/// let verifier = hookgate::core::Verifier::builder().provider(hookgate::core::Provider::Github).secret("s").build().unwrap();
/// let layer = hookgate::WebhookLayer::new(verifier).store(std::sync::Arc::new(Down));
/// ```
pub trait SeenStore: Send + Sync + 'static {
    /// Claims `key` for a delivery that will take at most `in_flight_ttl`.
    fn claim<'a>(&'a self, key: &'a StoreKey, in_flight_ttl: Duration) -> StoreFuture<'a, Claim>;

    /// Marks `key` delivered for `ttl`.
    fn commit<'a>(
        &'a self,
        key: &'a StoreKey,
        token: ClaimToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;

    /// Forgets the claim on `key` if `token` still holds it, so a retry can be delivered.
    fn release<'a>(&'a self, key: &'a StoreKey, token: ClaimToken) -> StoreFuture<'a, ()>;

    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// Takes one request from the rate limit `limit` shared by every replica under `name`;
    /// `Ok(Err(wait))` when it is exhausted. Only a store shared between replicas can do
    /// this: the default answers an error.
    fn acquire_shared_rate<'a>(
        &'a self,
        name: &'a str,
        limit: crate::RateLimit,
    ) -> StoreFuture<'a, Result<(), Duration>> {
        let _ = (name, limit);
        Box::pin(async {
            Err(StoreError::from(
                Box::<dyn std::error::Error + Send + Sync>::from(
                    "this store keeps no shared rate limit",
                ),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::StoreKey;

    #[test]
    fn the_digest_is_the_first_half_of_the_sha256_of_the_key_text() {
        // Replicas of different versions share a Redis store: the digest must not change.
        // Reference: Python's hashlib.sha256(b"6:stripe:evt_1").hexdigest()[:32].
        let key = StoreKey::new("stripe", "evt_1");
        assert_eq!(key.as_str(), "6:stripe:evt_1");
        assert_eq!(
            hex::encode(key.digest()),
            "185f60d1cb1969167454edfb39114bf4"
        );
        // Made once, equal for equal keys, different for different ones.
        assert_eq!(key.digest(), StoreKey::new("stripe", "evt_1").digest());
        assert_ne!(key.digest(), StoreKey::new("stripe", "evt_2").digest());
    }
}
