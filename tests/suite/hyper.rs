//! The hyper example (plain hyper 1 + hyper-util), run as its own process, with a real hyper
//! client over HTTP/1.1 and over HTTP/2 with prior knowledge. Tokens "from the past" are signed
//! by an issuer with the server's configuration on a clock of its own.

use crate::common::{Example, claims_of, example_issuer, unix_now};
use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};
use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};

const SECRET: &str = "hyper-tests-secret-of-at-least-32-bytes";

struct Server {
    base: String,
    _process: Example,
}

fn start() -> Server {
    let process = Example::start("hyper_server", &[("JWT_SECRET", SECRET)]);
    Server { base: process.base.clone(), _process: process }
}

/// A token for `sub`, issued `age` seconds ago.
fn token(sub: &str, age: i64) -> String {
    let (issuer, _) = example_issuer(SECRET, unix_now() - age);
    issuer.issue(sub, &json!({ "username": "ada" })).unwrap().token
}

fn client(http2: bool) -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).http2_only(http2).build_http()
}

async fn get(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    token: Option<&str>,
) -> Response<Incoming> {
    let mut request = Request::get(url);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    client.request(request.body(Full::default()).unwrap()).await.unwrap()
}

async fn json_body(response: Response<Incoming>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

async fn every_case(http2: bool) {
    let server = start();
    let client = client(http2);
    let version = if http2 { Version::HTTP_2 } else { Version::HTTP_11 };
    let url = format!("{}/", server.base);
    let fresh = token("u-1", 0);

    // Valid: the claims come back as JSON.
    let response = get(&client, &url, Some(&fresh)).await;
    assert_eq!(response.version(), version);
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("x-refreshed-token").is_none());
    let claims = json_body(response).await;
    assert_eq!(claims["sub"], "u-1");
    assert_eq!(claims["username"], "ada");
    assert_eq!(claims["iss"], "demo");

    // Every path is protected.
    let response = get(&client, &format!("{}/anything", server.base), None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Missing.
    let response = get(&client, &url, None).await;
    assert_eq!(response.version(), version);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], r#"Bearer realm="api""#);

    // Renewed: 200 s into a 300 s token, the default threshold of 150 s has been passed.
    let response = get(&client, &url, Some(&token("u-1", 200))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let renewed = response.headers()["x-refreshed-token"].to_str().unwrap().to_owned();
    let exp = claims_of(&renewed)["exp"].as_i64().unwrap();
    assert!((exp - (unix_now() + 300)).abs() <= 2, "a fresh 300 s lifetime: {exp}");
    assert_eq!(get(&client, &url, Some(&renewed)).await.status(), StatusCode::OK);

    // Expired (past the 5 s leeway).
    let response = get(&client, &url, Some(&token("u-1", 310))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn http1() {
    every_case(false).await;
}

#[tokio::test]
async fn http2_prior_knowledge() {
    every_case(true).await;
}

#[tokio::test]
async fn the_client_layer_keeps_the_session_alive() {
    let server = start();
    // A token in its renewal window: the first response brings its successor to the store.
    let old = token("u-2", 200);
    let store = TokenStore::new(&server.base).unwrap().with_token(old.clone());
    let client =
        ServiceBuilder::new().layer(ClientTokenLayer::new(store.clone())).service(client(false));
    for _ in 0..3 {
        let request = Request::get(format!("{}/", server.base)).body(Full::default()).unwrap();
        let response = client.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let current = store.token().unwrap();
    assert_ne!(*current, *old, "the store holds the successor");
    let exp = claims_of(&current)["exp"].as_i64().unwrap();
    assert!(exp > claims_of(&old)["exp"].as_i64().unwrap());
}

/// The client layer is bound to the store's origin: another host gets no token, and a "renewal"
/// it sends back (here one that would pin the store until the end of time) is not read.
#[tokio::test]
async fn the_client_layer_sends_and_takes_tokens_for_its_origin_only() {
    use std::sync::{Arc, Mutex};

    let server = start();
    let login = token("u-3", 0);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let pinned = {
        let mut claims = claims_of(&login);
        claims["exp"] = json!(i64::MAX);
        let (header, _) = login.split_once('.').unwrap();
        format!("{header}.{}.forged", crate::common::b64(claims.to_string().as_bytes()))
    };
    let evil = axum::Router::new().fallback(move |headers: http::HeaderMap| {
        record.lock().unwrap().push(headers.get(AUTHORIZATION).cloned());
        let pinned = pinned.clone();
        async move { ([("x-refreshed-token", pinned)], "hello") }
    });
    let evil = crate::common::serve(evil).await;
    let store = TokenStore::new(&server.base).unwrap().with_token(login.clone());
    let client =
        ServiceBuilder::new().layer(ClientTokenLayer::new(store.clone())).service(client(false));
    let request = Request::get(format!("{evil}/collect")).body(Full::default()).unwrap();
    assert_eq!(client.clone().oneshot(request).await.unwrap().status(), StatusCode::OK);
    assert_eq!(*seen.lock().unwrap(), [None], "the token went to another origin");
    assert_eq!(store.token().as_deref(), Some(login.as_str()), "another origin planted a token");
    // The store's own origin still gets it.
    let request = Request::get(format!("{}/", server.base)).body(Full::default()).unwrap();
    assert_eq!(client.oneshot(request).await.unwrap().status(), StatusCode::OK);
}

/// Start-up output ends up in logs that others read: the hyper and gRPC examples say how to get
/// a token, and never print one.
#[test]
fn the_examples_print_how_to_get_a_token_not_a_token() {
    for name in ["hyper_server", "grpc_server"] {
        let process = Example::start(name, &[("JWT_SECRET", SECRET)]);
        assert!(process.banner.contains("/auth"), "{name}: {}", process.banner);
        let looks_like_a_token =
            |word: &str| word.starts_with("eyJ") && word.matches('.').count() == 2;
        let words = process.banner.split(|c: char| c.is_whitespace() || c == '\'' || c == '"');
        assert!(
            !words.into_iter().any(looks_like_a_token),
            "{name} printed a token: {}",
            process.banner
        );
    }
}
