//! Revocation that holds across a fleet: a Redis-backed store (feature `redis`).

#[cfg(feature = "redis-cache")]
mod local;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::RedisResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::check::{ProbeFuture, RevocationCheck, RevocationFuture, RevocationStatus};
use super::replay::{ReplayFuture, ReplayStore};
use crate::claims::RegisteredClaims;
use crate::error::RevocationError;

const DEFAULT_PREFIX: &str = "tsj:revoked:";
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// Revoked tokens, sessions and subjects in Redis, shared by every instance of a service.
///
/// - [`revoke_session`](RedisRevocations::revoke_session) (logout) refuses a whole sliding chain:
///   the token, every renewal already sent, every renewal to come. Its entry expires by itself at
///   the moment given, which [`Issuer::revocation_until`](crate::Issuer::revocation_until)
///   computes: the last moment any token of the session can be accepted, plus a margin for
///   Redis's clock. A moment already past is kept for
///   [`MIN_RETENTION`](super::MIN_RETENTION), never silently dropped.
/// - [`revoke_token`](RedisRevocations::revoke_token) refuses one `jti`, just as long.
/// - [`revoke_subject`](RedisRevocations::revoke_subject) refuses the sessions of a user that
///   began before a time (a password change, a locked account).
///
/// Checking a token is one round trip (`MGET` of its `jti`, `sid` and `sub` entries), bounded by a
/// timeout (250 ms by default). If Redis cannot answer, the layer fails closed as
/// [`RevocationFailure`](crate::revocation::RevocationFailure) says (503 by default), never letting the
/// request through; the connection manager reconnects in the background (at least every half second), and
/// requests succeed again within about half a second of Redis coming back. By default nothing is kept locally, so a logout on one
/// instance is refused by every other one from the very next request;
/// [`local_answers`](RedisRevocationsBuilder::local_answers) trades that for answers from memory
/// that Redis keeps current (a logout reaches the other instances one push later).
///
/// `rediss://` needs the `redis-tls` feature; a Redis Cluster, the `redis-cluster` feature and
/// [`cluster`](RedisRevocations::cluster), which asks each key of the node that holds it (a
/// token's keys fall in different hash slots, so one node cannot answer the `MGET` alone).
///
/// ```no_run
/// use tower_sliding_jwt::{Claims, Issuer, JwtAuthLayer};
/// use tower_sliding_jwt::revocation::RedisRevocations;
/// use tower_sliding_jwt::error::RevocationError;
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
///     let until = issuer.revocation_until(claims);
///     revocations.revoke_session(claims.session_id().unwrap_or_default(), until).await
/// }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    connection: Arc<dyn Connection>,
    prefix: Arc<str>,
    timeout: Duration,
    #[cfg(feature = "redis-cache")]
    local: Option<local::LocalAnswers>,
}

impl RedisRevocations {
    /// A store at `url` (`redis://host:port/db`, or `rediss://` with the `redis-tls` feature),
    /// with the default key prefix `tsj:revoked:` and a 250 ms timeout. It connects lazily, so it
    /// can be created while Redis is down; it must be created inside a Tokio runtime. See
    /// [`builder`](RedisRevocations::builder) for the other settings.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), tower_sliding_jwt::error::RevocationError> {
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let revocations = RedisRevocations::connect("redis://127.0.0.1/")?;
    /// # Ok(()) }
    /// ```
    pub fn connect(url: &str) -> Result<RedisRevocations, RevocationError> {
        RedisRevocations::builder(url).build()
    }

