//! Every error of the crate: why a token or a request is refused, why a configuration or a key
//! is, and why issuing, renewing, revocation or a key download failed. None of them ever contains
//! key material or token text.
//!
//! ```
//! use tower_sliding_jwt::error::TokenError;
//! use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
//! use tower_sliding_jwt::error::{ConfigError, KeyError};
//!
//! // A configuration error names what to fix.
//! let short = JwtAuthLayer::builder().hs256(b"secret").build().unwrap_err();
//! assert!(matches!(short, ConfigError::Key(KeyError::SecretTooShort { minimum: 32, .. })));
//!
//! // A token error says why, and never repeats the token.
//! let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
//! let refused = issuer.verify::<NoCustomClaims>("eyJhbGciOiJub25lIn0.e30.").unwrap_err();
//! assert!(!refused.to_string().contains("eyJ"));
//! # let _: TokenError = refused;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::algorithm::Algorithm;
pub use crate::algorithm::UnknownAlgorithm;

/// A key that cannot be used.
///
/// ```
/// use tower_sliding_jwt::Key;
/// use tower_sliding_jwt::error::KeyError;
///
/// let error = Key::hs256(b"too short").unwrap_err();
/// assert!(matches!(error, KeyError::SecretTooShort { minimum: 32, .. }));
/// assert!(!error.to_string().contains("too short"), "never the key material");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// An HMAC secret shorter than the hash output (RFC 7518 section 3.2).
    SecretTooShort {
        /// The algorithm.
        algorithm: Algorithm,
        /// The minimum length in bytes.
        minimum: usize,
        /// The length given.
        actual: usize,
    },
    /// The key material is not of the kind the algorithm needs, or is malformed.
    WrongKeyType {
        /// The algorithm.
        algorithm: Algorithm,
        /// What the algorithm needs.
        expected: &'static str,
    },
    /// An RSA modulus under the minimum size.
    RsaKeyTooSmall {
        /// Size of the modulus.
        bits: usize,
        /// The minimum.
        minimum: usize,
    },
    /// A JWK or JWK Set that cannot be used.
    InvalidJwk(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::SecretTooShort { algorithm, minimum, actual } => write!(
                f,
                "the {algorithm:?} secret is {actual} bytes long; it must be at least {minimum} \
                 bytes (the hash output size)"
            ),
            KeyError::WrongKeyType { algorithm, expected } => {
                write!(f, "a {algorithm:?} key must be {expected}")
            }
            KeyError::RsaKeyTooSmall { bits, minimum } => {
                write!(f, "the RSA key has {bits} bits; at least {minimum} are required")
            }
            KeyError::InvalidJwk(reason) => write!(f, "unusable JWK: {reason}"),
        }
    }
}

impl Error for KeyError {}

