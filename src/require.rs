//! Per-route requirements on the verified claims: [`RequireClaimsLayer`] lets a request through
//! only if its claims pass a check (which may be asynchronous and answers with any
//! [`Rejection`]), and [`require_scope`] is the check for an OAuth scope. It goes inside a
//! [`JwtAuthLayer`](crate::JwtAuthLayer), which verifies the token and puts the claims where
//! this layer reads them.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt;
//! use tower_sliding_jwt::require::{RequireClaimsLayer, require_scope};
//! use tower_sliding_jwt::testing::TokenFactory;
//! use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
//!
//! let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
//! let tokens = TokenFactory::for_layer(&auth);
//! let app = Router::new()
//!     .route("/reports", get(|| async { "reports" }))
//!     .route_layer(RequireClaimsLayer::<NoCustomClaims, _>::new(require_scope("reports:read")))
//!     .layer(auth);
//! let call = |scope: &str| {
//!     let token = tokens.valid("7", &serde_json::json!({ "scope": scope })).unwrap();
//!     let request = tokens.request(Request::get("/reports"), &token).body(Body::empty()).unwrap();
//!     app.clone().oneshot(request)
//! };
//! assert_eq!(call("profile reports:read").await?.status(), 200);
//! let refused = call("profile").await?;
//! assert_eq!(refused.status(), 403);
//! assert!(refused.headers()["www-authenticate"].to_str()?.contains(r#"scope="reports:read""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready as ready_poll};

use http::request::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::claims::Claims;
use crate::error::ConfigError;
use crate::jws::payload_of;
use crate::reject::{
    DefaultRejection, Forbidden, Rejection, RejectionContext, RejectionHandler, forbid_storing,
    quotable,
};

/// A check of a request's verified claims: a closure
/// `Fn(Claims<C>, &Parts) -> impl Future<Output = Result<(), Rejection>>`, or a ready-made check
/// such as [`require_scope`].
///
/// ```
/// use std::future::{Ready, ready};
/// use tower_sliding_jwt::require::ClaimsCheck;
/// use tower_sliding_jwt::{Claims, Forbidden, Rejection};
///
/// /// One service account only.
/// struct Only(&'static str);
///
/// impl<C: Send + Sync + 'static> ClaimsCheck<C> for Only {
///     type Future = Ready<Result<(), Rejection>>;
///     fn check(&self, claims: Claims<C>, _: &http::request::Parts) -> Self::Future {
///         let ok = claims.subject() == Some(self.0);
///         ready(if ok { Ok(()) } else { Err(Rejection::Forbidden(Forbidden::default())) })
///     }
/// }
/// ```
pub trait ClaimsCheck<C>: Send + Sync + 'static {
    /// The answer, ready or to come.
    type Future: Future<Output = Result<(), Rejection>>;

    /// Check `claims`, with the request head at hand.
    fn check(&self, claims: Claims<C>, request: &Parts) -> Self::Future;
}

impl<C, F, Fut> ClaimsCheck<C> for F
where
    F: Fn(Claims<C>, &Parts) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Rejection>>,
{
    type Future = Fut;

    fn check(&self, claims: Claims<C>, request: &Parts) -> Fut {
        self(claims, request)
    }
}

/// Requires the verified [`Claims<C>`] of each request to pass `check`:
/// `Fn(Claims<C>, &Parts) -> impl Future<Output = Result<(), Rejection>>`. A request without
/// claims (not behind a [`JwtAuthLayer`](crate::JwtAuthLayer), or anonymous in optional mode) is
/// refused with [`Rejection::Missing`]; a refusal never reaches the inner service.
///
/// The check gets the claims (a reference-counted clone) and the request head, and returns a
/// future that owns what it needs, so it may ask a database or a policy service.
///
/// ```
/// use tower_sliding_jwt::require::RequireClaimsLayer;
/// use tower_sliding_jwt::{Claims, Forbidden, Rejection};
///
/// // Only the owner of /users/{id}/... may go on.
/// let owner_only = RequireClaimsLayer::new(|claims: Claims, request: &http::request::Parts| {
///     let owner = request.uri.path().split('/').nth(2).map(str::to_owned);
///     async move {
///         match owner.as_deref() == claims.subject() {
///             true => Ok(()),
///             false => Err(Rejection::Forbidden(Forbidden::new("not your account"))),
///         }
///     }
/// });
/// ```
pub struct RequireClaimsLayer<C, F, R = DefaultRejection> {
    check: Arc<F>,
    rejection: R,
    realm: Arc<str>,
    claims: PhantomData<fn() -> C>,
}

