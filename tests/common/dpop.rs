//! DPoP proofs (RFC 9449) made by an independent route: the header and claims written out by
//! hand, signed with jsonwebtoken's own ES256, the key's thumbprint computed here.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A client's proof key: its public JWK, its RFC 7638 thumbprint, and what signs.
pub struct ProofKey {
    encoding: jsonwebtoken::EncodingKey,
    pub jwk: Value,
    pub jkt: String,
}

/// What one proof claims.
pub struct Proof<'a> {
    pub method: &'a str,
    pub htu: &'a str,
    pub iat: i64,
    pub jti: &'a str,
    /// The token the proof goes with (`ath`), if any.
    pub token: Option<&'a str>,
    /// The server's nonce, if it asked for one.
    pub nonce: Option<&'a str>,
}

impl ProofKey {
    /// The P-256 key of `tests/keys/ec256_private.pem` (or the P-384 one, for "another key").
    pub fn p256() -> ProofKey {
        ProofKey::from_pem(tower_sliding_jwt::Algorithm::ES256, "ec256_private.pem")
    }

    fn from_pem(alg: tower_sliding_jwt::Algorithm, file: &str) -> ProofKey {
        let pem = super::pem(file);
        let public = tower_sliding_jwt::Key::from_private_pem(alg, &pem).unwrap().public_jwk();
        let full = serde_json::to_value(public.unwrap()).unwrap();
        let jwk = json!({ "kty": full["kty"], "crv": full["crv"], "x": full["x"], "y": full["y"] });
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        let jkt = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let encoding = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
        ProofKey { encoding, jwk, jkt }
    }

    /// Another P-256 key altogether: a proof by someone who copied the token.
    pub fn another() -> ProofKey {
        // A second P-256 key, written out in PKCS#8 here.
        ProofKey::from_pem(tower_sliding_jwt::Algorithm::ES256, "ec256_other_private.pem")
    }

    /// A proof with this header (`typ`, `alg`, `jwk` as given) and these claims.
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        install_signing_backend();
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let input = format!("{}.{}", encode(header), encode(claims));
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &self.encoding,
            jsonwebtoken::Algorithm::ES256,
        )
        .unwrap();
        format!("{input}.{signature}")
    }

    /// A well-formed proof of this key.
    pub fn sign(&self, proof: &Proof<'_>) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk });
        let mut claims =
            json!({ "jti": proof.jti, "htm": proof.method, "htu": proof.htu, "iat": proof.iat });
        if let Some(token) = proof.token {
            claims["ath"] = ath(token).into();
        }
        if let Some(nonce) = proof.nonce {
            claims["nonce"] = nonce.into();
        }
        self.sign_raw(&header, &claims)
    }
}

/// jsonwebtoken picks its backend by itself only when one is compiled in; with both (as
/// `--all-features` builds it), say which: the one the crate's own build prefers.
fn install_signing_backend() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(feature = "aws_lc_rs")]
        let provider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
        #[cfg(not(feature = "aws_lc_rs"))]
        let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
        // Already installed (by another test binary's path through here): the same choice.
        let _ = provider.install_default();
    });
}

/// `ath`: the base64url SHA-256 of a token.
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}
