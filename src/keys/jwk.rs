//! JSON Web Keys (RFC 7517): reading them, the public parameters of our keys, RFC 7638
//! thumbprints, and the JWK Set a service publishes.

use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, DecodingKeyKind};
use serde::{Serialize, Serializer};

use crate::algorithm::Algorithm;
use crate::error::KeyError;
use crate::keys::crypto::provider;

/// The JWS algorithm a JWK's `alg` names, if it is one of ours (the JWK variant names are the
/// JOSE names, so our one table of names decides).
pub(crate) fn algorithm_named(alg: KeyAlgorithm) -> Option<Algorithm> {
    Algorithm::from_name(&format!("{alg:?}"))
}

/// The algorithm a JWK declares, or the only one its key type allows.
pub(crate) fn algorithm_of(jwk: &Jwk) -> Result<Algorithm, KeyError> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Err(KeyError::InvalidJwk("the key is for encryption (\"use\": \"enc\")"));
    }
    match jwk.common.key_algorithm {
        Some(alg) => algorithm_named(alg)
            .ok_or(KeyError::InvalidJwk("its \"alg\" is not a supported JWS algorithm")),
        None => match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Ok(Algorithm::RS256),
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Ok(Algorithm::ES256),
                EllipticCurve::P384 => Ok(Algorithm::ES384),
                _ => Err(KeyError::InvalidJwk("unsupported elliptic curve")),
            },
            AlgorithmParameters::OctetKeyPair(_) => Ok(Algorithm::EdDSA),
            AlgorithmParameters::OctetKey(_) => {
                Err(KeyError::InvalidJwk("an \"oct\" key needs an \"alg\""))
            }
            _ => Err(KeyError::InvalidJwk("unsupported key type")),
        },
    }
}

/// One JWK from its JSON text.
pub(crate) fn parse(json: &str) -> Result<Jwk, KeyError> {
    let value = serde_json::from_str(json).map_err(|_| KeyError::InvalidJwk("not a JWK"))?;
    from_value(value)
}

/// One JWK from its JSON value. RFC 9864's fully-specified `"alg": "Ed25519"` (what
/// node-oidc-provider 9 offers, say) is read as EdDSA on Ed25519, the only curve it allows.
pub(crate) fn from_value(mut value: serde_json::Value) -> Result<Jwk, KeyError> {
    if value.get("alg").and_then(serde_json::Value::as_str) == Some("Ed25519") {
        if value.get("crv").and_then(serde_json::Value::as_str) != Some("Ed25519") {
            return Err(KeyError::InvalidJwk("\"alg\": \"Ed25519\" on a key of another curve"));
        }
        value["alg"] = "EdDSA".into();
    }
    serde_json::from_value(value).map_err(|_| KeyError::InvalidJwk("not a JWK"))
}

/// A public key as a JSON Web Key (RFC 7517), with `kid`, `alg` and `"use": "sig"`: an entry of
/// the JWK Set a service publishes (see [`Issuer::jwks`](crate::Issuer::jwks)). It serializes to
/// the standard JSON members.
///
/// ```
/// use tower_sliding_jwt::{Algorithm, Key};
///
/// let key = Key::from_private_pem(Algorithm::EdDSA, std::fs::read("tests/keys/ed25519_private.pem")?)?;
/// let jwk = key.public_jwk().expect("an asymmetric key");
/// assert_eq!(jwk.algorithm(), Algorithm::EdDSA);
/// assert!(jwk.to_json().contains(r#""crv":"Ed25519""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PublicJwk {
    jwk: Jwk,
    algorithm: Algorithm,
}

