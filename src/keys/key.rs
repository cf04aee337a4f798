//! [`Key`]: one key, pinned to one algorithm, from a secret, a PEM or a JWK.

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, EncodingKey};

use super::jwk::{self, PublicJwk, ec_params, ed_params, public_params, rsa_params, thumbprint};
use crate::algorithm::Algorithm;
use crate::error::KeyError;
use crate::keys::crypto::{Signer, Verifier, provider};

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// A key of a JWK Set that was not used: its `kid` (empty if none) and why.
pub(crate) type Skipped = (String, KeyError);

/// One key, pinned to one algorithm.
///
/// A token is only ever checked with the algorithm of the key selected for it: the `alg` in the
/// token header must equal it, and `none` is never accepted. A key built from a secret or a
/// private key can sign; one built from a public key (PEM or JWK) can only verify.
///
/// Keys are checked when they are built: an HMAC secret shorter than the hash output, a PEM or
/// JWK of the wrong type for the algorithm, or an RSA modulus under 2048 bits is refused with a
/// [`KeyError`]. Error messages and `Debug` output never contain key material.
///
/// ```
/// use tower_sliding_jwt::{Algorithm, Key};
///
/// let key = Key::hs256(b"0123456789abcdef0123456789abcdef")?.with_kid("2026-11");
/// assert_eq!(key.algorithm(), Algorithm::HS256);
/// assert_eq!(key.kid(), Some("2026-11"));
/// assert!(key.can_sign());
///
/// // 16 bytes is too short for HS256 (it needs 32).
/// assert!(Key::hs256(b"0123456789abcdef").is_err());
/// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    alg: Algorithm,
    kid: Option<String>,
    /// Shared, so that cloning a key (or a builder holding it) never copies key material.
    material: Arc<Material>,
}

struct Material {
    decoding: DecodingKey,
    /// The signature check, prepared once.
    verifier: Verifier,
    signer: Option<Signer>,
    /// The public half as JWK parameters (asymmetric keys only), for publishing.
    public: Option<AlgorithmParameters>,
}

