//! The client side: [`ClientTokenLayer`] sends the current token to one origin and keeps the
//! renewed one in a [`TokenStore`], for any Tower HTTP client (hyper-util's, a tonic `Channel`).
//!
//! ```
//! use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
//!
//! let store = TokenStore::new("https://api.example.com")?;
//! let layer = ClientTokenLayer::new(store.clone());
//! // After the login request: store.set(token). Renewals then land in the store by themselves.
//! # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll, ready};

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub use crate::dpop::DpopKeyPair;
use crate::error::InvalidOrigin;
use crate::headers::sensitive_value;
use crate::rejection::DPOP_NONCE;
use crate::renewal::REFRESHED_TOKEN_HEADER;

/// A client's current token for one origin, shared by everything that sends requests there.
/// Cloning shares it.
///
/// A store is bound to the origin (scheme, host, port) of the API that issued the token:
/// [`ClientTokenLayer`] attaches the token only to requests for that origin, and takes renewals
/// only from its responses, so a redirect or a call to another host never sees the token and
/// cannot plant one.
///
/// [`offer`](TokenStore::offer) keeps a renewed token only if it continues the current one: the
/// same `iss`, `sub` and session (`sid`; a token without one may gain one), a later `exp`, and a
/// lifetime (`exp - iat`) no longer than the current token's. Parallel requests may each bring a
/// renewal back, in any order; the one that expires last wins. The claims are read without
/// verification (the client has no key; the server verifies), which is why a renewal must look
/// like the token it replaces.
///
/// ```
/// use tower_sliding_jwt::client::TokenStore;
///
/// # fn token(iat: i64, exp: i64) -> String {
/// #     use base64::Engine as _;
/// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
/// #     let claims = format!(r#"{{"iss":"api","sub":"7","sid":"s","iat":{iat},"exp":{exp}}}"#);
/// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims))
/// # }
/// let store = TokenStore::new("https://api.example.com")?.with_token(token(0, 100));
/// assert!(store.offer(&token(60, 160)));  // a later renewal: kept
/// assert!(!store.offer(&token(30, 130))); // an older renewal arriving late: ignored
/// assert!(!store.offer(&token(60, i64::MAX))); // a lifetime longer than the session's: ignored
/// assert_eq!(store.token().as_deref(), Some(token(60, 160).as_str()));
/// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
/// ```
#[derive(Clone)]
pub struct TokenStore {
    origin: Arc<Origin>,
    current: Arc<RwLock<Option<Stored>>>,
    /// The last `DPoP-Nonce` the origin handed out: every client of the store signs with it.
    nonce: Arc<RwLock<Option<Arc<str>>>>,
}

/// What a DPoP request carries, for the client's own header type.
pub(crate) struct DpopSigned {
    /// `DPoP <token>`, unless there is no token yet (a login).
    pub(crate) authorization: Option<String>,
    /// The `DPoP` header: a proof for this request.
    pub(crate) proof: String,
    /// The server nonce the proof carries.
    pub(crate) nonce: Option<Arc<str>>,
}

struct Stored {
    token: Arc<str>,
    claims: Option<Unverified>,
}

/// The claims a client compares between a token and its renewal, read without verification.
#[derive(serde::Deserialize, Clone, PartialEq, Eq)]
struct Unverified {
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

impl Unverified {
    fn read(token: &str) -> Option<Unverified> {
        let payload = token.split('.').nth(1)?;
        let bytes = crate::base64url::decode(payload)?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether `next` may replace this token.
    fn continued_by(&self, next: &Unverified) -> bool {
        let same_session = match (&self.sid, &next.sid) {
            (Some(sid), next_sid) => Some(sid) == next_sid.as_ref(),
            (None, _) => true,
        };
        let lifetime = |claims: &Unverified| claims.iat.map(|iat| claims.exp.saturating_sub(iat));
        let not_longer = match (lifetime(self), lifetime(next)) {
            (Some(current), Some(next)) => next <= current,
            (None, _) => true,
            (Some(_), None) => false,
        };
        next.exp > self.exp
            && next.iss == self.iss
            && next.sub == self.sub
            && same_session
            && not_longer
    }
}

/// The scheme, host and port a store belongs to.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(text: &str) -> Result<Origin, InvalidOrigin> {
        let uri: Uri = text.parse().map_err(|_| InvalidOrigin)?;
        let scheme = uri.scheme_str().ok_or(InvalidOrigin)?.to_ascii_lowercase();
        let path_is_root = matches!(uri.path(), "" | "/") && uri.query().is_none();
        if !path_is_root {
            return Err(InvalidOrigin);
        }
        Origin::of(&uri, &scheme).ok_or(InvalidOrigin)
    }

