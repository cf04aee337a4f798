//! The demo API: the tutorial's login, protected routes and explicit
//! renewal, on axum with `tower-sliding-jwt`. `main.rs` serves it; the integration tests mount
//! the very same router.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::Output;
use argon2::{Argon2, Block, Params, PasswordHash, Version};
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::oneshot;
use tower_http::cors::{Any, CorsLayer};
use tower_sliding_jwt::renewal::{CookieSettings, EXPIRES_IN_HEADER, REFRESHED_TOKEN_HEADER};
use tower_sliding_jwt::revocation::{
    InMemoryRevocations, RedisRevocations, RevocationCheck, RevocationError, RevocationFuture,
};
use tower_sliding_jwt::{
    Claims, Clock, ConfigError, IssuedToken, Issuer, JwtAuthLayer, Key, NoRenewal,
    RegisteredClaims, Rejection, RejectionContext, RenewError, TokenSource,
};

pub use crate::settings::Settings;

/// The application's own claims, next to `sub`, `iat`, `exp`, `auth_time`, `jti`, `sid`, `iss`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoClaims {
    pub user_id: u64,
    pub username: String,
}

/// A demo user. Passwords are stored only as Argon2id hashes.
struct User {
    id: u64,
    name: &'static str,
    password_hash: &'static str,
}

const USERS: [User; 2] = [
    User {
        id: 1,
        name: "admin",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$dHNqLWRlbW8tYWRtaW4tc2FsdA$RqVZrzNRZmIcVQCZLKqZab+Gu6uUE4BhPU6lzXHwgvI",
    },
    User {
        id: 2,
        name: "alice",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$dHNqLWRlbW8tYWxpY2Utc2FsdA$1owEOMxiLl/PQtYdEh/chERIt9VGsXER1aC+KCgW3DY",
    },
];

#[derive(Clone)]
struct AppState {
    issuer: Issuer,
    passwords: PasswordChecker,
    revocations: Revocations,
}

/// Where logouts are remembered: Redis when `REDIS_URL` is set (every instance sees them), this
/// process otherwise.
#[derive(Clone)]
pub enum Revocations {
    Memory(InMemoryRevocations),
    Redis(RedisRevocations),
}

impl Revocations {
    /// From the settings; must be called inside a Tokio runtime (Redis connects lazily).
    pub fn from_settings(settings: &Settings) -> Result<Revocations, String> {
        match &settings.redis_url {
            Some(url) => {
                RedisRevocations::connect(url).map(Revocations::Redis).map_err(|e| e.to_string())
            }
            None => Ok(Revocations::Memory(InMemoryRevocations::new())),
        }
    }

    async fn revoke_session(&self, sid: &str, until: i64) -> Result<(), RevocationError> {
        match self {
            Revocations::Memory(memory) => {
                memory.revoke_session(sid, until);
                Ok(())
            }
            Revocations::Redis(redis) => redis.revoke_session(sid, until).await,
        }
    }
}

impl RevocationCheck for Revocations {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        match self {
            Revocations::Memory(memory) => memory.check(claims),
            Revocations::Redis(redis) => redis.check(claims),
        }
    }
}

/// A login to check: the user's name and password, and where to send the user if they match.
type Check = (String, String, oneshot::Sender<Option<&'static User>>);

/// Checks passwords on two dedicated threads, each with its own Argon2 working memory.
///
/// Argon2 is slow and memory-hard on purpose (19 MiB per hash). On the async workers it would
/// stall other requests. Allocating 19 MiB per login, the allocator kept most of it (the soak
/// test saw the server grow to several GiB); two long-lived threads that reuse their buffers
/// bound both the CPU and the memory. Other logins wait their turn.
#[derive(Clone)]
struct PasswordChecker {
    queue: std::sync::mpsc::SyncSender<Check>,
}

impl PasswordChecker {
    fn new(threads: usize) -> PasswordChecker {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Check>(64);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..threads {
            let jobs = Arc::clone(&jobs);
            std::thread::spawn(move || {
                let mut memory = Vec::new();
                loop {
                    let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok((name, password, reply)) = job else {
                        return;
                    };
                    let _ = reply.send(check_password(&name, &password, &mut memory));
                }
            });
        }
        PasswordChecker { queue }
    }

    /// The user, if the password matches.
    async fn check(&self, name: String, password: String) -> Option<&'static User> {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue.clone();
        // `send` blocks only when 64 logins are already waiting.
        tokio::task::spawn_blocking(move || queue.send((name, password, reply)))
            .await
            .ok()?
            .ok()?;
        answer.await.ok().flatten()
    }
}

