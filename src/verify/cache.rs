//! A bounded cache of verified tokens: a token seen again skips its signature check and parsing.
//!
//! Only what does not change for a token is cached: its claims (shared with the requests, so a
//! hit copies nothing) and which keys verified it. Expiry (`exp`, `nbf`, `iat` with leeway),
//! revocation, the authorization check, and whether those keys are still current run on every
//! request, hit or miss.
//!
//! Memory is bounded in entries and in bytes: an entry holds the claims' own copy of a token of
//! at most [`MAX_CACHED_TOKEN_BYTES`], never a view of a request's buffers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{PoisonError, RwLock};

use crate::claims::Claims;
use crate::keys::{KeyOrigin, KeyRole};
use crate::metrics::Meters;

/// Tokens longer than this are never cached (they are verified every time).
pub(crate) const MAX_CACHED_TOKEN_BYTES: usize = 2048;
const SHARDS: usize = 16;

pub(crate) struct TokenCache<C> {
    shards: Box<[RwLock<Shard<C>>]>,
    per_shard: usize,
    meters: Meters,
}

struct Shard<C> {
    /// Hash of the token's signature → the entries with that hash (almost always one).
    buckets: HashMap<u64, Vec<Entry<C>>, BuildHasherDefault<Prehashed>>,
    len: usize,
}

struct Entry<C> {
    /// The claims handed to requests: a hit shares them (a reference count, no copy). Their
    /// token is the whole token, which a hit must match byte for byte.
    claims: Claims<C>,
    role: KeyRole,
    /// The keys that verified it, as they were then.
    origin: KeyOrigin,
}

impl<C> Entry<C> {
    fn token(&self) -> &str {
        self.claims.token().as_str()
    }
}

/// Bits of the hash that the buckets' map does not use: it indexes by the low bits and filters
/// by the top seven.
fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// The buckets' keys are hashes already: hashing them again would only cost time.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; fold anything else in rather than lose it.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The entries of a cache that goes (its layer dropped) leave the shared gauge.
#[cfg(feature = "metrics")]
impl<C> Drop for TokenCache<C> {
    fn drop(&mut self) {
        self.meters.token_cache_entries(-(self.len() as f64));
    }
}

impl<C> TokenCache<C> {
    /// A cache of at most `capacity` tokens; `None` for a capacity of zero.
    pub(crate) fn new(capacity: usize, meters: Meters) -> Option<TokenCache<C>> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| RwLock::new(Shard { buckets: HashMap::default(), len: 0 }))
            .collect();
        Some(TokenCache { shards, per_shard, meters })
    }

    /// The hash of a token: its last 16 bytes, the signature's, mixed. No secret key is needed
    /// against crafted collisions: only verified tokens are ever stored, and their signatures are
    /// not the client's to choose, so a crafted token can only land in a bucket of the few
    /// verified tokens whose signatures happen to end alike. Equality is always checked on the
    /// whole token, so a signature borrowed from another token never matches.
    fn hash(&self, token: &[u8]) -> u64 {
        let tail = &token[token.len().saturating_sub(16)..];
        let mut bytes = [0u8; 16];
        bytes[16 - tail.len()..].copy_from_slice(tail);
        let (low, high) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>());
        let low = u64::from_le_bytes(low.copied().unwrap_or_default());
        let high = u64::from_le_bytes(high.copied().unwrap_or_default());
        // Fibonacci hashing spreads the base64 characters' bits over the whole word.
        (low ^ high.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard<C>> {
        &self.shards[shard_of(hash)]
    }

    /// The cached verification of exactly this token, and the keys that made it (the caller
    /// checks that they are still current).
    pub(crate) fn get(&self, token: &[u8]) -> Option<(Claims<C>, KeyRole, KeyOrigin)> {
        let hash = self.hash(token);
        let shard = self.shard(hash).read().unwrap_or_else(PoisonError::into_inner);
        let entry = shard.buckets.get(&hash)?.iter().find(|e| e.token().as_bytes() == token)?;
        Some((entry.claims.clone(), entry.role.clone(), entry.origin))
    }

    /// Remember a verified token (the one its claims carry). When the shard is full, entries
    /// that can no longer be valid (`exp + leeway` past) go first, then arbitrary ones.
    pub(crate) fn insert(
        &self,
        claims: &Claims<C>,
        role: &KeyRole,
        origin: KeyOrigin,
        now: i64,
        leeway: i64,
    ) {
        let token = claims.token().as_str();
        if token.len() > MAX_CACHED_TOKEN_BYTES {
            return;
        }
        let hash = self.hash(token.as_bytes());
        let mut shard = self.shard(hash).write().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = shard.buckets.get_mut(&hash) {
            // An entry of keys since replaced is verified again: the new verification wins.
            if let Some(entry) = bucket.iter_mut().find(|e| e.token() == token) {
                *entry = Entry { claims: claims.clone(), role: role.clone(), origin };
                return;
            }
        }
        let before = shard.len;
        if shard.len >= self.per_shard {
            shard.evict(now, leeway, self.per_shard);
        }
        shard.buckets.entry(hash).or_default().push(Entry {
            claims: claims.clone(),
            role: role.clone(),
            origin,
        });
        shard.len += 1;
        self.meters.token_cache_entries(shard.len as f64 - before as f64);
    }

    /// The bytes of tokens held, an upper bound of what the entries keep beyond their fixed
    /// size.
    #[cfg(test)]
    pub(crate) fn token_bytes(&self) -> usize {
        let shards = self.shards.iter().map(|s| s.read().unwrap_or_else(PoisonError::into_inner));
        shards.map(|s| s.buckets.values().flatten().map(|e| e.token().len()).sum::<usize>()).sum()
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len).sum()
    }

    /// The most tokens it may hold.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }
}

