//! [`JwtAuth`]: the middleware service. Its `call` only dispatches on the request phase's
//! decision.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::claims::NoCustomClaims;
use crate::middleware::future::{Check, ResponseFuture, Waiting};
#[cfg(any(feature = "axum", feature = "tonic"))]
use crate::middleware::request::mark_anonymous;
use crate::middleware::request::{
    LayerConfig, Pending, Step, admit, authenticate, preflight_response, respond,
};
use crate::rejection::{DefaultRejection, RejectionHandler};
use crate::revocation::RevocationStatus;

/// The service made by [`JwtAuthLayer`](crate::JwtAuthLayer).
///
/// Verification and the renewal decision run synchronously in `call`; the inner service is
/// called with the request unchanged except for its extensions ([`Claims<C>`](crate::Claims),
/// which carries the token). Only an asynchronous check (a revocation store that returns a
/// pending [`RevocationFuture`](crate::revocation::RevocationFuture), or the route's own check from
/// [`JwtAuthLayer::require`](crate::JwtAuthLayer::require)) waits before calling it; that path
/// moves the readied inner service into the future and leaves a clone behind, the usual Tower
/// pattern, hence `S: Clone`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt, service_fn};
/// use tower_sliding_jwt::JwtAuthLayer;
///
/// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
/// let inner = service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new(())) });
/// let service = layer.layer(inner); // a JwtAuth
/// let response = service.oneshot(Request::new(())).await?;
/// assert_eq!(response.status(), 401, "no token");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
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
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let service = layer.layer(vec!["the inner service"]);
    /// assert_eq!(service.get_ref()[0], "the inner service");
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let mut service = layer.layer(vec![1]);
    /// service.get_mut().push(2);
    /// assert_eq!(service.get_ref(), &[1, 2]);
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwrap the inner service.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let service = layer.layer(String::from("inner"));
    /// assert_eq!(service.into_inner(), "inner");
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuth<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: DeserializeOwned + Send + Sync + 'static,
    R: RejectionHandler<ResBody>,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, C, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        match authenticate(&self.config, &parts, true) {
            Step::Pass => {
                #[cfg(any(feature = "axum", feature = "tonic"))]
                let mut parts = parts;
                #[cfg(any(feature = "axum", feature = "tonic"))]
                mark_anonymous(&self.config, &self.rejection, &mut parts);
                ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)), None)
            }
            Step::Preflight => ResponseFuture::rejected(preflight_response()),
            Step::Reject(rejection) => {
                ResponseFuture::rejected(respond(&self.config, &self.rejection, &rejection, &parts))
            }
            #[cfg(feature = "jwks")]
            Step::AwaitKeys(wait) => {
                let waiting = self.waiting(parts, body, None, None);
                ResponseFuture::checking(Check::Keys(wait), waiting)
            }
            Step::Verified { claims, renewal, check } => {
                let answer = match check.map(Pending::into_ready) {
                    None => Ok(Ok(RevocationStatus::Active)),
                    Some(ready) => ready,
                };
                let mut parts = parts;
                let pending = match answer {
                    // Answered at once: admitted (or refused) here, with no future of its own.
                    Ok(answer) => match admit(&self.config, &mut parts, claims, answer) {
                        Ok(()) => None,
                        Err(rejection) => {
                            let response =
                                respond(&self.config, &self.rejection, &rejection, &parts);
                            return ResponseFuture::rejected(response);
                        }
                    },
                    Err(pending) => Some((claims, pending)),
                };
                if pending.is_none() && self.config.require.is_none() {
                    return ResponseFuture::inner(
                        self.inner.call(Request::from_parts(parts, body)),
                        renewal,
                    );
                }
                let (claims, pending) = pending.unzip();
                let waiting = self.waiting(parts, body, claims, renewal);
                match pending {
                    Some(pending) => ResponseFuture::checking(Check::Revocation(pending), waiting),
                    None => ResponseFuture::from_state(waiting.admitted()),
                }
            }
        }
    }
}

impl<S: Clone, C, R: Clone> JwtAuth<S, C, R> {
    /// A request that waits for a check: the readied service goes with it, a clone stays for the
    /// next one.
    fn waiting<B>(
        &mut self,
        parts: http::request::Parts,
        body: B,
        claims: Option<crate::Claims<C>>,
        renewal: Option<crate::middleware::renew::PlannedRenewal>,
    ) -> Waiting<S, B, C, R> {
        let ready_clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, ready_clone);
        let config = Arc::clone(&self.config);
        Waiting { service, parts, body, claims, renewal, config, rejection: self.rejection.clone() }
    }
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