    /// The origin of an absolute URI with this (lowercase) scheme.
    fn of(uri: &Uri, scheme: &str) -> Option<Origin> {
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = uri.authority()?;
        Some(Origin {
            scheme: scheme.to_owned(),
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default_port),
        })
    }

    /// `htu` for a request to `path` here, as RFC 3986 normalizes it (no default port): some
    /// servers compare it as a string.
    fn htu(&self, path: &str) -> String {
        let default = matches!((self.scheme.as_str(), self.port), ("http", 80) | ("https", 443));
        if default {
            format!("{}://{}{path}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}{path}", self.scheme, self.host, self.port)
        }
    }

    /// Whether a request to `uri` goes here. A URI without an authority (a path alone) goes
    /// wherever the wrapped client is bound to, such as a tonic `Channel` built for this origin.
    fn serves(&self, uri: &Uri) -> bool {
        if uri.authority().is_none() {
            return true;
        }
        let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
        Origin::of(uri, &scheme).is_some_and(|origin| origin == *self)
    }
}

impl TokenStore {
    /// An empty store for the API at `origin` (`https://host[:port]`); log in, then
    /// [`set`](TokenStore::set) the token.
    ///
    /// ```
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// assert!(TokenStore::new("https://api.example.com:8443").is_ok());
    /// assert!(TokenStore::new("https://api.example.com/v1").is_err(), "an origin has no path");
    /// assert!(TokenStore::new("https://user@api.example.com").is_err());
    /// ```
    pub fn new(origin: &str) -> Result<TokenStore, InvalidOrigin> {
        if origin.contains('@') {
            return Err(InvalidOrigin);
        }
        let origin = Arc::new(Origin::parse(origin)?);
        Ok(TokenStore { origin, current: Arc::default(), nonce: Arc::default() })
    }

    /// The store, holding `token`.
    ///
    /// ```
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://api.example.com")?.with_token(token(0, 100));
    /// assert_eq!(store.token().as_deref(), Some(token(0, 100).as_str()));
    /// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
    /// ```
    pub fn with_token(self, token: impl Into<String>) -> TokenStore {
        self.set(token);
        self
    }

