//! The demo API (examples/server), run as its own process, driven by a real HTTP client: login,
//! every kind of refused token, the token sources, and sliding and explicit renewal. Tokens "from
//! the past" are signed by an issuer with the server's configuration on a clock of its own.

use crate::common::{
    Example, challenge, claims_of, example_issuer, header_of, hmac_token, hs256, renewed, unix_now,
};
use reqwest::header::{
    ACCESS_CONTROL_EXPOSE_HEADERS, AUTHORIZATION, CACHE_CONTROL, COOKIE, SET_COOKIE, VARY,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "integration-secret-of-at-least-32-bytes";

struct Server {
    base: String,
    http: Client,
    _process: Example,
}

fn start_with(env: &[(&str, &str)]) -> Server {
    let mut env = env.to_vec();
    env.push(("JWT_SECRET", SECRET));
    let process = Example::start("server", &env);
    Server { base: process.base.clone(), http: Client::new(), _process: process }
}

fn start() -> Server {
    start_with(&[])
}

/// A token of a demo user (`admin` is 1, `alice` 2), as the server would have issued it at
/// login `age` seconds ago.
fn logged_in(user: &str, age: i64) -> String {
    let id = if user == "admin" { 1 } else { 2 };
    let (issuer, _) = example_issuer(SECRET, unix_now() - age);
    issuer.issue(id.to_string(), &json!({ "user_id": id, "username": user })).unwrap().token
}

/// Whether two times agree, allowing for the second the server may be ahead.
fn about(actual: &Value, expected: i64) -> bool {
    actual.as_i64().is_some_and(|actual| (actual - expected).abs() <= 2)
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn login(&self, user: &str, password: &str) -> Response {
        self.http
            .post(self.url("/auth"))
            .json(&json!({ "user": user, "password": password }))
            .send()
            .await
            .unwrap()
    }

    async fn token(&self, user: &str, password: &str) -> String {
        let response = self.login(user, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, token: &str) -> Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }
}

/// A claim set like the server's, for forged tokens.
fn payload(now: i64, iss: &str) -> String {
    json!({
        "sub": "1", "user_id": 1, "username": "admin", "iss": iss,
        "iat": now, "exp": now + 300, "auth_time": now, "jti": "j", "sid": "s"
    })
    .to_string()
}

#[tokio::test]
async fn login_issues_the_tutorial_token() {
    let server = start();
    let response = server.login("admin", "admin").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("token=") && cookie.contains("HttpOnly"), "{cookie}");
    // A response carrying a token is never stored by a cache (RFC 6749 section 5.1).
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let token = body["token"].as_str().unwrap();
    let claims = claims_of(token);
    let session_end = claims["auth_time"].as_i64().unwrap() + 86_400;
    assert_eq!(body["session_expires_at"], session_end, "when the session ends for good");
    let now = unix_now();
    assert_eq!(claims["sub"], "1");
    assert_eq!(claims["user_id"], 1);
    assert_eq!(claims["username"], "admin");
    assert_eq!(claims["iss"], "demo");
    assert!(about(&claims["iat"], now));
    assert_eq!(claims["auth_time"], claims["iat"]);
    assert_eq!(claims["exp"].as_i64(), claims["iat"].as_i64().map(|iat| iat + 300));
    assert!(claims["jti"].as_str().unwrap().len() >= 20);
    assert!(claims["sid"].as_str().unwrap().len() >= 20);
    assert_eq!(header_of(token), json!({ "alg": "HS256", "typ": "JWT" }));

    let mine: Value = server.get("/mine", token).await.json().await.unwrap();
    assert_eq!(mine, json!({ "user_id": 1, "username": "admin" }));
}

#[tokio::test]
async fn wrong_credentials_are_a_json_401() {
    let server = start();
    for (user, password) in [("admin", "nope"), ("alice", "admin"), ("mallory", "x")] {
        let response = server.login(user, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_credentials");
    }
}

#[tokio::test]
async fn public_and_unknown_routes_need_no_token() {
    let server = start();
    let health = server.http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let unknown = server.http.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "route_layer keeps 404s");
}

