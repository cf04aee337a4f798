//! Keys: one algorithm per key, selection by `kid`, the current signing key.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

use crate::backend::provider;
use crate::error::KeyError;
use crate::verifier::{Signer, Verifier};

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

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
/// # Ok::<(), tower_sliding_jwt::KeyError>(())
/// ```
pub struct Key {
    alg: Algorithm,
    kid: Option<String>,
    decoding: DecodingKey,
    /// The signature check, prepared once.
    verifier: Verifier,
    signer: Option<Signer>,
    /// The public half as a JWK (asymmetric keys only), for publishing.
    public: Option<AlgorithmParameters>,
}

impl Key {
    /// An HMAC key (`HS256`, `HS384` or `HS512`) from a shared secret.
    ///
    /// The secret must be at least as long as the hash output: 32 bytes for HS256, 48 for HS384,
    /// 64 for HS512 (RFC 7518 section 3.2).
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
        Ok(Key {
            alg: algorithm,
            kid: None,
            decoding: DecodingKey::from_secret(secret),
            verifier: Verifier::new(algorithm, Some(secret), None).ok_or_else(wrong_type)?,
            signer: Some(Signer::new(algorithm, EncodingKey::from_secret(secret))),
            public: None,
        })
    }

    /// An HS256 key from a secret of at least 32 bytes.
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
        let encoding = match algorithm.family() {
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => return Err(wrong_type()),
        }
        .map_err(|_| wrong_type())?;
        let utils = &provider().key_utils;
        let (decoding, public) = match algorithm.family() {
            AlgorithmFamily::Rsa => {
                let (n, e) = (utils.rsa_pub_components_from_private_key)(encoding.as_bytes())
                    .map_err(|_| wrong_type())?;
                (DecodingKey::from_rsa_raw_components(&n, &e), rsa_params(&n, &e))
            }
            AlgorithmFamily::Ec => {
                let (curve, x, y) =
                    (utils.ec_pub_components_from_private_key)(encoding.as_bytes(), algorithm)
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
        let decoding = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => return Err(wrong_type()),
        }
        .map_err(|_| wrong_type())?;
        let public = public_params(algorithm, &decoding).ok_or_else(wrong_type)?;
        Ok(Key::asymmetric(algorithm, decoding, None, public)?.with_thumbprint_kid())
    }

    /// A key from a JSON Web Key (RFC 7517): a public RSA, EC or OKP (Ed25519) key, or an `oct`
    /// (HMAC) secret.
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
    /// # Ok::<(), tower_sliding_jwt::KeyError>(())
    /// ```
    pub fn from_jwk(jwk: &Jwk) -> Result<Key, KeyError> {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            return Err(KeyError::InvalidJwk("the key is for encryption (\"use\": \"enc\")"));
        }
        let algorithm = match jwk.common.key_algorithm {
            Some(alg) => key_algorithm(alg)
                .ok_or(KeyError::InvalidJwk("its \"alg\" is not a supported JWS algorithm"))?,
            None => match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) => match p.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    _ => return Err(KeyError::InvalidJwk("unsupported elliptic curve")),
                },
                AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                AlgorithmParameters::OctetKey(_) => {
                    return Err(KeyError::InvalidJwk("an \"oct\" key needs an \"alg\""));
                }
                _ => return Err(KeyError::InvalidJwk("unsupported key type")),
            },
        };
        Key::from_jwk_with_algorithm(jwk, algorithm)
    }

    /// A key from a JWK, pinned to `algorithm` (which must agree with the JWK's own `alg`, if it
    /// has one).
    pub fn from_jwk_with_algorithm(jwk: &Jwk, algorithm: Algorithm) -> Result<Key, KeyError> {
        if let Some(declared) = jwk.common.key_algorithm
            && key_algorithm(declared) != Some(algorithm)
        {
            return Err(KeyError::WrongKeyType {
                algorithm,
                expected: "a JWK whose \"alg\" matches",
            });
        }
        let wrong_type =
            || KeyError::WrongKeyType { algorithm, expected: expected_material(algorithm) };
        let mut key = match (&jwk.algorithm, algorithm.family()) {
            (AlgorithmParameters::OctetKey(p), AlgorithmFamily::Hmac) => {
                let secret = URL_SAFE_NO_PAD
                    .decode(p.value.trim_end_matches('='))
                    .map_err(|_| KeyError::InvalidJwk("\"k\" is not base64url"))?;
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

    /// A key from the JSON text of one JWK. See [`Key::from_jwk`].
    pub fn from_jwk_json(json: &str) -> Result<Key, KeyError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|_| KeyError::InvalidJwk("not a JWK"))?;
        Key::from_jwk(&jwk)
    }

    /// All the usable signature keys of a JWK Set document (`{"keys": [...]}`).
    ///
    /// Keys for encryption (`"use": "enc"`) and keys of unsupported types or algorithms are
    /// skipped, as a relying party must; a malformed key or a set with no usable key is an error.
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
    /// # Ok::<(), tower_sliding_jwt::KeyError>(())
    /// ```
    pub fn from_jwk_set_json(json: &str) -> Result<Vec<Key>, KeyError> {
        let set: JwkSet = serde_json::from_str(json)
            .map_err(|_| KeyError::InvalidJwk("not a JWK Set document"))?;
        Key::from_jwk_set(&set)
    }

    /// All the usable signature keys of a JWK Set. See [`Key::from_jwk_set_json`].
    pub fn from_jwk_set(set: &JwkSet) -> Result<Vec<Key>, KeyError> {
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            let unsupported_alg =
                jwk.common.key_algorithm.is_some_and(|alg| key_algorithm(alg).is_none());
            let for_encryption = jwk.common.public_key_use == Some(PublicKeyUse::Encryption);
            if unsupported_alg
                || for_encryption
                || matches!(jwk.algorithm, AlgorithmParameters::Other(_))
            {
                continue;
            }
            keys.push(Key::from_jwk(jwk)?);
        }
        if keys.is_empty() {
            return Err(KeyError::InvalidJwk("the set holds no usable signature key"));
        }
        Ok(keys)
    }

    /// Set the key id (`kid`) that selects this key and that tokens signed with it carry.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Key {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm this key is pinned to.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether this key can sign (it holds a secret or a private key).
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
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
    /// assert_eq!(jwk.common.key_id.as_deref(), Some("rsa-1"));
    /// assert!(Key::hs256([7u8; 32])?.public_jwk().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn public_jwk(&self) -> Option<Jwk> {
        let params = self.public.clone()?;
        Some(Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(jwk_algorithm(self.alg)),
                key_id: self.kid.clone(),
                ..CommonParameters::default()
            },
            algorithm: params,
        })
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
            let n = URL_SAFE_NO_PAD.decode(&p.n).unwrap_or_default();
            let leading_zeros = n.iter().take_while(|b| **b == 0).count();
            let bits = (n.len() - leading_zeros) * 8;
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaKeyTooSmall { bits, minimum: MIN_RSA_BITS });
            }
        }
        // The backend's own check of the key (curve points, encodings).
        (provider().verifier_factory)(&alg, &decoding).map_err(|_| wrong_type())?;
        let verifier = Verifier::new(alg, None, Some(&public)).ok_or_else(wrong_type)?;
        Ok(Key { alg, kid: None, decoding, verifier, signer, public: Some(public) })
    }

    /// Verify `signature` over `message` with this key's algorithm.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(self.alg, &self.decoding, message, signature)
    }

    /// Sign `message`; `None` when the key cannot sign or the backend fails.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.signer.as_ref()?.sign(self.alg, message)
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

    fn with_thumbprint_kid(mut self) -> Key {
        if self.kid.is_none() {
            self.kid = self.public.as_ref().and_then(thumbprint);
        }
        self
    }
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
    match algorithm.family() {
        AlgorithmFamily::Hmac => "a shared secret (Key::hmac), not a PEM or JWK public key",
        AlgorithmFamily::Rsa => "an RSA key of at least 2048 bits",
        AlgorithmFamily::Ec => match algorithm {
            Algorithm::ES384 => "an ECDSA P-384 key",
            _ => "an ECDSA P-256 key",
        },
        AlgorithmFamily::Ed => "an Ed25519 key",
    }
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

