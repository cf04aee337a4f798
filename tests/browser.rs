//! Sessions in a real headless Chromium: the demo page (examples/server) driven as a person would
//! in header, cookie and DPoP mode, cookie-mode CSRF and logout, a stolen token, and cross-origin
//! CORS in both layer orders.
//!
//! WebDriver (fantoccini + Debian's chromedriver) rather than CDP: the protocol is a W3C standard
//! whose commands do not change with each Chromium release, chromedriver comes from the same
//! Debian source as the browser, and fantoccini needs no TLS or browser-specific crates.
//!
//! The demo runs with `DEMO_CLOCK=manual`: the test moves the server's clock and clicks "Call the
//! API now", so a whole one-minute session takes a second or two of real time.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::header::AUTHORIZATION;
use axum::response::Html;
use axum::routing::get;
use common::browser::{self, click, element, js, text, try_click};
use common::{Example, serve, unix_now};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;
use tower_sliding_jwt::renewal::REFRESHED_TOKEN_HEADER;
use tower_sliding_jwt::{JwtAuthLayer, ManualClock};

/// The lifetimes the page is made to show: 20 s tokens, renewed in their last 15 s, 60 s sessions.
const DEMO: [(&str, &str); 4] = [
    ("TOKEN_TTL_SECS", "20"),
    ("REFRESH_WITHIN_SECS", "15"),
    ("MAX_SESSION_SECS", "60"),
    ("DEMO_CLOCK", "manual"),
];

/// The server's default leeway past `exp`.
const LEEWAY: u64 = 5;

/// Move the demo server's clock forward.
async fn advance(base: &str, secs: u64) {
    let response = reqwest::Client::new()
        .post(format!("{base}/clock/advance"))
        .json(&json!({ "secs": secs }))
        .send()
        .await
        .expect("the demo server");
    assert!(response.status().is_success(), "the server's clock is not manual");
}

/// Wait until every call the page has in flight has finished.
async fn settle(client: &Client) {
    js(client, "return settled().then(() => true)").await;
}

/// Log in through the form, as alice, in `mode` ("header" or "cookie").
async fn log_in(client: &Client, base: &str, mode: &str) {
    client.goto(base).await.expect("the demo page");
    let radio = format!("input[name=mode][value={mode}]");
    client.find(Locator::Css(&radio)).await.unwrap().click().await.unwrap();
    click(client, "login-button").await;
    settle(client).await;
    assert_eq!(text(client, "status").await, "", "the login went through");
    assert_eq!(text(client, "who").await, "alice");
    assert_eq!(text(client, "mode").await, mode);
}

/// What the page's log says, newest first.
async fn log_lines(client: &Client) -> Vec<String> {
    let lines =
        js(client, "return [...document.querySelectorAll('#log li')].map(li => li.textContent)");
    serde_json::from_value(lines.await).unwrap()
}

/// Log in, then call every 6 s of server time until the page says the session ended, checking
/// each step. Returns the renewals the page logged and the seconds the session lasted.
async fn slide_to_the_end(client: &Client, base: &str, mode: &str) -> (usize, u64) {
    log_in(client, base, mode).await;
    js(client, "tick()").await;
    let left = text(client, "token-left").await;
    assert!(left == "20 s" || left == "19 s", "the countdown runs on the server's clock: {left}");
    let mut elapsed = 0;
    loop {
        advance(base, 6).await;
        elapsed += 6;
        // The page also calls by itself every 2 s: past the session limit, its own call may end the
        // session (and hide the button) before this click lands.
        let clicked = try_click(client, "call").await;
        settle(client).await;
        if mode == "cookie" {
            let visible = js(client, "return document.cookie").await;
            assert_eq!(visible, json!(""), "cookie mode: the page never sees the token");
        }
        let status = text(client, "status").await;
        if !status.is_empty() {
            assert_eq!(status, "session ended: log in again");
            break;
        }
        clicked.unwrap_or_else(|e| panic!("the call button of a live session: {e}"));
        if elapsed == 24 {
            // Past the first token's `exp` (20 s): the session goes on.
            assert!(element(client, "session").await.is_displayed().await.unwrap());
        }
        assert!(elapsed < 120, "the session outlived its limit");
    }
    let renewals = log_lines(client).await.iter().filter(|l| l.contains("renewed:")).count();
    (renewals, elapsed)
}

