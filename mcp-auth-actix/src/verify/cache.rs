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
//! 16 shards keep workers from contending. The cache is bounded in entries
//! and in bytes (tokens can be 16 KiB): when a shard is full, expired
//! entries go first, then arbitrary ones. The token is stored once, shared
//! with the `AuthInfo` that carries it. Its size and evictions are reported
//! to [`crate::metrics`] under its [`CacheKind`].

use std::{
    collections::HashMap,
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    sync::{Arc, Mutex},
    time::Instant,
};

use crate::metrics::CacheKind;

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
    token: Arc<str>,
    value: V,
    expires: Instant,
}

impl<V> Entry<V> {
    /// Estimated memory: the token, what was decoded from it (claims are
    /// at most about as large as the token) and the map overhead.
    fn cost(&self) -> usize {
        2 * self.token.len() + ENTRY_OVERHEAD
    }
}

const ENTRY_OVERHEAD: usize = 256;

#[derive(Default)]
struct ShardState<V> {
    map: HashMap<u64, Entry<V>, BuildHasherDefault<PreHashed>>,
    bytes: usize,
}

impl<V> ShardState<V> {
    /// Entries and bytes.
    fn size(&self) -> (usize, usize) {
        (self.map.len(), self.bytes)
    }

    fn remove(&mut self, hash: u64) {
        if let Some(entry) = self.map.remove(&hash) {
            self.bytes -= entry.cost();
        }
    }
}

type Shard<V> = Mutex<ShardState<V>>;

pub(crate) struct TokenCache<V> {
    kind: CacheKind,
    shards: Box<[Shard<V>]>,
    shard_capacity: usize,
    shard_bytes: usize,
    keys: [u64; 2],
}

/// The high and low halves of a 128-bit product, XORed.
fn folded_multiply(x: u64, y: u64) -> u64 {
    let full = u128::from(x) * u128::from(y);
    (full as u64) ^ ((full >> 64) as u64)
}

impl<V: Clone> TokenCache<V> {
    /// At most `capacity` entries and about `max_bytes` bytes; `None` when
    /// either is 0 (caching disabled).
    pub(crate) fn new(kind: CacheKind, capacity: usize, max_bytes: usize) -> Option<Self> {
        (capacity > 0 && max_bytes > 0).then(|| Self {
            kind,
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(ShardState {
                        map: HashMap::default(),
                        bytes: 0,
                    })
                })
                .collect(),
            shard_capacity: capacity.div_ceil(SHARDS),
            shard_bytes: max_bytes.div_ceil(SHARDS),
            keys: {
                // Two independent random keys from std's per-process seed.
                let state = RandomState::new();
                [state.hash_one(0u8), state.hash_one(1u8)]
            },
        })
    }

    /// Runs `f` on the locked shard of `token`'s hash and reports how
    /// the shard's size changed.
    fn with_shard<R>(&self, token: &[u8], f: impl FnOnce(u64, &mut ShardState<V>) -> R) -> R {
        let (hash, shard) = self.locate(token);
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let before = shard.size();
        let result = f(hash, &mut shard);
        self.kind.resized(before, shard.size());
        result
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
        let now = Instant::now();
        self.with_shard(token, |hash, shard| {
            let entry = shard.map.get(&hash)?;
            if entry.token.as_bytes() != token {
                return None;
            }
            if entry.expires > now {
                return Some(entry.value.clone());
            }
            shard.remove(hash);
            None
        })
    }

    /// Caches `value` for `token` until `expires`, evicting expired then
    /// arbitrary entries of the shard to stay within its bounds.
    pub(crate) fn insert(&self, token: Arc<str>, value: V, expires: Instant) {
        let now = Instant::now();
        if expires <= now {
            return;
        }
        let entry = Entry {
            token,
            value,
            expires,
        };
        let cost = entry.cost();
        if cost > self.shard_bytes {
            return;
        }
        let token = entry.token.clone();
        self.with_shard(token.as_bytes(), |hash, shard| {
            shard.remove(hash);
            let full = |s: &ShardState<V>| {
                s.map.len() >= self.shard_capacity || s.bytes + cost > self.shard_bytes
            };
            if full(shard) {
                shard.map.retain(|_, e| e.expires > now);
                shard.bytes = shard.map.values().map(Entry::cost).sum();
            }
            while full(shard) {
                let Some(victim) = shard.map.keys().next().copied() else {
                    break;
                };
                shard.remove(victim);
                self.kind.evicted();
            }
            shard.bytes += cost;
            shard.map.insert(hash, entry);
        });
    }

    /// Drops one token (e.g. its signing key was retired).
    pub(crate) fn remove(&self, token: &[u8]) {
        self.with_shard(token, |hash, shard| {
            if shard
                .map
                .get(&hash)
                .is_some_and(|e| e.token.as_bytes() == token)
            {
                shard.remove(hash);
            }
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap().map.len())
            .sum()
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().bytes).sum()
    }
}

