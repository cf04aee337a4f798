//! [`JwtAuth`]: the middleware service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Method, Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::claims::{Claims, NoCustomClaims};
use crate::future::{ResponseFuture, Waiting};
use crate::layer::LayerConfig;
use crate::raw_token::RawToken;
use crate::reject::{DefaultRejection, Rejection, RejectionContext, RejectionHandler, TokenError};
use crate::renewal::Renewal;
use crate::revocation::{RevocationError, RevocationFailure, RevocationFuture, RevocationStatus};
use crate::source::extract;
use crate::verify::{Verified, validate};

/// The service made by [`JwtAuthLayer`](crate::JwtAuthLayer).
///
/// Verification and the renewal decision run synchronously in `call`; the inner service is
/// called with the request unchanged except for its extensions ([`Claims<C>`], which carries
/// the token). Only an asynchronous revocation check (one that returns a pending
/// [`RevocationFuture`]) waits before calling it; that path moves the readied inner service
/// into the future and leaves a clone behind, the usual Tower pattern, hence `S: Clone`.
pub struct JwtAuth<S, C = NoCustomClaims, R = DefaultRejection> {
    inner: S,
    config: Arc<LayerConfig<C>>,
    rejection: R,
}

impl<S, C, R> JwtAuth<S, C, R> {
    pub(crate) fn new(inner: S, config: Arc<LayerConfig<C>>, rejection: R) -> Self {
        JwtAuth { inner, config, rejection }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwrap the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// What the request phase decided.
// A short-lived stack value: boxing the large variant would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
enum Step<C> {
    /// Call the inner service as is (optional mode without a token).
    Pass,
    /// A CORS preflight: answered here, never by the inner service.
    Preflight,
    /// Refuse.
    Reject(Rejection),
    /// A verified token, pending the revocation answer and the authorization check.
    Verified { claims: Claims<C>, renewal: Option<Renewal>, check: Option<RevocationFuture> },
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuth<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    R: RejectionHandler<ResBody>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, C, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        match authenticate(&self.config, &parts) {
            Step::Pass => {
                ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), None)
            }
            Step::Preflight => ResponseFuture::rejected(preflight_response()),
            Step::Reject(rejection) => {
                ResponseFuture::rejected(respond(&self.config, &self.rejection, &rejection, &parts))
            }
            Step::Verified { claims, renewal, check } => {
                let answer = match check.map(RevocationFuture::into_ready) {
                    None => Ok(RevocationStatus::Active),
                    Some(Ok(answer)) => answer,
                    Some(Err(pending)) => {
                        let ready_clone = self.inner.clone();
                        let service = std::mem::replace(&mut self.inner, ready_clone);
                        let waiting = Waiting {
                            service,
                            parts,
                            body,
                            claims,
                            renewal,
                            config: Arc::clone(&self.config),
                            rejection: self.rejection.clone(),
                        };
                        return ResponseFuture::checking(pending, waiting);
                    }
                };
                let mut parts = parts;
                match admit(&self.config, &mut parts, claims, answer) {
                    Ok(()) => ResponseFuture::inner(
                        self.inner.call(Request::from_parts(parts, body)),
                        renewal,
                    ),
                    Err(rejection) => ResponseFuture::rejected(respond(
                        &self.config,
                        &self.rejection,
                        &rejection,
                        &parts,
                    )),
                }
            }
        }
    }
}

