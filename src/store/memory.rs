//! The embedded store: delivered ids in a bounded moka cache with LRU eviction, claims in
//! flight in a small sharded map.
//!
//! Claims live a few milliseconds to `claim_timeout` and number at most the requests in
//! flight, so they stay out of the cache: a delivery writes the cache once (its commit), a
//! duplicate only reads it, and a failed delivery never touches it.

use super::{Claim, ClaimToken, SeenStore, StoreFuture, StoreKey};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shards of the in-flight map (a power of two): concurrent claims rarely share a lock.
const SHARDS: usize = 16;

/// Beyond this many entries, a shard drops its expired claims (abandoned by a crash of the
/// delivery, never settled) when it next takes one.
const SWEEP_ABOVE: usize = 1024;

/// The end of an id's `dedup_ttl`, in milliseconds after the store's epoch: 8 bytes where an
/// `Instant` takes 16, on every remembered id.
type Deadline = u64;

/// A claim in flight.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    token: u128,
    until: Instant,
}

/// Keys are held as a 128-bit SHA-256 digest rather than as strings: 16 bytes whatever the id's
/// length, no allocation per claim, and a collision is as likely as guessing a 128-bit key
/// (only verified requests make keys, so an attacker cannot aim at one either).
type KeyDigest = u128;

fn digest(key: &StoreKey) -> KeyDigest {
    u128::from_le_bytes(key.digest())
}

/// Hashes a [`KeyDigest`] by folding it with a per-store random seed: the digest is already a
/// uniform SHA-256 half, so SipHash over it (the std default, four times per delivered event)
/// buys nothing. The seed keeps bucket positions unpredictable across processes anyway.
#[derive(Clone)]
struct DigestHashing {
    seed: u64,
}

impl DigestHashing {
    fn new() -> Self {
        use std::hash::BuildHasher as _;
        DigestHashing {
            seed: std::collections::hash_map::RandomState::new().hash_one(0u8),
        }
    }
}

impl std::hash::BuildHasher for DigestHashing {
    type Hasher = DigestHasher;

    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(self.seed)
    }
}

