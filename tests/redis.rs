//! Logout across a fleet: the Redis revocation store against a real `redis-server` on 127.0.0.1,
//! started by each test on a free port (so it can be stopped and restarted mid-test), over TLS,
//! and on a three-master Redis Cluster.
//!
//! Without `redis-server` installed these tests are skipped with a message, unless
//! `REQUIRE_REDIS` is set, as `.ci/run` does; then a missing server is a failure.

mod common;

use std::time::{Duration, Instant};

use common::redis::{RedisCluster, RedisServer, StandIn};
use common::{Example, challenge, claims_of, example_issuer, unix_now};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tower_sliding_jwt::revocation::{RedisRevocations, RevocationStatus};

const SECRET: &str = "redis-tests-secret-of-at-least-32-bytes";

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

    /// `GET /health`: the layer's readiness.
    async fn health(&self) -> StatusCode {
        self.http.get(format!("{}/health", self.base)).send().await.unwrap().status()
    }

    async fn logout(&self, token: &str) -> StatusCode {
        self.logout_response(token).await.status()
    }

    async fn logout_response(&self, token: &str) -> reqwest::Response {
        self.http.post(format!("{}/logout", self.base)).bearer_auth(token).send().await.unwrap()
    }
}

async fn revoke_by_jti_and_by_sid_and_entries_expire_by_themselves() {
    let Some(redis) = RedisServer::start() else { return };
    let server = instance(&redis);

    // One token, by its jti.
    let token = server.login().await;
    assert_eq!(server.mine(&token).await.status(), StatusCode::OK);
    let claims = claims_of(&token);
    let jti = claims["jti"].as_str().unwrap();
    let (issuer, _) = example_issuer(SECRET, unix_now());
    let verified = issuer.verify::<Value>(&token).unwrap();
    server.store.revoke_token(jti, issuer.revocation_until(&verified)).await.unwrap();
    let refused = server.mine(&token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&refused).contains("revoked"));
    // Kept past the last moment the token can be accepted: its session limit (here beyond its
    // `exp`), plus the 5 s leeway, plus a minute for Redis's clock.
    let ttl = redis.ttl(&format!("tsj:revoked:jti:{jti}")).await;
    assert!((86_400 + 60..=86_400 + 65).contains(&ttl), "the jti entry: {ttl}");

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
    let session_end_in = claims_of(&first)["auth_time"].as_i64().unwrap() + 86_400 - unix_now();
    assert!(
        (session_end_in + 60..=session_end_in + 65).contains(&ttl),
        "the sid entry outlives the session limit by the leeway and a margin: {ttl} vs {session_end_in}"
    );
    // Another session of the same user is not affected.
    assert_eq!(server.mine(&server.login().await).await.status(), StatusCode::OK);
}

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

async fn redis_down_fails_closed_and_service_recovers() {
    let Some(mut redis) = RedisServer::start() else { return };
    let server = instance(&redis);
    let token = server.login().await;
    assert_eq!(server.mine(&token).await.status(), StatusCode::OK);
    assert_eq!(server.health().await, StatusCode::OK);

    redis.stop();
    assert_eq!(server.health().await, StatusCode::SERVICE_UNAVAILABLE, "not ready: Redis is down");
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
    assert_eq!(server.health().await, StatusCode::OK, "ready again");
    // And revocations work again.
    assert_eq!(server.logout(&token).await, StatusCode::OK);
    assert_eq!(server.mine(&token).await.status(), StatusCode::UNAUTHORIZED);
}

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

/// The claims of a token with a `jti`, a `sid` and a `sub`, as the layer hands them to the store.
fn registered(token: &str) -> tower_sliding_jwt::RegisteredClaims {
    let (issuer, _) = example_issuer(SECRET, unix_now());
    issuer.verify::<Value>(token).unwrap().registered().clone()
}