/// The synchronous part: preflight, extraction, verification, renewal decision.
fn authenticate<C: DeserializeOwned + Clone + 'static>(
    config: &LayerConfig<C>,
    parts: &Parts,
) -> Step<C> {
    let core = &config.core;
    if config.allow_preflight && is_cors_preflight(parts) {
        tracing::debug!(target: "tower_sliding_jwt", "CORS preflight answered");
        return Step::Preflight;
    }
    let found = match extract(&core.sources, parts, core.rules.max_token_bytes) {
        Ok(Some(found)) => found,
        Ok(None) if config.optional => {
            tracing::debug!(target: "tower_sliding_jwt", "no token; optional mode");
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
    let now = core.now();
    let verified = match verify_cached(config, &found.token, now) {
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
    let registered = &verified.registered;
    let renewal = Renewal::plan(core, registered, &verified.role, &found.token, found.index, now);
    let check = core.revocation.as_ref().map(|check| check.check(registered));
    let token = match found.header {
        Some(value) => RawToken::in_header(value, &found.token),
        None => RawToken::copied(&found.token),
    };
    let vouched = verified.role.trusted_issuer();
    let claims = Claims::new(verified.registered, verified.custom, token, vouched);
    Step::Verified { claims, renewal, check }
}

/// Verify a token, or find it among the recently verified ones. A cached token's dates are
/// checked again against `now`; everything that depends on the request runs either way.
fn verify_cached<C: DeserializeOwned + Clone + 'static>(
    config: &LayerConfig<C>,
    token: &str,
    now: i64,
) -> Result<Verified<C>, TokenError> {
    let core = &config.core;
    let Some(cache) = &config.cache else {
        return core.verify::<C>(token, now);
    };
    // Entries verified under another remote key set (rotated since) do not count.
    let generation = core.key_generation();
    if let Some(hit) = cache.get(token, generation) {
        validate(&hit.registered, &hit.role, &core.rules, now)?;
        return Ok(hit);
    }
    let verified = core.verify::<C>(token, now)?;
    cache.insert(token, &verified, generation, now, core.rules.leeway);
    Ok(verified)
}

/// After the revocation answer: the authorization check, then the claims go into the request.
pub(crate) fn admit<C: Clone + Send + Sync + 'static>(
    config: &LayerConfig<C>,
    parts: &mut Parts,
    claims: Claims<C>,
    answer: Result<RevocationStatus, RevocationError>,
) -> Result<(), Rejection> {
    let registered = &claims.registered;
    let (sub, jti) = (registered.sub.as_deref(), registered.jti.as_deref());
    let refused = match answer {
        Ok(RevocationStatus::Active) => None,
        Ok(RevocationStatus::Revoked) => Some(Rejection::InvalidToken(TokenError::Revoked)),
        Err(error) => {
            tracing::warn!(target: "tower_sliding_jwt", sub, jti, %error, "revocation check failed");
            Some(match config.core.revocation_failure {
                RevocationFailure::ServiceUnavailable => Rejection::Unavailable,
                RevocationFailure::Unauthorized => {
                    Rejection::InvalidToken(TokenError::RevocationUnknown)
                }
            })
        }
    };
    let refused = refused.or_else(|| {
        let authorize = config.authorize.as_ref()?;
        authorize(&claims, parts).err().map(Rejection::Forbidden)
    });
    if let Some(rejection) = refused {
        tracing::debug!(target: "tower_sliding_jwt", sub, jti, reason = %rejection, "token refused");
        return Err(rejection);
    }
    tracing::debug!(target: "tower_sliding_jwt", sub, jti, "token accepted");
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
    let mut response =
        handler.respond(rejection, &RejectionContext { parts, realm: &config.realm });
    crate::reject::forbid_storing(response.headers_mut());
    response
}

/// The answer to a CORS preflight: 204 with an empty body. Browsers send preflights without
/// credentials, so they cannot be authenticated; answering them here means a request that only
/// looks like one never reaches the inner service. A CORS layer outside this one adds the
/// `Access-Control-Allow-*` headers (or answers the preflight itself before it gets here).
fn preflight_response<B: Default>() -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = http::StatusCode::NO_CONTENT;
    response
}

/// `OPTIONS` with `Origin` and `Access-Control-Request-Method`, and no gRPC content type (a gRPC
/// call is never a preflight, whatever else it carries).
fn is_cors_preflight(parts: &Parts) -> bool {
    parts.method == Method::OPTIONS
        && parts.headers.contains_key(http::header::ORIGIN)
        && parts.headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
        && !crate::reject::has_grpc_content_type(parts)
}

impl<S: Clone, C, R: Clone> Clone for JwtAuth<S, C, R> {
    fn clone(&self) -> Self {
        JwtAuth {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
            rejection: self.rejection.clone(),
        }
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for JwtAuth<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth").field("inner", &self.inner).finish_non_exhaustive()
    }
}
