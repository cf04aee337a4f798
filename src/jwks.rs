//! Keys from remote JWK Sets: identity providers' keys, fetched and kept fresh in the
//! background, each set speaking for its provider's issuer (feature `jwks`). Documents are
//! downloaded with the application's own HTTP client, or the built-in one (feature
//! `jwks-client`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_sliding_jwt::JwtAuthLayer;
//! use tower_sliding_jwt::jwks::RemoteJwks;
//!
//! // Tokens from the company's identity provider, and the service's own.
//! let idp = RemoteJwks::discover("https://login.example.com").fetch().await?;
//! let layer = JwtAuthLayer::builder()
//!     .hs256(std::env::var("JWT_SECRET")?)
//!     .remote_jwks(idp)
//!     .audience("https://api.example.com")
//!     .build()?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use std::future::Future;
use std::pin::Pin;

use http::{Request, Response, Uri};

use crate::error::JwksError;
use crate::keys::{Key, KeyRole, KeySet};

/// Ends when a download that was running or started for it has ended.
pub(crate) type KeysFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How a document is downloaded: a GET of the URL, answering the body of a 2xx response.
type HttpClient = Arc<
    dyn Fn(Uri) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, JwksError>> + Send>> + Send + Sync,
>;

/// A JWK Set fetched from a URL (an identity provider's `jwks_uri`), kept fresh in the
/// background, speaking for one issuer. Its keys verify tokens like
/// [trusted keys](crate::JwtAuthBuilder::trusted_key): only tokens whose `iss` is that issuer,
/// never used to sign, never renewed.
///
/// - The set is fetched once when built (an unreachable URL is an error at start-up), then every
///   `refresh_every` (default 5 minutes) by a background task, which ends when the last handle
///   is dropped.
/// - A request whose token names a `kid` the set does not know waits for one download and is
///   then decided with the keys it brought: it joins the download already running, if any, or
///   starts one, at most once per `min_refetch_interval` (default 30 s) however many such tokens
///   arrive; the periodic refresh does not count against it. So a key rotation is picked up by
///   the first request that needs it, even right after start-up or a refresh, and a flood of
///   made-up `kid`s cannot turn into a flood of fetches. The wait is bounded by the fetch
///   `timeout`; a token whose `kid` arrives while no refetch is allowed is refused at once.
/// - One download at a time: the periodic refresh and the refetch share it, so an older
///   download never replaces a newer set.
/// - Requests read an immutable snapshot (one `Arc` clone): no lock is held while fetching.
/// - A token without `kid` is verified only when one key of the set has its algorithm, and
///   refused when several do: a forged token never costs more than one signature check.
/// - A verification the layer remembers stands only while this set is fresh and unchanged:
///   a key removed from it, or the set going stale, takes effect on the very next request.
/// - The document is read as [`Key::from_jwk_set_json`](crate::Key::from_jwk_set_json) reads
///   one: keys the crate cannot use are skipped and logged, so one odd key does not freeze the
///   set; symmetric (`"kty": "oct"`) keys are always skipped, since a public document must never
///   yield an HMAC secret, which anyone who read it could sign with; `"alg": "Ed25519"`
///   (RFC 9864) is EdDSA on Ed25519.
/// - When a refetch fails, the last good set stays in use, for at most `max_staleness`
///   (default 24 hours) after the last good download. Past it, tokens that need these keys are
///   refused with 503 (fail closed) until a download succeeds.
/// - Only `https` URLs, unless [`allow_http`](RemoteJwksBuilder::allow_http) (for loopback
///   tests); responses over 1 MiB are refused.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::jwks::RemoteJwks;
///
/// let jwks = RemoteJwks::builder(
///     "https://login.example.com",
///     "https://login.example.com/.well-known/jwks.json",
/// )
/// .fetch()
/// .await?;
/// // No signing key: a verify-only service, renewal is the identity provider's business.
/// let layer = JwtAuthLayer::builder()
///     .remote_jwks(jwks)
///     .audience("https://api.example.com")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: Arc<str>,
    url: Uri,
    client: HttpClient,
    /// The keys, with the generation they belong to and the document they came from.
    keys: RwLock<Current>,
    /// The generation of `keys`, readable without the lock: incremented whenever the set
    /// changes, so a cached verification made with older keys no longer counts.
    generation: AtomicU64,
    /// Held by the one download in flight.
    fetching: AtomicBool,
    /// Downloads ended (well or not), counted: a request waiting for new keys watches it.
    downloads: watch::Sender<u64>,
    /// One plus the milliseconds since `started` of the last refetch for an unknown `kid` (0:
    /// none yet). Periodic refreshes do not count: a rotation right after one is still picked
    /// up at once.
    last_refetch: AtomicU64,
    /// Milliseconds since `started` of the last good download.
    last_success: AtomicU64,
    started: Instant,
    min_refetch_interval: Duration,
    max_staleness: Duration,
    timeout: Duration,
}

