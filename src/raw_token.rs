//! The token exactly as the client presented it.

use std::fmt;
use std::sync::Arc;

/// The verified token as presented, put in the request extensions next to
/// [`Claims`](crate::Claims): for an explicit renewal endpoint
/// ([`Issuer::renew`](crate::Issuer::renew)) or to forward the token to an upstream service.
///
/// Its `Debug` output hides the token, so it cannot leak into logs by accident.
///
/// ```
/// use tower_sliding_jwt::RawToken;
///
/// fn forward(token: &RawToken) -> String {
///     format!("Bearer {}", token.as_str())
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RawToken(Arc<str>);

impl RawToken {
    pub(crate) fn new(token: &str) -> RawToken {
        RawToken(Arc::from(token))
    }

    /// The compact JWS.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for RawToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RawToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawToken([redacted, {} bytes])", self.0.len())
    }
}
