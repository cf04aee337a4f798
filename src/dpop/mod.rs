//! Sender-constrained tokens with DPoP (RFC 9449): a token bound to a key the client holds is
//! worthless without a fresh proof signed by that key for each request, so a copied token
//! cannot be used. [`DpopPolicy`] configures the proofs the layer accepts.

mod policy;
mod proof;
mod replay;

pub(crate) use policy::Verifier;
pub use policy::{DpopKey, DpopPolicy};
#[cfg(feature = "testing")]
pub(crate) use proof::token_hash;
