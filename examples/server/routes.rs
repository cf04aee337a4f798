//! The demo's routes: the tutorial's login, the protected pages, explicit renewal and logout,
//! and a page at `/` that runs a session in the browser.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sliding_jwt::error::RenewError;
use tower_sliding_jwt::{
    Claims, Clock, DpopKey, IssuedToken, Issuer, JwkSet, ManualClock, NoRenewal,
};

use crate::passwords::PasswordChecker;
use crate::revocations::Revocations;

/// The application's own claims, next to `sub`, `iat`, `exp`, `auth_time`, `jti`, `sid`, `iss`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoClaims {
    pub user_id: u64,
    pub username: String,
}

#[derive(Clone)]
pub struct AppState {
    pub issuer: Issuer,
    pub passwords: PasswordChecker,
    pub revocations: Revocations,
}

/// The routes anyone may call.
pub fn public(publish_keys: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/", get(page))
        .route("/auth", post(login))
        .route("/health", get(health));
    if publish_keys { router.route("/.well-known/jwks.json", get(jwks)) } else { router }
}

/// `POST /clock/advance` with `{"secs": N}`: move the server's stopped clock (`DEMO_CLOCK=manual`)
/// and answer with the new time.
pub fn clock(clock: ManualClock) -> Router<AppState> {
    #[derive(Deserialize)]
    struct Advance {
        secs: u64,
    }
    let advance = move |Json(Advance { secs }): Json<Advance>| async move {
        clock.advance(std::time::Duration::from_secs(secs));
        Json(json!({ "now": clock.now() }))
    };
    Router::new().route("/clock/advance", post(advance))
}

/// The routes that need a token (put the auth layer on them with `route_layer`).
pub fn protected() -> Router<AppState> {
    Router::new()
        .route("/mine", get(mine))
        .route("/session", get(session))
        .route("/admin", get(admin))
        .route("/update/token", get(update_token))
        .route("/logout", post(logout))
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(json!({ "error": code, "error_description": description }))).into_response()
}

/// A token response: the JSON body, and the same token as an HttpOnly cookie.
fn token_response(issuer: &Issuer, issued: IssuedToken) -> Response {
    with_cookie(issuer, &issued, Json(&issued).into_response())
}

/// A login for a page in cookie mode: the token in the cookie only, the lifetimes in the body.
fn cookie_response(issuer: &Issuer, issued: IssuedToken) -> Response {
    let body = json!({
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "session_expires_at": issued.session_expires_at,
    });
    with_cookie(issuer, &issued, Json(body).into_response())
}