/// What a dropped cache held leaves the size gauges.
impl<V> Drop for TokenCache<V> {
    fn drop(&mut self) {
        for shard in self.shards.iter_mut() {
            let shard = shard.get_mut().unwrap_or_else(|e| e.into_inner());
            self.kind.resized(shard.size(), (0, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn expiry_and_bound() {
        assert!(TokenCache::<u32>::new(CacheKind::Jwt, 0, 1 << 20).is_none());
        assert!(TokenCache::<u32>::new(CacheKind::Jwt, 10, 0).is_none());
        let cache = TokenCache::new(CacheKind::Jwt, 32, 1 << 20).unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        cache.insert("a".into(), 1, later);
        assert_eq!(cache.get(b"a"), Some(1));
        assert_eq!(cache.get(b"b"), None);
        cache.insert("past".into(), 2, Instant::now() - Duration::from_secs(1));
        assert_eq!(cache.get(b"past"), None);
        for i in 0..10_000 {
            cache.insert(format!("t{i}").into(), i, later);
        }
        assert!(cache.len() <= 32);
        cache.remove(b"t9999");
        assert_eq!(cache.get(b"t9999"), None);
    }

    #[test]
    fn same_suffix_different_token_is_a_miss() {
        let cache = TokenCache::new(CacheKind::Jwt, 32, 1 << 20).unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        let tail = "s".repeat(HASHED_SUFFIX);
        let (a, b) = (format!("AAAA{tail}"), format!("BBBB{tail}"));
        cache.insert(a.as_str().into(), 1, later);
        assert_eq!(cache.get(b.as_bytes()), None, "same hash, other token");
        assert_eq!(cache.get(a.as_bytes()), Some(1));
        cache.remove(b.as_bytes());
        assert_eq!(
            cache.get(a.as_bytes()),
            Some(1),
            "removing another token keeps this one"
        );
    }

    #[test]
    fn bounded_in_bytes() {
        let max = 1 << 20;
        let cache = TokenCache::new(CacheKind::Jwt, 100_000, max).unwrap();
        let later = Instant::now() + Duration::from_secs(60);
        for i in 0..1_000 {
            // 16 KiB tokens: 1,000 of them would be ~32 MiB with claims.
            let token = format!("{i:08}{}", "x".repeat(16 * 1024));
            cache.insert(token.into(), i, later);
        }
        assert!(cache.bytes() <= max, "{} > {max}", cache.bytes());
        assert!(cache.len() > 0);
        let counted: usize = cache
            .shards
            .iter()
            .flat_map(|s| {
                s.lock()
                    .unwrap()
                    .map
                    .values()
                    .map(Entry::cost)
                    .collect::<Vec<_>>()
            })
            .sum();
        assert_eq!(counted, cache.bytes());
        // A token larger than a shard's share is simply not cached.
        let small = TokenCache::new(CacheKind::Jwt, 10, 16 * 1024).unwrap();
        small.insert("y".repeat(4096).into(), 1, later);
        assert_eq!(small.len(), 0);
    }
}
