//! [`DpopPolicy`]: which DPoP proofs the layer accepts, and whether plain bearer tokens still
//! are; and the checks it makes of each request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use super::nonce::Nonces;
use super::proof::{Checked, Expected, KeyCache, check, normalize};
use super::replay::{FirstUse, ReplayCache, SharedStore, shared_id};
use crate::algorithm::Algorithm;
use crate::claims::RegisteredClaims;
use crate::error::{DpopError, TokenError};
use crate::rejection::{DpopChallenge, Rejection};
use crate::revocation::ReplayStore;

/// Proof keys kept parsed: one per active client is the aim, a few hundred at most.
const PROOF_KEYS: usize = 512;

/// Sender-constrained tokens (RFC 9449): a token bound to a key (`cnf.jkt`) is accepted only
/// as `Authorization: DPoP <token>`, with a `DPoP` header holding a fresh proof signed by that
/// key for this request. Given to [`JwtAuthBuilder::dpop`](crate::JwtAuthBuilder::dpop).
///
/// - The proof is a JWS of type `dpop+jwt` with one of the accepted asymmetric algorithms and
///   the public key in its header; its `htm` and `htu` are this request's method and URI (the
///   configured public origin followed by the request's path, without query, compared after
///   normalization); its `iat` lies within [`max_age`](DpopPolicy::max_age) (and the leeway);
///   its `ath` is the token's hash; its `jti` was never seen in that window.
/// - A bound token presented as `Bearer`, or without a proof, is refused: no downgrade.
///   A token without `cnf.jkt` presented as `DPoP` is refused too.
/// - Plain bearer tokens are still accepted unless [`bound_only`](DpopPolicy::bound_only), so a
///   service can move its clients over.
/// - The URI is the path the layer sees: put it outside routers that strip a prefix (axum's
///   `nest`), or include that prefix in the public origin.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::convert::Infallible;
///
/// use http::{Request, Response, StatusCode};
/// use tower::{Layer, ServiceExt, service_fn};
/// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
///
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .dpop(DpopPolicy::new().public_origin("https://api.example.com").bound_only())
///     .build()?;
/// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
/// let refused = layer.layer(inner).oneshot(Request::new(())).await?;
/// assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
/// // The challenge names DPoP and the algorithms a proof may use.
/// assert_eq!(refused.headers()["www-authenticate"], r#"DPoP algs="ES256 ES384 EdDSA PS256 RS256""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a policy does nothing until given to the builder"]
pub struct DpopPolicy {
    algorithms: Vec<Algorithm>,
    accept_bearer: bool,
    max_age: Duration,
    origins: Vec<String>,
    replay_capacity: usize,
    nonces: Option<NonceSetting>,
    shared: Option<SharedStore>,
}

/// The secret and period of server nonces; the secret never shows in `Debug`.
#[derive(Clone, PartialEq, Eq)]
struct NonceSetting {
    secret: Vec<u8>,
    period: Duration,
}

impl std::fmt::Debug for NonceSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceSetting").field("period", &self.period).finish_non_exhaustive()
    }
}

/// The shortest nonce secret accepted: as for an HMAC signing key.
const MIN_NONCE_SECRET: usize = 32;

impl Default for DpopPolicy {
    fn default() -> Self {
        DpopPolicy::new()
    }
}