    /// A store at `url` with settings: timeout, key prefix, trusted certificates, cluster.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// # fn run() -> Result<(), tower_sliding_jwt::error::RevocationError> {
    /// let revocations = RedisRevocations::builder("redis://10.0.0.5:6379/")
    ///     .timeout(Duration::from_millis(100))
    ///     .prefix("billing:revoked:")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> RedisRevocationsBuilder {
        RedisRevocationsBuilder {
            nodes: vec![url.to_owned()],
            cluster: false,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            root_certificates: None,
            local_answers: None,
        }
    }

    /// A store on the Redis Cluster these nodes belong to (feature `redis-cluster`): the rest of
    /// the cluster is discovered from them, and each key is asked of the node that holds it.
    ///
    /// ```no_run
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// # fn run() -> Result<(), tower_sliding_jwt::error::RevocationError> {
    /// let revocations = RedisRevocations::cluster([
    ///     "redis://10.0.0.5:7000/",
    ///     "redis://10.0.0.6:7000/",
    /// ])
    /// .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-cluster")]
    pub fn cluster<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> RedisRevocationsBuilder {
        let mut builder = RedisRevocations::builder("");
        builder.nodes = nodes.into_iter().map(Into::into).collect();
        builder.cluster = true;
        builder
    }

    /// A store on a connection the application already has: redis-rs 1.x's
    /// `ConnectionManager`, `MultiplexedConnection` or cluster connection, configured as it
    /// likes. Each check clones it. Default prefix and timeout.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let manager = redis::aio::ConnectionManager::new(client).await?;
    /// let revocations = RedisRevocations::from_connection(manager);
    /// # Ok(()) }
    /// ```
    pub fn from_connection<C>(connection: C) -> RedisRevocations
    where
        C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
    {
        RedisRevocations {
            connection: Arc::new(Shared(connection)),
            prefix: Arc::from(DEFAULT_PREFIX),
            timeout: DEFAULT_TIMEOUT,
            #[cfg(feature = "redis-cache")]
            local: None,
        }
    }

    /// Another key prefix (to share one Redis between services).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), tower_sliding_jwt::error::RevocationError> {
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let revocations = RedisRevocations::connect("redis://127.0.0.1/")?.with_prefix("app:");
    /// # Ok(()) }
    /// ```
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisRevocations {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// Revoke one token by its `jti`, until `expires_at`:
    /// [`Issuer::revocation_until`](crate::Issuer::revocation_until) of the token. Renewals
    /// already handed out have other `jti`s and stay valid: revoke the session (`sid`) to end a
    /// login.
    ///
    /// ```no_run
    /// # async fn run(revocations: tower_sliding_jwt::revocation::RedisRevocations)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// // A token that leaked: refuse it on every instance until it would have expired.
    /// revocations.revoke_token("6f1c0e2a-token-id", 1_900_000_000).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_token(&self, jti: &str, expires_at: i64) -> Result<(), RevocationError> {
        self.set(self.key("jti", jti), 1, expires_at).await
    }

    /// Revoke a session and all its renewals by `sid`, until `until`:
    /// [`Issuer::revocation_until`](crate::Issuer::revocation_until) of any of its tokens.
    ///
    /// ```no_run
    /// # async fn run(revocations: tower_sliding_jwt::revocation::RedisRevocations)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// // Logout: the session's tokens and its renewals, until its session limit.
    /// revocations.revoke_session("session-42", 1_900_000_000).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_session(&self, sid: &str, until: i64) -> Result<(), RevocationError> {
        self.set(self.key("sid", sid), 1, until).await
    }

    /// Revoke every session of `sub` that began at or before `started_before`, until `until`: at
    /// least `started_before` plus the longest session allowed, the leeway and
    /// [`STORE_CLOCK_MARGIN`](super::STORE_CLOCK_MARGIN).
    ///
    /// ```no_run
    /// # async fn run(revocations: tower_sliding_jwt::revocation::RedisRevocations)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// // A password change at `now`: every session begun up to then ends; later ones do not.
    /// let now = 1_800_000_000;
    /// let longest_session_limit = 7 * 24 * 3600;
    /// revocations.revoke_subject("alice", now, now + longest_session_limit).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_subject(
        &self,
        sub: &str,
        started_before: i64,
        until: i64,
    ) -> Result<(), RevocationError> {
        self.set(self.key("sub", sub), started_before, until).await
    }

    /// Whether the token with these claims is revoked: one round trip (or none, with
    /// [`local_answers`](RedisRevocationsBuilder::local_answers)).
    ///
    /// ```no_run
    /// # async fn run(revocations: tower_sliding_jwt::revocation::RedisRevocations,
    /// #     claims: tower_sliding_jwt::Claims) -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_sliding_jwt::revocation::RevocationStatus;
    ///
    /// if revocations.status(claims.registered()).await? == RevocationStatus::Revoked {
    ///     println!("this session was ended elsewhere");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn status(
        &self,
        claims: &RegisteredClaims,
    ) -> Result<RevocationStatus, RevocationError> {
        self.check(claims).await
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// `SET key value EXAT until`; a moment already past is kept for the minimum retention
    /// instead (Redis would store nothing, and the caller believe the token revoked).
    async fn set(&self, key: String, value: i64, until: i64) -> Result<(), RevocationError> {
        let until = super::retained_until(until, unix_now());
        let mut command = redis::cmd("SET");
        command.arg(&key).arg(value).arg("EXAT").arg(until);
        let answer = self.connection.clone().send(command);
        answered(self.timeout, answer, "Redis refused the revocation").await.map(drop)
    }
}

