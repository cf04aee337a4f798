//! The demo (examples/server) as a user meets it, run as its own process and driven by a real
//! HTTP client: its interface is fixed, so these tests pin it (login, the routes, explicit
//! renewal, logout, the page and its session endpoint, the manual clock). The rules of the
//! layer itself are tested in process, each with its family.

use crate::common::{Example, claims_of, example_issuer, header_of, renewed, unix_now};
use reqwest::header::{COOKIE, SET_COOKIE};
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

/// `/update/token` at the end of a session (`MAX_SESSION_SECS`) answers `session_ended`, so the
/// page can tell an ending from a failure. How renewal meets the limit is tested in process.
#[tokio::test]
async fn update_token_says_when_the_session_has_ended() {
    use std::time::Duration;

    use tower_sliding_jwt::{JwtAuthLayer, ManualClock};

    let server = start_with(&[("MAX_SESSION_SECS", "600")]);
    // Signed as the server would have: login 580 s ago, renewed at 200 s and 400 s, so the
    // token ends with the session, 20 s from now.
    let clock = ManualClock::new(unix_now() - 580);
    let issuer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .issuer("demo")
        .session_limit(Duration::from_secs(600))
        .clock(clock.clone())
        .build()
        .unwrap()
        .issuer();
    let mut token = issuer.issue("1", &json!({ "user_id": 1, "username": "admin" })).unwrap().token;
    for _ in 0..2 {
        clock.advance(Duration::from_secs(200));
        token = issuer.renew(&token).await.unwrap().token;
    }
    let explicit = server.get("/update/token", &token).await;
    assert_eq!(explicit.status(), StatusCode::UNAUTHORIZED);
    let body: Value = explicit.json().await.unwrap();
    assert_eq!(body["error"], "session_ended");
    assert_eq!(server.get("/mine", &token).await.status(), StatusCode::OK, "still valid");
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

/// `GET /metrics`: the layer's counters in the Prometheus text format, with outcome labels and
/// never a token or a user.
#[tokio::test]
async fn the_metrics_endpoint_shows_what_the_layer_counted() {
    let server = start();
    let token = server.token("alice", "wonderland").await;
    assert_eq!(server.get("/mine", &token).await.status(), StatusCode::OK);
    assert_eq!(server.get("/mine", "a.b.c").await.status(), StatusCode::UNAUTHORIZED);
    let response = server.http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let scrape = response.text().await.unwrap();
    for line in [
        r#"tower_sliding_jwt_requests_total{outcome="accepted"} 1"#,
        r#"tower_sliding_jwt_requests_total{outcome="invalid"} 1"#,
        r#"tower_sliding_jwt_revocation_checks_total{result="active"} 1"#,
        r#"tower_sliding_jwt_token_cache_total{result="miss"} 2"#,
    ] {
        assert!(scrape.lines().any(|l| l == line), "no {line:?} in:\n{scrape}");
    }
    for secret in [token.as_str(), "alice", SECRET] {
        assert!(!scrape.contains(secret), "the scrape names {secret:?}");
    }
}

#[tokio::test]
async fn health_answers_ok_while_the_layer_can_decide() {
    let server = start();
    let response = server.http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
}
