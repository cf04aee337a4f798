//! Keys: [`Key`] (one key pinned to one algorithm, from a secret, a PEM or a JWK), the JWK
//! conversions and the published JWK Set, and the key set a configuration verifies with.

mod jwk;
mod key;
mod set;

pub use jwk::{JwkSet, PublicJwk};
pub use key::Key;
pub(crate) use set::{KeyOrigin, KeyRole, KeySet, Selection, jose_header};
