//! The middleware: [`JwtAuthLayer`] (configured by [`JwtAuthBuilder`]), its service [`JwtAuth`]
//! and [`ResponseFuture`]. A request goes through the request phase (preflight, token,
//! verification, the renewal plan, revocation and the route's checks), then the inner service,
//! then the response half of renewal.

pub(crate) mod builder;
pub(crate) mod future;
pub(crate) mod layer;
pub(crate) mod renew;
pub(crate) mod request;
pub(crate) mod service;

pub use builder::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_TOKEN_CACHE, DEFAULT_TOKEN_TYPES,
    JwtAuthBuilder,
};
pub use future::ResponseFuture;
pub use layer::JwtAuthLayer;
pub use service::JwtAuth;