/// Settings of a [`RedisRevocations`] store; [`build`](RedisRevocationsBuilder::build) makes it.
///
/// ```no_run
/// # fn run() -> Result<(), tower_sliding_jwt::error::RevocationError> {
/// use tower_sliding_jwt::revocation::RedisRevocations;
///
/// let revocations = RedisRevocations::builder("redis://127.0.0.1/").prefix("app:").build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisRevocationsBuilder {
    nodes: Vec<String>,
    cluster: bool,
    prefix: String,
    timeout: Duration,
    root_certificates: Option<Vec<u8>>,
    local_answers: Option<Duration>,
}

impl RedisRevocationsBuilder {
    /// The limit for each check and revocation, connecting included (250 ms by default). Past
    /// it the layer fails closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let builder = RedisRevocations::builder("redis://127.0.0.1/").timeout(Duration::from_millis(50));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The prefix of every key (`tsj:revoked:` by default), to share one Redis between
    /// services.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let builder = RedisRevocations::builder("redis://127.0.0.1/").prefix("billing:");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Trust these PEM certificates for `rediss://` instead of the system's (feature
    /// `redis-tls`): a private certificate authority, or a server's own certificate.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let ca = std::fs::read("/etc/redis/ca.pem")?;
    /// let revocations = RedisRevocations::builder("rediss://redis.internal:6380/")
    ///     .root_certificates_pem(ca)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// Answer from local memory, kept current by Redis (feature `redis-cache`): server-assisted
    /// client-side caching (RESP3 `CLIENT TRACKING`). Redis remembers which keys this
    /// connection read and pushes an invalidation when one of them changes, so a token checked
    /// before is answered without a round trip, and a revocation elsewhere reaches this
    /// instance one push later (well under a millisecond on a LAN) instead of on the next
    /// request.
    ///
    /// - An answer is kept at most `max_age`, which bounds how long a silent network partition
    ///   (one that does not close the connection) can hide a revocation.
    /// - When the connection is lost, the local answers are dropped with it and checks ask
    ///   Redis again, failing closed while it cannot answer.
    /// - Needs Redis 6 or later; a single server, not a cluster.
    ///
    /// The default (no local answers) asks Redis on every request: exact, at one round trip.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let builder = RedisRevocations::builder("redis://127.0.0.1/")
    ///     .local_answers(Duration::from_secs(1));
    /// ```
    #[cfg(feature = "redis-cache")]
    pub fn local_answers(mut self, max_age: Duration) -> Self {
        self.local_answers = Some(max_age);
        self
    }

    /// The store. It connects lazily, so Redis may be down; it must be built inside a Tokio
    /// runtime. Fails on a URL it cannot read (or `rediss://` without the `redis-tls` feature).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), tower_sliding_jwt::error::RevocationError> {
    /// use tower_sliding_jwt::revocation::RedisRevocations;
    ///
    /// let revocations = RedisRevocations::builder("redis://127.0.0.1/").build()?;
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<RedisRevocations, RevocationError> {
        if self.cluster && self.local_answers.is_some() {
            return Err(RevocationError::new("local answers need a single Redis server"));
        }
        #[cfg(feature = "redis-cache")]
        let local = self.local_answers.map(local::LocalAnswers::new);
        #[cfg(feature = "redis-cache")]
        let connection =
            if self.cluster { self.cluster_connection()? } else { self.single(local.as_ref())? };
        #[cfg(not(feature = "redis-cache"))]
        let connection = if self.cluster { self.cluster_connection()? } else { self.single()? };
        Ok(RedisRevocations {
            connection,
            prefix: Arc::from(self.prefix),
            timeout: self.timeout,
            #[cfg(feature = "redis-cache")]
            local,
        })
    }