fn jwk_algorithm(alg: Algorithm) -> KeyAlgorithm {
    match alg {
        Algorithm::HS384 => KeyAlgorithm::HS384,
        Algorithm::HS512 => KeyAlgorithm::HS512,
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::ES384 => KeyAlgorithm::ES384,
        Algorithm::RS256 => KeyAlgorithm::RS256,
        Algorithm::RS384 => KeyAlgorithm::RS384,
        Algorithm::RS512 => KeyAlgorithm::RS512,
        Algorithm::PS256 => KeyAlgorithm::PS256,
        Algorithm::PS384 => KeyAlgorithm::PS384,
        Algorithm::PS512 => KeyAlgorithm::PS512,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        _ => KeyAlgorithm::HS256,
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_params(n: &[u8], e: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::RSA(RSAKeyParameters { key_type: RSAKeyType::RSA, n: b64(n), e: b64(e) })
}

fn ec_params(curve: EllipticCurve, x: &[u8], y: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
        key_type: EllipticCurveKeyType::EC,
        curve,
        x: b64(x),
        y: b64(y),
    })
}

fn ed_params(x: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
        key_type: OctetKeyPairType::OctetKeyPair,
        curve: EllipticCurve::Ed25519,
        x: b64(x),
    })
}

/// The public parameters of a verifying key, checked against the algorithm.
fn public_params(algorithm: Algorithm, key: &DecodingKey) -> Option<AlgorithmParameters> {
    match (algorithm.family(), key.kind()) {
        (AlgorithmFamily::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            Some(rsa_params(n, e))
        }
        (AlgorithmFamily::Rsa, DecodingKeyKind::SecretOrDer(der)) => {
            let (n, e) = (provider().key_utils.rsa_pub_components_from_public_key)(der).ok()?;
            Some(rsa_params(&n, &e))
        }
        (AlgorithmFamily::Ec, DecodingKeyKind::SecretOrDer(point)) => {
            let (curve, half) = match (algorithm, point.len()) {
                (Algorithm::ES256, 65) => (EllipticCurve::P256, 32),
                (Algorithm::ES384, 97) => (EllipticCurve::P384, 48),
                _ => return None,
            };
            if point[0] != 0x04 {
                return None;
            }
            let (x, y) = point[1..].split_at(half);
            Some(ec_params(curve, x, y))
        }
        (AlgorithmFamily::Ed, DecodingKeyKind::SecretOrDer(x)) if x.len() == 32 => {
            Some(ed_params(x))
        }
        _ => None,
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url).
fn thumbprint(params: &AlgorithmParameters) -> Option<String> {
    // Members in lexicographic order, no whitespace, as RFC 7638 section 3 requires. All the
    // values are base64url or fixed names, so no JSON escaping is needed.
    let canonical = match params {
        AlgorithmParameters::RSA(p) => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, p.e, p.n),
        AlgorithmParameters::EllipticCurve(p) => {
            let crv = match p.curve {
                EllipticCurve::P256 => "P-256",
                EllipticCurve::P384 => "P-384",
                _ => return None,
            };
            format!(r#"{{"crv":"{crv}","kty":"EC","x":"{}","y":"{}"}}"#, p.x, p.y)
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, p.x)
        }
        _ => return None,
    };
    let digest =
        (provider().key_utils.compute_digest)(canonical.as_bytes(), ThumbprintHash::SHA256).ok()?;
    Some(b64(&digest))
}