/// The user, if the password matches. `memory` is the thread's Argon2 working memory, reused
/// across logins so a login allocates nothing. An unknown user costs the same hash as a known
/// one, so response times do not tell which user names exist.
fn check_password(name: &str, password: &str, memory: &mut Vec<Block>) -> Option<&'static User> {
    let user = USERS.iter().find(|u| u.name == name);
    let stored = PasswordHash::new(user.unwrap_or(&USERS[0]).password_hash).ok()?;
    let expected = stored.hash?;
    let params = Params::try_from(&stored).ok()?;
    let algorithm = argon2::Algorithm::try_from(stored.algorithm).ok()?;
    let version = stored.version.map_or(Ok(Version::default()), Version::try_from).ok()?;
    let mut salt = [0u8; 64];
    let salt = stored.salt?.decode_b64(&mut salt).ok()?;
    memory.resize(params.block_count(), Block::default());
    let mut computed = [0u8; 64];
    let computed = &mut computed[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, computed, &mut memory[..])
        .ok()?;
    // `Output` compares in constant time.
    let matches = Output::new(computed).ok()? == expected;
    user.filter(|_| matches)
}

/// The router and the issuer behind it, with the revocation store of the settings. An
/// unusable `REDIS_URL` refuses to start rather than forget logouts.
pub fn app(settings: &Settings, clock: impl Clock) -> Result<(Router, Issuer), String> {
    let revocations =
        Revocations::from_settings(settings).map_err(|e| format!("REDIS_URL: {e}"))?;
    app_with(settings, clock, revocations).map_err(|e| e.to_string())
}

/// The router with a given revocation store (tests share one between two instances).
pub fn app_with(
    settings: &Settings,
    clock: impl Clock,
    revocations: Revocations,
) -> Result<(Router, Issuer), ConfigError> {
    let builder = JwtAuthLayer::builder().claims::<DemoClaims>();
    let builder = match &settings.private_key_pem {
        // RSA, ECDSA or EdDSA: its public half is published at /.well-known/jwks.json.
        Some(pem) => builder.signing_key(Key::from_private_pem(settings.algorithm, pem)?),
        None => builder.hmac(settings.algorithm, &settings.secret),
    };
    let auth = builder
        .issuer(settings.issuer.clone())
        .token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("token"),
            TokenSource::query("token"),
        ])
        // The demo serves plain HTTP; keep the default `Secure` in production.
        .renewal(settings.renewal_policy().cookie(CookieSettings::new().secure(false)))
        .clock(clock)
        .revocation(revocations.clone())
        .rejection_handler(json_rejection)
        .build()?;
    let issuer = auth.issuer();

    let protected = Router::new()
        .route("/mine", get(mine))
        .route("/admin", get(admin))
        .route("/update/token", get(update_token))
        .route("/logout", post(logout))
        .route_layer(auth);
    let mut public = Router::new().route("/auth", post(login)).route("/health", get(health));
    if settings.private_key_pem.is_some() {
        public = public.route("/.well-known/jwks.json", get(jwks));
    }
    // CORS outside the auth layer: preflights and rejections get CORS headers too.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([REFRESHED_TOKEN_HEADER, EXPIRES_IN_HEADER]);
    let router = public
        .merge(protected)
        .with_state(AppState {
            issuer: issuer.clone(),
            passwords: PasswordChecker::new(2),
            revocations,
        })
        .layer(cors);
    Ok((router, issuer))
}

/// The same routes without the layer, for the loopback throughput comparison
/// (`scripts/throughput.sh`): `/mine` answers as it would for `admin`, unauthenticated.
pub fn app_without_auth(settings: &Settings, clock: impl Clock) -> Result<Router, String> {
    let (_, issuer) = app(settings, clock)?;
    async fn mine_fixed() -> Json<serde_json::Value> {
        Json(json!({ "user_id": 1, "username": "admin" }))
    }
    let cors = CorsLayer::new().allow_origin(Any).allow_methods(Any).allow_headers(Any);
    Ok(Router::new()
        .route("/mine", get(mine_fixed))
        .route("/auth", post(login))
        .route("/health", get(health))
        .with_state(AppState {
            issuer,
            passwords: PasswordChecker::new(2),
            revocations: Revocations::Memory(InMemoryRevocations::new()),
        })
        .layer(cors))
}