    fn single(
        &self,
        #[cfg(feature = "redis-cache")] local: Option<&local::LocalAnswers>,
    ) -> Result<Arc<dyn Connection>, RevocationError> {
        use redis::IntoConnectionInfo as _;

        let url = self.nodes.first().map_or("", String::as_str);
        let mut info = url.into_connection_info().map_err(|e| error("invalid Redis URL", &e))?;
        if self.local_answers.is_some() {
            // Invalidations arrive as RESP3 push messages.
            let settings =
                info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP3);
            info = info.set_redis_settings(settings);
        }
        let client = match &self.root_certificates {
            None => redis::Client::open(info),
            #[cfg(feature = "redis-tls")]
            Some(pem) => redis::Client::build_with_tls(info, certificates(pem)),
            #[cfg(not(feature = "redis-tls"))]
            Some(_) => unreachable!("root certificates are set only with the redis-tls feature"),
        }
        .map_err(|e| error("invalid Redis URL", &e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // Retried at least every half second while Redis is away, so service is back
            // within about that once it returns (the backoff used to reach 2 s).
            .set_max_delay(RECONNECT_MAX_DELAY);
        // Invalidations, and the loss of the connection they came on, reach the local answers.
        #[cfg(feature = "redis-cache")]
        let config = match local {
            Some(local) => {
                let local = local.clone();
                config.set_push_sender(move |push: redis::PushInfo| {
                    local.pushed(&push);
                    Ok::<(), redis::aio::SendError>(())
                })
            }
            None => config,
        };
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| error("cannot create the Redis connection manager", &e))?;
        Ok(Arc::new(Shared(manager)))
    }

    #[cfg(feature = "redis-cluster")]
    fn cluster_connection(&self) -> Result<Arc<dyn Connection>, RevocationError> {
        let builder = redis::cluster::ClusterClient::builder(self.nodes.iter().map(String::as_str))
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout);
        #[cfg(feature = "redis-tls")]
        let builder = match &self.root_certificates {
            Some(pem) => builder.certs(certificates(pem)),
            None => builder,
        };
        let client = builder.build().map_err(|e| error("invalid Redis Cluster nodes", &e))?;
        Ok(Arc::new(cluster::Lazy { client, connection: tokio::sync::OnceCell::new() }))
    }

    #[cfg(not(feature = "redis-cluster"))]
    fn cluster_connection(&self) -> Result<Arc<dyn Connection>, RevocationError> {
        unreachable!("a cluster builder exists only with the redis-cluster feature")
    }
}

#[cfg(feature = "redis-tls")]
fn certificates(pem: &[u8]) -> redis::TlsCertificates {
    redis::TlsCertificates { client_tls: None, root_cert: Some(pem.to_vec()) }
}

impl fmt::Debug for RedisRevocationsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Node URLs may carry a password: show how many, not which.
        f.debug_struct("RedisRevocationsBuilder")
            .field("nodes", &self.nodes.len())
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("root_certificates", &self.root_certificates.is_some())
            .field("local_answers", &self.local_answers)
            .finish()
    }
}

type Answer = Pin<Box<dyn Future<Output = RedisResult<redis::Value>> + Send>>;

/// How the store reaches Redis: it sends one command and awaits its answer.
trait Connection: Send + Sync {
    fn send(self: Arc<Self>, command: redis::Cmd) -> Answer;

    /// Commands sent together on one connection; the answers of those not ignored.
    #[cfg(feature = "redis-cache")]
    fn send_together(self: Arc<Self>, pipeline: redis::Pipeline) -> Answer;
}

/// A connection redis-rs multiplexes; each command works on a clone of it.
struct Shared<C>(C);

impl<C> Connection for Shared<C>
where
    C: redis::aio::ConnectionLike + Clone + Send + Sync + 'static,
{
    fn send(self: Arc<Self>, command: redis::Cmd) -> Answer {
        let mut connection = self.0.clone();
        Box::pin(async move { command.query_async(&mut connection).await })
    }

    #[cfg(feature = "redis-cache")]
    fn send_together(self: Arc<Self>, pipeline: redis::Pipeline) -> Answer {
        let mut connection = self.0.clone();
        Box::pin(async move { pipeline.query_async(&mut connection).await })
    }
}

