//! Keys: [`Key`] (one key pinned to one algorithm, from a secret, a PEM or a JWK), the JWK
//! conversions and the published JWK Set, the key set a configuration verifies with, and the
//! cryptography behind them.

pub(crate) mod crypto;
mod jwk;
mod key;
mod set;

pub use crypto::CryptoBackend;
pub use jwk::{JwkSet, PublicJwk};
pub use key::Key;
pub(crate) use set::{KeyOrigin, KeyRole, KeySet, Selection, jose_header};
