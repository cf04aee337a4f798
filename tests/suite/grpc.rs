//! The gRPC example (tonic 0.14 + tonic-health), run as its own process, with a real tonic
//! client. Tokens "from the past" are signed by an issuer with the server's configuration on a
//! clock of its own.

use crate::common::{Example, claims_of, example_issuer, unix_now};
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::ServiceBuilder;
use tower_sliding_jwt::Issuer;
use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
use tower_sliding_jwt::tonic::{TokenInterceptor, renewed_token};

const SECRET: &str = "grpc-tests-secret-of-at-least-32-bytes";

struct Server {
    url: String,
    channel: Channel,
    _process: Example,
}

async fn start() -> Server {
    let process = Example::start("grpc_server", &[("JWT_SECRET", SECRET)]);
    let url = process.base.clone();
    let channel = Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
    Server { url, channel, _process: process }
}

/// A token for `sub` with these custom claims, issued `age` seconds ago.
fn token_with(sub: &str, custom: serde_json::Value, age: i64) -> String {
    let (issuer, _) = example_issuer(SECRET, unix_now() - age);
    issuer.issue(sub, &custom).unwrap().token
}

fn token(sub: &str, age: i64) -> String {
    token_with(sub, json!({}), age)
}

/// The server's configuration, to verify what it sends.
fn verifier() -> Issuer {
    example_issuer(SECRET, unix_now()).0
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
    let token = token("svc-1", 0);
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
    let forged = format!("{}x", token("svc-1", 0));
    for (token, reason) in [
        ("not.a.token", "the token header is malformed"),
        (forged.as_str(), "the token signature is invalid"),
    ] {
        let status = client.check(check(Some(token))).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{reason}");
        assert_eq!(status.message(), reason);
        assert!(!status.message().contains(token));
    }
    let token = token("svc-1", 400);
    let status = client.check(check(Some(&token))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "the token has expired");
}

