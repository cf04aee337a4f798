//! [`RemoteJwksBuilder`]: how a [`RemoteJwks`] is configured, checked and first fetched.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, Uri};

use super::download::{
    HttpClient, MAX_DOCUMENT_BYTES, built_in_client, checked_url, discover, download,
};
use super::remote::{RemoteJwks, Start};
use crate::error::JwksError;

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
    pub(super) issuer: String,
    /// The JWK Set's URL; `None` to discover it from the issuer.
    pub(super) url: Option<String>,
    pub(super) refresh_every: Duration,
    pub(super) min_refetch_interval: Duration,
    pub(super) max_staleness: Duration,
    pub(super) timeout: Duration,
    pub(super) allow_http: bool,
    /// The application's own HTTP client, if it brings one.
    pub(super) client: Option<HttpClient>,
    /// Certificate authorities (PEM) the built-in client trusts besides the webpki roots.
    #[cfg(feature = "jwks-client")]
    pub(super) extra_roots: Vec<Vec<u8>>,
}

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
        Ok(RemoteJwks::start(Start {
            issuer,
            url,
            client,
            keys,
            document,
            refresh_every: self.refresh_every,
            min_refetch_interval: self.min_refetch_interval,
            max_staleness: self.max_staleness,
            timeout: self.timeout,
        }))
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
