//! [`RemoteJwks`]: one identity provider's keys, their freshness, and the downloads that keep
//! them current (periodic, and for a `kid` the set does not know yet).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use http::Uri;
use tokio::sync::watch;
use tokio::time::Instant;

use super::download::{HttpClient, download};
use crate::keys::KeySet;

/// Ends when a download that was running or started for it has ended.
pub(crate) type KeysFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

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
///   refused with 503 (fail closed) until a download succeeds. Such a token waits for one
///   refetch first, under the same rate limit as an unknown `kid`: service comes back with the
///   provider, not with the next periodic refresh.
/// - Only `https` URLs, unless [`allow_http`](crate::jwks::RemoteJwksBuilder::allow_http) (for loopback
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
    meters: crate::metrics::KeySetMeters,
}

impl Inner {
    fn age(&self) -> Duration {
        let last = Duration::from_millis(self.last_success.load(Ordering::Acquire));
        self.started.elapsed().saturating_sub(last)
    }

    /// The age, also set on the age gauge.
    fn report_age(&self) -> Duration {
        let age = self.age();
        self.meters.age(age);
        age
    }
}

struct Current {
    keys: Arc<KeySet>,
    generation: u64,
    document: Vec<u8>,
}

impl RemoteJwks {
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
        self.inner.age() <= self.inner.max_staleness
    }

    /// How long ago the last good download was (the first one is made when the set is built).
    pub fn age(&self) -> Duration {
        self.inner.age()
    }

    /// The age, also reported to the age gauge (a readiness check looks at it).
    pub(crate) fn report_age(&self) -> Duration {
        self.inner.report_age()
    }

    /// How old the set may grow, while downloads fail, before its tokens are refused.
    pub fn max_staleness(&self) -> Duration {
        self.inner.max_staleness
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

/// What a started set is made of: its first download and its settings.
pub(super) struct Start {
    pub(super) issuer: Arc<str>,
    pub(super) url: Uri,
    pub(super) client: HttpClient,
    pub(super) keys: KeySet,
    pub(super) document: Vec<u8>,
    pub(super) refresh_every: Duration,
    pub(super) min_refetch_interval: Duration,
    pub(super) max_staleness: Duration,
    pub(super) timeout: Duration,
}

impl RemoteJwks {
    /// A set holding its first download, refreshed in the background from now on.
    pub(super) fn start(start: Start) -> RemoteJwks {
        let meters = crate::metrics::KeySetMeters::register(&start.issuer);
        // The first download, made by the builder, counts like the ones that follow.
        meters.download(Some(start.keys.iter().count()));
        let inner = Arc::new(Inner {
            issuer: start.issuer,
            url: start.url,
            client: start.client,
            keys: RwLock::new(Current {
                keys: Arc::new(start.keys),
                generation: 1,
                document: start.document,
            }),
            generation: AtomicU64::new(1),
            fetching: AtomicBool::new(false),
            downloads: watch::Sender::new(0),
            last_refetch: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
            started: Instant::now(),
            min_refetch_interval: start.min_refetch_interval,
            max_staleness: start.max_staleness,
            timeout: start.timeout,
            meters,
        });
        tokio::spawn(refresh_periodically(Arc::downgrade(&inner), start.refresh_every));
        RemoteJwks { inner }
    }
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
            let keys = current.keys.iter().count();
            drop(current);
            inner.last_success.store(millis(inner.started.elapsed()), Ordering::Release);
            tracing::debug!(target: "tower_sliding_jwt", url = %inner.url, "JWK Set refreshed");
            inner.meters.download(Some(keys));
        }
        Err(error) => {
            tracing::warn!(target: "tower_sliding_jwt", url = %inner.url, %error, "JWK Set refresh failed; keeping the last set");
            inner.meters.download(None);
        }
    }
    inner.report_age();
    inner.fetching.store(false, Ordering::Release);
    inner.downloads.send_modify(|ended| *ended += 1);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    const DOCUMENT: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    /// A set whose downloads are counted, and wait for `gate` while it is closed.
    fn set(gate: Arc<tokio::sync::Semaphore>) -> (RemoteJwks, Arc<AtomicUsize>) {
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        let client: HttpClient = Arc::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            let gate = Arc::clone(&gate);
            Box::pin(async move {
                drop(gate.acquire().await);
                Ok(DOCUMENT.as_bytes().to_vec())
            })
        });
        let jwks = RemoteJwks::start(Start {
            issuer: Arc::from("https://idp.example"),
            url: "https://idp.example/jwks".parse().unwrap(),
            client,
            keys: KeySet::remote(Vec::new()),
            document: Vec::new(),
            refresh_every: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(30),
            max_staleness: Duration::from_secs(7200),
            timeout: Duration::from_secs(5),
        });
        (jwks, count)
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_kids_share_one_download_and_are_rate_limited() {
        let (jwks, downloads) = set(Arc::new(tokio::sync::Semaphore::new(1)));
        // Many requests at once: one download, every one of them waits for it.
        let waits: Vec<_> = (0..10).map(|_| jwks.refetch().expect("a download comes")).collect();
        for wait in waits {
            wait.await;
        }
        assert_eq!(downloads.load(Ordering::SeqCst), 1);
        assert_eq!(jwks.key_count(), 1, "the new keys are in");
        // Within the interval, nothing to wait for.
        assert!(jwks.refetch().is_none());
        tokio::time::advance(Duration::from_secs(30)).await;
        jwks.refetch().expect("a refetch again").await;
        assert_eq!(downloads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refetch_joins_a_running_download_without_counting() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (jwks, downloads) = set(Arc::clone(&gate));
        let running = Arc::clone(&jwks.inner);
        let refresh = tokio::spawn(async move { refresh(&running).await });
        while downloads.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let wait = jwks.refetch().expect("joins the running download");
        assert_eq!(downloads.load(Ordering::SeqCst), 1, "no second download");
        assert_eq!(jwks.inner.last_refetch.load(Ordering::SeqCst), 0, "the slot is not taken");
        gate.add_permits(1);
        wait.await;
        refresh.await.unwrap();
        assert_eq!(jwks.key_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_with_the_fetch_timeout() {
        let (jwks, _) = set(Arc::new(tokio::sync::Semaphore::new(0)));
        let started = Instant::now();
        jwks.refetch().unwrap().await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert_eq!(jwks.key_count(), 0, "the old set stays");
    }
}
