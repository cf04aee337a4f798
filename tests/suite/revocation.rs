//! Revocation through the layer: a revoked session is refused with its renewals, a logout holds
//! as long as the token it ends, a handler that revokes gets no successor, a store that answers
//! later is awaited before the handler, and one that cannot answer fails closed. What each store
//! means is pinned by the conformance suite the in-memory and Redis stores share.

use std::time::Duration;

use crate::common::app::App;
use crate::common::{call, hs256, renewed, unix_now};
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use tower_sliding_jwt::error::RevocationError;
use tower_sliding_jwt::revocation::{
    InMemoryRevocations, RevocationCheck, RevocationFailure, RevocationFuture, RevocationStatus,
};
use tower_sliding_jwt::{Claims, JwtAuthLayer, Key, ManualClock, RegisteredClaims, VouchedBy};

const SECRET: &[u8] = b"revocation-tests-secret-of-32-bytes";

#[tokio::test]
async fn revoked_sessions_are_refused_renewals_included() {
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start(move |b| b.revocation(list)).await;
    let token = app.login();
    app.advance(200);
    let renewed_token = renewed(&app.get("/whoami", Some(&token)).await).unwrap();
    let claims = app.issuer.verify::<Value>(&token).unwrap();
    revocations.revoke_session(claims.session_id().unwrap(), claims.expires_at() + 86_400);
    for t in [&token, &renewed_token] {
        let response = app.get("/whoami", Some(t)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("revoked"));
    }
    assert!(app.issuer.renew(&renewed_token).await.is_err(), "explicit renewal checks it too");
    assert_eq!(
        app.get("/whoami", Some(&app.login())).await.status(),
        StatusCode::OK,
        "a new login works"
    );
}

/// A single sign-on login older than our session limit: the identity provider's `auth_time` says
/// nothing of how long its token is accepted here. The revocation is kept from the token's own
/// `exp` (plus leeway and the store's margin), so the logout holds, where the session limit
/// computed from `auth_time` lies in the past.
#[tokio::test]
async fn a_third_party_logout_is_kept_as_long_as_its_token() {
    const PARTNER: &[u8] = b"a-partner-identity-provider-secret";
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start(move |b| {
        b.trusted_key("partner", Key::hs256(PARTNER).unwrap().with_kid("partner"))
            .audience("api")
            .revocation(list)
    })
    .await;
    let now = app.issuer.now();
    let claims = json!({ "sub": "9", "iss": "partner", "aud": "api", "sid": "sso-1",
        "auth_time": now - 3 * 86_400, "iat": now, "exp": now + 300 });
    let token = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &claims.to_string());
    let verified = app.issuer.verify::<Value>(&token).unwrap();
    assert!(matches!(verified.vouched_by(), VouchedBy::TrustedIssuer("partner")));
    let session_end = app.issuer.session_expires_at(verified.registered()).unwrap();
    assert!(session_end < now, "the session limit from the provider's auth_time is long past");
    let until = app.issuer.revocation_until(&verified);
    assert_eq!(until, now + 300 + 5 + 60, "its own exp, the leeway and the store's margin");
    revocations.revoke_session("sso-1", until);
    app.advance(304);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("revoked"));
}

/// An in-memory list answering through a pending future, as a networked store does.
#[derive(Clone)]
struct Remote(InMemoryRevocations);

impl RevocationCheck for Remote {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let status = self.0.status(claims);
        RevocationFuture::pending(async move {
            tokio::task::yield_now().await;
            Ok(status)
        })
    }
}