/// A configuration that [`JwtAuthBuilder::build`](crate::JwtAuthBuilder::build) refuses.
///
/// ```
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::error::ConfigError;
///
/// let error = JwtAuthLayer::builder().build().unwrap_err();
/// assert_eq!(error, ConfigError::NoKeys);
/// assert!(error.to_string().starts_with("no key is configured: add a signing key"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key is unusable.
    Key(KeyError),
    /// No key at all was configured.
    NoKeys,
    /// More than one signing key was configured.
    SeveralSigningKeys,
    /// The signing key holds only a public key.
    SigningKeyCannotSign,
    /// A renewal policy that renews was given, but there is no signing key to renew with.
    RenewalWithoutSigningKey,
    /// Two keys share a `kid`.
    DuplicateKeyId,
    /// The renewal threshold is longer than the token lifetime, so every token would renew on
    /// every request.
    ThresholdExceedsTokenLifetime,
    /// The renewal fraction is not within `(0, 1]`.
    InvalidFraction,
    /// The session limit is shorter than one token lifetime.
    SessionLimitShorterThanTokenLifetime,
    /// The longest session limit a login may choose is shorter than the session limit.
    LongerSessionsShorterThanSessionLimit,
    /// The token lifetime is zero.
    ZeroTokenLifetime,
    /// No token source was configured.
    NoSources,
    /// A cookie or query parameter name is empty or contains separators.
    InvalidSourceName,
    /// The realm or a header value contains characters that cannot appear in a header.
    InvalidHeaderValue(&'static str),
    /// The maximum token size is zero.
    ZeroMaxTokenSize,
    /// A cookie source named `__Host-…` or `__Secure-…` whose cookie attributes browsers would
    /// refuse for that prefix (`__Host-` needs `Secure`, `Path=/` and no `Domain`; `__Secure-`
    /// needs `Secure`).
    CookiePrefixMismatch,
    /// Third-party keys (trusted keys or a remote JWK Set) are configured without an audience,
    /// so a token their issuer made for any other service would be accepted. Add
    /// [`audience`](crate::JwtAuthBuilder::audience).
    TrustedKeysWithoutAudience,
    /// The [`DpopPolicy`](crate::DpopPolicy) cannot be used, and why.
    InvalidDpopPolicy(&'static str),
    /// More than one of the problems above, all of them, in the order the builder checks
    /// them (a configuration with one problem reports that problem itself).
    Several(Vec<ConfigError>),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Key(e) => e.fmt(f),
            ConfigError::NoKeys => f.write_str(
                "no key is configured: add a signing key (hs256, signing_key), a key to verify \
                 with (trusted_key), or remote_jwks",
            ),
            ConfigError::SeveralSigningKeys => f.write_str(
                "only one signing key may be configured; add older keys as previous keys",
            ),
            ConfigError::SigningKeyCannotSign => f.write_str(
                "the signing key holds no secret or private key: give the private key, or pass a \
                 public key as trusted_key or previous_key to verify with it only",
            ),
            ConfigError::RenewalWithoutSigningKey => f.write_str(
                "the renewal policy renews tokens but no key signs: add a signing key, or \
                     leave the renewal policy out (a builder without a signing key verifies only)",
            ),
            ConfigError::DuplicateKeyId => {
                f.write_str("two keys have the same kid: give each key its own with_kid")
            }
            ConfigError::ThresholdExceedsTokenLifetime => f.write_str(
                "the renewal threshold exceeds the token lifetime: lower renew_within or raise \
                 token_lifetime",
            ),
            ConfigError::InvalidFraction => f.write_str(
                "the renewal fraction must be greater than 0 and at most 1 (renew_within_fraction)",
            ),
            ConfigError::SessionLimitShorterThanTokenLifetime => f.write_str(
                "the session limit is shorter than the token lifetime: raise session_limit or \
                 lower token_lifetime",
            ),
            ConfigError::LongerSessionsShorterThanSessionLimit => f.write_str(
                "allow_longer_sessions is shorter than the session limit: give it a longer \
                 duration, or leave it out",
            ),
            ConfigError::ZeroTokenLifetime => {
                f.write_str("the token lifetime must be at least one second (token_lifetime)")
            }
            ConfigError::NoSources => {
                f.write_str("no token source is configured: give token_sources at least one")
            }
            ConfigError::InvalidSourceName => f.write_str(
                "a cookie or query parameter name is empty or contains separators: use a \
                 token of letters, digits and dashes",
            ),
            ConfigError::InvalidHeaderValue(what) => write!(
                f,
                "the {what} contains characters not allowed in a header: use visible ASCII \
                 without quotes or backslashes"
            ),
            ConfigError::ZeroMaxTokenSize => {
                f.write_str("the maximum token size must not be zero (max_token_size)")
            }
            ConfigError::CookiePrefixMismatch => f.write_str(
                "a __Host- cookie needs Secure, Path=/ and no Domain (a __Secure- one, Secure)",
            ),
            ConfigError::TrustedKeysWithoutAudience => f.write_str(
                "third-party keys need an audience, or their issuer's tokens for any service \
                 would be accepted; configure audience()",
            ),
            ConfigError::InvalidDpopPolicy(reason) => write!(f, "the DPoP policy {reason}"),
            ConfigError::Several(problems) => {
                write!(f, "{} configuration problems: ", problems.len())?;
                for (i, problem) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    problem.fmt(f)?;
                }
                Ok(())
            }
        }
    }
}

