//! Sliding renewal: when a token is close to expiry, the response to its request carries a
//! freshly signed successor, so an active client never logs in again until its session limit.
//!
//! Two clocks govern a session. `exp` is the idle limit: each token lives the builder's
//! [`token_lifetime`](crate::JwtAuthBuilder::token_lifetime) (default 5 minutes). The *session
//! limit* ends the session [`session_limit`](crate::JwtAuthBuilder::session_limit) after its
//! start (`auth_time`, default 24 hours): `auth_time` is set at login and copied into every
//! renewed token, so the session's end never moves.
//!
//! ```text
//!  login (auth_time)                                              end = auth_time + session_limit
//!  │                                                              │
//!  ├── token 1: iat ─────────── threshold ─────── exp             │
//!  │                      request ▲ in the window: its response carries token 2
//!  │                              ├── token 2: iat ───── threshold ─── exp
//!  │                                                ▲ request: token 3│
//!  │                                                ├── token 3 ───── exp = end (never beyond)
//!  │                                                                  │ no more renewals: log in again
//! ```
//!
//! # The rules
//!
//! 1. **Trigger**: a token renews when `exp - now` is at or below the threshold: a duration
//!    ([`renew_within`](RenewalPolicy::renew_within)) or a fraction of its lifetime
//!    ([`renew_within_fraction`](RenewalPolicy::renew_within_fraction), default one half).
//! 2. **Only our own, fully valid tokens renew**: verified signature, not expired (no leeway),
//!    not revoked, our `iss`, signed by our current or previous key. A third party's token is
//!    never re-signed.
//! 3. **The successor** keeps every claim (`sub`, `aud`, `auth_time`, `sid`, the application's
//!    own, unknown ones) except `iat = now`, `nbf = now` (if present), a new random `jti`, and
//!    `exp = min(now + token_lifetime, end)`. If that is not later than the old `exp`, nothing is
//!    sent. A token without `sid` gets a fresh one, so the chain that follows can be revoked as
//!    one session (revoking one `jti` never covers its successors).
//! 4. **Its header** comes from configuration only: the signing key's `alg` and `kid`,
//!    `typ: JWT`. So renewal also moves clients to a rotated key.
//! 5. **Which responses**: 2xx and 3xx by default; never 401, 403, 5xx, `101 Switching
//!    Protocols` or a gRPC error in the headers (`grpc-status` other than 0);
//!    [`renew_responses_when`](RenewalPolicy::renew_responses_when) changes this. The token is
//!    checked again when the response is written: one that expired while the handler ran, or
//!    whose session was revoked meanwhile (a logout), gets no successor. A handler opts out with
//!    the [`NoRenewal`] response extension, and a header it set itself is never
//!    overwritten.
//! 6. **Where**: [`REFRESHED_TOKEN_HEADER`] (`x-refreshed-token`, configurable) carries the bare
//!    token, marked sensitive. A token that came from a cookie is renewed with a `Set-Cookie` for
//!    that cookie ([`CookieSettings`]; `Max-Age` never beyond the session's end).
//! 7. **Side headers** on a renewing response: `Cache-Control: no-store` (merged), `Vary:
//!    Authorization` (or `Cookie`). If the response already carries
//!    `Access-Control-Allow-Origin` when the layer writes it (CORS inside the auth layer), the
//!    header name is added to `Access-Control-Expose-Headers`; a CORS layer outside it (the
//!    recommended order) must list the header in its own `expose_headers`.
//! 8. **Advise mode** ([`RenewalMode::Advise`]) sends
//!    [`EXPIRES_IN_HEADER`] (`x-token-expires-in: <seconds>`) instead, and the client calls the
//!    application's refresh endpoint, which uses [`Issuer::renew`](crate::Issuer::renew) with
//!    the same rules.
//! 9. **Concurrency**: stateless. Parallel requests in the window may each get a renewal; all
//!    are valid, and the old token stays valid until its own `exp`.
//! 10. **The session's end is visible**: login and explicit-renewal JSON carry
//!     `session_expires_at`, and with [`session_header`](RenewalPolicy::session_header)
//!     ([`SESSION_EXPIRES_IN_HEADER`]) every successful response to one of our tokens says how
//!     many seconds the session has left.
//! 11. **Per-login lifetimes** ("remember me"): [`Issuer::issue_with`](crate::Issuer::issue_with)
//!     with [`SessionLifetimes`] gives one login its own token lifetime and session limit, up to
//!     the builder's [`allow_longer_sessions`](crate::JwtAuthBuilder::allow_longer_sessions).
//!     They travel in the token (`token_lifetime`, `session_limit`); every renewal keeps them,
//!     and a token of ours claiming more than the builder allows is refused.
//!
//! **Clients** keep whichever token has the latest `exp` ([`client::TokenStore`](crate::client::TokenStore)
//! does it for Tower clients); with cookie tokens the browser updates the cookie itself. On
//! `401 invalid_token` past the session's end, the user logs in again.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use http::{Request, Response};
//! use tower::{ServiceExt, service_fn};
//! use tower_sliding_jwt::{JwtAuthLayer, ManualClock, NoCustomClaims, RenewalPolicy};
//! use tower::Layer as _;
//!
//! let clock = ManualClock::new(1_800_000_000);
//! let layer = JwtAuthLayer::builder()
//!     .hs256(b"an example secret of at least 32 bytes")
//!     .token_lifetime(Duration::from_secs(15 * 60))
//!     .session_limit(Duration::from_secs(8 * 3600))
//!     .renewal(RenewalPolicy::new().renew_within(Duration::from_secs(5 * 60)))
//!     .clock(clock.clone())
//!     .build()?;
//! let issuer = layer.issuer();
//! let service = layer.layer(service_fn(|_: Request<()>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(()))
//! }));
//! let token = issuer.issue("alice", &())?.token;
//! let call = |token: &str| {
//!     let request = Request::get("/").header("authorization", format!("Bearer {token}"));
//!     service.clone().oneshot(request.body(()).unwrap())
//! };
//! // 11 minutes in: 4 minutes left, within the last 5: the response carries the successor.
//! clock.advance(Duration::from_secs(11 * 60));
//! let response = call(&token).await?;
//! let successor = response.headers()["x-refreshed-token"].to_str()?;
//! let renewed = issuer.verify::<NoCustomClaims>(successor)?;
//! assert_eq!(renewed.expires_at(), 1_800_000_000 + 11 * 60 + 15 * 60);
//! assert_eq!(renewed.registered().session_start(), Some(1_800_000_000), "the session's start stays");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
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
