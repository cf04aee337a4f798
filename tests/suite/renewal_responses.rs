//! Which responses carry a renewal, and what it is: a token in the second half of its life gets
//! a successor on a successful or redirect response (a header, or `Set-Cookie` for a cookie
//! token, never stored by a cache), with its session, subject and claims kept and a new `jti`;
//! a fresh one, a failed response, a handler that opts out, or a token accepted only thanks to
//! the leeway gets none. In advise mode the response only announces the expiry.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::app::{App, SECRET};
use crate::common::{Reply, claims_of, header_of, hs256, renewed};
use http::StatusCode;
use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE, VARY};
use serde_json::{Value, json};
use tower_sliding_jwt::renewal::CookieSettings;
use tower_sliding_jwt::{JwtAuthLayer, ManualClock, RenewalMode, RenewalPolicy, TokenSource};

fn varies_on(reply: &Reply, header: &str) -> bool {
    reply.headers().get_all(VARY).iter().any(|v| v.to_str().unwrap().contains(header))
}

#[tokio::test]
async fn a_token_in_its_second_half_is_renewed_and_keeps_its_session() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(140);
    let fresh = app.get("/whoami", Some(&token)).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert!(renewed(&fresh).is_none(), "fresh: no renewal");
    assert!(fresh.headers().get(CACHE_CONTROL).is_none());

    app.advance(20);
    let response = app.get("/whoami", Some(&token)).await;
    let new_token = renewed(&response).expect("renewed in the second half of its life");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert!(varies_on(&response, "authorization"));
    let (old, new) = (claims_of(&token), claims_of(&new_token));
    assert_eq!(new["iat"], app.issuer.now());
    assert_eq!(new["exp"], app.issuer.now() + 300);
    assert_ne!(new["jti"], old["jti"]);
    for kept in ["sub", "sid", "auth_time", "iss", "role"] {
        assert_eq!(new[kept], old[kept], "{kept}");
    }
    assert_eq!(header_of(&new_token), header_of(&token));
    // Both verify; the client keeps the one with the latest exp.
    assert_eq!(app.get("/whoami", Some(&new_token)).await.status(), StatusCode::OK);
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_cookie_token_is_renewed_with_set_cookie() {
    let app = App::start(|b| {
        b.token_sources([TokenSource::Bearer, TokenSource::cookie("token")])
            .session_limit(Duration::from_secs(400))
            .renewal(RenewalPolicy::new().cookie(CookieSettings::new().secure(false)))
    })
    .await;
    let token = app.login();
    app.advance(200);
    let response =
        app.send(http::Request::get("/whoami").header(COOKIE, format!("token={token}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none(), "a cookie client gets a cookie, not a header");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let parsed = cookie::Cookie::parse(set_cookie.clone()).unwrap();
    assert_eq!(parsed.name(), "token");
    assert_eq!(parsed.http_only(), Some(true));
    assert_eq!(parsed.path(), Some("/"));
    // New exp = min(now + 300, login + 400) = login + 400: 200 s from now.
    assert_eq!(parsed.max_age().unwrap().whole_seconds(), 200, "{set_cookie}");
    assert_eq!(
        claims_of(parsed.value())["exp"],
        claims_of(&token)["auth_time"].as_i64().unwrap() + 400
    );
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert!(varies_on(&response, "cookie"));
}

#[tokio::test]
async fn advise_mode_announces_instead_of_renewing() {
    let app = App::start(|b| b.renewal(RenewalPolicy::new().mode(RenewalMode::Advise))).await;
    let token = app.login();
    let fresh = app.get("/whoami", Some(&token)).await;
    assert!(fresh.headers().get("x-token-expires-in").is_none());
    app.advance(160);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
    assert_eq!(response.headers()["x-token-expires-in"], "140");
    // The client then renews explicitly.
    let explicit = app.issuer.renew(&token).await.expect("explicit renewal");
    assert_eq!(claims_of(&explicit.token)["sid"], claims_of(&token)["sid"]);
}

/// Every response in the window gets its own successor: concurrent requests with one token
/// share nothing that would make them wait for each other or hand out one `jti` twice.
#[tokio::test]
async fn fifty_concurrent_requests_in_the_window_each_get_a_successor() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    let requests = (0..50).map(|_| app.get("/whoami", Some(&token)));
    let mut jtis = HashSet::new();
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), StatusCode::OK);
        let new_token = renewed(&response).expect("every response in the window renews");
        let claims = app.issuer.verify::<Value>(&new_token).expect("every renewed token verifies");
        assert_eq!(claims.session_id(), claims_of(&token)["sid"].as_str());
        jtis.insert(claims.token_id().unwrap().to_owned());
    }
    assert_eq!(jtis.len(), 50, "every renewal has its own jti");
    assert_eq!(app.calls.get(), 50);
}

