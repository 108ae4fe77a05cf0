//! [`KeyedHash`]: 128-bit keyed hashes for the in-memory stores that index
//! values a client chooses (DPoP proof ids, MCP session ids). The keys are
//! random per process, so nobody can predict or force a collision, and the
//! raw strings are never kept.

use std::hash::{BuildHasher, Hash, RandomState};

/// Two independently keyed 64-bit hashes, as one 128-bit value.
#[derive(Debug, Default)]
pub(crate) struct KeyedHash(RandomState, RandomState);

impl KeyedHash {
    pub(crate) fn hash<T: Hash>(&self, value: T) -> u128 {
        let high = self.0.hash_one(&value);
        let low = self.1.hash_one(&value);
        (u128::from(high) << 64) | u128::from(low)
    }
}
