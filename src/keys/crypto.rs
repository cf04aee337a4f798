//! The cryptography: which backend this build uses, the signature checks and signers prepared
//! once per key, and random ids.
//!
//! jsonwebtoken 11 builds a verifier (and keys the HMAC, or parses the public key) on every call.
//! Here that work happens once, when the [`Key`](crate::Key) is built:
//!
//! - HMAC, on both backends: a keyed RustCrypto `hmac::Hmac` state;
//! - with `aws_lc_rs`: an `aws_lc_rs::signature::ParsedPublicKey`;
//! - with `rust_crypto` alone: RSA, ECDSA and EdDSA go through jsonwebtoken's RustCrypto
//!   verifiers, whose cost is dominated by the arithmetic anyway.
//!
//! This crate never relies on jsonwebtoken's process-wide default provider (which panics when both
//! of its backends are compiled in): it picks the provider itself, at compile time.

use std::cell::RefCell;

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::AlgorithmParameters;
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::algorithm::Algorithm;
use crate::error::IssueError;

#[cfg(not(any(feature = "rust_crypto", feature = "aws_lc_rs")))]
compile_error!(
    "tower-sliding-jwt needs a crypto backend: enable the `aws_lc_rs` (default) or the \
     `rust_crypto` feature"
);

/// The cryptography backend compiled into this build.
///
/// Chosen by the crate features: `aws_lc_rs` (the default: the fastest verification) or
/// `rust_crypto` (pure Rust, no C compiler needed).
/// When both are enabled (as `--all-features` does), `aws_lc_rs` is used, always; the choice is
/// never left to chance. [`CryptoBackend::ACTIVE`] tells which one a build uses.
///
/// ```
/// use tower_sliding_jwt::CryptoBackend;
///
/// println!("tokens are signed with {}", CryptoBackend::ACTIVE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoBackend {
    /// The RustCrypto crates (feature `rust_crypto`).
    RustCrypto,
    /// aws-lc-rs (feature `aws_lc_rs`).
    AwsLcRs,
}

impl CryptoBackend {
    /// The backend this build uses.
    ///
    /// ```
    /// use tower_sliding_jwt::CryptoBackend;
    ///
    /// // aws-lc-rs wins when both features are on.
    /// let expected = match cfg!(feature = "aws_lc_rs") {
    ///     true => CryptoBackend::AwsLcRs,
    ///     false => CryptoBackend::RustCrypto,
    /// };
    /// assert_eq!(CryptoBackend::ACTIVE, expected);
    /// ```
    #[cfg(feature = "aws_lc_rs")]
    pub const ACTIVE: CryptoBackend = CryptoBackend::AwsLcRs;
    /// The backend this build uses.
    ///
    /// ```
    /// use tower_sliding_jwt::CryptoBackend;
    ///
    /// // aws-lc-rs wins when both features are on.
    /// let expected = match cfg!(feature = "aws_lc_rs") {
    ///     true => CryptoBackend::AwsLcRs,
    ///     false => CryptoBackend::RustCrypto,
    /// };
    /// assert_eq!(CryptoBackend::ACTIVE, expected);
    /// ```
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    pub const ACTIVE: CryptoBackend = CryptoBackend::RustCrypto;

    /// The backend's name, as the crate feature spells it.
    ///
    /// ```
    /// use tower_sliding_jwt::CryptoBackend;
    ///
    /// assert_eq!(CryptoBackend::RustCrypto.name(), "rust_crypto");
    /// assert_eq!(CryptoBackend::AwsLcRs.to_string(), "aws_lc_rs");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            CryptoBackend::RustCrypto => "rust_crypto",
            CryptoBackend::AwsLcRs => "aws_lc_rs",
        }
    }
}

impl std::fmt::Display for CryptoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The provider of the active backend.
pub(crate) fn provider() -> &'static CryptoProvider {
    #[cfg(feature = "aws_lc_rs")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

