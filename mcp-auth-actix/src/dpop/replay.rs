//! Replay detection for DPoP proofs (RFC 9449 §11.1): [`ReplayStore`] and
//! the in-process [`MemoryReplayStore`].
//!
//! The verifier asks the store once per accepted proof, last (after every
//! other check), with a key derived from the proof's key thumbprint and
//! `jti` by SHA-256: raw attacker strings never reach a store. The TTL
//! covers the time the proof would still be accepted (`iat` + window).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::future::{LocalBoxFuture, ready};

use crate::keyed_hash::KeyedHash;

/// A replay store could not answer. The proof is then refused (503), never
/// accepted unchecked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReplayError {
    message: String,
}

impl ReplayError {
    /// An error with a message for logs (do not put the key in it).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Remembers which DPoP proofs were already used.
///
/// Implementations must be atomic: of concurrent calls with the same key,
/// exactly one sees `Ok(true)`. Keys are short ASCII digests computed by the
/// crate.
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` for `ttl`: `Ok(true)` if it was not already recorded
    /// (first use), `Ok(false)` if it was (a replay), `Err` if the store
    /// cannot tell.
    fn check_and_store(
        &self,
        key: &str,
        ttl: Duration,
    ) -> LocalBoxFuture<'_, Result<bool, ReplayError>>;
}

impl<S: ReplayStore + ?Sized> ReplayStore for Arc<S> {
    fn check_and_store(
        &self,
        key: &str,
        ttl: Duration,
    ) -> LocalBoxFuture<'_, Result<bool, ReplayError>> {
        (**self).check_and_store(key, ttl)
    }
}

/// An in-process, bounded [`ReplayStore`] (the default).
///
/// Keys are kept as 128-bit keyed hashes with their expiry; expired entries
/// are dropped as new ones arrive (amortised O(1)), and no lock is held
/// across an await (the answer is ready at once). When `capacity` live
/// entries are held, new proofs are refused with [`ReplayError`] until some
/// expire: size it above the peak number of proofs per twice the `iat`
/// window. Each replica has its own memory: behind a load balancer, share a
/// store (e.g. `RedisReplayStore`, feature `redis`).
#[derive(Debug)]
pub struct MemoryReplayStore {
    capacity: usize,
    hasher: KeyedHash,
    inner: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// Expiry per key hash.
    expiry: HashMap<u128, Instant>,
    /// Insertion order, for expiry. An entry whose key was stored again
    /// later (after expiring) no longer matches `expiry` and is skipped.
    order: VecDeque<(u128, Instant)>,
    /// When `order` was last compacted (at capacity).
    compacted: Option<Instant>,
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

/// Longest TTL kept, whatever the caller asks.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

impl MemoryReplayStore {
    /// Default capacity: 100 000 proofs (a few MiB).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store holding at most `capacity` unexpired proofs.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            hasher: KeyedHash::default(),
            inner: Mutex::new(Seen::default()),
        }
    }

    /// Unexpired entries (and expired ones not yet dropped).
    pub fn len(&self) -> usize {
        self.lock().expiry.len()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn check_and_store_at(
        &self,
        key: &str,
        ttl: Duration,
        now: Instant,
    ) -> Result<bool, ReplayError> {
        let hash = self.hasher.hash(key);
        let expires = now + ttl.min(MAX_TTL);
        let mut seen = self.lock();
        seen.drop_expired(now);
        if seen.expiry.get(&hash).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        if seen.order.len() >= self.capacity {
            let compacted = seen.compact(now);
            if seen.order.len() >= self.capacity {
                drop(seen);
                // At most once a second (with the compaction): no log storm.
                if compacted {
                    tracing::warn!(
                        capacity = self.capacity,
                        "DPoP replay store is full; refusing proofs until entries expire"
                    );
                }
                return Err(ReplayError::new("the in-memory DPoP replay store is full"));
            }
        }
        seen.expiry.insert(hash, expires);
        seen.order.push_back((hash, expires));
        Ok(true)
    }
}

impl Seen {
    /// Pops expired entries from the front: amortised O(1) per insertion.
    fn drop_expired(&mut self, now: Instant) {
        while let Some(&(hash, until)) = self.order.front() {
            if until > now {
                break;
            }
            self.order.pop_front();
            if self.expiry.get(&hash) == Some(&until) {
                self.expiry.remove(&hash);
            }
        }
    }

    /// At capacity, entries with a short TTL may sit behind longer ones:
    /// drop every expired entry, at most once a second (O(n)). Returns
    /// whether it ran.
    fn compact(&mut self, now: Instant) -> bool {
        if self
            .compacted
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
        {
            return false;
        }
        self.compacted = Some(now);
        let expiry = &mut self.expiry;
        self.order.retain(|(hash, until)| {
            let live = *until > now;
            if !live && expiry.get(hash) == Some(until) {
                expiry.remove(hash);
            }
            live
        });
        true
    }
}

impl ReplayStore for MemoryReplayStore {
    fn check_and_store(
        &self,
        key: &str,
        ttl: Duration,
    ) -> LocalBoxFuture<'_, Result<bool, ReplayError>> {
        Box::pin(ready(self.check_and_store_at(key, ttl, Instant::now())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use futures_util::FutureExt;

    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn first_use_then_replay_then_expiry() {
        let store = MemoryReplayStore::default();
        let t0 = Instant::now();
        assert_eq!(store.check_and_store_at("a", MIN, t0), Ok(true));
        assert_eq!(store.check_and_store_at("a", MIN, t0), Ok(false));
        assert_eq!(store.check_and_store_at("b", MIN, t0), Ok(true));
        let later = t0 + MIN - Duration::from_millis(1);
        assert_eq!(store.check_and_store_at("a", MIN, later), Ok(false));
        // Expired: dropped, and the key may be used again.
        let expired = t0 + MIN;
        assert_eq!(store.check_and_store_at("c", MIN, expired), Ok(true));
        assert_eq!(store.len(), 1, "a and b were dropped");
        assert_eq!(store.check_and_store_at("a", MIN, expired), Ok(true));
        // Through the trait.
        let answer = store.check_and_store("a", MIN).now_or_never();
        assert_eq!(answer, Some(Ok(false)));
    }

    #[test]
    fn capacity_is_a_bound_and_fails_closed() {
        let store = MemoryReplayStore::new(3);
        let t0 = Instant::now();
        for key in ["a", "b", "c"] {
            assert_eq!(store.check_and_store_at(key, MIN, t0), Ok(true));
        }
        assert!(store.check_and_store_at("d", MIN, t0).is_err(), "full");
        // A replay is still recognised when full.
        assert_eq!(store.check_and_store_at("a", MIN, t0), Ok(false));
        assert_eq!(store.len(), 3);
        // Once entries expire there is room again.
        let later = t0 + MIN;
        assert_eq!(store.check_and_store_at("d", MIN, later), Ok(true));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn short_ttls_behind_long_ones_are_compacted_when_full() {
        let store = MemoryReplayStore::new(3);
        let t0 = Instant::now();
        let short = Duration::from_secs(1);
        assert_eq!(store.check_and_store_at("long", MIN, t0), Ok(true));
        assert_eq!(store.check_and_store_at("s1", short, t0), Ok(true));
        assert_eq!(store.check_and_store_at("s2", short, t0), Ok(true));
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(store.check_and_store_at("new", MIN, t1), Ok(true));
        assert_eq!(store.len(), 2);
        assert_eq!(store.check_and_store_at("long", MIN, t1), Ok(false));
        assert_eq!(store.check_and_store_at("s1", MIN, t1), Ok(true), "expired");
    }

    #[test]
    fn huge_ttls_do_not_overflow() {
        let store = MemoryReplayStore::new(2);
        let t0 = Instant::now();
        assert_eq!(store.check_and_store_at("a", Duration::MAX, t0), Ok(true));
        assert_eq!(store.check_and_store_at("a", Duration::MAX, t0), Ok(false));
    }

    #[test]
    fn concurrent_first_use_has_one_winner() {
        const THREADS: usize = 8;
        for round in 0..20 {
            let store = Arc::new(MemoryReplayStore::default());
            let barrier = Arc::new(Barrier::new(THREADS));
            let key = format!("key-{round}");
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (store, barrier, key) = (store.clone(), barrier.clone(), key.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.check_and_store(&key, MIN).now_or_never()
                    })
                })
                .collect();
            let firsts = handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|answer| *answer == Some(Ok(true)))
                .count();
            assert_eq!(firsts, 1, "round {round}");
        }
    }

    #[test]
    fn keys_are_not_stored_raw() {
        let store = MemoryReplayStore::default();
        let secret_looking = "jkt-and-jti-that-must-not-be-kept";
        store
            .check_and_store_at(secret_looking, MIN, Instant::now())
            .unwrap();
        assert!(!format!("{store:?}").contains(secret_looking));
    }
}