/// What a configured key is to this service, and so which issuer it may vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// The current signing key: signs new and renewed tokens, verifies ours.
    Signing,
    /// A key this service signed with before a rotation: verifies ours, and its tokens renew onto
    /// the current signing key.
    Previous,
    /// A third party's key: verifies tokens of this issuer only, and never renews them.
    Trusted(Arc<str>),
}

impl KeyRole {
    /// Whether the key is one of ours (current or previous), so its tokens are of our issuer.
    pub(crate) fn is_ours(&self) -> bool {
        matches!(self, KeyRole::Signing | KeyRole::Previous)
    }

    /// The third-party issuer the key speaks for; `None` for our own keys.
    pub(crate) fn trusted_issuer(&self) -> Option<Arc<str>> {
        match self {
            KeyRole::Trusted(issuer) => Some(Arc::clone(issuer)),
            KeyRole::Signing | KeyRole::Previous => None,
        }
    }
}

/// The configured keys, with their roles.
pub(crate) struct KeySet {
    keys: Vec<(Key, KeyRole)>,
    /// The base64url headers this configuration signs with (with and without `kid`), and what
    /// they say: a token carrying one of them needs no header parsing.
    known_headers: Vec<(String, Algorithm, Option<String>)>,
}

/// Why no key could be chosen for a token header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    UnknownKid,
    WrongAlgorithm,
}