/// Tokens renewed at 6, 12, … 42 s (the last one limited to 60 s); the session ends at the first
/// call past the session limit and its leeway; the timeline drew every token.
async fn assert_slid_and_ended(client: &Client, renewals: usize, elapsed: u64) {
    assert_eq!(renewals, 7, "one renewal per call in the window, until the session limit");
    assert!(
        elapsed > 60 + LEEWAY && elapsed <= 60 + LEEWAY + 6,
        "ended at the session limit: {elapsed} s"
    );
    let bars = js(client, "return document.querySelectorAll('#timeline rect').length").await;
    assert_eq!(bars, json!(8), "one bar per token: the login's and seven renewals");
}

async fn header_mode_slides_past_the_first_expiry_and_ends_at_the_session_limit() {
    let server = Example::start("server", &DEMO);
    browser::run("header_mode", move |client| async move {
        let (renewals, elapsed) = slide_to_the_end(&client, &server.base, "header").await;
        assert_slid_and_ended(&client, renewals, elapsed).await;
        let lines = log_lines(&client).await;
        assert!(lines.iter().any(|l| l.contains("renewed: x-refreshed-token")), "{lines:?}");
        // Header mode sends `credentials: "omit"`: the login's cookie was never stored.
        assert!(client.get_all_cookies().await.unwrap().is_empty());
    })
    .await;
}

async fn cookie_mode_slides_and_ends_without_the_page_ever_seeing_the_token() {
    let server = Example::start("server", &DEMO);
    browser::run("cookie_mode", move |client| async move {
        let (renewals, elapsed) = slide_to_the_end(&client, &server.base, "cookie").await;
        assert_slid_and_ended(&client, renewals, elapsed).await;
        let lines = log_lines(&client).await;
        assert!(lines.iter().any(|l| l.contains("renewed: new cookie")), "{lines:?}");
    })
    .await;
}

/// DPoP mode (RFC 9449): the page makes a non-extractable P-256 key, logs in with a proof and
/// signs one for every call; the session slides to its limit as in header mode, every token
/// bound to the page's key.
async fn dpop_mode_slides_and_ends_with_every_token_bound_to_the_pages_key() {
    let server = Example::start("server", &DEMO);
    browser::run("dpop_mode", move |client| async move {
        log_in(&client, &server.base, "dpop").await;
        let key = js(
            &client,
            "return crypto.subtle.exportKey('jwk', dpop.key).then(() => 'exported', e => e.name)",
        );
        assert_eq!(
            key.await,
            json!("InvalidAccessError"),
            "the private key cannot leave the browser"
        );
        let first = js(&client, "return state.token").await;
        let jkt = common::claims_of(first.as_str().unwrap())["cnf"]["jkt"].clone();
        assert!(jkt.is_string(), "the login's token is bound to a key");
        client.goto("about:blank").await.unwrap();
        let (renewals, elapsed) = slide_to_the_end(&client, &server.base, "dpop").await;
        assert_slid_and_ended(&client, renewals, elapsed).await;
        let lines = log_lines(&client).await;
        assert!(lines.iter().any(|l| l.contains("renewed: x-refreshed-token")), "{lines:?}");
    })
    .await;
}