#[tokio::test]
async fn missing_token_is_a_bare_challenge() {
    let server = start();
    let response = server.http.get(server.url("/mine")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&response), r#"Bearer realm="api""#);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    // Another scheme counts as no token.
    let basic = server
        .http
        .get(server.url("/mine"))
        .basic_auth("admin", Some("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge(&basic), r#"Bearer realm="api""#);
}

#[tokio::test]
async fn every_bad_token_is_an_invalid_token_401() {
    let server = start();
    let now = unix_now();
    let good = payload(now, "demo");
    let secret = SECRET.as_bytes();
    let expired =
        json!({ "sub": "1", "iss": "demo", "iat": now - 400, "exp": now - 100 }).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", hs256(secret, r#"{"alg":"HS256"}"#, &expired), "expired"),
        (
            "forged",
            hs256(b"another-secret-that-is-32-bytes-long", r#"{"alg":"HS256"}"#, &good),
            "signature",
        ),
        ("wrong alg", hmac_token(384, &[7u8; 48], r#"{"alg":"HS384"}"#, &good), "algorithm"),
        (
            "alg none",
            format!("{}.", hs256(secret, r#"{"alg":"none"}"#, &good).rsplit_once('.').unwrap().0),
            "well-formed",
        ),
        ("alg none, signed", hs256(secret, r#"{"alg":"none"}"#, &good), "algorithm"),
        ("unknown kid", hs256(secret, r#"{"alg":"HS256","kid":"nope"}"#, &good), "key id"),
        ("wrong iss", hs256(secret, r#"{"alg":"HS256"}"#, &payload(now, "evil")), "issuer"),
        ("oversized", "a".repeat(9 * 1024), "too large"),
        ("garbage", "not-a-jwt".to_owned(), "well-formed"),
    ];
    for (name, token, reason) in cases {
        let response = server.get("/mine", &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let challenge = challenge(&response);
        assert!(challenge.contains(r#"error="invalid_token""#), "{name}: {challenge}");
        assert!(challenge.contains(reason), "{name}: {challenge}");
        assert!(!challenge.contains(&token[..20.min(token.len())]), "{name}: token leaked");
        assert!(renewed(&response).is_none(), "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token", "{name}");
    }
    // The control: the same claims, correctly signed, pass.
    assert_eq!(
        server.get("/mine", &hs256(secret, r#"{"alg":"HS256"}"#, &good)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn expiry_follows_the_clock_with_leeway() {
    let server = start();
    let within = logged_in("alice", 302);
    assert_eq!(
        server.get("/mine", &within).await.status(),
        StatusCode::OK,
        "within the 5 s leeway"
    );
    let response = server.get("/mine", &logged_in("alice", 306)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("expired"));
}

#[tokio::test]
async fn query_and_cookie_tokens_are_accepted() {
    let server = start();
    let token = server.token("alice", "wonderland").await;
    let by_query =
        server.http.get(server.url(&format!("/mine?token={token}"))).send().await.unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    let by_cookie = server
        .http
        .get(server.url("/mine"))
        .header(COOKIE, format!("theme=dark; token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);
    let body: Value = by_cookie.json().await.unwrap();
    assert_eq!(body["username"], "alice");
    // A fresh bearer token wins over a stale cookie.
    let both = server
        .http
        .get(server.url("/mine"))
        .bearer_auth(&token)
        .header(COOKIE, "token=stale.garbage.value")
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), StatusCode::OK);
}

#[tokio::test]
async fn ambiguous_requests_are_400() {
    let server = start();
    let token = server.token("alice", "wonderland").await;
    let two_headers = server
        .http
        .get(server.url("/mine"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(two_headers.status(), StatusCode::BAD_REQUEST);
    assert!(challenge(&two_headers).contains(r#"error="invalid_request""#));
    let two_params = server
        .http
        .get(server.url(&format!("/mine?token={token}&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(two_params.status(), StatusCode::BAD_REQUEST);
    let empty =
        server.http.get(server.url("/mine")).header(AUTHORIZATION, "Bearer ").send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_is_decided_by_the_handler() {
    let server = start();
    let admin = server.token("admin", "admin").await;
    let alice = server.token("alice", "wonderland").await;
    assert_eq!(server.get("/admin", &admin).await.status(), StatusCode::OK);
    let refused = server.get("/admin", &alice).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn a_fresh_token_is_not_renewed() {
    let server = start();
    let response = server.get("/mine", &logged_in("alice", 140)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
    assert!(response.headers().get(CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn a_token_in_the_window_is_renewed_in_the_response() {
    let server = start();
    let token = logged_in("alice", 160);
    let old = claims_of(&token);
    let response = server.get("/mine", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_token = renewed(&response).expect("renewed token");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert!(
        response
            .headers()
            .get_all(VARY)
            .iter()
            .any(|v| v.to_str().unwrap().contains("authorization"))
    );
    let new = claims_of(&new_token);
    assert!(about(&new["iat"], unix_now()));
    assert_eq!(new["exp"].as_i64(), new["iat"].as_i64().map(|iat| iat + 300));
    assert_ne!(new["jti"], old["jti"]);
    for kept in ["sub", "sid", "auth_time", "iss", "user_id", "username"] {
        assert_eq!(new[kept], old[kept], "{kept}");
    }
    assert_eq!(header_of(&new_token), json!({ "alg": "HS256", "typ": "JWT" }));
    // Both verify; the client keeps the one with the latest exp.
    assert_eq!(server.get("/mine", &new_token).await.status(), StatusCode::OK);
    assert_eq!(server.get("/mine", &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_cookie_token_is_renewed_with_set_cookie() {
    let server = start_with(&[("MAX_SESSION_SECS", "400")]);
    let token = logged_in("alice", 200);
    let response = server
        .http
        .get(server.url("/mine"))
        .header(COOKIE, format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none(), "a cookie client gets a cookie, not a header");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let parsed = cookie::Cookie::parse(set_cookie.clone()).unwrap();
    assert_eq!(parsed.name(), "token");
    assert_eq!(parsed.http_only(), Some(true));
    assert_eq!(parsed.path(), Some("/"));
    let max_age = parsed.max_age().unwrap().whole_seconds();
    // New exp = min(now + 300, login + 400) = login + 400: 200 s from now.
    assert!((199..=200).contains(&max_age), "{set_cookie}");
    let login_at = claims_of(&token)["auth_time"].as_i64().unwrap();
    assert_eq!(claims_of(parsed.value())["exp"], login_at + 400);
    assert!(
        response.headers().get_all(VARY).iter().any(|v| v.to_str().unwrap().contains("cookie"))
    );
}

#[tokio::test]
async fn handler_errors_never_carry_a_renewal() {
    let server = start();
    let alice = logged_in("alice", 200);
    let forbidden = server.get("/admin", &alice).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(renewed(&forbidden).is_none());
    let ok = server.get("/mine", &alice).await;
    assert!(renewed(&ok).is_some(), "the control: the same token renews on a 200");
}

#[tokio::test]
async fn cors_responses_expose_the_renewal_header() {
    let server = start();
    let token = logged_in("alice", 200);
    let response = server
        .http
        .get(server.url("/mine"))
        .bearer_auth(&token)
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert!(renewed(&response).is_some());
    let exposed: Vec<String> = response
        .headers()
        .get_all(ACCESS_CONTROL_EXPOSE_HEADERS)
        .iter()
        .flat_map(|v| {
            v.to_str()
                .unwrap()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(exposed.iter().any(|h| h == "x-refreshed-token"), "{exposed:?}");
}

#[tokio::test]
async fn explicit_renewal_at_update_token() {
    let server = start();
    let token = logged_in("admin", 10);
    let response = server.get("/update/token", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none(), "the endpoint opts out of sliding renewal");
    assert!(response.headers().get(SET_COOKIE).is_some());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let new_token = body["token"].as_str().unwrap();
    assert!(about(&claims_of(new_token)["exp"], unix_now() + 300));
    assert_eq!(claims_of(new_token)["sid"], claims_of(&token)["sid"]);
    assert_eq!(server.get("/mine", new_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_session_limit_ends_renewal() {
    use std::time::Duration;

    use tower_sliding_jwt::{JwtAuthLayer, ManualClock};

    let server = start_with(&[("MAX_SESSION_SECS", "600")]);
    // The history of a session, signed as the server would have: login at `start`, renewed
    // every 200 s.
    let session = |start: i64, renewals: u32| {
        let clock = ManualClock::new(start);
        let issuer = JwtAuthLayer::builder()
            .hs256(SECRET)
            .issuer("demo")
            .session_limit(Duration::from_secs(600))
            .clock(clock.clone())
            .build()
            .unwrap()
            .issuer();
        let mut token =
            issuer.issue("1", &json!({ "user_id": 1, "username": "admin" })).unwrap().token;
        for _ in 0..renewals {
            clock.advance(Duration::from_secs(200));
            token = futures_util::FutureExt::now_or_never(issuer.renew(&token))
                .expect("no asynchronous revocation here")
                .unwrap()
                .token;
        }
        token
    };
    // Logged in 450 s ago, renewed once (exp = login + 500, 50 s left): the server renews, but
    // only up to the session limit, login + 600.
    let login_at = unix_now() - 450;
    let response = server.get("/mine", &session(login_at, 1)).await;
    let limited = renewed(&response).expect("renewal before the session limit");
    assert_eq!(claims_of(&limited)["exp"], login_at + 600);
    // Logged in 580 s ago, renewed twice (exp = the session limit, 20 s left): in the window, but nothing
    // to extend, and explicit renewal says the session has ended.
    let token = session(unix_now() - 580, 2);
    let response = server.get("/mine", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
    let explicit = server.get("/update/token", &token).await;
    assert_eq!(explicit.status(), StatusCode::UNAUTHORIZED);
    let body: Value = explicit.json().await.unwrap();
    assert_eq!(body["error"], "session_ended");
    // And a session past its limit is over for good.
    assert_eq!(server.get("/mine", &session(unix_now() - 610, 2)).await.status(), 401);
}

#[tokio::test]
async fn advise_mode_announces_instead_of_renewing() {
    let server = start_with(&[("REFRESH_MODE", "advise")]);
    let fresh = server.get("/mine", &logged_in("alice", 0)).await;
    assert!(fresh.headers().get("x-token-expires-in").is_none());
    let token = logged_in("alice", 160);
    let response = server.get("/mine", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
    let left: i64 = response.headers()["x-token-expires-in"].to_str().unwrap().parse().unwrap();
    assert!((138..=140).contains(&left), "{left}");
    // The client then renews explicitly.
    let explicit = server.get("/update/token", &token).await;
    assert_eq!(explicit.status(), StatusCode::OK);
}

#[tokio::test]
async fn fifty_parallel_requests_in_the_window() {
    let server = start();
    let token = logged_in("alice", 200);
    let verifier = example_issuer(SECRET, unix_now()).0;
    let requests = (0..50).map(|_| server.get("/mine", &token));
    let responses = futures_util::future::join_all(requests).await;
    let mut jtis = std::collections::HashSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        let new_token = renewed(&response).expect("every response in the window renews");
        let claims = verifier.verify::<Value>(&new_token).expect("every renewed token verifies");
        assert_eq!(claims.session_id(), claims_of(&token)["sid"].as_str());
        jtis.insert(claims.token_id().unwrap().to_owned());
    }
    assert_eq!(jtis.len(), 50, "every renewal has its own jti");
    assert_eq!(
        server.get("/mine", &token).await.status(),
        StatusCode::OK,
        "the old token stays valid"
    );
}

/// A forged preflight to a protected route gets no data from the handler, whichever layer
/// answers it (the demo's CORS layer sits outside the auth layer).
#[tokio::test]
async fn a_forged_preflight_gets_no_data() {
    let server = start();
    for path in ["/mine", "/admin", "/update/token", "/nope"] {
        let response = server
            .http
            .request(reqwest::Method::OPTIONS, server.url(path))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        assert!(response.headers().get("x-refreshed-token").is_none(), "{path}");
        assert!(response.bytes().await.unwrap().is_empty(), "{path}: the handler answered");
    }
}

/// Cookie mode against CSRF, on the demo: a logout authenticated by the cookie and sent from
/// another site is refused; from the demo's own origin (or by a client that is not a browser)
/// it goes through and clears the cookie with the attributes the server set it with. A bearer
/// token is not sent by a browser on its own and is never checked.
#[tokio::test]
async fn cookie_requests_from_other_sites_are_refused_and_logout_clears_the_cookie() {
    let server = start();
    let logout = |token: &str, cookie: bool, origin: Option<&str>| {
        let mut request = server.http.post(server.url("/logout"));
        request = match cookie {
            true => request.header(COOKIE, format!("token={token}")),
            false => request.bearer_auth(token),
        };
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let forged = logout(&logged_in("alice", 0), true, Some("https://evil.example")).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get("www-authenticate").is_none(), "not an authentication problem");
    let body: Value = forged.json().await.unwrap();
    assert!(body["error_description"].as_str().unwrap().contains("cross-site"), "{body}");
    let fetch_metadata = server
        .http
        .post(server.url("/logout"))
        .header(COOKIE, format!("token={}", logged_in("alice", 0)))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_metadata.status(), StatusCode::FORBIDDEN);

    let own = logout(&logged_in("alice", 0), true, Some(&server.base)).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let clear = own.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(clear.starts_with("token=;") && clear.contains("Max-Age=0"), "{clear}");
    assert!(clear.contains("Path=/") && clear.contains("HttpOnly"), "{clear}");

    let bearer = logout(&logged_in("alice", 0), false, Some("https://evil.example")).await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK, "bearer requests are not CSRF-checked");
}

/// The demo page at `/`: one self-contained HTML document (it works offline), public, with the
/// login form, the mode switch, the clocks, the timeline and the logout button.
#[tokio::test]
async fn the_demo_page_is_served_whole_at_the_root() {
    let server = start();
    let response = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    for part in [
        r#"<form id="login""#,
        r#"value="header""#,
        r#"value="cookie""#,
        r#"id="token-left""#,
        r#"id="session-left""#,
        r#"<svg id="timeline""#,
        r#"id="log""#,
        r#"id="logout""#,
        "x-refreshed-token",
    ] {
        assert!(page.contains(part), "the page lacks {part}");
    }
    for external in ["src=\"http", "href=\"http", "@import", "//cdn"] {
        assert!(!page.contains(external), "the page loads something from elsewhere: {external}");
    }
}

/// The page's cookie mode: the login answers with the cookie only, never the token in the body,
/// and `/session` tells the page the lifetimes it cannot read from the token.
#[tokio::test]
async fn a_cookie_only_login_keeps_the_token_out_of_the_body() {
    let server = start();
    let login = server
        .http
        .post(server.url("/auth"))
        .json(&json!({ "user": "alice", "password": "wonderland", "cookie_only": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let token = cookie::Cookie::parse(cookie.clone()).unwrap().value().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let body: Value = login.json().await.unwrap();
    assert!(body.get("token").is_none(), "{body}");
    assert!(!body.to_string().contains(&token), "{body}");
    assert_eq!(body["expires_in"], 300);

    let session = server
        .http
        .get(server.url("/session"))
        .header(COOKIE, format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let session: Value = session.json().await.unwrap();
    let claims = claims_of(&token);
    assert_eq!(session["username"], "alice");
    assert_eq!(session["exp"], claims["exp"]);
    assert_eq!(session["iat"], claims["iat"]);
    assert_eq!(session["session_expires_at"], body["session_expires_at"]);

    let anonymous = server.http.get(server.url("/session")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// `DEMO_CLOCK=manual`: the server's clock moves only when told, and only a server started so
/// has the route that moves it.
#[tokio::test]
async fn only_a_manual_clock_server_lets_a_client_move_its_time() {
    let advance = |server: &Server| {
        server.http.post(server.url("/clock/advance")).json(&json!({ "secs": 3600 })).send()
    };
    let normal = start();
    assert_eq!(advance(&normal).await.unwrap().status(), StatusCode::NOT_FOUND);

    let server = start_with(&[("DEMO_CLOCK", "manual")]);
    let token = logged_in("alice", 0);
    let now_of = |session: Value| session["now"].as_i64().unwrap();
    let session = || server.http.get(server.url("/session")).bearer_auth(&token).send();
    let before = now_of(session().await.unwrap().json().await.unwrap());
    let moved: Value = advance(&server).await.unwrap().json().await.unwrap();
    assert_eq!(now_of(moved), before + 3600);
    // An hour on, the 5-minute token is long expired by the server's clock.
    assert_eq!(session().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}