    /// The current token.
    ///
    /// ```
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://api.example.com")?;
    /// assert_eq!(store.token(), None, "not logged in yet");
    /// store.set(token(0, 100));
    /// assert!(store.token().is_some());
    /// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
    /// ```
    pub fn token(&self) -> Option<Arc<str>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|stored| Arc::clone(&stored.token))
    }

    /// Replace the token unconditionally (after a login).
    ///
    /// ```
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://api.example.com")?.with_token(token(60, 160));
    /// // A new login replaces the token whatever it holds, unlike a renewal.
    /// store.set(token(0, 100));
    /// assert_eq!(store.token().as_deref(), Some(token(0, 100).as_str()));
    /// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
    /// ```
    pub fn set(&self, token: impl Into<String>) {
        let token: String = token.into();
        let claims = Unverified::read(&token);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Some(Stored { token: Arc::from(token), claims });
    }

    /// Keep `token` if it continues the current one (see above). Returns whether it was kept.
    /// An empty store keeps nothing: a renewal renews something.
    ///
    /// ```
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://api.example.com")?;
    /// assert!(!store.offer(&token(0, 100)), "nothing to renew yet");
    /// store.set(token(0, 100));
    /// assert!(store.offer(&token(60, 160)));
    /// assert!(!store.offer("not a token"));
    /// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
    /// ```
    pub fn offer(&self, token: &str) -> bool {
        let Some(next) = Unverified::read(token) else {
            return false;
        };
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let continues = current
            .as_ref()
            .and_then(|stored| stored.claims.as_ref())
            .is_some_and(|claims| claims.continued_by(&next));
        if continues {
            *current = Some(Stored { token: Arc::from(token), claims: Some(next) });
        }
        continues
    }

    /// [`offer`](TokenStore::offer) the renewed token of a response, if it carries one in
    /// `header` (`x-refreshed-token` by default), and keep its DPoP nonce (`DPoP-Nonce`), if
    /// any, for the next proofs. Only for responses from the store's origin.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderName};
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://api.example.com")?.with_token(token(0, 100));
    /// let renewal = HeaderName::from_static("x-refreshed-token");
    /// let mut headers = HeaderMap::new();
    /// assert!(!store.offer_from_headers(&headers, &renewal), "no renewal in this response");
    /// headers.insert(&renewal, token(60, 160).parse().unwrap());
    /// assert!(store.offer_from_headers(&headers, &renewal));
    /// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
    /// ```
    pub fn offer_from_headers(&self, headers: &HeaderMap, header: &HeaderName) -> bool {
        if let Some(nonce) = headers.get(DPOP_NONCE).and_then(|v| v.to_str().ok()) {
            self.keep_nonce(nonce);
        }
        headers.get(header).and_then(|v| v.to_str().ok()).is_some_and(|token| self.offer(token))
    }

    /// Forget the token (after a logout).
    ///
    /// ```
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://api.example.com")?.with_token(token(0, 100));
    /// store.clear(); // logged out
    /// assert_eq!(store.token(), None);
    /// assert!(!store.offer(&token(60, 160)), "a late renewal does not log back in");
    /// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
    /// ```
    pub fn clear(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Whether a request to `uri` is for this store's origin.
    pub(crate) fn serves(&self, uri: &Uri) -> bool {
        self.origin.serves(uri)
    }

    /// The `Authorization` value for the current token.
    pub(crate) fn authorization(&self) -> Option<HeaderValue> {
        let token = self.token()?;
        sensitive_value(format!("Bearer {token}"))
    }

    /// The DPoP headers of a request to `path` here: `DPoP <token>` with the current token (if
    /// any: a login has none) and a fresh proof of `key` for both, with the latest nonce.
    pub(crate) fn dpop_signed(&self, key: &DpopKeyPair, method: &Method, path: &str) -> DpopSigned {
        let token = self.token();
        let nonce = self.nonce();
        let htu = self.origin.htu(path);
        let proof = key.proof(method, &htu, token.as_deref(), nonce.as_deref());
        DpopSigned { authorization: token.map(|token| format!("DPoP {token}")), proof, nonce }
    }

    /// Sign a request for DPoP with `key`; returns the nonce its proof carries.
    fn sign(&self, key: &DpopKeyPair, parts: &mut Parts) -> Option<Arc<str>> {
        let signed = self.dpop_signed(key, &parts.method, parts.uri.path());
        if let Some(value) = signed.authorization.and_then(sensitive_value) {
            parts.headers.insert(AUTHORIZATION, value);
        }
        if let Some(value) = sensitive_value(signed.proof) {
            parts.headers.insert(DPOP, value);
        }
        signed.nonce
    }

    /// The last server nonce the origin handed out.
    fn nonce(&self) -> Option<Arc<str>> {
        self.nonce.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Keep `given`, a response's `DPoP-Nonce`: the next proofs carry it.
    pub(crate) fn keep_nonce(&self, given: &str) {
        let mut nonce = self.nonce.write().unwrap_or_else(PoisonError::into_inner);
        if nonce.as_deref() != Some(given) {
            *nonce = Some(Arc::from(given));
        }
    }
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        let exp = current.as_ref().and_then(|stored| stored.claims.as_ref()).map(|c| c.exp);
        f.debug_struct("TokenStore")
            .field("origin", &self.origin)
            .field("token", &current.as_ref().map(|_| "[redacted]"))
            .field("exp", &exp)
            .finish()
    }
}

