//! The session limit: renewals keep a session's start (`auth_time`, or `iat` for a token
//! without one), never reach past the limit, and stop once it is reached; a login may choose a
//! longer session within the allowed bound, and the session header tells the time left.

use std::time::Duration;

use crate::common::app::{App, SECRET};
use crate::common::{Reply, claims_of, hs256, renewed};
use http::StatusCode;
use serde_json::{Value, json};
use tower_sliding_jwt::error::RenewError;
use tower_sliding_jwt::revocation::InMemoryRevocations;
use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};

/// A session of 600 s renewed every 200 s: the last renewal is cut to the limit, the next
/// response in the window carries none, explicit renewal says the session has ended, and past
/// the limit the token is refused.
#[tokio::test]
async fn the_session_limit_ends_renewal() {
    let app = App::start(|b| b.session_limit(Duration::from_secs(600))).await;
    let login_at = app.issuer.now();
    let mut token = app.login();
    for step in 1..=2 {
        app.advance(200);
        token = renewed(&app.get("/whoami", Some(&token)).await).expect("renewed");
        assert_eq!(claims_of(&token)["exp"], login_at + (200 * step + 300).min(600), "step {step}");
    }
    assert_eq!(claims_of(&token)["exp"], login_at + 600, "the second renewal stops at the limit");
    app.advance(180);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none(), "nothing left to extend");
    assert!(matches!(app.issuer.renew(&token).await, Err(RenewError::SessionLimitReached)));
    app.advance(30);
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_auth_time_iat_starts_the_session_and_renewals_keep_it() {
    let app = App::start(|b| b.session_limit(Duration::from_secs(500))).await;
    let start = app.issuer.now();
    let claims = json!({ "sub": "7", "iss": "us", "iat": start, "exp": start + 300 }).to_string();
    let token = hs256(SECRET, r#"{"alg":"HS256"}"#, &claims);
    app.advance(200);
    let first = renewed(&app.get("/whoami", Some(&token)).await).expect("renewed");
    assert_eq!(claims_of(&first)["auth_time"], start, "the session start is carried forward");
    assert_eq!(claims_of(&first)["exp"], start + 500);
    app.advance(160);
    // Without the carried auth_time the new iat would restart the session and exp would pass
    // start + 500.
    let response = app.get("/whoami", Some(&first)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none(), "limited at start + 500");
}

/// A token without `sid` renews into one with a fresh `sid` that every later renewal keeps, so
/// revoking that session ends the whole chain; revoking one `jti` never covers its successors.
#[tokio::test]
async fn a_sessionless_token_renews_into_a_revocable_session() {
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start(move |b| b.revocation(list)).await;
    let now = app.issuer.now();
    let claims = json!({ "sub": "7", "iss": "us", "iat": now, "exp": now + 300 }).to_string();
    let first = hs256(SECRET, r#"{"alg":"HS256","kid":"new"}"#, &claims);
    app.advance(200);
    let second = renewed(&app.get("/whoami", Some(&first)).await).expect("renewed");
    let sid = claims_of(&second)["sid"].as_str().expect("a fresh sid").to_owned();
    app.advance(200);
    let third = renewed(&app.get("/whoami", Some(&second)).await).expect("renewed again");
    assert_eq!(claims_of(&third)["sid"], sid.as_str());
    // Revoking the second token's jti leaves its successor alone; revoking the session does not.
    let jti = claims_of(&second)["jti"].as_str().unwrap().to_owned();
    revocations.revoke_token(jti, now + 1_000);
    assert_eq!(app.get("/whoami", Some(&second)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/whoami", Some(&third)).await.status(), StatusCode::OK);
    revocations.revoke_session(sid, now + 86_400);
    assert_eq!(app.get("/whoami", Some(&third)).await.status(), StatusCode::UNAUTHORIZED);
}

/// With a session header, every successful response to one of our tokens says how long the
/// session has left; a partner's token (no session limit of ours) and failures say nothing.
#[tokio::test]
async fn the_session_header_tells_the_time_left() {
    use tower_sliding_jwt::renewal::SESSION_EXPIRES_IN_HEADER;

    let app = App::start(|b| {
        b.session_limit(Duration::from_secs(3_600))
            .renewal(RenewalPolicy::new().session_header(SESSION_EXPIRES_IN_HEADER))
    })
    .await;
    let token = app.login();
    let left = |reply: &Reply| -> Option<i64> {
        reply.headers().get("x-session-expires-in").map(|v| v.to_str().unwrap().parse().unwrap())
    };
    assert_eq!(left(&app.get("/whoami", Some(&token)).await), Some(3_600));
    app.advance(200);
    let renewing = app.get("/whoami", Some(&token)).await;
    assert!(renewed(&renewing).is_some());
    assert_eq!(left(&renewing), Some(3_400), "the session limit does not move with renewals");
    assert_eq!(left(&app.get("/status/500", Some(&token)).await), None);
    assert_eq!(left(&app.get("/whoami", None).await), None);
}

/// "Remember me": a login's own maximum session travels in the token, every renewal keeps it,
/// and a token claiming more than the policy allows is refused.
#[tokio::test]
async fn a_login_can_choose_a_longer_session_and_renewals_keep_it() {
    use tower_sliding_jwt::renewal::SessionLifetimes;
    use tower_sliding_jwt::testing::TokenFactory;

    let hour = Duration::from_secs(3_600);
    let app = App::start(move |b| b.session_limit(hour).allow_longer_sessions(24 * hour)).await;
    let remembered = app
        .issuer
        .issue_with(
            "7",
            &json!({ "role": "user" }),
            SessionLifetimes::new().session_limit(8 * hour),
        )
        .unwrap();
    let ordinary = app.login();
    assert_eq!(remembered.session_expires_at - app.issuer.now(), 8 * 3_600);
    // Keep both sessions busy for two hours: only the remembered one outlives the default hour.
    let (mut long, mut short) = (remembered.token, Some(ordinary));
    for _ in 0..36 {
        app.advance(200);
        let response = app.get("/whoami", Some(&long)).await;
        assert_eq!(response.status(), StatusCode::OK);
        if let Some(next) = renewed(&response) {
            assert_eq!(claims_of(&next)["session_limit"], 8 * 3_600);
            long = next;
        }
        if let Some(token) = short.take() {
            let response = app.get("/whoami", Some(&token)).await;
            if response.status() == StatusCode::OK {
                short = Some(renewed(&response).unwrap_or(token));
            }
        }
    }
    assert!(short.is_none(), "the ordinary session ended after its hour");
    assert_eq!(app.get("/whoami", Some(&long)).await.status(), StatusCode::OK);
    // A token of ours claiming a session longer than the policy allows.
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .session_limit(hour)
        .allow_longer_sessions(24 * hour)
        .build()
        .unwrap();
    let tokens = TokenFactory::for_layer(&layer);
    let greedy = tokens.valid("7", &json!({ "session_limit": 48 * 3_600 })).unwrap();
    let verdict = layer.issuer().verify::<Value>(&greedy).unwrap_err();
    assert_eq!(verdict.to_string(), "the token outlives its session limit");
}
