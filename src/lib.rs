//! A Tower layer that authenticates HTTP and gRPC requests with JWTs and slides the session
//! forward: when a valid token is close to expiry, the response to that request carries a freshly
//! signed successor, so an active client never logs in again until its absolute session limit.
//!
//! One [`JwtAuthLayer`] serves axum, hyper (through hyper-util) and tonic, with any body type. Its
//! [`Issuer`] signs login tokens and explicit renewals with the same keys and rules, so login,
//! explicit renewal and sliding renewal can never disagree.
//!
//! # How a request goes through the layer
//!
//! 1. A CORS preflight is answered at once (`204`); it never reaches the service.
//! 2. The token is read from the configured [`TokenSource`]s (`Authorization: Bearer` by
//!    default). None: `401`, or, in optional mode, the request goes on without claims. A cookie
//!    token on an unsafe request must come from the application's own origin ([`CsrfPolicy`]).
//! 3. It is verified: strict compact JWS, the key selected by `kid` and pinned to one
//!    [`Algorithm`], the signature, then the claims (dates with leeway, the issuer the key speaks
//!    for, audience, type, session start and session limit). A token seen before is found in a
//!    bounded cache, and its dates are checked again. A token whose key no remote JWK Set knows
//!    yet waits for one refetch of the sets.
//! 4. The [`RenewalPolicy`] decides whether the response should carry a successor; revocation
//!    and the route's own checks run; the [`Claims`] go into the request extensions.
//! 5. The service answers. If the response qualifies (2xx or 3xx by default), the revocation
//!    store is asked again when one is configured, and the successor is signed and written into
//!    it: a header, or `Set-Cookie` for a cookie token.
//!
//! Any refusal is a [`Rejection`]: RFC 6750 for HTTP, `grpc-status` for a gRPC call.
//!
//! # A whole session, in process
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_sliding_jwt::{Claims, JwtAuthLayer, ManualClock, NoCustomClaims};
//!
//! let clock = ManualClock::new(1_800_000_000);
//! let auth = JwtAuthLayer::builder()
//!     .hs256(b"an example secret of at least 32 bytes")
//!     .issuer("my-app")
//!     .token_lifetime(Duration::from_secs(300))
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
//! let successor = issuer.verify::<NoCustomClaims>(&renewed)?;
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
//! # The crate, in the order a request meets it
//!
//! (The source follows the same order: `src/middleware/`, `src/verify/`, `src/keys/`,
//! `src/claims/`, `src/renewal/`, `src/revocation/`, `src/rejection.rs`.)
//!
//! - **The middleware**: [`JwtAuthLayer`], configured by [`JwtAuthBuilder`] (keys, claim rules,
//!   [`token_lifetime`](JwtAuthBuilder::token_lifetime) and
//!   [`session_limit`](JwtAuthBuilder::session_limit), sources, renewal, revocation); its
//!   service [`JwtAuth`] and [`ResponseFuture`]. Per-route variants of one layer share its keys,
//!   cache, claims type and refusals: [`JwtAuthLayer::optional`], [`JwtAuthLayer::authorize`]
//!   (a synchronous check) and [`JwtAuthLayer::require`] (a check that may take time; [`require`]
//!   has the OAuth scope check).
//! - **Reading and verifying the token**: [`TokenSource`], [`CsrfPolicy`], and the limits on the
//!   builder ([`DEFAULT_LEEWAY`], [`DEFAULT_MAX_TOKEN_BYTES`], [`DEFAULT_TOKEN_CACHE`],
//!   [`DEFAULT_TOKEN_TYPES`]).
//! - **Keys**: [`Key`] (HMAC secrets, RSA / ECDSA / Ed25519 PEM, JWK and JWK Sets), each pinned
//!   to one [`Algorithm`] (`HS256/384/512`, `RS256/384/512`, `PS256/384/512`, `ES256`, `ES384`,
//!   `EdDSA`, also named `Ed25519` as RFC 9864 does), on the [`CryptoBackend`] the features
//!   select. One signing key; previous keys for rotation; trusted third-party keys that verify
//!   their own issuer's tokens only. [`JwkSet`] publishes ours; `jwks` (feature `jwks`) fetches
//!   identity providers' keys, each set bound to its issuer, found by OpenID Connect discovery
//!   if need be.
//! - **Claims**: [`Claims<C>`] = [`RegisteredClaims`] + your own `C: Deserialize`, with the
//!   [`RawToken`] they came from; with the `axum` feature, `Claims<C>` and `Option<Claims<C>>`
//!   are extractors.
//! - **Renewal**: [`RenewalPolicy`] (trigger, which responses, header or cookie, inject or
//!   advise); [`NoRenewal`] opts a response out. More in [`renewal`].
//! - **Revocation**: [`revocation`] (the hook, an in-memory store, Redis with feature `redis`).
//! - **Sender-constrained tokens**: [`DpopPolicy`] checks the DPoP proof (RFC 9449) a token
//!   bound to a client's key must come with.
//! - **Refusals**: [`Rejection`], shaped by a [`RejectionHandler`]; every error is in [`error`].
//! - **Login and explicit renewal**: [`Issuer`], with the layer's own keys and rules.
//! - **Clients**: [`client`] sends the token and keeps the renewed one; `tonic` helpers with
//!   feature `tonic`.
//! - **Operations**: [`Issuer::readiness`] for a health endpoint; [`metrics`] (feature
//!   `metrics`) counts every outcome, renewal, revocation check and key download.
//! - **Time**: a [`Clock`] shared by validation, renewal and issuing; [`ManualClock`] for tests.
//! - **Testing your handlers**: `testing` (feature `testing`) signs tokens of every kind with a
//!   layer's own keys and builds claims by hand.
//!
//! # Feature flags
//!
#![doc = document_features::document_features!()]
//!
//! `SECURITY.md` in the repository lists the threats the crate defends against and the test that
//! pins each defence.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// In the order a request meets them: the middleware reads the token (verify) with the keys,
// hands out the claims, plans and writes the renewal, asks revocation, or refuses (rejection).
// Below them: the shared configuration, the issuer, and small vocabularies.
mod algorithm;
#[cfg(feature = "axum")]
mod axum;
mod base64url;
mod claims;
pub mod client;
mod clock;
mod config;
mod dpop;
pub mod error;
mod headers;
mod issuer;
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub mod jwks;
mod keys;
pub mod metrics;
mod middleware;
pub mod readiness;
mod rejection;
pub mod renewal;
pub mod require;
pub mod revocation;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;
mod verify;

pub use algorithm::Algorithm;
pub use claims::{Audience, Claims, NoCustomClaims, RawToken, RegisteredClaims, VouchedBy};
pub use clock::{Clock, ManualClock, SystemClock};
pub use dpop::{DpopKey, DpopPolicy};
pub use issuer::{IssuedToken, Issuer, LoggedOut};
pub use keys::{CryptoBackend, JwkSet, Key, PublicJwk};
pub use middleware::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_TOKEN_CACHE, DEFAULT_TOKEN_TYPES, JwtAuth,
    JwtAuthBuilder, JwtAuthLayer, ResponseFuture,
};
pub use rejection::{
    DefaultRejection, Forbidden, JsonRejection, Rejection, RejectionContext, RejectionHandler,
};
pub use renewal::policy::{NoRenewal, RenewalMode, RenewalPolicy};
pub use verify::{CsrfPolicy, TokenSource};

#[cfg(feature = "axum")]
pub use crate::axum::MissingClaims;

/// The README's examples, compiled and run as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
