//! Bounded, sharded cache from a token to its verification result.
//!
//! Keys are the tokens themselves (compared in full, so no hash collision
//! can hand one caller another's identity). Each shard is a short-lived
//! `std` mutex that is never held across an `.await`; 16 shards keep workers
//! from contending. When a shard is full, expired entries go first, then an
//! arbitrary one.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::Mutex,
    time::Instant,
};

const SHARDS: usize = 16;

type Shard<V> = Mutex<HashMap<Box<str>, (V, Instant)>>;

pub(crate) struct TokenCache<V> {
    shards: Box<[Shard<V>]>,
    shard_capacity: usize,
    hasher: RandomState,
}

impl<V: Clone> TokenCache<V> {
    /// `None` when `capacity` is 0 (caching disabled).
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            shard_capacity: capacity.div_ceil(SHARDS),
            hasher: RandomState::new(),
        })
    }

    fn shard(&self, token: &str) -> &Shard<V> {
        let i = self.hasher.hash_one(token) as usize % SHARDS;
        &self.shards[i]
    }

    /// The cached value, if present and not expired.
    pub(crate) fn get(&self, token: &str) -> Option<V> {
        let now = Instant::now();
        let mut shard = self.shard(token).lock().unwrap_or_else(|e| e.into_inner());
        match shard.get(token) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                shard.remove(token);
                None
            }
            None => None,
        }
    }

    /// Caches `value` until `expires`.
    pub(crate) fn insert(&self, token: &str, value: V, expires: Instant) {
        let now = Instant::now();
        if expires <= now {
            return;
        }
        let mut shard = self.shard(token).lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.shard_capacity && !shard.contains_key(token) {
            shard.retain(|_, (_, exp)| *exp > now);
            if shard.len() >= self.shard_capacity
                && let Some(victim) = shard.keys().next().cloned()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(token.into(), (value, expires));
    }

    /// Drops one token (e.g. its signing key was retired).
    pub(crate) fn remove(&self, token: &str) {
        self.shard(token)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn expiry_and_bound() {
        assert!(TokenCache::<u32>::new(0).is_none());
        let cache = TokenCache::new(32).unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        cache.insert("a", 1, later);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
        cache.insert("past", 2, Instant::now() - Duration::from_secs(1));
        assert_eq!(cache.get("past"), None);
        for i in 0..10_000 {
            cache.insert(&format!("t{i}"), i, later);
        }
        assert!(cache.len() <= 32);
        cache.remove("t9999");
        assert_eq!(cache.get("t9999"), None);
    }
}
