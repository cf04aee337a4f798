//! The JWS algorithms a key can be pinned to, and their names: one table for both directions.

use std::fmt;

/// A JWS signature algorithm (RFC 7518). Every [`Key`](crate::Key) is pinned to one, and a token
/// is only ever checked with the algorithm of the key selected for it. `none` is not one.
///
/// ```
/// use tower_sliding_jwt::Algorithm;
///
/// assert_eq!(Algorithm::ES256.name(), "ES256");
/// assert_eq!(Algorithm::from_name("EdDSA"), Some(Algorithm::EdDSA));
/// assert_eq!(Algorithm::from_name("none"), None);
/// assert_eq!(Algorithm::from_name("hs256"), None, "names are case-sensitive");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA on Ed25519.
    EdDSA,
}

/// Each algorithm with its JOSE name and the matching jsonwebtoken algorithm.
const TABLE: [(Algorithm, &str, jsonwebtoken::Algorithm); 12] = [
    (Algorithm::HS256, "HS256", jsonwebtoken::Algorithm::HS256),
    (Algorithm::HS384, "HS384", jsonwebtoken::Algorithm::HS384),
    (Algorithm::HS512, "HS512", jsonwebtoken::Algorithm::HS512),
    (Algorithm::RS256, "RS256", jsonwebtoken::Algorithm::RS256),
    (Algorithm::RS384, "RS384", jsonwebtoken::Algorithm::RS384),
    (Algorithm::RS512, "RS512", jsonwebtoken::Algorithm::RS512),
    (Algorithm::PS256, "PS256", jsonwebtoken::Algorithm::PS256),
    (Algorithm::PS384, "PS384", jsonwebtoken::Algorithm::PS384),
    (Algorithm::PS512, "PS512", jsonwebtoken::Algorithm::PS512),
    (Algorithm::ES256, "ES256", jsonwebtoken::Algorithm::ES256),
    (Algorithm::ES384, "ES384", jsonwebtoken::Algorithm::ES384),
    (Algorithm::EdDSA, "EdDSA", jsonwebtoken::Algorithm::EdDSA),
];

impl Algorithm {
    /// The JOSE name, as `alg` spells it.
    ///
    /// ```
    /// use tower_sliding_jwt::Algorithm;
    ///
    /// assert_eq!(Algorithm::EdDSA.name(), "EdDSA");
    /// ```
    pub fn name(self) -> &'static str {
        TABLE[self as usize].1
    }

    /// The algorithm named exactly `name` (case-sensitive, as RFC 7515 requires). RFC 9864's
    /// fully-specified `Ed25519` names [`EdDSA`](Algorithm::EdDSA) too (on Ed25519, the only
    /// EdDSA curve supported), in token headers and JWKs alike; what this crate signs says
    /// `EdDSA`.
    ///
    /// ```
    /// use tower_sliding_jwt::Algorithm;
    ///
    /// assert_eq!(Algorithm::from_name("RS256"), Some(Algorithm::RS256));
    /// assert_eq!(Algorithm::from_name("rs256"), None);
    /// assert_eq!(Algorithm::from_name("none"), None, "unsigned tokens have no algorithm here");
    /// assert_eq!(Algorithm::from_name("Ed25519"), Some(Algorithm::EdDSA));
    /// ```
    pub fn from_name(name: &str) -> Option<Algorithm> {
        // RFC 9864's fully-specified name for the one EdDSA curve this crate verifies.
        if name == "Ed25519" {
            return Some(Algorithm::EdDSA);
        }
        TABLE.iter().find(|(_, n, _)| *n == name).map(|(alg, _, _)| *alg)
    }

    /// Whether it is an HMAC algorithm (a shared secret signs and verifies).
    ///
    /// ```
    /// use tower_sliding_jwt::Algorithm;
    ///
    /// assert!(Algorithm::HS384.is_hmac());
    /// assert!(!Algorithm::ES256.is_hmac());
    /// ```
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    /// The same algorithm in jsonwebtoken's terms.
    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        TABLE[self as usize].2
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// The algorithm named exactly `name`, as [`Algorithm::from_name`].
    fn from_str(name: &str) -> Result<Algorithm, UnknownAlgorithm> {
        Algorithm::from_name(name).ok_or(UnknownAlgorithm)
    }
}

/// A name that is not one of the [`Algorithm`]s (`none` included).
///
/// ```
/// use tower_sliding_jwt::Algorithm;
///
/// assert!("ES256".parse::<Algorithm>().is_ok());
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownAlgorithm;

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a supported JWS algorithm")
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_variant_order_and_round_trips() {
        for (index, (alg, name, theirs)) in TABLE.iter().enumerate() {
            assert_eq!(*alg as usize, index);
            assert_eq!(Algorithm::from_name(name), Some(*alg));
            assert_eq!(alg.to_jsonwebtoken(), *theirs);
            assert_eq!(format!("{theirs:?}"), *name);
        }
        for refused in ["none", "None", "", "HS256 ", "hs256", "RS1"] {
            assert_eq!(Algorithm::from_name(refused), None, "{refused:?}");
        }
    }
}
