//! `--demo`: a scripted walk-through against a real server on 127.0.0.1, with short lifetimes so
//! the whole session fits in a few seconds. It checks what it shows and exits non-zero if the
//! server does not behave as described.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::Router;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tower_sliding_jwt::Issuer;
use tower_sliding_jwt::renewal::REFRESHED_TOKEN_HEADER;

use crate::settings::Settings;

/// Lifetimes of the walk-through: tokens live 4 s, renew in their last 2 s, sessions last 10 s.
const TTL: u64 = 4;
const WITHIN: u64 = 2;
const SESSION: u64 = 10;

pub async fn run(
    mut settings: Settings,
    server: impl FnOnce(&Settings, &str) -> Result<(Router, Issuer), String>,
) -> ExitCode {
    settings.token_lifetime = Duration::from_secs(TTL);
    settings.refresh_within = Duration::from_secs(WITHIN);
    settings.session_limit = Duration::from_secs(SESSION);
    match walk_through(settings, server).await {
        Ok(()) => {
            println!("\ndemo complete");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("\ndemo FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

/// `exp` and `auth_time` of a token, read with the server's own keys.
fn dates(issuer: &Issuer, token: &str) -> (i64, i64) {
    match issuer.verify::<Value>(token) {
        Ok(claims) => (claims.expires_at(), claims.session_start().unwrap_or(0)),
        Err(_) => (0, 0),
    }
}

async fn walk_through(
    settings: Settings,
    server: impl FnOnce(&Settings, &str) -> Result<(Router, Issuer), String>,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    let (router, issuer) = server(&settings, &addr)?;
    let base = format!("http://{addr}");
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let started = Instant::now();
    let at = || format!("[t+{:>4.1}s]", started.elapsed().as_secs_f64());

    println!("tower-sliding-jwt demo against {base}");
    println!(
        "tokens live {TTL} s, renew when at most {WITHIN} s remain, sessions end after {SESSION} s\n"
    );

    let login = |user: &'static str, password: &'static str| {
        http.post(format!("{base}/auth"))
            .json(&json!({ "user": user, "password": password }))
            .send()
    };
    let response = login("admin", "wrong").await.map_err(|e| e.to_string())?;
    println!("{} POST /auth admin/wrong            -> {}", at(), response.status());
    expect(response.status() == StatusCode::UNAUTHORIZED, "a wrong password must be refused")?;

    let response = login("alice", "wonderland").await.map_err(|e| e.to_string())?;
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let alice = body["token"].as_str().unwrap_or_default().to_owned();
    let response = http
        .get(format!("{base}/admin"))
        .bearer_auth(&alice)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{} GET /admin as alice             -> {} (authenticated, not allowed)",
        at(),
        response.status()
    );
    expect(response.status() == StatusCode::FORBIDDEN, "alice must not see /admin")?;

    let response = login("admin", "admin").await.map_err(|e| e.to_string())?;
    expect(response.status() == StatusCode::OK, "admin must log in")?;
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let mut token = body["token"].as_str().unwrap_or_default().to_owned();
    let (mut exp, session_start) = dates(&issuer, &token);
    let session_end = session_start + SESSION as i64;
    println!(
        "{} POST /auth admin/admin           -> 200, token expires in {} s; session ends at login + {SESSION} s",
        at(),
        body["expires_in"]
    );

    let mut renewals = 0;
    let mut limited = false;
    loop {
        // Read before the request: the server decides on its own clock, at most this late.
        let now = issuer.now();
        let response = http
            .get(format!("{base}/mine"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let renewed = response
            .headers()
            .get(REFRESHED_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match (status, renewed) {
            (StatusCode::OK, Some(new_token)) => {
                let (new_exp, new_start) = dates(&issuer, &new_token);
                expect(
                    new_exp > exp && new_exp <= session_end,
                    "a renewal must extend exp, never past the session limit",
                )?;
                expect(new_start == session_start, "a renewal must keep auth_time")?;
                renewals += 1;
                println!(
                    "{} GET /mine ({} s left)             -> 200 + x-refreshed-token: exp +{} s{}",
                    at(),
                    exp - now,
                    new_exp - exp,
                    if new_exp == session_end { " (reaches the session limit)" } else { "" }
                );
                token = new_token;
                exp = new_exp;
            }
            (StatusCode::OK, None) if exp < session_end => {
                println!(
                    "{} GET /mine ({} s left)             -> 200, fresh enough: no renewal",
                    at(),
                    exp - now
                );
            }
            (StatusCode::OK, None) => {
                limited = true;
                println!(
                    "{} GET /mine ({} s left)             -> 200, no renewal: the session limit is reached",
                    at(),
                    exp - now
                );
            }
            (StatusCode::UNAUTHORIZED, _) => {
                let description = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                println!("{} GET /mine                        -> 401 {description}", at());
                break;
            }
            (other, _) => return Err(format!("unexpected status {other}")),
        }
        if limited {
            let response = http
                .get(format!("{base}/update/token"))
                .bearer_auth(&token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{} GET /update/token (explicit)     -> {} (the session limit binds explicit renewal too)",
                at(),
                response.status()
            );
            expect(
                response.status() == StatusCode::UNAUTHORIZED,
                "explicit renewal must stop at the session limit",
            )?;
            println!("{} waiting for the last token to expire (exp + 5 s of leeway)...", at());
            let wait = (exp + 5 - issuer.now()).max(0) as u64;
            tokio::time::sleep(Duration::from_secs(wait)).await;
            limited = false;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(1_000)).await;
    }
    expect(renewals >= 2, "the session must have been renewed along the way")?;

    let response = login("admin", "admin").await.map_err(|e| e.to_string())?;
    println!("{} POST /auth admin/admin           -> {}: a new session", at(), response.status());
    expect(response.status() == StatusCode::OK, "logging in again must work")?;
    Ok(())
}
