//! Sliding renewal: the [`RenewalPolicy`] (its public knobs), the rule that decides which tokens
//! renew and until when, the successor's claims, and the writing of it into the response.
//!
//! ```
//! use std::time::Duration;
//! use tower_sliding_jwt::{JwtAuthLayer, RenewalMode, RenewalPolicy};
//!
//! let layer = JwtAuthLayer::builder()
//!     .hs256(b"an example secret of at least 32 bytes")
//!     .token_lifetime(Duration::from_secs(15 * 60))
//!     .session_limit(Duration::from_secs(8 * 3600))
//!     .renewal(
//!         RenewalPolicy::new()
//!             .renew_within(Duration::from_secs(5 * 60))
//!             .mode(RenewalMode::Inject),
//!     )
//!     .build()?;
//! # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
//! ```

mod cookie;
pub(crate) mod lifetimes;
pub(crate) mod policy;
pub(crate) mod response;
pub(crate) mod rule;
pub(crate) mod successor;

// The policy itself, its modes and the opt-out are at the crate's root.
pub use cookie::{CookieSettings, SameSite};
pub(crate) use lifetimes::Lifetimes;
pub use lifetimes::SessionLifetimes;
pub use policy::{EXPIRES_IN_HEADER, REFRESHED_TOKEN_HEADER, SESSION_EXPIRES_IN_HEADER};
pub(crate) use policy::{NoRenewal, RenewalMode, RenewalPolicy};
