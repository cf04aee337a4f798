//! axum 0.8 extractors (feature `axum`).

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE};

use crate::claims::Claims;
use crate::middleware::request::Anonymous;
use crate::rejection::Rejection;

/// The extractor's refusal when the request carries no [`Claims<C>`] of the type asked for.
///
/// - The layer let the request through without a token (optional mode): `401`, in the layer's
///   own rejection shape (the JSON of a custom [`RejectionHandler`](crate::RejectionHandler),
///   say).
/// - Otherwise the route is misconfigured: it is not behind a `JwtAuthLayer`, or the layer reads
///   another claims type (`JwtAuthLayer<User>` in front of a handler taking `Claims<Other>`).
///   That is a server bug, so it answers `500` and logs an error naming the type asked for and
///   the claims types of the layers built.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use tower::ServiceExt;
/// use tower_sliding_jwt::{Claims, JwtAuthLayer};
///
/// #[derive(serde::Deserialize)]
/// struct Other {}
///
/// // The layer reads `NoCustomClaims`; the handler asks for `Claims<Other>`.
/// let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
/// let token = auth.issuer().issue("7", &())?.token;
/// let app = Router::new().route("/", get(|_: Claims<Other>| async { "never" })).layer(auth);
/// let request = Request::get("/").header("authorization", format!("Bearer {token}"));
/// let response = app.oneshot(request.body(Body::empty())?).await?;
/// assert_eq!(response.status(), 500);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct MissingClaims {
    /// The layer's own refusal, for a request it let through without a token.
    response: Option<Response>,
}

impl MissingClaims {
    /// Why `Claims<C>` is not in the request, and what to answer.
    fn of<C>(parts: &Parts) -> MissingClaims {
        if let Some(anonymous) = parts.extensions.get::<Anonymous>() {
            let refusal = (anonymous.refuse)(&Rejection::Missing, parts);
            let response = refusal.downcast::<Response>().ok().map(|response| *response);
            return MissingClaims { response: Some(response.unwrap_or_else(unauthorized)) };
        }
        crate::claims::report_foreign_claims::<C>();
        MissingClaims { response: None }
    }

    /// Whether the request was let through without a token (rather than a misconfiguration).
    ///
    /// ```
    /// # fn check(refusal: tower_sliding_jwt::MissingClaims) {
    /// if refusal.is_anonymous() {
    ///     // ask the user to log in
    /// }
    /// # }
    /// ```
    pub fn is_anonymous(&self) -> bool {
        self.response.is_some()
    }
}

fn unauthorized() -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "authentication required").into_response();
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

impl std::fmt::Debug for MissingClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MissingClaims").field("anonymous", &self.is_anonymous()).finish()
    }
}

impl std::fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_anonymous() {
            "authentication required"
        } else {
            "the request carries no claims of the type the handler asks for"
        })
    }
}

impl std::error::Error for MissingClaims {}

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        match self.response {
            Some(response) => response,
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// `Claims<C>` as an extractor: the claims the layer verified.
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_sliding_jwt::Claims;
///
/// async fn whoami(claims: Claims) -> String {
///     claims.subject().unwrap_or_default().to_owned()
/// }
///
/// async fn greeting(claims: Option<Claims>) -> &'static str {
///     if claims.is_some() { "welcome back" } else { "hello, stranger" }
/// }
///
/// let app: Router = Router::new().route("/whoami", get(whoami)).route("/", get(greeting));
/// ```
impl<S, C> FromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = MissingClaims;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Claims<C>>() {
            Some(claims) => Ok(claims.clone()),
            None => Err(MissingClaims::of::<C>(parts)),
        }
    }
}

/// `Option<Claims<C>>`: `None` for an anonymous request in optional mode (and a
/// misconfigured route is refused as [`MissingClaims`] says).
impl<S, C> OptionalFromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = MissingClaims;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match parts.extensions.get::<Claims<C>>() {
            Some(claims) => Ok(Some(claims.clone())),
            None if parts.extensions.get::<Anonymous>().is_some() => Ok(None),
            None => Err(MissingClaims::of::<C>(parts)),
        }
    }
}

impl IntoResponse for crate::LoggedOut {
    fn into_response(self) -> Response {
        crate::LoggedOut::into_response(self)
    }
}