/// A client-side layer (hyper-util's client, a tonic `Channel`, any Tower HTTP client): adds
/// `Authorization: Bearer <token>` from a [`TokenStore`] to each request for the store's origin
/// that has none, and offers the renewed token of each such response back to the store. Requests
/// to any other origin pass untouched, and their responses are not read. A request whose URI is
/// a path alone goes wherever the wrapped client is bound (a tonic `Channel`), so it counts as
/// the store's origin. The client never handles renewal itself.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use http::{Request, Response};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
/// use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
///
/// let store = TokenStore::new("https://api.example.com")?.with_token("header.payload.signature");
/// let client = ServiceBuilder::new()
///     .layer(ClientTokenLayer::new(store.clone()))
///     .service(service_fn(|request: Request<String>| async move {
///         let sent = request.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned());
///         Ok::<_, std::convert::Infallible>(Response::new(sent))
///     }));
/// let ours = Request::get("https://api.example.com/me").body(String::new())?;
/// let response = client.clone().oneshot(ours).await?;
/// assert_eq!(response.body().as_deref(), Some("Bearer header.payload.signature"));
///
/// let elsewhere = Request::get("https://cdn.example.net/logo.png").body(String::new())?;
/// assert_eq!(client.oneshot(elsewhere).await?.body(), &None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ClientTokenLayer {
    store: TokenStore,
    header: HeaderName,
    dpop: Option<Arc<DpopKeyPair>>,
}

/// The `DPoP` request header (RFC 9449 section 4.1).
const DPOP: HeaderName = HeaderName::from_static("dpop");

/// Whether a response refuses a proof for want of the server's nonce (RFC 9449 section 9).
fn asks_for_nonce(headers: &HeaderMap, status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED
        && headers.get_all(WWW_AUTHENTICATE).iter().any(|challenge| {
            challenge.to_str().is_ok_and(|text| text.contains("error=\"use_dpop_nonce\""))
        })
}

