//! [`JwtAuthLayer`]: the Tower layer.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::claims::NoCustomClaims;
use crate::issuer::Issuer;
use crate::middleware::request::{LayerConfig, Require};
use crate::middleware::service::JwtAuth;
use crate::rejection::DefaultRejection;
use crate::require::ClaimsCheck;

/// Authenticates requests with JWTs and renews tokens close to expiry.
///
/// Wrap any `Service<http::Request<B>>` whose response is an `http::Response` with it: an axum
/// `Router` (or one route with `route_layer`), a hyper `service_fn`, a tonic server. Build it with
/// [`JwtAuthLayer::builder`]; sign login tokens with [`JwtAuthLayer::issuer`].
///
/// The layer is cheap to clone (one `Arc`), `Send` and `Sync`.
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_sliding_jwt::{Claims, JwtAuthLayer};
///
/// async fn me(claims: Claims) -> String {
///     format!("you are {}", claims.subject().unwrap_or("nobody"))
/// }
///
/// let auth = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .issuer("demo")
///     .build()?;
/// let issuer = auth.issuer(); // for the login route
/// let app: Router = Router::new().route("/me", get(me)).layer(auth);
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
pub struct JwtAuthLayer<C = NoCustomClaims, R = DefaultRejection> {
    config: Arc<LayerConfig<C>>,
    rejection: R,
}

impl<C, R> JwtAuthLayer<C, R> {
    pub(crate) fn from_parts(config: Arc<LayerConfig<C>>, rejection: R) -> Self {
        JwtAuthLayer { config, rejection }
    }

    /// How many verified tokens the layer currently remembers (for metrics; see
    /// [`JwtAuthBuilder::verified_token_cache`]).
    ///
    /// [`JwtAuthBuilder::verified_token_cache`]: crate::JwtAuthBuilder::verified_token_cache
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// assert_eq!(layer.cached_tokens(), 0, "nothing seen yet");
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn cached_tokens(&self) -> usize {
        self.config.cache.as_ref().map_or(0, |cache| cache.len())
    }

    /// A variant of this layer for other routes, in optional mode or not: a request without
    /// any token passes through without claims (a bad token is still refused). It shares this
    /// layer's keys, verified-token cache and configuration.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tower_sliding_jwt::{Claims, JwtAuthLayer};
    ///
    /// async fn home(claims: Option<Claims>) -> &'static str {
    ///     if claims.is_some() { "welcome back" } else { "hello" }
    /// }
    /// async fn account(_: Claims) -> &'static str {
    ///     "your account"
    /// }
    ///
    /// let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let app: Router = Router::new()
    ///     .route("/account", get(account))
    ///     .route_layer(auth.clone())
    ///     .merge(Router::new().route("/", get(home)).route_layer(auth.optional(true)));
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn optional(&self, optional: bool) -> JwtAuthLayer<C, R>
    where
        R: Clone,
    {
        self.variant(|config| config.optional = optional)
    }

    /// A variant of this layer for routes whose claims must also pass a synchronous `check` (an
    /// admin-only part of a router, say), sharing this layer's keys, cache, claims type and
    /// refusals; used in place of the layer on those routes. A refusal is
    /// `403 insufficient_scope` (gRPC `PERMISSION_DENIED`) and the inner service is not called.
    /// A check that needs I/O goes in [`require`](JwtAuthLayer::require).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use serde::Deserialize;
    /// use tower::ServiceExt;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{Forbidden, JwtAuthLayer};
    ///
    /// #[derive(Deserialize)]
    /// struct User {
    ///     role: String,
    /// }
    ///
    /// let auth = JwtAuthLayer::builder().claims::<User>().hs256([7u8; 32]).build()?;
    /// let tokens = TokenFactory::for_layer(&auth);
    /// let admins = auth.authorize(|claims, _request| match claims.custom().role.as_str() {
    ///     "admin" => Ok(()),
    ///     _ => Err(Forbidden::new("admins only")),
    /// });
    /// let app: Router = Router::new()
    ///     .route("/reports", get(|| async { "reports" }))
    ///     .route_layer(auth)
    ///     .merge(Router::new().route("/admin", get(|| async { "admin" })).route_layer(admins));
    /// let get = |path: &str, role: &str| {
    ///     let token = tokens.valid("1", &serde_json::json!({ "role": role })).unwrap();
    ///     let request = tokens.request(Request::get(path), &token).body(Body::empty()).unwrap();
    ///     app.clone().oneshot(request)
    /// };
    /// assert_eq!(get("/reports", "user").await?.status(), 200);
    /// assert_eq!(get("/admin", "user").await?.status(), 403);
    /// assert_eq!(get("/admin", "admin").await?.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn authorize<F>(&self, check: F) -> JwtAuthLayer<C, R>
    where
        R: Clone,
        F: Fn(&crate::Claims<C>, &http::request::Parts) -> Result<(), crate::Forbidden>
            + Send
            + Sync
            + 'static,
    {
        self.variant(|config| config.authorize = Some(Arc::new(check)))
    }

