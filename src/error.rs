//! Errors of configuration and of issuing tokens. None of them ever contains key material or
//! token text.

use std::fmt;

use jsonwebtoken::Algorithm;

use crate::reject::TokenError;

/// A key that cannot be used.
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

impl std::error::Error for KeyError {}

/// A configuration that [`JwtAuthBuilder::build`](crate::JwtAuthBuilder::build) refuses.
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
    /// Renewal is on, but there is no signing key to renew with.
    RenewalWithoutSigningKey,
    /// Two keys share a `kid`.
    DuplicateKeyId,
    /// The renewal threshold is longer than the lifetime of a renewed token, so every token
    /// would renew on every request.
    ThresholdExceedsTtl,
    /// The renewal fraction is not within `(0, 1]`.
    InvalidFraction,
    /// The absolute session limit is shorter than one token lifetime.
    MaxSessionShorterThanTtl,
    /// The token lifetime is zero.
    ZeroTtl,
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
    /// [`claims`](crate::JwtAuthBuilder::claims) was called after
    /// [`authorize`](crate::JwtAuthBuilder::authorize), whose closure was typed by the old claims.
    AuthorizeBeforeClaims,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Key(e) => e.fmt(f),
            ConfigError::NoKeys => f.write_str("no key is configured"),
            ConfigError::SeveralSigningKeys => f.write_str(
                "only one signing key may be configured; add older keys as previous keys",
            ),
            ConfigError::SigningKeyCannotSign => {
                f.write_str("the signing key holds no secret or private key")
            }
            ConfigError::RenewalWithoutSigningKey => {
                f.write_str("renewal needs a signing key; add one or use RefreshMode::Disabled")
            }
            ConfigError::DuplicateKeyId => f.write_str("two keys have the same kid"),
            ConfigError::ThresholdExceedsTtl => {
                f.write_str("the renewal threshold exceeds the token lifetime")
            }
            ConfigError::InvalidFraction => {
                f.write_str("the renewal fraction must be greater than 0 and at most 1")
            }
            ConfigError::MaxSessionShorterThanTtl => {
                f.write_str("the maximum session is shorter than the token lifetime")
            }
            ConfigError::ZeroTtl => f.write_str("the token lifetime must be at least one second"),
            ConfigError::NoSources => f.write_str("no token source is configured"),
            ConfigError::InvalidSourceName => {
                f.write_str("a cookie or query parameter name is empty or contains separators")
            }
            ConfigError::InvalidHeaderValue(what) => {
                write!(f, "the {what} contains characters not allowed in a header")
            }
            ConfigError::ZeroMaxTokenSize => f.write_str("the maximum token size must not be zero"),
            ConfigError::CookiePrefixMismatch => f.write_str(
                "a __Host- cookie needs Secure, Path=/ and no Domain (a __Secure- one, Secure)",
            ),
            ConfigError::TrustedKeysWithoutAudience => f.write_str(
                "third-party keys need an audience, or their issuer's tokens for any service \
                 would be accepted; configure audience()",
            ),
            ConfigError::AuthorizeBeforeClaims => {
                f.write_str("call claims::<C>() before authorize(), whose check is typed by C")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Key(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyError> for ConfigError {
    fn from(e: KeyError) -> Self {
        ConfigError::Key(e)
    }
}

/// Why [`Issuer::issue`](crate::Issuer::issue) could not sign a token.
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
        }
    }
}

impl std::error::Error for IssueError {}

/// Why [`Issuer::renew`](crate::Issuer::renew) did not renew a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewError {
    /// The token is not valid (renewal applies no leeway).
    Invalid(TokenError),
    /// The token is valid but not ours to renew: a third party's key or issuer.
    Foreign,
    /// The session has reached its absolute limit: the user must log in again.
    SessionEnded,
    /// A renewed token would not expire later than this one (renewed within the same second).
    NotExtended,
    /// The revocation store could not be asked.
    Unavailable,
    /// Signing failed.
    Issue(IssueError),
}

impl fmt::Display for RenewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenewError::Invalid(e) => e.fmt(f),
            RenewError::Foreign => f.write_str("the token was not issued by this service"),
            RenewError::SessionEnded => f.write_str("the session has reached its maximum length"),
            RenewError::NotExtended => f.write_str("the token is already as fresh as it can be"),
            RenewError::Unavailable => f.write_str("the token cannot be checked right now"),
            RenewError::Issue(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RenewError {}
