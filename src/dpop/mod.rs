//! Sender-constrained tokens with DPoP (RFC 9449): a token bound to a key the client holds is
//! worthless without a fresh proof signed by that key for each request, so a copied token
//! cannot be used. [`DpopPolicy`] configures the proofs the layer accepts; a
//! [`ReplayStore`](crate::revocation::ReplayStore) shares the proofs seen between the instances of a fleet.

mod nonce;
mod policy;
mod proof;
mod replay;
mod sign;

pub use policy::{DpopKey, DpopPolicy};
pub(crate) use policy::{ReplayWait, Verifier};
pub use sign::DpopKeyPair;
pub(crate) use sign::{ProofClaims, new_jti};
