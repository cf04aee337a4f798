//! Why a request is refused, and the HTTP or gRPC response that says so.

use std::borrow::Cow;
use std::fmt;

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::error::{DpopError, InvalidRequest, TokenError};
use crate::headers::{forbid_storing, has_grpc_content_type, made_quotable};

/// Why a request was refused. The inner service is never called for it, and its response never
/// carries a renewed token.
///
/// | variant | HTTP | gRPC |
/// |---|---|---|
/// | [`Missing`](Rejection::Missing) | 401, `WWW-Authenticate: Bearer realm="…"` | `grpc-status: 16` |
/// | [`InvalidRequest`](Rejection::InvalidRequest) | 400, `error="invalid_request"` | `grpc-status: 16` |
/// | [`InvalidToken`](Rejection::InvalidToken) | 401, `error="invalid_token"` | `grpc-status: 16` |
/// | [`Forbidden`](Rejection::Forbidden) | 403, `error="insufficient_scope"` | `grpc-status: 7` |
/// | [`Unavailable`](Rejection::Unavailable) | 503 | `grpc-status: 14` |
/// | [`CrossSite`](Rejection::CrossSite) | 403, no challenge | `grpc-status: 7` |
///
/// `error_description` (HTTP) and `grpc-message` name the reason class, never the token.
///
/// ```
/// use tower_sliding_jwt::Rejection;
/// use tower_sliding_jwt::error::TokenError;
///
/// let expired = Rejection::InvalidToken(TokenError::Expired);
/// assert_eq!(expired.status(), 401);
/// assert_eq!(expired.error_code(), Some("invalid_token"));
/// assert_eq!(expired.grpc_code(), 16);
/// assert_eq!(expired.to_string(), "the token has expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// No token in any configured source.
    Missing,
    /// A source was present but ambiguous or malformed.
    InvalidRequest(InvalidRequest),
    /// The token failed verification.
    InvalidToken(TokenError),
    /// The token is valid but the authorization check refused the request.
    Forbidden(Forbidden),
    /// The revocation store could not be asked and the layer is configured to fail closed with
    /// 503 (see [`RevocationFailure`](crate::revocation::RevocationFailure)).
    Unavailable,
    /// A request authenticated by a cookie, with an unsafe method, from another site (see
    /// [`CsrfPolicy`](crate::CsrfPolicy)).
    CrossSite,
    /// The DPoP proof is missing or wrong, or the token does not go with the scheme it came
    /// with (see [`DpopPolicy`](crate::DpopPolicy)).
    InvalidDpopProof(DpopError),
}

/// A refusal by the authorization check: HTTP 403 `insufficient_scope`, gRPC
/// `PERMISSION_DENIED`.
///
/// ```
/// use tower_sliding_jwt::Forbidden;
///
/// let refusal = Forbidden::new("the admin role is required");
/// assert_eq!(refusal.description(), "the admin role is required");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    description: Cow<'static, str>,
    scope: Option<Cow<'static, str>>,
}

impl Forbidden {
    /// A refusal with a description for `error_description` / `grpc-message`. Characters that
    /// cannot appear in a quoted header parameter are replaced with `?`.
    ///
    /// ```
    /// use tower_sliding_jwt::Forbidden;
    ///
    /// // A quote would end the challenge's parameter early.
    /// assert_eq!(Forbidden::new(r#"not "yours""#).description(), "not ?yours?");
    /// ```
    pub fn new(description: impl Into<Cow<'static, str>>) -> Forbidden {
        Forbidden { description: made_quotable(description.into()), scope: None }
    }