/// "Steal the token": in header mode a copied token lets anyone in; in DPoP mode it is refused
/// as a bearer token and as a DPoP token without a proof, from the page and from outside it.
async fn a_stolen_dpop_token_is_refused_and_a_stolen_bearer_token_is_not() {
    let server = Example::start("server", &DEMO);
    browser::run("steal", move |client| async move {
        log_in(&client, &server.base, "header").await;
        click(&client, "steal").await;
        settle(&client).await;
        let lines = log_lines(&client).await;
        assert!(lines[0].contains("stolen token accepted as Bearer"), "{lines:?}");

        log_in(&client, &server.base, "dpop").await;
        click(&client, "steal").await;
        settle(&client).await;
        let lines = log_lines(&client).await;
        let said = lines[..2].join(" | ");
        assert!(said.contains("refused as DPoP: 401 the DPoP proof is missing"), "{said}");
        assert!(said.contains("refused as Bearer: 401"), "{said}");

        // From outside the page, with the token and without the key.
        let token = js(&client, "return state.token").await;
        let token = token.as_str().unwrap();
        let http = reqwest::Client::new();
        for scheme in ["Bearer", "DPoP"] {
            let response = http
                .get(format!("{}/mine", server.base))
                .header(AUTHORIZATION, format!("{scheme} {token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{scheme}");
        }
        // The page itself, with its key, goes on.
        click(&client, "call").await;
        settle(&client).await;
        assert_eq!(text(&client, "status").await, "", "the page's own calls still work");
    })
    .await;
}

/// A fetch of `/session` from the page with its cookie; its status.
async fn status_with_cookie(client: &Client) -> Value {
    js(client, "return fetch('/session', { credentials: 'same-origin' }).then(r => r.status)").await
}

/// A fetch from the page with `token` as a bearer token; its status.
async fn status_with_bearer(client: &Client, token: &str) -> Value {
    let script = "return fetch('/session', { headers: { authorization: 'Bearer ' + arguments[0] }, \
                  credentials: 'omit' }).then(r => r.status)";
    client.execute(script, vec![json!(token)]).await.unwrap()
}

async fn logout_refuses_the_next_call_even_with_a_renewed_token() {
    let server = Example::start("server", &DEMO);
    browser::run("logout_header", move |client| async move {
        log_in(&client, &server.base, "header").await;
        let first = js(&client, "return state.token").await;
        advance(&server.base, 6).await;
        click(&client, "call").await;
        settle(&client).await;
        let renewed = js(&client, "return state.token").await;
        assert_ne!(first, renewed, "the call in the window brought a renewal");
        let renewed = renewed.as_str().unwrap().to_owned();
        assert_eq!(status_with_bearer(&client, &renewed).await, json!(200));

        click(&client, "logout").await;
        settle(&client).await;
        assert_eq!(text(&client, "status").await, "logged out");
        assert_eq!(status_with_bearer(&client, first.as_str().unwrap()).await, json!(401));
        assert_eq!(status_with_bearer(&client, &renewed).await, json!(401));
    })
    .await;
}

async fn cookie_mode_logout_clears_the_cookie_and_ends_the_session() {
    let server = Example::start("server", &DEMO);
    browser::run("logout_cookie", move |client| async move {
        log_in(&client, &server.base, "cookie").await;
        advance(&server.base, 6).await;
        click(&client, "call").await;
        settle(&client).await;
        // The browser holds the renewed token as an HttpOnly cookie (WebDriver sees it; the
        // page cannot).
        let cookie = client.get_named_cookie("token").await.expect("the token cookie");
        assert_eq!(cookie.http_only(), Some(true));
        let renewed = cookie.value().to_owned();

        click(&client, "logout").await;
        settle(&client).await;
        assert_eq!(text(&client, "status").await, "logged out");
        assert!(client.get_named_cookie("token").await.is_err(), "the cookie is deleted");
        assert_eq!(status_with_cookie(&client).await, json!(401));
        // The renewed token itself, replayed from anywhere, is refused too.
        assert_eq!(status_with_bearer(&client, &renewed).await, json!(401));
    })
    .await;
}

/// A page of another origin on the same site (127.0.0.1, another port), as a sibling subdomain
/// would be: `SameSite=Lax` lets its form posts carry the cookie.
async fn other_origin(body: String) -> String {
    serve(Router::new().route("/", get(move || async move { Html(body) }))).await
}

async fn a_form_post_from_another_origin_is_refused_though_it_carries_the_cookie() {
    let server = Example::start("server", &DEMO);
    browser::run("csrf", move |client| async move {
        log_in(&client, &server.base, "cookie").await;
        let form = format!(
            "<!doctype html><title>prize</title><form method=post action='{}/logout'>\
             <button id=go>Claim your prize</button></form>",
            server.base
        );
        let evil = other_origin(form).await;
        client.goto(&evil).await.unwrap();
        click(&client, "go").await;
        let refused = Locator::XPath("//*[contains(., 'cross-site request refused')]");
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(refused)
            .await
            .expect("the API's CSRF refusal (a 401 would mean the cookie was not sent at all)");

        // The session survived the forged logout; the page's own logout still works.
        client.goto(&server.base).await.unwrap();
        assert_eq!(status_with_cookie(&client).await, json!(200));
        let logout = "return fetch('/logout', { method: 'POST', credentials: 'same-origin' })\
                      .then(r => r.status)";
        assert_eq!(js(&client, logout).await, json!(200));
        assert_eq!(status_with_cookie(&client).await, json!(401));
    })
    .await;
}

const SECRET: &str = "browser-test-secret-of-at-least-32-bytes";

/// An API at another origin than the page, with tower-http's `CorsLayer` outside or inside the
/// auth layer, and a token that is in its renewal window.
async fn cross_origin_api(page: &str, cors: CorsLayer, cors_outside: bool) -> (String, String) {
    let clock = ManualClock::new(unix_now());
    let auth = JwtAuthLayer::builder().hs256(SECRET).clock(clock.clone()).build().unwrap();
    let token = auth.issuer().issue("7", &()).unwrap().token;
    clock.advance(Duration::from_secs(200));
    let cors = cors.allow_origin(page.parse::<http::HeaderValue>().unwrap());
    let routes = Router::new().route("/me", get(|| async { "me" }));
    let router =
        if cors_outside { routes.layer(auth).layer(cors) } else { routes.layer(cors).layer(auth) };
    (serve(router).await, token)
}

/// What the page at the other origin sees of `GET {api}/me` with this bearer token.
async fn fetch_from_page(client: &Client, api: &str, token: &str) -> Value {
    let script = "return fetch(arguments[0] + '/me', { headers: { authorization: 'Bearer ' + arguments[1] } })\
                  .then(r => ({ status: r.status, renewed: r.headers.get('x-refreshed-token') }))\
                  .catch(e => ({ error: String(e) }))";
    client.execute(script, vec![json!(api), json!(token)]).await.unwrap()
}

async fn a_page_of_another_origin_reads_the_renewal_only_as_the_readme_says() {
    browser::run("cors", move |client| async move {
        let page = other_origin("<!doctype html><title>app</title>".to_owned()).await;
        client.goto(&page).await.unwrap();
        let exposing = || {
            CorsLayer::new().allow_headers([AUTHORIZATION]).expose_headers([REFRESHED_TOKEN_HEADER])
        };

        // The README's order: CORS outside, the renewal header listed in `expose_headers`.
        let (api, token) = cross_origin_api(&page, exposing(), true).await;
        let seen = fetch_from_page(&client, &api, &token).await;
        assert_eq!(seen["status"], 200, "{seen}");
        assert!(seen["renewed"].is_string(), "the page reads the renewal: {seen}");
        // Refusals carry CORS headers too, so the page learns it must log in again.
        assert_eq!(fetch_from_page(&client, &api, "not-a-token").await["status"], 401);

        // CORS outside without the header listed: the renewal arrives, but the page cannot read it.
        let unlisted = CorsLayer::new().allow_headers([AUTHORIZATION]);
        let (api, token) = cross_origin_api(&page, unlisted, true).await;
        let seen = fetch_from_page(&client, &api, &token).await;
        assert_eq!(seen["status"], 200, "{seen}");
        assert_eq!(seen["renewed"], Value::Null, "not exposed: {seen}");

        // CORS inside: the auth layer answers the preflight before CORS can, so the browser
        // refuses to send the call at all.
        let (api, token) = cross_origin_api(&page, exposing(), false).await;
        let seen = fetch_from_page(&client, &api, &token).await;
        assert!(seen["error"].as_str().is_some_and(|e| e.contains("Failed to fetch")), "{seen}");
    })
    .await;
}

/// Whether the page's own session box (and its Log out button) is showing.
async fn session_shown(client: &Client) -> bool {
    js(client, "return !document.getElementById('session').hidden").await == json!(true)
}

/// A reload, or a new tab, finds the cookie session alive and shows it: who, the mode, a bar
/// for the current token and the Log out button, which still ends it.
async fn a_reload_resumes_a_live_cookie_session() {
    let server = Example::start("server", &DEMO);
    browser::run("reload_resumes", move |client| async move {
        log_in(&client, &server.base, "cookie").await;
        client.refresh().await.unwrap();
        settle(&client).await;
        assert!(session_shown(&client).await, "the session is shown again");
        assert_eq!(text(&client, "who").await, "alice");
        assert_eq!(text(&client, "mode").await, "cookie");
        assert!(log_lines(&client).await[0].ends_with("resumed the cookie session of alice"));
        assert_eq!(js(&client, "return state.tokens.length").await, json!(1), "the current token");
        // A new tab resumes it too.
        let tab = client.new_window(true).await.unwrap();
        client.switch_to_window(tab.handle).await.unwrap();
        client.goto(&server.base).await.unwrap();
        settle(&client).await;
        assert_eq!(text(&client, "who").await, "alice");
        click(&client, "logout").await;
        settle(&client).await;
        assert_eq!(text(&client, "status").await, "logged out");
        client.refresh().await.unwrap();
        settle(&client).await;
        assert!(!session_shown(&client).await, "after a logout, a reload shows the login form");
    })
    .await;
}

/// Two tabs share the cookie: a login in the second replaces the first tab's session, and the
/// first tab says so instead of calling it a renewal.
async fn a_login_in_another_tab_is_reported_as_such() {
    let server = Example::start("server", &DEMO);
    browser::run("two_tabs", move |client| async move {
        let first = client.window().await.unwrap();
        client.goto(&server.base).await.unwrap();
        let second = client.new_window(true).await.unwrap().handle;
        client.switch_to_window(second.clone()).await.unwrap();
        client.goto(&server.base).await.unwrap(); // its form, before anyone logged in
        settle(&client).await;
        client.switch_to_window(first).await.unwrap();
        log_in(&client, &server.base, "cookie").await;
        let first = client.window().await.unwrap();
        client.switch_to_window(second).await.unwrap();
        element(&client, "user").await.clear().await.unwrap();
        element(&client, "user").await.send_keys("admin").await.unwrap();
        element(&client, "password").await.clear().await.unwrap();
        element(&client, "password").await.send_keys("admin").await.unwrap();
        client
            .find(Locator::Css("input[name=mode][value=cookie]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(&client, "login-button").await;
        settle(&client).await;
        assert_eq!(text(&client, "who").await, "admin");
        client.switch_to_window(first).await.unwrap();
        click(&client, "call").await;
        settle(&client).await;
        let lines = log_lines(&client).await;
        assert!(lines[0].ends_with("another login (admin) replaced this session"), "{lines:?}");
        assert!(!lines.iter().any(|line| line.contains("renewed")), "{lines:?}");
        assert_eq!(text(&client, "who").await, "admin");
    })
    .await;
}

/// From phone width to wide screens, nothing scrolls sideways and the timeline fits its column;
/// the empty timeline explains itself; a refused login and an ending look different.
async fn the_page_fits_from_phone_width_and_tells_errors_from_endings() {
    let server = Example::start("server", &DEMO);
    browser::run("layout", move |client| async move {
        let fits = "const column = document.body.clientWidth; \
            const timeline = document.getElementById('timeline').getBoundingClientRect(); \
            return [document.documentElement.scrollWidth <= window.innerWidth, \
                    timeline.right <= document.body.getBoundingClientRect().right, \
                    window.innerWidth, column]";
        for width in [360, 800, 1000] {
            client.set_window_size(width, 900).await.unwrap();
            client.goto(&server.base).await.unwrap();
            settle(&client).await;
            let [no_scroll, inside, inner, _] =
                serde_json::from_value::<[Value; 4]>(js(&client, fits).await).unwrap();
            assert!(
                inner.as_u64().unwrap() <= u64::from(width),
                "the window is {width} px wide: {inner}"
            );
            assert_eq!(
                (no_scroll, inside),
                (json!(true), json!(true)),
                "at {width} px, empty page"
            );
            let caption =
                js(&client, "return document.querySelector('figure figcaption').textContent");
            assert!(caption.await.as_str().unwrap().contains("session limit"), "a legend");
            log_in(&client, &server.base, "header").await;
            let [no_scroll, inside, _, _] =
                serde_json::from_value::<[Value; 4]>(js(&client, fits).await).unwrap();
            assert_eq!(
                (no_scroll, inside),
                (json!(true), json!(true)),
                "at {width} px, in a session"
            );
            click(&client, "logout").await;
            settle(&client).await;
        }
        let ending = js(&client, "const s = document.getElementById('status'); return [s.className, getComputedStyle(s).color]").await;
        element(&client, "password").await.clear().await.unwrap();
        element(&client, "password").await.send_keys("wrong").await.unwrap();
        click(&client, "login-button").await;
        settle(&client).await;
        assert!(text(&client, "status").await.starts_with("login refused"));
        let error = js(&client, "const s = document.getElementById('status'); return [s.className, getComputedStyle(s).color]").await;
        assert_eq!((ending[0].clone(), error[0].clone()), (json!("ended"), json!("error")));
        assert_ne!(ending[1], error[1], "an error and an ending are styled apart");
    })
    .await;
}

fn main() {
    use common::harness::{Needs, Runtime, run, trial};
    run(vec![
        trial(
            "header_mode_slides_past_the_first_expiry_and_ends_at_the_session_limit",
            Needs::Browser,
            Runtime::CurrentThread,
            header_mode_slides_past_the_first_expiry_and_ends_at_the_session_limit,
        ),
        trial(
            "cookie_mode_slides_and_ends_without_the_page_ever_seeing_the_token",
            Needs::Browser,
            Runtime::CurrentThread,
            cookie_mode_slides_and_ends_without_the_page_ever_seeing_the_token,
        ),
        trial(
            "dpop_mode_slides_and_ends_with_every_token_bound_to_the_pages_key",
            Needs::Browser,
            Runtime::CurrentThread,
            dpop_mode_slides_and_ends_with_every_token_bound_to_the_pages_key,
        ),
        trial(
            "a_stolen_dpop_token_is_refused_and_a_stolen_bearer_token_is_not",
            Needs::Browser,
            Runtime::CurrentThread,
            a_stolen_dpop_token_is_refused_and_a_stolen_bearer_token_is_not,
        ),
        trial(
            "logout_refuses_the_next_call_even_with_a_renewed_token",
            Needs::Browser,
            Runtime::CurrentThread,
            logout_refuses_the_next_call_even_with_a_renewed_token,
        ),
        trial(
            "cookie_mode_logout_clears_the_cookie_and_ends_the_session",
            Needs::Browser,
            Runtime::CurrentThread,
            cookie_mode_logout_clears_the_cookie_and_ends_the_session,
        ),
        trial(
            "a_form_post_from_another_origin_is_refused_though_it_carries_the_cookie",
            Needs::Browser,
            Runtime::CurrentThread,
            a_form_post_from_another_origin_is_refused_though_it_carries_the_cookie,
        ),
        trial(
            "a_page_of_another_origin_reads_the_renewal_only_as_the_readme_says",
            Needs::Browser,
            Runtime::CurrentThread,
            a_page_of_another_origin_reads_the_renewal_only_as_the_readme_says,
        ),
        trial(
            "a_reload_resumes_a_live_cookie_session",
            Needs::Browser,
            Runtime::CurrentThread,
            a_reload_resumes_a_live_cookie_session,
        ),
        trial(
            "a_login_in_another_tab_is_reported_as_such",
            Needs::Browser,
            Runtime::CurrentThread,
            a_login_in_another_tab_is_reported_as_such,
        ),
        trial(
            "the_page_fits_from_phone_width_and_tells_errors_from_endings",
            Needs::Browser,
            Runtime::CurrentThread,
            the_page_fits_from_phone_width_and_tells_errors_from_endings,
        ),
    ]);
}
