//! Where the layer looks for a token: the `Authorization` header first, then the configured
//! cookie and query parameter; a request that names two tokens is refused as ambiguous, one that
//! names none gets a bare challenge, or goes through anonymous in optional mode.

use crate::common::app::App;
use crate::common::challenge;
use http::StatusCode;
use http::header::{AUTHORIZATION, COOKIE};
use serde_json::json;
use tower_sliding_jwt::TokenSource;

/// The app with a token read from the header, the `token` cookie or the `token` parameter.
async fn every_source() -> App {
    App::start(|b| {
        b.token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("token"),
            TokenSource::query("token"),
        ])
    })
    .await
}

#[tokio::test]
async fn query_and_cookie_tokens_are_read_and_the_header_comes_first() {
    let app = every_source().await;
    let token = app.login();
    let by_query = app.send(http::Request::get(format!("/whoami?a=1&token={token}"))).await;
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(by_query.json(), json!({ "sub": "7" }));
    let by_cookie = app
        .send(http::Request::get("/whoami").header(COOKIE, format!("theme=dark; token={token}")))
        .await;
    assert_eq!(by_cookie.json(), json!({ "sub": "7" }));
    // A fresh bearer token wins over a stale cookie.
    let both = app.send(
        http::Request::get("/whoami")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(COOKIE, "token=stale.garbage.value"),
    );
    assert_eq!(both.await.status(), StatusCode::OK);
    // Only the configured sources count.
    let header_only = App::start(|b| b).await;
    let by_query = header_only.send(http::Request::get(format!("/whoami?token={token}"))).await;
    assert_eq!(by_query.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header_only.calls.get(), 0);
}

#[tokio::test]
async fn two_tokens_or_an_empty_one_are_an_ambiguous_400() {
    let app = every_source().await;
    let token = app.login();
    let bearer = format!("Bearer {token}");
    for (name, request) in [
        (
            "two headers",
            http::Request::get("/whoami")
                .header(AUTHORIZATION, &bearer)
                .header(AUTHORIZATION, &bearer),
        ),
        ("two parameters", http::Request::get(format!("/whoami?token={token}&token={token}"))),
        (
            "two cookies",
            http::Request::get("/whoami").header(COOKIE, format!("token={token}; token={token}")),
        ),
        ("an empty bearer", http::Request::get("/whoami").header(AUTHORIZATION, "Bearer ")),
    ] {
        let response = app.send(request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(challenge(&response).contains(r#"error="invalid_request""#), "{name}");
    }
    assert_eq!(app.calls.get(), 0);
}

#[tokio::test]
async fn no_token_gets_a_bare_challenge() {
    let app = every_source().await;
    for (name, request) in [
        ("nothing", http::Request::get("/whoami")),
        (
            "another scheme",
            http::Request::get("/whoami").header(AUTHORIZATION, "Basic YWRtaW46YWRtaW4="),
        ),
        ("another cookie", http::Request::get("/whoami").header(COOKIE, "theme=dark")),
    ] {
        let response = app.send(request).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(challenge(&response), r#"Bearer realm="api""#, "{name}");
    }
    assert_eq!(app.calls.get(), 0);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through() {
    let app = App::start(|b| b.optional(true)).await;
    let anonymous = app.get("/whoami", None).await.json();
    assert_eq!(anonymous, json!({ "sub": null }));
    let known = app.get("/whoami", Some(&app.login())).await.json();
    assert_eq!(known, json!({ "sub": "7" }));
    assert_eq!(app.get("/whoami", Some("a.b.c")).await.status(), StatusCode::UNAUTHORIZED);
}
