//! Cookie tokens against cross-site request forgery: an unsafe request authenticated by a cookie
//! must come from the app's own origin (or a listed one), as `Origin` or `Sec-Fetch-Site` says;
//! a bearer token is never sent by a browser on its own and is not checked.

use crate::common::app::App;
use http::StatusCode;
use http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, WWW_AUTHENTICATE};
use tower_sliding_jwt::{CsrfPolicy, TokenSource};

/// A `POST /whoami` to `api.example` carrying the token as `how` with these browser headers.
fn post(token: &str, cookie: bool, headers: &[(&str, &str)]) -> http::request::Builder {
    let mut request = http::Request::post("/whoami").header(HOST, "api.example");
    request = match cookie {
        true => request.header(COOKIE, format!("token={token}")),
        false => request.header(AUTHORIZATION, format!("Bearer {token}")),
    };
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
}

#[tokio::test]
async fn cookie_requests_from_other_sites_are_refused() {
    let app = App::start(|b| {
        b.token_sources([TokenSource::Bearer, TokenSource::cookie("token")])
            .csrf(CsrfPolicy::new().allow_origin("https://app.example"))
    })
    .await;
    let token = app.login();
    for (name, headers) in [
        ("another origin", &[("origin", "https://evil.example")][..]),
        ("the null origin", &[("origin", "null")]),
        ("fetch metadata", &[("sec-fetch-site", "cross-site")]),
        ("same site is not same origin", &[("sec-fetch-site", "same-site")]),
        ("no browser signal", &[]),
    ] {
        let response = app.send(post(&token, true, headers)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(
            response.headers().get(WWW_AUTHENTICATE).is_none(),
            "{name}: not an authentication problem"
        );
    }
    assert_eq!(app.calls.get(), 0);
    for (name, headers) in [
        ("own origin", &[("origin", "http://api.example")][..]),
        ("listed origin", &[("origin", "https://app.example")]),
        ("fetch metadata", &[("sec-fetch-site", "same-origin")]),
    ] {
        assert_eq!(app.send(post(&token, true, headers)).await.status(), StatusCode::OK, "{name}");
    }
    // Safe methods and bearer tokens are not checked.
    let get = http::Request::get("/whoami")
        .header(COOKIE, format!("token={token}"))
        .header(ORIGIN, "https://evil.example");
    assert_eq!(app.send(get).await.status(), StatusCode::OK);
    let bearer = post(&token, false, &[("origin", "https://evil.example")]);
    assert_eq!(
        app.send(bearer).await.status(),
        StatusCode::OK,
        "bearer requests are not CSRF-checked"
    );
}

#[tokio::test]
async fn a_deployment_can_let_clients_without_origin_through_or_turn_the_check_off() {
    let lenient = App::start(|b| {
        b.token_sources([TokenSource::cookie("token")])
            .csrf(CsrfPolicy::new().allow_requests_without_origin(true))
    })
    .await;
    let token = lenient.login();
    assert_eq!(lenient.send(post(&token, true, &[])).await.status(), StatusCode::OK);
    let forged = post(&token, true, &[("origin", "https://evil.example")]);
    assert_eq!(lenient.send(forged).await.status(), StatusCode::FORBIDDEN, "still checked");
    let off = App::start(|b| {
        b.token_sources([TokenSource::cookie("token")]).csrf(CsrfPolicy::disabled())
    })
    .await;
    let forged = post(&token, true, &[("origin", "https://evil.example")]);
    assert_eq!(off.send(forged).await.status(), StatusCode::OK);
}