#[cfg(feature = "redis-cluster")]
mod cluster {
    use std::sync::Arc;

    use redis::cluster::ClusterClient;
    use redis::cluster_async::ClusterConnection;

    use super::{Answer, Connection};

    /// A cluster connection made on first use, so the store can be built while the cluster is
    /// down, as the single-server one can.
    pub(super) struct Lazy {
        pub(super) client: ClusterClient,
        pub(super) connection: tokio::sync::OnceCell<ClusterConnection>,
    }

    impl Connection for Lazy {
        fn send(self: Arc<Self>, command: redis::Cmd) -> Answer {
            Box::pin(async move {
                let connection =
                    self.connection.get_or_try_init(|| self.client.get_async_connection()).await?;
                // redis-rs splits a multi-key `MGET` by slot and asks each node for its keys.
                command.query_async(&mut connection.clone()).await
            })
        }

        // Local answers are refused for a cluster, so nothing sends commands together here.
        #[cfg(feature = "redis-cache")]
        fn send_together(self: Arc<Self>, pipeline: redis::Pipeline) -> Answer {
            Box::pin(async move {
                let connection =
                    self.connection.get_or_try_init(|| self.client.get_async_connection()).await?;
                pipeline.query_async(&mut connection.clone()).await
            })
        }
    }
}

impl RevocationCheck for RedisRevocations {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let jti = claims.jti.as_ref().map(|jti| self.key("jti", jti));
        let sid = claims.sid.as_ref().map(|sid| self.key("sid", sid));
        let sub = claims.sub.as_ref().map(|sub| self.key("sub", sub));
        let asked = Asked {
            listed: [&jti, &sid].iter().filter(|key| key.is_some()).count(),
            subject: sub.is_some(),
            session_start: claims.session_start(),
        };
        let keys: Vec<String> = [jti, sid, sub].into_iter().flatten().collect();
        if keys.is_empty() {
            return RevocationFuture::ready(Ok(RevocationStatus::Active));
        }
        #[cfg(feature = "redis-cache")]
        if let Some(local) = &self.local {
            return self.check_locally(local, keys, asked);
        }
        let mut command = redis::cmd("MGET");
        command.arg(&keys);
        let answer = self.connection.clone().send(command);
        let timeout = self.timeout;
        RevocationFuture::pending(async move {
            let values = read_entries(
                answered(timeout, answer, "Redis could not be asked").await?,
                keys.len(),
            )?;
            Ok(asked.status(&values))
        })
    }

    /// `PING`, within the store's timeout.
    fn probe(&self) -> ProbeFuture {
        let answer = self.connection.clone().send(redis::cmd("PING"));
        let timeout = self.timeout;
        Box::pin(
            async move { answered(timeout, answer, "Redis could not be reached").await.map(drop) },
        )
    }
}

/// DPoP proofs a fleet accepted, in the same Redis: `SET <prefix>dpop:<id> 1 NX EXAT <until>`,
/// one round trip within the store's timeout. Kept a clock margin longer, for a Redis whose
/// clock is ahead of the layer's. Give the store to
/// [`DpopPolicy::replay_store`](crate::DpopPolicy::replay_store).
impl ReplayStore for RedisRevocations {
    fn first_use(&self, id: &str, until: i64) -> ReplayFuture {
        let until = until.saturating_add(crate::clock::secs(super::STORE_CLOCK_MARGIN));
        let mut command = redis::cmd("SET");
        command.arg(self.key("dpop", id)).arg(1).arg("NX").arg("EXAT").arg(until);
        let answer = self.connection.clone().send(command);
        let timeout = self.timeout;
        Box::pin(async move {
            match answered(timeout, answer, "Redis could not be asked").await? {
                redis::Value::Okay => Ok(true),
                redis::Value::SimpleString(ok) if ok == "OK" => Ok(true),
                // Not set: the key was there, the proof was used before.
                redis::Value::Nil => Ok(false),
                _ => Err(RevocationError::new("Redis answered something else (response)")),
            }
        })
    }
}

