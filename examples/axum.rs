//! Bearer tokens with axum: a login route and one protected route, renewed as they near expiry.
//!
//! ```sh
//! cargo run --example axum                     # or: cargo run --example axum -- 127.0.0.1:8080
//! curl -s localhost:3000/login -H 'content-type: application/json' \
//!     -d '{"user": "alice", "password": "wonderland"}'          # {"token": "...", ...}
//! curl -si localhost:3000/me -H "authorization: Bearer $TOKEN"  # hello alice
//! ```
//!
//! A response to a token in the second half of its life carries its successor in
//! `x-refreshed-token`; the client keeps using whichever token it received last.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get, routing::post};
use serde::Deserialize;
use tower_sliding_jwt::{Claims, IssuedToken, Issuer, JwtAuthLayer};

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(
    State(issuer): State<Issuer>,
    Json(login): Json<Login>,
) -> Result<Json<IssuedToken>, StatusCode> {
    // Check the password against your user store (hashed); this one knows a single user.
    if (login.user.as_str(), login.password.as_str()) != ("alice", "wonderland") {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let issued = issuer.issue(login.user, &()).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(issued))
}

async fn me(claims: Claims) -> String {
    format!("hello {}", claims.subject().unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh secret per run: tokens die with the process. A real service reads one secret,
    // shared by all its instances, from its secret store.
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
    let auth = JwtAuthLayer::builder().hs256(secret).issuer("my-app").build()?;
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(auth.clone()) // every route above this line needs a token
        .route("/login", post(login))
        .with_state(auth.issuer());
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
