//! The login side: signing login tokens and explicit renewals with the layer's own configuration.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::claims::RawToken;
use crate::claims::{Claims, NoCustomClaims, RegisteredClaims, VouchedBy};
use crate::clock::secs;
use crate::config::{Core, custom_object};
use crate::dpop::DpopKey;
use crate::error::DpopError;
use crate::error::{IssueError, RenewError, TokenError};
use crate::headers::forbid_storing;
use crate::keys::JwkSet;
use crate::rejection::Rejection;
use crate::renewal::rule::renewable;
use crate::renewal::{NoRenewal, SessionLifetimes};
use crate::revocation::{Refusal, verdict};
use crate::verify::jws::payload_of;

/// The claims the issuer owns; custom claims may not set them.
const RESERVED_CLAIMS: [&str; 11] = [
    "cnf",
    "iss",
    "sub",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "sid",
    "token_lifetime",
    "session_limit",
];

/// Signs login tokens and explicit renewals with the same keys, lifetimes and claim names as the
/// layer it came from ([`JwtAuthLayer::issuer`](crate::JwtAuthLayer::issuer)). Cheap to clone.
///
/// ```
/// use serde::Serialize;
/// use tower_sliding_jwt::JwtAuthLayer;
///
/// #[derive(Serialize)]
/// struct Profile<'a> {
///     username: &'a str,
/// }
///
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .issuer("demo")
///     .build()?;
/// let issuer = layer.issuer();
/// let login = issuer.issue("42", &Profile { username: "alice" })?;
/// assert_eq!(login.expires_in, 300);
///
/// let claims = issuer.verify::<serde_json::Value>(&login.token)?;
/// assert_eq!(claims.subject(), Some("42"));
/// assert_eq!(claims.custom()["username"], "alice");
/// assert_eq!(claims.registered().auth_time(), claims.registered().issued_at());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Issuer {
    core: Arc<Core>,
}

/// The response to a logout, made by [`Issuer::logout`]: `204`, `no-store`, no renewal, and the
/// token cookie deleted when the layer reads one.
#[derive(Clone)]
#[must_use = "a logout response does nothing until it is returned"]
pub struct LoggedOut {
    clear_cookie: Option<HeaderValue>,
}

impl LoggedOut {
    /// The response, with any body type.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoRenewal, TokenSource};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .token_sources([TokenSource::Bearer])
    ///     .build()?
    ///     .issuer();
    /// let response: http::Response<String> = issuer.logout().into_response();
    /// assert_eq!(response.status(), 204);
    /// assert!(response.extensions().get::<NoRenewal>().is_some());
    /// assert!(response.headers().get("set-cookie").is_none(), "no cookie to delete");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_response<B: Default>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::default());
        *response.status_mut() = http::StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        forbid_storing(headers);
        if let Some(clear) = self.clear_cookie {
            headers.append(http::header::SET_COOKIE, clear);
        }
        response.extensions_mut().insert(NoRenewal);
        response
    }
}

impl fmt::Debug for LoggedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedOut").field("clears_cookie", &self.clear_cookie.is_some()).finish()
    }
}

/// A freshly signed token.
///
/// It serializes to the JSON of a login response: `{"token": "…", "token_type": "Bearer",
/// "expires_in": 300, "session_expires_at": 1800086400}`, the last being when the session ends
/// for good (its session limit, in seconds since the epoch). Its `Debug` output hides the token.
///
/// ```
/// use tower_sliding_jwt::JwtAuthLayer;
///
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
/// let login = issuer.issue("42", &())?;
/// let body = serde_json::to_value(&login)?;
/// assert_eq!(body["token_type"], "Bearer");
/// assert_eq!(body["expires_in"], 300);
/// assert_eq!(body["session_expires_at"], login.session_expires_at);
/// assert!(!format!("{login:?}").contains(&login.token), "Debug hides the token");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its `exp`.
    pub expires_at: i64,
    /// The session's absolute limit: no renewal goes beyond it.
    pub session_expires_at: i64,
    /// How the client presents it: `Bearer`, or `DPoP` for a token bound to its key.
    pub token_type: &'static str,
}

impl Issuer {
    pub(crate) fn new(core: Arc<Core>) -> Issuer {
        Issuer { core }
    }