/// Every response that carries a token: the cookie, and `no-store`, so no cache (the browser's
/// or a shared one) ever keeps or replays it (RFC 6749 section 5.1).
fn with_cookie(issuer: &Issuer, issued: &IssuedToken, mut response: Response) -> Response {
    if let Some(cookie) = issuer.set_cookie(issued) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[derive(Deserialize)]
struct LoginRequest {
    user: String,
    password: String,
    /// The token only as the HttpOnly cookie, not in the body: a page in cookie mode never
    /// holds it, so a script injected into the page cannot read it either.
    #[serde(default)]
    cookie_only: bool,
    /// Bind the token to the key of the request's `DPoP` proof (RFC 9449): a page in DPoP mode
    /// signs a proof for every call, so the token is worthless to anyone without its key.
    #[serde(default)]
    dpop: bool,
}

/// `POST /auth`: the tutorial's login view.
async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Json(request): Json<LoginRequest>,
) -> Response {
    // The proof first: it is cheap, and a refused one costs no password check.
    let key = match request.dpop.then(|| state.issuer.dpop_key(&parts)).transpose() {
        Ok(key) => key,
        Err(refused) => {
            let code = refused.error_code().unwrap_or("invalid_dpop_proof");
            return error(StatusCode::BAD_REQUEST, code, &refused.to_string());
        }
    };
    let user = state.passwords.check(request.user, request.password).await;
    let Some(user) = user else {
        return error(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong user or password");
    };
    let claims = DemoClaims { user_id: user.id, username: user.name.to_owned() };
    if let Some(key) = key {
        // A bound token lives in the page only: a cookie would carry it without a proof.
        return match state.issuer.issue_bound(user.id.to_string(), &claims, &key) {
            Ok(issued) => no_store(Json(&issued).into_response()),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
        };
    }
    match state.issuer.issue(user.id.to_string(), &claims) {
        Ok(issued) if request.cookie_only => cookie_response(&state.issuer, issued),
        Ok(issued) => token_response(&state.issuer, issued),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    }
}

/// `GET /mine`: who the token says you are.
async fn mine(claims: Claims<DemoClaims>) -> Json<serde_json::Value> {
    Json(json!({ "user_id": claims.custom().user_id, "username": claims.custom().username }))
}

/// `GET /session`: the presented token's lifetimes, for the page (which, in cookie mode, cannot
/// read the token itself), and the server's time, so the page counts down by the server's clock
/// rather than the browser's.
async fn session(State(state): State<AppState>, claims: Claims<DemoClaims>) -> Response {
    let registered = claims.registered();
    Json(json!({
        "username": claims.custom().username,
        "session_start": registered.session_start(),
        "iat": registered.issued_at(),
        "exp": registered.expires_at(),
        "session_expires_at": state.issuer.session_expires_at(registered),
        "now": state.issuer.now(),
    }))
    .into_response()
}

/// `GET /`: the demo page; HTML, CSS and script in one file, nothing fetched from elsewhere.
async fn page() -> impl IntoResponse {
    Html(include_str!("page.html"))
}

/// `GET /admin`: authenticated for everyone, allowed for `admin` only (decided here).
async fn admin(claims: Claims<DemoClaims>) -> Response {
    if claims.custom().username == "admin" {
        Json(json!({ "message": "welcome, admin" })).into_response()
    } else {
        error(StatusCode::FORBIDDEN, "forbidden", "this page is for admins only")
    }
}

/// `GET /update/token`: explicit renewal with the very rules of sliding renewal. A DPoP-bound
/// token renews for the key whose proof the layer checked on this request, and stays bound.
async fn update_token(
    State(state): State<AppState>,
    key: Option<Extension<DpopKey>>,
    claims: Claims<DemoClaims>,
) -> Response {
    let token = claims.token().as_str();
    let renewed = match key {
        Some(Extension(key)) => state.issuer.renew_bound(token, &key).await,
        None => state.issuer.renew(token).await,
    };
    let response = match renewed {
        Ok(issued) => token_response(&state.issuer, issued),
        Err(RenewError::SessionLimitReached) => {
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

/// `POST /logout`: ends the session everywhere. Its `sid` is revoked for as long as any of its
/// tokens could be accepted, so this token, every renewal already handed out and any still in
/// flight are refused by every instance; the cookie is cleared. The layer asks the store again
/// before it would renew, so this response never carries a successor.
async fn logout(State(state): State<AppState>, claims: Claims<DemoClaims>) -> Response {
    let registered = claims.registered();
    let until = state.issuer.revocation_until(&claims);
    let Some(sid) = registered.session_id() else {
        return error(StatusCode::BAD_REQUEST, "no_session", "the token has no session id");
    };
    if state.revocations.revoke_session(sid, until).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly");
    }
    let mut response = Json(json!({ "logged_out": true })).into_response();
    // The deletion matches the cookie the layer sets, whatever its attributes.
    if let Some(clear) = state.issuer.clear_cookie() {
        response.headers_mut().append(SET_COOKIE, clear);
    }
    response
}

/// `GET /.well-known/jwks.json`: the public keys, for services that only verify.
async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    Json(state.issuer.jwks())
}

/// `GET /health`: public, for a load balancer. `503` while the layer cannot decide every
/// request (the revocation store down, an identity provider's keys too old).
async fn health(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let readiness = state.issuer.readiness().await;
    if readiness.is_ready() {
        return (StatusCode::OK, Json(json!({ "status": "ok" })));
    }
    let problems: Vec<String> = readiness.problems.iter().map(ToString::to_string).collect();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "problems": problems })),
    )
}

/// `GET /metrics`: what the layer counted, in the Prometheus text format.
pub fn metrics(prometheus: metrics_exporter_prometheus::PrometheusHandle) -> Router<AppState> {
    let scrape = move || {
        let text = prometheus.render();
        async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
    };
    Router::new().route("/metrics", get(scrape))
}