impl<C> Shard<C> {
    fn evict(&mut self, now: i64, leeway: i64, per_shard: usize) {
        let expired = |e: &Entry<C>| now.saturating_sub(leeway) >= e.claims.expires_at();
        for bucket in self.buckets.values_mut() {
            bucket.retain(|e| !expired(e));
        }
        self.buckets.retain(|_, bucket| !bucket.is_empty());
        self.len = self.buckets.values().map(Vec::len).sum();
        // Still full of live tokens: make room by dropping some (they are verified again if
        // they come back).
        while self.len >= per_shard {
            let Some(&hash) = self.buckets.keys().next() else { break };
            if let Some(bucket) = self.buckets.remove(&hash) {
                self.len -= bucket.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::RawToken;
    use crate::claims::{NoCustomClaims, RegisteredClaims};

    fn verified(token: &str, exp: i64) -> Claims<NoCustomClaims> {
        let registered = RegisteredClaims { exp, sub: Some("s".into()), ..Default::default() };
        Claims::new(registered, NoCustomClaims {}, RawToken::copied(token), None)
    }

    const OURS: KeyOrigin = KeyOrigin::Configured;

    #[test]
    fn signatures_spread_over_every_shard() {
        let cache = TokenCache::<NoCustomClaims>::new(1600, Meters::default()).unwrap();
        let mut per_shard = [0usize; SHARDS];
        for i in 0u32..16_000 {
            // Distinct signature tails, as base64url text.
            let signature = crate::base64url::encode(&i.wrapping_mul(2_654_435_761).to_le_bytes());
            let token = format!("h.p.{signature}{signature}{signature}");
            per_shard[shard_of(cache.hash(token.as_bytes()))] += 1;
        }
        assert!(per_shard.iter().all(|&n| (700..1300).contains(&n)), "{per_shard:?}");
    }

    #[test]
    fn hits_only_on_the_exact_token() {
        let cache = TokenCache::new(64, Meters::default()).unwrap();
        cache.insert(&verified("aaa.bbb.sig", 100), &KeyRole::Signing, OURS, 0, 5);
        let (claims, _, origin) = cache.get(b"aaa.bbb.sig").unwrap();
        assert_eq!((claims.expires_at(), origin), (100, OURS));
        // Same signature, another payload: no hit.
        assert!(cache.get(b"aaa.ccc.sig").is_none());
        assert!(cache.get(b"aaa.bbb.sih").is_none());
        assert_eq!(cache.len(), 1);
        // Verified again: the new verification replaces the old.
        cache.insert(&verified("aaa.bbb.sig", 200), &KeyRole::Previous, OURS, 0, 5);
        assert_eq!(cache.get(b"aaa.bbb.sig").unwrap().1, KeyRole::Previous);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn memory_stays_bounded() {
        let cache = TokenCache::new(100, Meters::default()).unwrap();
        for i in 0..10_000 {
            let claims = verified(&format!("h.p.{i}"), 1_000_000);
            cache.insert(&claims, &KeyRole::Signing, OURS, 0, 5);
            assert!(cache.len() <= cache.capacity());
        }
        assert!(cache.capacity() < 120);
        assert!(cache.token_bytes() <= cache.capacity() * MAX_CACHED_TOKEN_BYTES);
    }

    #[test]
    fn expired_tokens_are_evicted_first() {
        let entry = |token: &str, exp| Entry {
            claims: verified(token, exp),
            role: KeyRole::Signing,
            origin: OURS,
        };
        let mut shard = Shard { buckets: HashMap::default(), len: 0 };
        for (hash, (token, exp)) in
            [("old-1", 10), ("live-1", 1_000), ("old-2", 94), ("live-2", 96)]
                .into_iter()
                .enumerate()
        {
            shard.buckets.entry(hash as u64).or_default().push(entry(token, exp));
            shard.len += 1;
        }
        // At 100 with 5 s of leeway, tokens expiring at 95 or before can no longer be valid.
        shard.evict(100, 5, 3);
        let mut kept: Vec<&str> = shard.buckets.values().flatten().map(Entry::token).collect();
        kept.sort();
        assert_eq!(kept, ["live-1", "live-2"]);
        assert_eq!(shard.len, 2);
        // Full of live tokens: some make room.
        shard.evict(100, 5, 2);
        assert_eq!(shard.len, 1);
    }

    #[test]
    fn long_tokens_are_not_cached() {
        let cache = TokenCache::new(16, Meters::default()).unwrap();
        let long = format!("h.{}.s", "p".repeat(MAX_CACHED_TOKEN_BYTES));
        cache.insert(&verified(&long, 100), &KeyRole::Signing, OURS, 0, 5);
        assert!(cache.get(long.as_bytes()).is_none());
        assert!(TokenCache::<NoCustomClaims>::new(0, Meters::default()).is_none());
    }
}
