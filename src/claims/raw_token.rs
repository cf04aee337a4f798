//! The token exactly as the client presented it.

use std::fmt;
use std::sync::Arc;

/// The verified token as presented, carried by the [`Claims`](crate::Claims) in the request
/// extensions ([`Claims::token`](crate::Claims::token)): for an explicit renewal endpoint
/// ([`Issuer::renew`](crate::Issuer::renew)) or to forward the token to an upstream service.
///
/// It owns a copy of the token (shared by its clones), never a view of the request: a header
/// value of hyper's shares the connection's whole read buffer, so claims kept by the
/// application, or by the layer's cache of verified tokens, hold a few hundred bytes whatever
/// else the request carried.
///
/// Its `Debug` output hides the token, so it cannot leak into logs by accident.
///
/// ```
/// use tower_sliding_jwt::Claims;
///
/// fn forward(claims: &Claims) -> String {
///     format!("Bearer {}", claims.token().as_str())
/// }
/// ```
#[derive(Clone)]
pub struct RawToken(Arc<str>);

impl RawToken {
    pub(crate) fn copied(token: &str) -> RawToken {
        RawToken(Arc::from(token))
    }

    /// The compact JWS.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let login = issuer.issue("42", &())?;
    /// let claims = issuer.verify::<NoCustomClaims>(&login.token)?;
    /// assert_eq!(claims.token().as_str(), login.token);
    /// assert!(!format!("{:?}", claims.token()).contains(&login.token), "Debug hides it");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for RawToken {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for RawToken {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for RawToken {}

impl fmt::Debug for RawToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawToken([redacted, {} bytes])", self.as_str().len())
    }
}
