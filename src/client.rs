//! The client side: send the current token, keep the renewed one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::refresh::{REFRESHED_TOKEN_HEADER, sensitive_value};

/// A client's current token, shared by everything that sends requests. Cloning shares it.
///
/// [`offer`](TokenStore::offer) keeps whichever token expires last, which is exactly what a
/// client must do with renewed tokens: parallel requests may each bring one back, in any order.
/// The `exp` is read without verification (the client has no key; the server verifies).
///
/// ```
/// use tower_sliding_jwt::TokenStore;
///
/// # fn token(exp: i64) -> String {
/// #     use base64::Engine as _;
/// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
/// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(format!(r#"{{"exp":{exp}}}"#)))
/// # }
/// let store = TokenStore::with_token(token(100));
/// assert!(store.offer(&token(160)));  // later: kept
/// assert!(!store.offer(&token(130))); // an older renewal arriving late: ignored
/// assert_eq!(store.token().as_deref(), Some(token(160).as_str()));
/// ```
#[derive(Clone, Default)]
pub struct TokenStore {
    current: Arc<RwLock<Option<Stored>>>,
}

struct Stored {
    token: Arc<str>,
    exp: Option<i64>,
}

impl TokenStore {
    /// An empty store (log in, then [`set`](TokenStore::set)).
    pub fn new() -> TokenStore {
        TokenStore::default()
    }

    /// A store holding `token`.
    pub fn with_token(token: impl Into<String>) -> TokenStore {
        let store = TokenStore::new();
        store.set(token);
        store
    }

    /// The current token.
    pub fn token(&self) -> Option<Arc<str>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|stored| Arc::clone(&stored.token))
    }

    /// Replace the token unconditionally (after a login).
    pub fn set(&self, token: impl Into<String>) {
        let token: String = token.into();
        let exp = unverified_exp(&token);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Some(Stored { token: Arc::from(token), exp });
    }

    /// Keep `token` if it expires later than the current one. Returns whether it was kept.
    pub fn offer(&self, token: &str) -> bool {
        let Some(exp) = unverified_exp(token) else {
            return false;
        };
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let newer = match current.as_ref() {
            Some(stored) => stored.exp.is_none_or(|old| exp > old),
            None => true,
        };
        if newer {
            *current = Some(Stored { token: Arc::from(token), exp: Some(exp) });
        }
        newer
    }

    /// [`offer`](TokenStore::offer) the renewed token of a response, if it carries one in
    /// `header` (`x-refreshed-token` by default).
    pub fn offer_from_headers(&self, headers: &HeaderMap, header: &HeaderName) -> bool {
        headers.get(header).and_then(|v| v.to_str().ok()).is_some_and(|token| self.offer(token))
    }

    /// Forget the token (after a logout).
    pub fn clear(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The `Authorization` value for the current token.
    pub(crate) fn authorization(&self) -> Option<HeaderValue> {
        let token = self.token()?;
        sensitive_value(format!("Bearer {token}"))
    }
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("TokenStore")
            .field("token", &current.as_ref().map(|_| "[redacted]"))
            .field("exp", &current.as_ref().and_then(|stored| stored.exp))
            .finish()
    }
}

/// `exp` of a compact JWS, read without verification.
fn unverified_exp(token: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Exp {
        exp: i64,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Exp>(&bytes).ok().map(|claims| claims.exp)
}

/// A client-side layer (hyper-util's client, a tonic `Channel`, any Tower HTTP client): adds
/// `Authorization: Bearer <token>` from a [`TokenStore`] to each request that has none, and
/// offers the renewed token of each response back to the store. The client never handles
/// renewal itself.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use http::{Request, Response};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
/// use tower_sliding_jwt::{ClientTokenLayer, TokenStore};
///
/// let store = TokenStore::with_token("header.payload.signature");
/// let client = ServiceBuilder::new()
///     .layer(ClientTokenLayer::new(store.clone()))
///     .service(service_fn(|request: Request<()>| async move {
///         assert_eq!(request.headers()["authorization"], "Bearer header.payload.signature");
///         Ok::<_, std::convert::Infallible>(Response::new(()))
///     }));
/// client.oneshot(Request::new(())).await.unwrap();
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ClientTokenLayer {
    store: TokenStore,
    header: HeaderName,
}

impl ClientTokenLayer {
    /// Send and update the token in `store`.
    pub fn new(store: TokenStore) -> ClientTokenLayer {
        ClientTokenLayer { store, header: REFRESHED_TOKEN_HEADER }
    }

    /// The response header renewed tokens arrive in (default `x-refreshed-token`).
    pub fn renewal_header(mut self, header: HeaderName) -> ClientTokenLayer {
        self.header = header;
        self
    }
}

impl<S> Layer<S> for ClientTokenLayer {
    type Service = ClientToken<S>;

    fn layer(&self, inner: S) -> ClientToken<S> {
        ClientToken { inner, store: self.store.clone(), header: self.header.clone() }
    }
}

/// The service made by [`ClientTokenLayer`].
#[derive(Debug, Clone)]
pub struct ClientToken<S> {
    inner: S,
    store: TokenStore,
    header: HeaderName,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientToken<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ClientTokenFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if !request.headers().contains_key(AUTHORIZATION)
            && let Some(value) = self.store.authorization()
        {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        ClientTokenFuture {
            inner: self.inner.call(request),
            store: self.store.clone(),
            header: self.header.clone(),
        }
    }
}

pin_project! {
    /// The response future of [`ClientToken`]: offers the renewed token to the store.
    pub struct ClientTokenFuture<F> {
        #[pin]
        inner: F,
        store: TokenStore,
        header: HeaderName,
    }
}

impl<F, ResBody, E> Future for ClientTokenFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        this.store.offer_from_headers(response.headers(), this.header);
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(exp: i64) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#)))
    }

    #[test]
    fn keeps_the_latest_expiry() {
        let store = TokenStore::new();
        assert!(store.token().is_none());
        assert!(store.offer(&token(10)));
        assert!(!store.offer(&token(10)), "not later");
        assert!(!store.offer("garbage"), "unreadable tokens are ignored");
        assert!(store.offer(&token(11)));
        store.set(token(5));
        assert_eq!(store.token().as_deref(), Some(token(5).as_str()), "set is unconditional");
        store.clear();
        assert!(store.token().is_none());
    }

    #[test]
    fn debug_hides_the_token() {
        let store = TokenStore::with_token(token(99));
        let debug = format!("{store:?}");
        assert!(!debug.contains("e30"), "{debug}");
        assert!(debug.contains("99"));
    }

    #[test]
    fn reads_the_renewal_header() {
        let store = TokenStore::with_token(token(10));
        let mut headers = HeaderMap::new();
        assert!(!store.offer_from_headers(&headers, &REFRESHED_TOKEN_HEADER));
        headers.insert(REFRESHED_TOKEN_HEADER, HeaderValue::try_from(token(20)).unwrap());
        assert!(store.offer_from_headers(&headers, &REFRESHED_TOKEN_HEADER));
        assert_eq!(store.authorization().unwrap(), format!("Bearer {}", token(20)).as_str());
    }
}
