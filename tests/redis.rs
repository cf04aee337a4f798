//! Logout across a fleet: the Redis revocation store against a real `redis-server` on 127.0.0.1,
//! started by each test on a free port (so it can be stopped and restarted mid-test).
//!
//! Without `redis-server` installed these tests are skipped with a message, unless
//! `REQUIRE_REDIS` is set, as `.ci/run` does; then a missing server is a failure.

mod common;

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Example, challenge, claims_of, example_issuer, unix_now};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tower_sliding_jwt::revocation::RedisRevocations;

const SECRET: &str = "redis-tests-secret-of-at-least-32-bytes";

struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    fn start() -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("REQUIRE_REDIS").is_none(),
                "REQUIRE_REDIS is set but redis-server is not installed"
            );
            eprintln!(
                "skipping: redis-server is not installed (set REQUIRE_REDIS=1 to make this an error)"
            );
            return None;
        }
        let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { child: None, port };
        server.restart();
        Some(server)
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Seconds until `key` expires.
    async fn ttl(&self, key: &str) -> i64 {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("TTL").arg(key).query_async(&mut connection).await.unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One instance of the demo server (its own process) on the shared Redis, and a store of the
/// test's own on the same Redis.
struct Instance {
    base: String,
    store: RedisRevocations,
    http: Client,
    _process: Example,
}

fn instance(redis: &RedisServer) -> Instance {
    let process = Example::start("server", &[("JWT_SECRET", SECRET), ("REDIS_URL", &redis.url())]);
    let store = RedisRevocations::connect(&redis.url()).unwrap();
    Instance { base: process.base.clone(), store, http: Client::new(), _process: process }
}

/// alice's token, as the server would have issued it at login `age` seconds ago.
fn logged_in(age: i64) -> String {
    let (issuer, _) = example_issuer(SECRET, unix_now() - age);
    issuer.issue("2", &json!({ "user_id": 2, "username": "alice" })).unwrap().token
}

impl Instance {
    async fn login(&self) -> String {
        let response = self
            .http
            .post(format!("{}/auth", self.base))
            .json(&json!({ "user": "alice", "password": "wonderland" }))
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    async fn mine(&self, token: &str) -> reqwest::Response {
        self.http.get(format!("{}/mine", self.base)).bearer_auth(token).send().await.unwrap()
    }

    async fn update_token(&self, token: &str) -> StatusCode {
        let url = format!("{}/update/token", self.base);
        self.http.get(url).bearer_auth(token).send().await.unwrap().status()
    }

    async fn logout(&self, token: &str) -> StatusCode {
        self.http
            .post(format!("{}/logout", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn revoke_by_jti_and_by_sid_and_entries_expire_by_themselves() {
    let Some(redis) = RedisServer::start() else { return };
    let server = instance(&redis);

    // One token, by its jti.
    let token = server.login().await;
    assert_eq!(server.mine(&token).await.status(), StatusCode::OK);
    let claims = claims_of(&token);
    let jti = claims["jti"].as_str().unwrap();
    server.store.revoke_token(jti, claims["exp"].as_i64().unwrap()).await.unwrap();
    let refused = server.mine(&token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&refused).contains("revoked"));
    let ttl = redis.ttl(&format!("tsj:revoked:jti:{jti}")).await;
    assert!((295..=300).contains(&ttl), "the jti entry lives until the token's exp: {ttl}");

    // A whole session, by its sid: the token, its renewal, everything after.
    let first = logged_in(200);
    let response = server.mine(&first).await;
    let renewed = response.headers()["x-refreshed-token"].to_str().unwrap().to_owned();
    assert_eq!(server.logout(&renewed).await, StatusCode::OK);
    for token in [&first, &renewed] {
        let refused = server.mine(token).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(challenge(&refused).contains("revoked"));
    }
    let sid = claims_of(&first)["sid"].as_str().unwrap().to_owned();
    let ttl = redis.ttl(&format!("tsj:revoked:sid:{sid}")).await;
    let cap_in = claims_of(&first)["auth_time"].as_i64().unwrap() + 86_400 - unix_now();
    assert!(
        (cap_in - 5..=cap_in).contains(&ttl),
        "the sid entry lives until the session cap: {ttl} vs {cap_in}"
    );
    // Another session of the same user is not affected.
    assert_eq!(server.mine(&server.login().await).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_logout_on_one_instance_is_refused_by_the_other() {
    let Some(redis) = RedisServer::start() else { return };
    let a = instance(&redis);
    let b = instance(&redis);
    let token = a.login().await;
    assert_eq!(b.mine(&token).await.status(), StatusCode::OK, "one secret: tokens work on both");
    assert_eq!(a.logout(&token).await, StatusCode::OK);
    let refused = b.mine(&token).await;
    assert_eq!(
        refused.status(),
        StatusCode::UNAUTHORIZED,
        "the very next request on the other instance"
    );
    assert!(challenge(&refused).contains("revoked"));
    assert_eq!(b.update_token(&token).await, StatusCode::UNAUTHORIZED, "no explicit renewal");
}

#[tokio::test]
async fn redis_down_fails_closed_and_service_recovers() {
    let Some(mut redis) = RedisServer::start() else { return };
    let server = instance(&redis);
    let token = server.login().await;
    assert_eq!(server.mine(&token).await.status(), StatusCode::OK);

    redis.stop();
    let started = Instant::now();
    let response = server.mine(&token).await;
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "fail closed, never a silent pass"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "refused within the timeout, not hung");
    assert!(response.headers().get("x-refreshed-token").is_none());
    assert_eq!(
        server.logout(&token).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "a logout that cannot be stored says so"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = server.mine(&token).await.status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "the service did not recover after Redis came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And revocations work again.
    assert_eq!(server.logout(&token).await, StatusCode::OK);
    assert_eq!(server.mine(&token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_store_created_while_redis_is_down_connects_later() {
    let Some(mut redis) = RedisServer::start() else { return };
    redis.stop();
    let server = instance(&redis);
    let token = logged_in(0);
    assert_eq!(server.mine(&token).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.mine(&token).await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