struct Current {
    keys: Arc<KeySet>,
    generation: u64,
    document: Vec<u8>,
}

/// Configures a [`RemoteJwks`].
///
/// ```no_run
/// # async fn run() -> Result<(), tower_sliding_jwt::error::JwksError> {
/// use std::time::Duration;
/// use tower_sliding_jwt::jwks::RemoteJwks;
///
/// let jwks = RemoteJwks::builder("https://idp.example", "https://idp.example/jwks.json")
///     .refresh_every(Duration::from_secs(600))
///     .max_staleness(Duration::from_secs(12 * 3600))
///     .fetch()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `fetch` is called"]
pub struct RemoteJwksBuilder {
    issuer: String,
    /// The JWK Set's URL; `None` to discover it from the issuer.
    url: Option<String>,
    refresh_every: Duration,
    min_refetch_interval: Duration,
    max_staleness: Duration,
    timeout: Duration,
    allow_http: bool,
    /// The application's own HTTP client, if it brings one.
    client: Option<HttpClient>,
    /// Certificate authorities (PEM) the built-in client trusts besides the webpki roots.
    #[cfg(feature = "jwks-client")]
    extra_roots: Vec<Vec<u8>>,
}

const MAX_DOCUMENT_BYTES: usize = 1 << 20;

impl RemoteJwks {
    /// Start configuring the JWK Set at `url`, whose keys speak for `issuer` (the exact `iss`
    /// its tokens carry).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// let builder = RemoteJwks::builder("https://idp.example", "https://idp.example/jwks.json")
    ///     .refresh_every(Duration::from_secs(600))
    ///     .max_staleness(Duration::from_secs(6 * 3600));
    /// ```
    pub fn builder(issuer: impl Into<String>, url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            issuer: issuer.into(),
            url: Some(url.into()),
            refresh_every: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(30),
            max_staleness: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(5),
            allow_http: false,
            client: None,
            #[cfg(feature = "jwks-client")]
            extra_roots: Vec::new(),
        }
    }

    /// Start configuring the JWK Set of the OpenID Connect provider `issuer`, found by discovery
    /// (OpenID Connect Discovery 1.0): [`fetch`](RemoteJwksBuilder::fetch) first reads
    /// `{issuer}/.well-known/openid-configuration`, checks that the document names exactly this
    /// issuer, and takes its `jwks_uri`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tower_sliding_jwt::error::JwksError> {
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// let google = RemoteJwks::discover("https://accounts.google.com").fetch().await?;
    /// # Ok(()) }
    /// ```
    pub fn discover(issuer: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder { url: None, ..RemoteJwks::builder(issuer, "") }
    }

    /// The issuer these keys speak for.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// // A JWK Set served from memory, as an identity provider would over HTTPS.
    /// let serve = |_: http::Request<()>| async {
    ///     let set = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA",
    ///         "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    ///     Ok::<_, std::io::Error>(http::Response::new(set.as_bytes().to_vec()))
    /// };
    /// let idp = "https://login.example.com";
    /// let jwks = RemoteJwks::builder(idp, format!("{idp}/jwks"))
    ///     .http_client(serve)
    ///     .fetch()
    ///     .await?;
    /// assert_eq!(jwks.issuer(), "https://login.example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The keys now and their generation, or `None` when they are older than the maximum
    /// staleness.
    pub(crate) fn snapshot(&self) -> Option<(Arc<KeySet>, u64)> {
        if !self.fresh() {
            return None;
        }
        let current = self.inner.keys.read().unwrap_or_else(PoisonError::into_inner);
        Some((Arc::clone(&current.keys), current.generation))
    }

    /// Whether keys of this generation are still the set's, and not too old to trust.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        self.inner.generation.load(Ordering::Acquire) == generation && self.fresh()
    }

    /// Whether the set is not older than its maximum staleness.
    pub(crate) fn fresh(&self) -> bool {
        let inner = &self.inner;
        let age = millis(inner.started.elapsed())
            .saturating_sub(inner.last_success.load(Ordering::Acquire));
        age <= millis(inner.max_staleness)
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// How many keys the set holds now.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// // A JWK Set served from memory, as an identity provider would over HTTPS.
    /// let serve = |_: http::Request<()>| async {
    ///     let set = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA",
    ///         "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    ///     Ok::<_, std::io::Error>(http::Response::new(set.as_bytes().to_vec()))
    /// };
    /// let idp = "https://login.example.com";
    /// let jwks = RemoteJwks::builder(idp, format!("{idp}/jwks"))
    ///     .http_client(serve)
    ///     .fetch()
    ///     .await?;
    /// assert_eq!(jwks.key_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn key_count(&self) -> usize {
        self.inner.keys.read().unwrap_or_else(PoisonError::into_inner).keys.iter().count()
    }

    /// A token named a `kid` the set does not know: wait for the download in flight, or start
    /// one unless the last refetch for an unknown `kid` was less than the minimum interval ago.
    /// `None` when no download will come (or no runtime to run one). Dropping the future leaves
    /// the download running.
    pub(crate) fn refetch(&self) -> Option<KeysFuture> {
        let inner = &self.inner;
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        // Watched before looking at `fetching`: a download that ends in between is still seen.
        let mut ended = inner.downloads.subscribe();
        if !inner.fetching.load(Ordering::Acquire) {
            let now = millis(inner.started.elapsed()).saturating_add(1);
            let last = inner.last_refetch.load(Ordering::Acquire);
            if last != 0 && now.saturating_sub(last) < millis(inner.min_refetch_interval) {
                return None;
            }
            // Of many such tokens at once, one starts the download and the others join it.
            if !inner.fetching.swap(true, Ordering::AcqRel) {
                inner.last_refetch.store(now, Ordering::Release);
                let task = Arc::clone(inner);
                runtime.spawn(async move { download_held(&task).await });
            }
        }
        let timeout = inner.timeout;
        Some(Box::pin(async move {
            // A download ends within its own timeout; this bound only guards against a stuck one.
            let _ = tokio::time::timeout(timeout, ended.changed()).await;
        }))
    }
}