    /// The scope the request needs, for the challenge's `scope` attribute (RFC 6750 section 3).
    ///
    /// ```
    /// use tower_sliding_jwt::{Forbidden, Rejection};
    ///
    /// let refusal = Forbidden::new("the reports:write scope is required").with_scope("reports:write");
    /// let challenge = Rejection::Forbidden(refusal).www_authenticate("api");
    /// assert!(challenge.to_str()?.ends_with(r#", scope="reports:write""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_scope(mut self, scope: impl Into<Cow<'static, str>>) -> Forbidden {
        self.scope = Some(made_quotable(scope.into()));
        self
    }

    /// The description.
    ///
    /// ```
    /// use tower_sliding_jwt::Forbidden;
    ///
    /// assert_eq!(Forbidden::new("admins only").description(), "admins only");
    /// ```
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The scope the request needs, if the refusal names one.
    ///
    /// ```
    /// use tower_sliding_jwt::Forbidden;
    ///
    /// assert_eq!(Forbidden::new("read only").scope(), None);
    /// let refusal = Forbidden::new("read only").with_scope("orders:write");
    /// assert_eq!(refusal.scope(), Some("orders:write"));
    /// ```
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl Default for Forbidden {
    fn default() -> Self {
        Forbidden::new("the token does not grant access to this resource")
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Missing => f.write_str("no token was presented"),
            Rejection::InvalidRequest(reason) => reason.fmt(f),
            Rejection::InvalidToken(reason) => reason.fmt(f),
            Rejection::Forbidden(refusal) => f.write_str(refusal.description()),
            Rejection::Unavailable => f.write_str("the token cannot be checked right now"),
            Rejection::CrossSite => f.write_str(
                "cross-site request refused: a request authenticated by a cookie must come from \
                 the application's own pages",
            ),
            Rejection::InvalidDpopProof(reason) => reason.fmt(f),
        }
    }
}

impl std::error::Error for Rejection {}

impl From<TokenError> for Rejection {
    fn from(reason: TokenError) -> Self {
        Rejection::InvalidToken(reason)
    }
}

impl From<InvalidRequest> for Rejection {
    fn from(reason: InvalidRequest) -> Self {
        Rejection::InvalidRequest(reason)
    }
}

/// gRPC status codes used by rejections.
const GRPC_PERMISSION_DENIED: u8 = 7;
const GRPC_UNAVAILABLE: u8 = 14;
const GRPC_UNAUTHENTICATED: u8 = 16;

/// Bytes the gRPC spec requires percent-encoded in `grpc-message`: outside 0x20..=0x7E, and `%`.
const GRPC_MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

