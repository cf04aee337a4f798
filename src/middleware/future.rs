//! [`ResponseFuture`]: the response future of [`JwtAuth`](crate::JwtAuth).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::claims::Claims;
use crate::middleware::renew::PlannedRenewal;
use crate::middleware::request::{ClaimsFuture, LayerConfig, Pending, admit, respond};
#[cfg(feature = "jwks")]
use crate::middleware::request::{Step, authenticate};
use crate::rejection::{Rejection, RejectionHandler};
use crate::revocation::RevocationFuture;
#[cfg(feature = "jwks")]
use crate::revocation::RevocationStatus;

pin_project! {
    /// The response future of [`JwtAuth`](crate::JwtAuth).
    ///
    /// Either the inner service's future (plus, when the token renews, the renewal to write into
    /// its response), a rejection ready to return, or a check to wait for before the inner
    /// service is called: an asynchronous revocation answer, then the route's own check of the
    /// claims ([`JwtAuthLayer::require`](crate::JwtAuthLayer::require)); or, for a token whose
    /// key no remote JWK Set knows yet, the refetch of the sets. With an asynchronous
    /// store, the revocation answer is awaited again before a successor is signed (the handler
    /// may have ended the session).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use http::{Request, Response};
    /// use tower::{Layer, Service, ServiceExt, service_fn};
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new(())) });
    /// let mut service = layer.layer(inner);
    /// let future = service.ready().await?.call(Request::new(())); // a ResponseFuture
    /// assert_eq!(future.await?.status(), 401);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub struct ResponseFuture<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, C, R>,
    }
}

pin_project! {
    #[project = StateProj]
    pub(crate) enum State<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner {
            #[pin]
            future: S::Future,
            renewal: Option<PlannedRenewal>,
        },
        Checking {
            check: Check,
            waiting: Option<Waiting<S, ReqBody, C, R>>,
        },
        Renewing {
            check: RevocationFuture,
            response: Option<S::Response>,
            renewal: Option<PlannedRenewal>,
        },
        Rejected {
            response: Option<S::Response>,
        },
    }
}

/// What a verified request waits for before the inner service is called.
pub(crate) enum Check {
    /// The revocation store's answer (after a shared replay store's, with DPoP); the claims
    /// are admitted after it.
    Revocation(Pending),
    /// The route's own check of the admitted claims.
    Claims(ClaimsFuture),
    /// A refetch of the remote key sets; the request is then decided again.
    #[cfg(feature = "jwks")]
    Keys(crate::jwks::KeysFuture),
}

/// A verified request waiting for a check.
pub(crate) struct Waiting<S, ReqBody, C, R> {
    pub(crate) service: S,
    pub(crate) parts: Parts,
    pub(crate) body: ReqBody,
    /// Until they are admitted into the request.
    pub(crate) claims: Option<Claims<C>>,
    pub(crate) renewal: Option<PlannedRenewal>,
    pub(crate) config: Arc<LayerConfig<C>>,
    pub(crate) rejection: R,
}

