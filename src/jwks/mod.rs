//! Keys from remote JWK Sets: identity providers' keys, fetched and kept fresh in the
//! background, each set speaking for its provider's issuer (feature `jwks`). Documents are
//! downloaded with the application's own HTTP client, or the built-in one (feature
//! `jwks-client`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_sliding_jwt::JwtAuthLayer;
//! use tower_sliding_jwt::jwks::RemoteJwks;
//!
//! // Tokens from the company's identity provider, and the service's own.
//! let idp = RemoteJwks::discover("https://login.example.com").fetch().await?;
//! let layer = JwtAuthLayer::builder()
//!     .hs256(std::env::var("JWT_SECRET")?)
//!     .remote_jwks(idp)
//!     .audience("https://api.example.com")
//!     .build()?;
//! # Ok(()) }
//! ```

mod builder;
mod download;
mod remote;

pub use builder::RemoteJwksBuilder;
pub(crate) use remote::KeysFuture;
pub use remote::RemoteJwks;
