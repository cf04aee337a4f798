//! The gRPC example (tonic 0.14 + tonic-health) with a real tonic client.

mod common;
#[allow(dead_code)]
#[path = "../examples/grpc_server.rs"]
mod grpc_server;

use std::time::Duration;

use common::{claims_of, unix_now};
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::ServiceBuilder;
use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
use tower_sliding_jwt::tonic::{BearerInterceptor, renewed_token};
use tower_sliding_jwt::{Issuer, ManualClock};

use grpc_server::settings::Settings;

struct Server {
    url: String,
    channel: Channel,
    issuer: Issuer,
    clock: ManualClock,
}

async fn start() -> Server {
    let settings = Settings::from_lookup(
        |name| (name == "JWT_SECRET").then(|| "grpc-tests-secret-of-at-least-32-bytes".to_owned()),
        "127.0.0.1:0",
    )
    .unwrap();
    let clock = ManualClock::new(unix_now());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = grpc_server::serve(listener, &settings, clock.clone()).await.unwrap();
    let channel = Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
    Server { url, channel, issuer, clock }
}

fn check(token: Option<&str>) -> Request<HealthCheckRequest> {
    let mut request = Request::new(HealthCheckRequest { service: String::new() });
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

fn serving(response: &HealthCheckResponse) -> bool {
    response.status == ServingStatus::Serving as i32
}

#[tokio::test]
async fn a_valid_token_is_served() {
    let server = start().await;
    let token = server.issuer.issue("svc-1", &json!({})).unwrap().token;
    let mut client = HealthClient::new(server.channel.clone());
    let response = client.check(check(Some(&token))).await.unwrap();
    assert!(serving(response.get_ref()));
    assert!(renewed_token(response.metadata()).is_none(), "fresh: no renewal");
}

#[tokio::test]
async fn no_token_is_unauthenticated() {
    let server = start().await;
    let mut client = HealthClient::new(server.channel.clone());
    let status = client.check(check(None)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "no token was presented");
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated_with_its_reason() {
    let server = start().await;
    let mut client = HealthClient::new(server.channel.clone());
    let forged = format!("{}x", server.issuer.issue("svc-1", &json!({})).unwrap().token);
    for (token, reason) in [
        ("not.a.token", "the token header is malformed"),
        (forged.as_str(), "the token signature is invalid"),
    ] {
        let status = client.check(check(Some(token))).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{reason}");
        assert_eq!(status.message(), reason);
        assert!(!status.message().contains(token));
    }
    let token = server.issuer.issue("svc-1", &json!({})).unwrap().token;
    server.clock.advance(Duration::from_secs(400));
    let status = client.check(check(Some(&token))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the token has expired");
}

#[tokio::test]
async fn a_renewed_token_arrives_in_the_metadata_and_works() {
    let server = start().await;
    let token = server.issuer.issue("svc-1", &json!({ "scope": "health" })).unwrap().token;
    let mut client = HealthClient::new(server.channel.clone());
    server.clock.advance(Duration::from_secs(200));
    let response = client.check(check(Some(&token))).await.unwrap();
    assert!(serving(response.get_ref()));
    let renewed = renewed_token(response.metadata()).expect("renewed token").to_owned();
    assert_eq!(claims_of(&renewed)["scope"], "health");
    assert_eq!(claims_of(&renewed)["exp"], server.issuer.now() + 300);
    // The next call with the renewed token, after the old one has expired.
    server.clock.advance(Duration::from_secs(150));
    assert_eq!(client.check(check(Some(&token))).await.unwrap_err().code(), Code::Unauthenticated);
    let response = client.check(check(Some(&renewed))).await.unwrap();
    assert!(serving(response.get_ref()));
}

#[tokio::test]
async fn a_stream_gets_the_renewal_in_its_initial_metadata() {
    let server = start().await;
    let token = server.issuer.issue("svc-1", &json!({})).unwrap().token;
    let mut client = HealthClient::new(server.channel.clone());
    server.clock.advance(Duration::from_secs(200));
    let mut request = Request::new(HealthCheckRequest { service: String::new() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let response = client.watch(request).await.unwrap();
    let renewed = renewed_token(response.metadata())
        .expect("initial metadata carries the renewal")
        .to_owned();
    assert!(server.issuer.verify::<serde_json::Value>(&renewed).is_ok());
    let mut stream = response.into_inner();
    let first = stream.message().await.unwrap().expect("first status");
    assert!(serving(&first));
}

#[tokio::test]
async fn the_client_helpers_keep_the_token_current() {
    let server = start().await;
    let login = server.issuer.issue("svc-1", &json!({})).unwrap().token;

    // A channel wrapped in the client layer: renewals are picked up with no code at the call site.
    let store = TokenStore::new(&server.url).unwrap().with_token(login.clone());
    let channel = ServiceBuilder::new()
        .layer(ClientTokenLayer::new(store.clone()))
        .service(server.channel.clone());
    let mut client = HealthClient::new(channel);
    for _ in 0..8 {
        server.clock.advance(Duration::from_secs(100));
        let response = client.check(HealthCheckRequest { service: String::new() }).await.unwrap();
        assert!(serving(response.get_ref()));
    }
    assert_ne!(store.token().as_deref(), Some(login.as_str()));

    // An interceptor attaches the token; the caller offers renewals back.
    let store = TokenStore::new(&server.url)
        .unwrap()
        .with_token(server.issuer.issue("svc-2", &json!({})).unwrap().token);
    let mut client = HealthClient::with_interceptor(
        server.channel.clone(),
        BearerInterceptor::new(store.clone()),
    );
    for _ in 0..8 {
        server.clock.advance(Duration::from_secs(100));
        let response = client.check(HealthCheckRequest { service: String::new() }).await.unwrap();
        store.offer_from_metadata(response.metadata());
    }
}

/// tonic routes by path alone, so an `OPTIONS` to a method path would run the RPC if the layer
/// let "preflights" through. Sent over a real HTTP/2 connection, as a gRPC client would.
#[tokio::test]
async fn a_forged_preflight_never_runs_the_rpc() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let server = start().await;
    let client = Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    // A gRPC-framed HealthCheckRequest with an empty service name.
    let frame = bytes::Bytes::from_static(&[0, 0, 0, 0, 0]);
    for content_type in [None, Some("application/grpc")] {
        let mut request = http::Request::builder()
            .method("OPTIONS")
            .uri(format!("{}/grpc.health.v1.Health/Check", server.url))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .header("te", "trailers");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = client.request(request.body(Full::new(frame.clone())).unwrap()).await;
        let response = response.unwrap();
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.unwrap();
        let status = parts
            .headers
            .get("grpc-status")
            .or(collected.trailers().and_then(|t| t.get("grpc-status")));
        assert_ne!(status.map(|s| s.as_bytes()), Some(&b"0"[..]), "{content_type:?}: the RPC ran");
        assert!(collected.to_bytes().is_empty(), "{content_type:?}: a health status was sent");
        // A real preflight gets the layer's 204; one with a gRPC content type is not a preflight
        // and is refused as the plain HTTP request it is (not POST, so not a gRPC call).
        let expected = if content_type.is_some() { 401 } else { 204 };
        assert_eq!(parts.status, expected, "{content_type:?}");
    }
}

/// A failed RPC often travels as a trailers-only response: HTTP 200 whose headers carry a
/// non-zero `grpc-status`. It must not carry a renewal, like any failed call.
#[tokio::test]
async fn a_failed_call_gets_no_renewal() {
    let server = start().await;
    let token = server.issuer.issue("svc-1", &json!({})).unwrap().token;
    let mut client = HealthClient::new(server.channel.clone());
    server.clock.advance(Duration::from_secs(200));
    let mut request = Request::new(HealthCheckRequest { service: "no.such.Service".into() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let status = client.check(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(renewed_token(status.metadata()).is_none(), "a failed call carried a renewal");
    // The same token on a successful call in the same window does renew.
    let response = client.check(check(Some(&token))).await.unwrap();
    assert!(renewed_token(response.metadata()).is_some());
}