impl RemoteJwksBuilder {
    /// How often the set is fetched again in the background. Default 5 minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// // A provider that rotates keys often.
    /// let builder = RemoteJwks::discover("https://login.example.com")
    ///     .refresh_every(Duration::from_secs(60));
    /// ```
    pub fn refresh_every(mut self, every: Duration) -> Self {
        self.refresh_every = every;
        self
    }

    /// The least time between two refetches caused by unknown `kid`s. Default 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// // Tokens with made-up `kid`s may cause at most one download every 2 minutes.
    /// let builder = RemoteJwks::discover("https://login.example.com")
    ///     .min_refetch_interval(Duration::from_secs(120));
    /// ```
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// How long the last good set stays in use while downloads fail. Default 24 hours. Past it,
    /// tokens that need these keys get 503 until a download succeeds: keys that may have been
    /// revoked long ago are not trusted forever.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    /// use tower_sliding_jwt::error::JwksError;
    ///
    /// let serve = |_: http::Request<()>| async {
    ///     Ok::<_, std::io::Error>(http::Response::new(br#"{"keys":[]}"#.to_vec()))
    /// };
    /// let idp = "https://login.example.com";
    /// let refused = RemoteJwks::builder(idp, format!("{idp}/jwks"))
    ///     .http_client(serve)
    ///     .refresh_every(Duration::from_secs(3600))
    ///     .max_staleness(Duration::from_secs(600))
    ///     .fetch()
    ///     .await
    ///     .unwrap_err();
    /// // The set would go stale between two refreshes.
    /// assert!(matches!(refused, JwksError::InvalidInterval("max_staleness")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = staleness;
        self
    }

    /// The timeout of one fetch. Default 5 s.
    ///
    /// ```
    /// # let mut runtime = tokio::runtime::Builder::new_current_thread();
    /// # runtime.enable_time().start_paused(true).build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    /// use tower_sliding_jwt::error::JwksError;
    ///
    /// // A provider that never answers.
    /// type Answer = Result<http::Response<Vec<u8>>, std::io::Error>;
    /// let silent = |_: http::Request<()>| std::future::pending::<Answer>();
    /// let idp = "https://login.example.com";
    /// let refused = RemoteJwks::builder(idp, format!("{idp}/jwks"))
    ///     .http_client(silent)
    ///     .timeout(Duration::from_secs(2))
    ///     .fetch()
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(refused, JwksError::Transport(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Accept a plain `http` URL. Keys fetched over plain HTTP can be replaced by anyone on the
    /// path: only for loopback and tests.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    /// use tower_sliding_jwt::error::JwksError;
    ///
    /// // A JWK Set served from memory, as a test's identity provider would on loopback.
    /// let serve = |_: http::Request<()>| async {
    ///     let set = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA",
    ///         "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    ///     Ok::<_, std::io::Error>(http::Response::new(set.as_bytes().to_vec()))
    /// };
    /// let local = RemoteJwks::builder("http://127.0.0.1:8080", "http://127.0.0.1:8080/jwks");
    /// let refused = local.clone().http_client(serve).fetch().await.unwrap_err();
    /// assert!(matches!(refused, JwksError::Insecure));
    /// let jwks = local.allow_http(true).http_client(serve).fetch().await?;
    /// assert_eq!(jwks.key_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Download documents with the application's own HTTP client: one that trusts the
    /// company's certificate authority, goes through a proxy, or adds headers. It gets a `GET`
    /// request for the document's URL and answers the response with its whole body; only a 2xx
    /// response counts, and a body over 1 MiB is refused. Without it, [`fetch`](Self::fetch)
    /// uses the built-in client (feature `jwks-client`: hyper with rustls and the webpki roots).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// // reqwest honours HTTPS_PROXY and can trust extra roots.
    /// let http = reqwest::Client::builder().build()?;
    /// let jwks = RemoteJwks::discover("https://login.example.com")
    ///     .http_client(move |request: http::Request<()>| {
    ///         let http = http.clone();
    ///         async move {
    ///             let response = http.get(request.uri().to_string()).send().await?;
    ///             let status = response.status();
    ///             let body = response.bytes().await?.to_vec();
    ///             let mut answer = http::Response::new(body);
    ///             *answer.status_mut() = status;
    ///             Ok::<_, reqwest::Error>(answer)
    ///         }
    ///     })
    ///     .fetch()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn http_client<F, Fut, E>(mut self, client: F) -> Self
    where
        F: Fn(Request<()>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Vec<u8>>, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let client = Arc::new(client);
        self.client = Some(Arc::new(move |uri: Uri| {
            let client = Arc::clone(&client);
            Box::pin(async move {
                let request = Request::get(uri).body(()).map_err(|_| JwksError::InvalidUrl)?;
                let response =
                    client(request).await.map_err(|e| JwksError::Transport(Box::new(e)))?;
                if !response.status().is_success() {
                    return Err(JwksError::Status(response.status().as_u16()));
                }
                let body = response.into_body();
                if body.len() > MAX_DOCUMENT_BYTES {
                    return Err(JwksError::TooLarge);
                }
                Ok(body)
            })
        }));
        self
    }

    /// Trust these certificate authorities (PEM, one or more certificates) besides the webpki
    /// roots, in the built-in client (feature `jwks-client`): a company's own authority, say.
    /// An unreadable PEM makes [`fetch`](Self::fetch) fail with [`JwksError::Certificates`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// let company_ca = std::fs::read("/etc/ssl/company-ca.pem")?;
    /// let jwks = RemoteJwks::discover("https://sso.company.internal")
    ///     .root_certificates_pem(company_ca)
    ///     .fetch()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "jwks-client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks-client")))]
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(pem.into());
        self
    }

    /// Fetch the set once and start the background refresh. Must run inside a Tokio runtime.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// // A JWK Set served from memory, as an identity provider would over HTTPS.
    /// let serve = |_: http::Request<()>| async {
    ///     let set = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA",
    ///         "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    ///     Ok::<_, std::io::Error>(http::Response::new(set.as_bytes().to_vec()))
    /// };
    /// let idp = "https://login.example.com";
    /// let jwks = RemoteJwks::builder(idp, format!("{idp}/jwks"))
    ///     .http_client(serve)
    ///     .fetch()
    ///     .await?;
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .remote_jwks(jwks)
    ///     .audience("https://api.example.com")
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn fetch(self) -> Result<RemoteJwks, JwksError> {
        for (name, value) in [
            ("refresh_every", self.refresh_every),
            ("min_refetch_interval", self.min_refetch_interval),
            ("max_staleness", self.max_staleness),
            ("timeout", self.timeout),
        ] {
            if value.is_zero() {
                return Err(JwksError::InvalidInterval(name));
            }
        }
        if self.max_staleness < self.refresh_every {
            return Err(JwksError::InvalidInterval("max_staleness"));
        }
        #[cfg(feature = "jwks-client")]
        let extra_roots = self.extra_roots;
        #[cfg(not(feature = "jwks-client"))]
        let extra_roots: Vec<Vec<u8>> = Vec::new();
        let client = match self.client {
            Some(client) => client,
            None => built_in_client(&extra_roots)?,
        };
        let url = match self.url {
            Some(url) => checked_url(&url, self.allow_http)?,
            None => discover(&client, &self.issuer, self.allow_http, self.timeout).await?,
        };
        let issuer: Arc<str> = Arc::from(self.issuer);
        let (keys, document) = download(&client, &url, &issuer, self.timeout).await?;
        let inner = Arc::new(Inner {
            issuer,
            url,
            client,
            keys: RwLock::new(Current { keys: Arc::new(keys), generation: 1, document }),
            generation: AtomicU64::new(1),
            fetching: AtomicBool::new(false),
            downloads: watch::Sender::new(0),
            last_refetch: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            started: Instant::now(),
            min_refetch_interval: self.min_refetch_interval,
            max_staleness: self.max_staleness,
            timeout: self.timeout,
        });
        tokio::spawn(refresh_periodically(Arc::downgrade(&inner), self.refresh_every));
        Ok(RemoteJwks { inner })
    }
}