impl<S, ReqBody, C, R> Waiting<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>>,
    C: Send + Sync + 'static,
{
    /// The claims are in the request: the route's check if it has one, else the call.
    pub(crate) fn admitted<ResBody>(self) -> State<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        R: RejectionHandler<ResBody>,
    {
        let Some(require) = &self.config.require else {
            return self.call();
        };
        // Admitted claims are always there; if they were not, the check could not pass.
        let Some(claims) = self.parts.extensions.get::<Claims<C>>().cloned() else {
            return self.refused(&Rejection::Missing);
        };
        let check = require(claims, &self.parts);
        State::Checking { check: Check::Claims(check), waiting: Some(self) }
    }

    /// Decided again, after the remote key sets were fetched: as the service would have at once.
    #[cfg(feature = "jwks")]
    fn decided<ResBody>(mut self, step: Step<C>) -> State<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        R: RejectionHandler<ResBody>,
    {
        match step {
            Step::Reject(refusal) => self.refused(&refusal),
            Step::Verified { claims, renewal, check } => {
                self.renewal = renewal;
                match check {
                    Some(check) => {
                        self.claims = Some(claims);
                        State::Checking { check: Check::Revocation(check), waiting: Some(self) }
                    }
                    None => match admit(
                        &self.config,
                        &mut self.parts,
                        claims,
                        Ok(RevocationStatus::Active),
                    ) {
                        Ok(()) => self.admitted(),
                        Err(refusal) => self.refused(&refusal),
                    },
                }
            }
            // The request is the one that carried a token: it is no preflight and not without
            // one, and it waits for keys only once.
            Step::Pass | Step::Preflight | Step::AwaitKeys(_) => self.refused(&Rejection::Missing),
        }
    }

    /// Every check passed.
    fn call(mut self) -> State<S, ReqBody, C, R> {
        let future = self.service.call(Request::from_parts(self.parts, self.body));
        State::Inner { future, renewal: self.renewal }
    }

    /// A check refused: the layer's refusal, in its handler's shape.
    fn refused<ResBody>(self, refusal: &Rejection) -> State<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        R: RejectionHandler<ResBody>,
    {
        let response = respond(&self.config, &self.rejection, refusal, &self.parts);
        State::Rejected { response: Some(response) }
    }
}

impl<S, ReqBody, C, R> ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future, renewal: Option<PlannedRenewal>) -> Self {
        ResponseFuture { state: State::Inner { future, renewal } }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        ResponseFuture { state: State::Rejected { response: Some(response) } }
    }

    pub(crate) fn checking(check: Check, waiting: Waiting<S, ReqBody, C, R>) -> Self {
        ResponseFuture { state: State::Checking { check, waiting: Some(waiting) } }
    }

    pub(crate) fn from_state(state: State<S, ReqBody, C, R>) -> Self {
        ResponseFuture { state }
    }
}

impl<S, ReqBody, ResBody, C, R> Future for ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: DeserializeOwned + Send + Sync + 'static,
    R: RejectionHandler<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Inner { future, renewal } => {
                    let mut response = ready!(future.poll(cx))?;
                    let Some(renewal) = renewal.take() else {
                        return Poll::Ready(Ok(response));
                    };
                    match renewal.recheck(&response).map(RevocationFuture::into_ready) {
                        None => renewal.apply(&mut response),
                        Some(Ok(answer)) => renewal.apply_checked(&mut response, answer),
                        Some(Err(check)) => {
                            let (response, renewal) = (Some(response), Some(renewal));
                            state.set(State::Renewing { check, response, renewal });
                            continue;
                        }
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Renewing { check, response, renewal } => {
                    let answer = ready!(Pin::new(check).poll(cx));
                    let mut response =
                        response.take().expect("ResponseFuture polled after completion");
                    if let Some(renewal) = renewal.take() {
                        renewal.apply_checked(&mut response, answer);
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Rejected { response } => {
                    let response = response.take().expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
                StateProj::Checking { check, waiting } => match check {
                    Check::Revocation(answer) => {
                        let answer = ready!(Pin::new(answer).poll(cx));
                        let mut waiting = waiting.take().expect("polled after completion");
                        let claims = waiting.claims.take().expect("claims admitted once");
                        match answer.and_then(|answer| {
                            admit(&waiting.config, &mut waiting.parts, claims, answer)
                        }) {
                            Ok(()) => waiting.admitted(),
                            Err(refusal) => waiting.refused(&refusal),
                        }
                    }
                    #[cfg(feature = "jwks")]
                    Check::Keys(wait) => {
                        ready!(wait.as_mut().poll(cx));
                        let waiting = waiting.take().expect("polled after completion");
                        let step = authenticate(&waiting.config, &waiting.parts, false);
                        waiting.decided(step)
                    }
                    Check::Claims(check) => {
                        let outcome = ready!(check.as_mut().poll(cx));
                        let waiting = waiting.take().expect("polled after completion");
                        match outcome {
                            Ok(()) => {
                                waiting
                                    .config
                                    .core
                                    .meters
                                    .request(crate::metrics::Outcome::Accepted);
                                waiting.call()
                            }
                            Err(refusal) => waiting.refused(&refusal),
                        }
                    }
                },
            };
            state.set(next);
        }
    }
}