impl<C, F: ClaimsCheck<C>> RequireClaimsLayer<C, F> {
    /// Require `check` to pass; refusals in the default shape, realm `api`.
    ///
    /// ```
    /// use tower_sliding_jwt::require::{RequireClaimsLayer, require_scope};
    /// use tower_sliding_jwt::Claims;
    ///
    /// let admins = RequireClaimsLayer::<Claims, _>::new(require_scope("admin"));
    /// ```
    pub fn new(check: F) -> RequireClaimsLayer<C, F> {
        RequireClaimsLayer {
            check: Arc::new(check),
            rejection: DefaultRejection,
            realm: Arc::from("api"),
            claims: PhantomData,
        }
    }
}

impl<C, F, R> RequireClaimsLayer<C, F, R> {
    /// Build refusals with `handler`, like the [`JwtAuthLayer`](crate::JwtAuthLayer) in front
    /// (see [`RejectionHandler`]).
    ///
    /// ```
    /// use tower_sliding_jwt::require::{RequireClaimsLayer, require_scope};
    /// use tower_sliding_jwt::{Claims, Rejection, RejectionContext};
    ///
    /// let layer = RequireClaimsLayer::<Claims, _>::new(require_scope("admin"))
    ///     .realm("backoffice")?
    ///     .rejection_handler(|rejection: &Rejection, context: &RejectionContext<'_>| {
    ///         rejection.default_response::<String>(context)
    ///     });
    /// # Ok::<(), tower_sliding_jwt::ConfigError>(())
    /// ```
    pub fn rejection_handler<R2>(self, handler: R2) -> RequireClaimsLayer<C, F, R2> {
        RequireClaimsLayer {
            check: self.check,
            rejection: handler,
            realm: self.realm,
            claims: PhantomData,
        }
    }

    /// The realm of `WWW-Authenticate` challenges. Default `api`. A realm that could break out
    /// of its quoted string (a `"`, a `\\`, a control character) is refused.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::require::{RequireClaimsLayer, require_scope};
    /// use tower_sliding_jwt::Claims;
    ///
    /// let layer = RequireClaimsLayer::<Claims, _>::new(require_scope("admin"))
    ///     .realm("backoffice")?;
    /// assert!(RequireClaimsLayer::<Claims, _>::new(require_scope("admin")).realm("a\", x=\"").is_err());
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// // Without the JwtAuthLayer in front there are no claims: refused, in this realm.
    /// let response = layer.layer(inner).oneshot(Request::new(())).await?;
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="backoffice""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn realm(mut self, realm: impl AsRef<str>) -> Result<Self, ConfigError> {
        if !quotable(realm.as_ref()) {
            return Err(ConfigError::InvalidHeaderValue("realm"));
        }
        self.realm = Arc::from(realm.as_ref());
        Ok(self)
    }
}

impl<S, C, F, R: Clone> Layer<S> for RequireClaimsLayer<C, F, R> {
    type Service = RequireClaims<S, C, F, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireClaims {
            inner,
            check: Arc::clone(&self.check),
            rejection: self.rejection.clone(),
            realm: Arc::clone(&self.realm),
            claims: PhantomData,
        }
    }
}

impl<C, F, R: Clone> Clone for RequireClaimsLayer<C, F, R> {
    fn clone(&self) -> Self {
        RequireClaimsLayer {
            check: Arc::clone(&self.check),
            rejection: self.rejection.clone(),
            realm: Arc::clone(&self.realm),
            claims: PhantomData,
        }
    }
}

impl<C, F, R> fmt::Debug for RequireClaimsLayer<C, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireClaimsLayer").field("realm", &self.realm).finish_non_exhaustive()
    }
}