/// `text` as a URL this builder may fetch: absolute, and `https` unless plain HTTP is allowed.
fn checked_url(text: &str, allow_http: bool) -> Result<Uri, JwksError> {
    let url: Uri = text.parse().map_err(|_| JwksError::InvalidUrl)?;
    match url.scheme_str() {
        Some("https") => {}
        Some("http") if allow_http => {}
        Some("http") => return Err(JwksError::Insecure),
        _ => return Err(JwksError::InvalidUrl),
    }
    if url.host().is_none() {
        return Err(JwksError::InvalidUrl);
    }
    Ok(url)
}

/// The `jwks_uri` of `issuer`'s discovery document, which must name exactly `issuer` (so a
/// document served elsewhere cannot speak for it).
async fn discover(
    client: &HttpClient,
    issuer: &str,
    allow_http: bool,
    timeout: Duration,
) -> Result<Uri, JwksError> {
    #[derive(serde::Deserialize)]
    struct Configuration {
        issuer: String,
        jwks_uri: String,
    }
    let location = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let body = get(client, &checked_url(&location, allow_http)?, timeout).await?;
    let configuration: Configuration = serde_json::from_slice(&body)
        .map_err(|_| JwksError::Discovery("not an OpenID provider configuration"))?;
    if configuration.issuer != issuer {
        return Err(JwksError::Discovery("the configuration names another issuer"));
    }
    checked_url(&configuration.jwks_uri, allow_http)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

async fn refresh_periodically(inner: Weak<Inner>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(inner) = inner.upgrade() else { return };
        refresh(&inner).await;
    }
}

