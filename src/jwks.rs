//! Keys from a remote JWK Set, for services that only verify (feature `jwks`).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error::KeyError;
use crate::keys::{Key, KeyRole, KeySet};

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A JWK Set fetched from a URL (an identity provider's `jwks_uri`), kept fresh in the
/// background. Its keys verify tokens like [trusted keys](crate::JwtAuthBuilder::trusted_key):
/// they are never used to sign, and their tokens never renew.
///
/// - The set is fetched once when built (an unreachable URL is an error at start-up), then every
///   `refresh_every` (default 5 minutes) by a background task, which ends when the last handle
///   is dropped.
/// - A token whose `kid` the set does not know triggers one refetch, at most once per
///   `min_refetch_interval` (default 30 s) however many such tokens arrive: a key rotation is
///   picked up at once, and a flood of made-up `kid`s cannot turn into a flood of fetches. The
///   token itself is refused; a client retrying after the refetch succeeds.
/// - Requests read an immutable snapshot (one `Arc` clone): no lock is held while fetching.
/// - When a refetch fails, the last good set stays in use.
/// - Only `https` URLs, unless [`allow_http`](RemoteJwksBuilder::allow_http) (for loopback
///   tests); responses over 1 MiB are refused.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_sliding_jwt::{JwtAuthLayer, RefreshMode, RefreshPolicy, RemoteJwks};
///
/// let jwks = RemoteJwks::builder("https://login.example.com/.well-known/jwks.json").fetch().await?;
/// let layer = JwtAuthLayer::builder()
///     .remote_jwks(jwks)
///     .issuer("https://login.example.com")
///     // A verify-only service: renewal is the identity provider's business.
///     .refresh(RefreshPolicy::new().mode(RefreshMode::Disabled))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

struct Inner {
    url: Uri,
    client: HttpClient,
    keys: RwLock<Arc<KeySet>>,
    /// Incremented whenever the set changes (the verified-token cache keys on it).
    generation: AtomicU64,
    refetching: AtomicBool,
    /// Milliseconds since `started` of the last fetch attempt.
    last_fetch: AtomicU64,
    started: Instant,
    min_refetch_interval: Duration,
    timeout: Duration,
}

/// Configures a [`RemoteJwks`].
#[derive(Debug, Clone)]
pub struct RemoteJwksBuilder {
    url: String,
    refresh_every: Duration,
    min_refetch_interval: Duration,
    timeout: Duration,
    allow_http: bool,
}

/// Why a JWK Set could not be fetched.
#[derive(Debug)]
#[non_exhaustive]
pub enum JwksError {
    /// The URL is not a valid absolute URL.
    InvalidUrl,
    /// The URL is plain `http` and [`RemoteJwksBuilder::allow_http`] was not set.
    Insecure,
    /// The request failed (connection, TLS, timeout).
    Transport(String),
    /// The server answered with this status.
    Status(u16),
    /// The document is over 1 MiB.
    TooLarge,
    /// The document is not a usable JWK Set.
    Keys(KeyError),
}

const MAX_DOCUMENT_BYTES: usize = 1 << 20;

impl RemoteJwks {
    /// Start configuring a JWK Set at `url`.
    pub fn builder(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            url: url.into(),
            refresh_every: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            allow_http: false,
        }
    }

    /// The keys now.
    pub(crate) fn snapshot(&self) -> Arc<KeySet> {
        Arc::clone(&self.inner.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes whenever the set changes.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// How many keys the set holds now.
    pub fn key_count(&self) -> usize {
        self.snapshot().iter().count()
    }

    /// A token named a `kid` the set does not know: refetch in the background, unless a fetch
    /// is running or the last one was less than the minimum interval ago.
    pub(crate) fn unknown_kid(&self) {
        let inner = &self.inner;
        let since = inner.started.elapsed().as_millis() as u64;
        let last = inner.last_fetch.load(Ordering::Acquire);
        if since.saturating_sub(last) < inner.min_refetch_interval.as_millis() as u64 {
            return;
        }
        if inner.refetching.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            inner.refetching.store(false, Ordering::Release);
            return;
        };
        let inner = Arc::clone(inner);
        runtime.spawn(async move {
            refresh(&inner).await;
            inner.refetching.store(false, Ordering::Release);
        });
    }
}

impl RemoteJwksBuilder {
    /// How often the set is fetched again in the background. Default 5 minutes.
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every;
        self
    }

    /// The least time between two refetches caused by unknown `kid`s. Default 30 s.
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// The timeout of one fetch. Default 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Accept a plain `http` URL. Keys fetched over plain HTTP can be replaced by anyone on the
    /// path: only for loopback and tests.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Fetch the set once and start the background refresh. Must run inside a Tokio runtime.
    pub async fn fetch(self) -> Result<RemoteJwks, JwksError> {
        let url: Uri = self.url.parse().map_err(|_| JwksError::InvalidUrl)?;
        match url.scheme_str() {
            Some("https") => {}
            Some("http") if self.allow_http => {}
            Some("http") => return Err(JwksError::Insecure),
            _ => return Err(JwksError::InvalidUrl),
        }
        if url.host().is_none() {
            return Err(JwksError::InvalidUrl);
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let keys = download(&client, &url, self.timeout).await?;
        let inner = Arc::new(Inner {
            url,
            client,
            keys: RwLock::new(Arc::new(keys)),
            generation: AtomicU64::new(1),
            refetching: AtomicBool::new(false),
            last_fetch: AtomicU64::new(0),
            started: Instant::now(),
            min_refetch_interval: self.min_refetch_interval,
            timeout: self.timeout,
        });
        tokio::spawn(refresh_periodically(Arc::downgrade(&inner), self.refresh_every));
        Ok(RemoteJwks { inner })
    }
}

async fn refresh_periodically(inner: Weak<Inner>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(inner) = inner.upgrade() else { return };
        refresh(&inner).await;
    }
}

