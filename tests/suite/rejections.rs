//! What a refused request gets: every bad token is a `401` with `error="invalid_token"` and a
//! reason that never quotes the token; expiry follows the clock with its leeway; the authorize
//! hook answers `403`; gRPC requests get gRPC-shaped refusals; a rejection handler reshapes the
//! body; and no refused request reaches the handler. Hostile bytes on the wire are in `attacks`.

use crate::common::app::{App, SECRET};
use crate::common::{call, challenge, hmac_token, hs256, renewed, unix_now};
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::json;
use tower_sliding_jwt::{Forbidden, JwtAuthLayer, ManualClock, Rejection, RejectionContext};

#[tokio::test]
async fn every_bad_token_is_an_invalid_token_401() {
    let app = App::start(|b| b).await;
    let now = app.issuer.now();
    let claims = |iss: &str, iat: i64, exp: i64| {
        json!({ "sub": "1", "iss": iss, "iat": iat, "exp": exp, "auth_time": iat, "sid": "s" })
            .to_string()
    };
    let good = claims("us", now, now + 300);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            hs256(SECRET, r#"{"alg":"HS256"}"#, &claims("us", now - 400, now - 100)),
            "expired",
        ),
        (
            "forged",
            hs256(b"another-secret-that-is-32-bytes-long", r#"{"alg":"HS256"}"#, &good),
            "signature",
        ),
        ("wrong alg", hmac_token(384, &[7u8; 48], r#"{"alg":"HS384"}"#, &good), "algorithm"),
        (
            "alg none",
            format!("{}.", hs256(SECRET, r#"{"alg":"none"}"#, &good).rsplit_once('.').unwrap().0),
            "well-formed",
        ),
        ("alg none, signed", hs256(SECRET, r#"{"alg":"none"}"#, &good), "algorithm"),
        ("unknown kid", hs256(SECRET, r#"{"alg":"HS256","kid":"nope"}"#, &good), "key id"),
        (
            "wrong iss",
            hs256(SECRET, r#"{"alg":"HS256"}"#, &claims("evil", now, now + 300)),
            "issuer",
        ),
        ("oversized", "a".repeat(9 * 1024), "too large"),
        ("garbage", "not-a-jwt".to_owned(), "well-formed"),
    ];
    for (name, token, reason) in cases {
        let response = app.get("/whoami", Some(&token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let challenge = challenge(&response);
        assert!(challenge.contains(r#"error="invalid_token""#), "{name}: {challenge}");
        assert!(challenge.contains(reason), "{name}: {challenge}");
        assert!(!challenge.contains(&token[..20.min(token.len())]), "{name}: token leaked");
        assert!(renewed(&response).is_none(), "{name}");
    }
    assert_eq!(app.calls.get(), 0);
    // The control: the same claims, correctly signed, pass.
    let control = hs256(SECRET, r#"{"alg":"HS256"}"#, &good);
    assert_eq!(app.get("/whoami", Some(&control)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn expiry_follows_the_clock_with_its_leeway() {
    let app = App::start(|b| b).await;
    let token = app.login();
    // Valid while the clock is before `exp` plus the 5 s leeway.
    app.advance(304);
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::OK, "within 5 s");
    app.advance(1);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("expired"));
}

#[tokio::test]
async fn rejected_requests_never_reach_the_handler() {
    let app = App::start(|b| b).await;
    for token in [None, Some("a.b.c"), Some("garbage")] {
        let response = app.get("/whoami", token).await;
        assert!(response.status().is_client_error());
        assert!(renewed(&response).is_none());
    }
    assert_eq!(app.calls.get(), 0);
    app.get("/whoami", Some(&app.login())).await;
    assert_eq!(app.calls.get(), 1);
}

#[tokio::test]
async fn the_authorize_hook_refuses_with_403() {
    let app = App::start_as(
        |b| b,
        |layer| {
            layer.authorize(|claims, request| {
                if request.uri.path() != "/status/200" || claims.custom().role == "admin" {
                    Ok(())
                } else {
                    Err(Forbidden::new("admins only"))
                }
            })
        },
    )
    .await;
    let user = app.login();
    let response = app.get("/status/200", Some(&user)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="api", error="insufficient_scope", error_description="admins only""#
    );
    assert_eq!(app.calls.get(), 0);
    let admin = app.issuer.issue("1", &json!({ "role": "admin" })).unwrap().token;
    assert_eq!(app.get("/status/200", Some(&admin)).await.status(), StatusCode::OK);
    assert_eq!(app.get("/whoami", Some(&user)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_custom_rejection_handler_shapes_the_response() {
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .clock(clock)
        .rejection_handler(|rejection: &Rejection, context: &RejectionContext<'_>| -> Response {
            let mut response: Response = rejection.default_response(context);
            *response.body_mut() = json!({ "problem": rejection.to_string() }).to_string().into();
            response
        })
        .build()
        .unwrap();
    let router = Router::new().route("/", get(|| async { "ok" })).layer(layer);
    let response =
        call(&router, http::Request::get("/").header(AUTHORIZATION, "Bearer x.y.z")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(WWW_AUTHENTICATE));
    let body = response.json();
    assert_eq!(body["problem"], "the token header is malformed");
}

#[tokio::test]
async fn grpc_requests_get_grpc_shaped_rejections() {
    let app = App::start(|b| b).await;
    let response = app
        .send(
            http::Request::post("/whoami")
                .header("content-type", "application/grpc")
                .header(AUTHORIZATION, "Bearer a.b.c"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()["grpc-message"], "the token header is malformed");
    assert_eq!(response.headers()["content-type"], "application/grpc");
}