impl Key {
    /// An HMAC key (`HS256`, `HS384` or `HS512`) from a shared secret.
    ///
    /// The secret must be at least as long as the hash output: 32 bytes for HS256, 48 for HS384,
    /// 64 for HS512 (RFC 7518 section 3.2).
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    /// use tower_sliding_jwt::error::KeyError;
    ///
    /// let key = Key::hmac(Algorithm::HS384, [7u8; 48])?;
    /// assert_eq!(key.algorithm(), Algorithm::HS384);
    /// let short = Key::hmac(Algorithm::HS384, [7u8; 32]).unwrap_err();
    /// assert!(matches!(short, KeyError::SecretTooShort { minimum: 48, actual: 32, .. }));
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn hmac(algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let secret = secret.as_ref();
        let minimum = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => {
                return Err(KeyError::WrongKeyType {
                    algorithm,
                    expected: expected_material(algorithm),
                });
            }
        };
        if secret.len() < minimum {
            return Err(KeyError::SecretTooShort { algorithm, minimum, actual: secret.len() });
        }
        let wrong_type =
            || KeyError::WrongKeyType { algorithm, expected: expected_material(algorithm) };
        let material = Material {
            decoding: DecodingKey::from_secret(secret),
            verifier: Verifier::new(algorithm, Some(secret), None).ok_or_else(wrong_type)?,
            signer: Some(Signer::new(algorithm, EncodingKey::from_secret(secret))),
            public: None,
        };
        Ok(Key { alg: algorithm, kid: None, material: Arc::new(material) })
    }

    /// An HS256 key from a secret of at least 32 bytes.
    ///
    /// ```
    /// use tower_sliding_jwt::Key;
    ///
    /// let secret = std::env::var("JWT_SECRET").unwrap_or_else(|_| "x".repeat(32));
    /// let key = Key::hs256(secret)?;
    /// assert!(key.can_sign());
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        Key::hmac(Algorithm::HS256, secret)
    }

    /// A signing key from a private key in PEM (RSA: PKCS#1 or PKCS#8; ECDSA and Ed25519:
    /// PKCS#8) for an RSA (`RS*`, `PS*`), ECDSA (`ES256`, `ES384`) or `EdDSA` algorithm.
    ///
    /// The public half is derived from it, so the key verifies too. Its `kid` defaults to the
    /// RFC 7638 thumbprint of the public key; [`Key::with_kid`] replaces it.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ec256_private.pem")?;
    /// let key = Key::from_private_pem(Algorithm::ES256, &pem)?;
    /// assert!(key.can_sign());
    /// assert!(key.kid().is_some());
    ///
    /// // The same key is refused for an algorithm of another family or curve.
    /// assert!(Key::from_private_pem(Algorithm::RS256, &pem).is_err());
    /// assert!(Key::from_private_pem(Algorithm::ES384, &pem).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_private_pem(algorithm: Algorithm, pem: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let pem = pem.as_ref();
        let wrong_type =
            || KeyError::WrongKeyType { algorithm, expected: expected_material(algorithm) };
        let encoding = match family(algorithm) {
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => return Err(wrong_type()),
        }
        .map_err(|_| wrong_type())?;
        let utils = &provider().key_utils;
        let (decoding, public) = match family(algorithm) {
            AlgorithmFamily::Rsa => {
                let (n, e) = (utils.rsa_pub_components_from_private_key)(encoding.as_bytes())
                    .map_err(|_| wrong_type())?;
                (DecodingKey::from_rsa_raw_components(&n, &e), rsa_params(&n, &e))
            }
            AlgorithmFamily::Ec => {
                let (curve, x, y) = (utils.ec_pub_components_from_private_key)(
                    encoding.as_bytes(),
                    algorithm.to_jsonwebtoken(),
                )
                .map_err(|_| wrong_type())?;
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (DecodingKey::from_ec_der(&point), ec_params(curve, &x, &y))
            }
            AlgorithmFamily::Ed => {
                let x = (utils.ed_pub_components_from_private_key)(
                    encoding.as_bytes(),
                    &EllipticCurve::Ed25519,
                )
                .map_err(|_| wrong_type())?;
                (DecodingKey::from_ed_der(&x), ed_params(&x))
            }
            AlgorithmFamily::Hmac => return Err(wrong_type()),
        };
        let signer = Signer::new(algorithm, encoding);
        let key = Key::asymmetric(algorithm, decoding, Some(signer), public)?;
        key.self_test()?;
        Ok(key.with_thumbprint_kid())
    }

    /// A verifying key from a public key in PEM (`PUBLIC KEY`, or `RSA PUBLIC KEY` for RSA).
    ///
    /// Its `kid` defaults to the RFC 7638 thumbprint; [`Key::with_kid`] replaces it (set it to
    /// the `kid` your issuer puts in its tokens).
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_public.pem")?;
    /// let key = Key::from_public_pem(Algorithm::EdDSA, &pem)?.with_kid("partner-1");
    /// assert!(!key.can_sign());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_public_pem(algorithm: Algorithm, pem: impl AsRef<[u8]>) -> Result<Key, KeyError> {
        let pem = pem.as_ref();
        let wrong_type =
            || KeyError::WrongKeyType { algorithm, expected: expected_material(algorithm) };
        let decoding = match family(algorithm) {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => return Err(wrong_type()),
        }
        .map_err(|_| wrong_type())?;
        let public = public_params(algorithm, &decoding).ok_or_else(wrong_type)?;
        Ok(Key::asymmetric(algorithm, decoding, None, public)?.with_thumbprint_kid())
    }

    /// A key from the JSON text of one JSON Web Key (RFC 7517): a public RSA, EC or OKP (Ed25519)
    /// key, or an `oct` (HMAC) secret.
    ///
    /// The algorithm comes from the JWK's `alg`; without one it is inferred where the key type
    /// allows only one (`EC` P-256 → ES256, P-384 → ES384, `OKP` Ed25519 → EdDSA) and RSA keys
    /// default to RS256; an `oct` key needs its `alg`. The `kid` is the JWK's `kid`, or the
    /// thumbprint. Keys marked `"use": "enc"` are refused.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let jwk = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed-1",
    ///               "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    /// let key = Key::from_jwk_json(jwk)?;
    /// assert_eq!(key.algorithm(), Algorithm::EdDSA);
    /// assert_eq!(key.kid(), Some("ed-1"));
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn from_jwk_json(json: &str) -> Result<Key, KeyError> {
        Key::from_jwk(&jwk::parse(json)?)
    }

    /// All the usable signature keys of a JWK Set document (`{"keys": [...]}`), by the rule
    /// every JWK Set is read with, a remote one included:
    ///
    /// - keys for encryption (`"use": "enc"`) are left out;
    /// - symmetric keys (`"kty": "oct"`) are left out: a JWK Set is a public document, and a
    ///   secret anyone can read would let anyone sign;
    /// - keys of unsupported types, curves or algorithms, and malformed keys, are skipped with
    ///   a warning, so one odd key does not make the set unusable (RFC 7517 section 5);
    /// - a document that is not a JWK Set, or holds no usable key, is an error.
    ///
    /// `"alg": "Ed25519"` (RFC 9864) is read as EdDSA on Ed25519.
    ///
    /// ```
    /// use tower_sliding_jwt::Key;
    ///
    /// let jwks = r#"{"keys":[
    ///   {"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    ///   {"kty":"RSA","use":"enc","kid":"b","n":"AQAB","e":"AQAB"}
    /// ]}"#;
    /// let keys = Key::from_jwk_set_json(jwks)?;
    /// assert_eq!(keys.len(), 1);
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn from_jwk_set_json(json: &str) -> Result<Vec<Key>, KeyError> {
        let (keys, skipped) = Key::read_jwk_set(json.as_bytes())?;
        for (kid, reason) in skipped {
            tracing::warn!(target: "tower_sliding_jwt", kid, %reason, "JWK skipped");
        }
        Ok(keys)
    }

    /// The one rule for JWK Set documents: the usable keys, and the `kid` of each key skipped
    /// with why (keys for encryption are left out without a word).
    pub(crate) fn read_jwk_set(document: &[u8]) -> Result<(Vec<Key>, Vec<Skipped>), KeyError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(document)
            .map_err(|_| KeyError::InvalidJwk("not a JWK Set document"))?;
        let (mut keys, mut skipped) = (Vec::new(), Vec::new());
        for value in document.keys {
            let member = |name| value.get(name).and_then(serde_json::Value::as_str);
            let kid = member("kid").unwrap_or("").to_owned();
            if member("use") == Some("enc") {
                continue;
            }
            if member("kty") == Some("oct") {
                let reason = "a symmetric key in a public document is never used";
                skipped.push((kid, KeyError::InvalidJwk(reason)));
                continue;
            }
            match jwk::from_value(value).and_then(|jwk| Key::from_jwk(&jwk)) {
                Ok(key) => keys.push(key),
                Err(error) => skipped.push((kid, error)),
            }
        }
        if keys.is_empty() {
            return Err(KeyError::InvalidJwk("the set holds no usable signature key"));
        }
        Ok((keys, skipped))
    }

    /// A verifying key from the public JWK a DPoP proof carries in its header, pinned to the
    /// proof's `alg`, and the key's RFC 7638 thumbprint (what a bound token's `cnf.jkt` names).
    pub(crate) fn from_proof_jwk(
        value: serde_json::Value,
        algorithm: Algorithm,
    ) -> Result<(Key, String), KeyError> {
        let jwk = jwk::from_value(value)?;
        let key = Key::from_jwk_with_algorithm(&jwk, algorithm)?;
        let thumbprint =
            thumbprint(&jwk.algorithm).ok_or(KeyError::InvalidJwk("no thumbprint for this key"))?;
        Ok((key, thumbprint))
    }

    /// A key from a parsed JWK, with the algorithm it declares or implies.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Key, KeyError> {
        Key::from_jwk_with_algorithm(jwk, jwk::algorithm_of(jwk)?)
    }

    /// A key from a JWK, pinned to `algorithm` (which must agree with the JWK's own `alg`, if it
    /// has one).
    fn from_jwk_with_algorithm(jwk: &Jwk, algorithm: Algorithm) -> Result<Key, KeyError> {
        if let Some(declared) = jwk.common.key_algorithm
            && jwk::algorithm_named(declared) != Some(algorithm)
        {
            return Err(KeyError::WrongKeyType {
                algorithm,
                expected: "a JWK whose \"alg\" matches",
            });
        }
        let wrong_type =
            || KeyError::WrongKeyType { algorithm, expected: expected_material(algorithm) };
        let mut key = match (&jwk.algorithm, family(algorithm)) {
            (AlgorithmParameters::OctetKey(p), AlgorithmFamily::Hmac) => {
                let secret = crate::base64url::decode(p.value.trim_end_matches('='))
                    .ok_or(KeyError::InvalidJwk("\"k\" is not base64url"))?;
                Key::hmac(algorithm, secret)?
            }
            (AlgorithmParameters::RSA(_), AlgorithmFamily::Rsa)
            | (AlgorithmParameters::EllipticCurve(_), AlgorithmFamily::Ec)
            | (AlgorithmParameters::OctetKeyPair(_), AlgorithmFamily::Ed) => {
                if let AlgorithmParameters::EllipticCurve(p) = &jwk.algorithm {
                    let curve_ok = matches!(
                        (&p.curve, algorithm),
                        (EllipticCurve::P256, Algorithm::ES256)
                            | (EllipticCurve::P384, Algorithm::ES384)
                    );
                    if !curve_ok {
                        return Err(wrong_type());
                    }
                }
                if let AlgorithmParameters::OctetKeyPair(p) = &jwk.algorithm
                    && p.curve != EllipticCurve::Ed25519
                {
                    return Err(wrong_type());
                }
                let decoding = DecodingKey::from_jwk(jwk).map_err(|_| wrong_type())?;
                let public = public_params(algorithm, &decoding).ok_or_else(wrong_type)?;
                Key::asymmetric(algorithm, decoding, None, public)?.with_thumbprint_kid()
            }
            _ => return Err(wrong_type()),
        };
        if let Some(kid) = &jwk.common.key_id {
            key.kid = Some(kid.clone());
        }
        Ok(key)
    }

    /// Set the key id (`kid`) that selects this key and that tokens signed with it carry.
    ///
    /// ```
    /// use tower_sliding_jwt::Key;
    ///
    /// let key = Key::hs256([7u8; 32])?.with_kid("2026-11");
    /// assert_eq!(key.kid(), Some("2026-11"));
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn with_kid(mut self, kid: impl Into<String>) -> Key {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm this key is pinned to.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// assert_eq!(Key::hs256([7u8; 32])?.algorithm(), Algorithm::HS256);
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if any.
    ///
    /// ```
    /// use tower_sliding_jwt::Key;
    ///
    /// assert_eq!(Key::hs256([7u8; 32])?.kid(), None, "an HMAC key has no kid until given one");
    /// # Ok::<(), tower_sliding_jwt::error::KeyError>(())
    /// ```
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key can sign (it holds a secret or a private key).
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_public.pem")?;
    /// let public = Key::from_public_pem(Algorithm::EdDSA, pem)?;
    /// assert!(!public.can_sign(), "a public key only verifies");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn can_sign(&self) -> bool {
        self.material.signer.is_some()
    }

    /// The public half as a JWK (with `kid`, `alg` and `"use": "sig"`), for a JWK Set document.
    /// `None` for HMAC keys, whose secret must never be published.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/rsa_private.pem")?;
    /// let key = Key::from_private_pem(Algorithm::RS256, &pem)?.with_kid("rsa-1");
    /// let jwk = key.public_jwk().expect("asymmetric");
    /// assert_eq!(jwk.kid(), Some("rsa-1"));
    /// assert!(jwk.to_json().contains(r#""kty":"RSA""#));
    /// assert!(Key::hs256([7u8; 32])?.public_jwk().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn public_jwk(&self) -> Option<PublicJwk> {
        let params = self.material.public.clone()?;
        Some(PublicJwk::new(params, self.alg, self.kid.clone()))
    }

    /// An RSA, ECDSA or EdDSA key: checks the public half and prepares its verifier.
    fn asymmetric(
        alg: Algorithm,
        decoding: DecodingKey,
        signer: Option<Signer>,
        public: AlgorithmParameters,
    ) -> Result<Key, KeyError> {
        let wrong_type =
            || KeyError::WrongKeyType { algorithm: alg, expected: expected_material(alg) };
        if let AlgorithmParameters::RSA(p) = &public {
            let n = crate::base64url::decode(&p.n).unwrap_or_default();
            let leading_zeros = n.iter().take_while(|b| **b == 0).count();
            let bits = (n.len() - leading_zeros) * 8;
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaKeyTooSmall { bits, minimum: MIN_RSA_BITS });
            }
        }
        // The backend's own check of the key (curve points, encodings).
        (provider().verifier_factory)(&alg.to_jsonwebtoken(), &decoding)
            .map_err(|_| wrong_type())?;
        let verifier = Verifier::new(alg, None, Some(&public)).ok_or_else(wrong_type)?;
        let material = Material { decoding, verifier, signer, public: Some(public) };
        Ok(Key { alg, kid: None, material: Arc::new(material) })
    }

    /// Verify `signature` over `message` with this key's algorithm.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.material.verifier.verify(self.alg, &self.material.decoding, message, signature)
    }

    /// Sign `message`; `None` when the key cannot sign or the backend fails.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.material.signer.as_ref()?.sign(self.alg, message)
    }

    /// Sign and verify a fixed message: proves the private and public halves belong together.
    fn self_test(&self) -> Result<(), KeyError> {
        const PROBE: &[u8] = b"tower-sliding-jwt key check";
        match self.sign(PROBE) {
            Some(signature) if self.verify(PROBE, &signature) => Ok(()),
            _ => Err(KeyError::WrongKeyType {
                algorithm: self.alg,
                expected: expected_material(self.alg),
            }),
        }
    }

    /// A new Ed25519 signing key from the system's randomness: a client's DPoP key.
    pub(crate) fn generate_ed25519() -> Result<Key, KeyError> {
        // PKCS#8 v1 of an Ed25519 seed (RFC 8410 section 7): a fixed prefix, then the seed.
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let failed =
            || KeyError::WrongKeyType { algorithm: Algorithm::EdDSA, expected: "randomness" };
        let mut der = PREFIX.to_vec();
        der.resize(PREFIX.len() + 32, 0);
        getrandom::fill(&mut der[PREFIX.len()..]).map_err(|_| failed())?;
        Key::from_pkcs8(Algorithm::EdDSA, &der)
    }

    /// A new P-256 signing key from the system's randomness: a client's DPoP key for servers
    /// that take ES256 proofs only.
    pub(crate) fn generate_es256() -> Result<Key, KeyError> {
        let der = p256_pkcs8().ok_or(KeyError::WrongKeyType {
            algorithm: Algorithm::ES256,
            expected: "randomness",
        })?;
        Key::from_pkcs8(Algorithm::ES256, &der)
    }

    /// A private key from its PKCS#8 DER, through the PEM reader every private key takes.
    fn from_pkcs8(algorithm: Algorithm, der: &[u8]) -> Result<Key, KeyError> {
        let body = base64_simd::STANDARD.encode_to_string(der);
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        Key::from_private_pem(algorithm, pem)
    }

    /// The RFC 7638 thumbprint of the public key (`None` for an HMAC key).
    pub(crate) fn thumbprint(&self) -> Option<String> {
        self.material.public.as_ref().and_then(thumbprint)
    }

    fn with_thumbprint_kid(mut self) -> Key {
        if self.kid.is_none() {
            self.kid = self.thumbprint();
        }
        self
    }
}

