//! Keys and issuers on the layer's own configuration: a previous key still verifies and its
//! tokens renew onto the new one, a trusted issuer's tokens are accepted but never re-signed, a
//! key vouches for its own issuer only, and no issuer name is needed. Remote key sets are in
//! `remote_keys`.

use std::time::Duration;

use crate::common::app::{App, SECRET};
use crate::common::{call, claims_of, header_of, hs256, renewed, signed_with, unix_now};
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use tower_sliding_jwt::{JwtAuthLayer, Key, ManualClock, VouchedBy};

const OLD_SECRET: &[u8] = b"the-previous-secret-of-32-bytes!!!";

#[tokio::test]
async fn rotation_moves_clients_to_the_new_key() {
    let app = App::start(|b| b.previous_key(Key::hs256(OLD_SECRET).unwrap().with_kid("old"))).await;
    let now = app.issuer.now();
    let claims = json!({ "sub": "7", "iss": "us", "iat": now, "auth_time": now, "exp": now + 300, "role": "user" });
    let old_token =
        hs256(OLD_SECRET, r#"{"alg":"HS256","kid":"old","typ":"JWT"}"#, &claims.to_string());
    assert!(
        renewed(&app.get("/whoami", Some(&old_token)).await).is_none(),
        "fresh: accepted as is"
    );
    app.advance(200);
    let response = app.get("/whoami", Some(&old_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_token = renewed(&response).expect("renewed onto the new key");
    assert_eq!(header_of(&new_token)["kid"], "new");
    assert_eq!(claims_of(&new_token)["role"], "user");
    assert!(app.issuer.verify::<Value>(&new_token).is_ok());
    // Signed with the new secret, not the old one.
    assert!(signed_with(SECRET, &new_token));
    assert!(!signed_with(OLD_SECRET, &new_token));
    assert_eq!(app.get("/whoami", Some(&new_token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn foreign_tokens_are_accepted_but_never_resigned() {
    const PARTNER: &[u8] = b"a-partner-identity-provider-secret";
    let app = App::start(|b| {
        b.trusted_key("partner", Key::hs256(PARTNER).unwrap().with_kid("partner"))
            .dangerously_accept_any_audience_from_trusted_keys()
    })
    .await;
    let now = app.issuer.now();
    let partner = json!({ "sub": "9", "iss": "partner", "iat": now, "exp": now + 300 }).to_string();
    let partner_token = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &partner);
    app.advance(250);
    let response = app.get("/whoami", Some(&partner_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
}

/// A key vouches for its own issuer only: the partner's key cannot mint a token in our name (it
/// would then renew into a real session token), and ours cannot speak for the partner.
#[tokio::test]
async fn a_key_never_vouches_for_another_issuer() {
    const PARTNER: &[u8] = b"a-partner-identity-provider-secret";
    let app = App::start(|b| {
        b.trusted_key("partner", Key::hs256(PARTNER).unwrap().with_kid("partner")).audience("api")
    })
    .await;
    let now = app.issuer.now();
    let claims = |iss: &str| {
        json!({ "sub": "9", "iss": iss, "aud": "api", "iat": now, "exp": now + 300 }).to_string()
    };
    let spoof = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &claims("us"));
    let spoof_without_kid = hs256(PARTNER, r#"{"alg":"HS256"}"#, &claims("us"));
    let ours_for_partner = hs256(SECRET, r#"{"alg":"HS256","kid":"new"}"#, &claims("partner"));
    app.advance(250);
    for token in [&spoof, &spoof_without_kid, &ours_for_partner] {
        let response = app.get("/whoami", Some(token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_owned();
        assert!(challenge.contains("issuer is not accepted"), "{challenge}");
    }
    assert_eq!(app.calls.get(), 0);
    let genuine = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &claims("partner"));
    assert_eq!(app.get("/whoami", Some(&genuine)).await.status(), StatusCode::OK);
    // The claims say who vouched for each token.
    let partner = app.issuer.verify::<Value>(&genuine).unwrap();
    assert_eq!(partner.vouched_by(), VouchedBy::TrustedIssuer("partner"));
    let ours = app.issuer.verify::<Value>(&app.login()).unwrap();
    assert_eq!(ours.vouched_by(), VouchedBy::OwnKey);
}

#[tokio::test]
async fn responses_keep_working_without_an_issuer_name() {
    // No `issuer(..)`: tokens without `iss` are ours and renew.
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder().hs256(SECRET).clock(clock.clone()).build().unwrap();
    let issuer = layer.issuer();
    let router = Router::new().route("/", get(|| async { "ok".into_response() })).layer(layer);
    let token = issuer.issue("1", &()).unwrap().token;
    assert!(claims_of(&token).get("iss").is_none());
    clock.advance(Duration::from_secs(200));
    let bearer = format!("Bearer {token}");
    let response = call(&router, http::Request::get("/").header(AUTHORIZATION, bearer)).await;
    assert!(renewed(&response).is_some());
}