impl ClientTokenLayer {
    /// Send and update the token in `store`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, header::AUTHORIZATION};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// // A stand-in for the API: it checks the token and sends a renewal back.
    /// let api = service_fn(|request: Request<String>| async move {
    ///     assert_eq!(request.headers()[AUTHORIZATION], format!("Bearer {}", token(0, 100)));
    ///     let mut response = Response::new(());
    ///     response.headers_mut().insert("x-refreshed-token", token(60, 160).parse().unwrap());
    ///     Ok::<_, Infallible>(response)
    /// });
    /// let store = TokenStore::new("https://api.example.com")?.with_token(token(0, 100));
    /// let client = ClientTokenLayer::new(store.clone()).layer(api);
    /// client.oneshot(Request::get("https://api.example.com/orders").body(String::new())?).await?;
    /// assert_eq!(store.token().as_deref(), Some(token(60, 160).as_str()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn new(store: TokenStore) -> ClientTokenLayer {
        ClientTokenLayer { store, header: REFRESHED_TOKEN_HEADER, dpop: None }
    }

    /// Sender-constrained tokens (RFC 9449): every request to the store's origin carries
    /// `Authorization: DPoP <token>` and a fresh proof signed with `key` (its method, the
    /// origin and path, now, a new `jti`, the token's hash and the server's latest nonce). A
    /// login request through the layer carries a proof too, so the server can bind the token
    /// to the key. When the server asks for a new nonce (`use_dpop_nonce`), a request without a
    /// body is sent once more with it; any other request returns the refusal, and the next one
    /// carries the nonce. A copied token is worthless without the key.
    ///
    /// The server's nonce is kept in the store, so every client of the store signs with it.
    /// For gRPC, put this layer on the `Channel`, or use
    /// [`TokenInterceptor::dpop`](crate::tonic::TokenInterceptor::dpop).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::Algorithm;
    /// use tower_sliding_jwt::client::{ClientTokenLayer, DpopKeyPair, TokenStore};
    ///
    /// let api = service_fn(|request: Request<String>| async move {
    ///     assert_eq!(request.headers()["authorization"], "DPoP header.payload.signature");
    ///     assert_eq!(request.headers()["dpop"].to_str().unwrap().split('.').count(), 3);
    ///     Ok::<_, Infallible>(Response::new(()))
    /// });
    /// let store = TokenStore::new("https://api.example.com")?.with_token("header.payload.signature");
    /// let client = ClientTokenLayer::new(store).dpop(DpopKeyPair::generate(Algorithm::EdDSA)?).layer(api);
    /// client.oneshot(Request::get("https://api.example.com/orders").body(String::new())?).await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn dpop(mut self, key: DpopKeyPair) -> ClientTokenLayer {
        self.dpop = Some(Arc::new(key));
        self
    }

    /// The response header renewed tokens arrive in (default `x-refreshed-token`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{HeaderName, Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let api = service_fn(|_: Request<String>| async {
    ///     let mut response = Response::new(());
    ///     response.headers_mut().insert("x-new-token", token(60, 160).parse().unwrap());
    ///     Ok::<_, Infallible>(response)
    /// });
    /// let store = TokenStore::new("https://api.example.com")?.with_token(token(0, 100));
    /// let client = ClientTokenLayer::new(store.clone())
    ///     .renewal_header(HeaderName::from_static("x-new-token"))
    ///     .layer(api);
    /// client.oneshot(Request::get("https://api.example.com/").body(String::new())?).await?;
    /// assert_eq!(store.token().as_deref(), Some(token(60, 160).as_str()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn renewal_header(mut self, header: HeaderName) -> ClientTokenLayer {
        self.header = header;
        self
    }
}

impl<S> Layer<S> for ClientTokenLayer {
    type Service = ClientToken<S>;

    fn layer(&self, inner: S) -> ClientToken<S> {
        ClientToken {
            inner,
            store: self.store.clone(),
            header: self.header.clone(),
            dpop: self.dpop.clone(),
        }
    }
}

/// The service made by [`ClientTokenLayer`].
///
/// ```
/// use tower::Layer;
/// use tower_sliding_jwt::client::{ClientToken, ClientTokenLayer, TokenStore};
///
/// let store = TokenStore::new("https://api.example.com")?;
/// let client: ClientToken<_> = ClientTokenLayer::new(store).layer(tower::service_fn(
///     |_: http::Request<String>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) },
/// ));
/// # Ok::<(), tower_sliding_jwt::error::InvalidOrigin>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientToken<S> {
    inner: S,
    store: TokenStore,
    header: HeaderName,
    dpop: Option<Arc<DpopKeyPair>>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientToken<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Body + Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Another origin never sees the token, and cannot plant one.
        let ours = self.store.serves(request.uri());
        let (mut parts, body) = request.into_parts();
        let mut retry = None;
        if ours && !parts.headers.contains_key(AUTHORIZATION) {
            match &self.dpop {
                Some(dpop) => {
                    // Sent again only if nothing is lost: a request without a body.
                    let unsigned = body.is_end_stream().then(|| parts.clone());
                    let sent = self.store.sign(dpop, &mut parts);
                    retry =
                        unsigned.map(|parts| Retry { service: self.inner.clone(), parts, sent });
                }
                None => {
                    if let Some(value) = self.store.authorization() {
                        parts.headers.insert(AUTHORIZATION, value);
                    }
                }
            }
        }
        ResponseFuture {
            inner: self.inner.call(Request::from_parts(parts, body)),
            store: ours.then(|| self.store.clone()),
            header: self.header.clone(),
            dpop: self.dpop.clone().filter(|_| ours),
            retry,
            resend: None,
        }
    }
}

