//! A kit for testing the handlers behind the layer (feature `testing`): tokens of every kind a
//! test needs, signed with the layer's own keys and dated by its clock, claims built by hand for
//! a handler called directly, and requests carrying a token the way the layer reads it.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_sliding_jwt::testing::TokenFactory;
//! use tower_sliding_jwt::{Claims, JwtAuthLayer, ManualClock};
//!
//! async fn me(claims: Claims) -> String {
//!     claims.subject().unwrap_or_default().to_owned()
//! }
//!
//! let clock = ManualClock::new(1_800_000_000);
//! let auth = JwtAuthLayer::builder()
//!     .hs256(b"an example secret of at least 32 bytes")
//!     .issuer("my-app")
//!     .clock(clock.clone())
//!     .build()?;
//! let tokens = TokenFactory::for_layer(&auth);
//! let app = Router::new().route("/me", get(me)).layer(auth);
//! let call = |token: String| {
//!     let request = tokens.request(Request::get("/me"), &token).body(Body::empty()).unwrap();
//!     app.clone().oneshot(request)
//! };
//!
//! // This route renews a token in its window, and refuses an expired one.
//! let response = call(tokens.in_renewal_window("alice", &())?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert!(response.headers().contains_key("x-refreshed-token"));
//! let response = call(tokens.expired("alice", &())?).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::sync::Arc;

use http::header::{AUTHORIZATION, COOKIE};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::RawToken;
use crate::claims::{Claims, RegisteredClaims};
use crate::clock::{Clock as _, secs};
use crate::config::{Core, custom_object};
use crate::dpop::{DpopKeyPair, ProofClaims, new_jti};
use crate::error::{ConfigError, IssueError};
use crate::keys::Key;
use crate::middleware::layer::JwtAuthLayer;
use crate::renewal::RenewalMode;
use crate::verify::jws;
use crate::verify::source::TokenSource;

/// Signs test tokens with a layer's configuration: its signing key, issuer, audience, lifetimes
/// and clock, so "valid" means valid for that layer at its current time.
///
/// Every method but [`raw`](TokenFactory::raw) builds the claims a login would (`sub`, `iat`,
/// `exp`, `auth_time`, `jti`, `sid`, `iss` and `aud` when configured, and the custom claims),
/// then moves one of them to make the token what its name says.
///
/// ```
/// use tower_sliding_jwt::testing::TokenFactory;
/// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
///
/// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).issuer("my-app").build()?;
/// let tokens = TokenFactory::for_layer(&layer);
/// let issuer = layer.issuer();
/// assert!(issuer.verify::<NoCustomClaims>(&tokens.valid("7", &())?).is_ok());
/// assert!(issuer.verify::<NoCustomClaims>(&tokens.expired("7", &())?).is_err());
/// assert!(issuer.verify::<NoCustomClaims>(&tokens.tampered("7", &())?).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenFactory {
    core: Arc<Core>,
}