#[tokio::test]
async fn only_successful_and_redirect_responses_renew() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    for (code, renews) in [
        (200, true),
        (204, true),
        (302, true),
        (304, true),
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (500, false),
        (503, false),
    ] {
        let response = app.get(&format!("/status/{code}"), Some(&token)).await;
        assert_eq!(response.status().as_u16(), code);
        assert_eq!(renewed(&response).is_some(), renews, "status {code}");
    }
}

#[tokio::test]
async fn a_predicate_can_widen_the_responses() {
    let app = App::start(|b| {
        b.renewal(
            RenewalPolicy::new()
                .renew_responses_when(|status, _| status.is_success() || status == 404),
        )
    })
    .await;
    let token = app.login();
    app.advance(200);
    assert!(renewed(&app.get("/status/404", Some(&token)).await).is_some());
    assert!(renewed(&app.get("/status/500", Some(&token)).await).is_none());
    assert!(renewed(&app.get("/status/302", Some(&token)).await).is_none());
}

#[tokio::test]
async fn handlers_can_opt_out_and_keep_their_own_header() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    let logout = app.get("/logout", Some(&token)).await;
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(renewed(&logout).is_none());
    let own = app.get("/own-header", Some(&token)).await;
    assert_eq!(renewed(&own).as_deref(), Some("set-by-handler"));
    assert_eq!(
        own.headers()[CACHE_CONTROL],
        "private, max-age=60",
        "untouched: no renewal was added"
    );
}

#[tokio::test]
async fn cache_control_of_the_handler_is_merged() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    let response = app.get("/whoami", Some(&token)).await;
    assert!(renewed(&response).is_some());
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn a_token_accepted_only_thanks_to_leeway_is_not_renewed() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(302); // expired 2 s ago, within the 5 s leeway
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
    let now = app.issuer.now();
    let early =
        json!({ "sub": "7", "iss": "us", "iat": now + 3, "auth_time": now, "exp": now + 100 })
            .to_string();
    let early = hs256(SECRET, r#"{"alg":"HS256"}"#, &early);
    let response = app.get("/whoami", Some(&early)).await;
    assert_eq!(response.status(), StatusCode::OK, "iat 3 s ahead is within the leeway");
    assert!(renewed(&response).is_none());
}

/// The token is checked again when the response is written: one that expired while the handler
/// ran gets no successor. In process: the wire is not the point.
#[tokio::test]
async fn a_token_that_expires_during_the_handler_is_not_renewed() {
    use tower::{ServiceExt, service_fn};

    let clock = ManualClock::new(1_800_000_000);
    let layer =
        JwtAuthLayer::builder().hs256(SECRET).issuer("us").clock(clock.clone()).build().unwrap();
    let token = layer.issuer().issue("7", &json!({})).unwrap().token;
    let slow = clock.clone();
    let service = tower::ServiceBuilder::new().layer(layer).service(service_fn(
        move |_: http::Request<()>| {
            let slow = slow.clone();
            async move {
                // A long handler: 100 s, with the token's last 50 s left when it started.
                slow.advance(Duration::from_secs(100));
                Ok::<_, std::convert::Infallible>(http::Response::new(()))
            }
        },
    ));
    clock.advance(Duration::from_secs(250));
    let request = http::Request::get("/").header("authorization", format!("Bearer {token}"));
    let response = service.oneshot(request.body(()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-refreshed-token").is_none());
}