impl DpopPolicy {
    /// Proofs of ES256, ES384, EdDSA, PS256 or RS256, at most 60 s old; up to 1,000,000 proofs
    /// remembered against replay; plain bearer tokens still accepted. The public origin has to
    /// be set.
    ///
    /// ```
    /// use tower_sliding_jwt::DpopPolicy;
    ///
    /// assert_eq!(DpopPolicy::new(), DpopPolicy::default());
    /// ```
    pub fn new() -> DpopPolicy {
        DpopPolicy {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::PS256,
                Algorithm::RS256,
            ],
            accept_bearer: true,
            max_age: Duration::from_secs(60),
            origins: Vec::new(),
            replay_capacity: 1_000_000,
            nonces: None,
            shared: None,
        }
    }

    /// The origin (and path prefix) clients address, as they write it in `htu`:
    /// `https://api.example.com`, or `https://example.com/api` behind a proxy that strips
    /// `/api`. Called again, it adds another. Never guessed from the request's `Host` or
    /// forwarded headers, which a client chooses.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::DpopTestKey;
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer, testing::TokenFactory};
    ///
    /// let missing = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(DpopPolicy::new()).build();
    /// assert!(missing.unwrap_err().to_string().contains("public_origin"));
    ///
    /// // Behind a proxy that strips `/api`: the service sees `/orders`, the proof `/api/orders`.
    /// let policy = DpopPolicy::new().public_origin("https://example.com/api");
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(policy).build()?;
    /// let (tokens, key) = (TokenFactory::for_layer(&layer), DpopTestKey::new());
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let call = |htu: &str| {
    ///     let proof = key.proof("GET", htu, layer.issuer().now(), htu, Some(&token));
    ///     let request = Request::get("/orders")
    ///         .header("authorization", format!("DPoP {token}"))
    ///         .header("dpop", proof);
    ///     layer.layer(inner.clone()).oneshot(request.body(()).unwrap())
    /// };
    /// assert_eq!(call("https://example.com/api/orders").await?.status(), 200);
    /// assert_eq!(call("https://example.com/orders").await?.status(), 401, "not where it was sent");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn public_origin(mut self, origin: impl Into<String>) -> DpopPolicy {
        self.origins.push(origin.into());
        self
    }

    /// Accept only DPoP-bound tokens: a plain bearer token is refused.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let strict = DpopPolicy::new().public_origin("https://api.example.com").bound_only();
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(strict).build()?;
    /// let (tokens, key) = (TokenFactory::for_layer(&layer), DpopTestKey::new());
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    ///
    /// let bearer = tokens.request(Request::get("/orders"), &tokens.valid("alice", &())?);
    /// let refused = layer.layer(inner.clone()).oneshot(bearer.body(())?).await?;
    /// assert_eq!(refused.status(), 401);
    /// let bound = tokens.bound("alice", &(), &key)?;
    /// let request = tokens.dpop_request(Request::get("/orders"), &bound, &key);
    /// assert_eq!(layer.layer(inner).oneshot(request.body(())?).await?.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn bound_only(mut self) -> DpopPolicy {
        self.accept_bearer = false;
        self
    }

    /// The algorithms a proof may be signed with (asymmetric only).
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, DpopPolicy, JwtAuthLayer};
    ///
    /// let policy = DpopPolicy::new().public_origin("https://api.example.com");
    /// let hmac = policy.algorithms([Algorithm::HS256]);
    /// assert!(JwtAuthLayer::builder().hs256([7u8; 32]).dpop(hmac).build().is_err());
    /// ```
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> DpopPolicy {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How old a proof's `iat` may be (the layer's leeway is added on both sides). Default 60 s.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let origin = "https://api.example.com";
    /// let tight = DpopPolicy::new().public_origin(origin).max_age(Duration::from_secs(10));
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(tight).build()?;
    /// let (tokens, key) = (TokenFactory::for_layer(&layer), DpopTestKey::new());
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// // Signed 10 s ago, then 20 s ago (the layer's 5 s leeway is added).
    /// for (age, status) in [(10, 200), (20, 401)] {
    ///     let htu = format!("{origin}/orders");
    ///     let proof = key.proof("GET", &htu, layer.issuer().now() - age, &format!("{age}"), Some(&token));
    ///     let request = Request::get("/orders")
    ///         .header("authorization", format!("DPoP {token}"))
    ///         .header("dpop", proof);
    ///     assert_eq!(layer.layer(inner.clone()).oneshot(request.body(())?).await?.status(), status);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> DpopPolicy {
        self.max_age = max_age;
        self
    }

    /// How many proofs this instance remembers against replay, each for as long as it could be
    /// accepted (`max_age` plus twice the leeway: 70 s by default). When that many are
    /// remembered, new proofs are refused with 503 rather than risk a replay, so the capacity
    /// is also a rate: the default 1,000,000 takes about 14,000 new proofs a second, in about
    /// 36 MB when full (16-byte ids in hash sets; briefly more while a set grows). With a shared
    /// [`replay_store`](DpopPolicy::replay_store), only logins use it.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let tiny = DpopPolicy::new().public_origin("https://api.example.com").replay_capacity(2);
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(tiny).build()?;
    /// let (tokens, key) = (TokenFactory::for_layer(&layer), DpopTestKey::new());
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// for status in [200, 200, 503] {
    ///     let request = tokens.dpop_request(Request::get("/orders"), &token, &key);
    ///     assert_eq!(layer.layer(inner.clone()).oneshot(request.body(())?).await?.status(), status);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn replay_capacity(mut self, capacity: usize) -> DpopPolicy {
        self.replay_capacity = capacity;
        self
    }

    /// Remember accepted proofs in `store`, shared by every instance of a fleet, instead of in
    /// this instance's memory: a proof used on one instance is then refused on all (RFC 9449
    /// section 11.1). Each request waits for the store's answer (one round trip); when the store
    /// cannot answer, the request is refused with 503 and `Retry-After`, never let through.
    ///
    /// A login's proof is still checked against this instance's memory: its replay elsewhere
    /// would only get a token bound to a key the replayer does not hold.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::collections::HashSet;
    /// use std::convert::Infallible;
    /// use std::sync::{Arc, Mutex};
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::revocation::{ReplayFuture, ReplayStore};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// #[derive(Default)]
    /// struct Seen(Mutex<HashSet<String>>);
    ///
    /// impl ReplayStore for Seen {
    ///     fn first_use(&self, id: &str, _until: i64) -> ReplayFuture {
    ///         let new = self.0.lock().unwrap().insert(id.to_owned());
    ///         Box::pin(std::future::ready(Ok(new)))
    ///     }
    /// }
    ///
    /// // Two instances of a service, one store.
    /// let store = Arc::new(Seen::default());
    /// let instance = || {
    ///     let policy = DpopPolicy::new()
    ///         .public_origin("https://api.example.com")
    ///         .replay_store(store.clone());
    ///     JwtAuthLayer::builder().hs256([7u8; 32]).dpop(policy).build()
    /// };
    /// let (a, b) = (instance()?, instance()?);
    /// let key = DpopTestKey::new();
    /// let tokens = TokenFactory::for_layer(&a);
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    ///
    /// let first = tokens.dpop_request(Request::get("/orders"), &token, &key).body(())?;
    /// let mut replayed = Request::get("/orders").body(())?;
    /// *replayed.headers_mut() = first.headers().clone();
    /// assert_eq!(a.layer(inner.clone()).oneshot(first).await?.status(), 200);
    /// assert_eq!(b.layer(inner).oneshot(replayed).await?.status(), 401, "used on the other");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn replay_store(mut self, store: impl ReplayStore) -> DpopPolicy {
        self.shared = Some(SharedStore(Arc::new(store)));
        self
    }

    /// Require a server nonce in every proof (RFC 9449 section 8): a proof without the current
    /// one is refused with `error="use_dpop_nonce"` and a `DPoP-Nonce` header holding it, and
    /// the client signs again with it. Proofs made in advance are then worthless.
    ///
    /// A nonce is derived from `secret` (at least 32 bytes, shared by every instance of a fleet,
    /// so all accept each other's nonces without talking) and the current period of
    /// `rotate_every`; it stays good one period more, so a client meets a new nonce at most once
    /// a period. Nothing is stored per client. A login handler gives the current one with
    /// [`Issuer::dpop_nonce`](crate::Issuer::dpop_nonce).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let policy = DpopPolicy::new()
    ///     .public_origin("https://api.example.com")
    ///     .nonces(b"a nonce secret of 32 bytes or more", Duration::from_secs(300));
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(policy).build()?;
    /// let key = DpopTestKey::new();
    /// let tokens = TokenFactory::for_layer(&layer);
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    ///
    /// // A proof without the nonce: refused, with the nonce to use.
    /// let request = tokens.dpop_request(Request::get("/orders"), &token, &key).body(())?;
    /// let refused = layer.layer(inner.clone()).oneshot(request).await?;
    /// assert_eq!(refused.status(), 401);
    /// let dpop_challenge = refused.headers().get_all("www-authenticate").iter().last().unwrap();
    /// assert!(dpop_challenge.to_str()?.contains(r#"error="use_dpop_nonce""#));
    /// let nonce = refused.headers()["dpop-nonce"].to_str()?;
    ///
    /// // Signed again with it: accepted.
    /// let request = tokens.dpop_request_with_nonce(Request::get("/orders"), &token, &key, nonce);
    /// let response = layer.layer(inner).oneshot(request.body(())?).await?;
    /// assert_eq!(response.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn nonces(mut self, secret: impl AsRef<[u8]>, rotate_every: Duration) -> DpopPolicy {
        self.nonces = Some(NonceSetting { secret: secret.as_ref().to_vec(), period: rotate_every });
        self
    }

    /// The checks this policy makes, or what is wrong with it.
    pub(crate) fn compile(self, leeway: i64) -> Result<Verifier, &'static str> {
        if self.origins.is_empty() {
            return Err("needs the origin clients address (DpopPolicy::public_origin)");
        }
        let mut origins = Vec::new();
        for origin in &self.origins {
            let normalized = normalize(origin)
                .filter(|_| !origin.contains(['?', '#']))
                .ok_or("needs an absolute http(s) URL without query (DpopPolicy::public_origin)")?;
            origins.push(normalized.trim_end_matches('/').to_owned());
        }
        if self.algorithms.is_empty() || self.algorithms.iter().any(|alg| alg.is_hmac()) {
            return Err("accepts one or more asymmetric algorithms only (DpopPolicy::algorithms)");
        }
        if self.max_age < Duration::from_secs(1) {
            return Err("needs a max_age of at least one second (DpopPolicy::max_age)");
        }
        if self.replay_capacity == 0 {
            return Err("needs room for at least one proof (DpopPolicy::replay_capacity)");
        }
        let nonces = match &self.nonces {
            None => None,
            Some(setting) if setting.secret.len() < MIN_NONCE_SECRET => {
                return Err("needs a nonce secret of at least 32 bytes (DpopPolicy::nonces)");
            }
            Some(setting) if setting.period < Duration::from_secs(1) => {
                return Err("needs nonces to last at least one second (DpopPolicy::nonces)");
            }
            Some(setting) => Some(Nonces::new(&setting.secret, crate::clock::secs(setting.period))),
        };
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        let names: Vec<&str> = self.algorithms.iter().map(|alg| alg.name()).collect();
        Ok(Verifier {
            challenge: DpopChallenge { algs: names.join(" "), bearer: self.accept_bearer },
            algorithms: self.algorithms,
            accept_bearer: self.accept_bearer,
            max_age,
            origins,
            // A proof first used at `t` has `iat` at most `t + leeway`, so it is acceptable
            // until at most `t + max_age + 2 leeway`.
            replay: ReplayCache::new(
                self.replay_capacity,
                max_age.saturating_add(leeway.saturating_mul(2)),
            ),
            keys: KeyCache::new(PROOF_KEYS),
            nonces,
            shared: self.shared,
        })
    }
}