/// Verifies signatures for one key and algorithm.
// One per configured key, never moved on the request path: keeping the keyed state inline saves
// a pointer chase per verification.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Verifier {
    Hmac(HmacKey),
    #[cfg(feature = "aws_lc_rs")]
    Public(aws_lc_rs::signature::ParsedPublicKey),
    /// jsonwebtoken's verifier, built per call.
    #[cfg(not(feature = "aws_lc_rs"))]
    PerCall,
}

impl Verifier {
    /// Prepare the check. `public` is the public half of an asymmetric key; `secret` the HMAC
    /// secret. `None` if the key material does not suit the algorithm.
    pub(crate) fn new(
        alg: Algorithm,
        secret: Option<&[u8]>,
        public: Option<&AlgorithmParameters>,
    ) -> Option<Verifier> {
        if alg.is_hmac() {
            return HmacKey::new(alg, secret?).map(Verifier::Hmac);
        }
        #[cfg(feature = "aws_lc_rs")]
        {
            aws::public_key(alg, public?).map(Verifier::Public)
        }
        #[cfg(not(feature = "aws_lc_rs"))]
        {
            let _ = public;
            Some(Verifier::PerCall)
        }
    }

    /// Whether `signature` is valid over `message`. Constant time for HMAC.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        decoding: &DecodingKey,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        #[cfg(feature = "aws_lc_rs")]
        let _ = (alg, decoding);
        match self {
            Verifier::Hmac(key) => key.verify(message, signature),
            #[cfg(feature = "aws_lc_rs")]
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
            #[cfg(not(feature = "aws_lc_rs"))]
            Verifier::PerCall => {
                match (provider().verifier_factory)(&alg.to_jsonwebtoken(), decoding) {
                    Ok(verifier) => verifier.verify(message, &signature.to_vec()).is_ok(),
                    Err(_) => false,
                }
            }
        }
    }
}

/// Signs for one key: a keyed HMAC, or jsonwebtoken's signer.
#[allow(clippy::large_enum_variant)] // one per key, as above
pub(crate) enum Signer {
    Hmac(HmacKey),
    /// jsonwebtoken's signer, built per call (asymmetric keys: the signature dominates).
    PerCall(EncodingKey),
}

impl Signer {
    pub(crate) fn new(alg: Algorithm, key: EncodingKey) -> Signer {
        match HmacKey::new(alg, key.as_bytes()) {
            Some(hmac) => Signer::Hmac(hmac),
            None => Signer::PerCall(key),
        }
    }

    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Option<Vec<u8>> {
        match self {
            Signer::Hmac(key) => Some(key.sign(message)),
            Signer::PerCall(key) => {
                let signer = (provider().signer_factory)(&alg.to_jsonwebtoken(), key).ok()?;
                let mut signature = signer.try_sign(message).ok()?;
                low_s(alg, &mut signature);
                Some(signature)
            }
        }
    }
}

/// The group orders of P-256 and P-384, big-endian.
const P256_ORDER: [u8; 32] = *b"\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\
    \xbc\xe6\xfa\xad\xa7\x17\x9e\x84\xf3\xb9\xca\xc2\xfc\x63\x25\x51";
const P384_ORDER: [u8; 48] = *b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\
    \xff\xff\xff\xff\xff\xff\xff\xff\xc7\x63\x4d\x81\xf4\x37\x2d\xdf\
    \x58\x1a\x0d\xb2\x48\xb0\xa7\x7a\xec\xec\x19\x6a\xcc\xc5\x29\x73";

fn ecdsa_order(alg: Algorithm) -> Option<&'static [u8]> {
    match alg {
        Algorithm::ES256 => Some(&P256_ORDER),
        Algorithm::ES384 => Some(&P384_ORDER),
        _ => None,
    }
}

/// Whether `s` (as wide as `order`) lies in the upper half: 2s > n.
fn is_high(s: &[u8], order: &[u8]) -> bool {
    // Doubled, with the bit shifted out of the top in front.
    let mut doubled = vec![0u8; s.len() + 1];
    for (i, byte) in s.iter().enumerate() {
        doubled[i] |= byte >> 7;
        doubled[i + 1] = byte << 1;
    }
    let mut padded = vec![0u8];
    padded.extend_from_slice(order);
    doubled > padded
}

