//! One specification for every revocation store: the same cases run against the in-memory store
//! and the Redis store (a real `redis-server` on loopback), so the two cannot come to mean
//! different things. What only one store has (Redis's expiry by its own clock, local answers,
//! failing closed) is tested in `redis.rs` and in the in-memory store's unit tests.

mod common;

use std::time::Duration;

use common::redis::RedisServer;
use common::unix_now;
use tower_sliding_jwt::revocation::{
    InMemoryRevocations, MIN_RETENTION, RedisRevocations, RevocationCheck, RevocationStatus,
};
use tower_sliding_jwt::{Claims, Issuer, JwtAuthLayer, ManualClock, RegisteredClaims};

/// What a store offers, whatever its calling convention.
trait Store {
    async fn revoke_token(&self, jti: &str, until: i64);
    async fn revoke_session(&self, sid: &str, until: i64);
    async fn revoke_subject(&self, sub: &str, started_before: i64, until: i64);
    async fn status(&self, claims: &RegisteredClaims) -> RevocationStatus;
}

impl Store for InMemoryRevocations {
    async fn revoke_token(&self, jti: &str, until: i64) {
        InMemoryRevocations::revoke_token(self, jti, until);
    }
    async fn revoke_session(&self, sid: &str, until: i64) {
        InMemoryRevocations::revoke_session(self, sid, until);
    }
    async fn revoke_subject(&self, sub: &str, started_before: i64, until: i64) {
        InMemoryRevocations::revoke_subject(self, sub, started_before, until);
    }
    async fn status(&self, claims: &RegisteredClaims) -> RevocationStatus {
        InMemoryRevocations::status(self, claims)
    }
}

impl Store for RedisRevocations {
    async fn revoke_token(&self, jti: &str, until: i64) {
        RedisRevocations::revoke_token(self, jti, until).await.unwrap();
    }
    async fn revoke_session(&self, sid: &str, until: i64) {
        RedisRevocations::revoke_session(self, sid, until).await.unwrap();
    }
    async fn revoke_subject(&self, sub: &str, started_before: i64, until: i64) {
        RedisRevocations::revoke_subject(self, sub, started_before, until).await.unwrap();
    }
    async fn status(&self, claims: &RegisteredClaims) -> RevocationStatus {
        RedisRevocations::status(self, claims).await.unwrap()
    }
}

/// An issuer on a clock of its own, starting now.
fn issuer() -> (Issuer, ManualClock) {
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder().hs256([7u8; 32]).issuer("app").clock(clock.clone());
    (layer.build().unwrap().issuer(), clock)
}

fn login(issuer: &Issuer, sub: &str) -> Claims {
    issuer.verify(&issuer.issue(sub, &()).unwrap().token).unwrap()
}

/// Every case, against one store. Each store answers through the layer's hook as it answers
/// directly.
async fn conformance<S: Store + RevocationCheck + Clone>(store: S) {
    let (issuer, clock) = issuer();
    let alice = login(&issuer, "alice");
    let bob = login(&issuer, "bob");
    let status = async |claims: &Claims| {
        let direct = store.status(claims.registered()).await;
        let hook = RevocationCheck::check(&store, claims.registered()).await.unwrap();
        assert_eq!(direct, hook, "the hook and the store agree");
        direct
    };
    assert_eq!(status(&alice).await, RevocationStatus::Active, "nothing revoked yet");

    // One token: that token only, not its successor (a new jti in the same session).
    clock.advance(Duration::from_secs(200));
    let renewed = issuer.renew(alice.token().as_str()).await.unwrap();
    let successor: Claims = issuer.verify(&renewed.token).unwrap();
    store.revoke_token(alice.token_id().unwrap(), issuer.revocation_until(&alice)).await;
    assert_eq!(status(&alice).await, RevocationStatus::Revoked);
    assert_eq!(status(&successor).await, RevocationStatus::Active, "its successor lives on");

    // The session: every token of it, renewals included; nobody else's.
    store
        .revoke_session(successor.session_id().unwrap(), issuer.revocation_until(&successor))
        .await;
    assert_eq!(status(&successor).await, RevocationStatus::Revoked);
    assert_eq!(status(&bob).await, RevocationStatus::Active, "another session");

    // A subject: the sessions that started before the moment, not those after.
    clock.advance(Duration::from_secs(10));
    let later_bob = login(&issuer, "bob");
    let started = bob.registered().session_start().unwrap();
    store.revoke_subject("bob", started, issuer.revocation_until(&later_bob)).await;
    assert_eq!(status(&bob).await, RevocationStatus::Revoked, "started before");
    assert_eq!(status(&later_bob).await, RevocationStatus::Active, "logged in again after");

    // A moment already past is kept for a while, not dropped at once.
    let carol = login(&issuer, "carol");
    store.revoke_session(carol.session_id().unwrap(), unix_now() - 3_600).await;
    assert_eq!(status(&carol).await, RevocationStatus::Revoked, "kept for {MIN_RETENTION:?}");
}

async fn the_in_memory_store_meets_the_specification() {
    conformance(InMemoryRevocations::new()).await;
}

async fn the_redis_store_meets_the_specification() {
    let Some(server) = RedisServer::start() else { return };
    let store = RedisRevocations::builder(&server.url()).build().unwrap();
    conformance(store).await;
}

async fn the_redis_store_with_local_answers_meets_the_specification() {
    let Some(server) = RedisServer::start() else { return };
    let store =
        RedisRevocations::builder(&server.url()).local_answers(Duration::from_secs(60)).build();
    conformance(store.unwrap()).await;
}

fn main() {
    use common::harness::{Needs, Runtime, run, trial};
    run(vec![
        trial(
            "the_in_memory_store_meets_the_specification",
            Needs::Nothing,
            Runtime::CurrentThread,
            the_in_memory_store_meets_the_specification,
        ),
        trial(
            "the_redis_store_meets_the_specification",
            Needs::Redis,
            Runtime::CurrentThread,
            the_redis_store_meets_the_specification,
        ),
        trial(
            "the_redis_store_with_local_answers_meets_the_specification",
            Needs::Redis,
            Runtime::CurrentThread,
            the_redis_store_with_local_answers_meets_the_specification,
        ),
    ]);
}