impl TokenFactory {
    /// Tokens for the layer `layer` (cheap: it shares the layer's configuration).
    ///
    /// ```
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).issuer("my-app").build()?;
    /// let token = TokenFactory::for_layer(&layer).valid("alice", &())?;
    /// let claims = layer.issuer().verify::<NoCustomClaims>(&token)?;
    /// assert_eq!(claims.registered().issuer(), Some("my-app"), "the layer's own settings");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_layer<C, R>(layer: &JwtAuthLayer<C, R>) -> TokenFactory {
        TokenFactory { core: layer.core() }
    }

    /// Tokens signed with `key`, with the defaults of a layer built from it alone (no issuer, no
    /// audience, 5-minute tokens, the system clock). For a test of a token that another service
    /// signed, or a key of the wrong kind.
    ///
    /// ```
    /// use tower_sliding_jwt::Key;
    /// use tower_sliding_jwt::testing::TokenFactory;
    ///
    /// let partner = TokenFactory::new(Key::hs256([9u8; 32])?)?;
    /// let token = partner.valid("someone", &())?;
    /// assert_eq!(token.split('.').count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: Key) -> Result<TokenFactory, ConfigError> {
        let layer = JwtAuthLayer::builder()
            .signing_key(key)
            .renewal(crate::renewal::RenewalPolicy::new().mode(RenewalMode::Disabled))
            .build()?;
        Ok(TokenFactory::for_layer(&layer))
    }

    /// A token the layer accepts, fresh: it does not renew yet.
    ///
    /// ```
    /// use serde_json::json;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct User {
    ///     admin: bool,
    /// }
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).valid("alice", &json!({ "admin": true }))?;
    /// assert!(layer.issuer().verify::<User>(&token)?.custom().admin);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn valid<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        self.sign(self.claims_map(subject, custom, |_| {})?)
    }

    /// A valid token inside the renewal window: the response to a request carrying it renews.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let tokens = TokenFactory::for_layer(&layer);
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let call = |token: String| {
    ///     let request = tokens.request(Request::get("/"), &token).body(()).unwrap();
    ///     layer.layer(inner.clone()).oneshot(request)
    /// };
    /// let renewed = call(tokens.in_renewal_window("alice", &())?).await?;
    /// assert!(renewed.headers().contains_key("x-refreshed-token"));
    /// let fresh = call(tokens.valid("alice", &())?).await?;
    /// assert!(!fresh.headers().contains_key("x-refreshed-token"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn in_renewal_window<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        let ttl = self.core.lifetimes.token_secs();
        let now = self.core.now();
        // Well inside the window, whatever the trigger: a quarter of the lifetime is left.
        let left = (ttl / 4).max(1);
        self.dated(subject, custom, now - (ttl - left), now + left)
    }

    /// A token that expired beyond the leeway.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).expired("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::Expired)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expired<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        let exp = self.core.now() - self.core.rules.leeway - 1;
        self.dated(subject, custom, exp - self.core.lifetimes.token_secs(), exp)
    }

    /// A token whose `nbf` is a minute past the leeway in the future.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).not_yet_valid("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::NotYetValid)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn not_yet_valid<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        let nbf = self.core.now() + self.core.rules.leeway + 60;
        self.sign(self.claims_map(subject, custom, |map| {
            map.insert("nbf".into(), nbf.into());
        })?)
    }

    /// A token of a session older than the maximum session: its `exp` lies beyond
    /// its session limit, which the layer never issues.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).past_session_limit("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::BeyondSessionLimit)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn past_session_limit<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        let login = self.core.now() - secs(self.core.lifetimes.session_limit) - 60;
        self.sign(self.claims_map(subject, custom, |map| {
            map.insert("auth_time".into(), login.into());
        })?)
    }

    /// A token naming another issuer (refused when the layer has an issuer).
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().issuer("my-app").hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).wrong_issuer("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::WrongIssuer)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wrong_issuer<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        self.sign(self.claims_map(subject, custom, |map| {
            map.insert("iss".into(), "https://wrong-issuer.invalid".into());
        })?)
    }

    /// A token for another audience (refused when the layer requires an audience).
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().audience("my-api").hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).wrong_audience("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::WrongAudience)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wrong_audience<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        self.sign(self.claims_map(subject, custom, |map| {
            map.insert("aud".into(), "https://wrong-audience.invalid".into());
        })?)
    }

    /// A valid-looking token, with the layer's header, signed by a key the layer does not have.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).foreign_key("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::InvalidSignature)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn foreign_key<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        let token = self.valid(subject, custom)?;
        let (input, _) = token.rsplit_once('.').ok_or(IssueError::Signing)?;
        let mut secret = [0u8; 64];
        getrandom::fill(&mut secret).map_err(|_| IssueError::Randomness)?;
        let stranger = Key::hs256(secret).map_err(|_| IssueError::Signing)?;
        let signature = stranger.sign(input.as_bytes()).ok_or(IssueError::Signing)?;
        Ok(format!("{input}.{}", crate::base64url::encode(&signature)))
    }

    /// A valid token whose signature was altered in transit.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let token = TokenFactory::for_layer(&layer).tampered("alice", &())?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::InvalidSignature)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tampered<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<String, IssueError> {
        let mut token = self.valid(subject, custom)?;
        // The second character of the signature: the first may only carry some of its bits.
        let at = token.rfind('.').ok_or(IssueError::Signing)? + 2;
        let flipped = if token.as_bytes().get(at) == Some(&b'A') { "B" } else { "A" };
        token.replace_range(at..=at, flipped);
        Ok(token)
    }

    /// Exactly this header and payload JSON text, whatever they say, signed with the signing key
    /// (an `alg` that is not the key's, a missing `exp`, a `typ` of another kind of token...).
    ///
    /// ```
    /// use tower_sliding_jwt::Key;
    /// use tower_sliding_jwt::testing::TokenFactory;
    ///
    /// let tokens = TokenFactory::new(Key::hs256([3u8; 32])?)?;
    /// let confused = tokens.raw(r#"{"alg":"HS256","typ":"logout+jwt"}"#, r#"{"sub":"1"}"#)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw(&self, header: &str, payload: &str) -> Result<String, IssueError> {
        self.raw_bytes(header.as_bytes(), payload.as_bytes())
    }

    /// Like [`raw`](TokenFactory::raw), for bytes that need not be UTF-8 or JSON.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// // A payload that is not UTF-8, correctly signed: refused as malformed, never a panic.
    /// let tokens = TokenFactory::for_layer(&layer);
    /// let token = tokens.raw_bytes(br#"{"alg":"HS256"}"#, b"{\"sub\":\"\xff\"}")?;
    /// let verified = layer.issuer().verify::<NoCustomClaims>(&token);
    /// assert!(matches!(verified, Err(TokenError::MalformedClaims)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw_bytes(&self, header: &[u8], payload: &[u8]) -> Result<String, IssueError> {
        let key = self.core.keys.signing().ok_or(IssueError::NoSigningKey)?;
        jws::encode(&crate::base64url::encode(header), payload, key, usize::MAX)
    }

    /// The token this response renewed, if it did: from the renewal header (a bearer token) or
    /// from the `Set-Cookie` of the layer's token cookie (a cookie token). A cookie that deletes
    /// the token (a logout) is no renewal.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use tower::ServiceExt;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims, TokenSource};
    ///
    /// let auth = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .token_sources([TokenSource::Bearer, TokenSource::cookie("session")])
    ///     .build()?;
    /// let tokens = TokenFactory::for_layer(&auth);
    /// let app = Router::new().route("/", get(|| async { "hello" })).layer(auth.clone());
    /// let token = tokens.in_renewal_window("alice", &())?;
    /// // As a bearer token: renewed in the header.
    /// let request = Request::get("/").header("authorization", format!("Bearer {token}"));
    /// let response = app.clone().oneshot(request.body(Body::empty())?).await?;
    /// let renewed = tokens.renewed(&response).expect("renewed in its window");
    /// assert!(auth.issuer().verify::<NoCustomClaims>(&renewed).is_ok());
    /// // As a cookie: renewed in `Set-Cookie`.
    /// let request = Request::get("/").header("cookie", format!("session={token}"));
    /// let response = app.clone().oneshot(request.body(Body::empty())?).await?;
    /// assert!(tokens.renewed(&response).is_some());
    /// // A fresh token is not renewed.
    /// let request = tokens.request(Request::get("/"), &tokens.valid("alice", &())?);
    /// assert_eq!(tokens.renewed(&app.oneshot(request.body(Body::empty())?).await?), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn renewed<B>(&self, response: &http::Response<B>) -> Option<String> {
        let headers = response.headers();
        if let Some(value) = headers.get(&self.core.renewal.header) {
            return value.to_str().ok().map(str::to_owned);
        }
        let name = self.core.cookie_name()?;
        headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| cookie::Cookie::parse_encoded(value).ok())
            .find(|cookie| {
                cookie.name() == name
                    && !cookie.value().is_empty()
                    && cookie.max_age().is_none_or(|age| age.is_positive())
            })
            .map(|cookie| cookie.value().to_owned())
    }

    /// `request` carrying `token` where the layer looks first: `Authorization: Bearer`, the named
    /// header, the cookie, or the query parameter.
    ///
    /// ```
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, TokenSource};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_sources([TokenSource::cookie("session")])
    ///     .build()?;
    /// let tokens = TokenFactory::for_layer(&layer);
    /// let request = tokens.request(http::Request::get("/"), "a.b.c").body(())?;
    /// assert_eq!(request.headers()["cookie"], "session=a.b.c");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(&self, request: http::request::Builder, token: &str) -> http::request::Builder {
        match self.core.sources.first() {
            Some(TokenSource::Header(name)) => request.header(name, token),
            Some(TokenSource::Cookie(name)) => request.header(COOKIE, format!("{name}={token}")),
            Some(TokenSource::Query(name)) => {
                let uri = request.uri_ref().map(ToString::to_string).unwrap_or_else(|| "/".into());
                let separator = if uri.contains('?') { '&' } else { '?' };
                let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
                request.uri(format!("{uri}{separator}{name}={encoded}"))
            }
            _ => request.header(AUTHORIZATION, format!("Bearer {token}")),
        }
    }

    /// The claims of a [`valid`](TokenFactory::valid) token, for a handler called directly.
    ///
    /// ```
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).issuer("my-app").build()?;
    /// let claims = TokenFactory::for_layer(&layer).claims::<NoCustomClaims, _>("alice", &())?;
    /// assert_eq!(claims.subject(), Some("alice"));
    /// assert_eq!(claims.registered().issuer(), Some("my-app"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claims<C: serde::de::DeserializeOwned + 'static, T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
    ) -> Result<Claims<C>, IssueError> {
        let token = self.valid(subject, custom)?;
        let verified =
            self.core.verify::<C>(&token, self.core.now()).map_err(IssueError::NotAccepted)?.0;
        let vouched = verified.role.trusted_issuer();
        Ok(Claims::new(verified.registered, verified.custom, RawToken::copied(&token), vouched))
    }

    /// Issued `iat`, expiring `exp`, with the session started at `iat`.
    fn dated<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
        iat: i64,
        exp: i64,
    ) -> Result<String, IssueError> {
        self.sign(self.claims_map(subject, custom, |map| {
            map.insert("iat".into(), iat.into());
            map.insert("auth_time".into(), iat.into());
            map.insert("exp".into(), exp.into());
        })?)
    }

    /// The claims a login would carry now, then `edit`.
    fn claims_map<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<Map<String, Value>, IssueError> {
        let core = &self.core;
        let now = core.now();
        let exp = now.saturating_add(core.lifetimes.token_secs());
        let mut map = core.login_claims(subject, custom_object(custom)?, now, exp)?;
        edit(&mut map);
        Ok(map)
    }

    fn sign(&self, claims: Map<String, Value>) -> Result<String, IssueError> {
        let payload = serde_json::to_vec(&claims).map_err(|_| IssueError::ClaimsNotAnObject)?;
        // No size limit: a test may want a token the layer refuses as too large.
        self.core.sign_json_up_to(&payload, usize::MAX)
    }
}