impl KeySet {
    pub(crate) fn new(keys: Vec<(Key, KeyRole)>) -> KeySet {
        let mut known_headers: Vec<(String, Algorithm, Option<String>)> = Vec::new();
        for (key, _) in &keys {
            let forms = [
                (jose_header(key.alg, key.kid()), key.kid.clone()),
                (jose_header(key.alg, None), None),
            ];
            for (header, kid) in forms {
                if !known_headers.iter().any(|(known, _, _)| *known == header) {
                    known_headers.push((header, key.alg, kid));
                }
            }
        }
        KeySet { keys, known_headers }
    }

    /// What a header segment says, if it is one this configuration signs with.
    pub(crate) fn known_header(&self, segment: &str) -> Option<(Algorithm, Option<&str>)> {
        self.known_headers
            .iter()
            .find(|(header, _, _)| header == segment)
            .map(|(_, alg, kid)| (*alg, kid.as_deref()))
    }

    pub(crate) fn signing(&self) -> Option<&Key> {
        self.keys.iter().find(|(_, role)| *role == KeyRole::Signing).map(|(key, _)| key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(Key, KeyRole)> {
        self.keys.iter()
    }

    /// The keys a token with this `alg` and `kid` may be verified with, in order.
    ///
    /// With a `kid`, exactly the key that has it (an unknown `kid` is refused; the `alg` must be
    /// that key's). Without one, every key pinned to `alg`, the signing key first.
    pub(crate) fn candidates<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<impl Iterator<Item = &'a (Key, KeyRole)> + use<'a>, Selection> {
        let by_kid = match kid {
            Some(kid) => {
                let found = self.keys.iter().position(|(key, _)| key.kid() == Some(kid));
                match found {
                    Some(index) if self.keys[index].0.alg == alg => Some(index),
                    Some(_) => return Err(Selection::WrongAlgorithm),
                    None => return Err(Selection::UnknownKid),
                }
            }
            None => None,
        };
        if by_kid.is_none() && !self.keys.iter().any(|(key, _)| key.alg == alg) {
            return Err(Selection::WrongAlgorithm);
        }
        Ok(self.keys.iter().enumerate().filter_map(move |(index, entry)| match by_kid {
            Some(wanted) => (index == wanted).then_some(entry),
            None => (entry.0.alg == alg).then_some(entry),
        }))
    }
}

/// The base64url JOSE header of tokens signed with `alg` and `kid`: `{"alg":…,"kid":…,"typ":"JWT"}`.
pub(crate) fn jose_header(alg: Algorithm, kid: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: Algorithm,
        #[serde(skip_serializing_if = "Option::is_none")]
        kid: Option<&'a str>,
        typ: &'static str,
    }
    let json = serde_json::to_vec(&Header { alg, kid, typ: "JWT" }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let json = serde_json::to_string(&jwk).unwrap();
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
        assert_eq!(keys.len(), 2);
        assert!(Key::from_jwk_set_json(r#"{"keys":[]}"#).is_err());
        assert!(Key::from_jwk_set_json("[]").is_err());
        // A JWK whose alg contradicts the requested algorithm.
        assert!(Key::from_jwk_with_algorithm(&jwk, Algorithm::ES384).is_err());
    }

    #[test]
    fn key_selection_by_kid_and_algorithm() {
        let a = Key::hs256([1u8; 32]).unwrap().with_kid("a");
        let b = Key::hs256([2u8; 32]).unwrap().with_kid("b");
        let set = KeySet::new(vec![(a, KeyRole::Signing), (b, KeyRole::Previous)]);
        let kids = |alg, kid| {
            set.candidates(alg, kid)
                .map(|it| it.map(|(k, _)| k.kid().unwrap().to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(kids(Algorithm::HS256, Some("b")).unwrap(), ["b"]);
        assert_eq!(kids(Algorithm::HS256, None).unwrap(), ["a", "b"]);
        assert_eq!(kids(Algorithm::HS256, Some("zzz")).unwrap_err(), Selection::UnknownKid);
        assert_eq!(kids(Algorithm::HS384, Some("a")).unwrap_err(), Selection::WrongAlgorithm);
        assert_eq!(kids(Algorithm::RS256, None).unwrap_err(), Selection::WrongAlgorithm);
    }

    #[test]
    fn debug_output_has_no_key_material() {
        let key = Key::hs256(b"super-secret-super-secret-super-secret").unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("super-secret"), "{debug}");
    }
}