/// Fetch the set again; keep the old one if that fails.
async fn refresh(inner: &Inner) {
    inner.last_fetch.store(inner.started.elapsed().as_millis() as u64, Ordering::Release);
    match download(&inner.client, &inner.url, inner.timeout).await {
        Ok(keys) => {
            *inner.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
            inner.generation.fetch_add(1, Ordering::AcqRel);
            tracing::debug!(target: "tower_sliding_jwt", url = %inner.url, "JWK Set refreshed");
        }
        Err(error) => {
            tracing::warn!(target: "tower_sliding_jwt", url = %inner.url, %error, "JWK Set refresh failed; keeping the last set");
        }
    }
}

async fn download(client: &HttpClient, url: &Uri, timeout: Duration) -> Result<KeySet, JwksError> {
    let fetch = async {
        let response =
            client.get(url.clone()).await.map_err(|e| JwksError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
            .collect()
            .await
            .map_err(|_| JwksError::TooLarge)?
            .to_bytes();
        let text = std::str::from_utf8(&body)
            .map_err(|_| JwksError::Keys(KeyError::InvalidJwk("not UTF-8")))?;
        let keys = Key::from_jwk_set_json(text).map_err(JwksError::Keys)?;
        Ok(KeySet::new(keys.into_iter().map(|key| (key, KeyRole::Trusted)).collect()))
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| JwksError::Transport("timed out".to_owned()))?
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url)
            .field("keys", &self.key_count())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::InvalidUrl => f.write_str("the JWK Set URL is not a valid absolute URL"),
            JwksError::Insecure => {
                f.write_str("the JWK Set URL is plain http; use https (or allow_http for tests)")
            }
            JwksError::Transport(reason) => write!(f, "the JWK Set could not be fetched: {reason}"),
            JwksError::Status(status) => write!(f, "the JWK Set server answered {status}"),
            JwksError::TooLarge => f.write_str("the JWK Set document is over 1 MiB"),
            JwksError::Keys(e) => write!(f, "the JWK Set is unusable: {e}"),
        }
    }
}

impl std::error::Error for JwksError {}
