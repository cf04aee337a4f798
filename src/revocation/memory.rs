//! [`InMemoryRevocations`]: a denylist in the process's memory, for a single server.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::check::{RevocationCheck, RevocationFuture, RevocationStatus};
use super::retained_until;
use crate::claims::RegisteredClaims;
use crate::clock::{Clock, SystemClock};

/// An in-process denylist, for a single server (several servers need a shared store).
///
/// Each entry expires by itself at the moment it is given, which should be the last moment any
/// token it covers can be accepted: [`Issuer::revocation_until`](crate::Issuer::revocation_until)
/// computes it (the session limit or `exp`, plus the leeway and a margin). A moment already past
/// is kept for [`MIN_RETENTION`](super::MIN_RETENTION) instead, never dropped on arrival. Expired
/// entries are purged as new ones are added, so memory stays proportional to the entries that
/// still matter. Cloning shares the list.
///
/// ```
/// use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationStatus};
/// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
///
/// let revocations = InMemoryRevocations::new();
/// let issuer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .revocation(revocations.clone())
///     .build()?
///     .issuer();
/// let claims = issuer.verify::<NoCustomClaims>(&issuer.issue("42", &())?.token)?;
/// assert_eq!(revocations.status(claims.registered()), RevocationStatus::Active);
/// // Logout: every token of the session, for as long as any of them could be accepted.
/// let until = issuer.revocation_until(&claims);
/// revocations.revoke_session(claims.session_id().unwrap(), until);
/// assert_eq!(revocations.status(claims.registered()), RevocationStatus::Revoked);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct InMemoryRevocations {
    state: Arc<RwLock<State>>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct State {
    /// `jti` → until when the entry matters.
    tokens: HashMap<String, i64>,
    /// `sid` → until when.
    sessions: HashMap<String, i64>,
    /// `sub` → (sessions started at or before this time are revoked, until when).
    subjects: HashMap<String, (i64, i64)>,
    /// Entry count after the last purge; the next purge happens when it doubles.
    purge_at: usize,
}

impl InMemoryRevocations {
    /// An empty list on the system clock.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// assert!(InMemoryRevocations::new().is_empty());
    /// ```
    pub fn new() -> InMemoryRevocations {
        InMemoryRevocations::with_clock(SystemClock)
    }

    /// An empty list whose entries expire by `clock` (use the layer's clock in tests).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::ManualClock;
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let clock = ManualClock::new(1_000);
    /// let revocations = InMemoryRevocations::with_clock(clock.clone());
    /// revocations.revoke_token("t1", 1_600);
    /// clock.advance(Duration::from_secs(601));
    /// revocations.purge_expired();
    /// assert!(revocations.is_empty(), "the token it named has expired by itself");
    /// ```
    pub fn with_clock(clock: impl Clock) -> InMemoryRevocations {
        InMemoryRevocations { state: Arc::default(), clock: Arc::new(clock) }
    }

    /// Revoke one token by its `jti`, until `expires_at`:
    /// [`Issuer::revocation_until`](crate::Issuer::revocation_until) of the token (its `exp` is
    /// not enough: it stays acceptable for the leeway after).
    ///
    /// Only that token: every renewal gets a new `jti`, so renewals already handed out stay
    /// valid. To end a login for good (logout, a stolen token), revoke its session with
    /// [`revoke_session`](InMemoryRevocations::revoke_session): every token of the chain
    /// carries the same `sid`, which a renewal adds if the first token had none.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let revocations = InMemoryRevocations::new();
    /// revocations.revoke_token("6f1c0e2a-token-id", i64::MAX);
    /// assert_eq!(revocations.len(), 1);
    /// ```
    pub fn revoke_token(&self, jti: impl Into<String>, expires_at: i64) {
        self.write(|state, now| {
            state.tokens.insert(jti.into(), retained_until(expires_at, now));
        });
    }

    /// Revoke a whole session, every renewed token included, by its `sid`, until `until`:
    /// [`Issuer::revocation_until`](crate::Issuer::revocation_until) of any token of the session
    /// (for ours, the session limit plus the leeway and a margin).
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let revocations = InMemoryRevocations::new();
    /// revocations.revoke_session("session-42", i64::MAX);
    /// assert!(!revocations.is_empty());
    /// ```
    pub fn revoke_session(&self, sid: impl Into<String>, until: i64) {
        self.write(|state, now| {
            state.sessions.insert(sid.into(), retained_until(until, now));
        });
    }

