//! The embedded store: a bounded moka cache with LRU eviction.

use super::{Claim, ClaimToken, SeenStore, StoreFuture, StoreKey};
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the store knows of one event id, and until when.
///
/// The deadline lives in the value and is checked on each claim, instead of a per-entry
/// timer in the cache: an expired entry reads as absent and is overwritten, and LRU eviction
/// bounds the size either way. This saves the timer wheel's memory on every remembered id.
#[derive(Debug, Clone, Copy)]
enum Seen {
    InFlight { token: u128, until: Instant },
    Delivered { until: Instant },
}

impl Seen {
    fn until(self) -> Instant {
        match self {
            Seen::InFlight { until, .. } | Seen::Delivered { until } => until,
        }
    }
}

/// Keys are held as a 128-bit SHA-256 digest rather than as strings: 16 bytes whatever the id's
/// length, no allocation per claim, and a collision is as likely as guessing a 128-bit key
/// (only verified requests make keys, so an attacker cannot aim at one either).
type KeyDigest = u128;

fn digest(key: &StoreKey) -> KeyDigest {
    u128::from_le_bytes(key.digest())
}

/// An in-process [`SeenStore`] holding at most `capacity` event ids.
///
/// Eviction is plain LRU: moka's default TinyLFU admission may refuse a brand-new key when
/// the cache is full, which would let a replay of that event through.
///
/// ```
/// use hookgate::store::{Claim, MemoryStore, SeenStore, StoreKey};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new(1_000);
/// let key = StoreKey::new("stripe", "evt_1");
/// let Claim::New(token) = store.claim(&key, Duration::from_secs(35)).await.unwrap() else {
///     panic!("first claim is new");
/// };
/// assert!(matches!(store.claim(&key, Duration::from_secs(35)).await.unwrap(), Claim::InFlight { .. }));
/// store.commit(&key, token, Duration::from_secs(3600)).await.unwrap();
/// assert_eq!(store.claim(&key, Duration::from_secs(35)).await.unwrap(), Claim::Delivered);
/// # });
/// ```
pub struct MemoryStore {
    cache: Cache<KeyDigest, Seen>,
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
                .build(),
            next_token: AtomicU64::new(1),
        }
    }

    /// Claims synchronously (the memory store never waits).
    pub fn claim_now(&self, key: &StoreKey, in_flight_ttl: Duration) -> Claim {
        let token = u128::from(self.next_token.fetch_add(1, Ordering::Relaxed));
        let now = Instant::now();
        let claimed = Seen::InFlight {
            token,
            until: now + in_flight_ttl,
        };
        let result = self
            .cache
            .entry(digest(key))
            .and_compute_with(|existing| match existing {
                Some(entry) if entry.value().until() > now => Op::Nop,
                // Absent, or expired: the claim is new.
                _ => Op::Put(claimed),
            });
        match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => Claim::New(ClaimToken(token)),
            CompResult::Unchanged(entry) => match *entry.value() {
                Seen::Delivered { .. } => Claim::Delivered,
                Seen::InFlight { until, .. } => Claim::InFlight {
                    retry_after: until.saturating_duration_since(now),
                },
            },
            // The closure above only puts or leaves the entry as it is.
            CompResult::StillNone(_) | CompResult::Removed(_) => {
                unreachable!("claim either puts or leaves the entry unchanged")
            }
        }
    }

    /// Commits synchronously. An upstream 2xx means the event was delivered, so the id is
    /// remembered even if this claim had expired meanwhile.
    pub fn commit_now(&self, key: &StoreKey, ttl: Duration) {
        let until = Instant::now() + ttl;
        self.cache.insert(digest(key), Seen::Delivered { until });
    }

    /// Releases synchronously, only if `token` still holds the claim.
    pub fn release_now(&self, key: &StoreKey, token: ClaimToken) {
        self.cache
            .entry(digest(key))
            .and_compute_with(|existing| match existing {
                Some(entry) if matches!(*entry.value(), Seen::InFlight { token: t, .. } if t == token.0) => {
                    Op::Remove
                }
                _ => Op::Nop,
            });
    }

    /// Number of entries held, claims included (approximate while writes are pending). An
    /// expired entry counts until it is evicted or claimed again.
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
    fn claim<'a>(&'a self, key: &'a StoreKey, in_flight_ttl: Duration) -> StoreFuture<'a, Claim> {
        let claim = self.claim_now(key, in_flight_ttl);
        Box::pin(async move { Ok(claim) })
    }

    fn commit<'a>(
        &'a self,
        key: &'a StoreKey,
        _token: ClaimToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.commit_now(key, ttl);
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, key: &'a StoreKey, token: ClaimToken) -> StoreFuture<'a, ()> {
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
    use std::sync::Arc;

    const LONG: Duration = Duration::from_secs(60);

    fn k(id: &str) -> StoreKey {
        StoreKey::new("r", id)
    }

    #[test]
    fn claim_commit_duplicate() {
        let store = MemoryStore::new(100);
        let Claim::New(token) = store.claim_now(&k("1"), LONG) else {
            panic!()
        };
        assert!(
            matches!(store.claim_now(&k("1"), LONG), Claim::InFlight { retry_after } if retry_after <= LONG)
        );
        store.commit_now(&k("1"), LONG);
        let _ = token;
        assert_eq!(store.claim_now(&k("1"), LONG), Claim::Delivered);
    }

    #[test]
    fn release_lets_the_retry_through_but_only_with_the_right_token() {
        let store = MemoryStore::new(100);
        let Claim::New(token) = store.claim_now(&k("1"), LONG) else {
            panic!()
        };
        store.release_now(&k("1"), ClaimToken(token.0 + 1000));
        assert!(
            matches!(store.claim_now(&k("1"), LONG), Claim::InFlight { .. }),
            "foreign token ignored"
        );
        store.release_now(&k("1"), token);
        assert!(matches!(store.claim_now(&k("1"), LONG), Claim::New(_)));
    }

    #[test]
    fn abandoned_claims_expire() {
        let store = MemoryStore::new(100);
        assert!(matches!(
            store.claim_now(&k("1"), Duration::from_millis(50)),
            Claim::New(_)
        ));
        std::thread::sleep(Duration::from_millis(120));
        assert!(matches!(store.claim_now(&k("1"), LONG), Claim::New(_)));
    }

    #[test]
    fn delivered_ids_expire_after_their_ttl() {
        let store = MemoryStore::new(100);
        let Claim::New(_) = store.claim_now(&k("1"), LONG) else {
            panic!()
        };
        store.commit_now(&k("1"), Duration::from_millis(50));
        assert_eq!(store.claim_now(&k("1"), LONG), Claim::Delivered);
        std::thread::sleep(Duration::from_millis(120));
        assert!(matches!(store.claim_now(&k("1"), LONG), Claim::New(_)));
    }

    #[test]
    fn concurrent_claims_have_exactly_one_winner() {
        let store = Arc::new(MemoryStore::new(1000));
        let winners: usize = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    matches!(store.claim_now(&k("race"), LONG), Claim::New(_)) as usize
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
                store.claim_now(&k(&i.to_string()), LONG),
                Claim::New(_)
            ));
            store.commit_now(&k(&i.to_string()), LONG);
            assert_eq!(
                store.claim_now(&k(&i.to_string()), LONG),
                Claim::Delivered,
                "id {i} remembered"
            );
        }
        assert!(store.len() <= 100);
    }
}