impl TokenFactory {
    /// A token the layer accepts with a proof of `key` (it is bound to it: `cnf.jkt`), as an
    /// identity provider or [`Issuer::issue_bound`](crate::Issuer::issue_bound) makes one.
    ///
    /// ```
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let key = DpopTestKey::new();
    /// let token = TokenFactory::for_layer(&layer).bound("alice", &(), &key)?;
    /// // Without a DPoP policy, the layer refuses a bound token: it could not check the proof.
    /// assert!(layer.issuer().verify::<NoCustomClaims>(&token).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bound<T: Serialize + ?Sized>(
        &self,
        subject: &str,
        custom: &T,
        key: &DpopTestKey,
    ) -> Result<String, IssueError> {
        self.sign(self.claims_map(subject, custom, |claims| {
            claims.insert("cnf".into(), serde_json::json!({ "jkt": key.thumbprint() }));
        })?)
    }

    /// `request` carrying the bound `token` as `Authorization: DPoP`, with a fresh proof of
    /// `key` for this request: its method, the layer's (first) public origin and the path, the
    /// layer's clock, a new `jti` and the token's hash. Without a DPoP policy, no proof.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .dpop(DpopPolicy::new().public_origin("https://api.example.com"))
    ///     .build()?;
    /// let tokens = TokenFactory::for_layer(&layer);
    /// let (key, thief) = (DpopTestKey::new(), DpopTestKey::another());
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let call = |key: &DpopTestKey| {
    ///     let request = tokens.dpop_request(Request::get("/orders"), &token, key);
    ///     layer.layer(inner.clone()).oneshot(request.body(()).unwrap())
    /// };
    /// assert_eq!(call(&key).await?.status(), StatusCode::OK);
    /// assert_eq!(call(&thief).await?.status(), StatusCode::UNAUTHORIZED);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn dpop_request(
        &self,
        request: http::request::Builder,
        token: &str,
        key: &DpopTestKey,
    ) -> http::request::Builder {
        self.signed_request(request, token, key, None)
    }

    /// [`dpop_request`](TokenFactory::dpop_request), with the server's nonce in the proof (the
    /// one a `use_dpop_nonce` refusal gave in its `DPoP-Nonce` header).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// use http::{Request, Response, StatusCode};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let policy = DpopPolicy::new()
    ///     .public_origin("https://api.example.com")
    ///     .nonces([9u8; 32], Duration::from_secs(60));
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(policy).build()?;
    /// let (tokens, key) = (TokenFactory::for_layer(&layer), DpopTestKey::new());
    /// let token = tokens.bound("alice", &(), &key)?;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let nonce = layer.issuer().dpop_nonce().expect("nonces are on");
    /// let request = tokens.dpop_request_with_nonce(Request::get("/"), &token, &key, &nonce);
    /// let response = layer.layer(inner.clone()).oneshot(request.body(())?).await?;
    /// assert_eq!(response.status(), StatusCode::OK);
    /// let stale = tokens.dpop_request_with_nonce(Request::get("/"), &token, &key, "old");
    /// let refused = layer.layer(inner).oneshot(stale.body(())?).await?;
    /// assert_eq!(refused.headers()["dpop-nonce"], nonce.as_str());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn dpop_request_with_nonce(
        &self,
        request: http::request::Builder,
        token: &str,
        key: &DpopTestKey,
        nonce: &str,
    ) -> http::request::Builder {
        self.signed_request(request, token, key, Some(nonce))
    }

    fn signed_request(
        &self,
        request: http::request::Builder,
        token: &str,
        key: &DpopTestKey,
        nonce: Option<&str>,
    ) -> http::request::Builder {
        let Some(dpop) = &self.core.dpop else {
            return request.header(AUTHORIZATION, format!("DPoP {token}"));
        };
        let method = request.method_ref().map_or("GET", http::Method::as_str).to_owned();
        let path = request.uri_ref().map_or("/", http::Uri::path).to_owned();
        let htu = format!("{}{path}", dpop.first_origin());
        let claims = ProofClaims {
            method: &method,
            htu: &htu,
            iat: self.core.now(),
            jti: &new_jti(),
            token: Some(token),
            nonce,
        };
        let proof = key.sign(&claims);
        request.header(AUTHORIZATION, format!("DPoP {token}")).header("dpop", proof)
    }
}