/// Fetch the set again, unless a download is already running (its result is as new as ours
/// would be).
async fn refresh(inner: &Inner) {
    if !inner.fetching.swap(true, Ordering::AcqRel) {
        download_held(inner).await;
    }
}

/// The download of the caller that set `fetching`: keep the old set if it fails, then release
/// the flag and tell the waiting requests.
async fn download_held(inner: &Inner) {
    match download(&inner.client, &inner.url, &inner.issuer, inner.timeout).await {
        Ok((keys, document)) => {
            let mut current = inner.keys.write().unwrap_or_else(PoisonError::into_inner);
            // The same document again changes nothing: cached verifications still hold.
            if current.document != document {
                current.generation += 1;
                *current =
                    Current { keys: Arc::new(keys), generation: current.generation, document };
                inner.generation.store(current.generation, Ordering::Release);
            }
            drop(current);
            inner.last_success.store(millis(inner.started.elapsed()), Ordering::Release);
            tracing::debug!(target: "tower_sliding_jwt", url = %inner.url, "JWK Set refreshed");
        }
        Err(error) => {
            tracing::warn!(target: "tower_sliding_jwt", url = %inner.url, %error, "JWK Set refresh failed; keeping the last set");
        }
    }
    inner.fetching.store(false, Ordering::Release);
    inner.downloads.send_modify(|ended| *ended += 1);
}