    /// Revoke every session of `sub` that started at or before `started_before` (a password
    /// change, a locked account), until `until`: at least `started_before` plus the longest
    /// session allowed, the leeway and [`STORE_CLOCK_MARGIN`](super::STORE_CLOCK_MARGIN), the
    /// last moment a token of such a session can be accepted.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationStatus};
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let revocations = InMemoryRevocations::new();
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let before = issuer.verify::<NoCustomClaims>(&issuer.issue("alice", &())?.token)?;
    /// // A password change now: sessions begun up to now end.
    /// revocations.revoke_subject("alice", issuer.now(), i64::MAX);
    /// assert_eq!(revocations.status(before.registered()), RevocationStatus::Revoked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn revoke_subject(&self, sub: impl Into<String>, started_before: i64, until: i64) {
        self.write(|state, now| {
            state.subjects.insert(sub.into(), (started_before, retained_until(until, now)));
        });
    }

    /// The status of a token with these claims.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationStatus};
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let revocations = InMemoryRevocations::new();
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let claims = issuer.verify::<NoCustomClaims>(&issuer.issue("42", &())?.token)?;
    /// assert_eq!(revocations.status(claims.registered()), RevocationStatus::Active);
    /// revocations.revoke_token(claims.token_id().unwrap(), claims.expires_at());
    /// assert_eq!(revocations.status(claims.registered()), RevocationStatus::Revoked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self, claims: &RegisteredClaims) -> RevocationStatus {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let listed = |map: &HashMap<String, i64>, key: Option<&str>| {
            key.is_some_and(|key| map.contains_key(key))
        };
        let subject = claims
            .subject()
            .and_then(|sub| state.subjects.get(sub))
            .is_some_and(|(before, _)| claims.session_start().is_none_or(|start| start <= *before));
        let token = listed(&state.tokens, claims.token_id());
        if token || listed(&state.sessions, claims.session_id()) || subject {
            RevocationStatus::Revoked
        } else {
            RevocationStatus::Active
        }
    }

    /// How many entries are held (expired ones included until the next purge).
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let revocations = InMemoryRevocations::new();
    /// revocations.revoke_session("s1", i64::MAX);
    /// revocations.revoke_session("s2", i64::MAX);
    /// assert_eq!(revocations.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.tokens.len() + state.sessions.len() + state.subjects.len()
    }

    /// Whether no entry is held.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let revocations = InMemoryRevocations::new();
    /// assert!(revocations.is_empty());
    /// revocations.revoke_session("s1", i64::MAX);
    /// assert!(!revocations.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop the entries that no longer matter. Adding entries purges too, so call this only to
    /// free memory after a burst of revocations.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::ManualClock;
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let clock = ManualClock::new(1_000);
    /// let revocations = InMemoryRevocations::with_clock(clock.clone());
    /// revocations.revoke_session("short", 1_400);
    /// revocations.revoke_session("long", 9_000);
    /// clock.advance(Duration::from_secs(400));
    /// revocations.purge_expired();
    /// assert_eq!(revocations.len(), 1);
    /// ```
    pub fn purge_expired(&self) {
        let now = self.clock.now();
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        purge(&mut state, now);
    }

    fn write(&self, change: impl FnOnce(&mut State, i64)) {
        let now = self.clock.now();
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        change(&mut state, now);
        let len = state.tokens.len() + state.sessions.len() + state.subjects.len();
        if len >= state.purge_at {
            purge(&mut state, now);
        }
    }
}

fn purge(state: &mut State, now: i64) {
    state.tokens.retain(|_, until| *until > now);
    state.sessions.retain(|_, until| *until > now);
    state.subjects.retain(|_, (_, until)| *until > now);
    let len = state.tokens.len() + state.sessions.len() + state.subjects.len();
    state.purge_at = (len * 2).max(64);
}

impl Default for InMemoryRevocations {
    fn default() -> Self {
        InMemoryRevocations::new()
    }
}

impl RevocationCheck for InMemoryRevocations {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        RevocationFuture::ready(Ok(self.status(claims)))
    }
}

impl fmt::Debug for InMemoryRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryRevocations").field("entries", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn claims(jti: &str, sid: &str, sub: &str, start: i64) -> RegisteredClaims {
        RegisteredClaims {
            jti: Some(jti.into()),
            sid: Some(sid.into()),
            sub: Some(sub.into()),
            auth_time: Some(start),
            exp: start + 300,
            ..Default::default()
        }
    }

    #[test]
    fn revokes_by_token_session_and_subject() {
        let list = InMemoryRevocations::with_clock(ManualClock::new(1_000));
        let a = claims("j1", "s1", "u1", 1_000);
        let b = claims("j2", "s1", "u1", 1_000);
        let c = claims("j3", "s2", "u2", 900);
        let d = claims("j4", "s3", "u2", 1_100);
        list.revoke_token("j1", 1_300);
        assert_eq!(list.status(&a), RevocationStatus::Revoked);
        assert_eq!(list.status(&b), RevocationStatus::Active);
        list.revoke_session("s1", 2_000);
        assert_eq!(list.status(&b), RevocationStatus::Revoked);
        list.revoke_subject("u2", 1_000, 5_000);
        assert_eq!(list.status(&c), RevocationStatus::Revoked, "session began before the cut");
        assert_eq!(list.status(&d), RevocationStatus::Active, "a later login is not affected");
    }

    #[test]
    fn expired_entries_are_purged_and_memory_stays_bounded() {
        let clock = ManualClock::new(0);
        let list = InMemoryRevocations::with_clock(clock.clone());
        for i in 0..10_000 {
            clock.set(i);
            // Each entry matters for 400 seconds.
            list.revoke_token(format!("jti-{i}"), i + 400);
        }
        assert!(list.len() <= 1_200, "{} entries held", list.len());
        clock.set(20_000);
        list.purge_expired();
        assert!(list.is_empty());
    }

    #[test]
    fn a_moment_already_past_is_kept_for_the_minimum_retention() {
        let clock = ManualClock::new(10_000);
        let list = InMemoryRevocations::with_clock(clock.clone());
        list.revoke_session("s1", 5_000);
        let claims = claims("j1", "s1", "u1", 9_000);
        for _ in 0..200 {
            list.revoke_token(format!("other-{}", clock.now()), 0);
        }
        clock.set(10_000 + crate::clock::secs(crate::revocation::MIN_RETENTION) - 1);
        list.purge_expired();
        assert_eq!(list.status(&claims), RevocationStatus::Revoked);
        clock.advance(std::time::Duration::from_secs(2));
        list.purge_expired();
        assert_eq!(list.status(&claims), RevocationStatus::Active);
    }

    #[test]
    fn ready_answers_need_no_polling() {
        let list = InMemoryRevocations::new();
        let answer = list.check(&claims("j", "s", "u", 0)).into_ready();
        assert!(matches!(answer, Ok(Ok(RevocationStatus::Active))));
    }
}
