//! The proofs seen recently, so that none is accepted twice: each is kept for as long as it
//! could be accepted, in a bounded amount of memory, or in a store every instance shares.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::revocation::ReplayStore;

/// The proofs accepted recently, by a hash of their key and `jti`, in two generations of one
/// window each: a proof accepted at `t` is remembered until at least `t + window`, after which
/// it would be refused as stale anyway. Dropping a generation whole costs nothing per proof,
/// and a full cache refuses (rather than forgets) without scanning.
pub(crate) struct ReplayCache {
    capacity: usize,
    /// Seconds: how long after its first use a proof can still be accepted.
    window: i64,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    started: i64,
    current: HashSet<u128>,
    previous: HashSet<u128>,
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
    pub(crate) fn new(capacity: usize, window: i64) -> ReplayCache {
        let generations = Mutex::new(Generations::default());
        ReplayCache { capacity, window: window.max(1), generations }
    }

    /// Remember the proof `jti` of key `jkt`, seen at `now` (Unix seconds), if it is new.
    pub(crate) fn first_use(&self, jkt: &str, jti: &str, now: i64) -> FirstUse {
        let digest = proof_digest(jkt, jti);
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        let id = u128::from_le_bytes(id);
        let mut generations = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
        let g = &mut *generations;
        if now >= g.started.saturating_add(self.window) {
            let ended = std::mem::take(&mut g.current);
            // Two windows on, even the generation that just ended is out of its window.
            let stale = now >= g.started.saturating_add(self.window.saturating_mul(2));
            g.previous = if stale { HashSet::new() } else { ended };
            g.started = now;
        }
        if g.current.contains(&id) || g.previous.contains(&id) {
            return FirstUse::Replayed;
        }
        if g.current.len() + g.previous.len() >= self.capacity {
            return FirstUse::Full;
        }
        g.current.insert(id);
        FirstUse::Yes
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.generations.lock().unwrap();
        g.current.len() + g.previous.len()
    }
}

/// SHA-256 of a proof's key thumbprint and `jti`: its identity whatever the client's `jti`
/// (two clients may pick the same one).
fn proof_digest(jkt: &str, jti: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(jkt.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    hash.finalize().into()
}

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

/// A proof's id in a shared store: 43 characters whatever the client's `jti`.
pub(crate) fn shared_id(jkt: &str, jti: &str) -> String {
    crate::base64url::encode(&proof_digest(jkt, jti))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_accepted_once_within_its_window() {
        let cache = ReplayCache::new(10, 70);
        assert_eq!(cache.first_use("k", "a", 100), FirstUse::Yes);
        assert_eq!(cache.first_use("k", "a", 150), FirstUse::Replayed);
        assert_eq!(cache.first_use("other key", "a", 150), FirstUse::Yes);
        // Remembered a whole window after its first use, whatever the rotations.
        assert_eq!(cache.first_use("k", "a", 169), FirstUse::Replayed);
        assert_eq!(cache.first_use("k", "b", 200), FirstUse::Yes);
        assert_eq!(cache.first_use("k", "b", 269), FirstUse::Replayed);
        // Past its window the proof would be refused as stale anyway; its id may come again.
        assert_eq!(cache.first_use("k", "a", 400), FirstUse::Yes);
    }

    #[test]
    fn memory_stays_bounded_and_a_full_cache_refuses() {
        let cache = ReplayCache::new(3, 60);
        for jti in ["a", "b", "c"] {
            assert_eq!(cache.first_use("k", jti, 100), FirstUse::Yes);
        }
        assert_eq!(cache.first_use("k", "d", 100), FirstUse::Full);
        assert_eq!(cache.first_use("k", "a", 100), FirstUse::Replayed, "full, still remembered");
        // Two windows on, the first ones are gone and make room.
        assert_eq!(cache.first_use("k", "d", 221), FirstUse::Yes);
        assert!(cache.len() <= 3);
    }

    #[test]
    fn ids_are_bounded_whatever_the_jti() {
        assert_eq!(shared_id("k", &"j".repeat(8_000)).len(), 43);
        assert_ne!(shared_id("k1", "j"), shared_id("k", "1j"), "key and jti do not run together");
    }
}
