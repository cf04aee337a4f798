//! The testing kit against a real layer, in process: each kind of token gets exactly the answer
//! its name promises, and requests carry the token the way the layer reads it.

use crate::common::{call, challenge, renewed};
use axum::Router;
use axum::routing::get;
use http::{HeaderName, StatusCode};
use serde::Deserialize;
use serde_json::json;
use tower_sliding_jwt::testing::{TokenFactory, claims};
use tower_sliding_jwt::{Claims, JwtAuthLayer, Key, ManualClock, TokenSource};

const SECRET: &[u8] = b"testing-kit-secret-of-at-least-32-bytes";

#[derive(Clone, Deserialize)]
struct User {
    role: String,
}

async fn whoami(claims: Claims<User>) -> String {
    format!("{} {}", claims.subject().unwrap_or_default(), claims.custom().role)
}

fn app(sources: impl IntoIterator<Item = TokenSource>) -> (Router, TokenFactory) {
    let layer = JwtAuthLayer::builder()
        .claims::<User>()
        .hs256(SECRET)
        .issuer("https://api.example")
        .audience("api")
        .token_sources(sources)
        .clock(ManualClock::new(1_800_000_000))
        .build()
        .unwrap();
    let tokens = TokenFactory::for_layer(&layer);
    (Router::new().route("/me", get(whoami)).layer(layer), tokens)
}

#[tokio::test]
async fn every_kind_of_token_gets_the_answer_its_name_promises() {
    let (app, tokens) = app([TokenSource::Bearer]);
    let user = json!({ "role": "editor" });
    let send = |token: String| {
        let request = tokens.request(http::Request::get("/me"), &token);
        let app = app.clone();
        async move { call(&app, request).await }
    };

    let fresh = send(tokens.valid("7", &user).unwrap()).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.body, "7 editor");
    assert!(renewed(&fresh).is_none());

    let window = send(tokens.in_renewal_window("7", &user).unwrap()).await;
    assert_eq!(window.status(), StatusCode::OK);
    assert!(renewed(&window).is_some());

    for (kind, token, reason) in [
        ("expired", tokens.expired("7", &user), "expired"),
        ("not yet valid", tokens.not_yet_valid("7", &user), "not valid yet"),
        ("past the session limit", tokens.past_session_limit("7", &user), "outlives its session"),
        ("wrong issuer", tokens.wrong_issuer("7", &user), "issuer is not accepted"),
        ("wrong audience", tokens.wrong_audience("7", &user), "audience is not accepted"),
        ("foreign key", tokens.foreign_key("7", &user), "signature is invalid"),
        ("tampered", tokens.tampered("7", &user), "signature is invalid"),
    ] {
        let response = send(token.unwrap()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{kind}");
        assert!(challenge(&response).contains(reason), "{kind}: {}", challenge(&response));
    }

    // Any header and payload: here a logout token signed with the right key.
    let now = 1_800_000_000;
    let payload = json!({ "sub": "7", "iss": "https://api.example", "aud": "api", "iat": now,
        "exp": now + 60, "role": "editor" });
    let logout = tokens.raw(r#"{"alg":"HS256","typ":"logout+jwt"}"#, &payload.to_string()).unwrap();
    assert!(challenge(&send(logout).await).contains("type is not accepted"));
    let untyped = tokens.raw(r#"{"alg":"HS256"}"#, &payload.to_string()).unwrap();
    assert_eq!(send(untyped).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_carry_the_token_where_the_layer_reads_first() {
    let sources = [
        vec![TokenSource::Bearer],
        vec![TokenSource::header(HeaderName::from_static("x-api-token"))],
        vec![TokenSource::cookie("__Host-session")],
        vec![TokenSource::query("access_token"), TokenSource::Bearer],
    ];
    for sources in sources {
        let (app, tokens) = app(sources.clone());
        let token = tokens.valid("7", &json!({ "role": "viewer" })).unwrap();
        let request = tokens.request(http::Request::get("/me?page=2"), &token);
        let response = call(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK, "{sources:?}");
        assert_eq!(response.body, "7 viewer");
    }
}

#[tokio::test]
async fn a_handler_can_be_called_with_claims_made_by_hand() {
    // The handler alone: no layer, no token.
    let answer = whoami(claims("42", User { role: "admin".into() })).await;
    assert_eq!(answer, "42 admin");
    // Or the claims of a real token, as the layer would hand them over.
    let tokens = TokenFactory::new(Key::hs256(SECRET).unwrap()).unwrap();
    let claims: Claims<User> = tokens.claims("7", &json!({ "role": "viewer" })).unwrap();
    assert_eq!(whoami(claims).await, "7 viewer");
    assert!(tokens.claims::<User, _>("7", &json!({ "no_role": true })).is_err());
}

/// The DPoP part of the kit: bound tokens, and proofs good or broken in one way each, as a test
/// of a handler behind a DPoP layer needs them.
#[tokio::test]
async fn the_kit_makes_bound_tokens_and_proofs_good_or_broken() {
    use tower_sliding_jwt::DpopPolicy;
    use tower_sliding_jwt::testing::DpopTestKey;

    let auth = JwtAuthLayer::builder()
        .hs256(SECRET)
        .dpop(DpopPolicy::new().public_origin("https://api.example").bound_only())
        .build()
        .unwrap();
    let tokens = TokenFactory::for_layer(&auth);
    let app = Router::new().route("/", get(|| async { "ok" })).layer(auth.clone());
    let key = DpopTestKey::new();
    let token = tokens.bound("alice", &(), &key).unwrap();
    let good = call(&app, tokens.dpop_request(http::Request::get("/"), &token, &key)).await;
    assert_eq!(good.status(), StatusCode::OK);
    let now = auth.issuer().now();
    let url = "https://api.example/";
    let send = |proof: String| {
        let request = http::Request::get("/")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof);
        call(&app, request)
    };
    for (name, proof) in [
        ("another method", key.proof("POST", url, now, "1", Some(&token))),
        ("another URI", key.proof("GET", "https://api.example/x", now, "2", Some(&token))),
        ("stale", key.proof("GET", url, now - 120, "3", Some(&token))),
        ("without ath", key.proof("GET", url, now, "4", None)),
        ("another key", DpopTestKey::another().proof("GET", url, now, "5", Some(&token))),
    ] {
        let response = send(proof).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(challenge(&response).contains("invalid_dpop_proof"), "{name}");
    }
    let once = key.proof("GET", url, now, "6", Some(&token));
    assert_eq!(send(once.clone()).await.status(), StatusCode::OK);
    assert_eq!(send(once).await.status(), StatusCode::UNAUTHORIZED, "replayed");
}
