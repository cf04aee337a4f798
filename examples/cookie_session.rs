//! A browser session in an HttpOnly cookie: login sets it, each response in the second half of a
//! token's life renews it, unsafe requests must come from our own pages, and logout ends the
//! session for good.
//!
//! ```sh
//! cargo run --example cookie_session           # or: ... -- 127.0.0.1:8080
//! curl -si -c jar localhost:3000/login -H 'content-type: application/json' \
//!     -d '{"user": "alice", "password": "wonderland"}'               # 204 + Set-Cookie
//! curl -s -b jar localhost:3000/me                                   # hello alice
//! curl -si -b jar -X POST localhost:3000/logout                      # 403: no Origin
//! curl -si -b jar -X POST localhost:3000/logout -H 'origin: http://localhost:3000'  # 204
//! ```

use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, extract::State, http::StatusCode, routing::get, routing::post};
use serde::Deserialize;
use tower_sliding_jwt::renewal::CookieSettings;
use tower_sliding_jwt::revocation::InMemoryRevocations;
use tower_sliding_jwt::{
    Claims, CsrfPolicy, Issuer, JwtAuthLayer, LoggedOut, RenewalPolicy, TokenSource,
};

#[derive(Clone)]
struct App {
    issuer: Issuer,
    revocations: InMemoryRevocations,
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(State(app): State<App>, Json(login): Json<Login>) -> Response {
    // Check the password against your user store (hashed); this one knows a single user.
    if (login.user.as_str(), login.password.as_str()) != ("alice", "wonderland") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(issued) = app.issuer.issue(login.user, &()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // The token goes into the cookie only: the page's scripts never see it.
    let cookie = app.issuer.set_cookie(&issued).expect("the layer reads a cookie");
    (StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)], [(CACHE_CONTROL, "no-store")]).into_response()
}

async fn me(claims: Claims) -> String {
    format!("hello {}", claims.subject().unwrap_or_default())
}

/// Revoke the session (every token of it, renewals included) for as long as any of them could
/// be accepted, then delete the cookie, with no renewal on this response.
async fn logout(State(app): State<App>, claims: Claims) -> LoggedOut {
    if let Some(sid) = claims.session_id() {
        app.revocations.revoke_session(sid, app.issuer.revocation_until(&claims));
    }
    app.issuer.logout()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut secret = [0u8; 32]; // a real service reads its secret from its secret store
    getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
    let revocations = InMemoryRevocations::new(); // RedisRevocations for several instances
    let auth = JwtAuthLayer::builder()
        .hs256(secret)
        .issuer("my-app")
        .token_sources([TokenSource::cookie("session")])
        // This demo serves plain HTTP, where browsers drop `Secure` cookies: keep it in production.
        .renewal(RenewalPolicy::new().cookie(CookieSettings::new().secure(false)))
        // Unsafe requests with the cookie must come from our own origin (the default policy);
        // a page served elsewhere is allowed by name.
        .csrf(CsrfPolicy::new().allow_origin("http://localhost:3000"))
        .revocation(revocations.clone())
        .build()?;
    let app = Router::new()
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route_layer(auth.clone())
        .route("/login", post(login))
        .with_state(App { issuer: auth.issuer(), revocations });
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