/// A new P-256 key pair as PKCS#8, with its public key.
#[cfg(feature = "aws_lc_rs")]
fn p256_pkcs8() -> Option<Vec<u8>> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).ok()?;
    Some(pair.to_pkcs8v1().ok()?.as_ref().to_vec())
}

/// A new P-256 key pair as PKCS#8, with its public key.
#[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
fn p256_pkcs8() -> Option<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    // PKCS#8 v1 of a P-256 key (RFC 5958, RFC 5915): the fixed parts around the private scalar
    // and the uncompressed public point.
    const HEAD: [u8; 36] = [
        0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30,
        0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    const MIDDLE: [u8; 5] = [0xa1, 0x44, 0x03, 0x42, 0x00];
    let mut scalar = [0u8; 32];
    // A random 32 bytes is a valid scalar but for a chance of about 2^-32.
    let secret = loop {
        getrandom::fill(&mut scalar).ok()?;
        if let Ok(secret) = p256::SecretKey::from_slice(&scalar) {
            break secret;
        }
    };
    let point = secret.public_key().to_encoded_point(false);
    let mut der = Vec::with_capacity(138);
    der.extend_from_slice(&HEAD);
    der.extend_from_slice(&scalar);
    der.extend_from_slice(&MIDDLE);
    der.extend_from_slice(point.as_bytes());
    Some(der)
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.alg)
            .field("kid", &self.kid)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

