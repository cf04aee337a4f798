//! A loopback soak of the axum example server, run as its own process so its memory can be read.
//!
//! Ignored by default; `.ci/run` builds the example and runs it for a bounded time:
//!
//! ```sh
//! cargo build --example server && SOAK_SECS=30 cargo test --test soak -- --ignored --nocapture
//! ```
//!
//! Many concurrent clients mix valid tokens (which renew, and are replaced by their renewals),
//! logins, and hostile tokens; beside them an attacker sends a stream of distinct valid tokens
//! (renewals it harvested) with large junk headers. It checks that no request fails unexpectedly, that every renewed
//! token verifies, and that the server's resident memory stays flat after warm-up.
//!
//! Beside it, not ignored: an attacker's pattern, more distinct valid tokens than the cache
//! holds (renewals the server handed out), each sent once with a large junk header, must not
//! grow the server's memory beyond the cache's bound.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Example, hs256, unix_now};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tower_sliding_jwt::{Issuer, JwtAuthLayer};

const SECRET: &str = "soak-test-secret-of-at-least-32-bytes";
const CLIENTS: usize = 32;

fn start_server() -> Example {
    Example::start(
        "server",
        &[
            ("JWT_SECRET", SECRET),
            ("TOKEN_TTL_SECS", "20"),
            ("REFRESH_WITHIN_SECS", "18"),
            ("MAX_SESSION_SECS", "3600"),
        ],
    )
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS")
}

/// The server's configuration, to verify what it sends.
fn verifier() -> Issuer {
    JwtAuthLayer::builder().hs256(SECRET).issuer("demo").build().unwrap().issuer()
}

#[derive(Default)]
struct Tally {
    by_kind: BTreeMap<&'static str, u64>,
    renewals: u64,
    failures: Vec<String>,
}

