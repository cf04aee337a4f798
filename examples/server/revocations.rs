//! Where logouts are remembered: Redis when `REDIS_URL` is set (every instance sees them), this
//! process otherwise.

use tower_sliding_jwt::error::RevocationError;
use tower_sliding_jwt::revocation::{
    InMemoryRevocations, ProbeFuture, RedisRevocations, RevocationCheck, RevocationFuture,
};
use tower_sliding_jwt::{ManualClock, RegisteredClaims};

/// The store of the settings.
#[derive(Clone)]
pub enum Revocations {
    Memory(InMemoryRevocations),
    Redis(RedisRevocations),
}

impl Revocations {
    /// From the settings; must be called inside a Tokio runtime (Redis connects lazily). The
    /// in-memory store expires its entries by the server's clock (Redis by its own).
    pub fn new(
        redis_url: Option<&str>,
        clock: Option<&ManualClock>,
    ) -> Result<Revocations, String> {
        match (redis_url, clock) {
            (Some(url), _) => {
                RedisRevocations::connect(url).map(Revocations::Redis).map_err(|e| e.to_string())
            }
            (None, Some(clock)) => {
                Ok(Revocations::Memory(InMemoryRevocations::with_clock(clock.clone())))
            }
            (None, None) => Ok(Revocations::Memory(InMemoryRevocations::new())),
        }
    }

    pub async fn revoke_session(&self, sid: &str, until: i64) -> Result<(), RevocationError> {
        match self {
            Revocations::Memory(memory) => {
                memory.revoke_session(sid, until);
                Ok(())
            }
            Revocations::Redis(redis) => redis.revoke_session(sid, until).await,
        }
    }
}

impl RevocationCheck for Revocations {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        match self {
            Revocations::Memory(memory) => memory.check(claims),
            Revocations::Redis(redis) => redis.check(claims),
        }
    }

    fn probe(&self) -> ProbeFuture {
        match self {
            Revocations::Memory(memory) => memory.probe(),
            Revocations::Redis(redis) => redis.probe(),
        }
    }
}
