//! A fleet: three instances of the demo server share one Redis, and a bounded load of logins,
//! requests, renewals and logouts is spread across them. Afterwards no token is accepted by any
//! instance once its session's logout has returned, and every renewal one instance hands out
//! works on the others. Latency per instance is printed (`--nocapture`).
//!
//! `FLEET_SECS` sets the length (5 s by default, as CI runs it; BENCHMARKS.md reports a longer
//! run). It runs on real time, since renewals need tokens to age: tokens live 4 s and renew in
//! their last 3 s, and each session calls for 2.5 s. Skipped without `redis-server`, unless
//! `REQUIRE_REDIS` is set.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Example;
use crate::common::redis::RedisServer;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const SECRET: &str = "fleet-test-secret-of-at-least-32-bytes!";
const INSTANCES: usize = 3;
const CLIENTS: usize = 12;
/// How long a session calls the fleet between its login and its logout: tokens renew once they
/// are a second old, so each session renews about twice.
const SESSION: Duration = Duration::from_millis(2500);

/// What the clients saw, shared by all of them.
#[derive(Default)]
struct Record {
    /// Latency of every protected request, per instance.
    latencies: [Vec<Duration>; INSTANCES],
    sessions: usize,
    renewals: usize,
    /// Renewals from one instance first presented to another.
    renewals_used_elsewhere: usize,
    /// Tokens accepted after their session's logout had returned: must stay empty.
    accepted_after_logout: Vec<String>,
    /// Anything else that went wrong.
    failures: Vec<String>,
}

fn exp_of(token: &str) -> i64 {
    crate::common::claims_of(token)["exp"].as_i64().unwrap_or(0)
}

/// One client: sessions until the deadline; each logs in on one instance, calls all of them,
/// follows renewals, logs out on another, then replays every token it held on every instance.
async fn client(id: usize, bases: Arc<Vec<String>>, deadline: Instant, record: Arc<Mutex<Record>>) {
    let http = Client::new();
    let mut step = id;
    let fail = |message: String| record.lock().unwrap().failures.push(message);
    while Instant::now() < deadline {
        let login = &bases[step % INSTANCES];
        step += 1;
        let response = http
            .post(format!("{login}/auth"))
            .json(&json!({ "user": "alice", "password": "wonderland" }))
            .send()
            .await;
        let Ok(response) = response else {
            fail(format!("login on {login} failed"));
            continue;
        };
        let body: Value = response.json().await.unwrap_or_default();
        let Some(mut token) = body["token"].as_str().map(str::to_owned) else {
            fail(format!("login on {login}: {body}"));
            continue;
        };
        let mut held = vec![token.clone()];
        let mut from: Option<usize> = None;
        let session_end = Instant::now() + SESSION;
        while Instant::now() < session_end {
            let at = step % INSTANCES;
            step += 1;
            let started = Instant::now();
            let response = http.get(format!("{}/mine", bases[at])).bearer_auth(&token).send().await;
            let elapsed = started.elapsed();
            let Ok(response) = response else {
                fail(format!("request to instance {at} failed"));
                continue;
            };
            let mut record = record.lock().unwrap();
            record.latencies[at].push(elapsed);
            if response.status() != StatusCode::OK {
                record.failures.push(format!("instance {at} answered {}", response.status()));
                continue;
            }
            if from.take().is_some_and(|origin| origin != at) {
                record.renewals_used_elsewhere += 1;
            }
            let renewed = response.headers().get("x-refreshed-token");
            if let Some(renewed) = renewed.and_then(|v| v.to_str().ok())
                && exp_of(renewed) > exp_of(&token)
            {
                token = renewed.to_owned();
                held.push(token.clone());
                record.renewals += 1;
                from = Some(at);
            }
        }
        let logout = &bases[step % INSTANCES];
        step += 1;
        let status = http.post(format!("{logout}/logout")).bearer_auth(&token).send().await;
        if !status.as_ref().is_ok_and(|r| r.status() == StatusCode::OK) {
            fail(format!("logout on {logout} failed"));
            continue;
        }
        // The logout has returned: from now on no instance may accept any of its tokens.
        for token in &held {
            for base in bases.iter() {
                let status = http.get(format!("{base}/mine")).bearer_auth(token).send().await;
                if status.is_ok_and(|r| r.status() == StatusCode::OK) {
                    let sid =
                        crate::common::claims_of(token)["sid"].as_str().unwrap_or("").to_owned();
                    record.lock().unwrap().accepted_after_logout.push(format!("{sid} on {base}"));
                }
            }
        }
        record.lock().unwrap().sessions += 1;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

pub async fn three_instances_share_logouts_and_renewals_under_load() {
    let Some(redis) = RedisServer::start() else { return };
    let secs: u64 = std::env::var("FLEET_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let instances: Vec<Example> = (0..INSTANCES)
        .map(|_| {
            Example::start(
                "server",
                &[
                    ("JWT_SECRET", SECRET),
                    ("REDIS_URL", &redis.url()),
                    ("TOKEN_TTL_SECS", "4"),
                    ("REFRESH_WITHIN_SECS", "3"),
                    ("MAX_SESSION_SECS", "3600"),
                ],
            )
        })
        .collect();
    let bases = Arc::new(instances.iter().map(|i| i.base.clone()).collect::<Vec<_>>());
    let record = Arc::new(Mutex::new(Record::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(client(id, bases.clone(), deadline, record.clone())))
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let elapsed = started.elapsed();

    let mut record = record.lock().unwrap();
    println!(
        "fleet: {INSTANCES} instances, {CLIENTS} clients, {:.1} s: {} sessions, {} renewals ({} \
         first used on another instance)",
        elapsed.as_secs_f64(),
        record.sessions,
        record.renewals,
        record.renewals_used_elsewhere,
    );
    for (index, latencies) in record.latencies.iter_mut().enumerate() {
        latencies.sort();
        println!(
            "  instance {index}: {} requests, p50 {:?}, p99 {:?}",
            latencies.len(),
            percentile(latencies, 0.50),
            percentile(latencies, 0.99),
        );
    }
    assert!(record.failures.is_empty(), "{:?}", &record.failures[..record.failures.len().min(10)]);
    assert!(
        record.accepted_after_logout.is_empty(),
        "tokens accepted after their logout returned: {:?}",
        record.accepted_after_logout
    );
    assert!(record.sessions >= CLIENTS, "every client finished at least one session");
    assert!(record.renewals_used_elsewhere > 0, "no renewal crossed instances; the test is void");
}