    /// Sign a login token for `subject` with the application's own `custom` claims.
    ///
    /// The token carries `sub`, `iat` = now, `exp` = now + ttl, `auth_time` = now (the session
    /// start), a random `jti`, a random `sid` (the session id all its renewals keep), `iss` and
    /// `aud` when configured, and the custom claims; its header carries the signing key's `kid`.
    /// `custom` must serialize to a JSON object (use `&()` or [`NoCustomClaims`] for none) and may
    /// not set the claims listed above. A token longer than the layer's maximum token size is
    /// refused with [`IssueError::TooLarge`]: the layer would not accept it back.
    ///
    /// The response that carries the token must say `Cache-Control: no-store` (RFC 6749
    /// section 5.1), so no cache, the browser's or a shared one, keeps it or replays it.
    ///
    /// ```
    /// use serde::Serialize;
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::error::IssueError;
    ///
    /// #[derive(Serialize)]
    /// struct User<'a> {
    ///     username: &'a str,
    ///     roles: &'a [&'a str],
    /// }
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let login = issuer.issue("42", &User { username: "alice", roles: &["admin"] })?;
    /// assert_eq!(login.expires_in, 300);
    /// // The registered claims are the issuer's to set.
    /// let forged = serde_json::json!({ "exp": i64::MAX });
    /// assert_eq!(issuer.issue("42", &forged).unwrap_err(), IssueError::ReservedClaim("exp"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issue<T: Serialize + ?Sized>(
        &self,
        subject: impl Into<String>,
        custom: &T,
    ) -> Result<IssuedToken, IssueError> {
        self.issue_with(subject, custom, SessionLifetimes::new())
    }

    /// Like [`issue`](Issuer::issue), with lifetimes this login chooses ("remember me"): a
    /// token lifetime and a session limit of its own, within what the builder allows
    /// ([`allow_longer_sessions`](crate::JwtAuthBuilder::allow_longer_sessions)). They travel in
    /// the token as `token_lifetime` and `session_limit` (seconds), and every renewal, sliding or
    /// explicit, keeps them.
    ///
    /// Refused with [`IssueError::LifetimesNotAllowed`]: a chosen token lifetime of zero or
    /// longer than the session limit, and a session limit longer than the longest allowed. A
    /// session limit chosen shorter than the configured token lifetime is not an error: its
    /// tokens end with it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::error::IssueError;
    /// use tower_sliding_jwt::renewal::SessionLifetimes;
    ///
    /// let day = Duration::from_secs(24 * 3600);
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .session_limit(day)
    ///     .allow_longer_sessions(30 * day)
    ///     .build()?
    ///     .issuer();
    /// let remember_me = SessionLifetimes::new().session_limit(30 * day);
    /// let login = issuer.issue_with("42", &(), remember_me)?;
    /// assert_eq!(login.session_expires_at - issuer.now(), 30 * 24 * 3600);
    /// let too_long = SessionLifetimes::new().session_limit(31 * day);
    /// assert_eq!(issuer.issue_with("42", &(), too_long).unwrap_err(), IssueError::LifetimesNotAllowed);
    /// let outliving = SessionLifetimes::new().session_limit(day).token_lifetime(2 * day);
    /// assert_eq!(issuer.issue_with("42", &(), outliving).unwrap_err(), IssueError::LifetimesNotAllowed);
    /// // A one-minute session with the configured five-minute tokens: they end with it.
    /// let brief = SessionLifetimes::new().session_limit(Duration::from_secs(60));
    /// let brief = issuer.issue_with("42", &(), brief)?;
    /// assert_eq!((brief.expires_in, brief.session_expires_at - issuer.now()), (60, 60));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issue_with<T: Serialize + ?Sized>(
        &self,
        subject: impl Into<String>,
        custom: &T,
        lifetimes: SessionLifetimes,
    ) -> Result<IssuedToken, IssueError> {
        self.sign_login(subject.into(), custom, lifetimes, None)
    }

    /// The key a login request proves it holds with its `DPoP` proof (RFC 9449; no token goes
    /// with it), checked as the layer checks a request's proof: to bind the login's token to it
    /// with [`issue_bound`](Issuer::issue_bound). Refused when the layer has no
    /// [`DpopPolicy`](crate::DpopPolicy), or the proof is missing or wrong.
    ///
    /// ```
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer, Rejection};
    /// use tower_sliding_jwt::error::DpopError;
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .dpop(DpopPolicy::new().public_origin("https://api.example.com"))
    ///     .build()?
    ///     .issuer();
    /// let login = http::Request::post("/login").body(())?.into_parts().0;
    /// assert_eq!(issuer.dpop_key(&login), Err(Rejection::InvalidDpopProof(DpopError::Missing)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dpop_key(&self, request: &http::request::Parts) -> Result<DpopKey, Rejection> {
        let core = &self.core;
        let dpop = core.dpop.as_ref().ok_or(Rejection::InvalidDpopProof(DpopError::NotEnabled))?;
        dpop.login_key(request, core.now(), core.rules.leeway)
    }

    /// The server nonce DPoP proofs must carry now, when the policy requires nonces
    /// ([`DpopPolicy::nonces`](crate::DpopPolicy::nonces)): what a login handler puts in the
    /// `DPoP-Nonce` header of its `use_dpop_nonce` refusal (the layer does so for the requests
    /// it checks).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let policy = DpopPolicy::new().public_origin("https://api.example.com");
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(policy.clone()).build()?;
    /// assert_eq!(layer.issuer().dpop_nonce(), None);
    /// let policy = policy.nonces([9u8; 32], Duration::from_secs(300));
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).dpop(policy).build()?;
    /// assert_eq!(layer.issuer().dpop_nonce().map(|nonce| nonce.len()), Some(22));
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn dpop_nonce(&self) -> Option<String> {
        self.core.dpop.as_ref().and_then(|dpop| dpop.nonce(self.core.now()))
    }

    /// [`issue`](Issuer::issue), with the token bound to the client's key (`cnf.jkt`) and
    /// `token_type` `DPoP`: only requests with a proof of that key can use it, and its sliding
    /// renewals stay bound.
    ///
    /// ```
    /// # fn login(issuer: &tower_sliding_jwt::Issuer, request: &http::request::Parts)
    /// #     -> Result<(), Box<dyn std::error::Error>> {
    /// let key = issuer.dpop_key(request)?;
    /// let issued = issuer.issue_bound("42", &(), &key)?;
    /// assert_eq!(issued.token_type, "DPoP");
    /// # Ok(()) }
    /// ```
    pub fn issue_bound<T: Serialize + ?Sized>(
        &self,
        subject: impl Into<String>,
        custom: &T,
        key: &DpopKey,
    ) -> Result<IssuedToken, IssueError> {
        self.sign_login(subject.into(), custom, SessionLifetimes::new(), Some(key))
    }

    fn sign_login<T: Serialize + ?Sized>(
        &self,
        subject: String,
        custom: &T,
        lifetimes: SessionLifetimes,
        bound_to: Option<&DpopKey>,
    ) -> Result<IssuedToken, IssueError> {
        let custom = custom_object(custom)?;
        if let Some(reserved) = RESERVED_CLAIMS.iter().find(|name| custom.contains_key(**name)) {
            return Err(IssueError::ReservedClaim(reserved));
        }
        let core = &self.core;
        let configured = &core.lifetimes;
        let limit = lifetimes.session_limit.map_or(secs(configured.session_limit), secs);
        let chosen_lifetime = lifetimes.token_lifetime.map(secs);
        if limit > configured.longest_session_limit()
            || chosen_lifetime.is_some_and(|lifetime| lifetime == 0 || lifetime > limit)
        {
            return Err(IssueError::LifetimesNotAllowed);
        }
        // The configured lifetime, when this login did not choose one, ends with a shorter
        // session.
        let ttl = chosen_lifetime.unwrap_or(configured.token_secs()).min(limit);
        let now = core.now();
        let exp = now.saturating_add(ttl);
        let mut claims = core.login_claims(&subject, custom, now, exp)?;
        if let Some(key) = bound_to {
            claims.insert("cnf".into(), serde_json::json!({ "jkt": key.thumbprint() }));
        }
        if lifetimes.token_lifetime.is_some() {
            claims.insert("token_lifetime".into(), ttl.into());
        }
        if lifetimes.session_limit.is_some() {
            claims.insert("session_limit".into(), limit.into());
        }
        let token = core.sign(&claims)?;
        Ok(IssuedToken {
            token,
            expires_in: u64::try_from(exp - now).unwrap_or(0),
            expires_at: exp,
            session_expires_at: now.saturating_add(limit),
            token_type: if bound_to.is_some() { "DPoP" } else { "Bearer" },
        })
    }

    /// Explicit renewal (the `/update/token` endpoint): verify `token` and sign its successor,
    /// with the very rules of sliding renewal.
    ///
    /// The token must verify without leeway, pass the revocation check, come from our issuer and
    /// one of our own keys (current or previous). The successor keeps every claim except `iat`,
    /// `nbf`, `jti` and `exp` (now plus the token lifetime, never past the session limit), and
    /// is signed with the current key. Unlike sliding renewal, no threshold applies: a client may
    /// renew at any time.
    ///
    /// As for a login, the response carrying the new token must say `Cache-Control: no-store`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use tower_sliding_jwt::{JwtAuthLayer, ManualClock};
    /// use tower_sliding_jwt::error::RenewError;
    ///
    /// let clock = ManualClock::new(1_000_000);
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .clock(clock.clone())
    ///     .build()?;
    /// let issuer = layer.issuer();
    /// let login = issuer.issue("42", &())?;
    ///
    /// clock.advance(Duration::from_secs(200));
    /// let renewed = issuer.renew(&login.token).await?;
    /// assert_eq!(renewed.expires_at, 1_000_000 + 200 + 300);
    ///
    /// clock.advance(Duration::from_secs(400)); // the renewed token has expired too
    /// assert!(matches!(issuer.renew(&renewed.token).await, Err(RenewError::Invalid(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn renew(&self, token: &str) -> Result<IssuedToken, RenewError> {
        self.renew_for(token, None).await
    }

    /// [`renew`](Issuer::renew) a DPoP-bound token, for the key the request proved it holds:
    /// the successor stays bound to it. Behind the layer, which checked the request's proof,
    /// the key is in the request's extensions; outside it, [`dpop_key`](Issuer::dpop_key)
    /// checks the proof.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
    /// use tower_sliding_jwt::{Claims, DpopKey, DpopPolicy, JwtAuthLayer, ManualClock};
    ///
    /// let clock = ManualClock::new(1_800_000_000);
    /// let policy = DpopPolicy::new().public_origin("https://api.example.com");
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).clock(clock.clone()).dpop(policy).build()?;
    /// let issuer = layer.issuer();
    /// // `GET /update/token`, behind the layer.
    /// let update = service_fn(move |request: Request<()>| {
    ///     let issuer = issuer.clone();
    ///     async move {
    ///         let key = request.extensions().get::<DpopKey>().expect("a bound token").clone();
    ///         let claims = request.extensions().get::<Claims>().unwrap();
    ///         let renewed = issuer.renew_bound(claims.token().as_str(), &key).await.unwrap();
    ///         Ok::<_, Infallible>(Response::new(renewed.token_type))
    ///     }
    /// });
    /// let (tokens, key) = (TokenFactory::for_layer(&layer), DpopTestKey::new());
    /// let token = tokens.bound("alice", &(), &key)?;
    /// clock.advance(Duration::from_secs(60));
    /// let request = tokens.dpop_request(Request::get("/update/token"), &token, &key);
    /// let response = layer.layer(update).oneshot(request.body(())?).await?;
    /// assert_eq!(*response.body(), "DPoP");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn renew_bound(&self, token: &str, key: &DpopKey) -> Result<IssuedToken, RenewError> {
        self.renew_for(token, Some(key)).await
    }

    async fn renew_for(
        &self,
        token: &str,
        key: Option<&DpopKey>,
    ) -> Result<IssuedToken, RenewError> {
        let core = &self.core;
        let now = core.now();
        let (verified, _) =
            core.verify::<NoCustomClaims>(token, now).map_err(RenewError::Invalid)?;
        let claims = &verified.registered;
        // A bound token renews only for the key it is bound to, which the caller's request
        // proved it holds; without a key there is no proof to go on.
        match (claims.cnf_jkt.as_deref(), key) {
            (Some(jkt), Some(key)) if jkt == key.thumbprint() => {}
            (Some(_), Some(_)) => return Err(RenewError::Dpop(DpopError::WrongKey)),
            (None, Some(_)) => return Err(RenewError::Dpop(DpopError::UnboundToken)),
            (_, None) if claims.bound => {
                return Err(RenewError::Invalid(TokenError::SenderConstrained));
            }
            (_, None) => {}
        }
        let plan = renewable(claims, &verified.role, core.issuer.as_deref(), &core.lifetimes, now)?;
        if let Some(check) = &core.revocation {
            match verdict(&check.check(claims).await, core.revocation_failure) {
                Ok(()) => {}
                Err(Refusal::Token(reason)) => return Err(RenewError::Invalid(reason)),
                Err(Refusal::Unavailable) => return Err(RenewError::Unavailable),
            }
        }
        let payload = payload_of(token).ok_or(RenewError::Invalid(TokenError::Malformed))?;
        // Asked again after the revocation answer, which may have taken a while.
        let now = core.now();
        let (token, exp) = core.successor(&payload, claims.exp, &plan, now)?;
        Ok(IssuedToken {
            token,
            expires_in: u64::try_from(exp - now).unwrap_or(0),
            expires_at: exp,
            session_expires_at: plan.session_expires_at,
            token_type: if key.is_some() { "DPoP" } else { "Bearer" },
        })
    }

    /// Verify a token outside the layer (a WebSocket handshake, a message queue) with the same
    /// keys and claim rules, and read its claims. The revocation hook is not consulted here.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let token = issuer.issue("42", &())?.token;
    /// assert_eq!(issuer.verify::<NoCustomClaims>(&token)?.subject(), Some("42"));
    ///
    /// // Another token's claims under this token's signature.
    /// let (header, rest) = token.split_once('.').unwrap();
    /// let signature = rest.split_once('.').unwrap().1;
    /// let admin = issuer.issue("admin", &())?.token;
    /// let forged = format!("{header}.{}.{signature}", admin.split('.').nth(1).unwrap());
    /// let refused = issuer.verify::<NoCustomClaims>(&forged);
    /// assert!(matches!(refused, Err(TokenError::InvalidSignature)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify<C: DeserializeOwned + 'static>(
        &self,
        token: &str,
    ) -> Result<Claims<C>, TokenError> {
        let core = &self.core;
        let result = core.verify::<C>(token, core.now());
        // A rotation at an identity provider: fetched for the next call, not awaited here.
        #[cfg(feature = "jwks")]
        if matches!(result, Err(TokenError::UnknownKeyId | TokenError::AlgorithmMismatch)) {
            drop(core.refetch_keys());
        }
        let (verified, _) = result?;
        let vouched = verified.role.trusted_issuer();
        Ok(Claims::new(verified.registered, verified.custom, RawToken::copied(token), vouched))
    }

    /// The public keys of this service's own asymmetric keys (signing and previous) as a JWK Set,
    /// for a `/.well-known/jwks.json` route. HMAC secrets are never included.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_private.pem")?;
    /// let layer = JwtAuthLayer::builder()
    ///     .signing_key(Key::from_private_pem(Algorithm::EdDSA, &pem)?.with_kid("ed-2026"))
    ///     .build()?;
    /// let jwks = layer.issuer().jwks();
    /// assert_eq!(jwks.keys().len(), 1);
    /// assert_eq!(jwks.keys()[0].kid(), Some("ed-2026"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jwks(&self) -> JwkSet {
        let keys = self
            .core
            .keys
            .iter()
            .filter(|(_, role)| role.is_ours())
            .filter_map(|(key, _)| key.public_jwk())
            .collect();
        JwkSet::new(keys)
    }

    /// The `Set-Cookie` value that delivers `issued` to a browser, when the layer reads tokens
    /// from a cookie: the first cookie source's name, the policy's cookie attributes, and a
    /// `Max-Age` of the token's lifetime. `None` without a cookie source.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, TokenSource};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .token_sources([TokenSource::cookie("__Host-session")])
    ///     .build()?
    ///     .issuer();
    /// let login = issuer.issue("42", &())?;
    /// let set_cookie = issuer.set_cookie(&login).expect("a cookie source");
    /// assert!(set_cookie.is_sensitive(), "kept out of logs");
    /// let set_cookie = set_cookie.to_str()?;
    /// assert!(set_cookie.starts_with(&format!("__Host-session={}", login.token)));
    /// assert!(set_cookie.contains("Max-Age=300") && set_cookie.contains("HttpOnly"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_cookie(&self, issued: &IssuedToken) -> Option<HeaderValue> {
        let name = self.core.cookie_name()?;
        let max_age = issued.expires_at.saturating_sub(self.core.now());
        self.core.renewal.cookie.set_cookie(name, &issued.token, max_age)
    }

    /// The `Set-Cookie` value that deletes the token cookie (on logout): the first cookie
    /// source's name, an empty value, `Max-Age=0`, and the same `Path`, `Domain`, `Secure`,
    /// `HttpOnly` and `SameSite` as the cookies the layer sets, so the browser matches it with
    /// the cookie it holds. `None` without a cookie source.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::CookieSettings;
    /// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy, TokenSource};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_sources([TokenSource::cookie("session")])
    ///     .renewal(RenewalPolicy::new().cookie(CookieSettings::new().path("/app")))
    ///     .build()?
    ///     .issuer();
    /// let clear = issuer.clear_cookie().expect("a cookie source");
    /// let clear = clear.to_str()?;
    /// assert!(clear.starts_with("session=;"), "{clear}");
    /// assert!(clear.contains("Path=/app") && clear.contains("Max-Age=0"), "{clear}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clear_cookie(&self) -> Option<HeaderValue> {
        let name = self.core.cookie_name()?;
        self.core.renewal.cookie.set_cookie(name, "", 0)
    }

    /// The response half of a logout, once the session is revoked: `204 No Content` that no
    /// cache stores, that the layer does not renew ([`NoRenewal`](crate::NoRenewal)), and that
    /// deletes the token cookie when the layer reads one. With the `axum` feature it is a
    /// response itself; elsewhere, [`LoggedOut::into_response`].
    ///
    /// A complete logout revokes the session for as long as any of its tokens could be accepted
    /// ([`revocation_until`](Issuer::revocation_until)), then answers this:
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use axum::{Router, body::Body, extract::State, http::Request, routing::post};
    /// use tower::ServiceExt;
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    /// use tower_sliding_jwt::testing::TokenFactory;
    /// use tower_sliding_jwt::{Claims, Issuer, JwtAuthLayer, LoggedOut, TokenSource};
    ///
    /// #[derive(Clone)]
    /// struct App {
    ///     issuer: Issuer,
    ///     revocations: InMemoryRevocations,
    /// }
    ///
    /// async fn logout(State(app): State<App>, claims: Claims) -> LoggedOut {
    ///     if let Some(sid) = claims.session_id() {
    ///         app.revocations.revoke_session(sid, app.issuer.revocation_until(&claims));
    ///     }
    ///     app.issuer.logout()
    /// }
    ///
    /// let revocations = InMemoryRevocations::new();
    /// let auth = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .token_sources([TokenSource::cookie("session")])
    ///     .revocation(revocations.clone())
    ///     .build()?;
    /// let tokens = TokenFactory::for_layer(&auth);
    /// let app = Router::new()
    ///     .route("/logout", post(logout))
    ///     .layer(auth.clone())
    ///     .with_state(App { issuer: auth.issuer(), revocations });
    /// let token = tokens.in_renewal_window("alice", &())?;
    /// let call = |token: &str| {
    ///     let request = tokens.request(Request::post("/logout"), token).header("sec-fetch-site", "same-origin");
    ///     app.clone().oneshot(request.body(Body::empty()).unwrap())
    /// };
    /// let response = call(&token).await?;
    /// assert_eq!(response.status(), 204);
    /// assert_eq!(tokens.renewed(&response), None, "no renewal, though the token was in its window");
    /// assert!(response.headers()["set-cookie"].to_str()?.starts_with("session=;"));
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// assert_eq!(call(&token).await?.status(), 401, "the session is over");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn logout(&self) -> LoggedOut {
        LoggedOut { clear_cookie: self.clear_cookie() }
    }

    /// When the session of a token with these claims ends for good: its start (`auth_time`, or
    /// `iat`) plus the maximum session; for the client, say, to show when it must log in again.
    ///
    /// It is not how long to remember a logout: a token stays acceptable up to the leeway past
    /// its `exp`, and a third party's `auth_time` says nothing of its own tokens' lifetimes. Pass
    /// [`revocation_until`](Issuer::revocation_until) to the revocation store instead.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let login = issuer.issue("42", &())?;
    /// let claims = issuer.verify::<NoCustomClaims>(&login.token)?;
    /// // 24 hours after login by default: how long a logout must be remembered.
    /// assert_eq!(issuer.session_expires_at(claims.registered()), Some(login.session_expires_at));
    /// assert_eq!(login.session_expires_at - issuer.now(), 24 * 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_expires_at(&self, claims: &RegisteredClaims) -> Option<i64> {
        let start = claims.session_start()?;
        let max = claims.session_limit().unwrap_or(secs(self.core.lifetimes.session_limit));
        Some(start.saturating_add(max))
    }

    /// Until when a revocation of this token (by `jti`) or of its session (by `sid`) must be
    /// kept: the last moment any token it covers can still be accepted, plus a margin of
    /// [`STORE_CLOCK_MARGIN`](crate::revocation::STORE_CLOCK_MARGIN) for a store whose clock is
    /// behind ours.
    ///
    /// - A token of ours: its session limit (every renewal ends by then), or its `exp` if that
    ///   is later, plus the leeway.
    /// - A third party's token: its own `exp` plus the leeway; its provider's sessions are not
    ///   ours to know.
    ///
    /// ```
    /// use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationStatus, STORE_CLOCK_MARGIN};
    /// use tower_sliding_jwt::{DEFAULT_LEEWAY, JwtAuthLayer, NoCustomClaims};
    ///
    /// let revocations = InMemoryRevocations::new();
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .revocation(revocations.clone())
    ///     .build()?
    ///     .issuer();
    /// let login = issuer.issue("42", &())?;
    /// let claims = issuer.verify::<NoCustomClaims>(&login.token)?;
    /// let until = issuer.revocation_until(&claims);
    /// let margin = (DEFAULT_LEEWAY + STORE_CLOCK_MARGIN).as_secs() as i64;
    /// assert_eq!(until, login.session_expires_at + margin);
    /// revocations.revoke_session(claims.session_id().unwrap(), until);
    /// assert_eq!(revocations.status(claims.registered()), RevocationStatus::Revoked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn revocation_until<C>(&self, claims: &Claims<C>) -> i64 {
        let registered = claims.registered();
        let last = match claims.vouched_by() {
            VouchedBy::OwnKey => self
                .session_expires_at(registered)
                .map_or(registered.exp, |end| end.max(registered.exp)),
            VouchedBy::TrustedIssuer(_) => registered.exp,
        };
        last.saturating_add(self.core.rules.leeway)
            .saturating_add(secs(crate::revocation::STORE_CLOCK_MARGIN))
    }

    /// The current time on the configuration's clock.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, ManualClock};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .clock(ManualClock::new(1_800_000_000))
    ///     .build()?
    ///     .issuer();
    /// assert_eq!(issuer.now(), 1_800_000_000);
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn now(&self) -> i64 {
        self.core.now()
    }

    /// Whether the layer can decide requests now: every remote JWK Set within its maximum
    /// staleness, and the revocation store answering its
    /// [probe](crate::revocation::RevocationCheck::probe). For a health endpoint that a load
    /// balancer asks, answering `503` while it is not ready.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use axum::Router;
    /// use axum::extract::State;
    /// use axum::http::StatusCode;
    /// use axum::routing::get;
    /// use tower::ServiceExt;
    /// use tower_sliding_jwt::{Issuer, JwtAuthLayer};
    ///
    /// async fn health(State(issuer): State<Issuer>) -> (StatusCode, String) {
    ///     let readiness = issuer.readiness().await;
    ///     let status = match readiness.is_ready() {
    ///         true => StatusCode::OK,
    ///         false => StatusCode::SERVICE_UNAVAILABLE,
    ///     };
    ///     (status, readiness.to_string())
    /// }
    ///
    /// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?;
    /// let app = Router::new().route("/health", get(health)).with_state(layer.issuer());
    /// let response = app.oneshot(http::Request::get("/health").body(axum::body::Body::empty())?).await?;
    /// assert_eq!(response.status(), StatusCode::OK);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn readiness(&self) -> crate::readiness::Readiness {
        crate::readiness::check(&self.core).await
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.core.issuer)
            .field("signing_kid", &self.core.keys.signing().and_then(|k| k.kid()))
            .finish_non_exhaustive()
    }
}

impl Serialize for IssuedToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            token: &'a str,
            token_type: &'static str,
            expires_in: u64,
            session_expires_at: i64,
        }
        let wire = Wire {
            token: &self.token,
            token_type: self.token_type,
            expires_in: self.expires_in,
            session_expires_at: self.session_expires_at,
        };
        wire.serialize(serializer)
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("session_expires_at", &self.session_expires_at)
            .field("token_type", &self.token_type)
            .finish()
    }
}
