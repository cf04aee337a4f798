//! Verifying a request's token: where it is read from ([`TokenSource`]), whether a cookie request
//! comes from our own pages ([`CsrfPolicy`]), the compact JWS and its signature, the claim rules,
//! and the bounded cache of tokens verified recently.

pub(crate) mod cache;
pub(crate) mod csrf;
pub(crate) mod jws;
pub(crate) mod rules;
pub(crate) mod source;

pub use csrf::CsrfPolicy;
pub use source::TokenSource;