    /// A variant of this layer for routes whose claims must also pass `check`, which may take
    /// time: an OAuth scope ([`require_scope`](crate::require::require_scope)), a policy
    /// service, a database. Use it in place of this layer on those routes (`route_layer`): it
    /// authenticates as this layer does, sharing its keys, verified-token cache, claims type,
    /// realm and rejection handler, then awaits the check before the inner service runs. A
    /// refusal is the check's [`Rejection`](crate::Rejection), in this layer's shape.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use tower::ServiceExt;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{Claims, Forbidden, JwtAuthLayer, Rejection};
    ///
    /// let auth = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let tokens = TokenFactory::for_layer(&auth);
    /// // Only the owner of /users/{id}/... may go on (a lookup could go in the future).
    /// let owner_only = auth.require(|claims: Claims, request: &http::request::Parts| {
    ///     let owner = request.uri.path().split('/').nth(2).map(str::to_owned);
    ///     async move {
    ///         match owner.as_deref() == claims.subject() {
    ///             true => Ok(()),
    ///             false => Err(Rejection::Forbidden(Forbidden::new("not your account"))),
    ///         }
    ///     }
    /// });
    /// let app = Router::new()
    ///     .route("/users/{id}/orders", get(|| async { "orders" }))
    ///     .route_layer(owner_only);
    /// let token = tokens.valid("42", &serde_json::json!({}))?;
    /// let get = |path: &str| {
    ///     let request = tokens.request(Request::get(path), &token).body(Body::empty()).unwrap();
    ///     app.clone().oneshot(request)
    /// };
    /// assert_eq!(get("/users/42/orders").await?.status(), 200);
    /// assert_eq!(get("/users/7/orders").await?.status(), 403);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn require<F>(&self, check: F) -> JwtAuthLayer<C, R>
    where
        R: Clone,
        C: Send + Sync + 'static,
        F: ClaimsCheck<C>,
        F::Future: Send + 'static,
    {
        let check = Arc::new(check);
        let require: Require<C> =
            Arc::new(move |claims, parts| Box::pin(check.check(claims, parts)));
        self.variant(|config| config.require = Some(require))
    }

    fn variant(&self, change: impl FnOnce(&mut LayerConfig<C>)) -> JwtAuthLayer<C, R>
    where
        R: Clone,
    {
        let mut config = LayerConfig {
            core: Arc::clone(&self.config.core),
            cache: self.config.cache.clone(),
            optional: self.config.optional,
            answer_preflight: self.config.answer_preflight,
            realm: self.config.realm.clone(),
            authorize: self.config.authorize.clone(),
            require: self.config.require.clone(),
            csrf: self.config.csrf.clone(),
        };
        change(&mut config);
        JwtAuthLayer { config: Arc::new(config), rejection: self.rejection.clone() }
    }

    /// The configuration shared with the issuer (and the testing kit).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn core(&self) -> Arc<crate::config::Core> {
        Arc::clone(&self.config.core)
    }

    /// The [`Issuer`] sharing this layer's keys, lifetimes and clock: for login and explicit
    /// renewal routes.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let login = layer.issuer().issue("42", &())?;
    /// assert!(layer.issuer().verify::<NoCustomClaims>(&login.token).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issuer(&self) -> Issuer {
        Issuer::new(Arc::clone(&self.config.core))
    }
}

impl<S, C, R: Clone> Layer<S> for JwtAuthLayer<C, R> {
    type Service = JwtAuth<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::new(inner, Arc::clone(&self.config), self.rejection.clone())
    }
}

impl<C, R: Clone> Clone for JwtAuthLayer<C, R> {
    fn clone(&self) -> Self {
        JwtAuthLayer { config: Arc::clone(&self.config), rejection: self.rejection.clone() }
    }
}

impl<C, R> fmt::Debug for JwtAuthLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("issuer", &self.config.core.issuer)
            .field("sources", &self.config.core.sources)
            .field("renewal", &self.config.core.renewal)
            .field("optional", &self.config.optional)
            .finish_non_exhaustive()
    }
}