async fn a_cluster_store_asks_each_key_of_the_node_that_holds_it() {
    let Some(cluster) = RedisCluster::start() else { return };
    let token = logged_in(0);
    let claims = registered(&token);
    let keys = ["jti", "sid", "sub"].map(|kind| {
        let id = claims_of(&token)[kind].as_str().unwrap().to_owned();
        format!("tsj:revoked:{kind}:{id}")
    });
    let slots: std::collections::HashSet<u16> = keys.iter().map(|k| cluster.keyslot(k)).collect();
    assert!(slots.len() > 1, "the token's keys share a slot; the test would prove nothing");

    // One node asked as a single server: the three-key question spans slots.
    let single = RedisRevocations::connect(&cluster.urls()[0]).unwrap();
    assert!(single.status(&claims).await.is_err(), "CROSSSLOT (or MOVED) from a single node");

    let store = RedisRevocations::cluster(cluster.urls()).build().unwrap();
    assert_eq!(store.status(&claims).await.unwrap(), RevocationStatus::Active);
    let sid = claims.session_id().unwrap();
    store.revoke_session(sid, unix_now() + 60).await.unwrap();
    assert_eq!(store.status(&claims).await.unwrap(), RevocationStatus::Revoked);
    // Another session of the same user is untouched; then a cut for the user ends it too.
    let other = registered(&logged_in(0));
    assert_eq!(store.status(&other).await.unwrap(), RevocationStatus::Active);
    store.revoke_subject("2", unix_now(), unix_now() + 60).await.unwrap();
    assert_eq!(store.status(&other).await.unwrap(), RevocationStatus::Revoked);
}

async fn a_cluster_store_built_while_the_cluster_is_down_fails_closed_then_connects() {
    let Some(mut cluster) = RedisCluster::start() else { return };
    let urls = cluster.urls();
    for node in &mut cluster.nodes {
        node.stop();
    }
    let store =
        RedisRevocations::cluster(urls).timeout(Duration::from_millis(300)).build().unwrap();
    let claims = registered(&logged_in(0));
    assert!(store.status(&claims).await.is_err(), "fail closed");
    for node in &mut cluster.nodes {
        node.restart();
    }
    // The nodes reload their slot map from their config files; wait for the cluster to agree.
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.status(&claims).await.is_err() {
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn rediss_with_the_servers_certificate_trusted() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let certificate = certified.cert.pem();
    let Some(redis) = RedisServer::start_tls(&certificate, &certified.signing_key.serialize_pem())
    else {
        return;
    };
    let claims = registered(&logged_in(0));

    let store = RedisRevocations::builder(&redis.url())
        .root_certificates_pem(certificate.clone())
        .build()
        .unwrap();
    assert_eq!(store.status(&claims).await.unwrap(), RevocationStatus::Active);
    store.revoke_session(claims.session_id().unwrap(), unix_now() + 60).await.unwrap();
    assert_eq!(store.status(&claims).await.unwrap(), RevocationStatus::Revoked);

    // Without the certificate trusted, the handshake fails and the store fails closed.
    let untrusted = RedisRevocations::connect(&redis.url()).unwrap();
    let refused = untrusted.status(&claims).await.unwrap_err();
    assert!(!format!("{refused:?}").contains(claims.session_id().unwrap()), "{refused:?}");
    // And plain text to the TLS port gets nowhere either.
    let plain = redis.url().replace("rediss://localhost", "redis://127.0.0.1");
    assert!(RedisRevocations::connect(&plain).unwrap().status(&claims).await.is_err());
}

async fn a_store_on_the_applications_own_connection() {
    let Some(redis) = RedisServer::start() else { return };
    let client = redis::Client::open(redis.url()).unwrap();
    let connection = client.get_multiplexed_async_connection().await.unwrap();
    let store = RedisRevocations::from_connection(connection).with_prefix("app:");
    let claims = registered(&logged_in(0));
    store.revoke_session(claims.session_id().unwrap(), unix_now() + 60).await.unwrap();
    assert_eq!(store.status(&claims).await.unwrap(), RevocationStatus::Revoked);
    let sid = claims.session_id().unwrap();
    assert!(redis.ttl(&format!("app:sid:{sid}")).await > 0, "under the chosen prefix");
}

/// DPoP proofs across a fleet (RFC 9449 section 11.1): two instances share the Redis replay
/// store, so a proof used on one is refused on the other; the entry expires by itself once the
/// proof could no longer be accepted; and with Redis down, proofs are refused with 503, never
/// let through unchecked.
async fn a_dpop_proof_used_on_one_instance_is_refused_by_the_other() {
    use http::Request;
    use tower::{Layer as _, ServiceExt as _};
    use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};

    let Some(mut redis) = RedisServer::start() else { return };
    let store = RedisRevocations::connect(&redis.url()).unwrap();
    let instance = || {
        let policy =
            DpopPolicy::new().public_origin("https://api.example").replay_store(store.clone());
        JwtAuthLayer::builder().hs256(SECRET).dpop(policy).build().unwrap()
    };
    let (a, b) = (instance(), instance());
    let key = DpopTestKey::new();
    let tokens = TokenFactory::for_layer(&a);
    let token = tokens.bound("alice", &(), &key).unwrap();
    let inner = tower::service_fn(|_: Request<()>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(()))
    });
    let send = |layer: &JwtAuthLayer, request: Request<()>| layer.layer(inner).oneshot(request);

    let first = tokens.dpop_request(Request::get("/orders"), &token, &key).body(()).unwrap();
    let mut replayed = Request::get("/orders").body(()).unwrap();
    *replayed.headers_mut() = first.headers().clone();
    assert_eq!(send(&a, first).await.unwrap().status(), 200);
    let refused = send(&b, replayed).await.unwrap();
    assert_eq!(refused.status(), 401, "the proof was used on the other instance");
    let challenges: Vec<_> = refused.headers().get_all("www-authenticate").iter().collect();
    assert!(format!("{challenges:?}").contains("used before"), "{challenges:?}");
    let fresh = tokens.dpop_request(Request::get("/orders"), &token, &key).body(()).unwrap();
    assert_eq!(send(&b, fresh).await.unwrap().status(), 200, "a new proof is welcome");

    let keys = redis.keys("tsj:revoked:dpop:*").await;
    assert_eq!(keys.len(), 2, "one entry per proof, under the store's prefix: {keys:?}");
    let ttl = redis.ttl(&keys[0]).await;
    // The proof's window (60 s) and leeway (5 s), and the store's clock margin (60 s).
    assert!((100..=125).contains(&ttl), "kept as long as the proof could be accepted: {ttl}");

    redis.stop();
    let started = Instant::now();
    let request = tokens.dpop_request(Request::get("/orders"), &token, &key).body(()).unwrap();
    let response = send(&a, request).await.unwrap();
    assert_eq!(response.status(), 503, "fail closed, never a silent pass");
    assert!(started.elapsed() < Duration::from_secs(3), "refused within the timeout, not hung");
}

