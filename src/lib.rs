//! A Tower layer that authenticates requests with JWTs and slides the session forward.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod builder;
mod claims;
mod clock;
mod config;
mod error;
mod future;
mod issuer;
mod keys;
mod layer;
mod raw_token;
mod refresh;
mod reject;
mod renewal;
mod revocation;
mod service;
mod source;
mod verify;

#[cfg(feature = "axum")]
mod axum;

pub use backend::CryptoBackend;
pub use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, JwtAuthBuilder};
pub use claims::{Audience, Claims, NoCustomClaims, RegisteredClaims};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cookie::SameSite;
pub use error::{ConfigError, IssueError, KeyError, RenewError};
pub use future::ResponseFuture;
pub use issuer::{IssuedToken, Issuer};
pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use keys::Key;
pub use layer::JwtAuthLayer;
pub use raw_token::RawToken;
pub use refresh::{
    CookieSettings, EXPIRES_IN_HEADER, NoRenewal, REFRESHED_TOKEN_HEADER, RefreshMode,
    RefreshPolicy,
};
pub use reject::{
    DefaultRejection, Forbidden, InvalidRequest, Rejection, RejectionContext, RejectionHandler,
    TokenError,
};
pub use revocation::{
    InMemoryRevocations, RevocationCheck, RevocationError, RevocationFailure, RevocationFuture,
    RevocationStatus,
};
pub use service::JwtAuth;
pub use source::TokenSource;

#[cfg(feature = "axum")]
pub use crate::axum::MissingClaims;
