//! Where the layer sits in an axum app and the per-route rules on top of one layer:
//! `route_layer` and `layer`, nested routers and fallbacks, optional and required claims, scopes,
//! and asynchronous requirements.

use std::time::Duration;

use crate::common::{call, challenge};
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use http::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::json;
use tower_sliding_jwt::require::require_scope;
use tower_sliding_jwt::testing::TokenFactory;
use tower_sliding_jwt::{Claims, Forbidden, Issuer, JwtAuthLayer, Rejection};

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

#[derive(Deserialize)]
struct User {
    role: String,
}

/// A router with a public, an optional, a user and an admin part, all from one layer.
fn app() -> (Router, TokenFactory, JwtAuthLayer<User>) {
    let auth = JwtAuthLayer::builder().claims::<User>().hs256([7u8; 32]).build().unwrap();
    let tokens = TokenFactory::for_layer(&auth);
    let admins = auth.authorize(|claims, _| match claims.custom().role.as_str() {
        "admin" => Ok(()),
        _ => Err(Forbidden::new("admins only")),
    });
    let greeting = |claims: Option<Claims<User>>| async move {
        claims.map_or("hello".to_owned(), |c| format!("hello {}", c.custom().role))
    };
    let router = Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(Router::new().route("/", get(greeting)).route_layer(auth.optional(true)))
        .merge(
            Router::new()
                .route("/me", get(|_: Claims<User>| async { "me" }))
                .route_layer(auth.clone()),
        )
        .merge(Router::new().route("/admin", get(|| async { "admin" })).route_layer(admins));
    (router, tokens, auth)
}

#[tokio::test]
async fn public_optional_user_and_admin_parts_from_one_layer() {
    let (app, tokens, auth) = app();
    let get = |path: &'static str, token: Option<String>| {
        let request = http::Request::get(path);
        let request = match &token {
            Some(token) => tokens.request(request, token),
            None => request,
        };
        let app = app.clone();
        async move { call(&app, request).await }
    };
    let user = Some(tokens.valid("1", &json!({ "role": "user" })).unwrap());
    let admin = Some(tokens.valid("2", &json!({ "role": "admin" })).unwrap());

    assert_eq!(get("/health", None).await.status(), StatusCode::OK);
    assert_eq!(get("/", None).await.body, "hello");
    assert_eq!(get("/", user.clone()).await.body, "hello user");
    let forged = Some(tokens.tampered("1", &json!({ "role": "user" })).unwrap());
    assert_eq!(get("/", forged).await.status(), StatusCode::UNAUTHORIZED, "optional, not lax");
    assert_eq!(get("/me", None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/me", user.clone()).await.status(), StatusCode::OK);
    let refused = get("/admin", user.clone()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&refused).contains("admins only"));
    assert_eq!(get("/admin", admin.clone()).await.status(), StatusCode::OK);

    // The variants share the layer's verified-token cache.
    assert!(auth.cached_tokens() >= 2, "{}", auth.cached_tokens());
}