/// The layer's rejections as JSON, keeping the standard status and `WWW-Authenticate`.
fn json_rejection(rejection: &Rejection, context: &RejectionContext<'_>) -> Response {
    let mut response: Response = rejection.default_response(context);
    if !context.is_grpc() {
        let body = json!({
            "error": rejection.error_code().unwrap_or("unauthorized"),
            "error_description": rejection.to_string(),
        });
        *response.body_mut() = body.to_string().into();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({ "error": code, "error_description": description }))).into_response()
}

/// A token response: the JSON body, and the same token as an HttpOnly cookie.
fn token_response(issuer: &Issuer, issued: IssuedToken) -> Response {
    let cookie = issuer.set_cookie(&issued);
    let mut response = Json(issued).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
struct LoginRequest {
    user: String,
    password: String,
}

/// `POST /auth`: the tutorial's login view.
async fn login(State(state): State<AppState>, Json(request): Json<LoginRequest>) -> Response {
    let user = state.passwords.check(request.user, request.password).await;
    let Some(user) = user else {
        return error(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong user or password");
    };
    let claims = DemoClaims { user_id: user.id, username: user.name.to_owned() };
    match state.issuer.issue(user.id.to_string(), &claims) {
        Ok(issued) => token_response(&state.issuer, issued),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    }
}

/// `GET /mine`: who the token says you are.
async fn mine(claims: Claims<DemoClaims>) -> Json<serde_json::Value> {
    Json(json!({ "user_id": claims.custom().user_id, "username": claims.custom().username }))
}

/// `GET /admin`: authenticated for everyone, allowed for `admin` only (decided here).
async fn admin(claims: Claims<DemoClaims>) -> Response {
    if claims.custom().username == "admin" {
        Json(json!({ "message": "welcome, admin" })).into_response()
    } else {
        error(StatusCode::FORBIDDEN, "forbidden", "this page is for admins only")
    }
}

/// `GET /update/token`: explicit renewal with the very rules of sliding renewal.
async fn update_token(State(state): State<AppState>, claims: Claims<DemoClaims>) -> Response {
    let response = match state.issuer.renew(claims.token().as_str()).await {
        Ok(issued) => token_response(&state.issuer, issued),
        Err(RenewError::SessionEnded) => {
            error(StatusCode::UNAUTHORIZED, "session_ended", "the session has ended; log in again")
        }
        Err(RenewError::Unavailable) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly")
        }
        Err(e @ RenewError::NotExtended) => {
            error(StatusCode::CONFLICT, "not_extended", &e.to_string())
        }
        Err(e) => error(StatusCode::UNAUTHORIZED, "invalid_token", &e.to_string()),
    };
    // This response carries a token already: the layer must not add another.
    (Extension(NoRenewal), response).into_response()
}

/// `POST /logout`: ends the session everywhere. Its `sid` is revoked until the session cap, so
/// this token, every renewal already handed out and any still in flight are refused by every
/// instance; the cookie is cleared.
async fn logout(State(state): State<AppState>, claims: Claims<DemoClaims>) -> Response {
    let registered = claims.registered();
    let until = state.issuer.session_expires_at(registered).unwrap_or(registered.expires_at());
    let Some(sid) = registered.session_id() else {
        return error(StatusCode::BAD_REQUEST, "no_session", "the token has no session id");
    };
    if state.revocations.revoke_session(sid, until).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly");
    }
    let clear = HeaderValue::from_static("token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    let mut response = Json(json!({ "logged_out": true })).into_response();
    response.headers_mut().append(SET_COOKIE, clear);
    (Extension(NoRenewal), response).into_response()
}

/// `GET /.well-known/jwks.json`: the public keys, for services that only verify.
async fn jwks(State(state): State<AppState>) -> Json<tower_sliding_jwt::JwkSet> {
    Json(state.issuer.jwks())
}

/// `GET /health`: public.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}