impl Rejection {
    /// The HTTP status of the default response.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::{Forbidden, Rejection};
    ///
    /// assert_eq!(Rejection::InvalidToken(TokenError::Expired).status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(Rejection::Forbidden(Forbidden::new("no")).status(), StatusCode::FORBIDDEN);
    /// assert_eq!(Rejection::Unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Missing | Rejection::InvalidToken(_) | Rejection::InvalidDpopProof(_) => {
                StatusCode::UNAUTHORIZED
            }
            Rejection::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::Forbidden(_) => StatusCode::FORBIDDEN,
            Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::CrossSite => StatusCode::FORBIDDEN,
        }
    }

    /// The RFC 6750 error code, if the rejection has one.
    ///
    /// ```
    /// use tower_sliding_jwt::Rejection;
    /// use tower_sliding_jwt::error::TokenError;
    ///
    /// let expired = Rejection::InvalidToken(TokenError::Expired);
    /// assert_eq!(expired.error_code(), Some("invalid_token"));
    /// // RFC 6750: a request without any token gets a bare challenge.
    /// assert_eq!(Rejection::Missing.error_code(), None);
    /// ```
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Rejection::Missing | Rejection::Unavailable | Rejection::CrossSite => None,
            Rejection::InvalidRequest(_) => Some("invalid_request"),
            Rejection::InvalidToken(_) => Some("invalid_token"),
            Rejection::Forbidden(_) => Some("insufficient_scope"),
            Rejection::InvalidDpopProof(reason) => Some(reason.code()),
        }
    }

    /// The gRPC status code of the default gRPC response.
    ///
    /// ```
    /// use tower_sliding_jwt::{Forbidden, Rejection};
    ///
    /// assert_eq!(Rejection::Missing.grpc_code(), 16, "UNAUTHENTICATED");
    /// assert_eq!(Rejection::Forbidden(Forbidden::new("no")).grpc_code(), 7, "PERMISSION_DENIED");
    /// ```
    pub fn grpc_code(&self) -> u8 {
        match self {
            Rejection::Forbidden(_) => GRPC_PERMISSION_DENIED,
            Rejection::Unavailable => GRPC_UNAVAILABLE,
            Rejection::CrossSite => GRPC_PERMISSION_DENIED,
            _ => GRPC_UNAUTHENTICATED,
        }
    }

    /// The `DPoP` challenge (RFC 9449 section 7.1): the algorithms a proof may use, and the
    /// error when it is a DPoP matter (or every error, when bearer tokens are not accepted).
    fn dpop_challenge(&self, dpop: &DpopChallenge) -> HeaderValue {
        let algs = &dpop.algs;
        let code = match self {
            Rejection::InvalidDpopProof(reason) => Some(reason.code()),
            _ if !dpop.bearer => self.error_code(),
            _ => None,
        };
        let value = match code {
            None => format!("DPoP algs=\"{algs}\""),
            Some(code) => {
                format!("DPoP algs=\"{algs}\", error=\"{code}\", error_description=\"{self}\"")
            }
        };
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
    }

    /// The `WWW-Authenticate` challenge for `realm` (RFC 6750 section 3).
    ///
    /// ```
    /// use tower_sliding_jwt::Rejection;
    /// use tower_sliding_jwt::error::TokenError;
    ///
    /// let challenge = Rejection::InvalidToken(TokenError::Expired).www_authenticate("api");
    /// assert_eq!(
    ///     challenge,
    ///     r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
    /// );
    /// assert_eq!(Rejection::Missing.www_authenticate("api"), r#"Bearer realm="api""#);
    /// ```
    pub fn www_authenticate(&self, realm: &str) -> HeaderValue {
        let mut value = match self.error_code() {
            None => format!("Bearer realm=\"{realm}\""),
            Some(code) => {
                format!("Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{self}\"")
            }
        };
        if let Rejection::Forbidden(refusal) = self
            && let Some(scope) = refusal.scope()
        {
            value.push_str(&format!(", scope=\"{scope}\""));
        }
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    /// The default response: an empty body with the status and headers of the table above, in
    /// the gRPC shape when the request was a gRPC call, and `Cache-Control: no-store`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
    ///
    /// // Keep the default status and headers, and explain in the body.
    /// let explained = |rejection: &Rejection, context: &RejectionContext<'_>| {
    ///     let mut response: Response<String> = rejection.default_response(context);
    ///     *response.body_mut() = rejection.to_string();
    ///     response
    /// };
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).rejection_handler(explained).build()?;
    /// let inner = service_fn(|_: Request<()>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let response = layer.layer(inner).oneshot(Request::new(())).await?;
    /// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// assert_eq!(response.body(), "no token was presented");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn default_response<B: Default>(&self, context: &RejectionContext<'_>) -> Response<B> {
        let mut response = Response::new(B::default());
        if !context.is_grpc() {
            *response.status_mut() = self.status();
        }
        let headers = response.headers_mut();
        forbid_storing(headers);
        // The nonce a new proof must carry (RFC 9449 section 8), with every refusal a new proof
        // could answer.
        if let Some(nonce) = &context.dpop_nonce
            && self.status() == StatusCode::UNAUTHORIZED
            && let Ok(value) = HeaderValue::try_from(nonce.as_str())
        {
            headers.insert(DPOP_NONCE, value);
        }
        if context.is_grpc() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            headers.insert("grpc-status", HeaderValue::from(u16::from(self.grpc_code())));
            let message = self.to_string();
            let encoded = utf8_percent_encode(&message, GRPC_MESSAGE).to_string();
            if let Ok(value) = HeaderValue::try_from(encoded) {
                headers.insert("grpc-message", value);
            }
        } else {
            match self {
                Rejection::Unavailable => {
                    headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                // Not an authentication problem: no challenge to answer.
                Rejection::CrossSite => {}
                _ => match context.dpop {
                    None => {
                        headers.insert(WWW_AUTHENTICATE, self.www_authenticate(context.realm()));
                    }
                    Some(dpop) => {
                        if dpop.bearer {
                            let bearer = match self {
                                // The Bearer scheme has nothing to do with a DPoP proof.
                                Rejection::InvalidDpopProof(_) => Rejection::Missing,
                                other => other.clone(),
                            };
                            headers
                                .append(WWW_AUTHENTICATE, bearer.www_authenticate(context.realm()));
                        }
                        headers.append(WWW_AUTHENTICATE, self.dpop_challenge(dpop));
                    }
                },
            }
        }
        response
    }
}