/// ECDSA signatures are malleable: `(r, n - s)` verifies as well as `(r, s)`, so a token's text
/// is not unique and nothing may key on it (nothing in this crate does: the cache matches whole
/// verified tokens, revocation uses `jti` and `sid`). Our own signatures take the low `s`, so
/// the tokens we sign have one form.
fn low_s(alg: Algorithm, signature: &mut [u8]) {
    let Some(order) = ecdsa_order(alg) else { return };
    // JWS ECDSA signatures are `r || s`, each as wide as the order.
    if signature.len() != 2 * order.len() {
        return;
    }
    let s = &mut signature[order.len()..];
    if !is_high(s, order) {
        return;
    }
    // s = n - s, byte by byte with borrow.
    let mut borrow = 0i16;
    for (byte, n) in s.iter_mut().zip(order).rev() {
        let difference = i16::from(*n) - i16::from(*byte) - borrow;
        borrow = i16::from(difference < 0);
        *byte = difference.rem_euclid(256) as u8;
    }
}

/// An HMAC key, keyed once; shared by verifying and signing. RustCrypto on both backends: with
/// the key's inner and outer states computed once and cloned per token, it is faster than
/// aws-lc-rs's HMAC (SHA-NI on x86-64, the SHA extensions on AArch64).
pub(crate) enum HmacKey {
    Sha256(hmac::Hmac<sha2::Sha256>),
    Sha384(hmac::Hmac<sha2::Sha384>),
    Sha512(hmac::Hmac<sha2::Sha512>),
}

impl HmacKey {
    /// `None` for an algorithm that is not HMAC.
    fn new(alg: Algorithm, secret: &[u8]) -> Option<HmacKey> {
        use hmac::Mac as _;
        Some(match alg {
            Algorithm::HS256 => HmacKey::Sha256(hmac::Hmac::new_from_slice(secret).ok()?),
            Algorithm::HS384 => HmacKey::Sha384(hmac::Hmac::new_from_slice(secret).ok()?),
            Algorithm::HS512 => HmacKey::Sha512(hmac::Hmac::new_from_slice(secret).ok()?),
            _ => return None,
        })
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        fn check<M: hmac::Mac + Clone>(keyed: &M, message: &[u8], signature: &[u8]) -> bool {
            let mut mac = keyed.clone();
            mac.update(message);
            mac.verify_slice(signature).is_ok()
        }
        match self {
            HmacKey::Sha256(keyed) => check(keyed, message, signature),
            HmacKey::Sha384(keyed) => check(keyed, message, signature),
            HmacKey::Sha512(keyed) => check(keyed, message, signature),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        fn tag<M: hmac::Mac + Clone>(keyed: &M, message: &[u8]) -> Vec<u8> {
            let mut mac = keyed.clone();
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            HmacKey::Sha256(keyed) => tag(keyed, message),
            HmacKey::Sha384(keyed) => tag(keyed, message),
            HmacKey::Sha512(keyed) => tag(keyed, message),
        }
    }
}

#[cfg(feature = "aws_lc_rs")]
mod aws {
    use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
    use jsonwebtoken::jwk::AlgorithmParameters;

    use crate::algorithm::Algorithm;

    fn verification(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
        Some(match alg {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &sig::ED25519,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
        })
    }

    /// The parsed public key for an RSA, ECDSA or EdDSA algorithm.
    pub(super) fn public_key(
        alg: Algorithm,
        public: &AlgorithmParameters,
    ) -> Option<ParsedPublicKey> {
        let decode = |text: &str| crate::base64url::decode(text.trim_end_matches('='));
        let bytes = match public {
            AlgorithmParameters::RSA(p) => rsa_public_key_der(&decode(&p.n)?, &decode(&p.e)?),
            AlgorithmParameters::EllipticCurve(p) => {
                let mut point = vec![0x04];
                point.extend(decode(&p.x)?);
                point.extend(decode(&p.y)?);
                point
            }
            AlgorithmParameters::OctetKeyPair(p) => decode(&p.x)?,
            _ => return None,
        };
        ParsedPublicKey::new(verification(alg)?, bytes).ok()
    }