/// What a key for `algorithm` must be made of, for error messages.
fn expected_material(algorithm: Algorithm) -> &'static str {
    match family(algorithm) {
        AlgorithmFamily::Hmac => "a shared secret (Key::hmac), not a PEM or JWK public key",
        AlgorithmFamily::Rsa => "an RSA key of at least 2048 bits",
        AlgorithmFamily::Ec => match algorithm {
            Algorithm::ES384 => "an ECDSA P-384 key",
            _ => "an ECDSA P-256 key",
        },
        AlgorithmFamily::Ed => "an Ed25519 key",
    }
}

/// The key family of an algorithm, in jsonwebtoken's terms.
fn family(algorithm: Algorithm) -> AlgorithmFamily {
    algorithm.to_jsonwebtoken().family()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::jwk::b64;

    fn pem(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn hmac_secret_lengths_follow_rfc_7518() {
        for (alg, min) in [(Algorithm::HS256, 32), (Algorithm::HS384, 48), (Algorithm::HS512, 64)] {
            assert!(Key::hmac(alg, vec![1u8; min]).is_ok());
            let err = Key::hmac(alg, vec![1u8; min - 1]).unwrap_err();
            assert_eq!(
                err,
                KeyError::SecretTooShort { algorithm: alg, minimum: min, actual: min - 1 }
            );
            assert!(err.to_string().contains(&min.to_string()));
        }
        assert!(matches!(
            Key::hmac(Algorithm::RS256, [0u8; 64]),
            Err(KeyError::WrongKeyType { .. })
        ));
    }

    #[test]
    fn every_private_pem_signs_and_verifies() {
        let cases = [
            (Algorithm::RS256, "rsa_private.pem"),
            (Algorithm::RS384, "rsa_private.pem"),
            (Algorithm::RS512, "rsa_private.pem"),
            (Algorithm::PS256, "rsa_private.pem"),
            (Algorithm::PS384, "rsa_private.pem"),
            (Algorithm::PS512, "rsa_private.pem"),
            (Algorithm::ES256, "ec256_private.pem"),
            (Algorithm::ES384, "ec384_private.pem"),
            (Algorithm::EdDSA, "ed25519_private.pem"),
        ];
        for (alg, file) in cases {
            let key =
                Key::from_private_pem(alg, pem(file)).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
            let sig = key.sign(b"message").unwrap();
            assert!(key.verify(b"message", &sig), "{alg:?}");
            assert!(!key.verify(b"messagf", &sig), "{alg:?}");
            assert!(key.public_jwk().is_some());
        }
    }

    #[test]
    fn public_pem_verifies_what_the_private_pem_signed() {
        let cases = [
            (Algorithm::RS256, "rsa_private.pem", "rsa_public.pem"),
            (Algorithm::PS256, "rsa_private.pem", "rsa_public.pem"),
            (Algorithm::ES256, "ec256_private.pem", "ec256_public.pem"),
            (Algorithm::ES384, "ec384_private.pem", "ec384_public.pem"),
            (Algorithm::EdDSA, "ed25519_private.pem", "ed25519_public.pem"),
        ];
        for (alg, private, public) in cases {
            let signer = Key::from_private_pem(alg, pem(private)).unwrap();
            let verifier = Key::from_public_pem(alg, pem(public)).unwrap();
            assert!(!verifier.can_sign());
            assert_eq!(signer.kid(), verifier.kid(), "thumbprint kid of {alg:?}");
            let sig = signer.sign(b"payload").unwrap();
            assert!(verifier.verify(b"payload", &sig), "{alg:?}");
        }
    }

    #[test]
    fn key_of_the_wrong_type_is_refused() {
        let refused = [
            (Algorithm::ES256, "rsa_private.pem"),
            (Algorithm::ES384, "ec256_private.pem"),
            (Algorithm::ES256, "ec384_private.pem"),
            (Algorithm::RS256, "ec256_private.pem"),
            (Algorithm::EdDSA, "ec256_private.pem"),
            (Algorithm::HS256, "rsa_private.pem"),
        ];
        for (alg, file) in refused {
            let err = Key::from_private_pem(alg, pem(file)).unwrap_err();
            assert!(matches!(err, KeyError::WrongKeyType { .. }), "{alg:?} {file}: {err}");
        }
        assert!(Key::from_public_pem(Algorithm::ES384, pem("ec256_public.pem")).is_err());
        assert!(Key::from_public_pem(Algorithm::RS256, pem("ed25519_public.pem")).is_err());
        assert!(Key::from_private_pem(Algorithm::RS256, b"not a pem").is_err());
    }

    /// Local and remote JWK Sets are read by this one rule.
    #[test]
    fn every_jwk_set_is_read_by_one_rule() {
        let ed = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let ed_fully_specified = ed.replace(r#""kid":"ed""#, r#""kid":"ed2","alg":"Ed25519""#);
        let document = format!(
            r#"{{"keys":[{ed},{ed_fully_specified},
              {{"kty":"oct","alg":"HS256","kid":"secret","k":"{}"}},
              {{"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"}},
              {{"kty":"RSA","kid":"tiny","n":"AQAB","e":"AQAB"}},
              {{"kty":"EC","crv":"P-521","kid":"p521","x":"AA","y":"AA"}},
              {{"kty":"future-kind","kid":"new"}},
              {{"kty":"OKP","crv":"X25519","kid":"x","alg":"Ed25519","x":"AA"}}]}}"#,
            b64(&[7u8; 32])
        );
        let (keys, skipped) = Key::read_jwk_set(document.as_bytes()).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| (k.kid().unwrap(), k.algorithm())).collect();
        assert_eq!(kids, [("ed", Algorithm::EdDSA), ("ed2", Algorithm::EdDSA)]);
        let skipped: Vec<&str> = skipped.iter().map(|(kid, _)| kid.as_str()).collect();
        assert_eq!(skipped, ["secret", "tiny", "p521", "new", "x"], "the encryption key unsaid");
        // The public entry point keeps the same keys, and no secret from a public document.
        assert_eq!(Key::from_jwk_set_json(&document).unwrap().len(), 2);
        let only_secret =
            format!(r#"{{"keys":[{{"kty":"oct","alg":"HS256","k":"{}"}}]}}"#, b64(&[7u8; 32]));
        assert!(Key::from_jwk_set_json(&only_secret).is_err());
        assert!(Key::from_jwk_set_json(r#"{"keys":"none"}"#).is_err());
        // One JWK on its own may be a secret: it is configuration, not a public document.
        let single = format!(r#"{{"kty":"oct","alg":"HS256","k":"{}"}}"#, b64(&[7u8; 32]));
        assert_eq!(Key::from_jwk_json(&single).unwrap().algorithm(), Algorithm::HS256);
        assert_eq!(Key::from_jwk_json(&ed_fully_specified).unwrap().algorithm(), Algorithm::EdDSA);
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        // RustCrypto parses the key and the size check refuses it; aws-lc refuses it while
        // parsing. Either way the message names the minimum.
        let err = Key::from_private_pem(Algorithm::RS256, pem("rsa1024_private.pem")).unwrap_err();
        assert!(err.to_string().contains("2048"), "{err}");
        let n = b64(&[0xff; 128]);
        let small = format!(r#"{{"kty":"RSA","alg":"RS256","n":"{n}","e":"AQAB"}}"#);
        assert_eq!(
            Key::from_jwk_json(&small).unwrap_err(),
            KeyError::RsaKeyTooSmall { bits: 1024, minimum: 2048 }
        );
    }

    #[test]
    fn jwk_round_trip_and_set_selection() {
        let signer = Key::from_private_pem(Algorithm::ES256, pem("ec256_private.pem"))
            .unwrap()
            .with_kid("ec-1");
        let jwk = signer.public_jwk().unwrap();
        let json = jwk.to_json();
        let verifier = Key::from_jwk_json(&json).unwrap();
        assert_eq!(verifier.algorithm(), Algorithm::ES256);
        assert_eq!(verifier.kid(), Some("ec-1"));
        let sig = signer.sign(b"x").unwrap();
        assert!(verifier.verify(b"x", &sig));

        let set = format!(
            r#"{{"keys":[{json},{{"kty":"oct","alg":"HS256","kid":"h","k":"{}"}},{{"kty":"EC","crv":"P-521","use":"enc","x":"AA","y":"AA"}}]}}"#,
            b64(&[9u8; 32])
        );
        let keys = Key::from_jwk_set_json(&set).unwrap();
        assert_eq!(keys.len(), 1, "the secret in a public document is left out");
        assert!(Key::from_jwk_set_json(r#"{"keys":[]}"#).is_err());
        assert!(Key::from_jwk_set_json("[]").is_err());
        // A JWK whose alg contradicts the requested algorithm.
        let parsed = jwk::parse(&json).unwrap();
        assert!(Key::from_jwk_with_algorithm(&parsed, Algorithm::ES384).is_err());
    }

    /// No encoding of a secret or private key appears in `Debug`: not the bytes as text, hex,
    /// base64 or a list of numbers, nor any stretch of a PEM's body.
    #[test]
    fn debug_output_has_no_key_material() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let secret: Vec<u8> = (0u8..48).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        let key = Key::hs256(&secret).unwrap().with_kid("k1");
        let debug = format!("{key:?}");
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let forms = [
            hex.clone(),
            hex.to_uppercase(),
            STANDARD.encode(&secret)[..16].to_owned(),
            URL_SAFE_NO_PAD.encode(&secret)[..16].to_owned(),
            format!("{:?}", &secret[..6]).trim_end_matches(']').to_owned(),
            String::from_utf8_lossy(&secret[..8]).into_owned(),
        ];
        for form in forms {
            assert!(!debug.contains(&form), "{debug} shows {form}");
        }
        assert!(debug.contains("k1") && debug.contains("HS256"), "what it may say: {debug}");
        for (alg, file) in [
            (Algorithm::ES256, "ec256_private.pem"),
            (Algorithm::RS256, "rsa_private.pem"),
            (Algorithm::EdDSA, "ed25519_private.pem"),
        ] {
            let pem = std::fs::read_to_string(format!("tests/keys/{file}")).unwrap();
            let debug = format!("{:?}", Key::from_private_pem(alg, &pem).unwrap());
            let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
            for window in body.as_bytes().chunks(12).filter(|w| w.len() == 12) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!debug.contains(window), "{alg:?}: {debug} shows {window}");
            }
        }
    }
}