/// What a [`RejectionHandler`] knows about the refused request.
///
/// ```
/// use http::Response;
/// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
///
/// // Log where refusals happen, and answer as usual.
/// let logged = |rejection: &Rejection, context: &RejectionContext<'_>| -> Response<String> {
///     eprintln!("{} {} refused: {rejection}", context.request().method, context.request().uri);
///     rejection.default_response(context)
/// };
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .rejection_handler(logged)
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct RejectionContext<'a> {
    pub(crate) parts: &'a Parts,
    pub(crate) realm: &'a str,
    /// With a DPoP policy: what its challenge says.
    pub(crate) dpop: Option<&'a DpopChallenge>,
    /// With DPoP nonces: the one a new proof must carry.
    pub(crate) dpop_nonce: Option<String>,
}

/// The header that hands a client the server's DPoP nonce (RFC 9449 section 8.1).
pub(crate) const DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

/// What a DPoP challenge tells the client: the algorithms a proof may use, and whether a plain
/// bearer token would do too.
#[derive(Debug, Clone)]
pub(crate) struct DpopChallenge {
    /// Space-separated, as the `algs` parameter lists them.
    pub(crate) algs: String,
    pub(crate) bearer: bool,
}

impl RejectionContext<'_> {
    /// The refused request's method, URI, headers and extensions.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
    ///
    /// // Hide the admin routes' existence from anyone without a valid token.
    /// let hide_admin = |rejection: &Rejection, context: &RejectionContext<'_>| {
    ///     let mut response: Response<()> = rejection.default_response(context);
    ///     if context.request().uri.path().starts_with("/admin") {
    ///         *response.status_mut() = StatusCode::NOT_FOUND;
    ///     }
    ///     response
    /// };
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).rejection_handler(hide_admin).build()?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let call = |path: &str| {
    ///     layer.layer(inner.clone()).oneshot(Request::get(path).body(()).unwrap())
    /// };
    /// assert_eq!(call("/admin/users").await?.status(), StatusCode::NOT_FOUND);
    /// assert_eq!(call("/orders").await?.status(), StatusCode::UNAUTHORIZED);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn request(&self) -> &Parts {
        self.parts
    }

    /// The configured realm.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
    ///
    /// let login_hint = |rejection: &Rejection, context: &RejectionContext<'_>| {
    ///     let mut response: Response<String> = rejection.default_response(context);
    ///     *response.body_mut() = format!("log in to {}", context.realm());
    ///     response
    /// };
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .realm("billing")
    ///     .rejection_handler(login_hint)
    ///     .build()?;
    /// let inner = service_fn(|_: Request<()>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let response = layer.layer(inner).oneshot(Request::new(())).await?;
    /// assert_eq!(response.body(), "log in to billing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn realm(&self) -> &str {
        self.realm
    }

    /// Whether the request is a gRPC call: a `POST` with `content-type: application/grpc…`.
    /// Any other request (a `GET` carrying that content type too) is answered as HTTP, so its
    /// refusal is a 401 with a challenge and not a 200 that a cache might keep.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
    ///
    /// let json_for_http = |rejection: &Rejection, context: &RejectionContext<'_>| {
    ///     let mut response: Response<String> = rejection.default_response(context);
    ///     if !context.is_grpc() {
    ///         let body = serde_json::json!({ "error": rejection.to_string() });
    ///         *response.body_mut() = body.to_string();
    ///     }
    ///     response
    /// };
    /// let layer =
    ///     JwtAuthLayer::builder().hs256([7u8; 32]).rejection_handler(json_for_http).build()?;
    /// let inner = service_fn(|_: Request<()>| async {
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let grpc = Request::post("/greeter.Greeter/SayHello")
    ///     .header("content-type", "application/grpc")
    ///     .body(())?;
    /// let response = layer.layer(inner.clone()).oneshot(grpc).await?;
    /// assert_eq!(response.status(), StatusCode::OK, "gRPC reports errors in grpc-status");
    /// assert_eq!(response.headers()["grpc-status"], "16");
    /// assert!(response.body().is_empty());
    /// let response = layer.layer(inner).oneshot(Request::new(())).await?;
    /// assert!(response.body().starts_with(r#"{"error":"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn is_grpc(&self) -> bool {
        self.parts.method == Method::POST && has_grpc_content_type(self.parts)
    }
}

