//! Revocation that holds across a fleet: a Redis-backed store (feature `redis`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::check::{RevocationCheck, RevocationFuture, RevocationStatus};
use crate::claims::RegisteredClaims;
use crate::error::RevocationError;

/// Revoked tokens, sessions and subjects in Redis, shared by every instance of a service.
///
/// - [`revoke_session`](RedisRevocations::revoke_session) (logout) refuses a whole sliding chain:
///   the token, every renewal already sent, every renewal to come. Its entry expires by itself at
///   the session cap, when no token of the session can be valid any more.
/// - [`revoke_token`](RedisRevocations::revoke_token) refuses one `jti`, until its `exp`.
/// - [`revoke_subject`](RedisRevocations::revoke_subject) refuses the sessions of a user that
///   began before a time (a password change, a locked account).
///
/// Checking a token is one round trip (`MGET` of its `jti`, `sid` and `sub` entries), bounded by a
/// timeout (250 ms by default). If Redis cannot answer, the layer fails closed as
/// [`RevocationFailure`](crate::revocation::RevocationFailure) says (503 by default), never letting the
/// request through; the connection manager reconnects in the background, and requests succeed
/// again as soon as Redis is back. Nothing is cached locally, so a logout on one instance is
/// refused by every other one from the very next request.
///
/// ```no_run
/// use tower_sliding_jwt::{Claims, Issuer, JwtAuthLayer};
/// use tower_sliding_jwt::revocation::{RedisRevocations, RevocationError};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let revocations = RedisRevocations::connect("redis://127.0.0.1/")?;
/// let layer = JwtAuthLayer::builder()
///     .hs256(std::env::var("JWT_SECRET")?)
///     .revocation(revocations.clone())
///     .build()?;
/// # Ok(()) }
///
/// /// A logout handler's work: end the caller's session on every instance.
/// async fn logout(
///     revocations: &RedisRevocations,
///     issuer: &Issuer,
///     claims: &Claims,
/// ) -> Result<(), RevocationError> {
///     let until = issuer.session_expires_at(claims.registered()).unwrap_or(claims.expires_at());
///     revocations.revoke_session(claims.session_id().unwrap_or_default(), until).await
/// }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
}

impl RedisRevocations {
    /// A store at `url` (`redis://host:port/db`), with the default key prefix `tsj:revoked:`
    /// and a 250 ms timeout. It connects lazily, so it can be created while Redis is down; it
    /// must be created inside a Tokio runtime.
    pub fn connect(url: &str) -> Result<RedisRevocations, RevocationError> {
        RedisRevocations::connect_with_timeout(url, Duration::from_millis(250))
    }

    /// [`connect`](RedisRevocations::connect) with another timeout for each check and
    /// revocation (connection attempts included).
    pub fn connect_with_timeout(
        url: &str,
        timeout: Duration,
    ) -> Result<RedisRevocations, RevocationError> {
        let client = redis::Client::open(url).map_err(|e| error("invalid Redis URL", &e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(2));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| error("cannot create the Redis connection manager", &e))?;
        Ok(RedisRevocations { connection, prefix: Arc::from("tsj:revoked:"), timeout })
    }

    /// Another key prefix (to share one Redis between services).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisRevocations {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// Revoke one token by its `jti`, until `expires_at` (the token's `exp`). Renewals already
    /// handed out have other `jti`s and stay valid: revoke the session (`sid`) to end a login.
    pub async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), RevocationError> {
        self.set(self.key("jti", jti), 1, expires_at).await
    }

    /// Revoke a session and all its renewals by `sid`, until `until` (the session cap, see
    /// [`Issuer::session_expires_at`](crate::Issuer::session_expires_at)).
    pub async fn revoke_session(&self, sid: &str, until: i64) -> Result<(), RevocationError> {
        self.set(self.key("sid", sid), 1, until).await
    }

    /// Revoke every session of `sub` that began at or before `started_before`, until `until`.
    pub async fn revoke_subject(
        &self,
        sub: &str,
        started_before: i64,
        until: i64,
    ) -> Result<(), RevocationError> {
        self.set(self.key("sub", sub), started_before, until).await
    }

    /// Whether the token with these claims is revoked: one round trip.
    pub async fn status(
        &self,
        claims: &RegisteredClaims,
    ) -> Result<RevocationStatus, RevocationError> {
        self.check(claims).await
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// `SET key value EXAT until`; nothing to do for an entry that has already lapsed.
    async fn set(&self, key: String, value: i64, until: i64) -> Result<(), RevocationError> {
        if until <= unix_now() {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        let command = async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("EXAT")
                .arg(until)
                .query_async::<()>(&mut connection)
                .await
        };
        match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(error("Redis refused the revocation", &e)),
            Err(_) => Err(RevocationError::new("Redis did not answer in time")),
        }
    }
}

impl RevocationCheck for RedisRevocations {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let jti = claims.jti.as_ref().map(|jti| self.key("jti", jti));
        let sid = claims.sid.as_ref().map(|sid| self.key("sid", sid));
        let sub = claims.sub.as_ref().map(|sub| self.key("sub", sub));
        let keys: Vec<&String> = [&jti, &sid, &sub].into_iter().flatten().collect();
        if keys.is_empty() {
            return RevocationFuture::ready(Ok(RevocationStatus::Active));
        }
        let command = redis::cmd("MGET").arg(keys).clone();
        let session_start = claims.session_start();
        let subject_at = [&jti, &sid].iter().filter(|key| key.is_some()).count();
        let has_subject = sub.is_some();
        let mut connection = self.connection.clone();
        let timeout = self.timeout;
        RevocationFuture::pending(async move {
            let answer = tokio::time::timeout(
                timeout,
                command.query_async::<Vec<Option<i64>>>(&mut connection),
            );
            let values = match answer.await {
                Ok(Ok(values)) => values,
                Ok(Err(e)) => return Err(error("Redis could not be asked", &e)),
                Err(_) => return Err(RevocationError::new("Redis did not answer in time")),
            };
            let listed = values.iter().take(subject_at).any(Option::is_some);
            let subject = has_subject
                && values
                    .get(subject_at)
                    .copied()
                    .flatten()
                    .is_some_and(|cut| session_start.is_none_or(|start| start <= cut));
            Ok(if listed || subject { RevocationStatus::Revoked } else { RevocationStatus::Active })
        })
    }
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A revocation error naming the failure class (never a key, which holds token ids).
fn error(what: &str, e: &redis::RedisError) -> RevocationError {
    let class = if e.is_timeout() {
        "timeout"
    } else if e.is_connection_refusal() || e.is_io_error() || e.is_connection_dropped() {
        "connection"
    } else {
        "response"
    };
    RevocationError::with_source(format!("{what} ({class})"), e.clone())
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
