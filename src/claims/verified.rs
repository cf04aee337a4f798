//! [`Claims<C>`]: what a verified token says, shared by every holder, with the token it came
//! from and who vouched for it.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::ser::Serializer;

use super::{NoCustomClaims, RawToken, RegisteredClaims};

/// The claims of a verified token: the registered ones and the application's own `C`.
///
/// The layer puts a `Claims<C>` into the request extensions of every authenticated request, with
/// the token it was read from ([`Claims::token`]). With the `axum` feature it is also an
/// extractor (and `Option<Claims<C>>` for optional routes). Cloning it costs a reference count:
/// the claims are shared, not copied.
///
/// `C` is any `serde` type read from the same JSON payload; it must tolerate the other claims
/// (do not use `#[serde(deny_unknown_fields)]`). The default, [`NoCustomClaims`], reads nothing.
///
/// ```
/// use serde::Deserialize;
/// use tower_sliding_jwt::Claims;
///
/// #[derive(Deserialize)]
/// struct User {
///     username: String,
/// }
///
/// fn greet(claims: &Claims<User>) -> String {
///     format!("hello {} (subject {:?})", claims.custom().username, claims.subject())
/// }
/// ```
pub struct Claims<C = NoCustomClaims> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    registered: RegisteredClaims,
    custom: C,
    token: RawToken,
    /// The issuer of the trusted key that verified the token; `None` for our own keys.
    trusted_issuer: Option<Arc<str>>,
}

/// Who vouched for a verified token: the key that verified it, and so the issuer it speaks for
/// (see [`Claims::vouched_by`]).
///
/// ```
/// use tower_sliding_jwt::{Claims, VouchedBy};
///
/// fn greeting(claims: &Claims) -> String {
///     match claims.vouched_by() {
///         VouchedBy::OwnKey => "welcome back".to_owned(),
///         VouchedBy::TrustedIssuer(issuer) => format!("welcome, user of {issuer}"),
///         _ => "welcome".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VouchedBy<'a> {
    /// One of this service's own keys (signing or previous): a token of our issuer.
    OwnKey,
    /// A third-party key (a trusted key or a remote JWK Set) registered for this issuer.
    TrustedIssuer(&'a str),
}

impl<C> Claims<C> {
    pub(crate) fn new(
        registered: RegisteredClaims,
        custom: C,
        token: RawToken,
        trusted_issuer: Option<Arc<str>>,
    ) -> Claims<C> {
        Claims { inner: Arc::new(Inner { registered, custom, token, trusted_issuer }) }
    }

    /// The registered (RFC 7519) and session claims.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// assert_eq!(claims.registered().issuer(), Some("https://api.example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn registered(&self) -> &RegisteredClaims {
        &self.inner.registered
    }

    /// The application's own claims.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// #[derive(Deserialize)]
    /// struct User {
    ///     username: String,
    /// }
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let token = issuer.issue("42", &serde_json::json!({ "username": "alice" }))?.token;
    /// assert_eq!(issuer.verify::<User>(&token)?.custom().username, "alice");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn custom(&self) -> &C {
        &self.inner.custom
    }

    /// The verified token exactly as the client presented it: for an explicit renewal endpoint
    /// ([`Issuer::renew`](crate::Issuer::renew)) or to forward it upstream. Its `Debug` output
    /// hides it. It is a copy of the token, not a view of the request: claims kept by the
    /// application hold none of the request's buffers.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// assert_eq!(claims.token().as_str(), login.token);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token(&self) -> &RawToken {
        &self.inner.token
    }

    /// Which key vouched for the token: one of ours, or a third party's (and for which issuer).
    /// A key only ever vouches for its own issuer, so a third-party token can never pass as
    /// ours.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims, VouchedBy};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .issuer("us")
    ///     .build()?;
    /// let issuer = layer.issuer();
    /// let token = issuer.issue("42", &())?.token;
    /// let claims = issuer.verify::<NoCustomClaims>(&token)?;
    /// assert_eq!(claims.vouched_by(), VouchedBy::OwnKey);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn vouched_by(&self) -> VouchedBy<'_> {
        match &self.inner.trusted_issuer {
            None => VouchedBy::OwnKey,
            Some(issuer) => VouchedBy::TrustedIssuer(issuer),
        }
    }

    /// `sub`: whom the token is about.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// assert_eq!(claims.subject(), Some("42"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subject(&self) -> Option<&str> {
        self.inner.registered.subject()
    }

    /// `exp`: when the token expires (seconds since the epoch).
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// assert_eq!(claims.expires_at(), login.expires_at);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires_at(&self) -> i64 {
        self.inner.registered.expires_at()
    }

    /// `jti`: the token's unique id.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// // Random for each token: a renewal gets a new one.
    /// assert!(claims.token_id().is_some_and(|jti| !jti.is_empty()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_id(&self) -> Option<&str> {
        self.inner.registered.token_id()
    }

    /// `sid`: the login session the token belongs to (shared by all its renewals).
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// // Random for each login, and kept by every renewal.
    /// assert!(claims.session_id().is_some_and(|sid| !sid.is_empty()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_id(&self) -> Option<&str> {
        self.inner.registered.session_id()
    }

    /// When the session began: `auth_time`, or `iat` for tokens without it.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// assert_eq!(claims.session_start(), Some(issuer.now()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_start(&self) -> Option<i64> {
        self.inner.registered.session_start()
    }
}

impl<C> Clone for Claims<C> {
    fn clone(&self) -> Self {
        Claims { inner: Arc::clone(&self.inner) }
    }
}

impl<C: fmt::Debug> fmt::Debug for Claims<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("registered", &self.inner.registered)
            .field("custom", &self.inner.custom)
            .field("token", &self.inner.token)
            .field("vouched_by", &self.vouched_by())
            .finish()
    }
}

impl<C: PartialEq> PartialEq for Claims<C> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.inner.registered == other.inner.registered
                && self.inner.custom == other.inner.custom
                && self.inner.token == other.inner.token
                && self.inner.trusted_issuer == other.inner.trusted_issuer)
    }
}

impl<C: Serialize> Serialize for Claims<C> {
    /// One flat JSON object: the registered claims and the custom ones side by side.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a, C> {
            #[serde(flatten)]
            registered: &'a RegisteredClaims,
            #[serde(flatten)]
            custom: &'a C,
        }
        Flat { registered: &self.inner.registered, custom: &self.inner.custom }
            .serialize(serializer)
    }
}
