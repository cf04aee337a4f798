//! The request phase: answer a preflight, extract the token, verify it (or find it among the
//! recently verified), plan its renewal, and admit the request or build its rejection. All of it
//! is synchronous; only an asynchronous answer (revocation, a route's own check, new remote
//! keys) is awaited, by the response future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::claims::{Claims, RawToken};
use crate::config::Core;
use crate::dpop::DpopKey;
use crate::error::{RevocationError, TokenError};
use crate::headers::forbid_storing;
use crate::keys::KeyRole;
use crate::metrics::Outcome;
use crate::middleware::renew::PlannedRenewal;
use crate::rejection::{Forbidden, Rejection, RejectionContext, RejectionHandler};
use crate::revocation::{Refusal, RevocationFuture, RevocationStatus, verdict};
use crate::verify::cache::TokenCache;
use crate::verify::csrf::CsrfPolicy;
use crate::verify::rules::validate;
use crate::verify::source::{Found, TokenSource, extract};

/// An authorization check on verified claims and the request.
pub(crate) type Authorize<C> =
    Arc<dyn Fn(&Claims<C>, &Parts) -> Result<(), Forbidden> + Send + Sync>;

/// The answer of a route's asynchronous check of the claims.
pub(crate) type ClaimsFuture = Pin<Box<dyn Future<Output = Result<(), Rejection>> + Send>>;

/// A route's asynchronous check of the claims (it may ask a database or a policy service).
pub(crate) type Require<C> = Arc<dyn Fn(Claims<C>, &Parts) -> ClaimsFuture + Send + Sync>;

/// Everything a request needs, behind the one `Arc` all services of a layer share.
pub(crate) struct LayerConfig<C> {
    pub(crate) core: Arc<Core>,
    /// Verified tokens seen recently (absent when disabled), shared by the layer's variants.
    pub(crate) cache: Option<Arc<TokenCache<C>>>,
    pub(crate) optional: bool,
    pub(crate) answer_preflight: bool,
    pub(crate) realm: String,
    pub(crate) authorize: Option<Authorize<C>>,
    pub(crate) require: Option<Require<C>>,
    pub(crate) csrf: CsrfPolicy,
}

/// Builds the layer's refusal for a request, its response type erased (a `Response<B>` in a
/// box): so a handler's extractor can refuse in the layer's own shape.
#[cfg(feature = "axum")]
pub(crate) type Responder =
    Arc<dyn Fn(&Rejection, &Parts) -> Box<dyn std::any::Any + Send> + Send + Sync>;

/// Left in a request the layer let through without a token (optional mode): a handler that
/// asks for claims then knows the layer was there (a missing token, not a misconfiguration),
/// and, with axum, how the layer refuses.
#[cfg(any(feature = "axum", feature = "tonic"))]
#[derive(Clone)]
pub(crate) struct Anonymous {
    #[cfg(feature = "axum")]
    pub(crate) refuse: Responder,
}

/// Mark a request let through without a token (with axum, with the layer's way of refusing),
/// for a handler that needs claims after all.
#[cfg(any(feature = "axum", feature = "tonic"))]
pub(crate) fn mark_anonymous<C, R: RejectionHandler<B>, B: Send + 'static>(
    config: &LayerConfig<C>,
    handler: &R,
    parts: &mut Parts,
) {
    #[cfg(feature = "axum")]
    let refuse: Responder = {
        let handler = handler.clone();
        let realm = config.realm.clone();
        let dpop = config.core.dpop.as_ref().map(|dpop| dpop.challenge.clone());
        Arc::new(move |rejection: &Rejection, parts: &Parts| {
            let context =
                RejectionContext { parts, realm: &realm, dpop: dpop.as_ref(), dpop_nonce: None };
            Box::new(handler.respond(rejection, &context))
        })
    };
    #[cfg(not(feature = "axum"))]
    let _ = (config, handler);
    parts.extensions.insert(Anonymous {
        #[cfg(feature = "axum")]
        refuse,
    });
}

/// What the request phase decided.
// A short-lived stack value: boxing the large variant would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Step<C> {
    /// Call the inner service as is (optional mode without a token).
    Pass,
    /// A CORS preflight: answered here, never by the inner service.
    Preflight,
    /// Refuse.
    Reject(Rejection),
    /// A verified token, pending the revocation answer (and a shared replay store's) and the
    /// authorization check.
    Verified { claims: Claims<C>, renewal: Option<PlannedRenewal>, check: Option<Pending> },
    /// No key we know verifies the token, but an identity provider may have rotated its keys:
    /// decide again when this download has ended.
    #[cfg(feature = "jwks")]
    AwaitKeys(crate::jwks::KeysFuture),
}