// The key's reason is in the message already: a chain printer would show it twice.
impl Error for ConfigError {}

impl From<KeyError> for ConfigError {
    fn from(e: KeyError) -> Self {
        ConfigError::Key(e)
    }
}

/// Why [`Issuer::issue`](crate::Issuer::issue) could not sign a token.
///
/// ```
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::error::IssueError;
///
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
/// let refused = issuer.issue("42", &serde_json::json!({ "exp": 4_000_000_000_i64 }));
/// assert_eq!(refused.unwrap_err(), IssueError::ReservedClaim("exp"));
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueError {
    /// The configuration has no signing key.
    NoSigningKey,
    /// The custom claims do not serialize to a JSON object.
    ClaimsNotAnObject,
    /// The custom claims contain a claim the issuer sets itself.
    ReservedClaim(&'static str),
    /// The crypto backend failed to sign.
    Signing,
    /// The operating system's random number generator failed (for `jti` / `sid`).
    Randomness,
    /// The token would be longer than the maximum token size the layer accepts.
    TooLarge,
    /// The chosen lifetimes are outside what the configuration allows (a token lifetime of zero
    /// or longer than the session limit, a session limit longer than the longest allowed).
    LifetimesNotAllowed,
    /// The token was signed but the layer would refuse it, for this reason (the testing kit's
    /// claims of a type its payload does not fit, say).
    NotAccepted(TokenError),
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueError::NoSigningKey => f.write_str("no signing key is configured"),
            IssueError::ClaimsNotAnObject => {
                f.write_str("the custom claims must serialize to a JSON object")
            }
            IssueError::ReservedClaim(claim) => {
                write!(f, "the custom claims may not set {claim}; the issuer sets it")
            }
            IssueError::Signing => f.write_str("the crypto backend failed to sign"),
            IssueError::Randomness => f.write_str("the system random number generator failed"),
            IssueError::TooLarge => {
                f.write_str("the token would exceed the maximum token size the layer accepts")
            }
            IssueError::LifetimesNotAllowed => f.write_str(
                "the chosen lifetimes are outside what the configuration allows (see \
                 allow_longer_sessions)",
            ),
            IssueError::NotAccepted(reason) => {
                write!(f, "the layer would refuse the token: {reason}")
            }
        }
    }
}

impl Error for IssueError {}

/// Why [`Issuer::renew`](crate::Issuer::renew) did not renew a token.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::error::RenewError;
///
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
/// let token = issuer.issue("42", &())?.token;
/// // Renewed in the same second it was issued: there is nothing to extend.
/// assert_eq!(issuer.renew(&token).await.unwrap_err(), RenewError::NotExtended);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewError {
    /// The token is not valid (renewal applies no leeway).
    Invalid(TokenError),
    /// The token is valid but not ours to renew: a third party's key or issuer.
    Foreign,
    /// The session has reached its session limit: the user must log in again.
    SessionLimitReached,
    /// A renewed token would not expire later than this one (renewed within the same second).
    NotExtended,
    /// The revocation store could not be asked.
    Unavailable,
    /// Signing failed.
    Issue(IssueError),
    /// The token and the key do not go together: a bound token renewed for another key
    /// ([`DpopError::WrongKey`]), or an unbound one renewed as bound
    /// ([`DpopError::UnboundToken`]).
    Dpop(DpopError),
}

impl fmt::Display for RenewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenewError::Invalid(e) => e.fmt(f),
            RenewError::Foreign => f.write_str("the token was not issued by this service"),
            RenewError::SessionLimitReached => f.write_str("the session has reached its limit"),
            RenewError::NotExtended => f.write_str("the token is already as fresh as it can be"),
            RenewError::Unavailable => f.write_str("the token cannot be checked right now"),
            RenewError::Issue(e) => e.fmt(f),
            RenewError::Dpop(e) => e.fmt(f),
        }
    }
}