/// See [`DigestHashing`].
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u128(&mut self, digest: u128) {
        // Both halves and the seed, mixed by one multiply (the digest is uniform already).
        let folded = (digest as u64) ^ ((digest >> 64) as u64) ^ self.0;
        self.0 = folded.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128` keys are hashed here; anything else still gets a deterministic mix.
        for chunk in bytes.chunks(16) {
            let mut word = [0u8; 16];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u128(u128::from_le_bytes(word));
        }
    }
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
    /// Delivered ids, each with the end of its `dedup_ttl` (the deadline lives in the value
    /// and is checked on each claim instead of a per-entry timer: an expired id reads as
    /// absent, and LRU bounds the size either way, which saves the timer wheel's memory).
    delivered: Cache<KeyDigest, Deadline, DigestHashing>,
    /// The origin of [`Deadline`]s.
    epoch: Instant,
    in_flight: [Mutex<HashMap<KeyDigest, InFlight, DigestHashing>>; SHARDS],
    next_token: AtomicU64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("delivered", &self.delivered.entry_count())
            .finish()
    }
}

impl MemoryStore {
    /// A store remembering at most `capacity` event ids.
    pub fn new(capacity: u64) -> Self {
        let hashing = DigestHashing::new();
        MemoryStore {
            delivered: Cache::builder()
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .build_with_hasher(hashing.clone()),
            epoch: Instant::now(),
            in_flight: std::array::from_fn(|_| Mutex::new(HashMap::with_hasher(hashing.clone()))),
            next_token: AtomicU64::new(1),
        }
    }

    fn deadline(&self, at: Instant) -> Deadline {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn shard(
        &self,
        digest: KeyDigest,
    ) -> std::sync::MutexGuard<'_, HashMap<KeyDigest, InFlight, DigestHashing>> {
        // A panic never happens under this lock; recover the map if one ever did.
        self.in_flight[(digest as usize) & (SHARDS - 1)]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Claims synchronously (the memory store never waits).
    pub fn claim_now(&self, key: &StoreKey, in_flight_ttl: Duration) -> Claim {
        let digest = digest(key);
        let now = Instant::now();
        // Under the shard's lock, so a commit (which writes the cache before it removes its
        // claim) is seen either as in flight or as delivered, never as neither.
        let mut claims = self.shard(digest);
        // `contains_key` first: a new id (the common case) then costs moka no read record;
        // a remembered one is read (and so refreshed in the LRU order) as before.
        if self.delivered.contains_key(&digest)
            && self
                .delivered
                .get(&digest)
                .is_some_and(|until| until > self.deadline(now))
        {
            return Claim::Delivered;
        }
        if let Some(claim) = claims.get(&digest).filter(|c| c.until > now) {
            return Claim::InFlight {
                retry_after: claim.until.saturating_duration_since(now),
            };
        }
        if claims.len() >= SWEEP_ABOVE {
            claims.retain(|_, claim| claim.until > now);
        }
        let token = u128::from(self.next_token.fetch_add(1, Ordering::Relaxed));
        claims.insert(
            digest,
            InFlight {
                token,
                until: now + in_flight_ttl,
            },
        );
        Claim::New(ClaimToken(token))
    }

    /// Commits synchronously. An upstream 2xx means the event was delivered, so the id is
    /// remembered even if this claim had expired meanwhile.
    pub fn commit_now(&self, key: &StoreKey, token: ClaimToken, ttl: Duration) {
        let digest = digest(key);
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let until = self.deadline(Instant::now()).saturating_add(ttl);
        self.delivered.insert(digest, until);
        let mut claims = self.shard(digest);
        if claims.get(&digest).is_some_and(|c| c.token == token.0) {
            claims.remove(&digest);
        }
    }

    /// Releases synchronously, only if `token` still holds the claim.
    pub fn release_now(&self, key: &StoreKey, token: ClaimToken) {
        let digest = digest(key);
        let mut claims = self.shard(digest);
        if claims.get(&digest).is_some_and(|c| c.token == token.0) {
            claims.remove(&digest);
        }
    }

    /// Number of ids held, delivered and in flight (approximate while writes are pending).
    /// An expired id counts until it is evicted or claimed again.
    pub fn len(&self) -> u64 {
        self.delivered.run_pending_tasks();
        let in_flight: usize = (0..SHARDS)
            .map(|i| {
                self.in_flight[i]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum();
        self.delivered.entry_count() + in_flight as u64
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
        token: ClaimToken,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.commit_now(key, token, ttl);
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
        store.commit_now(&k("1"), token, LONG);
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
        let Claim::New(token) = store.claim_now(&k("1"), LONG) else {
            panic!()
        };
        store.commit_now(&k("1"), token, Duration::from_millis(50));
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
            let Claim::New(token) = store.claim_now(&k(&i.to_string()), LONG) else {
                panic!("id {i} is new")
            };
            store.commit_now(&k(&i.to_string()), token, LONG);
            assert_eq!(
                store.claim_now(&k(&i.to_string()), LONG),
                Claim::Delivered,
                "id {i} remembered"
            );
        }
        assert!(store.len() <= 100);
    }

    #[test]
    fn a_commit_after_the_claim_expired_remembers_the_id_but_keeps_the_new_claim() {
        let store = MemoryStore::new(100);
        let Claim::New(slow) = store.claim_now(&k("1"), Duration::from_millis(30)) else {
            panic!()
        };
        std::thread::sleep(Duration::from_millis(60));
        let Claim::New(fresh) = store.claim_now(&k("1"), LONG) else {
            panic!("the expired claim is free")
        };
        store.release_now(&k("1"), slow);
        assert!(matches!(
            store.claim_now(&k("1"), LONG),
            Claim::InFlight { .. }
        ));
        // The slow delivery did succeed: its id is remembered, the fresh claim settles later.
        store.commit_now(&k("1"), slow, LONG);
        assert_eq!(store.claim_now(&k("1"), LONG), Claim::Delivered);
        store.release_now(&k("1"), fresh);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn abandoned_claims_are_swept_and_do_not_grow_without_bound() {
        let store = MemoryStore::new(100);
        for i in 0..(SWEEP_ABOVE * SHARDS * 2) {
            let _ = store.claim_now(&k(&i.to_string()), Duration::ZERO);
        }
        assert!(store.len() <= (SWEEP_ABOVE * SHARDS) as u64 + SHARDS as u64);
    }
}