/// What a verified token waits for before it is admitted: the revocation store's answer, and
/// with a shared DPoP replay store, first its word that the proof is new.
pub(crate) enum Pending {
    Revocation(RevocationFuture),
    Proof(Pin<Box<dyn Future<Output = Result<Answer, Rejection>> + Send>>),
}

/// A revocation answer.
pub(crate) type Answer = Result<RevocationStatus, RevocationError>;

impl Pending {
    /// The revocation check after the proof's replay check, if there is one.
    fn after(
        proof: Option<crate::dpop::ReplayWait>,
        check: Option<RevocationFuture>,
    ) -> Option<Pending> {
        let Some(proof) = proof else {
            return check.map(Pending::Revocation);
        };
        Some(Pending::Proof(Box::pin(async move {
            proof.await?;
            Ok(match check {
                Some(check) => check.await,
                None => Ok(RevocationStatus::Active),
            })
        })))
    }

    /// The answer if it is already there, or the wait itself.
    pub(crate) fn into_ready(self) -> Result<Answer, Pending> {
        match self {
            Pending::Revocation(check) => check.into_ready().map_err(Pending::Revocation),
            proof => Err(proof),
        }
    }
}

impl Future for Pending {
    type Output = Result<Answer, Rejection>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            Pending::Revocation(check) => Pin::new(check).poll(cx).map(Ok),
            Pending::Proof(wait) => wait.as_mut().poll(cx),
        }
    }
}

/// Preflight, extraction, verification and the renewal decision. With `may_await_keys`, a token
/// of a key no remote set knows yet waits for their refetch instead of being refused.
pub(crate) fn authenticate<C: DeserializeOwned + Send + Sync + 'static>(
    config: &LayerConfig<C>,
    parts: &Parts,
    may_await_keys: bool,
) -> Step<C> {
    let core = &config.core;
    if config.answer_preflight && is_cors_preflight(parts) {
        tracing::debug!(target: "tower_sliding_jwt", "CORS preflight answered");
        core.meters.preflight();
        return Step::Preflight;
    }
    let found = match extract(&core.sources, parts, core.rules.max_token_bytes, core.rules.dpop) {
        Ok(Some(found)) => found,
        Ok(None) if config.optional => {
            tracing::debug!(target: "tower_sliding_jwt", "no token; optional mode");
            core.meters.request(Outcome::Anonymous);
            return Step::Pass;
        }
        Ok(None) => {
            tracing::debug!(target: "tower_sliding_jwt", "no token");
            return Step::Reject(Rejection::Missing);
        }
        Err(rejection) => {
            tracing::debug!(target: "tower_sliding_jwt", reason = %rejection, "token source rejected");
            return Step::Reject(rejection);
        }
    };
    // A cookie arrives with requests other sites make the browser send: unsafe ones must come
    // from our own pages. Checked before the token, which then never needs verifying.
    let from_cookie = matches!(core.sources[found.index], TokenSource::Cookie(_));
    if from_cookie && !config.csrf.allows(parts) {
        tracing::debug!(target: "tower_sliding_jwt", "cross-site cookie request refused");
        return Step::Reject(Rejection::CrossSite);
    }
    let now = core.now();
    let verified = verify_cached(config, &found, now);
    #[cfg(feature = "jwks")]
    if may_await_keys
        && matches!(
            verified,
            Err(TokenError::UnknownKeyId
                | TokenError::AlgorithmMismatch
                | TokenError::KeysUnavailable)
        )
        && let Some(wait) = core.refetch_keys()
    {
        tracing::debug!(target: "tower_sliding_jwt", "unknown key or stale keys; waiting for the key sets");
        return Step::AwaitKeys(wait);
    }
    #[cfg(not(feature = "jwks"))]
    let _ = may_await_keys;
    let (claims, role) = match verified {
        Ok(verified) => verified,
        Err(TokenError::KeysUnavailable) => {
            tracing::warn!(target: "tower_sliding_jwt", "remote keys too stale; token not checked");
            return Step::Reject(Rejection::Unavailable);
        }
        Err(reason) => {
            tracing::debug!(target: "tower_sliding_jwt", %reason, "token rejected");
            return Step::Reject(Rejection::InvalidToken(reason));
        }
    };
    let registered = claims.registered();
    // A bound token is worth nothing without a proof of its key, checked on every request.
    let proof = match &core.dpop {
        None => None,
        Some(dpop) => match dpop.admit(
            parts,
            registered,
            found.token.as_str(),
            found.as_dpop,
            now,
            core.rules.leeway,
        ) {
            Ok(wait) => wait,
            Err(rejection) => {
                tracing::debug!(target: "tower_sliding_jwt", reason = %rejection, "DPoP refused");
                return Step::Reject(rejection);
            }
        },
    };
    let renewal = PlannedRenewal::plan(core, registered, &role, &found.token, found.index, now);
    let check = core.revocation.as_ref().map(|check| check.check(registered));
    Step::Verified { claims, renewal, check: Pending::after(proof, check) }
}

