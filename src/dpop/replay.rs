//! The proofs seen recently, so that none is accepted twice: each is kept until its `iat`
//! window has passed, in a bounded amount of memory, or in a store every instance shares.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::revocation::ReplayStore;

/// A policy's shared store: compared by identity, shown by name only.
#[derive(Clone)]
pub(crate) struct SharedStore(pub(crate) Arc<dyn ReplayStore>);

impl PartialEq for SharedStore {
    fn eq(&self, other: &SharedStore) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedStore {}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedStore")
    }
}

/// A proof's id in a shared store: bounded in size whatever the client's `jti`, and specific
/// to the key (two clients may pick the same `jti`).
pub(crate) fn shared_id(jkt: &str, jti: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(jkt.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    crate::base64url::encode(&hash.finalize())
}

/// Proof ids (with their key's thumbprint) until the moment they could no longer be accepted.
pub(crate) struct ReplayCache {
    capacity: usize,
    seen: Mutex<HashMap<(String, String), i64>>,
}

/// What the cache says of a proof.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FirstUse {
    Yes,
    /// Seen before within its window.
    Replayed,
    /// The cache is full of proofs still in their window: refusing is the safe answer.
    Full,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> ReplayCache {
        ReplayCache { capacity, seen: Mutex::new(HashMap::new()) }
    }

    /// Remember the proof `jti` of key `jkt` until `until` (Unix seconds), if it is new.
    pub(crate) fn first_use(&self, jkt: &str, jti: &str, until: i64, now: i64) -> FirstUse {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (jkt.to_owned(), jti.to_owned());
        match seen.get(&key) {
            Some(&kept) if kept >= now => return FirstUse::Replayed,
            _ => {}
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, kept| *kept >= now);
            if seen.len() >= self.capacity {
                return FirstUse::Full;
            }
        }
        seen.insert(key, until);
        FirstUse::Yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_accepted_once_within_its_window() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.first_use("k", "a", 160, 100), FirstUse::Yes);
        assert_eq!(cache.first_use("k", "a", 160, 150), FirstUse::Replayed);
        assert_eq!(cache.first_use("other key", "a", 160, 150), FirstUse::Yes);
        // Past its window the proof would be refused as stale anyway; its id may come again.
        assert_eq!(cache.first_use("k", "a", 230, 170), FirstUse::Yes);
    }

    #[test]
    fn memory_stays_bounded_and_a_full_cache_refuses() {
        let cache = ReplayCache::new(3);
        for jti in ["a", "b", "c"] {
            assert_eq!(cache.first_use("k", jti, 160, 100), FirstUse::Yes);
        }
        assert_eq!(cache.first_use("k", "d", 160, 100), FirstUse::Full);
        // Once the first ones are out of their window, they make room.
        assert_eq!(cache.first_use("k", "d", 260, 200), FirstUse::Yes);
        assert!(cache.seen.lock().unwrap().len() <= 3);
    }
}