/// A client's DPoP key pair for tests (P-256 for ES256 proofs, or Ed25519 for EdDSA ones): its
/// thumbprint, and proofs (RFC 9449) made as a client makes them, or broken on purpose. The keys
/// are fixed and public: for tests only.
///
/// ```
/// use tower_sliding_jwt::testing::DpopTestKey;
///
/// let key = DpopTestKey::new();
/// assert_ne!(key.thumbprint(), DpopTestKey::another().thumbprint());
/// let proof = key.proof("GET", "https://api.example.com/orders", 1_800_000_000, "id-1", None);
/// assert_eq!(proof.split('.').count(), 3);
/// ```
pub struct DpopTestKey {
    pair: DpopKeyPair,
}

impl DpopTestKey {
    /// The test suite's P-256 key.
    pub fn new() -> DpopTestKey {
        DpopTestKey::from_pem(
            crate::Algorithm::ES256,
            include_str!("../tests/keys/ec256_private.pem"),
        )
    }

    /// Another P-256 key: a proof by someone who copied the token.
    pub fn another() -> DpopTestKey {
        let pem = include_str!("../tests/keys/ec256_other_private.pem");
        DpopTestKey::from_pem(crate::Algorithm::ES256, pem)
    }

    /// The test suite's Ed25519 key, for EdDSA proofs.
    ///
    /// ```
    /// use tower_sliding_jwt::testing::DpopTestKey;
    ///
    /// let key = DpopTestKey::ed25519();
    /// let proof = key.proof("GET", "https://api.example.com/", 1_800_000_000, "id-1", None);
    /// use base64::Engine as _;
    /// let header = proof.split('.').next().unwrap();
    /// let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    /// assert!(String::from_utf8(header).unwrap().contains(r#""alg":"EdDSA""#));
    /// ```
    pub fn ed25519() -> DpopTestKey {
        let pem = include_str!("../tests/keys/ed25519_private.pem");
        DpopTestKey::from_pem(crate::Algorithm::EdDSA, pem)
    }