/// Verify a token, or find it among the recently verified ones. A cached token's dates are
/// checked again against `now`; everything that depends on the request runs either way.
fn verify_cached<C: DeserializeOwned + Send + Sync + 'static>(
    config: &LayerConfig<C>,
    found: &Found<'_>,
    now: i64,
) -> Result<(Claims<C>, KeyRole), TokenError> {
    let core = &config.core;
    let cached = config.cache.as_ref().and_then(|c| c.get(found.token.as_bytes()));
    // A verification stands only while the keys that made it are current: a remote set that
    // changed or went stale since must decide again.
    if let Some((claims, role, origin)) = cached
        && core.is_current(origin)
    {
        core.meters.token_cache(true);
        validate(claims.registered(), &role, &core.rules, now)?;
        return Ok((claims, role));
    }
    if config.cache.is_some() {
        core.meters.token_cache(false);
    }
    let token = found.token.as_str();
    let (verified, origin) = core.verify::<C>(token, now)?;
    let vouched = verified.role.trusted_issuer();
    let claims =
        Claims::new(verified.registered, verified.custom, RawToken::copied(token), vouched);
    if let Some(cache) = &config.cache {
        cache.insert(&claims, &verified.role, origin, now, core.rules.leeway);
    }
    Ok((claims, verified.role))
}

/// After the revocation answer: the authorization check, then the claims go into the request.
pub(crate) fn admit<C: Send + Sync + 'static>(
    config: &LayerConfig<C>,
    parts: &mut Parts,
    claims: Claims<C>,
    answer: Result<RevocationStatus, RevocationError>,
) -> Result<(), Rejection> {
    let registered = claims.registered();
    let (sub, jti) = (registered.subject(), registered.token_id());
    if let Err(error) = &answer {
        tracing::warn!(target: "tower_sliding_jwt", sub, jti, %error, "revocation check failed");
    }
    if config.core.revocation.is_some() {
        config.core.meters.revocation((&answer).into());
    }
    let refused = match verdict(&answer, config.core.revocation_failure) {
        Ok(()) => config
            .authorize
            .as_ref()
            .and_then(|authorize| authorize(&claims, parts).err().map(Rejection::Forbidden)),
        Err(Refusal::Token(reason)) => Some(Rejection::InvalidToken(reason)),
        Err(Refusal::Unavailable) => Some(Rejection::Unavailable),
    };
    if let Some(rejection) = refused {
        tracing::debug!(target: "tower_sliding_jwt", sub, jti, reason = %rejection, "token refused");
        return Err(rejection);
    }
    tracing::debug!(target: "tower_sliding_jwt", sub, jti, "token accepted");
    // With a route's own check still to come, the request is counted once that check passes.
    if config.require.is_none() {
        config.core.meters.request(Outcome::Accepted);
    }
    // A bound token got here only with a good proof of its key: the handler may renew it.
    if let Some(jkt) = &claims.registered().cnf_jkt
        && config.core.dpop.is_some()
    {
        parts.extensions.insert(DpopKey::proven(jkt));
    }
    // One extension (the token rides in the claims): with axum's own two, the map stays within
    // its first allocation.
    parts.extensions.insert(claims);
    Ok(())
}

/// The handler's response for a refusal, made uncacheable whatever the handler wrote: a shared
/// cache must not replay one client's refusal (or its challenge) to another.
pub(crate) fn respond<C, R: RejectionHandler<B>, B>(
    config: &LayerConfig<C>,
    handler: &R,
    rejection: &Rejection,
    parts: &Parts,
) -> Response<B> {
    config.core.meters.refused(rejection);
    let mut response = handler.respond(
        rejection,
        &RejectionContext {
            parts,
            realm: &config.realm,
            dpop: config.core.dpop.as_ref().map(|dpop| &dpop.challenge),
            dpop_nonce: config.core.dpop.as_ref().and_then(|dpop| dpop.nonce(config.core.now())),
        },
    );
    forbid_storing(response.headers_mut());
    response
}

/// The answer to a CORS preflight: 204 with an empty body. Browsers send preflights without
/// credentials, so they cannot be authenticated; answering them here means a request that only
/// looks like one never reaches the inner service. A CORS layer outside this one adds the
/// `Access-Control-Allow-*` headers (or answers the preflight itself before it gets here).
pub(crate) fn preflight_response<B: Default>() -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// `OPTIONS` with `Origin` and `Access-Control-Request-Method`, and no gRPC content type (a gRPC
/// call is never a preflight, whatever else it carries).
fn is_cors_preflight(parts: &Parts) -> bool {
    parts.method == Method::OPTIONS
        && parts.headers.contains_key(http::header::ORIGIN)
        && parts.headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
        && !crate::headers::has_grpc_content_type(parts)
}
