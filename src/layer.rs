//! [`JwtAuthLayer`]: the Tower layer.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::authenticate::LayerConfig;
use crate::cache::TokenCache;
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
    pub fn cached_tokens(&self) -> usize {
        self.config.cache.as_ref().map_or(0, TokenCache::len)
    }

    /// The configuration shared with the issuer (and the testing kit).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn core(&self) -> Arc<crate::config::Core> {
        Arc::clone(&self.config.core)
    }

    /// The [`Issuer`] sharing this layer's keys, lifetimes and clock: for login and explicit
    /// renewal routes.
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
