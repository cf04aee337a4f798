//! Making a DPoP proof (RFC 9449 section 4.2), as a client does: what the client layer and the
//! testing kit sign.

use std::fmt;

use serde_json::json;

use crate::algorithm::Algorithm;
use crate::clock::{Clock as _, SystemClock};
use crate::error::KeyError;
use crate::keys::Key;

/// The key pair a client signs its DPoP proofs with (RFC 9449): what
/// [`ClientTokenLayer::dpop`](crate::client::ClientTokenLayer::dpop) uses, and what a server
/// binds the client's tokens to. Its private half never leaves it; `Debug` shows the thumbprint
/// only.
///
/// ```
/// use tower_sliding_jwt::client::DpopKeyPair;
///
/// let key = DpopKeyPair::generate(tower_sliding_jwt::Algorithm::EdDSA)?;
/// let proof = key.proof(&http::Method::GET, "https://api.example.com/orders", None, None);
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.thumbprint().len(), 43);
/// assert!(!format!("{key:?}").contains("PRIVATE"));
/// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
/// ```
#[derive(Clone)]
pub struct DpopKeyPair {
    key: Key,
    header: String,
    jkt: String,
}

impl DpopKeyPair {
    /// A new key pair from the system's randomness, for `EdDSA` proofs (Ed25519: small and
    /// fast to sign and verify) or `ES256` ones (P-256: the algorithm every server accepts).
    /// Keep it for the whole session: its tokens are bound to it.
    ///
    /// ```
    /// use tower_sliding_jwt::Algorithm;
    /// use tower_sliding_jwt::client::DpopKeyPair;
    ///
    /// let a = DpopKeyPair::generate(Algorithm::EdDSA)?;
    /// assert_ne!(a.thumbprint(), DpopKeyPair::generate(Algorithm::EdDSA)?.thumbprint());
    /// let p256 = DpopKeyPair::generate(Algorithm::ES256)?;
    /// assert_eq!(p256.algorithm(), Algorithm::ES256);
    /// assert!(DpopKeyPair::generate(Algorithm::RS256).is_err(), "RSA keys are given, not made");
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn generate(algorithm: Algorithm) -> Result<DpopKeyPair, KeyError> {
        match algorithm {
            Algorithm::EdDSA => DpopKeyPair::new(Key::generate_ed25519()?),
            Algorithm::ES256 => DpopKeyPair::new(Key::generate_es256()?),
            _ => Err(KeyError::WrongKeyType {
                algorithm,
                expected: "made elsewhere and given to DpopKeyPair::new",
            }),
        }
    }

    /// The algorithm of this key's proofs.
    ///
    /// ```
    /// use tower_sliding_jwt::Algorithm;
    /// use tower_sliding_jwt::client::DpopKeyPair;
    ///
    /// assert_eq!(DpopKeyPair::generate(Algorithm::EdDSA)?.algorithm(), Algorithm::EdDSA);
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// A key pair from a private RSA, ECDSA or Ed25519 key the client already has; its algorithm
    /// must be one the server accepts (ES256 is the one every server does).
    ///
    /// ```
    /// use tower_sliding_jwt::client::DpopKeyPair;
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ec256_private.pem")?;
    /// let key = DpopKeyPair::new(Key::from_private_pem(Algorithm::ES256, &pem)?)?;
    /// assert!(DpopKeyPair::new(Key::hs256([7u8; 32])?).is_err(), "a proof is never HMAC");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: Key) -> Result<DpopKeyPair, KeyError> {
        let algorithm = key.algorithm();
        let unusable = || KeyError::WrongKeyType {
            algorithm,
            expected: "a private RSA, ECDSA or Ed25519 key",
        };
        if algorithm.is_hmac() || !key.can_sign() {
            return Err(unusable());
        }
        let header = encoded_header(&key).ok_or_else(unusable)?;
        let jkt = key.thumbprint().ok_or_else(unusable)?;
        Ok(DpopKeyPair { key, header, jkt })
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it.
    ///
    /// ```
    /// use tower_sliding_jwt::client::DpopKeyPair;
    ///
    /// let key = DpopKeyPair::generate(tower_sliding_jwt::Algorithm::EdDSA)?;
    /// println!("my tokens are bound to {}", key.thumbprint());
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }

    /// A fresh proof for one request: `method`, `htu` (the URI without query and fragment), now,
    /// a new `jti`, and `ath` for `token` and the server's `nonce` when given.
    /// [`ClientTokenLayer`](crate::client::ClientTokenLayer) calls it for every request.
    ///
    /// ```
    /// use tower_sliding_jwt::client::DpopKeyPair;
    ///
    /// let key = DpopKeyPair::generate(tower_sliding_jwt::Algorithm::EdDSA)?;
    /// let login = key.proof(&http::Method::POST, "https://api.example.com/login", None, None);
    /// let again = key.proof(&http::Method::POST, "https://api.example.com/login", None, None);
    /// assert_ne!(login, again, "every proof has its own jti");
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn proof(
        &self,
        method: &http::Method,
        htu: &str,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let jti = new_jti();
        let claims = ProofClaims {
            method: method.as_str(),
            htu,
            iat: SystemClock.now(),
            jti: &jti,
            token,
            nonce,
        };
        self.sign(&claims)
    }

    pub(crate) fn sign(&self, claims: &ProofClaims<'_>) -> String {
        // A key that signed at construction keeps signing; an empty proof is refused anyway.
        sign(&self.key, &self.header, claims).unwrap_or_default()
    }
}