impl Error for RenewError {}

/// Why a present token source is unusable (HTTP 400, `invalid_request`).
///
/// ```
/// use tower_sliding_jwt::Rejection;
/// use tower_sliding_jwt::error::InvalidRequest;
///
/// let twice = Rejection::InvalidRequest(InvalidRequest::Repeated);
/// assert_eq!(twice.status(), 400);
/// assert_eq!(twice.to_string(), "the token is sent more than once");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// The header, cookie or query parameter that carries the token appears more than once.
    Repeated,
    /// The source is present but holds no token (`Authorization: Bearer`, `?token=`).
    Empty,
    /// `Authorization: Bearer` is not followed by exactly one token.
    NotOneToken,
    /// The credentials contain bytes other than visible ASCII.
    InvalidBytes,
}

/// Why a token failed verification (HTTP 401, `invalid_token`). These are reason classes: the
/// messages never contain any part of the token.
///
/// ```
/// use tower_sliding_jwt::error::TokenError;
/// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
///
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
/// let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjo0MDAwMDAwMDAwfQ.c2lnbmF0dXJl";
/// let error = issuer.verify::<NoCustomClaims>(forged).unwrap_err();
/// assert_eq!(error, TokenError::InvalidSignature);
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Longer than the configured maximum; refused before any decoding.
    TooLarge,
    /// Not three base64url segments (JWE, JSON serialization, padding, stray characters…).
    Malformed,
    /// The header is not a JSON object with a string `alg`.
    MalformedHeader,
    /// The header asks for something this crate does not do (`crit`, `b64`, nested JWT).
    UnsupportedHeader,
    /// `alg` is `none` or not a JWS algorithm this crate knows.
    UnsupportedAlgorithm,
    /// `alg` is not the algorithm of the key selected for the token.
    AlgorithmMismatch,
    /// The `kid` names no configured key.
    UnknownKeyId,
    /// The signature does not verify.
    InvalidSignature,
    /// The payload is not a JSON object of well-typed claims.
    MalformedClaims,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `iss` is not the issuer the verifying key speaks for.
    WrongIssuer,
    /// `aud` names no accepted audience.
    WrongAudience,
    /// The header's `typ` names another kind of token (a logout or reset token, say).
    UnacceptedType,
    /// `auth_time` (or `iat` standing in for it) is in the future (beyond the leeway).
    SessionStartInFuture,
    /// One of our tokens whose `exp` lies beyond its session limit (counted from `auth_time`):
    /// never issued by us.
    BeyondSessionLimit,
    /// The remote keys needed to check the token are older than their maximum staleness (the
    /// identity provider has been unreachable): HTTP 503, like an unreachable revocation store.
    KeysUnavailable,
    /// The revocation check refused the token or its session.
    Revoked,
    /// The revocation store could not be asked, and the layer is configured to answer 401.
    RevocationUnavailable,
    /// The token is bound to a key (`cnf`: DPoP, mutual TLS): accepting it as a plain bearer
    /// token would defeat the binding, and this layer cannot check one.
    SenderConstrained,
}