#[tokio::test(start_paused = true)]
async fn an_asynchronous_requirement_answers_with_any_rejection() {
    let auth = JwtAuthLayer::builder().claims::<User>().hs256([7u8; 32]).build().unwrap();
    let tokens = TokenFactory::for_layer(&auth);
    // A policy service that takes a while to answer, and may be down.
    // Its claims type comes from the layer: no annotation needed.
    let policy = auth.require(|claims: Claims<User>, request: &http::request::Parts| {
        let down = request.headers.contains_key("x-policy-down");
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match (down, claims.custom().role.as_str()) {
                (true, _) => Err(Rejection::Unavailable),
                (false, "auditor") => Ok(()),
                (false, _) => Err(Rejection::Forbidden(Forbidden::new("auditors only"))),
            }
        }
    });
    let app = Router::new().route("/audit", get(|| async { "audit log" })).route_layer(policy);
    let auditor = tokens.valid("3", &json!({ "role": "auditor" })).unwrap();
    let user = tokens.valid("1", &json!({ "role": "user" })).unwrap();
    let ok = call(&app, tokens.request(http::Request::get("/audit"), &auditor)).await;
    assert_eq!((ok.status(), ok.body.as_ref()), (StatusCode::OK, b"audit log".as_ref()));
    let refused = call(&app, tokens.request(http::Request::get("/audit"), &user)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let down = tokens.request(http::Request::get("/audit").header("x-policy-down", "1"), &auditor);
    assert_eq!(call(&app, down).await.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn require_scope_reads_scope_or_scp_and_names_the_scope() {
    let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build().unwrap();
    let tokens = TokenFactory::for_layer(&auth);
    let app = Router::new()
        .route("/reports", get(|| async { "reports" }))
        .route_layer(auth.require(require_scope("reports:read")));
    let status = |custom: serde_json::Value| {
        let token = tokens.valid("7", &custom).unwrap();
        let app = app.clone();
        let request = tokens.request(http::Request::get("/reports"), &token);
        async move { call(&app, request).await }
    };
    assert_eq!(status(json!({ "scope": "profile reports:read" })).await.status(), StatusCode::OK);
    assert_eq!(status(json!({ "scp": ["reports:read"] })).await.status(), StatusCode::OK);
    let refused = status(json!({ "scope": "reports:readwrite profile" })).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = challenge(&refused);
    assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");
    assert!(challenge.contains(r#"scope="reports:read""#), "{challenge}");
    // No token: 401, never the route, and never the check.
    assert_eq!(call(&app, http::Request::get("/reports")).await.status(), StatusCode::UNAUTHORIZED);
}

/// A per-route rule takes the layer's claims type, rejection handler and realm: its refusals
/// look like the layer's own, and a custom claims type needs no annotation.
#[tokio::test]
async fn a_rule_from_the_layer_refuses_in_the_layers_shape() {
    let handler = |rejection: &Rejection, context: &tower_sliding_jwt::RejectionContext<'_>| {
        let mut response: http::Response<axum::body::Body> = rejection.default_response(context);
        *response.body_mut() = format!("refused: {rejection}").into();
        response
    };
    let auth = JwtAuthLayer::builder()
        .claims::<User>()
        .hs256([7u8; 32])
        .realm("backoffice")
        .rejection_handler(handler)
        .build()
        .unwrap();
    let tokens = TokenFactory::for_layer(&auth);
    let admins = auth.require(|claims: Claims<User>, _: &http::request::Parts| {
        let admin = claims.custom().role == "admin";
        async move {
            if admin { Ok(()) } else { Err(Rejection::Forbidden(Forbidden::new("admins only"))) }
        }
    });
    let app = Router::new().route("/admin", get(|| async { "admin" })).route_layer(admins);
    let send = |role: &str| {
        let token = tokens.valid("1", &json!({ "role": role })).unwrap();
        let request = tokens.request(http::Request::get("/admin"), &token);
        let app = app.clone();
        async move { call(&app, request).await }
    };
    assert_eq!(send("admin").await.status(), StatusCode::OK);
    let refused = send("user").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        challenge(&refused).starts_with(r#"Bearer realm="backoffice""#),
        "{}",
        challenge(&refused)
    );
    assert_eq!(refused.body, "refused: admins only");
    let missing = call(&app, http::Request::get("/admin")).await;
    assert_eq!(challenge(&missing), r#"Bearer realm="backoffice""#);
    assert!(String::from_utf8_lossy(&missing.body).starts_with("refused: "));
}

/// A route's own check runs after the revocation answer, also when the store answers later:
/// a revoked token never reaches the check, and a live one waits for both.
#[tokio::test]
async fn a_rule_waits_for_an_asynchronous_revocation_answer_first() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower_sliding_jwt::RegisteredClaims;
    use tower_sliding_jwt::revocation::{RevocationCheck, RevocationFuture, RevocationStatus};

    /// Revokes subject 9, after a pause.
    struct Remote;
    impl RevocationCheck for Remote {
        fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
            let revoked = claims.subject() == Some("9");
            RevocationFuture::pending(async move {
                tokio::task::yield_now().await;
                Ok(if revoked { RevocationStatus::Revoked } else { RevocationStatus::Active })
            })
        }
    }
    let auth = JwtAuthLayer::builder()
        .claims::<User>()
        .hs256([7u8; 32])
        .revocation(Remote)
        .build()
        .unwrap();
    let tokens = TokenFactory::for_layer(&auth);
    let checks = Arc::new(AtomicUsize::new(0));
    let counted = checks.clone();
    let auditors = auth.require(move |claims: Claims<User>, _: &http::request::Parts| {
        counted.fetch_add(1, Ordering::SeqCst);
        let auditor = claims.custom().role == "auditor";
        async move { if auditor { Ok(()) } else { Err(Rejection::Forbidden(Forbidden::new("no"))) } }
    });
    let app = Router::new().route("/audit", get(|| async { "audit" })).route_layer(auditors);
    let send = |sub: &str, role: &str| {
        let token = tokens.valid(sub, &json!({ "role": role })).unwrap();
        let request = tokens.request(http::Request::get("/audit"), &token);
        let app = app.clone();
        async move { call(&app, request).await.status() }
    };
    assert_eq!(send("1", "auditor").await, StatusCode::OK);
    assert_eq!(send("1", "user").await, StatusCode::FORBIDDEN);
    assert_eq!(send("9", "auditor").await, StatusCode::UNAUTHORIZED, "revoked first");
    assert_eq!(checks.load(Ordering::SeqCst), 2, "the revoked token never reached the check");
}
