//! The embedded store: a bounded moka cache with LRU eviction.

use super::{Claim, ClaimToken, SeenStore, StoreFuture};
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use moka::Expiry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum Seen {
    InFlight { token: u64, expires_at: Instant },
    Delivered { ttl: Duration },
}

struct SeenExpiry;

impl Seen {
    fn time_to_live(&self, now: Instant) -> Duration {
        match *self {
            Seen::InFlight { expires_at, .. } => expires_at.saturating_duration_since(now),
            Seen::Delivered { ttl } => ttl,
        }
    }
}

impl Expiry<Arc<str>, Seen> for SeenExpiry {
    fn expire_after_create(
        &self,
        _: &Arc<str>,
        value: &Seen,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.time_to_live(created_at))
    }

    fn expire_after_update(
        &self,
        _: &Arc<str>,
        value: &Seen,
        updated_at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.time_to_live(updated_at))
    }
}

/// An in-process [`SeenStore`] holding at most `capacity` event ids.
///
/// Eviction is plain LRU: moka's default TinyLFU admission may refuse a brand-new key when
/// the cache is full, which would let a replay of that event through.
///
/// ```
/// use hookgate::store::{Claim, MemoryStore, SeenStore};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new(1_000);
/// let Claim::New(token) = store.claim("stripe:evt_1", Duration::from_secs(35)).await.unwrap() else {
///     panic!("first claim is new");
/// };
/// assert!(matches!(store.claim("stripe:evt_1", Duration::from_secs(35)).await.unwrap(), Claim::InFlight { .. }));
/// store.commit("stripe:evt_1", token, Duration::from_secs(3600)).await.unwrap();
/// assert_eq!(store.claim("stripe:evt_1", Duration::from_secs(35)).await.unwrap(), Claim::Delivered);
/// # });
/// ```
pub struct MemoryStore {
    cache: Cache<Arc<str>, Seen>,
    next_token: AtomicU64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl MemoryStore {
    /// A store remembering at most `capacity` event ids.
    pub fn new(capacity: u64) -> Self {
        MemoryStore {
            cache: Cache::builder()
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(SeenExpiry)
                .build(),
            next_token: AtomicU64::new(1),
        }
    }

    /// Claims synchronously (the memory store never waits).
    pub fn claim_now(&self, key: &str, in_flight_ttl: Duration) -> Claim {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let result = self
            .cache
            .entry(Arc::from(key))
            .and_compute_with(|existing| match existing {
                None => Op::Put(Seen::InFlight {
                    token,
                    expires_at: now + in_flight_ttl,
                }),
                Some(_) => Op::Nop,
            });
        match result {
            CompResult::Inserted(_) => Claim::New(ClaimToken(token)),
            CompResult::Unchanged(entry) => match *entry.value() {
                Seen::Delivered { .. } => Claim::Delivered,
                Seen::InFlight { expires_at, .. } => Claim::InFlight {
                    retry_after: expires_at.saturating_duration_since(now),
                },
            },
            // and_compute_with only inserts or leaves the entry as it is here.
            CompResult::StillNone(_) | CompResult::ReplacedWith(_) | CompResult::Removed(_) => {
                unreachable!("claim either inserts or leaves the entry unchanged")
            }
        }
    }

    /// Commits synchronously. An upstream 2xx means the event was delivered, so the id is
    /// remembered even if this claim had expired meanwhile.
    pub fn commit_now(&self, key: &str, ttl: Duration) {
        self.cache.insert(Arc::from(key), Seen::Delivered { ttl });
    }

    /// Releases synchronously, only if `token` still holds the claim.
    pub fn release_now(&self, key: &str, token: ClaimToken) {
        self.cache.entry(Arc::from(key)).and_compute_with(|existing| match existing {
            Some(entry) if matches!(*entry.value(), Seen::InFlight { token: t, .. } if t == token.0) => Op::Remove,
            _ => Op::Nop,
        });
    }

    /// Number of remembered ids (approximate while writes are pending).
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SeenStore for MemoryStore {
    fn claim<'a>(&'a self, key: &'a str, in_flight_ttl: Duration) -> StoreFuture<'a, Claim> {
        let claim = self.claim_now(key, in_flight_ttl);
        Box::pin(async move { Ok(claim) })
    }

    fn commit<'a>(
        &'a self,
        key: &'a str,
        _token: ClaimToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.commit_now(key, ttl);
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, key: &'a str, token: ClaimToken) -> StoreFuture<'a, ()> {
        self.release_now(key, token);
        Box::pin(async { Ok(()) })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn claim_commit_duplicate() {
        let store = MemoryStore::new(100);
        let Claim::New(token) = store.claim_now("r:1", LONG) else {
            panic!()
        };
        assert!(
            matches!(store.claim_now("r:1", LONG), Claim::InFlight { retry_after } if retry_after <= LONG)
        );
        store.commit_now("r:1", LONG);
        let _ = token;
        assert_eq!(store.claim_now("r:1", LONG), Claim::Delivered);
    }

    #[test]
    fn release_lets_the_retry_through_but_only_with_the_right_token() {
        let store = MemoryStore::new(100);
        let Claim::New(token) = store.claim_now("r:1", LONG) else {
            panic!()
        };
        store.release_now("r:1", ClaimToken(token.0 + 1000));
        assert!(
            matches!(store.claim_now("r:1", LONG), Claim::InFlight { .. }),
            "foreign token ignored"
        );
        store.release_now("r:1", token);
        assert!(matches!(store.claim_now("r:1", LONG), Claim::New(_)));
    }

    #[test]
    fn abandoned_claims_expire() {
        let store = MemoryStore::new(100);
        assert!(matches!(
            store.claim_now("r:1", Duration::from_millis(50)),
            Claim::New(_)
        ));
        std::thread::sleep(Duration::from_millis(120));
        assert!(matches!(store.claim_now("r:1", LONG), Claim::New(_)));
    }

    #[test]
    fn delivered_ids_expire_after_their_ttl() {
        let store = MemoryStore::new(100);
        let Claim::New(_) = store.claim_now("r:1", LONG) else {
            panic!()
        };
        store.commit_now("r:1", Duration::from_millis(50));
        assert_eq!(store.claim_now("r:1", LONG), Claim::Delivered);
        std::thread::sleep(Duration::from_millis(120));
        assert!(matches!(store.claim_now("r:1", LONG), Claim::New(_)));
    }

    #[test]
    fn concurrent_claims_have_exactly_one_winner() {
        let store = Arc::new(MemoryStore::new(1000));
        let winners: usize = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    matches!(store.claim_now("r:race", LONG), Claim::New(_)) as usize
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(winners, 1);
    }

    #[test]
    fn a_full_store_still_admits_new_ids() {
        // With TinyLFU admission a new key can be refused under pressure; LRU never does.
        let store = MemoryStore::new(100);
        for i in 0..1000 {
            assert!(matches!(
                store.claim_now(&format!("r:{i}"), LONG),
                Claim::New(_)
            ));
            store.commit_now(&format!("r:{i}"), LONG);
            assert_eq!(
                store.claim_now(&format!("r:{i}"), LONG),
                Claim::Delivered,
                "id {i} remembered"
            );
        }
        assert!(store.len() <= 100);
    }
}
