//! Per-route checks of the verified claims that may take time (an OAuth scope, a policy
//! service, a database): a [`ClaimsCheck`], given to
//! [`JwtAuthLayer::require`](crate::JwtAuthLayer::require), which makes a variant of the layer
//! for those routes. [`require_scope`] is the check for an OAuth scope. (A check that needs no
//! I/O can be synchronous: [`JwtAuthLayer::authorize`](crate::JwtAuthLayer::authorize).)
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use tower::ServiceExt;
//! use tower_sliding_jwt::JwtAuthLayer;
//! use tower_sliding_jwt::require::require_scope;
//! use tower_sliding_jwt::testing::TokenFactory;
//!
//! let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
//! let tokens = TokenFactory::for_layer(&auth);
//! let app = Router::new()
//!     .route("/reports", get(|| async { "reports" }))
//!     .route_layer(auth.require(require_scope("reports:read")));
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

use std::future::{Future, Ready, ready};
use std::sync::Arc;

use http::request::Parts;

use crate::claims::Claims;
use crate::rejection::{Forbidden, Rejection};
use crate::verify::jws::payload_of;

/// A check of a request's verified claims: a closure
/// `Fn(Claims<C>, &Parts) -> impl Future<Output = Result<(), Rejection>>`, or a ready-made check
/// such as [`require_scope`]. The check gets the claims (a reference-counted clone) and the
/// request head, and returns a future that owns what it needs, so it may ask a database or a
/// policy service; its refusal is any [`Rejection`].
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

/// The check for an OAuth scope (RFC 6749 section 3.3): the token's `scope` (space-separated)
/// or `scp` (an array, or a string) must contain `scope`, whatever the claims type reads. A
/// token without it is refused with `403 insufficient_scope` and the challenge's `scope`
/// attribute (RFC 6750 section 3.1).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use http::{Request, Response};
/// use tower::{Layer, ServiceExt, service_fn};
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::require::require_scope;
/// use tower_sliding_jwt::testing::TokenFactory;
///
/// let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
/// let tokens = TokenFactory::for_layer(&auth);
/// let inner = service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new(())) });
/// let writers = auth.require(require_scope("reports:write")).layer(inner);
/// let send = |scp: serde_json::Value| {
///     let token = tokens.valid("7", &serde_json::json!({ "scp": scp })).unwrap();
///     writers.clone().oneshot(tokens.request(Request::post("/reports"), &token).body(()).unwrap())
/// };
/// assert_eq!(send(serde_json::json!(["reports:write"])).await?.status(), 200);
/// assert_eq!(send(serde_json::json!(["reports:read"])).await?.status(), 403);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
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
