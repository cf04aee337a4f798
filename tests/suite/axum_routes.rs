//! Where the layer sits in an axum app: `route_layer` next to public routes, `layer` over a nested
//! router, and what unauthenticated requests to unknown paths get in each case. In process.

use crate::common::call;
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use http::header::AUTHORIZATION;
use tower_sliding_jwt::{Claims, Issuer, JwtAuthLayer};

const SECRET: &[u8] = b"axum-routing-secret-of-32-bytes!!";

fn auth() -> (JwtAuthLayer, Issuer) {
    let layer = JwtAuthLayer::builder().hs256(SECRET).build().unwrap();
    let issuer = layer.issuer();
    (layer, issuer)
}

async fn me(claims: Claims) -> String {
    claims.subject().unwrap_or_default().to_owned()
}

async fn status(app: &Router, path: &str, token: Option<&str>) -> StatusCode {
    status_of(app, http::Request::get(path), token).await
}

async fn status_of(
    app: &Router,
    request: http::request::Builder,
    token: Option<&str>,
) -> StatusCode {
    let request = match token {
        Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
        None => request,
    };
    call(app, request).await.status()
}

#[tokio::test]
async fn route_layer_protects_only_the_routes_before_it() {
    let (auth, issuer) = auth();
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(auth)
        .route("/", get(|| async { "public" }));
    let token = issuer.issue("7", &()).unwrap().token;
    assert_eq!(status(&app, "/", None).await, StatusCode::OK);
    assert_eq!(status(&app, "/me", None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, "/me", Some(&token)).await, StatusCode::OK);
    // Unknown paths are not behind the layer: a 404, token or not.
    assert_eq!(status(&app, "/nope", None).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&app, "/nope", Some(&token)).await, StatusCode::NOT_FOUND);
    // A known path with another method: the layer runs first (it wraps the route).
    let post = status_of(&app, http::Request::post("/me"), None).await;
    assert_eq!(post, StatusCode::UNAUTHORIZED);
    let post = status_of(&app, http::Request::post("/me"), Some(&token)).await;
    assert_eq!(post, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_layer_over_a_nested_router() {
    let (auth, issuer) = auth();
    let api = Router::new().route("/me", get(me)).layer(auth);
    let app = Router::new().route("/health", get(|| async { "ok" })).nest("/api", api);
    let token = issuer.issue("7", &()).unwrap().token;
    assert_eq!(status(&app, "/health", None).await, StatusCode::OK);
    assert_eq!(status(&app, "/api/me", None).await, StatusCode::UNAUTHORIZED);
    let request = http::Request::get("/api/me").header(AUTHORIZATION, format!("Bearer {token}"));
    assert_eq!(call(&app, request).await.body, "7");
    // Outside the nested router: not behind the layer.
    assert_eq!(status(&app, "/nope", None).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn route_layer_on_a_nested_router_keeps_its_404s() {
    let (auth, issuer) = auth();
    let api = Router::new().route("/me", get(me)).route_layer(auth);
    let app = Router::new().nest("/api", api);
    let token = issuer.issue("7", &()).unwrap().token;
    assert_eq!(status(&app, "/api/nope", None).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&app, "/api/me", None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, "/api/me", Some(&token)).await, StatusCode::OK);
}

#[tokio::test]
async fn a_layer_over_the_whole_router_guards_its_fallback_too() {
    let (auth, issuer) = auth();
    let app = Router::new().route("/me", get(me)).layer(auth);
    let token = issuer.issue("7", &()).unwrap().token;
    // `Router::layer` wraps the fallback: unknown paths are refused before they are looked up,
    // so an unauthenticated client cannot probe which paths exist.
    assert_eq!(status(&app, "/nope", None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&app, "/nope", Some(&token)).await, StatusCode::NOT_FOUND);
}

/// Routes that answer every method (`any`, `route_service`, `nest_service`, the fallback) would
/// run for a forged preflight if the layer passed preflights through. The layer answers them
/// itself; none of the handlers may run.
#[tokio::test]
async fn a_forged_preflight_reaches_no_handler() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::routing::any;
    use http::Request;
    use tower::ServiceExt;

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |calls: &Arc<AtomicUsize>| {
        let calls = Arc::clone(calls);
        tower::service_fn(move |_: Request<Body>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Ok::<_, std::convert::Infallible>(axum::response::Response::new(Body::from("ran")))
            }
        })
    };
    let any_calls = Arc::clone(&calls);
    let (auth, _) = auth();
    let app = Router::new()
        .route(
            "/any",
            any(move || {
                any_calls.fetch_add(1, Ordering::SeqCst);
                async { "ran" }
            }),
        )
        .route_service("/service", counted(&calls))
        .nest_service("/nested", counted(&calls))
        .fallback_service(counted(&calls))
        .layer(auth);
    for path in ["/any", "/service", "/nested/x", "/unknown"] {
        let preflight = Request::options(path)
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "DELETE")
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(preflight).await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        // Any other unauthenticated request to the same path is refused too.
        let delete = Request::delete(path).body(Body::empty()).unwrap();
        assert_eq!(app.clone().oneshot(delete).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a handler ran without a token");
}

/// A misconfiguration is loud: a handler asking for claims the request cannot carry answers
/// 500 (not a silent 401); an anonymous request in optional mode gets the layer's own refusal.
#[tokio::test]
async fn misconfigured_extractors_are_loud_and_anonymous_ones_get_the_layers_shape() {
    use axum::response::Response;
    use serde::Deserialize;
    use tower_sliding_jwt::{Rejection, RejectionContext};

    #[derive(Deserialize)]
    struct User {}
    #[derive(Deserialize)]
    struct Other {}

    let json = |rejection: &Rejection, context: &RejectionContext<'_>| -> Response {
        let mut response: Response = rejection.default_response(context);
        *response.body_mut() = format!(r#"{{"error":"{rejection}"}}"#).into();
        response
    };
    let auth = JwtAuthLayer::builder()
        .claims::<User>()
        .hs256(SECRET)
        .optional(true)
        .rejection_handler(json)
        .build()
        .unwrap();
    let token = auth.issuer().issue("7", &()).unwrap().token;
    let app = Router::new()
        .route("/user", get(|_: Claims<User>| async { "user" }))
        .route("/other", get(|_: Claims<Other>| async { "never" }))
        .route("/maybe-other", get(|_: Option<Claims<Other>>| async { "never" }))
        .layer(auth);
    let bearer = format!("Bearer {token}");
    let with_token = |path: &'static str| http::Request::get(path).header(AUTHORIZATION, &bearer);
    assert_eq!(call(&app, with_token("/user")).await.status(), StatusCode::OK);
    // The layer reads `User`; these handlers ask for `Other`.
    assert_eq!(call(&app, with_token("/other")).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let maybe = call(&app, with_token("/maybe-other")).await;
    assert_eq!(maybe.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // No token, optional mode, a handler that needs claims: the layer's 401, as JSON.
    let anonymous = call(&app, http::Request::get("/user")).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body, r#"{"error":"no token was presented"}"#);
    // A route not behind any layer at all.
    let bare = Router::new().route("/", get(|_: Claims| async { "never" }));
    assert_eq!(
        call(&bare, http::Request::get("/")).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