    /// DER of PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
        fn length(len: usize, out: &mut Vec<u8>) {
            match len {
                0..=0x7f => out.push(len as u8),
                0x80..=0xff => out.extend([0x81, len as u8]),
                _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
            }
        }
        fn integer(bytes: &[u8], out: &mut Vec<u8>) {
            let bytes = match bytes.iter().position(|b| *b != 0) {
                Some(first) => &bytes[first..],
                None => &[0],
            };
            let pad = bytes[0] & 0x80 != 0;
            out.push(0x02);
            length(bytes.len() + usize::from(pad), out);
            if pad {
                out.push(0);
            }
            out.extend_from_slice(bytes);
        }
        let mut body = Vec::with_capacity(n.len() + e.len() + 16);
        integer(n, &mut body);
        integer(e, &mut body);
        let mut der = Vec::with_capacity(body.len() + 4);
        der.push(0x30);
        length(body.len(), &mut der);
        der.extend(body);
        der
    }
}

/// 128 random bits from the operating system, base64url: for `jti` and `sid`.
///
/// Drawn from a per-thread pool refilled 256 bytes at a time, so a renewal rarely costs a
/// system call. Every byte is used once.
pub(crate) fn random_id() -> Result<String, IssueError> {
    thread_local! {
        static POOL: RefCell<([u8; 256], usize)> = const { RefCell::new(([0; 256], 256)) };
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        if *used + 16 > bytes.len() {
            getrandom::fill(bytes).map_err(|_| IssueError::Randomness)?;
            *used = 0;
        }
        let id = crate::base64url::encode(&bytes[*used..*used + 16]);
        bytes[*used..*used + 16].fill(0);
        *used += 16;
        Ok(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backend that `ACTIVE` names is the one that signs, seen from outside: RustCrypto's
    /// ECDSA is deterministic (RFC 6979), aws-lc-rs draws a fresh nonce for every signature.
    #[test]
    fn the_backend_named_active_is_the_one_that_signs() {
        let pem = include_bytes!("../../tests/keys/ec256_private.pem");
        let key = crate::Key::from_private_pem(Algorithm::ES256, pem).unwrap();
        let first = key.sign(b"the same message").unwrap();
        let deterministic = (0..4).all(|_| key.sign(b"the same message").unwrap() == first);
        let name = CryptoBackend::ACTIVE.name();
        assert_eq!(
            deterministic,
            name == "rust_crypto",
            "{name} signed deterministically: {deterministic}"
        );
        println!("crypto backend under test: {}", CryptoBackend::ACTIVE);
    }

    #[test]
    fn ecdsa_signatures_take_the_low_s() {
        for alg in [Algorithm::ES256, Algorithm::ES384] {
            let order = ecdsa_order(alg).unwrap();
            let width = order.len();
            // n - 1, the largest valid s, becomes 1.
            let mut signature = vec![0u8; 2 * width];
            signature[width..].copy_from_slice(order);
            signature[2 * width - 1] -= 1;
            low_s(alg, &mut signature);
            let mut one = vec![0u8; width];
            one[width - 1] = 1;
            assert_eq!(signature[width..], one);
            // Already low: untouched.
            let before = signature.clone();
            low_s(alg, &mut signature);
            assert_eq!(signature, before);
        }
        // Tokens we sign are in low-S form, and still verify.
        let pem = include_bytes!("../../tests/keys/ec256_private.pem");
        let issuer = crate::JwtAuthLayer::builder()
            .signing_key(crate::Key::from_private_pem(Algorithm::ES256, pem).unwrap())
            .build()
            .unwrap()
            .issuer();
        for _ in 0..64 {
            let token = issuer.issue("42", &()).unwrap().token;
            assert!(issuer.verify::<crate::NoCustomClaims>(&token).is_ok());
            let signature = crate::base64url::decode(token.rsplit('.').next().unwrap()).unwrap();
            assert!(!is_high(&signature[32..], &P256_ORDER), "a high s");
        }
    }

    #[test]
    fn random_ids_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| random_id().unwrap()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
