//! The verified-token cache: a remembered token is still checked against the clock and the
//! revocation store on every request, the cache holds a bounded number of entries, and an entry
//! owns its copy of the token, so it pins no request's buffer.

use crate::common::app::App;
use crate::common::{call, unix_now};
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use http::header::AUTHORIZATION;
use serde_json::{Value, json};
use tower_sliding_jwt::revocation::InMemoryRevocations;
use tower_sliding_jwt::{Forbidden, JwtAuthLayer, ManualClock};

const SECRET: &[u8] = b"token-cache-tests-secret-of-32-bytes";

#[tokio::test]
async fn cached_tokens_are_still_checked_every_time() {
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start_as(
        move |b| b.revocation(list),
        |layer| {
            layer.authorize(|_, request| {
                if request.headers.contains_key("x-deny") {
                    Err(Forbidden::new("denied"))
                } else {
                    Ok(())
                }
            })
        },
    )
    .await;
    let token = app.login();
    // Seen once: cached from here on.
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::OK);
    // The authorization check runs on the cached token.
    let denied = app
        .send(
            http::Request::get("/whoami")
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .header("x-deny", "1"),
        )
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    // Revocation is asked on every request.
    let claims = app.issuer.verify::<Value>(&token).unwrap();
    revocations.revoke_token(claims.token_id().unwrap(), claims.expires_at());
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::UNAUTHORIZED);
    // Expiry too.
    let other = app.login();
    assert_eq!(app.get("/whoami", Some(&other)).await.status(), StatusCode::OK);
    app.advance(305);
    assert_eq!(app.get("/whoami", Some(&other)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_cache_is_bounded() {
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .clock(clock)
        .verified_token_cache(64)
        .build()
        .unwrap();
    let issuer = layer.issuer();
    let probe = layer.clone();
    let router = Router::new().route("/", get(|| async { "ok" })).layer(layer);
    for i in 0..300 {
        let token = issuer.issue(format!("user-{i}"), &()).unwrap().token;
        let request = http::Request::get("/").header(AUTHORIZATION, format!("Bearer {token}"));
        assert_eq!(call(&router, request).await.status(), StatusCode::OK);
        assert!(probe.cached_tokens() <= 64, "{} cached", probe.cached_tokens());
    }
    assert!(probe.cached_tokens() > 0);
    let off = JwtAuthLayer::builder().hs256(SECRET).verified_token_cache(0).build().unwrap();
    assert_eq!(off.cached_tokens(), 0);
}

/// hyper's header values are slices of the connection's read buffer: a verification the layer
/// remembers must own its copy of the token, or every cached token would pin all the bytes its
/// request carried (a few hundred kilobytes of junk headers each, for an attacker).
#[tokio::test]
async fn a_remembered_token_keeps_no_view_of_its_request() {
    use axum::body::Body;
    use bytes::Bytes;
    use tower::ServiceExt as _;

    let layer = JwtAuthLayer::builder().hs256(SECRET).issuer("us").build().unwrap();
    let issuer = layer.issuer();
    let app = Router::new().route("/", get(|| async { "ok" })).layer(layer);
    for round in 0..50 {
        let token = issuer.issue("alice", &json!({})).unwrap().token;
        let credentials = format!("Bearer {token}");
        let mut wire = credentials.clone().into_bytes();
        wire.resize(250 * 1024, b'x');
        let wire = Bytes::from(wire);
        // The header value shares the buffer, as hyper's do.
        let value = http::HeaderValue::from_maybe_shared(wire.slice(..credentials.len())).unwrap();
        // Sent twice: verified, then answered from the cache.
        for _ in 0..2 {
            let request = http::Request::get("/").header("authorization", value.clone());
            let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        drop(value);
        assert!(wire.is_unique(), "round {round}: something still holds the request's buffer");
    }
}