/// Builds the response for a refused request.
///
/// The default, [`DefaultRejection`], answers as the [`Rejection`] table says, with an empty body
/// of any `Default` body type. A closure `Fn(&Rejection, &RejectionContext) -> Response<B>` is a
/// handler too; it can start from [`Rejection::default_response`] and add a body:
///
/// ```
/// use axum::body::Body;
/// use http::{Response, header::CONTENT_TYPE};
/// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
///
/// let json_errors = |rejection: &Rejection, context: &RejectionContext<'_>| {
///     let mut response: Response<Body> = rejection.default_response(context);
///     if !context.is_grpc() {
///         let body = serde_json::json!({ "error": rejection.to_string() }).to_string();
///         *response.body_mut() = Body::from(body);
///         response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().unwrap());
///     }
///     response
/// };
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .rejection_handler(json_errors)
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
pub trait RejectionHandler<B>: Clone + Send + Sync + 'static {
    /// The response for `rejection`.
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<B>;
}

/// The default [`RejectionHandler`]: [`Rejection::default_response`].
///
/// ```
/// use tower_sliding_jwt::{DefaultRejection, JwtAuthLayer};
///
/// // The handler every layer starts with; naming it spells out the layer's type.
/// let layer: JwtAuthLayer<_, DefaultRejection> = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: Default> RejectionHandler<B> for DefaultRejection {
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<B> {
        rejection.default_response(context)
    }
}

/// Refusals as JSON for HTTP: the default status and headers (`WWW-Authenticate`, `no-store`),
/// with a body `{"error": "...", "error_description": "..."}` (the RFC 6750 code, or
/// `unauthorized`, `forbidden` or `temporarily_unavailable` when there is none) and
/// `Content-Type: application/json`. A gRPC call gets the default answer, whose reason is in
/// `grpc-message`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use axum::{Router, body::{Body, to_bytes}, http::Request, routing::get};
/// use tower::ServiceExt;
/// use tower_sliding_jwt::{JsonRejection, JwtAuthLayer};
///
/// let auth = JwtAuthLayer::builder().hs256([7u8; 32]).rejection_handler(JsonRejection).build()?;
/// let app = Router::new().route("/", get(|| async { "hello" })).layer(auth);
/// let request = Request::get("/").header("authorization", "Bearer not-a-token");
/// let response = app.oneshot(request.body(Body::empty())?).await?;
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert!(response.headers()["www-authenticate"].to_str()?.contains("invalid_token"));
/// let body: serde_json::Value = serde_json::from_slice(&to_bytes(response.into_body(), 1024).await?)?;
/// assert_eq!(body["error"], "invalid_token");
/// assert_eq!(body["error_description"], "the token is not a well-formed compact JWS");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl<B: Default + From<String>> RejectionHandler<B> for JsonRejection {
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<B> {
        let mut response: Response<B> = rejection.default_response(context);
        if context.is_grpc() {
            return response;
        }
        let error = rejection.error_code().unwrap_or(match rejection.status() {
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            _ => "unauthorized",
        });
        let body =
            serde_json::json!({ "error": error, "error_description": rejection.to_string() });
        *response.body_mut() = B::from(body.to_string());
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl<B, F> RejectionHandler<B> for F
where
    F: Fn(&Rejection, &RejectionContext<'_>) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn respond(&self, rejection: &Rejection, context: &RejectionContext<'_>) -> Response<B> {
        self(rejection, context)
    }
}

#[cfg(test)]
mod tests {
    use http::header::CACHE_CONTROL;

    use super::*;