impl RedisRevocations {
    /// From local memory when every key is there; otherwise from Redis, with tracking turned
    /// on in the same round trip (so it is on for whichever connection answers), keeping the
    /// answer unless an invalidation arrived meanwhile.
    #[cfg(feature = "redis-cache")]
    fn check_locally(
        &self,
        local: &local::LocalAnswers,
        keys: Vec<String>,
        asked: Asked,
    ) -> RevocationFuture {
        if let Some(values) = local.get(&keys) {
            local.meters.answer(true);
            return RevocationFuture::ready(Ok(asked.status(&values)));
        }
        local.meters.answer(false);
        let ticket = local.ticket();
        let mut pipeline = redis::pipe();
        pipeline.cmd("CLIENT").arg("TRACKING").arg("ON").ignore();
        pipeline.cmd("MGET").arg(&keys);
        let answer = self.connection.clone().send_together(pipeline);
        let (timeout, local) = (self.timeout, local.clone());
        RevocationFuture::pending(async move {
            let reply = match answered(timeout, answer, "Redis could not be asked").await? {
                redis::Value::Array(mut replies) if replies.len() == 1 => replies.remove(0),
                _ => return Err(RevocationError::new("Redis answered something else (response)")),
            };
            let values = read_entries(reply, keys.len())?;
            local.fill(ticket, &keys, &values);
            Ok(asked.status(&values))
        })
    }
}

/// What a check asked: `listed` token and session keys, then the subject's key if any.
#[derive(Clone, Copy)]
struct Asked {
    listed: usize,
    subject: bool,
    session_start: Option<i64>,
}

impl Asked {
    fn status(self, values: &[Option<i64>]) -> RevocationStatus {
        let listed = values.iter().take(self.listed).any(Option::is_some);
        let subject = self.subject
            && values
                .get(self.listed)
                .copied()
                .flatten()
                .is_some_and(|cut| self.session_start.is_none_or(|start| start <= cut));
        if listed || subject { RevocationStatus::Revoked } else { RevocationStatus::Active }
    }
}

/// Redis's reply within `timeout`; an error Redis returns is reported as `what`.
async fn answered(
    timeout: Duration,
    answer: Answer,
    what: &str,
) -> Result<redis::Value, RevocationError> {
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(error(what, &e)),
        Err(_) => Err(RevocationError::new("Redis did not answer in time")),
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

/// The entries of an `MGET` reply: exactly one value per key asked, each absent or a number.
/// Any other shape (a short array, nil, a string) cannot say "not revoked": it is an error, so
/// the layer fails closed.
fn read_entries(reply: redis::Value, keys: usize) -> Result<Vec<Option<i64>>, RevocationError> {
    let shape = || RevocationError::new("Redis answered something else (response)");
    let redis::Value::Array(items) = reply else {
        return Err(shape());
    };
    if items.len() != keys {
        return Err(shape());
    }
    items
        .into_iter()
        .map(|item| match item {
            redis::Value::Nil => Ok(None),
            redis::Value::Int(n) => Ok(Some(n)),
            redis::Value::BulkString(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.parse().ok())
                .map(Some)
                .ok_or_else(shape),
            _ => Err(shape()),
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::read_entries;

    #[test]
    fn only_one_value_per_key_reads_as_an_answer() {
        let entry = |text: &str| Value::BulkString(text.as_bytes().to_vec());
        let three = Value::Array(vec![Value::Nil, entry("1"), Value::Nil]);
        assert_eq!(read_entries(three, 3).unwrap(), [None, Some(1), None]);
        let refused = [
            Value::Array(vec![]),
            Value::Nil,
            Value::Array(vec![Value::Nil]),
            Value::Array(vec![Value::Nil; 4]),
            entry("1"),
            Value::Int(0),
            Value::Array(vec![Value::Nil, entry("yes"), Value::Nil]),
            Value::Array(vec![Value::Nil, Value::Array(vec![]), Value::Nil]),
            Value::SimpleString("OK".into()),
        ];
        for reply in refused {
            assert!(read_entries(reply.clone(), 3).is_err(), "{reply:?}");
        }
    }
}