/// How many `MGET`s the server has run.
async fn mgets(redis: &RedisServer) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let info: String =
        redis::cmd("INFO").arg("commandstats").query_async(&mut connection).await.unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_mget:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

/// Check `claims` on `store` until it answers `Revoked`; how long that took.
async fn until_revoked(
    store: &RedisRevocations,
    claims: &tower_sliding_jwt::RegisteredClaims,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if store.status(claims).await.ok() == Some(RevocationStatus::Revoked) {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still not revoked after {limit:?}");
        // Let the connection's reader take in the invalidation push.
        tokio::task::yield_now().await;
    }
}

async fn local_answers_skip_the_round_trip_and_a_logout_elsewhere_reaches_them_in_a_push() {
    let Some(redis) = RedisServer::start() else { return };
    let claims = registered(&logged_in(0));
    let exact = RedisRevocations::connect(&redis.url()).unwrap();
    // Answers may be kept for 30 s: anything faster than that is Redis's invalidation push.
    let local = RedisRevocations::builder(&redis.url())
        .local_answers(Duration::from_secs(30))
        .build()
        .unwrap();

    assert_eq!(local.status(&claims).await.unwrap(), RevocationStatus::Active);
    let before = mgets(&redis).await;
    for _ in 0..100 {
        assert_eq!(local.status(&claims).await.unwrap(), RevocationStatus::Active);
    }
    assert_eq!(mgets(&redis).await, before, "answered from local memory");

    // A logout on another instance: the window until this one refuses.
    exact.revoke_session(claims.session_id().unwrap(), unix_now() + 60).await.unwrap();
    let window = until_revoked(&local, &claims, Duration::from_secs(5)).await;
    println!("logout elsewhere to refused here: {window:?}");
    assert!(window < Duration::from_secs(1), "{window:?}");
}