/// What a request needs to be sent once more with the server's new nonce.
struct Retry<S> {
    service: S,
    /// As the caller sent it, before signing.
    parts: Parts,
    /// The nonce the first proof carried.
    sent: Option<Arc<str>>,
}

pin_project! {
    /// The response future of [`ClientToken`]: offers the renewed token to the store (for a
    /// request to the store's origin), and with DPoP keeps the server's nonce and sends a
    /// request without a body once more when the server asks for a new one.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, Service, ServiceExt, service_fn};
    /// use tower_sliding_jwt::client::{ClientTokenLayer, ResponseFuture, TokenStore};
    ///
    /// let api = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let store = TokenStore::new("https://api.example.com")?;
    /// let mut client = ClientTokenLayer::new(store).layer(api);
    /// let request = Request::get("https://api.example.com/").body(String::new())?;
    /// let future: ResponseFuture<_, _> = client.ready().await?.call(request);
    /// assert_eq!(future.await?.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        inner: S::Future,
        store: Option<TokenStore>,
        header: HeaderName,
        dpop: Option<Arc<DpopKeyPair>>,
        retry: Option<Retry<S>>,
        resend: Option<(S, Request<ReqBody>)>,
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Default,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            if let Some((service, _)) = this.resend.as_mut() {
                ready!(service.poll_ready(cx))?;
                let (mut service, request) = this.resend.take().expect("just seen");
                this.inner.set(service.call(request));
            }
            let response = ready!(this.inner.as_mut().poll(cx))?;
            if let Some(store) = this.store {
                store.offer_from_headers(response.headers(), this.header);
            }
            let (Some(dpop), Some(store)) = (this.dpop.as_ref(), this.store.as_ref()) else {
                return Poll::Ready(Ok(response));
            };
            if asks_for_nonce(response.headers(), response.status())
                && let Some(retry) = this.retry.take()
            {
                let now = store.nonce();
                // Only a nonce other than the one just refused can help.
                if now.is_some() && now != retry.sent {
                    let mut parts = retry.parts;
                    store.sign(dpop, &mut parts);
                    let request = Request::from_parts(parts, ReqBody::default());
                    *this.resend = Some((retry.service, request));
                    continue;
                }
            }
            return Poll::Ready(Ok(response));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The claims of the proof a store signs now for `GET /orders`.
    fn proof_claims(store: &TokenStore, key: &DpopKeyPair) -> serde_json::Value {
        let signed = store.dpop_signed(key, &Method::GET, "/orders");
        let claims = signed.proof.split('.').nth(1).and_then(crate::base64url::decode).unwrap();
        serde_json::from_slice(&claims).unwrap()
    }

    /// The server's nonce, from any response of the origin, goes into every later proof of
    /// every client of the store; `htu` is the store's origin and the request's path.
    #[test]
    fn the_store_keeps_the_servers_nonce_for_every_proof() {
        let store = store().with_token(session("s", 0));
        let key = DpopKeyPair::generate(crate::Algorithm::EdDSA).unwrap();
        let first = proof_claims(&store, &key);
        assert_eq!(first["htu"], "https://api.example.com/orders", "without the default port");
        let elsewhere = TokenStore::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(proof_claims(&elsewhere, &key)["htu"], "http://127.0.0.1:8080/orders");
        assert_eq!(first.get("nonce"), None, "no nonce handed out yet");
        let mut headers = HeaderMap::new();
        headers.insert(DPOP_NONCE, HeaderValue::from_static("n-1"));
        assert!(!store.offer_from_headers(&headers, &REFRESHED_TOKEN_HEADER), "no renewal");
        assert_eq!(proof_claims(&store.clone(), &key)["nonce"], "n-1");
        headers.insert(DPOP_NONCE, HeaderValue::from_static("n-2"));
        store.offer_from_headers(&headers, &REFRESHED_TOKEN_HEADER);
        assert_eq!(proof_claims(&store, &key)["nonce"], "n-2", "the latest one");
        let signed = store.dpop_signed(&key, &Method::GET, "/orders");
        assert_eq!(signed.authorization, Some(format!("DPoP {}", session("s", 0))));
    }

    fn token(claims: &str) -> String {
        format!("e30.{}.c2ln", crate::base64url::encode(claims.as_bytes()))
    }

    /// A token of the session `sid` issued at `iat`, living 100 s.
    fn session(sid: &str, iat: i64) -> String {
        token(&format!(
            r#"{{"iss":"api","sub":"7","sid":"{sid}","iat":{iat},"exp":{}}}"#,
            iat + 100
        ))
    }

    fn store() -> TokenStore {
        TokenStore::new("https://api.example.com").unwrap()
    }

    #[test]
    fn keeps_only_renewals_that_continue_the_token() {
        let store = store();
        assert!(store.token().is_none());
        assert!(!store.offer(&session("s", 0)), "an empty store renews nothing");
        store.set(session("s", 0));
        assert!(!store.offer(&session("s", 0)), "not later");
        assert!(!store.offer("garbage"), "unreadable tokens are ignored");
        assert!(store.offer(&session("s", 10)));
        assert!(!store.offer(&session("other", 20)), "another session");
        let other_sub = r#"{"iss":"api","sub":"8","sid":"s","iat":20,"exp":120}"#;
        let other_iss = r#"{"iss":"evil","sub":"7","sid":"s","iat":20,"exp":120}"#;
        let pinned = format!(r#"{{"iss":"api","sub":"7","sid":"s","iat":20,"exp":{}}}"#, i64::MAX);
        let no_iat = r#"{"iss":"api","sub":"7","sid":"s","exp":120}"#;
        for refused in [other_sub, other_iss, &pinned, no_iat] {
            assert!(!store.offer(&token(refused)), "{refused}");
        }
        assert_eq!(store.token().as_deref(), Some(session("s", 10).as_str()));
        // A token without a session id may gain one (its first renewal starts the session).
        store.set(token(r#"{"iss":"api","sub":"7","iat":0,"exp":100}"#));
        assert!(store.offer(&session("new", 10)));
        store.set(session("s", 0));
        assert_eq!(
            store.token().as_deref(),
            Some(session("s", 0).as_str()),
            "set is unconditional"
        );
        store.clear();
        assert!(store.token().is_none());
    }

    #[test]
    fn origins() {
        for bad in [
            "api.example.com",
            "ftp://api.example.com",
            "https://api.example.com/path",
            "https://api.example.com/?q",
            "https://user@api.example.com",
            "https://",
        ] {
            assert_eq!(TokenStore::new(bad).err(), Some(InvalidOrigin), "{bad}");
        }
        let store = TokenStore::new("HTTPS://API.example.com/").unwrap();
        let serves = |uri: &str| store.serves(&uri.parse().unwrap());
        assert!(serves("https://api.example.com/x?y"));
        assert!(serves("https://api.EXAMPLE.com:443/x"));
        assert!(serves("/relative/path"));
        assert!(!serves("http://api.example.com/x"), "another scheme");
        assert!(!serves("https://api.example.com:8443/x"), "another port");
        assert!(!serves("https://api.example.com.evil.net/x"));
        assert!(!serves("https://evil.net/x"));
    }

    #[test]
    fn debug_hides_the_token() {
        let store = store().with_token(session("s", 99));
        let debug = format!("{store:?}");
        assert!(!debug.contains("e30"), "{debug}");
        assert!(debug.contains("199"));
    }

    #[test]
    fn reads_the_renewal_header() {
        let store = store().with_token(session("s", 0));
        let mut headers = HeaderMap::new();
        assert!(!store.offer_from_headers(&headers, &REFRESHED_TOKEN_HEADER));
        let renewed = session("s", 20);
        headers.insert(REFRESHED_TOKEN_HEADER, HeaderValue::try_from(renewed.as_str()).unwrap());
        assert!(store.offer_from_headers(&headers, &REFRESHED_TOKEN_HEADER));
        assert_eq!(store.authorization().unwrap(), format!("Bearer {renewed}").as_str());
        assert!(store.authorization().unwrap().is_sensitive());
    }
}
