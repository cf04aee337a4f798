#![doc = include_str!("../README.md")]
//!
//! # API map
//!
//! - **Where tokens come from**: [`TokenSource`]: `Authorization: Bearer` by default; a named
//!   header, a cookie or a query parameter on request, tried in order (the first present wins).
//! - **Keys**: [`Key`]: HMAC secrets, RSA / ECDSA / Ed25519 PEM, JWK and JWK Sets; each pinned to
//!   one algorithm and selected by `kid`. One signing key; [previous] keys for rotation (their
//!   tokens renew onto the new key); [trusted] third-party keys that verify their own issuer's tokens only, and never renew.
//! - **Claims**: [`Claims<C>`] = [`RegisteredClaims`] + your own `C: Deserialize`. With the
//!   `axum` feature, `Claims<C>` and `Option<Claims<C>>` are extractors.
//! - **Renewal**: [`RefreshPolicy`]: trigger, `ttl`, `max_session`, which responses, header or
//!   cookie delivery, [inject or advise](RefreshMode). A handler opts out with [`NoRenewal`].
//! - **Login and explicit renewal**: [`Issuer::issue`], [`Issuer::renew`], [`Issuer::jwks`].
//! - **Refusals**: [`Rejection`]: RFC 6750 `WWW-Authenticate` for HTTP, `grpc-status` for gRPC;
//!   shape them with a [`RejectionHandler`]. An [authorization check] answers 403.
//! - **Revocation**: [`RevocationCheck`] (ready or asynchronous), [`InMemoryRevocations`], and
//!   `RedisRevocations` across a fleet (feature `redis`).
//! - **Remote keys**: `RemoteJwks` (feature `jwks`) for services that only verify.
//! - **Clients**: [`ClientTokenLayer`] and [`TokenStore`] send the token and keep the renewed one
//!   (any Tower HTTP client; `tonic` feature helpers too).
//! - **Speed**: a bounded cache of verified tokens ([`JwtAuthBuilder::verified_token_cache`]).
//! - **Time**: a [`Clock`] shared by validation, renewal and issuing; [`ManualClock`] for tests.
//!
//! [previous]: JwtAuthBuilder::previous_key
//! [trusted]: JwtAuthBuilder::trusted_key
//! [authorization check]: JwtAuthBuilder::authorize
//!
//! # A whole session, in process
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_sliding_jwt::{Claims, JwtAuthLayer, ManualClock, RefreshPolicy};
//!
//! let clock = ManualClock::new(1_800_000_000);
//! let auth = JwtAuthLayer::builder()
//!     .hs256(b"an example secret of at least 32 bytes")
//!     .issuer("my-app")
//!     .refresh(RefreshPolicy::new().ttl(Duration::from_secs(300)))
//!     .clock(clock.clone())
//!     .build()?;
//! let issuer = auth.issuer();
//! let service = ServiceBuilder::new().layer(auth).service(service_fn(|req: Request<()>| async move {
//!     let claims = req.extensions().get::<Claims>().expect("set by the layer");
//!     Ok::<_, std::convert::Infallible>(Response::new(claims.subject().unwrap_or("").to_owned()))
//! }));
//!
//! // Login (your route checks the password, then):
//! let token = issuer.issue("alice", &())?.token;
//! let call = |token: &str| {
//!     let request = Request::get("/").header("authorization", format!("Bearer {token}"));
//!     service.clone().oneshot(request.body(()).unwrap())
//! };
//!
//! // A fresh token is accepted as is.
//! let response = call(&token).await?;
//! assert_eq!(response.body(), "alice");
//! assert!(response.headers().get("x-refreshed-token").is_none());
//!
//! // Past half its lifetime, the response carries its successor.
//! clock.advance(Duration::from_secs(200));
//! let response = call(&token).await?;
//! let renewed = response.headers()["x-refreshed-token"].to_str()?.to_owned();
//! let successor = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&renewed)?;
//! assert_eq!(successor.expires_at(), 1_800_000_000 + 200 + 300);
//!
//! // No token, or a bad one: refused before the service runs.
//! let response = service.clone().oneshot(Request::new(())).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api""#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # The pieces
//!
//! - **Where tokens come from**: [`TokenSource`]: `Authorization: Bearer` by default; a named
//!   header, a cookie or a query parameter on request, tried in order (the first present wins).
//! - **Keys**: [`Key`]: HMAC secrets, RSA / ECDSA / Ed25519 PEM, JWK and JWK Sets; each pinned to
//!   one algorithm and selected by `kid`. One signing key; [previous] keys for rotation (their
//!   tokens renew onto the new key); [trusted] third-party keys that verify their own issuer's tokens only, and never renew.
//! - **Claims**: [`Claims<C>`] = [`RegisteredClaims`] + your own `C: Deserialize`. With the
//!   `axum` feature, `Claims<C>` and `Option<Claims<C>>` are extractors.
//! - **Renewal**: [`RefreshPolicy`]: trigger, `ttl`, `max_session`, which responses, header or
//!   cookie delivery, [inject or advise](RefreshMode). A handler opts out with [`NoRenewal`].
//! - **Login and explicit renewal**: [`Issuer::issue`], [`Issuer::renew`], [`Issuer::jwks`].
//! - **Refusals**: [`Rejection`]: RFC 6750 `WWW-Authenticate` for HTTP, `grpc-status` for gRPC;
//!   shape them with a [`RejectionHandler`]. An [authorization check] answers 403.
//! - **Revocation**: [`RevocationCheck`] (ready or asynchronous), [`InMemoryRevocations`], and
//!   `RedisRevocations` across a fleet (feature `redis`).
//! - **Remote keys**: `RemoteJwks` (feature `jwks`) for services that only verify.
//! - **Clients**: [`ClientTokenLayer`] and [`TokenStore`] send the token and keep the renewed one
//!   (any Tower HTTP client; `tonic` feature helpers too).
//! - **Speed**: a bounded cache of verified tokens ([`JwtAuthBuilder::verified_token_cache`]).
//! - **Time**: a [`Clock`] shared by validation, renewal and issuing; [`ManualClock`] for tests.
//!
//! [previous]: JwtAuthBuilder::previous_key
//! [trusted]: JwtAuthBuilder::trusted_key
//! [authorization check]: JwtAuthBuilder::authorize
//!
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod builder;
mod cache;
mod claims;
mod client;
mod clock;
mod config;
mod error;
mod future;
mod issuer;
mod keys;
mod layer;
mod raw_token;
mod refresh;
mod reject;
mod renewal;
mod revocation;
mod service;
mod source;
mod verifier;
mod verify;