/// The service made by [`RequireClaimsLayer`].
///
/// ```
/// use tower::Layer;
/// use tower_sliding_jwt::NoCustomClaims;
/// use tower_sliding_jwt::require::{RequireClaims, RequireClaimsLayer, require_scope};
///
/// let inner = tower::service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// });
/// let service: RequireClaims<_, NoCustomClaims, _, _> =
///     RequireClaimsLayer::new(require_scope("read")).layer(inner);
/// ```
pub struct RequireClaims<S, C, F, R> {
    inner: S,
    check: Arc<F>,
    rejection: R,
    realm: Arc<str>,
    claims: PhantomData<fn() -> C>,
}

impl<S, C, F, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireClaims<S, C, F, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: Send + Sync + 'static,
    F: ClaimsCheck<C>,
    R: RejectionHandler<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireFuture<S, ReqBody, F::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let Some(claims) = parts.extensions.get::<Claims<C>>().cloned() else {
            let response = refuse(&self.rejection, &Rejection::Missing, &parts, &self.realm);
            return RequireFuture { state: State::Done { response: Some(response) } };
        };
        let check = self.check.check(claims, &parts);
        // The readied service goes with the request; a clone stays for the next one.
        let ready_clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, ready_clone);
        RequireFuture {
            state: State::Checking {
                check,
                waiting: Some(Waiting {
                    service,
                    parts,
                    body,
                    rejection: self.rejection.clone(),
                    realm: Arc::clone(&self.realm),
                }),
            },
        }
    }
}

impl<S: Clone, C, F, R: Clone> Clone for RequireClaims<S, C, F, R> {
    fn clone(&self) -> Self {
        RequireClaims {
            inner: self.inner.clone(),
            check: Arc::clone(&self.check),
            rejection: self.rejection.clone(),
            realm: Arc::clone(&self.realm),
            claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, C, F, R> fmt::Debug for RequireClaims<S, C, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireClaims").field("inner", &self.inner).finish_non_exhaustive()
    }
}

/// A refusal in the handler's shape, never cacheable.
fn refuse<R: RejectionHandler<B>, B>(
    handler: &R,
    rejection: &Rejection,
    parts: &Parts,
    realm: &str,
) -> Response<B> {
    let mut response = handler.respond(rejection, &RejectionContext { parts, realm });
    forbid_storing(response.headers_mut());
    response
}

/// A request waiting for its check.
struct Waiting<S, ReqBody, R> {
    service: S,
    parts: Parts,
    body: ReqBody,
    rejection: R,
    realm: Arc<str>,
}

pin_project! {
    /// The response future of [`RequireClaims`]: the check, then the inner service's answer
    /// (or the refusal).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, Service, ServiceExt, service_fn};
    /// use tower_sliding_jwt::Claims;
    /// use tower_sliding_jwt::require::{RequireClaimsLayer, RequireFuture, require_scope};
    ///
    /// let layer = RequireClaimsLayer::<Claims, _>::new(require_scope("admin"));
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let mut service = layer.layer(inner);
    /// let future: RequireFuture<_, _, _, _> = service.ready().await?.call(Request::new(()));
    /// assert_eq!(future.await?.status(), 401, "no claims, so refused");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub struct RequireFuture<S, ReqBody, Fut, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, Fut, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, Fut, R>
    where
        S: Service<Request<ReqBody>>,
    {
        Checking {
            #[pin]
            check: Fut,
            waiting: Option<Waiting<S, ReqBody, R>>,
        },
        Inner {
            #[pin]
            future: S::Future,
        },
        Done {
            response: Option<S::Response>,
        },
    }
}

impl<S, ReqBody, ResBody, Fut, R> Future for RequireFuture<S, ReqBody, Fut, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    Fut: Future<Output = Result<(), Rejection>>,
    R: RejectionHandler<ResBody>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            let next = match state.as_mut().project() {
                StateProj::Checking { check, waiting } => {
                    let verdict = ready_poll!(check.poll(cx));
                    let Some(Waiting { mut service, parts, body, rejection, realm }) =
                        waiting.take()
                    else {
                        panic!("RequireFuture polled after completion");
                    };
                    match verdict {
                        Ok(()) => {
                            State::Inner { future: service.call(Request::from_parts(parts, body)) }
                        }
                        Err(refusal) => State::Done {
                            response: Some(refuse(&rejection, &refusal, &parts, &realm)),
                        },
                    }
                }
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Done { response } => {
                    let response = response.take().expect("RequireFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
            };
            state.set(next);
        }
    }
}

