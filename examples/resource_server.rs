//! A resource server for an identity provider: it only verifies the provider's access tokens,
//! with the keys its OpenID Connect discovery names, kept fresh in the background. No signing
//! key, so nothing renews here: the provider's refresh tokens do that.
//!
//! ```sh
//! cargo run --example resource_server -- https://login.example.com api://my-api
//! curl -s localhost:3000/me -H "authorization: Bearer $ACCESS_TOKEN"
//! ```
//!
//! Arguments: the issuer (exactly the `iss` of its tokens), the audience this API answers to,
//! and optionally the address to listen on. A provider on `http://127.0.0.1` (a test one) is
//! fetched over plain HTTP; any other must be `https`.

use axum::{Json, Router, routing::get};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sliding_jwt::jwks::RemoteJwks;
use tower_sliding_jwt::{Claims, JwtAuthLayer};

/// What this API reads from the provider's tokens besides the registered claims.
#[derive(Deserialize)]
struct Access {
    #[serde(default)]
    scope: String,
}

async fn me(claims: Claims<Access>) -> Json<Value> {
    Json(json!({
        "sub": claims.subject(),
        "issuer": claims.registered().issuer(),
        "scope": claims.custom().scope,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(audience)) = (args.next(), args.next()) else {
        return Err("usage: resource_server <issuer> <audience> [address]".into());
    };
    let address = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let local = issuer.starts_with("http://127.0.0.1:");
    let keys = RemoteJwks::discover(&issuer).allow_http(local).fetch().await?;
    let auth =
        JwtAuthLayer::builder().claims::<Access>().remote_jwks(keys).audience(audience).build()?;
    let app = Router::new().route("/me", get(me)).layer(auth);
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
