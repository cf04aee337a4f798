//! CORS: the layer answers real preflights itself, so a forged one reaches no handler on any kind
//! of route, and the renewal header is exposed to scripts whichever side of the CORS layer it is.

use std::time::Duration;

use crate::common::app::{App, SECRET};
use crate::common::{Reply, call, renewed, unix_now};
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use http::header::AUTHORIZATION;
use tower_sliding_jwt::{JwtAuthLayer, ManualClock};

/// Routes that answer every method (`any`, `route_service`, `nest_service`, the fallback, and
/// tonic, which routes by path alone) would run for a forged preflight if the layer passed
/// preflights through. The layer answers them itself, with no body; none of the handlers runs.
/// An `OPTIONS` with a gRPC content type is no browser's preflight and is refused like any
/// request without a token.
#[tokio::test]
async fn a_forged_preflight_reaches_no_handler() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::routing::any;

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |calls: &Arc<AtomicUsize>| {
        let calls = Arc::clone(calls);
        tower::service_fn(move |_: http::Request<Body>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Ok::<_, std::convert::Infallible>(axum::response::Response::new(Body::from("ran")))
            }
        })
    };
    let any_calls = Arc::clone(&calls);
    let auth = JwtAuthLayer::builder().hs256(SECRET).build().unwrap();
    let app = Router::new()
        .route(
            "/any",
            any(move || {
                any_calls.fetch_add(1, Ordering::SeqCst);
                async { "ran" }
            }),
        )
        .route_service("/service", counted(&calls))
        .route_service("/grpc.health.v1.Health/Check", counted(&calls))
        .nest_service("/nested", counted(&calls))
        .fallback_service(counted(&calls))
        .layer(auth);
    let preflight = |path: &str| {
        http::Request::options(path)
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "DELETE")
    };
    for path in ["/any", "/service", "/grpc.health.v1.Health/Check", "/nested/x", "/unknown"] {
        let response = call(&app, preflight(path)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        assert!(response.body.is_empty(), "{path}");
        assert!(renewed(&response).is_none(), "{path}");
        // Any other unauthenticated request to the same path is refused too.
        let delete = call(&app, http::Request::delete(path)).await;
        assert_eq!(delete.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let grpc = preflight("/grpc.health.v1.Health/Check").header("content-type", "application/grpc");
    let response = call(&app, grpc).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "not a preflight, and not a gRPC call");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a handler ran without a token");
}

#[tokio::test]
async fn cors_preflights_are_answered_by_the_layer_and_other_options_are_not() {
    let app = App::start(|b| b).await;
    let preflight = || {
        http::Request::options("/whoami")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
    };
    let response = app.send(preflight()).await;
    // 204 from the layer itself (axum's own answer to OPTIONS on a GET route would be 405).
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    let plain_options = app.send(http::Request::options("/whoami")).await;
    assert_eq!(plain_options.status(), StatusCode::UNAUTHORIZED);
    let strict = App::start(|b| b.answer_cors_preflights(false)).await;
    assert_eq!(strict.send(preflight()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.calls.get() + strict.calls.get(), 0);
}

/// What the README says about CORS, pinned: with tower-http's `CorsLayer` outside the auth
/// layer, only the CORS layer's own `expose_headers` exposes the renewal header; when the
/// response already carries `Access-Control-Allow-Origin` as the auth layer writes it (CORS
/// inside), the auth layer exposes it itself.
#[tokio::test]
async fn cors_exposure_depends_on_the_order_of_the_layers() {
    use tower_http::cors::{Any, CorsLayer};
    use tower_sliding_jwt::renewal::REFRESHED_TOKEN_HEADER;

    let clock = ManualClock::new(unix_now());
    let auth = JwtAuthLayer::builder().hs256(SECRET).clock(clock.clone()).build().unwrap();
    let token = auth.issuer().issue("7", &()).unwrap().token;
    clock.advance(Duration::from_secs(200));
    let request = || {
        http::Request::get("/")
            .header("origin", "https://app.example")
            .header(AUTHORIZATION, format!("Bearer {token}"))
    };
    let exposed = |reply: &Reply| {
        reply
            .headers()
            .get_all("access-control-expose-headers")
            .iter()
            .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("x-refreshed-token"))
    };
    let route = || Router::new().route("/", get(|| async { "ok" }));
    let outside = route().layer(auth.clone()).layer(CorsLayer::new().allow_origin(Any));
    let reply = call(&outside, request()).await;
    assert!(renewed(&reply).is_some());
    assert!(!exposed(&reply), "the outer CORS layer writes after the auth layer");
    let listed = CorsLayer::new().allow_origin(Any).expose_headers([REFRESHED_TOKEN_HEADER]);
    let outside_listed = route().layer(auth.clone()).layer(listed);
    assert!(exposed(&call(&outside_listed, request()).await));
    let inside = route().layer(CorsLayer::new().allow_origin(Any)).layer(auth);
    let reply = call(&inside, request()).await;
    assert!(renewed(&reply).is_some() && exposed(&reply), "the auth layer sees the CORS headers");
}