/// Why a DPoP proof (RFC 9449), or the token it goes with, is refused: HTTP 401 with
/// `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (or `invalid_token` where the token is
/// at fault).
///
/// ```
/// use tower_sliding_jwt::Rejection;
/// use tower_sliding_jwt::error::DpopError;
///
/// let replayed = Rejection::InvalidDpopProof(DpopError::Replayed);
/// assert_eq!(replayed.status(), 401);
/// assert_eq!(replayed.to_string(), "the DPoP proof was used before");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// A DPoP-bound token came without a `DPoP` header.
    Missing,
    /// More than one `DPoP` header.
    Repeated,
    /// Not a compact JWS with a JSON header and payload.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    WrongType,
    /// `alg` is not one of the configured asymmetric algorithms.
    UnsupportedAlgorithm,
    /// The `jwk` header holds private key material.
    PrivateKey,
    /// The `jwk` header is missing or not a public key of the proof's algorithm.
    InvalidKey,
    /// The signature does not verify with the proof's own key.
    InvalidSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`, `ath`) is missing or of the wrong type.
    MissingClaim(&'static str),
    /// `htm` is not the request's method.
    WrongMethod,
    /// `htu` is not the request's URI (without query and fragment).
    WrongUri,
    /// `iat` is outside the accepted window.
    Stale,
    /// `ath` is not the hash of the presented token.
    WrongTokenHash,
    /// The proof's key is not the one the token is bound to (`cnf.jkt`).
    WrongKey,
    /// The proof's `jti` was seen before within its window.
    Replayed,
    /// The proof lacks the server's current nonce (RFC 9449 section 8): sign again with the
    /// one in the response's `DPoP-Nonce` header.
    UseNonce,
    /// `Authorization: DPoP` with a token that is not bound to a key.
    UnboundToken,
    /// A plain bearer token where only DPoP-bound tokens are accepted.
    BearerNotAccepted,
    /// A login proof was asked for, but the layer has no [`DpopPolicy`](crate::DpopPolicy).
    NotEnabled,
}

impl DpopError {
    /// The RFC 9449 error code: `invalid_token` when the token is at fault, else
    /// `invalid_dpop_proof`.
    ///
    /// ```
    /// use tower_sliding_jwt::error::DpopError;
    ///
    /// assert_eq!(DpopError::WrongUri.code(), "invalid_dpop_proof");
    /// assert_eq!(DpopError::BearerNotAccepted.code(), "invalid_token");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            DpopError::UnboundToken | DpopError::BearerNotAccepted => "invalid_token",
            DpopError::UseNonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }
}

impl fmt::Display for DpopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpopError::Missing => f.write_str("the DPoP proof is missing"),
            DpopError::Repeated => f.write_str("the DPoP proof is sent more than once"),
            DpopError::Malformed => f.write_str("the DPoP proof is not a well-formed JWT"),
            DpopError::WrongType => f.write_str("the DPoP proof is not of type dpop+jwt"),
            DpopError::UnsupportedAlgorithm => {
                f.write_str("the DPoP proof's algorithm is not accepted")
            }
            DpopError::PrivateKey => f.write_str("the DPoP proof's key is a private key"),
            DpopError::InvalidKey => f.write_str("the DPoP proof's key is not usable"),
            DpopError::InvalidSignature => f.write_str("the DPoP proof's signature is invalid"),
            DpopError::MissingClaim(claim) => write!(f, "the DPoP proof lacks the {claim} claim"),
            DpopError::WrongMethod => f.write_str("the DPoP proof is for another method"),
            DpopError::WrongUri => f.write_str("the DPoP proof is for another URI"),
            DpopError::Stale => f.write_str("the DPoP proof is too old or from the future"),
            DpopError::WrongTokenHash => f.write_str("the DPoP proof is for another token"),
            DpopError::WrongKey => f.write_str("the DPoP proof's key is not the token's"),
            DpopError::Replayed => f.write_str("the DPoP proof was used before"),
            DpopError::UseNonce => f.write_str("the DPoP proof must carry the server's nonce"),
            DpopError::UnboundToken => f.write_str("the token is not bound to a DPoP key"),
            DpopError::BearerNotAccepted => f.write_str("the token must be bound to a DPoP key"),
            DpopError::NotEnabled => f.write_str("this service does not accept DPoP"),
        }
    }
}

