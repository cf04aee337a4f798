//! The token exactly as the client presented it.

use std::fmt;

use http::HeaderValue;

/// The verified token as presented, carried by the [`Claims`](crate::Claims) in the request
/// extensions ([`Claims::token`](crate::Claims::token)): for an explicit renewal endpoint
/// ([`Issuer::renew`](crate::Issuer::renew)) or to forward the token to an upstream service.
/// It shares the bytes of the request header it came from rather than copying them.
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
pub struct RawToken {
    /// The header the token was read from (a cheap, shared clone), or the token alone.
    value: HeaderValue,
    /// Where the token starts in it (after `Bearer `).
    start: usize,
}

impl RawToken {
    /// The token found at the end of the header `value`: shares the header's bytes.
    pub(crate) fn in_header(value: &HeaderValue, token: &str) -> RawToken {
        if value.as_bytes().ends_with(token.as_bytes()) {
            RawToken { value: value.clone(), start: value.len() - token.len() }
        } else {
            RawToken::copied(token)
        }
    }

    /// A token from a cookie or a query parameter: copied.
    pub(crate) fn copied(token: &str) -> RawToken {
        // The token is visible ASCII, so always a valid header value.
        let value = HeaderValue::from_str(token).unwrap_or_else(|_| HeaderValue::from_static(""));
        RawToken { value, start: 0 }
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
        let bytes = self.value.as_bytes().get(self.start..).unwrap_or_default();
        // Checked visible ASCII when it was extracted.
        std::str::from_utf8(bytes).unwrap_or_default()
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