#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "jwks")]
mod jwks;
#[cfg(feature = "redis")]
mod redis_revocations;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;

pub use backend::CryptoBackend;
pub use builder::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_TOKEN_CACHE, DEFAULT_TOKEN_TYPES,
    JwtAuthBuilder,
};
pub use claims::{Audience, Claims, NoCustomClaims, RegisteredClaims, VouchedBy};
pub use client::{ClientToken, ClientTokenFuture, ClientTokenLayer, InvalidOrigin, TokenStore};
pub use clock::{Clock, ManualClock, SystemClock};
pub use compact_str::CompactString;
pub use cookie::SameSite;
pub use error::{ConfigError, IssueError, KeyError, RenewError};
pub use future::ResponseFuture;
pub use issuer::{IssuedToken, Issuer};
pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use keys::Key;
pub use layer::JwtAuthLayer;
pub use raw_token::RawToken;
pub use refresh::{
    CookieSettings, EXPIRES_IN_HEADER, NoRenewal, REFRESHED_TOKEN_HEADER, RefreshMode,
    RefreshPolicy,
};
pub use reject::{
    DefaultRejection, Forbidden, InvalidRequest, Rejection, RejectionContext, RejectionHandler,
    TokenError,
};
pub use revocation::{
    InMemoryRevocations, RevocationCheck, RevocationError, RevocationFailure, RevocationFuture,
    RevocationStatus,
};
pub use service::JwtAuth;
pub use source::TokenSource;

#[cfg(feature = "axum")]
pub use crate::axum::MissingClaims;
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub use crate::jwks::{JwksError, RemoteJwks, RemoteJwksBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use crate::redis_revocations::RedisRevocations;