/// The key a client proved it holds with a DPoP proof: what
/// [`Issuer::issue_bound`](crate::Issuer::issue_bound) binds a token to, and what
/// [`Issuer::renew_bound`](crate::Issuer::renew_bound) renews a bound token for.
///
/// [`Issuer::dpop_key`](crate::Issuer::dpop_key) checks the proof of a login request. Behind
/// the layer, a request it admitted with a DPoP-bound token carries its key in its extensions
/// (with axum, `Extension<DpopKey>`): the layer checked that request's proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopKey {
    jkt: String,
}

impl DpopKey {
    /// The key of a bound token whose proof the layer checked.
    pub(crate) fn proven(jkt: &str) -> DpopKey {
        DpopKey { jkt: jkt.to_owned() }
    }

    /// The RFC 7638 thumbprint of the key: the bound token's `cnf.jkt`.
    ///
    /// ```
    /// # fn show(key: &tower_sliding_jwt::DpopKey) {
    /// println!("bound to {}", key.thumbprint());
    /// # }
    /// ```
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }
}

/// A compiled [`DpopPolicy`], shared by every request of a layer.
pub(crate) struct Verifier {
    pub(crate) challenge: DpopChallenge,
    algorithms: Vec<Algorithm>,
    accept_bearer: bool,
    max_age: i64,
    /// Normalized, without a trailing `/`.
    origins: Vec<String>,
    replay: ReplayCache,
    keys: KeyCache,
    nonces: Option<Nonces>,
    shared: Option<SharedStore>,
}

