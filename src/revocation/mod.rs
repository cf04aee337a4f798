//! Revocation: a [`RevocationCheck`] consulted for every verified token (logout, a locked
//! account), the in-memory store for one server and the Redis store for a fleet.
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
//! // On logout: every token of the session, renewals included.
//! revocations.revoke_session("the session id", 2_000_000_000);
//! # Ok::<(), tower_sliding_jwt::ConfigError>(())
//! ```

mod check;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub(crate) use check::{Refusal, verdict};
pub use check::{RevocationCheck, RevocationFailure, RevocationFuture, RevocationStatus};
pub use memory::InMemoryRevocations;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisRevocations, RedisRevocationsBuilder};

pub use crate::error::RevocationError;
