//! Bounded, sharded cache from a token to its verification result.
//!
//! Entries are keyed by a keyed mix of the token's length and its last 16
//! bytes, which lie in the signature for every JWS algorithm: two 64-bit
//! words XORed with per-cache random keys and folded through a 128-bit
//! multiply (the construction of `foldhash`), a few instructions whatever
//! the token length. The full token is stored and compared on every hit, so
//! a collision is a miss, never one caller seeing another's identity. Only
//! verified tokens are inserted and their signatures are unpredictable, so
//! colliding entries cannot be forced (and a shard is bounded anyway).
//! Each shard is a short-lived `std` mutex never held across an `.await`;
//! 16 shards keep workers from contending. When a shard is full, expired
//! entries go first, then an arbitrary one.

use std::{
    collections::HashMap,
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    sync::Mutex,
    time::Instant,
};

const SHARDS: usize = 16;
const HASHED_SUFFIX: usize = 16;

/// The map key is already a keyed hash: pass it through.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct Entry<V> {
    token: Box<[u8]>,
    value: V,
    expires: Instant,
}

type Shard<V> = Mutex<HashMap<u64, Entry<V>, BuildHasherDefault<PreHashed>>>;

pub(crate) struct TokenCache<V> {
    shards: Box<[Shard<V>]>,
    shard_capacity: usize,
    keys: [u64; 2],
}

/// The high and low halves of a 128-bit product, XORed.
fn folded_multiply(x: u64, y: u64) -> u64 {
    let full = u128::from(x) * u128::from(y);
    (full as u64) ^ ((full >> 64) as u64)
}

impl<V: Clone> TokenCache<V> {
    /// `None` when `capacity` is 0 (caching disabled).
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::default()))
                .collect(),
            shard_capacity: capacity.div_ceil(SHARDS),
            keys: {
                // Two independent random keys from std's per-process seed.
                let state = RandomState::new();
                [state.hash_one(0u8), state.hash_one(1u8)]
            },
        })
    }

    fn locate(&self, bytes: &[u8]) -> (u64, &Shard<V>) {
        let mut tail = [0u8; HASHED_SUFFIX];
        let suffix = &bytes[bytes.len().saturating_sub(HASHED_SUFFIX)..];
        tail[HASHED_SUFFIX - suffix.len()..].copy_from_slice(suffix);
        let (lo, hi) = tail.split_at(8);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let hash = folded_multiply(
            word(lo) ^ self.keys[0],
            word(hi) ^ self.keys[1] ^ bytes.len() as u64,
        );
        (hash, &self.shards[(hash >> 60) as usize % SHARDS])
    }

    /// The cached value, if present, for exactly this token, and not expired.
    pub(crate) fn get(&self, token: &[u8]) -> Option<V> {
        let (hash, shard) = self.locate(token);
        let now = Instant::now();
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(&hash)?;
        if *entry.token != *token {
            return None;
        }
        if entry.expires > now {
            return Some(entry.value.clone());
        }
        shard.remove(&hash);
        None
    }

    /// Caches `value` until `expires`.
    pub(crate) fn insert(&self, token: &[u8], value: V, expires: Instant) {
        let now = Instant::now();
        if expires <= now {
            return;
        }
        let (hash, shard) = self.locate(token);
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= self.shard_capacity && !shard.contains_key(&hash) {
            shard.retain(|_, e| e.expires > now);
            if shard.len() >= self.shard_capacity
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        let token = token.into();
        shard.insert(
            hash,
            Entry {
                token,
                value,
                expires,
            },
        );
    }

    /// Drops one token (e.g. its signing key was retired).
    pub(crate) fn remove(&self, token: &[u8]) {
        let (hash, shard) = self.locate(token);
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if shard.get(&hash).is_some_and(|e| *e.token == *token) {
            shard.remove(&hash);
        }
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
        cache.insert(b"a", 1, later);
        assert_eq!(cache.get(b"a"), Some(1));
        assert_eq!(cache.get(b"b"), None);
        cache.insert(b"past", 2, Instant::now() - Duration::from_secs(1));
        assert_eq!(cache.get(b"past"), None);
        for i in 0..10_000 {
            cache.insert(format!("t{i}").as_bytes(), i, later);
        }
        assert!(cache.len() <= 32);
        cache.remove(b"t9999");
        assert_eq!(cache.get(b"t9999"), None);
    }

    #[test]
    fn same_suffix_different_token_is_a_miss() {
        let cache = TokenCache::new(32).unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        let tail = "s".repeat(HASHED_SUFFIX);
        let (a, b) = (format!("AAAA{tail}"), format!("BBBB{tail}"));
        cache.insert(a.as_bytes(), 1, later);
        assert_eq!(cache.get(b.as_bytes()), None, "same hash, other token");
        assert_eq!(cache.get(a.as_bytes()), Some(1));
        cache.remove(b.as_bytes());
        assert_eq!(
            cache.get(a.as_bytes()),
            Some(1),
            "removing another token keeps this one"
        );
    }
}
