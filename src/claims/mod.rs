//! The verified claims handed to the application: [`Claims<C>`] = [`RegisteredClaims`] (with
//! its [`Audience`]) + the application's own `C`, and the [`RawToken`] they were read from.

mod audience;
mod custom;
mod raw_token;
mod registered;
mod verified;

pub use audience::Audience;
pub use custom::NoCustomClaims;
pub(crate) use custom::register_layer_claims;
#[cfg(any(feature = "axum", feature = "tonic"))]
pub(crate) use custom::report_foreign_claims;
pub use raw_token::RawToken;
pub use registered::RegisteredClaims;
pub(crate) use registered::{parse_custom, parse_registered};
pub use verified::{Claims, VouchedBy};