impl Error for DpopError {}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidRequest::Repeated => "the token is sent more than once",
            InvalidRequest::Empty => "the token is empty",
            InvalidRequest::NotOneToken => "the bearer credentials are not exactly one token",
            InvalidRequest::InvalidBytes => {
                "the credentials contain bytes that are not visible ASCII"
            }
        })
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::TooLarge => f.write_str("the token is too large"),
            TokenError::Malformed => f.write_str("the token is not a well-formed compact JWS"),
            TokenError::MalformedHeader => f.write_str("the token header is malformed"),
            TokenError::UnsupportedHeader => {
                f.write_str("the token header requires an unsupported extension")
            }
            TokenError::UnsupportedAlgorithm => f.write_str("the token algorithm is not accepted"),
            TokenError::AlgorithmMismatch => {
                f.write_str("the token algorithm does not match the key")
            }
            TokenError::UnknownKeyId => f.write_str("the token key id is unknown"),
            TokenError::InvalidSignature => f.write_str("the token signature is invalid"),
            TokenError::MalformedClaims => f.write_str("the token claims are malformed"),
            TokenError::MissingClaim(claim) => write!(f, "the token lacks the {claim} claim"),
            TokenError::Expired => f.write_str("the token has expired"),
            TokenError::NotYetValid => f.write_str("the token is not valid yet"),
            TokenError::IssuedInFuture => f.write_str("the token is issued in the future"),
            TokenError::WrongIssuer => f.write_str("the token issuer is not accepted"),
            TokenError::WrongAudience => f.write_str("the token audience is not accepted"),
            TokenError::UnacceptedType => f.write_str("the token type is not accepted"),
            TokenError::SessionStartInFuture => {
                f.write_str("the token session starts in the future")
            }
            TokenError::BeyondSessionLimit => f.write_str("the token outlives its session limit"),
            TokenError::KeysUnavailable => {
                f.write_str("the token keys cannot be fetched right now")
            }
            TokenError::Revoked => f.write_str("the token has been revoked"),
            TokenError::RevocationUnavailable => {
                f.write_str("the token's revocation status is unavailable")
            }
            TokenError::SenderConstrained => f.write_str("the token is bound to a key"),
        }
    }
}

impl Error for InvalidRequest {}
impl Error for TokenError {}

/// The revocation store could not answer (it is unreachable, timed out…).
///
/// What the layer then does is set by [`RevocationFailure`](crate::revocation::RevocationFailure);
/// it never lets the request through. The underlying error, if any, is its
/// [`source`](Error::source).
///
/// ```
/// use std::error::Error as _;
/// use tower_sliding_jwt::error::RevocationError;
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// let error = RevocationError::with_source("the store is unreachable", io);
/// assert!(error.source().is_some());
/// ```
#[derive(Debug, Clone)]
pub struct RevocationError {
    reason: String,
    source: Option<Arc<dyn Error + Send + Sync>>,
}

impl RevocationError {
    /// An error with a reason for the logs (it must not contain the token).
    ///
    /// ```
    /// use tower_sliding_jwt::error::RevocationError;
    ///
    /// let error = RevocationError::new("the store timed out");
    /// assert_eq!(error.to_string(), "the revocation store did not answer: the store timed out");
    /// ```
    pub fn new(reason: impl Into<String>) -> RevocationError {
        RevocationError { reason: reason.into(), source: None }
    }

    /// An error caused by `source` (a client library's error), kept for [`Error::source`].
    ///
    /// ```
    /// use std::error::Error;
    /// use tower_sliding_jwt::error::RevocationError;
    ///
    /// let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    /// let error = RevocationError::with_source("connection", io);
    /// assert!(error.source().is_some());
    /// ```
    pub fn with_source(
        reason: impl Into<String>,
        source: impl Error + Send + Sync + 'static,
    ) -> RevocationError {
        RevocationError { reason: reason.into(), source: Some(Arc::new(source)) }
    }
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the revocation store did not answer: {}", self.reason)
    }
}