/// A logout handler that revokes the session and forgets to opt out of renewal: the layer asks
/// the store again before it signs, whether the store answers at once or over the network.
#[tokio::test]
async fn a_session_revoked_by_its_handler_gets_no_successor() {
    for pending in [false, true] {
        let clock = ManualClock::new(unix_now());
        let revocations = InMemoryRevocations::with_clock(clock.clone());
        let builder = JwtAuthLayer::builder().hs256(SECRET).issuer("us").clock(clock.clone());
        let layer = if pending {
            builder.revocation(Remote(revocations.clone())).build().unwrap()
        } else {
            builder.revocation(revocations.clone()).build().unwrap()
        };
        let issuer = layer.issuer();
        let (list, ends) = (revocations.clone(), issuer.clone());
        let router = Router::new()
            .route("/whoami", get(|| async { "ok" }))
            .route(
                "/logout",
                get(move |claims: Claims| async move {
                    let until = ends.revocation_until(&claims);
                    list.revoke_session(claims.session_id().unwrap(), until);
                    "logged out"
                }),
            )
            .layer(layer);
        let send = |path: &'static str, token: String| {
            let request = http::Request::get(path).header(AUTHORIZATION, format!("Bearer {token}"));
            let router = router.clone();
            async move { call(&router, request).await }
        };
        let token = issuer.issue("7", &json!({})).unwrap().token;
        clock.advance(Duration::from_secs(200));
        assert!(renewed(&send("/whoami", token.clone()).await).is_some(), "in the renewal window");
        let logout = send("/logout", token.clone()).await;
        assert_eq!(logout.status(), StatusCode::OK);
        assert!(
            renewed(&logout).is_none(),
            "a successor for a revoked session (pending: {pending})"
        );
        assert_eq!(send("/whoami", token).await.status(), StatusCode::UNAUTHORIZED);
    }
}

/// A store that answers after a delay, like a network lookup (on paused time: no real wait).
#[derive(Clone)]
struct SlowStore {
    revoked_sub: &'static str,
    fail: bool,
}

impl RevocationCheck for SlowStore {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let revoked = claims.subject() == Some(self.revoked_sub);
        let fail = self.fail;
        RevocationFuture::pending(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if fail {
                return Err(RevocationError::new("store unreachable"));
            }
            Ok(if revoked { RevocationStatus::Revoked } else { RevocationStatus::Active })
        })
    }
}

#[tokio::test(start_paused = true)]
async fn an_asynchronous_store_is_awaited_before_the_handler() {
    let app = App::start(|b| b.revocation(SlowStore { revoked_sub: "13", fail: false })).await;
    let token = app.login();
    app.advance(200);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_some(), "renewal survives the pending path");
    let bad = app.issuer.issue("13", &json!({})).unwrap().token;
    assert_eq!(app.get("/whoami", Some(&bad)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.calls.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_store_fails_closed() {
    let unavailable = App::start(|b| b.revocation(SlowStore { revoked_sub: "", fail: true })).await;
    let response = unavailable.get("/whoami", Some(&unavailable.login())).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let unauthorized = App::start(|b| {
        b.revocation(SlowStore { revoked_sub: "", fail: true })
            .on_revocation_failure(RevocationFailure::Unauthorized)
    })
    .await;
    let response = unauthorized.get("/whoami", Some(&unauthorized.login())).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unavailable.calls.get() + unauthorized.calls.get(), 0);
}

/// A store that cannot be reached makes the layer not ready, with the store's reason, so a load
/// balancer stops sending it requests it would refuse anyway.
#[tokio::test]
async fn readiness_asks_the_store() {
    #[derive(Clone)]
    struct Down;
    impl RevocationCheck for Down {
        fn check(&self, _: &RegisteredClaims) -> RevocationFuture {
            RevocationFuture::ready(Err(RevocationError::new("connection refused")))
        }
        fn probe(&self) -> tower_sliding_jwt::revocation::ProbeFuture {
            Box::pin(async { Err(RevocationError::new("connection refused")) })
        }
    }
    let down = App::start(|b| b.revocation(Down)).await;
    let readiness = down.issuer.readiness().await;
    assert!(!readiness.is_ready());
    assert_eq!(readiness.to_string(), "the revocation store did not answer: connection refused");
    let up = App::start(|b| b.revocation(InMemoryRevocations::new())).await;
    assert!(up.issuer.readiness().await.is_ready(), "a store in memory is always ready");
}