/// The check for an OAuth scope (RFC 6749 section 3.3): the token's `scope` (space-separated)
/// or `scp` (an array, or a string) must contain `scope`, whatever the claims type reads. A
/// token without it is refused with `403 insufficient_scope` and the challenge's `scope`
/// attribute (RFC 6750 section 3.1).
///
/// ```
/// use tower_sliding_jwt::NoCustomClaims;
/// use tower_sliding_jwt::require::{RequireClaimsLayer, require_scope};
///
/// let writers = RequireClaimsLayer::<NoCustomClaims, _>::new(require_scope("reports:write"));
/// ```
pub fn require_scope(scope: impl Into<String>) -> RequireScope {
    RequireScope { scope: Arc::from(scope.into()) }
}

/// The check made by [`require_scope`].
///
/// ```
/// use tower_sliding_jwt::require::{RequireScope, require_scope};
///
/// let check: RequireScope = require_scope("admin");
/// assert_eq!(check.scope(), "admin");
/// ```
#[derive(Debug, Clone)]
pub struct RequireScope {
    scope: Arc<str>,
}

impl RequireScope {
    /// The scope required.
    ///
    /// ```
    /// use tower_sliding_jwt::require::require_scope;
    ///
    /// assert_eq!(require_scope("reports:read").scope(), "reports:read");
    /// ```
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

impl<C> ClaimsCheck<C> for RequireScope {
    type Future = Ready<Result<(), Rejection>>;

    fn check(&self, claims: Claims<C>, _: &Parts) -> Self::Future {
        let scope = &*self.scope;
        let granted = granted_scopes(claims.token().as_str());
        ready(if granted.iter().any(|granted| granted == scope) {
            Ok(())
        } else {
            let refusal = Forbidden::new(format!("the {scope} scope is required"))
                .with_scope(scope.to_owned());
            Err(Rejection::Forbidden(refusal))
        })
    }
}

/// The scopes a verified token grants: `scope` split on spaces, or the strings of `scp`.
fn granted_scopes(token: &str) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Scopes {
        #[serde(default)]
        scope: Option<String>,
        #[serde(default)]
        scp: Option<serde_json::Value>,
    }
    let payload = payload_of(token);
    let Some(Scopes { scope, scp }) = payload.and_then(|p| serde_json::from_slice(&p).ok()) else {
        return Vec::new();
    };
    // Scopes are separated by the space character alone (RFC 6749 section 3.3): any other
    // whitespace is part of a scope, so `"profile\u{a0}reports:read"` grants neither.
    let split =
        |s: &str| s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let mut granted: Vec<String> = scope.iter().flat_map(|s| split(s)).collect();
    match scp {
        Some(serde_json::Value::String(s)) => granted.extend(split(&s)),
        Some(serde_json::Value::Array(list)) => {
            granted.extend(list.into_iter().filter_map(|v| v.as_str().map(str::to_owned)))
        }
        _ => {}
    }
    granted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!("e30.{}.c2ln", crate::base64url::encode(payload.as_bytes()))
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        assert_eq!(granted_scopes(&token(r#"{"scope":"a  b c"}"#)), ["a", "b", "c"]);
        assert_eq!(granted_scopes(&token(r#"{"scp":["a","b",7]}"#)), ["a", "b"]);
        assert_eq!(granted_scopes(&token(r#"{"scp":"a b"}"#)), ["a", "b"]);
        assert!(granted_scopes(&token(r#"{"scope":7}"#)).is_empty());
        assert!(granted_scopes("garbage").is_empty());
        for spaces in ["\u{a0}", "\t", "\n", "\u{2003}", "\u{3000}"] {
            let scope = format!("profile{spaces}reports:read");
            let json = serde_json::json!({ "scope": scope, "scp": scope }).to_string();
            assert!(
                !granted_scopes(&token(&json)).iter().any(|s| s == "reports:read"),
                "{spaces:?}"
            );
        }
    }
}