#[tokio::test]
async fn a_renewed_token_arrives_in_the_metadata_and_works() {
    let server = start().await;
    let token = token_with("svc-1", json!({ "scope": "health" }), 200);
    let mut client = HealthClient::new(server.channel.clone());
    let response = client.check(check(Some(&token))).await.unwrap();
    assert!(serving(response.get_ref()));
    let renewed = renewed_token(response.metadata()).expect("renewed token").to_owned();
    assert_eq!(claims_of(&renewed)["scope"], "health");
    let exp = claims_of(&renewed)["exp"].as_i64().unwrap();
    assert!((exp - (unix_now() + 300)).abs() <= 2, "a fresh 300 s lifetime: {exp}");
    // The renewed token works where its predecessor, 150 s later, would not.
    let expired = token_with("svc-1", json!({ "scope": "health" }), 350);
    assert_eq!(
        client.check(check(Some(&expired))).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let response = client.check(check(Some(&renewed))).await.unwrap();
    assert!(serving(response.get_ref()));
}

#[tokio::test]
async fn a_stream_gets_the_renewal_in_its_initial_metadata() {
    let server = start().await;
    let token = token("svc-1", 200);
    let mut client = HealthClient::new(server.channel.clone());
    let mut request = Request::new(HealthCheckRequest { service: String::new() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let response = client.watch(request).await.unwrap();
    let renewed = renewed_token(response.metadata())
        .expect("initial metadata carries the renewal")
        .to_owned();
    assert!(verifier().verify::<serde_json::Value>(&renewed).is_ok());
    let mut stream = response.into_inner();
    let first = stream.message().await.unwrap().expect("first status");
    assert!(serving(&first));
}

#[tokio::test]
async fn the_client_helpers_keep_the_token_current() {
    let server = start().await;

    // A channel wrapped in the client layer: renewals are picked up with no code at the call site.
    let login = token("svc-1", 200);
    let store = TokenStore::new(&server.url).unwrap().with_token(login.clone());
    let channel = ServiceBuilder::new()
        .layer(ClientTokenLayer::new(store.clone()))
        .service(server.channel.clone());
    let mut client = HealthClient::new(channel);
    for _ in 0..3 {
        let response = client.check(HealthCheckRequest { service: String::new() }).await.unwrap();
        assert!(serving(response.get_ref()));
    }
    assert_ne!(store.token().as_deref(), Some(login.as_str()));

    // An interceptor attaches the token; the caller offers renewals back.
    let login = token("svc-2", 200);
    let store = TokenStore::new(&server.url).unwrap().with_token(login.clone());
    let mut client = HealthClient::with_interceptor(
        server.channel.clone(),
        TokenInterceptor::new(store.clone()),
    );
    let response = client.check(HealthCheckRequest { service: String::new() }).await.unwrap();
    assert!(store.offer_from_metadata(response.metadata()));
    assert_ne!(store.token().as_deref(), Some(login.as_str()));
}

/// A failed RPC often travels as a trailers-only response: HTTP 200 whose headers carry a
/// non-zero `grpc-status`. It must not carry a renewal, like any failed call.
#[tokio::test]
async fn a_failed_call_gets_no_renewal() {
    let server = start().await;
    let token = token("svc-1", 200);
    let mut client = HealthClient::new(server.channel.clone());
    let mut request = Request::new(HealthCheckRequest { service: "no.such.Service".into() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let status = client.check(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(renewed_token(status.metadata()).is_none(), "a failed call carried a renewal");
    // The same token on a successful call in the same window does renew.
    let response = client.check(check(Some(&token))).await.unwrap();
    assert!(renewed_token(response.metadata()).is_some());
}

/// A minimal gRPC service of the application's own (what generated code would be): every call
/// answers OK with no message.
#[derive(Clone)]
struct Echo;

impl tonic::server::NamedService for Echo {
    const NAME: &'static str = "demo.Echo";
}

impl tower::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        let mut response = http::Response::new(tonic::body::Body::default());
        response.headers_mut().insert("content-type", "application/grpc".parse().unwrap());
        response.headers_mut().insert("grpc-status", "0".parse().unwrap());
        std::future::ready(Ok(response))
    }
}

/// The README's advice, on a real server: the health service answers probes without a token,
/// while the application's own service, wrapped with `named_layer`, needs one.
#[tokio::test]
async fn named_layer_keeps_health_open_and_the_application_closed() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tonic::service::LayerExt as _;
    use tower_sliding_jwt::JwtAuthLayer;

    let auth = JwtAuthLayer::builder().hs256(SECRET).issuer("demo").build().unwrap();
    let token = auth.issuer().issue("svc", &json!({})).unwrap().token;
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(auth.named_layer(Echo))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);

    let channel = Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
    let probe = HealthClient::new(channel).check(check(None)).await.unwrap();
    assert!(serving(probe.get_ref()), "health answers without a token");

    let client = Client::builder(TokioExecutor::new()).http2_only(true).build_http();
    let echo = |token: Option<&str>| {
        let mut request = http::Request::post(format!("{url}/demo.Echo/Call"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        client.request(request.body(Full::new(bytes::Bytes::from_static(&[0; 5]))).unwrap())
    };
    let grpc_status = |response: http::Response<hyper::body::Incoming>| async move {
        let (parts, body) = response.into_parts();
        let trailers = body.collect().await.unwrap().trailers().cloned();
        let status = parts.headers.get("grpc-status").cloned();
        status.or_else(|| trailers.and_then(|t| t.get("grpc-status").cloned())).unwrap()
    };
    assert_eq!(grpc_status(echo(None).await.unwrap()).await, "16", "no token: refused");
    assert_eq!(grpc_status(echo(Some(&token)).await.unwrap()).await, "0", "a token: served");
}

/// `tonic::claims` answers a mistake as the axum extractor does: claims of another type than
/// the layer reads are a server misconfiguration (`INTERNAL`, with an error log), and only a
/// call the layer let through without a token (optional mode) is `UNAUTHENTICATED`.
#[tokio::test]
async fn a_service_asking_for_claims_of_another_type_is_a_server_error() {
    use tower::{Layer, ServiceExt, service_fn};
    use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};

    #[derive(serde::Deserialize)]
    struct Other {}

    /// A service method reading claims of type `C`: the `Status` code it would answer.
    fn method<C: Send + Sync + 'static>() -> impl tower::Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = std::convert::Infallible,
    > + Clone {
        service_fn(|request: http::Request<()>| async move {
            let request = tonic::Request::from_http(request);
            let code = match tower_sliding_jwt::tonic::claims::<C, _>(&request) {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            };
            Ok(http::Response::new(format!("{code:?}")))
        })
    }
    let auth = JwtAuthLayer::builder().hs256(SECRET).issuer("demo").build().unwrap();
    let token = auth.issuer().issue("svc", &json!({})).unwrap().token;
    let request = |token: Option<&str>| {
        let mut request = http::Request::post("/grpc.health.v1.Health/Check")
            .header("content-type", "application/grpc");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(()).unwrap()
    };
    let answer = |response: http::Response<String>| response.into_body();
    let right =
        auth.layer(method::<NoCustomClaims>()).oneshot(request(Some(&token))).await.unwrap();
    assert_eq!(answer(right), "Ok");
    let wrong = auth.layer(method::<Other>()).oneshot(request(Some(&token))).await.unwrap();
    assert_eq!(answer(wrong), "Internal");
    let anonymous =
        auth.optional(true).layer(method::<NoCustomClaims>()).oneshot(request(None)).await.unwrap();
    assert_eq!(answer(anonymous), "Unauthenticated");
}