    fn context_parts(grpc: bool) -> Parts {
        let mut builder = http::Request::builder().uri("/x");
        if grpc {
            builder = builder.method("POST").header(CONTENT_TYPE, "application/grpc+proto");
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn respond(rejection: &Rejection, grpc: bool) -> Response<()> {
        let parts = context_parts(grpc);
        rejection.default_response(&RejectionContext {
            parts: &parts,
            realm: "api",
            dpop: None,
            dpop_nonce: None,
        })
    }

    #[test]
    fn http_shapes_follow_rfc_6750() {
        let cases = [
            (Rejection::Missing, 401, r#"Bearer realm="api""#),
            (
                Rejection::InvalidRequest(InvalidRequest::Repeated),
                400,
                r#"Bearer realm="api", error="invalid_request", error_description="the token is sent more than once""#,
            ),
            (
                Rejection::InvalidToken(TokenError::InvalidSignature),
                401,
                r#"Bearer realm="api", error="invalid_token", error_description="the token signature is invalid""#,
            ),
            (
                Rejection::Forbidden(Forbidden::new("admins only")),
                403,
                r#"Bearer realm="api", error="insufficient_scope", error_description="admins only""#,
            ),
        ];
        for (rejection, status, challenge) in cases {
            let response = respond(&rejection, false);
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[WWW_AUTHENTICATE], challenge);
            assert!(response.headers().get("grpc-status").is_none());
        }
        let unavailable = respond(&Rejection::Unavailable, false);
        assert_eq!(unavailable.status(), 503);
        assert!(unavailable.headers().get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn grpc_shapes() {
        let cases = [
            (Rejection::Missing, "16", "no token was presented"),
            (Rejection::InvalidRequest(InvalidRequest::Empty), "16", "the token is empty"),
            (Rejection::InvalidToken(TokenError::Expired), "16", "the token has expired"),
            (
                Rejection::Forbidden(Forbidden::new("50% off: not for you")),
                "7",
                "50%25 off: not for you",
            ),
            (Rejection::Unavailable, "14", "the token cannot be checked right now"),
        ];
        for (rejection, code, message) in cases {
            let response = respond(&rejection, true);
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["grpc-status"], code);
            assert_eq!(response.headers()["grpc-message"], message);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/grpc");
        }
    }

    #[test]
    fn every_default_rejection_forbids_storing_and_only_post_is_grpc() {
        for grpc in [false, true] {
            let response = respond(&Rejection::Missing, grpc);
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        }
        // A GET that says it is gRPC gets the HTTP answer: a 401 with a challenge.
        let parts = http::Request::get("/x")
            .header(CONTENT_TYPE, "application/grpc")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let context =
            RejectionContext { parts: &parts, realm: "api", dpop: None, dpop_nonce: None };
        assert!(!context.is_grpc());
        let response: Response<()> = Rejection::Missing.default_response(&context);
        assert_eq!(response.status(), 401);
        assert!(response.headers().get("grpc-status").is_none());
    }

    #[test]
    fn forbidden_descriptions_are_sanitized() {
        assert_eq!(Forbidden::new("a \"quoted\"\n\\ thing").description(), "a ?quoted??? thing");
        assert_eq!(Forbidden::new("café").description(), "caf?");
    }

    /// Every reason a token is refused, each once. The match has no wildcard, so a new variant
    /// fails to compile here until it is listed, and the count below catches one left out.
    fn every_token_error() -> Vec<TokenError> {
        let all = vec![
            TokenError::TooLarge,
            TokenError::Malformed,
            TokenError::MalformedHeader,
            TokenError::UnsupportedHeader,
            TokenError::UnsupportedAlgorithm,
            TokenError::AlgorithmMismatch,
            TokenError::UnknownKeyId,
            TokenError::InvalidSignature,
            TokenError::MalformedClaims,
            TokenError::MissingClaim("sub"),
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::IssuedInFuture,
            TokenError::WrongIssuer,
            TokenError::WrongAudience,
            TokenError::UnacceptedType,
            TokenError::SessionStartInFuture,
            TokenError::BeyondSessionLimit,
            TokenError::KeysUnavailable,
            TokenError::Revoked,
            TokenError::RevocationUnavailable,
            TokenError::SenderConstrained,
        ];
        let arm = |error: &TokenError| match error {
            TokenError::TooLarge => 0,
            TokenError::Malformed => 1,
            TokenError::MalformedHeader => 2,
            TokenError::UnsupportedHeader => 3,
            TokenError::UnsupportedAlgorithm => 4,
            TokenError::AlgorithmMismatch => 5,
            TokenError::UnknownKeyId => 6,
            TokenError::InvalidSignature => 7,
            TokenError::MalformedClaims => 8,
            TokenError::MissingClaim(_) => 9,
            TokenError::Expired => 10,
            TokenError::NotYetValid => 11,
            TokenError::IssuedInFuture => 12,
            TokenError::WrongIssuer => 13,
            TokenError::WrongAudience => 14,
            TokenError::UnacceptedType => 15,
            TokenError::SessionStartInFuture => 16,
            TokenError::BeyondSessionLimit => 17,
            TokenError::KeysUnavailable => 18,
            TokenError::Revoked => 19,
            TokenError::RevocationUnavailable => 20,
            TokenError::SenderConstrained => 21,
        };
        let arms: std::collections::BTreeSet<_> = all.iter().map(arm).collect();
        assert_eq!(arms.len(), 22, "every variant listed once");
        all
    }

    /// Every description goes into a quoted `WWW-Authenticate` parameter: it must not be able to
    /// end the string (`"`), escape (`\`) or break the header (controls, non-ASCII).
    #[test]
    fn every_message_can_stand_in_a_quoted_parameter() {
        let invalid = [
            InvalidRequest::Repeated,
            InvalidRequest::Empty,
            InvalidRequest::NotOneToken,
            InvalidRequest::InvalidBytes,
        ];
        let mut rejections: Vec<Rejection> =
            every_token_error().into_iter().map(Rejection::InvalidToken).collect();
        rejections.extend(invalid.map(Rejection::InvalidRequest));
        rejections.extend([Rejection::Missing, Rejection::Unavailable, Rejection::CrossSite]);
        rejections.push(Rejection::Forbidden(Forbidden::new("a \"quoted\" \\ description")));
        rejections.extend(
            [
                DpopError::Missing,
                DpopError::Repeated,
                DpopError::Malformed,
                DpopError::WrongType,
                DpopError::UnsupportedAlgorithm,
                DpopError::PrivateKey,
                DpopError::InvalidKey,
                DpopError::InvalidSignature,
                DpopError::MissingClaim("ath"),
                DpopError::WrongMethod,
                DpopError::WrongUri,
                DpopError::Stale,
                DpopError::WrongTokenHash,
                DpopError::WrongKey,
                DpopError::Replayed,
                DpopError::UnboundToken,
                DpopError::BearerNotAccepted,
            ]
            .map(Rejection::InvalidDpopProof),
        );
        for rejection in rejections {
            let text = rejection.to_string();
            assert!(!text.is_empty() && crate::headers::quotable(&text), "{text:?}");
            let challenge = rejection.www_authenticate("api");
            let challenge = challenge.to_str().expect("visible ASCII");
            assert_eq!(challenge.matches('"').count() % 2, 0, "{challenge}");
        }
    }

    #[test]
    fn json_refusals_keep_the_standard_headers_and_name_a_code() {
        let parts = http::Request::get("/").body(()).unwrap().into_parts().0;
        let context =
            RejectionContext { parts: &parts, realm: "api", dpop: None, dpop_nonce: None };
        let cases = [
            (Rejection::Missing, 401, "unauthorized"),
            (Rejection::InvalidToken(TokenError::Expired), 401, "invalid_token"),
            (Rejection::Forbidden(Forbidden::new("admins only")), 403, "insufficient_scope"),
            (Rejection::CrossSite, 403, "forbidden"),
            (Rejection::Unavailable, 503, "temporarily_unavailable"),
        ];
        for (rejection, status, code) in cases {
            let response: Response<String> = JsonRejection.respond(&rejection, &context);
            assert_eq!(response.status(), status, "{rejection}");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
            let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            assert_eq!(body["error"], code, "{rejection}");
            assert_eq!(body["error_description"], rejection.to_string());
        }
        let grpc = http::Request::post("/svc/Method")
            .header(CONTENT_TYPE, "application/grpc")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let context = RejectionContext { parts: &grpc, realm: "api", dpop: None, dpop_nonce: None };
        let response: Response<String> = JsonRejection.respond(&Rejection::Missing, &context);
        assert_eq!(response.headers()["grpc-status"], "16");
        assert!(response.body().is_empty(), "gRPC keeps its own answer");
    }
}