async fn login(http: &Client, base: &str) -> String {
    let response = http
        .post(format!("{base}/auth"))
        .json(&json!({ "user": "alice", "password": "wonderland" }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// Hostile tokens, and what they must get.
fn hostile(now: i64) -> Vec<(&'static str, String, StatusCode)> {
    let claims = |exp: i64| {
        json!({ "sub": "2", "iss": "demo", "iat": now, "exp": exp, "user_id": 2, "username": "alice" }).to_string()
    };
    vec![
        (
            "forged",
            hs256(b"not-the-server-secret-32-bytes-long", r#"{"alg":"HS256"}"#, &claims(now + 60)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "expired",
            hs256(SECRET.as_bytes(), r#"{"alg":"HS256"}"#, &claims(now - 600)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "alg none",
            format!("{}x", hs256(SECRET.as_bytes(), r#"{"alg":"none"}"#, &claims(now + 60))),
            StatusCode::UNAUTHORIZED,
        ),
        ("garbage", "a.b.c".to_owned(), StatusCode::UNAUTHORIZED),
        ("oversized", "x".repeat(20_000), StatusCode::UNAUTHORIZED),
        ("two tokens", "a.b.c d.e.f".to_owned(), StatusCode::BAD_REQUEST),
    ]
}

async fn client_loop(
    base: String,
    deadline: Instant,
    tally: Arc<Mutex<Tally>>,
    verifier: Issuer,
    id: usize,
) {
    let http = Client::new();
    let mut token = login(&http, &base).await;
    let hostile = hostile(unix_now());
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let (kind, presented, expected) = if n.is_multiple_of(4) {
            let (kind, token, status) = &hostile[(n / 4 + id) % hostile.len()];
            (*kind, token.clone(), *status)
        } else if n.is_multiple_of(251) {
            token = login(&http, &base).await;
            ("login", token.clone(), StatusCode::OK)
        } else {
            ("valid", token.clone(), StatusCode::OK)
        };
        let response = http.get(format!("{base}/mine")).bearer_auth(&presented).send().await;
        let mut tally = tally.lock().unwrap();
        *tally.by_kind.entry(kind).or_default() += 1;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tally.failures.push(format!("{kind}: transport error {error}"));
                continue;
            }
        };
        if response.status() != expected {
            tally.failures.push(format!("{kind}: {} instead of {expected}", response.status()));
        }
        if let Some(renewed) = response.headers().get("x-refreshed-token") {
            let renewed = renewed.to_str().unwrap().to_owned();
            if expected != StatusCode::OK {
                tally.failures.push(format!("{kind}: a refused request carried a renewal"));
            } else if verifier.verify::<Value>(&renewed).is_err() {
                tally.failures.push(format!("{kind}: a renewed token does not verify"));
            } else {
                tally.renewals += 1;
                token = renewed;
            }
        }
    }
}

/// One renewal harvested: a token `issuer` signs (dated by its clock) sent once to `url`, and the
/// successor the server hands back, if it did.
async fn renewal_of(http: &Client, url: &str, issuer: &Issuer) -> Option<String> {
    let claims = json!({ "user_id": 2, "username": "alice" });
    let old = issuer.issue("2", &claims).unwrap().token;
    let response = http.get(url).bearer_auth(old).send().await.ok()?;
    let header = response.headers().get("x-refreshed-token")?;
    header.to_str().ok().map(str::to_owned)
}

/// The attacker beside the soak's clients: over and over, it gets a renewal from the server
/// (a token it signed near the end of its life) and sends that new, distinct, valid token once
/// with 64 kB of junk headers. Every one must be served; memory must stay flat all the same.
async fn adversary(base: String, deadline: Instant, tally: Arc<Mutex<Tally>>) {
    let http = Client::new();
    let junk = "x".repeat(64 * 1024);
    let (issuer, clock) = common::example_issuer(SECRET, unix_now());
    let url = format!("{base}/mine");
    while Instant::now() < deadline {
        // A five-minute token signed 290 s ago: 10 s left, inside the server's 18 s window.
        clock.set(unix_now() - 290);
        let mut sent = None;
        if let Some(renewed) = renewal_of(&http, &url, &issuer).await {
            let request = http.get(&url).bearer_auth(renewed).header("x-junk", &junk);
            sent = Some(request.send().await.map(|r| r.status()));
        }
        let mut tally = tally.lock().unwrap();
        *tally.by_kind.entry("adversary").or_default() += 1;
        match sent {
            Some(Ok(StatusCode::OK)) => {}
            None => tally.failures.push("adversary: no renewal to harvest".to_owned()),
            Some(other) => tally.failures.push(format!("adversary: junk request got {other:?}")),
        }
    }
}

/// The attacker's harvest: `count` distinct tokens the server itself handed out as renewals
/// (each login's token sent once in its renewal window), as a client that logs in and renews
/// over and over would collect them.
async fn harvest(base: &str, count: usize) -> Vec<String> {
    // Five-minute tokens issued 200 s ago: in the second half of their life, so they renew.
    let (issuer, _) = common::example_issuer(SECRET, unix_now() - 200);
    let http = Client::new();
    let url = Arc::new(format!("{base}/mine"));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url, issuer) = (http.clone(), url.clone(), issuer.clone());
        tasks.spawn(async move {
            let mut renewed = Vec::new();
            for _ in 0..count.div_ceil(8) {
                renewed.push(renewal_of(&http, &url, &issuer).await.expect("a renewal"));
            }
            renewed
        });
    }
    let mut tokens = Vec::new();
    while let Some(done) = tasks.join_next().await {
        tokens.extend(done.unwrap());
    }
    tokens.truncate(count);
    tokens
}

/// Memory under attack: more distinct valid tokens than the cache holds (harvested renewals),
/// each sent once with 250 kB of junk headers. Every verified token is remembered up to the
/// cache's bound; if an entry were a view of its request, it would pin the connection's read
/// buffer, junk and all (4,096 entries would hold about a gigabyte). The bound: the cache's
/// entry limit times the largest entry (a token of up to 2 KiB and its claims, under 4 KiB),
/// plus 16 MiB for the allocator and the connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_renewed_tokens_with_large_junk_headers_leave_memory_bounded() {
    const TOKENS: usize = 6_000;
    const JUNK: usize = 250 * 1024;
    const ENTRY_KIB: u64 = 4;
    let bound_kib = tower_sliding_jwt::DEFAULT_TOKEN_CACHE as u64 * ENTRY_KIB + 16 * 1024;
    // The demo's own lifetimes (five-minute tokens): the harvest outlives the attack.
    let server = Example::start("server", &[("JWT_SECRET", SECRET)]);
    let http = Client::new();
    // Warm-up: the allocator's and the runtime's own growth comes first.
    let tokens = harvest(&server.base, TOKENS + 50).await;
    let (url, junk) = (Arc::new(format!("{}/mine", server.base)), Arc::new("x".repeat(JUNK)));
    let send_all = |tokens: Vec<String>| {
        let (http, url, junk) = (http.clone(), url.clone(), junk.clone());
        async move {
            for token in tokens {
                let request = http.get(&*url).bearer_auth(token).header("x-junk", &*junk);
                assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
            }
        }
    };
    send_all(tokens[..50].to_vec()).await;
    let before = rss_kib(server.pid());
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in tokens[50..].chunks(TOKENS / 8) {
        tasks.spawn(send_all(chunk.to_vec()));
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let after = rss_kib(server.pid());
    let grown = after.saturating_sub(before);
    println!(
        "RSS {before} KiB -> {after} KiB ({grown} KiB, bound {bound_kib} KiB) after {TOKENS} \
         renewed tokens with {JUNK} B of junk each"
    );
    assert!(grown < bound_kib, "the server grew by {grown} KiB, past {bound_kib} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a long-running soak; .ci/run runs it with a bounded SOAK_SECS"]
async fn soak_the_example_server() {
    let seconds: u64 =
        std::env::var("SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30).clamp(5, 60);
    let server = start_server();
    let pid = server.pid();
    let verifier = verifier();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);

    // Warm up for a fifth of the run, then take the baseline.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            tokio::spawn(client_loop(
                server.base.clone(),
                deadline,
                tally.clone(),
                verifier.clone(),
                id,
            ))
        })
        .collect();
    let attacker = tokio::spawn(adversary(server.base.clone(), deadline, tally.clone()));
    tokio::time::sleep(Duration::from_secs(seconds / 5)).await;
    let baseline = rss_kib(pid);
    let requests_at_baseline: u64 = tally.lock().unwrap().by_kind.values().sum();
    let mut peak = baseline;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(rss_kib(pid));
    }
    for client in clients {
        client.await.expect("client task");
    }
    attacker.await.expect("adversary task");
    let end = rss_kib(pid);
    let elapsed = started.elapsed().as_secs_f64();
    let tally = tally.lock().unwrap();
    let total: u64 = tally.by_kind.values().sum();
    println!(
        "soak: {seconds} s, {CLIENTS} clients, {total} requests ({:.0}/s)",
        total as f64 / elapsed
    );
    println!("soak: by kind {:?}, renewals {}", tally.by_kind, tally.renewals);
    println!(
        "soak: server RSS {baseline} KiB after warm-up ({requests_at_baseline} requests), peak {peak} KiB, end {end} KiB"
    );
    assert!(
        tally.failures.is_empty(),
        "{} failures, e.g. {:?}",
        tally.failures.len(),
        &tally.failures[..tally.failures.len().min(5)]
    );
    assert!(tally.renewals > 0, "the run must exercise renewal");
    // Flat: whatever the run length, growth after warm-up stays within allocator noise.
    assert!(end <= baseline + baseline / 4 + 8 * 1024, "RSS grew from {baseline} KiB to {end} KiB");
}
