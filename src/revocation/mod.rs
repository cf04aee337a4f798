//! Revocation: a [`RevocationCheck`] consulted for every verified token (logout, a locked
//! account), the in-memory store for one server and the Redis store for a fleet; and the
//! [`ReplayStore`] a fleet shares so that a DPoP proof is used once.
//!
//! ```
//! use tower_sliding_jwt::JwtAuthLayer;
//! use tower_sliding_jwt::revocation::InMemoryRevocations;
//!
//! let revocations = InMemoryRevocations::new();
//! let layer = JwtAuthLayer::builder()
//!     .hs256(b"an example secret of at least 32 bytes")
//!     .revocation(revocations.clone())
//!     .build()?;
//! // On logout: every token of the session, renewals included, for as long as any of them
//! // could still be accepted: `Issuer::revocation_until` says until when.
//! revocations.revoke_session("the session id", 2_000_000_000);
//! # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
//! ```

mod check;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod replay;

pub use check::{
    ProbeFuture, RevocationCheck, RevocationFailure, RevocationFuture, RevocationStatus,
};
pub(crate) use check::{Refusal, verdict};
pub use memory::InMemoryRevocations;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisRevocations, RedisRevocationsBuilder};
pub use replay::{ReplayFuture, ReplayStore};

use std::time::Duration;

/// Added by [`Issuer::revocation_until`](crate::Issuer::revocation_until) for a store whose
/// clock is behind the layer's (Redis expires entries by its own clock): one minute.
///
/// ```
/// use std::time::Duration;
/// use tower_sliding_jwt::revocation::STORE_CLOCK_MARGIN;
///
/// assert_eq!(STORE_CLOCK_MARGIN, Duration::from_secs(60));
/// ```
pub const STORE_CLOCK_MARGIN: Duration = Duration::from_secs(60);

/// How long a store keeps a revocation asked to end at a moment already past: five minutes.
/// Storing nothing would leave the token accepted while the caller believes it revoked.
///
/// ```
/// use std::time::Duration;
/// use tower_sliding_jwt::revocation::{InMemoryRevocations, MIN_RETENTION, RevocationStatus};
/// use tower_sliding_jwt::{JwtAuthLayer, ManualClock, NoCustomClaims};
///
/// let clock = ManualClock::new(1_800_000_000);
/// let revocations = InMemoryRevocations::with_clock(clock.clone());
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).clock(clock.clone()).build()?.issuer();
/// let claims = issuer.verify::<NoCustomClaims>(&issuer.issue("42", &())?.token)?;
/// // A moment in the past (a mistaken computation): kept anyway, for a while.
/// revocations.revoke_session(claims.session_id().unwrap(), 1_000);
/// assert_eq!(revocations.status(claims.registered()), RevocationStatus::Revoked);
/// clock.advance(MIN_RETENTION + Duration::from_secs(1));
/// revocations.purge_expired();
/// assert!(revocations.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MIN_RETENTION: Duration = Duration::from_secs(300);

/// The moment a store keeps an entry until: `until`, or [`MIN_RETENTION`] from `now` if that is
/// later.
pub(crate) fn retained_until(until: i64, now: i64) -> i64 {
    until.max(now.saturating_add(crate::clock::secs(MIN_RETENTION)))
}
