//! axum 0.8 extractors (feature `axum`).

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE};

use crate::claims::Claims;

/// The claims are not in the request: the route is not behind the layer, or the layer is in
/// optional mode and the request carried no token. Answers `401` with `WWW-Authenticate: Bearer`.
///
/// ```
/// use axum::response::IntoResponse;
/// use tower_sliding_jwt::MissingClaims;
///
/// let response = MissingClaims.into_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MissingClaims;

impl std::fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("authentication required")
    }
}

impl std::error::Error for MissingClaims {}

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::UNAUTHORIZED, "authentication required").into_response();
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
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
        parts.extensions.get::<Claims<C>>().cloned().ok_or(MissingClaims)
    }
}

/// `Option<Claims<C>>`: `None` for an anonymous request in optional mode.
impl<S, C> OptionalFromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Claims<C>>().cloned())
    }
}
