//! [`JwtAuthLayer`]: the Tower layer.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::authenticate::LayerConfig;
use crate::claims::NoCustomClaims;
use crate::issuer::Issuer;
use crate::reject::DefaultRejection;
use crate::service::JwtAuth;

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
/// # Ok::<(), tower_sliding_jwt::ConfigError>(())
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
    /// # Ok::<(), tower_sliding_jwt::ConfigError>(())
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
    /// # Ok::<(), tower_sliding_jwt::ConfigError>(())
    /// ```
    pub fn optional(&self, optional: bool) -> JwtAuthLayer<C, R>
    where
        R: Clone,
    {
        self.variant(|config| config.optional = optional)
    }

    /// A variant of this layer with another authorization check (see
    /// [`JwtAuthBuilder::authorize`](crate::JwtAuthBuilder::authorize)), sharing this layer's
    /// keys, cache and configuration: an admin-only part of a router, say.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use serde::Deserialize;
    /// use tower_sliding_jwt::{Forbidden, JwtAuthLayer};
    ///
    /// #[derive(Deserialize)]
    /// struct User {
    ///     role: String,
    /// }
    ///
    /// let auth = JwtAuthLayer::builder().claims::<User>().hs256([7u8; 32]).build()?;
    /// let admins = auth.authorize(|claims, _request| match claims.custom().role.as_str() {
    ///     "admin" => Ok(()),
    ///     _ => Err(Forbidden::new("admins only")),
    /// });
    /// let app: Router = Router::new()
    ///     .route("/reports", get(|| async { "reports" }))
    ///     .route_layer(auth)
    ///     .merge(Router::new().route("/admin", get(|| async { "admin" })).route_layer(admins));
    /// # Ok::<(), tower_sliding_jwt::ConfigError>(())
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