    fn from_pem(algorithm: crate::Algorithm, pem: &str) -> DpopTestKey {
        let key = Key::from_private_pem(algorithm, pem).expect("a test key");
        DpopTestKey { pair: DpopKeyPair::new(key).expect("a test key signs proofs") }
    }

    /// The RFC 7638 thumbprint of the public key: a bound token's `cnf.jkt`.
    pub fn thumbprint(&self) -> &str {
        self.pair.thumbprint()
    }

    /// A proof for `method` and `htu` issued at `iat`, with `jti`, and `ath` for `token` when
    /// given. Change one argument to make the proof wrong in one way (another method or URI,
    /// an old `iat`, a `jti` already used, no `ath`).
    pub fn proof(
        &self,
        method: &str,
        htu: &str,
        iat: i64,
        jti: &str,
        token: Option<&str>,
    ) -> String {
        self.sign(&ProofClaims { method, htu, iat, jti, token, nonce: None })
    }

    fn sign(&self, claims: &ProofClaims<'_>) -> String {
        self.pair.sign(claims)
    }
}

impl Default for DpopTestKey {
    fn default() -> Self {
        DpopTestKey::new()
    }
}

impl std::fmt::Debug for DpopTestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopTestKey")
            .field("thumbprint", &self.pair.thumbprint())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TokenFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFactory").field("issuer", &self.core.issuer).finish_non_exhaustive()
    }
}

/// Claims built by hand, for a handler called directly (no layer, no token): `sub`, `iat` and
/// `auth_time` now, `exp` five minutes later, and `custom`.
///
/// ```
/// use serde::Deserialize;
/// use tower_sliding_jwt::Claims;
/// use tower_sliding_jwt::testing::claims;
///
/// #[derive(Deserialize)]
/// struct User {
///     admin: bool,
/// }
///
/// fn can_delete(claims: &Claims<User>) -> bool {
///     claims.custom().admin
/// }
///
/// assert!(can_delete(&claims("42", User { admin: true })));
/// assert_eq!(claims("42", User { admin: false }).subject(), Some("42"));
/// ```
pub fn claims<C>(subject: &str, custom: C) -> Claims<C> {
    let now = crate::clock::SystemClock.now();
    let registered = RegisteredClaims {
        sub: Some(subject.into()),
        iat: Some(now),
        auth_time: Some(now),
        exp: now.saturating_add(300),
        ..RegisteredClaims::default()
    };
    Claims::new(registered, custom, RawToken::copied(""), None)
}