impl PublicJwk {
    pub(crate) fn new(
        params: AlgorithmParameters,
        algorithm: Algorithm,
        kid: Option<String>,
    ) -> PublicJwk {
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::from(algorithm.to_jsonwebtoken())),
                key_id: kid,
                ..CommonParameters::default()
            },
            algorithm: params,
        };
        PublicJwk { jwk, algorithm }
    }

    /// The key id.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_private.pem")?;
    /// let key = Key::from_private_pem(Algorithm::EdDSA, &pem)?.with_kid("ed-1");
    /// let jwk = key.public_jwk().unwrap();
    /// assert_eq!(jwk.kid(), Some("ed-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kid(&self) -> Option<&str> {
        self.jwk.common.key_id.as_deref()
    }

    /// The algorithm the key is for.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_private.pem")?;
    /// let key = Key::from_private_pem(Algorithm::EdDSA, &pem)?.with_kid("ed-1");
    /// let jwk = key.public_jwk().unwrap();
    /// assert_eq!(jwk.algorithm(), Algorithm::EdDSA);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The JWK as JSON text.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_private.pem")?;
    /// let key = Key::from_private_pem(Algorithm::EdDSA, &pem)?.with_kid("ed-1");
    /// let jwk = key.public_jwk().unwrap();
    /// let json = jwk.to_json();
    /// assert!(json.contains(r#""kty":"OKP""#) && json.contains(r#""crv":"Ed25519""#));
    /// assert!(!json.contains(r#""d":"#), "never the private part");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.jwk).unwrap_or_default()
    }
}

impl Serialize for PublicJwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.jwk.serialize(serializer)
    }
}

/// A JWK Set document (`{"keys": [...]}`) of public keys, for `/.well-known/jwks.json`.
///
/// ```
/// use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};
///
/// let pem = std::fs::read("tests/keys/ec256_private.pem")?;
/// let layer = JwtAuthLayer::builder()
///     .signing_key(Key::from_private_pem(Algorithm::ES256, &pem)?.with_kid("2026-11"))
///     .build()?;
/// let set = layer.issuer().jwks();
/// assert_eq!(set.keys()[0].kid(), Some("2026-11"));
/// assert!(set.to_json().starts_with(r#"{"keys":[{"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct JwkSet {
    keys: Vec<PublicJwk>,
}

impl JwkSet {
    pub(crate) fn new(keys: Vec<PublicJwk>) -> JwkSet {
        JwkSet { keys }
    }

    /// The keys.
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// // HMAC secrets are never published.
    /// let set = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer().jwks();
    /// assert!(set.keys().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keys(&self) -> &[PublicJwk] {
        &self.keys
    }

    /// The document as JSON text.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};
    ///
    /// let old = std::fs::read("tests/keys/ec256_public.pem")?;
    /// let old = Key::from_public_pem(Algorithm::ES256, old)?;
    /// let new = std::fs::read("tests/keys/ed25519_private.pem")?;
    /// let new = Key::from_private_pem(Algorithm::EdDSA, new)?;
    /// let layer = JwtAuthLayer::builder().signing_key(new).previous_key(old).build()?;
    /// // Both keys, so tokens signed before the rotation still verify elsewhere.
    /// let document: serde_json::Value = serde_json::from_str(&layer.issuer().jwks().to_json())?;
    /// assert_eq!(document["keys"].as_array().map(Vec::len), Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    crate::base64url::encode(bytes)
}

pub(crate) fn rsa_params(n: &[u8], e: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::RSA(RSAKeyParameters { key_type: RSAKeyType::RSA, n: b64(n), e: b64(e) })
}

pub(crate) fn ec_params(curve: EllipticCurve, x: &[u8], y: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
        key_type: EllipticCurveKeyType::EC,
        curve,
        x: b64(x),
        y: b64(y),
    })
}

pub(crate) fn ed_params(x: &[u8]) -> AlgorithmParameters {
    AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
        key_type: OctetKeyPairType::OctetKeyPair,
        curve: EllipticCurve::Ed25519,
        x: b64(x),
    })
}

/// The public parameters of a verifying key, checked against the algorithm.
pub(crate) fn public_params(
    algorithm: Algorithm,
    key: &DecodingKey,
) -> Option<AlgorithmParameters> {
    match (algorithm.to_jsonwebtoken().family(), key.kind()) {
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
pub(crate) fn thumbprint(params: &AlgorithmParameters) -> Option<String> {
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
