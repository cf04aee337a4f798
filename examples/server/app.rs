//! The demo API (DESIGN.md section 7): the tutorial's login, protected routes and explicit
//! renewal, on axum with `tower-sliding-jwt`. `main.rs` serves it; the integration tests mount
//! the very same router.

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};
use tower_sliding_jwt::{
    Claims, Clock, ConfigError, CookieSettings, EXPIRES_IN_HEADER, IssuedToken, Issuer,
    JwtAuthLayer, NoRenewal, REFRESHED_TOKEN_HEADER, RawToken, Rejection, RejectionContext,
    RenewError, TokenSource,
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
}

/// The router and the issuer behind it.
pub fn app(settings: &Settings, clock: impl Clock) -> Result<(Router, Issuer), ConfigError> {
    let auth = JwtAuthLayer::builder()
        .claims::<DemoClaims>()
        .hs256(&settings.secret)
        .issuer(settings.issuer.clone())
        .token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("token"),
            TokenSource::query("token"),
        ])
        // The demo serves plain HTTP; keep the default `Secure` in production.
        .refresh(
            settings
                .refresh_policy()
                .cookie(CookieSettings::new().secure(false)),
        )
        .clock(clock)
        .rejection_handler(json_rejection)
        .build()?;
    let issuer = auth.issuer();

    let protected = Router::new()
        .route("/mine", get(mine))
        .route("/admin", get(admin))
        .route("/update/token", get(update_token))
        .route_layer(auth);
    let public = Router::new()
        .route("/auth", post(login))
        .route("/health", get(health));
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
        })
        .layer(cors);
    Ok((router, issuer))
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
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
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
    // Argon2 is deliberately slow: keep it off the async workers.
    let user = tokio::task::spawn_blocking(move || {
        let user = USERS.iter().find(|u| u.name == request.user)?;
        let hash = PasswordHash::new(user.password_hash).ok()?;
        Argon2::default()
            .verify_password(request.password.as_bytes(), &hash)
            .ok()?;
        Some(user)
    })
    .await
    .ok()
    .flatten();
    let Some(user) = user else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong user or password",
        );
    };
    let claims = DemoClaims {
        user_id: user.id,
        username: user.name.to_owned(),
    };
    match state.issuer.issue(user.id.to_string(), &claims) {
        Ok(issued) => token_response(&state.issuer, issued),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        ),
    }
}

/// `GET /mine`: who the token says you are.
async fn mine(claims: Claims<DemoClaims>) -> Json<serde_json::Value> {
    Json(json!({ "user_id": claims.custom.user_id, "username": claims.custom.username }))
}

/// `GET /admin`: authenticated for everyone, allowed for `admin` only (decided here).
async fn admin(claims: Claims<DemoClaims>) -> Response {
    if claims.custom.username == "admin" {
        Json(json!({ "message": "welcome, admin" })).into_response()
    } else {
        error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this page is for admins only",
        )
    }
}

/// `GET /update/token`: explicit renewal with the very rules of sliding renewal.
async fn update_token(State(state): State<AppState>, token: RawToken) -> Response {
    let response = match state.issuer.renew(token.as_str()).await {
        Ok(issued) => token_response(&state.issuer, issued),
        Err(RenewError::SessionEnded) => error(
            StatusCode::UNAUTHORIZED,
            "session_ended",
            "the session has ended; log in again",
        ),
        Err(RenewError::Unavailable) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "try again shortly",
        ),
        Err(e @ RenewError::NotExtended) => {
            error(StatusCode::CONFLICT, "not_extended", &e.to_string())
        }
        Err(e) => error(StatusCode::UNAUTHORIZED, "invalid_token", &e.to_string()),
    };
    // This response carries a token already: the layer must not add another.
    (Extension(NoRenewal), response).into_response()
}

/// `GET /health`: public.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}
