//! One smoke test per small example binary: each is started as a user would run it (on a free
//! loopback port) and does what its docs say, with a real client. The demo, hyper and gRPC
//! servers have suites of their own (`demo.rs`, `hyper.rs`, `grpc.rs`).

use crate::common::{Example, pem};
use axum::Router;
use axum::routing::get;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};

fn login_body() -> Value {
    json!({ "user": "alice", "password": "wonderland" })
}

#[tokio::test]
async fn the_axum_example_logs_in_and_protects_its_route() {
    let example = Example::start_with_args("axum", &["127.0.0.1:0"]);
    let http = Client::new();
    let url = |path: &str| format!("{}{path}", example.base);
    let login = http.post(url("/login")).json(&login_body()).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.unwrap();
    let token = body["token"].as_str().expect("a token");
    let me = http.get(url("/me")).bearer_auth(token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.text().await.unwrap(), "hello alice");
    let wrong = json!({ "user": "alice", "password": "nope" });
    let refused = http.post(url("/login")).json(&wrong).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(http.get(url("/me")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cookie_session_example_refuses_cross_site_logout_and_ends_the_session() {
    let example = Example::start_with_args("cookie_session", &["127.0.0.1:0"]);
    let http = Client::builder().cookie_store(true).build().unwrap();
    let url = |path: &str| format!("{}{path}", example.base);
    let login = http.post(url("/login")).json(&login_body()).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::NO_CONTENT);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("session=") && cookie.contains("HttpOnly"), "{cookie}");
    let me = http.get(url("/me")).send().await.unwrap();
    assert_eq!(me.text().await.unwrap(), "hello alice", "the cookie is the session");
    // An unsafe request with the cookie, from another site (or saying nothing): refused.
    for origin in [Some("https://evil.example"), None] {
        let mut request = http.post(url("/logout"));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    // From our own origin: the session ends, the cookie is deleted.
    let logout = http.post(url("/logout")).header("origin", &example.base).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let login = http.post(url("/login")).json(&login_body()).send().await.unwrap();
    let old = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let logout = http.post(url("/logout")).header("origin", &example.base).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    // The revoked session's cookie, sent again by hand, is refused.
    let replay = Client::new().get(url("/me")).header("cookie", old).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_tonic_pair_example_renews_and_refuses_a_call_without_a_token() {
    let output = tokio::task::spawn_blocking(|| Example::command("tonic_pair").output())
        .await
        .unwrap()
        .expect("run the example");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    for line in
        ["call 1: Serving", "call 2: Serving", "renewed: true", "without a token: Unauthenticated"]
    {
        assert!(printed.contains(line), "{line:?} missing from {printed:?}");
    }
}

// Two threads: the provider answers the example's discovery while this one waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_server_example_verifies_its_providers_tokens() {
    // A small identity provider on loopback: discovery and a JWK Set.
    let provider = JwtAuthLayer::builder()
        .signing_key(Key::from_private_pem(Algorithm::ES256, pem("ec256_private.pem")).unwrap())
        .issuer("pending")
        .build()
        .unwrap()
        .issuer();
    let jwks = serde_json::to_value(provider.jwks()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({ "issuer": issuer_url, "jwks_uri": format!("{issuer_url}/jwks") });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route("/jwks", get(move || async move { axum::Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let idp = |audience: &str| {
        JwtAuthLayer::builder()
            .signing_key(Key::from_private_pem(Algorithm::ES256, pem("ec256_private.pem")).unwrap())
            .issuer(issuer_url.clone())
            .audience(audience)
            .build()
            .unwrap()
            .issuer()
    };

    let api =
        Example::start_with_args("resource_server", &[&issuer_url, "api://orders", "127.0.0.1:0"]);
    let http = Client::new();
    let token = idp("api://orders").issue("user-1", &json!({ "scope": "orders:read" })).unwrap();
    let me = http.get(format!("{}/me", api.base)).bearer_auth(&token.token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert!(me.headers().get("x-refreshed-token").is_none(), "a verifier renews nothing");
    let body: Value = me.json().await.unwrap();
    assert_eq!(body, json!({ "sub": "user-1", "issuer": issuer_url, "scope": "orders:read" }));
    let elsewhere = idp("api://billing").issue("user-1", &json!({})).unwrap();
    let refused = http.get(format!("{}/me", api.base)).bearer_auth(&elsewhere.token).send().await;
    assert_eq!(refused.unwrap().status(), StatusCode::UNAUTHORIZED, "another API's token");
}
