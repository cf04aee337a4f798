//! The apps, tokens and keys every benchmark uses, so timing and allocation runs measure exactly
//! the same things.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::Request;
use http::header::AUTHORIZATION;
use serde_json::json;
use tower_sliding_jwt::{Algorithm, Claims, JwtAuthLayer, Key, ManualClock};

pub const SECRET: &str = "benchmark-secret-of-at-least-32-bytes!!";

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A 227-byte claim set (the figure the issue measured with), valid for five minutes from
/// `iat`; `left` seconds remain at `now`.
pub fn claims(now: i64, left: i64) -> String {
    let iat = now + left - 300;
    json!({
        "sub": "user-0000001234",
        "iss": "https://auth.example.com",
        "aud": "api",
        "iat": iat,
        "auth_time": iat,
        "exp": now + left,
        "jti": "0a1b2c3d4e5f6a7b8c9d0e",
        "sid": "5f6a7b8c9d0e0a1b2c3d4e",
        "username": "alice",
        "roles": ["reader", "writer"],
        "tenant": "acme-inc"
    })
    .to_string()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An HS256 token (no `kid`, as most HS256 deployments) over `claims`.
pub fn hs256_token(claims: &str) -> String {
    let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(claims.as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// The same token with its signature damaged (same length).
pub fn forged(token: &str) -> String {
    let mut forged = token.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    forged
}

pub fn request(token: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/");
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

pub fn request07(token: &str) -> axum07::http::Request<axum07::body::Body> {
    axum07::http::Request::get("/")
        .header("authorization", format!("Bearer {token}"))
        .body(axum07::body::Body::empty())
        .unwrap()
}

async fn ok() -> &'static str {
    "ok"
}

/// The handler behind our layer: the same answer, reading the verified claims with the
/// extractor, as an application does.
async fn ok_with_claims(claims: Claims) -> &'static str {
    std::hint::black_box(claims.subject());
    "ok"
}

fn our_routes() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(ok_with_claims))
}

/// The bare axum 0.8 router: the floor of every layer measurement.
///
/// Every router here is finished with `with_state(())`, as `axum::serve` does once at start-up:
/// without it, a `Router` called directly rebuilds layered handler routes on every request,
/// which would charge axum's set-up work to whichever layer is measured.
pub fn bare_router() -> axum::Router {
    routes().with_state(())
}

/// The bare router behind a layer that passes every request through: what any layer costs in
/// axum (its service is boxed and cloned per request), the floor for ours.
pub fn pass_through_router() -> axum::Router {
    let layer = tower::util::MapRequestLayer::new(|request: Request<Body>| request);
    routes().layer(layer).with_state(())
}

fn routes() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(ok))
}

/// Our layer on the same router, HS256, with the default verified-token cache.
pub fn our_router(clock: ManualClock) -> axum::Router {
    our_router_with_cache(clock, tower_sliding_jwt::DEFAULT_TOKEN_CACHE)
}

/// Our layer, HS256, remembering at most `cache` verified tokens (0: every token is new).
pub fn our_router_with_cache(clock: ManualClock, cache: usize) -> axum::Router {
    let layer = our_layer(Key::hs256(SECRET).unwrap(), clock, cache);
    our_routes().layer(layer).with_state(())
}

/// Our layer with one asymmetric signing key; returns the router and a valid token.
pub fn our_asymmetric(
    alg: Algorithm,
    file: &str,
    clock: ManualClock,
    cache: usize,
) -> (axum::Router, String) {
    let layer = our_layer(Key::from_private_pem(alg, pem(file)).unwrap(), clock, cache);
    let token = layer
        .issuer()
        .issue("user-0000001234", &json!({ "username": "alice", "roles": ["reader", "writer"] }))
        .unwrap()
        .token;
    (our_routes().layer(layer).with_state(()), token)
}

/// The configuration every case of ours shares, with one signing key.
fn our_layer(key: Key, clock: ManualClock, cache: usize) -> JwtAuthLayer {
    JwtAuthLayer::builder()
        .signing_key(key)
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock)
        .verified_token_cache(cache)
        .build()
        .unwrap()
}

/// The bare axum 0.7 router (jwt-authorizer's axum).
pub fn bare_router07() -> axum07::Router {
    routes07().with_state(())
}

fn routes07() -> axum07::Router {
    async fn ok07() -> &'static str {
        "ok"
    }
    axum07::Router::new().route("/", axum07::routing::get(ok07))
}

/// jwt-authorizer 0.15, HS256, on axum 0.7.
pub async fn jwt_authorizer_router() -> axum07::Router {
    use jwt_authorizer::{IntoLayer, JwtAuthorizer, RegisteredClaims, Validation};
    let authorizer = JwtAuthorizer::<RegisteredClaims>::from_secret(SECRET)
        .validation(Validation::new().iss(&["https://auth.example.com"]).aud(&["api"]))
        .build()
        .await
        .unwrap();
    routes07().layer(authorizer.into_layer()).with_state(())
}

/// A replay store for `dpop-verifier` that remembers nothing, so it measures the proof checks
/// alone (ours remembers every proof).
pub struct Forgetful;

#[async_trait::async_trait]
impl dpop_verifier::ReplayStore for Forgetful {
    async fn insert_once(
        &mut self,
        _jti_hash: [u8; 32],
        _ctx: dpop_verifier::ReplayContext<'_>,
    ) -> Result<bool, dpop_verifier::DpopError> {
        Ok(true)
    }
}

/// A layer with DPoP for `https://api.example.com`, in front of the benchmarks' routes.
pub fn our_dpop_router() -> (axum::Router, JwtAuthLayer) {
    use tower_sliding_jwt::DpopPolicy;
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .issuer("https://auth.example.com")
        // Criterion sends tens of thousands of proofs a second, beyond the default's rate.
        .dpop(
            DpopPolicy::new().public_origin("https://api.example.com").replay_capacity(50_000_000),
        )
        .build()
        .unwrap();
    let router = axum::Router::new()
        .route("/", axum::routing::get(|| async { "ok" }))
        .layer(layer.clone())
        .with_state(());
    (router, layer)
}