/// The local answers are counted: a miss fills them, then hits.
async fn local_answers_are_counted_as_hits_and_misses() {
    use metrics_util::debugging::DebuggingRecorder;
    use tower_sliding_jwt::metrics::REVOCATION_LOCAL_ANSWERS;

    let Some(redis) = RedisServer::start() else { return };
    let recorder = DebuggingRecorder::new();
    let snapshots = recorder.snapshotter();
    // On this one thread (the runtime has no other), for the rest of the test.
    let _recording = metrics::set_default_local_recorder(&recorder);
    let claims = registered(&logged_in(0));
    let local = RedisRevocations::builder(&redis.url())
        .local_answers(Duration::from_secs(30))
        .build()
        .unwrap();
    for _ in 0..10 {
        assert_eq!(local.status(&claims).await.unwrap(), RevocationStatus::Active);
    }
    // One snapshot: taking one drains the counters.
    let series = common::metrics_series(&snapshots);
    let counted =
        |result: &str| series.get(&format!("{REVOCATION_LOCAL_ANSWERS}{{result={result}}}"));
    assert_eq!(counted("miss"), Some(&1.0), "the first fills them");
    assert_eq!(counted("hit"), Some(&9.0));
}

async fn local_answers_are_dropped_with_a_lost_connection() {
    let Some(mut redis) = RedisServer::start() else { return };
    let claims = registered(&logged_in(0));
    let local = RedisRevocations::builder(&redis.url())
        .local_answers(Duration::from_secs(30))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(local.status(&claims).await.unwrap(), RevocationStatus::Active);

    // The connection is cut, and the session revoked while this instance cannot hear of it.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut side = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
        .query_async(&mut side)
        .await
        .unwrap();
    let key = format!("tsj:revoked:sid:{}", claims.session_id().unwrap());
    let _: () =
        redis::cmd("SET").arg(&key).arg(1).arg("EX").arg(60).query_async(&mut side).await.unwrap();
    // The answers from before the cut are not used again: it asks Redis, well before 30 s.
    let window = until_revoked(&local, &claims, Duration::from_secs(5)).await;
    println!("lost connection to fresh answer: {window:?}");

    // Redis gone: fail closed, never a remembered answer.
    redis.stop();
    let started = Instant::now();
    while local.status(&claims).await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(5), "still answering without Redis");
        tokio::task::yield_now().await;
    }
}