async fn download(
    client: &HttpClient,
    url: &Uri,
    issuer: &Arc<str>,
    timeout: Duration,
) -> Result<(KeySet, Vec<u8>), JwksError> {
    let body = get(client, url, timeout).await?;
    let keys = usable_keys(&body, url)?;
    let role = |key| (key, KeyRole::Trusted(Arc::clone(issuer)));
    Ok((KeySet::remote(keys.into_iter().map(role).collect()), body))
}

/// The body of a successful GET, at most 1 MiB, within `timeout`.
async fn get(client: &HttpClient, url: &Uri, timeout: Duration) -> Result<Vec<u8>, JwksError> {
    tokio::time::timeout(timeout, client(url.clone()))
        .await
        .map_err(|elapsed| JwksError::Transport(Box::new(elapsed)))?
}

/// The built-in client: hyper, with rustls, the webpki roots and `extra_roots` (PEM)
/// (feature `jwks-client`).
#[cfg(feature = "jwks-client")]
fn built_in_client(extra_roots: &[Vec<u8>]) -> Result<HttpClient, JwksError> {
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for pem in extra_roots {
        let mut found = false;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(|_| JwksError::Certificates)?;
            roots.add(certificate).map_err(|_| JwksError::Certificates)?;
            found = true;
        }
        if !found {
            return Err(JwksError::Certificates);
        }
    }
    // Named, not taken from a process-wide default that another crate could have set.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| JwksError::Certificates)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<bytes::Bytes>>(connector);
    Ok(Arc::new(move |uri: Uri| {
        let client = client.clone();
        Box::pin(async move {
            let response = client.get(uri).await.map_err(|e| JwksError::Transport(Box::new(e)))?;
            if !response.status().is_success() {
                return Err(JwksError::Status(response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|_| JwksError::TooLarge)?;
            Ok(body.to_bytes().to_vec())
        })
    }))
}

/// Without the built-in client, the application must bring one.
#[cfg(not(feature = "jwks-client"))]
fn built_in_client(_: &[Vec<u8>]) -> Result<HttpClient, JwksError> {
    Err(JwksError::NoHttpClient)
}

/// The signature keys of a fetched document that the crate can use. Each other key is skipped
/// and logged (by `kid`), so one key of a new type does not make the whole set unusable.
fn usable_keys(document: &[u8], url: &Uri) -> Result<Vec<Key>, JwksError> {
    let (keys, skipped) = Key::read_jwk_set(document).map_err(JwksError::Keys)?;
    for (kid, reason) in skipped {
        tracing::warn!(target: "tower_sliding_jwt", %url, kid, %reason, "JWK skipped");
    }
    Ok(keys)
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

impl fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("issuer", &self.issuer)
            .field("url", &self.url)
            .field("refresh_every", &self.refresh_every)
            .field("max_staleness", &self.max_staleness)
            .field("own_http_client", &self.client.is_some())
            .finish_non_exhaustive()
    }
}