impl Error for RevocationError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// Why a JWK Set could not be fetched (feature `jwks`).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower_sliding_jwt::error::JwksError;
/// use tower_sliding_jwt::jwks::RemoteJwks;
///
/// let plain_http = RemoteJwks::builder("https://idp.example", "http://idp.example/jwks.json");
/// assert!(matches!(plain_http.fetch().await, Err(JwksError::Insecure)));
/// # });
/// ```
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
#[derive(Debug)]
#[non_exhaustive]
pub enum JwksError {
    /// The URL is not a valid absolute URL.
    InvalidUrl,
    /// The URL is plain `http` and `allow_http` was not set.
    Insecure,
    /// A duration setting is zero, or the maximum staleness is shorter than the refresh period
    /// (the set would go stale between two refreshes). Names the setting.
    InvalidInterval(&'static str),
    /// The request failed (connection, TLS, timeout); the cause is the [`source`](Error::source).
    Transport(Box<dyn Error + Send + Sync>),
    /// The server answered with this status.
    Status(u16),
    /// The document is over 1 MiB.
    TooLarge,
    /// The document is not a usable JWK Set.
    Keys(KeyError),
    /// OpenID Connect discovery failed: the configuration document is not one, or names
    /// another issuer.
    Discovery(&'static str),
    /// No HTTP client: the built-in one needs the `jwks-client` feature, or the application
    /// brings its own (`RemoteJwksBuilder::http_client`).
    NoHttpClient,
    /// The extra root certificates are not readable PEM certificates.
    Certificates,
}

#[cfg(feature = "jwks")]
impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::InvalidUrl => f.write_str("the JWK Set URL is not a valid absolute URL"),
            JwksError::Insecure => {
                f.write_str("the JWK Set URL is plain http; use https (or allow_http for tests)")
            }
            JwksError::InvalidInterval(name) => write!(
                f,
                "the JWK Set setting {name} must be above zero (and max_staleness at least \
                 refresh_every)"
            ),
            JwksError::Transport(_) => f.write_str("the JWK Set could not be fetched"),
            JwksError::Status(status) => write!(f, "the JWK Set server answered {status}"),
            JwksError::TooLarge => f.write_str("the JWK Set document is over 1 MiB"),
            JwksError::Keys(e) => write!(f, "the JWK Set is unusable: {e}"),
            JwksError::Discovery(reason) => write!(f, "OpenID Connect discovery failed: {reason}"),
            JwksError::Certificates => {
                f.write_str("the extra root certificates are not readable PEM certificates")
            }
            JwksError::NoHttpClient => f.write_str(
                "no HTTP client for the JWK Set: enable the jwks-client feature or set http_client",
            ),
        }
    }
}

#[cfg(feature = "jwks")]
impl Error for JwksError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            // The key's reason is in the message already, the transport's is not.
            JwksError::Transport(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// An origin that is not `http(s)://host[:port]` (no path, query or user info).
///
/// ```
/// use tower_sliding_jwt::client::TokenStore;
/// use tower_sliding_jwt::error::InvalidOrigin;
///
/// assert_eq!(TokenStore::new("https://api.example.com/v1").err(), Some(InvalidOrigin));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidOrigin;

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an origin must be http(s)://host[:port], with nothing after it")
    }
}

impl Error for InvalidOrigin {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message of an error's chain (`Display`, then each `source()`), as a chain printer
    /// such as anyhow's shows them.
    fn chain(error: &dyn Error) -> Vec<String> {
        let mut messages = vec![error.to_string()];
        let mut next = error.source();
        while let Some(source) = next {
            messages.push(source.to_string());
            next = source.source();
        }
        messages
    }

    #[test]
    fn a_reason_appears_once_in_its_chain() {
        let key = KeyError::SecretTooShort { algorithm: Algorithm::HS256, actual: 5, minimum: 32 };
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let mut errors: Vec<Box<dyn Error>> = vec![
            Box::new(ConfigError::Key(key.clone())),
            Box::new(RevocationError::with_source("the store is unreachable", io)),
        ];
        #[cfg(feature = "jwks")]
        errors.push(Box::new(JwksError::Keys(key.clone())));
        for error in &errors {
            let messages = chain(error.as_ref());
            for (i, message) in messages.iter().enumerate() {
                for later in &messages[i + 1..] {
                    assert!(!message.contains(later.as_str()), "{messages:?}");
                }
            }
        }
        assert!(ConfigError::Key(key).to_string().contains("32"), "the reason is in the message");
    }
}