impl fmt::Debug for DpopKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKeyPair")
            .field("algorithm", &self.key.algorithm())
            .field("thumbprint", &self.jkt)
            .finish_non_exhaustive()
    }
}

/// What a proof says: the request it is for, when, and (with a token or a server nonce) for
/// which.
pub(crate) struct ProofClaims<'a> {
    pub(crate) method: &'a str,
    /// Without query and fragment.
    pub(crate) htu: &'a str,
    pub(crate) iat: i64,
    pub(crate) jti: &'a str,
    /// The access token the proof goes with (`ath`).
    pub(crate) token: Option<&'a str>,
    pub(crate) nonce: Option<&'a str>,
}

/// The encoded proof header of `key` (`typ`, `alg` and its public `jwk`): the same on every
/// proof, so made once. `None` for a key without a public half.
pub(crate) fn encoded_header(key: &Key) -> Option<String> {
    let jwk = serde_json::to_value(key.public_jwk()?).ok()?;
    let header = json!({ "typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": jwk });
    Some(crate::base64url::encode(header.to_string().as_bytes()))
}

/// The signed proof, after `header` from [`encoded_header`] of the same key. `None` when the
/// key cannot sign.
pub(crate) fn sign(key: &Key, header: &str, claims: &ProofClaims<'_>) -> Option<String> {
    let mut payload = json!({
        "jti": claims.jti,
        "htm": claims.method,
        "htu": claims.htu,
        "iat": claims.iat,
    });
    if let Some(token) = claims.token {
        payload["ath"] = super::proof::token_hash(token).into();
    }
    if let Some(nonce) = claims.nonce {
        payload["nonce"] = nonce.into();
    }
    let mut proof = String::with_capacity(header.len() + 400);
    proof.push_str(header);
    proof.push('.');
    crate::base64url::encode_onto(payload.to_string().as_bytes(), &mut proof);
    let signature = key.sign(proof.as_bytes())?;
    proof.push('.');
    crate::base64url::encode_onto(&signature, &mut proof);
    Some(proof)
}

/// A new proof id: 128 random bits.
pub(crate) fn new_jti() -> String {
    let mut jti = [0u8; 16];
    // Without randomness the id is all zeros and the server refuses its second use: safe.
    getrandom::fill(&mut jti).unwrap_or_default();
    crate::base64url::encode(&jti)
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;
    use crate::dpop::proof::{Expected, KeyCache, check, token_hash};

    /// A generated key of either algorithm signs proofs the server side accepts, bound to the
    /// key's own thumbprint, with `ath` for the token.
    #[test]
    fn generated_keys_sign_proofs_the_server_accepts() {
        for algorithm in [Algorithm::ES256, Algorithm::EdDSA] {
            let key = DpopKeyPair::generate(algorithm).unwrap();
            assert_eq!(key.algorithm(), algorithm);
            let htu = "https://api.example.com/orders";
            let proof = key.proof(&Method::POST, htu, Some("a.b.c"), None);
            let now = SystemClock.now();
            let expected = Expected {
                method: &Method::POST,
                uris: &[htu.to_owned()],
                algorithms: &[algorithm],
                earliest: now - 60,
                latest: now + 5,
                token: Some("a.b.c"),
            };
            let checked = check(&proof, &expected, &KeyCache::new(4)).expect("a good proof");
            assert_eq!(checked.jkt, key.thumbprint(), "{algorithm:?}");
            let claims = proof.split('.').nth(1).and_then(crate::base64url::decode).unwrap();
            let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
            assert_eq!(claims["ath"], token_hash("a.b.c"));
        }
        let a = DpopKeyPair::generate(Algorithm::ES256).unwrap();
        let b = DpopKeyPair::generate(Algorithm::ES256).unwrap();
        assert_ne!(a.thumbprint(), b.thumbprint(), "new randomness each time");
    }
}