async fn local_answers_are_for_a_single_server() {
    let refused = RedisRevocations::cluster(["redis://127.0.0.1:7000/"])
        .local_answers(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(refused.to_string().contains("single Redis server"), "{refused}");
}

/// A session whose last token ends exactly at its limit: the logout must outlive that token's
/// `exp` by the leeway (it is accepted until then), and by a margin for Redis's clock.
async fn a_logout_outlives_every_token_it_covers() {
    let Some(redis) = RedisServer::start() else { return };
    let process = Example::start(
        "server",
        &[("JWT_SECRET", SECRET), ("REDIS_URL", &redis.url()), ("MAX_SESSION_SECS", "300")],
    );
    let server = Instance {
        base: process.base.clone(),
        store: RedisRevocations::connect(&redis.url()).unwrap(),
        http: Client::new(),
        _process: process,
    };
    let token = server.login().await;
    let claims = claims_of(&token);
    let exp = claims["exp"].as_i64().unwrap();
    assert_eq!(exp, claims["auth_time"].as_i64().unwrap() + 300, "the last token of its session");
    assert_eq!(server.logout(&token).await, StatusCode::OK);
    let sid = claims["sid"].as_str().unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let expires: i64 = redis::cmd("EXPIRETIME")
        .arg(format!("tsj:revoked:sid:{sid}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        expires >= exp + 5 + 60,
        "kept until {expires}, the token is accepted until {}",
        exp + 5
    );
}

/// A revocation asked to end at a moment already past is kept for the minimum retention, never
/// silently dropped (the caller believes the token revoked).
async fn a_revocation_whose_moment_has_passed_is_kept_a_while() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisRevocations::connect(&redis.url()).unwrap();
    let claims = registered(&logged_in(0));
    store.revoke_session(claims.session_id().unwrap(), unix_now() - 3_600).await.unwrap();
    assert_eq!(store.status(&claims).await.unwrap(), RevocationStatus::Revoked);
    let ttl = redis.ttl(&format!("tsj:revoked:sid:{}", claims.session_id().unwrap())).await;
    assert!((295..=300).contains(&ttl), "{ttl}");
}

/// A handler that revokes the session but forgets to opt out of renewal: the layer asks the
/// store again before it signs, and the logout response carries no successor.
async fn a_session_ended_during_the_request_gets_no_successor() {
    let Some(redis) = RedisServer::start() else { return };
    let server = instance(&redis);
    let token = logged_in(200);
    let renewing = server.mine(&token).await;
    assert!(renewing.headers().contains_key("x-refreshed-token"), "in the renewal window");
    let response = server.logout_response(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key("x-refreshed-token"));
    for cookie in response.headers().get_all("set-cookie") {
        assert!(cookie.to_str().unwrap().starts_with("token=;"), "only the clearing cookie");
    }
}

/// Replies of the wrong shape (fewer values than keys, nil, an empty array) cannot mean "not
/// revoked": the demo answers 503, never 200.
async fn a_reply_of_the_wrong_shape_fails_closed() {
    let replies: [&'static [u8]; 4] = [b"*0\r\n", b"$-1\r\n", b"*1\r\n$-1\r\n", b"+OK\r\n"];
    for reply in replies {
        let fake = StandIn::answering_mget(reply).await;
        let process =
            Example::start("server", &[("JWT_SECRET", SECRET), ("REDIS_URL", &fake.url())]);
        let response = Client::new()
            .get(format!("{}/mine", process.base))
            .bearer_auth(logged_in(0))
            .send()
            .await
            .unwrap();
        let shown = String::from_utf8_lossy(reply).escape_debug().to_string();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "MGET answered {shown}");
    }
}

/// Thousands of checks race revocations made on another connection. Once the last
/// revocation's push has reached the store (a sentinel revoked after all the others, whose
/// invalidation comes after theirs on the same connection), no revoked session is answered
/// "active" from local memory.
async fn local_answers_never_outlive_a_delivered_revocation(
    url: &str,
    redis: &RedisServer,
    pairs: usize,
) {
    let local = RedisRevocations::builder(url)
        .local_answers(Duration::from_secs(60))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let exact =
        RedisRevocations::builder(&redis.url()).timeout(Duration::from_secs(5)).build().unwrap();
    let (issuer, _) = example_issuer(SECRET, unix_now());
    let sessions: Vec<_> =
        (0..pairs).map(|_| registered(&issuer.issue("2", &json!({})).unwrap().token)).collect();
    let sentinel = registered(&issuer.issue("3", &json!({})).unwrap().token);
    assert_eq!(local.status(&sentinel).await.unwrap(), RevocationStatus::Active);
    let until = unix_now() + 600;
    let mut tasks = tokio::task::JoinSet::new();
    for claims in sessions.clone() {
        let (local, exact) = (local.clone(), exact.clone());
        tasks.spawn(async move {
            let check = local.status(&claims);
            let revoke = exact.revoke_session(claims.session_id().unwrap(), until);
            let (checked, revoked) = tokio::join!(check, revoke);
            checked.unwrap();
            revoked.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    exact.revoke_session(sentinel.session_id().unwrap(), until).await.unwrap();
    until_revoked(&local, &sentinel, Duration::from_secs(10)).await;
    let mut checks = tokio::task::JoinSet::new();
    for claims in sessions {
        let local = local.clone();
        checks.spawn(async move { local.status(&claims).await.unwrap() });
    }
    let mut active = 0;
    while let Some(status) = checks.join_next().await {
        active += usize::from(status.unwrap() == RevocationStatus::Active);
    }
    assert_eq!(active, 0, "{active} of {pairs} revoked sessions still answered active");
}

async fn local_answers_never_miss_a_revocation_that_races_their_fill() {
    let Some(redis) = RedisServer::start() else { return };
    for _ in 0..3 {
        local_answers_never_outlive_a_delivered_revocation(&redis.url(), &redis, 2_000).await;
    }
}

async fn local_answers_behind_a_slow_link_never_miss_a_revocation() {
    let Some(redis) = RedisServer::start() else { return };
    // Answers and pushes come back late: the fill races the revocation for longer.
    let proxy = common::proxy::FaultProxy::start(redis.port).await;
    proxy.delay_replies(Duration::from_millis(3));
    for _ in 0..3 {
        local_answers_never_outlive_a_delivered_revocation(&proxy.redis_url(), &redis, 2_000).await;
    }
}

fn main() {
    use common::harness::{Needs, Runtime, run, trial};
    run(vec![
        trial(
            "revoke_by_jti_and_by_sid_and_entries_expire_by_themselves",
            Needs::Redis,
            Runtime::CurrentThread,
            revoke_by_jti_and_by_sid_and_entries_expire_by_themselves,
        ),
        trial(
            "a_logout_on_one_instance_is_refused_by_the_other",
            Needs::Redis,
            Runtime::CurrentThread,
            a_logout_on_one_instance_is_refused_by_the_other,
        ),
        trial(
            "redis_down_fails_closed_and_service_recovers",
            Needs::Redis,
            Runtime::CurrentThread,
            redis_down_fails_closed_and_service_recovers,
        ),
        trial(
            "a_store_created_while_redis_is_down_connects_later",
            Needs::Redis,
            Runtime::CurrentThread,
            a_store_created_while_redis_is_down_connects_later,
        ),
        trial(
            "a_cluster_store_asks_each_key_of_the_node_that_holds_it",
            Needs::Redis,
            Runtime::CurrentThread,
            a_cluster_store_asks_each_key_of_the_node_that_holds_it,
        ),
        trial(
            "a_cluster_store_built_while_the_cluster_is_down_fails_closed_then_connects",
            Needs::Redis,
            Runtime::CurrentThread,
            a_cluster_store_built_while_the_cluster_is_down_fails_closed_then_connects,
        ),
        trial(
            "rediss_with_the_servers_certificate_trusted",
            Needs::Redis,
            Runtime::CurrentThread,
            rediss_with_the_servers_certificate_trusted,
        ),
        trial(
            "a_dpop_proof_used_on_one_instance_is_refused_by_the_other",
            Needs::Redis,
            Runtime::CurrentThread,
            a_dpop_proof_used_on_one_instance_is_refused_by_the_other,
        ),
        trial(
            "a_store_on_the_applications_own_connection",
            Needs::Redis,
            Runtime::CurrentThread,
            a_store_on_the_applications_own_connection,
        ),
        trial(
            "local_answers_skip_the_round_trip_and_a_logout_elsewhere_reaches_them_in_a_push",
            Needs::Redis,
            Runtime::MultiThread,
            local_answers_skip_the_round_trip_and_a_logout_elsewhere_reaches_them_in_a_push,
        ),
        trial(
            "local_answers_are_counted_as_hits_and_misses",
            Needs::Redis,
            Runtime::CurrentThread,
            local_answers_are_counted_as_hits_and_misses,
        ),
        trial(
            "local_answers_are_for_a_single_server",
            Needs::Nothing,
            Runtime::CurrentThread,
            local_answers_are_for_a_single_server,
        ),
        trial(
            "local_answers_are_dropped_with_a_lost_connection",
            Needs::Redis,
            Runtime::MultiThread,
            local_answers_are_dropped_with_a_lost_connection,
        ),
        trial(
            "a_logout_outlives_every_token_it_covers",
            Needs::Redis,
            Runtime::CurrentThread,
            a_logout_outlives_every_token_it_covers,
        ),
        trial(
            "a_revocation_whose_moment_has_passed_is_kept_a_while",
            Needs::Redis,
            Runtime::CurrentThread,
            a_revocation_whose_moment_has_passed_is_kept_a_while,
        ),
        trial(
            "a_session_ended_during_the_request_gets_no_successor",
            Needs::Redis,
            Runtime::CurrentThread,
            a_session_ended_during_the_request_gets_no_successor,
        ),
        trial(
            "a_reply_of_the_wrong_shape_fails_closed",
            Needs::Redis,
            Runtime::CurrentThread,
            a_reply_of_the_wrong_shape_fails_closed,
        ),
        trial(
            "local_answers_never_miss_a_revocation_that_races_their_fill",
            Needs::Redis,
            Runtime::MultiThread,
            local_answers_never_miss_a_revocation_that_races_their_fill,
        ),
        trial(
            "local_answers_behind_a_slow_link_never_miss_a_revocation",
            Needs::Redis,
            Runtime::MultiThread,
            local_answers_behind_a_slow_link_never_miss_a_revocation,
        ),
    ]);
}