/// A shared replay store's answer for a request's proof: `Ok` when it is new.
pub(crate) type ReplayWait = Pin<Box<dyn Future<Output = Result<(), Rejection>> + Send>>;

impl Verifier {
    /// The first public origin configured: where a test client sends its proofs.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn first_origin(&self) -> &str {
        &self.origins[0]
    }

    /// The server nonce proofs must carry now, if nonces are required.
    pub(crate) fn nonce(&self, now: i64) -> Option<String> {
        self.nonces.as_ref().map(|nonces| nonces.current(now))
    }

    /// Whether a verified token may be used as it was presented: a bound token only with a
    /// good proof of its key, an unbound one only as a bearer token (and only if accepted).
    /// With a shared replay store, the wait for its word that the proof is new.
    pub(crate) fn admit(
        &self,
        parts: &Parts,
        claims: &RegisteredClaims,
        token: &str,
        as_dpop: bool,
        now: i64,
        leeway: i64,
    ) -> Result<Option<ReplayWait>, Rejection> {
        match (claims.cnf_jkt.as_deref(), as_dpop) {
            (Some(jkt), true) => {
                let checked = self.checked(parts, Some(token), now, leeway)?;
                if checked.jkt != jkt {
                    return Err(Rejection::InvalidDpopProof(DpopError::WrongKey));
                }
                match &self.shared {
                    Some(store) => Ok(Some(self.first_use_shared(store, &checked, leeway))),
                    None => self.first_use(&checked, now).map(|()| None),
                }
            }
            (Some(_), false) => Err(Rejection::InvalidToken(TokenError::SenderConstrained)),
            (None, true) => Err(Rejection::InvalidDpopProof(DpopError::UnboundToken)),
            (None, false) if !self.accept_bearer => {
                Err(Rejection::InvalidDpopProof(DpopError::BearerNotAccepted))
            }
            (None, false) => Ok(None),
        }
    }

    /// The key a login request proves it holds: its proof, checked (no token goes with it).
    pub(crate) fn login_key(
        &self,
        parts: &Parts,
        now: i64,
        leeway: i64,
    ) -> Result<DpopKey, Rejection> {
        let checked = self.checked(parts, None, now, leeway)?;
        self.first_use(&checked, now)?;
        Ok(DpopKey { jkt: checked.jkt })
    }

    /// The request's one proof, checked (for `token`, if one goes with it), but for replay.
    fn checked(
        &self,
        parts: &Parts,
        token: Option<&str>,
        now: i64,
        leeway: i64,
    ) -> Result<Checked, Rejection> {
        let refused = Rejection::InvalidDpopProof;
        let mut headers = parts.headers.get_all("dpop").iter();
        let proof = headers.next().ok_or(refused(DpopError::Missing))?;
        if headers.next().is_some() {
            return Err(refused(DpopError::Repeated));
        }
        let proof = proof.to_str().map_err(|_| refused(DpopError::Malformed))?;
        let path = parts.uri.path();
        let uris: Vec<String> = self
            .origins
            .iter()
            .filter_map(|origin| normalize(&format!("{origin}{path}")))
            .collect();
        let expected = Expected {
            method: &parts.method,
            uris: &uris,
            algorithms: &self.algorithms,
            earliest: now.saturating_sub(self.max_age).saturating_sub(leeway),
            latest: now.saturating_add(leeway),
            token,
        };
        let checked = check(proof, &expected, &self.keys).map_err(refused)?;
        // Before the replay check: a proof refused for its nonce does not use up its `jti`,
        // though the client will sign a new one anyway.
        if let Some(nonces) = &self.nonces
            && !checked.nonce.as_deref().is_some_and(|nonce| nonces.accepts(nonce, now))
        {
            return Err(refused(DpopError::UseNonce));
        }
        Ok(checked)
    }

    /// Until when a proof must be remembered: as long as it could be accepted, until its `iat`
    /// leaves the window.
    fn kept_until(&self, checked: &Checked, leeway: i64) -> i64 {
        checked.iat.saturating_add(self.max_age).saturating_add(leeway)
    }

    /// Whether this instance has seen the proof before.
    fn first_use(&self, checked: &Checked, now: i64) -> Result<(), Rejection> {
        match self.replay.first_use(&checked.jkt, &checked.jti, now) {
            FirstUse::Yes => Ok(()),
            FirstUse::Replayed => Err(Rejection::InvalidDpopProof(DpopError::Replayed)),
            FirstUse::Full => Err(Rejection::Unavailable),
        }
    }

    /// Whether any instance has seen the proof before, as the shared store answers.
    fn first_use_shared(&self, store: &SharedStore, checked: &Checked, leeway: i64) -> ReplayWait {
        let answer = store
            .0
            .first_use(&shared_id(&checked.jkt, &checked.jti), self.kept_until(checked, leeway));
        Box::pin(async move {
            match answer.await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Rejection::InvalidDpopProof(DpopError::Replayed)),
                Err(error) => {
                    tracing::warn!(target: "tower_sliding_jwt", %error, "DPoP replay store failed");
                    Err(Rejection::Unavailable)
                }
            }
        })
    }
}
