//! The builder of [`JwtAuthLayer`].

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::claims::NoCustomClaims;
use crate::clock::{Clock, SystemClock, secs};
use crate::config::Core;
use crate::dpop::DpopPolicy;
use crate::error::{ConfigError, KeyError};
use crate::headers::quotable;
use crate::keys::{Key, KeyRole, KeySet, jose_header};
use crate::middleware::layer::JwtAuthLayer;
use crate::middleware::request::LayerConfig;
use crate::rejection::DefaultRejection;
use crate::renewal::{Lifetimes, RenewalMode, RenewalPolicy};
use crate::revocation::{RevocationCheck, RevocationFailure};
use crate::verify::cache::TokenCache;
use crate::verify::csrf::CsrfPolicy;
use crate::verify::rules::Rules;
use crate::verify::source::TokenSource;

/// The default maximum token size: 8 KiB.
///
/// ```
/// use tower_sliding_jwt::error::TokenError;
/// use tower_sliding_jwt::{DEFAULT_MAX_TOKEN_BYTES, JwtAuthLayer, NoCustomClaims};
///
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
/// let huge = "a".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
/// assert!(matches!(issuer.verify::<NoCustomClaims>(&huge), Err(TokenError::TooLarge)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The default leeway for `exp`, `nbf` and `iat`: 5 seconds.
///
/// ```
/// use std::time::Duration;
/// use tower_sliding_jwt::{DEFAULT_LEEWAY, JwtAuthLayer, ManualClock, NoCustomClaims};
///
/// let clock = ManualClock::new(1_800_000_000);
/// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).clock(clock.clone()).build()?.issuer();
/// let login = issuer.issue("42", &())?;
/// clock.set(login.expires_at + DEFAULT_LEEWAY.as_secs() as i64 - 1);
/// assert!(issuer.verify::<NoCustomClaims>(&login.token).is_ok(), "a slow clock is forgiven");
/// clock.advance(Duration::from_secs(2));
/// assert!(issuer.verify::<NoCustomClaims>(&login.token).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// The `typ` header values accepted by default: `JWT` and `at+jwt` (RFC 9068).
///
/// ```
/// use tower_sliding_jwt::{DEFAULT_TOKEN_TYPES, JwtAuthLayer};
///
/// // The defaults, and DPoP-bound access tokens too.
/// let layer = JwtAuthLayer::builder()
///     .hs256([7u8; 32])
///     .token_types(DEFAULT_TOKEN_TYPES.into_iter().chain(["dpop+jwt"]))
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
pub const DEFAULT_TOKEN_TYPES: [&str; 2] = ["JWT", "at+jwt"];
/// How many verified tokens the layer remembers by default (see
/// [`JwtAuthBuilder::verified_token_cache`]).
///
/// ```
/// use tower_sliding_jwt::{DEFAULT_TOKEN_CACHE, JwtAuthLayer};
///
/// // A busy service with many concurrent clients.
/// let layer = JwtAuthLayer::builder()
///     .hs256([7u8; 32])
///     .verified_token_cache(16 * DEFAULT_TOKEN_CACHE)
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
pub const DEFAULT_TOKEN_CACHE: usize = 4096;

/// Configures a [`JwtAuthLayer`]; made by [`JwtAuthLayer::builder`].
///
/// Secure defaults: tokens only from `Authorization: Bearer`; `exp` and `sub` required; 5 s
/// leeway; tokens over 8 KiB refused unread; every algorithm pinned by its key; sliding renewal
/// on, as [`RenewalPolicy::new`] describes. Every mistake (a short secret, a key of the wrong type,
/// inconsistent lifetimes) is reported by [`build`](JwtAuthBuilder::build), never by a panic.
///
/// ```
/// use std::time::Duration;
/// use serde::Deserialize;
/// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy, TokenSource};
///
/// #[derive(Deserialize)]
/// struct User {
///     username: String,
/// }
///
/// let layer = JwtAuthLayer::builder()
///     .claims::<User>()
///     .hs256(b"an example secret of at least 32 bytes")
///     .issuer("https://auth.example.com")
///     .audience("api")
///     .token_sources([TokenSource::Bearer, TokenSource::cookie("token")])
///     .token_lifetime(Duration::from_secs(600))
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct JwtAuthBuilder<C = NoCustomClaims, R = DefaultRejection> {
    settings: Settings,
    rejection: R,
    claims: PhantomData<fn() -> C>,
}

/// The configuration that does not depend on the builder's type parameters, so changing one of
/// them moves this struct instead of copying every field.
#[derive(Clone)]
struct Settings {
    keys: Vec<Result<(Key, KeyRole), KeyError>>,
    issuer: Option<String>,
    token_types: Vec<String>,
    any_audience_from_trusted_keys: bool,
    audiences: Vec<String>,
    leeway: Duration,
    require_sub: bool,
    max_token_bytes: usize,
    sources: Vec<TokenSource>,
    lifetimes: Lifetimes,
    renewal: RenewalPolicy,
    /// Whether `renewal` was called: without a signing key, a policy nobody chose is off.
    renewal_chosen: bool,
    clock: Arc<dyn Clock>,
    optional: bool,
    answer_preflight: bool,
    realm: String,
    revocation: Option<Arc<dyn RevocationCheck>>,
    revocation_failure: RevocationFailure,
    cache_capacity: usize,
    csrf: CsrfPolicy,
    dpop: Option<DpopPolicy>,
    #[cfg(feature = "jwks")]
    remote: Vec<crate::jwks::RemoteJwks>,
}

impl JwtAuthLayer {
    /// Start configuring a layer.
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn builder() -> JwtAuthBuilder {
        JwtAuthBuilder {
            settings: Settings {
                keys: Vec::new(),
                issuer: None,
                token_types: DEFAULT_TOKEN_TYPES.iter().map(|typ| (*typ).to_owned()).collect(),
                any_audience_from_trusted_keys: false,
                audiences: Vec::new(),
                leeway: DEFAULT_LEEWAY,
                require_sub: true,
                max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
                sources: vec![TokenSource::Bearer],
                lifetimes: Lifetimes::default(),
                renewal: RenewalPolicy::new(),
                renewal_chosen: false,
                clock: Arc::new(SystemClock),
                optional: false,
                answer_preflight: true,
                realm: "api".to_owned(),
                revocation: None,
                revocation_failure: RevocationFailure::default(),
                cache_capacity: DEFAULT_TOKEN_CACHE,
                csrf: CsrfPolicy::new(),
                dpop: None,
                #[cfg(feature = "jwks")]
                remote: Vec::new(),
            },
            rejection: DefaultRejection,
            claims: PhantomData,
        }
    }
}

impl<C, R> JwtAuthBuilder<C, R> {
    /// Read the application's own claims into `C` (see [`Claims`](crate::Claims)): every `Claims<C>` the layer
    /// hands out, to extractors and per-route checks alike, is of this type.
    ///
    /// ```
    /// use tower_sliding_jwt::{Claims, JwtAuthLayer};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct User {
    ///     role: String,
    /// }
    ///
    /// let auth = JwtAuthLayer::builder().claims::<User>().hs256([7u8; 32]).build()?;
    /// let admins = auth.authorize(|claims: &Claims<User>, _| match claims.custom().role.as_str() {
    ///     "admin" => Ok(()),
    ///     _ => Err(tower_sliding_jwt::Forbidden::new("admins only")),
    /// });
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn claims<C2>(self) -> JwtAuthBuilder<C2, R> {
        JwtAuthBuilder { settings: self.settings, rejection: self.rejection, claims: PhantomData }
    }
    /// Build the responses of refused requests with `handler` (see [`RejectionHandler`]).
    ///
    /// [`RejectionHandler`]: crate::RejectionHandler
    ///
    /// ```
    /// use http::{Response, StatusCode};
    /// use tower_sliding_jwt::{JwtAuthLayer, Rejection, RejectionContext};
    ///
    /// // Every refusal as a bare 404, hiding which routes exist.
    /// let hide = |_: &Rejection, _: &RejectionContext<'_>| {
    ///     let mut response = Response::new(String::new());
    ///     *response.status_mut() = StatusCode::NOT_FOUND;
    ///     response
    /// };
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .rejection_handler(hide)
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn rejection_handler<R2>(self, handler: R2) -> JwtAuthBuilder<C, R2> {
        JwtAuthBuilder { settings: self.settings, rejection: handler, claims: PhantomData }
    }

    /// Sign and verify with an HS256 secret (at least 32 bytes). Shorthand for
    /// `signing_key(Key::hs256(secret))`, with the length error reported by `build`.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    /// use tower_sliding_jwt::error::{ConfigError, KeyError};
    ///
    /// let secret = b"an example secret of at least 32 bytes";
    /// let issuer = JwtAuthLayer::builder().hs256(secret).build()?.issuer();
    /// let login = issuer.issue("42", &())?;
    /// assert_eq!(issuer.verify::<NoCustomClaims>(&login.token)?.subject(), Some("42"));
    ///
    /// let short = JwtAuthLayer::builder().hs256(b"too short").build().unwrap_err();
    /// assert!(matches!(short, ConfigError::Key(KeyError::SecretTooShort { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hs256(self, secret: impl AsRef<[u8]>) -> Self {
        self.hmac(Algorithm::HS256, secret)
    }

    /// Sign and verify with an HMAC secret for `algorithm` (HS256, HS384, HS512).
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, JwtAuthLayer};
    ///
    /// // HS512 needs a secret of at least 64 bytes.
    /// let layer = JwtAuthLayer::builder().hmac(Algorithm::HS512, [7u8; 64]).build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn hmac(mut self, algorithm: Algorithm, secret: impl AsRef<[u8]>) -> Self {
        self.settings.keys.push(Key::hmac(algorithm, secret).map(|key| (key, KeyRole::Signing)));
        self
    }

    /// The key that signs login and renewed tokens (and verifies). Exactly one.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_private.pem")?;
    /// let key = Key::from_private_pem(Algorithm::EdDSA, pem)?.with_kid("2026-11");
    /// let issuer = JwtAuthLayer::builder().signing_key(key).build()?.issuer();
    /// assert_eq!(issuer.jwks().keys().len(), 1, "its public half is published");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signing_key(mut self, key: Key) -> Self {
        self.settings.keys.push(Ok((key, KeyRole::Signing)));
        self
    }

    /// A key this service signed with before a rotation. It still verifies, and its tokens renew
    /// onto the current signing key, so clients migrate as they come. It may be public-only.
    ///
    /// Never keep a key that leaked here: whoever holds it can forge tokens that the layer
    /// accepts and then renews onto the current key, laundering them into tokens no rotation
    /// can tell apart. Drop a leaked key at once (its users log in again).
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, Key, NoCustomClaims};
    ///
    /// let old = Key::hs256(b"last year's secret, at least 32 bytes long")?.with_kid("2025");
    /// let new = Key::hs256(b"this year's secret, at least 32 bytes long")?.with_kid("2026");
    /// let before = JwtAuthLayer::builder().signing_key(old.clone()).build()?.issuer();
    /// let token = before.issue("42", &())?.token;
    ///
    /// let after = JwtAuthLayer::builder().signing_key(new).previous_key(old).build()?.issuer();
    /// // Tokens signed before the rotation still work.
    /// assert!(after.verify::<NoCustomClaims>(&token).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn previous_key(mut self, key: Key) -> Self {
        self.settings.keys.push(Ok((key, KeyRole::Previous)));
        self
    }

    /// A third party's key (an identity provider's), speaking for `issuer`: it verifies tokens
    /// whose `iss` is exactly `issuer`, and nothing else. Its tokens are never renewed.
    ///
    /// Binding each key to its issuer means a partner's key can never mint a token that passes
    /// as one of ours, or as another partner's. Trusting third-party tokens also needs an
    /// [`audience`](JwtAuthBuilder::audience): a provider signs tokens for many services, and
    /// without an audience check a token meant for any of them would be accepted here.
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};
    ///
    /// let partner = Key::from_public_pem(
    ///     Algorithm::EdDSA,
    ///     std::fs::read("tests/keys/ed25519_public.pem")?,
    /// )?;
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .issuer("https://api.example.com")
    ///     .trusted_key("https://login.partner.example", partner)
    ///     .audience("https://api.example.com")
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusted_key(mut self, issuer: impl Into<String>, key: Key) -> Self {
        let issuer: Arc<str> = Arc::from(issuer.into());
        self.settings.keys.push(Ok((key, KeyRole::Trusted(issuer))));
        self
    }

    /// Several keys of one third-party `issuer`, e.g. from [`Key::from_jwk_set_json`]. See
    /// [`trusted_key`](JwtAuthBuilder::trusted_key).
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, Key};
    ///
    /// // An identity provider's published keys (here one Ed25519 key, as a JWK Set).
    /// let set = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .trusted_keys("https://login.partner.example", Key::from_jwk_set_json(set)?)
    ///     .audience("https://api.example.com")
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trusted_keys(
        mut self,
        issuer: impl Into<String>,
        keys: impl IntoIterator<Item = Key>,
    ) -> Self {
        let issuer: Arc<str> = Arc::from(issuer.into());
        self.settings
            .keys
            .extend(keys.into_iter().map(|key| Ok((key, KeyRole::Trusted(Arc::clone(&issuer))))));
        self
    }

    /// Verify with the keys of a remote JWK Set too (feature `jwks`), one call per identity
    /// provider: an identity provider's
    /// keys, refreshed in the background, bound to the issuer the set was built for (see
    /// [`RemoteJwks::builder`](crate::jwks::RemoteJwks::builder)). Like trusted keys, they never sign,
    /// their tokens never renew, and an [`audience`](JwtAuthBuilder::audience) is required.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::jwks::RemoteJwks;
    ///
    /// let google = RemoteJwks::discover("https://accounts.google.com").fetch().await?;
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .remote_jwks(google)
    ///     .audience("1234.apps.googleusercontent.com")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn remote_jwks(mut self, jwks: crate::jwks::RemoteJwks) -> Self {
        self.settings.remote.push(jwks);
        self
    }

    /// Our issuer name: set as `iss` in the tokens this service signs, and required in every
    /// token its own keys (signing and previous) verify. Only tokens with this `iss` renew.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .issuer("https://api.example.com")
    ///     .build()?
    ///     .issuer();
    /// let claims = issuer.verify::<NoCustomClaims>(&issuer.issue("42", &())?.token)?;
    /// assert_eq!(claims.registered().issuer(), Some("https://api.example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.settings.issuer = Some(issuer.into());
        self
    }

    /// Require `aud` to contain this audience (or one of the audiences given by repeated calls).
    /// The first one is put in the tokens this service signs.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .audience("https://api.example.com")
    ///     .audience("https://legacy.example.com")
    ///     .build()?
    ///     .issuer();
    /// let claims = issuer.verify::<NoCustomClaims>(&issuer.issue("42", &())?.token)?;
    /// assert!(claims.registered().audience().unwrap().contains("https://api.example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.settings.audiences.push(audience.into());
        self
    }

    /// Accept third-party tokens without any audience check: a token the provider issued for
    /// *any* service would be accepted here. Only for a provider that issues tokens to this
    /// service alone. Without it, trusting a key with no [`audience`](JwtAuthBuilder::audience)
    /// is a [`ConfigError::TrustedKeysWithoutAudience`].
    ///
    /// ```
    /// use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key};
    /// use tower_sliding_jwt::error::ConfigError;
    ///
    /// let pem = std::fs::read("tests/keys/ed25519_public.pem")?;
    /// let partner = Key::from_public_pem(Algorithm::EdDSA, pem)?;
    /// let builder = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .trusted_key("https://login.partner.example", partner);
    /// assert_eq!(builder.clone().build().unwrap_err(), ConfigError::TrustedKeysWithoutAudience);
    /// // The provider issues tokens for this service alone:
    /// let layer = builder.dangerously_accept_any_audience_from_trusted_keys().build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dangerously_accept_any_audience_from_trusted_keys(mut self) -> Self {
        self.settings.any_audience_from_trusted_keys = true;
        self
    }

    /// The kinds of token accepted, by the header's `typ`: a token that has a `typ` must name one
    /// of them (without case, with or without `application/`); a token without `typ` is
    /// accepted. Default: `JWT` and `at+jwt` (RFC 9068 access tokens).
    ///
    /// Explicit typing (RFC 8725 section 3.11) keeps other JWTs signed with the same key, such
    /// as password-reset or logout tokens, from being used as access tokens.
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_types(["JWT", "at+jwt", "dpop+jwt"])
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn token_types<T: Into<String>>(mut self, types: impl IntoIterator<Item = T>) -> Self {
        self.settings.token_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Tolerance for clock skew on `exp`, `nbf` and `iat`. Default 5 s. Never applied to renewal:
    /// a token accepted only thanks to leeway does not renew.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .leeway(Duration::from_secs(30))
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// Whether `sub` is required. Default `true`.
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// // Machine-to-machine tokens without `sub`.
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .require_subject(false)
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn require_subject(mut self, required: bool) -> Self {
        self.settings.require_sub = required;
        self
    }

    /// Refuse tokens longer than this many bytes, before decoding them. Default 8 KiB.
    ///
    /// ```
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .max_token_size(100)
    ///     .build()?
    ///     .issuer();
    /// let long = "x".repeat(101);
    /// assert!(matches!(issuer.verify::<NoCustomClaims>(&long), Err(TokenError::TooLarge)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.settings.max_token_bytes = bytes;
        self
    }

    /// Where tokens are read from, in order; replaces the default (`Authorization: Bearer`).
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, TokenSource};
    ///
    /// // An API client's bearer token first, else the browser's cookie.
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_sources([TokenSource::Bearer, TokenSource::cookie("token")])
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.settings.sources = sources.into_iter().collect();
        self
    }

    /// The lifetime of login and renewed tokens: how long a client may stay idle. Default
    /// 5 minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .token_lifetime(Duration::from_secs(15 * 60))
    ///     .build()?
    ///     .issuer();
    /// assert_eq!(issuer.issue("42", &())?.expires_in, 15 * 60);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.lifetimes.token = lifetime;
        self
    }

    /// The session limit: how long after login (`auth_time`, or `iat` for tokens without it) a
    /// session ends, however active its client. No renewal reaches beyond it, and our tokens
    /// that do are refused. Default 24 hours.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// // A working day: the user logs in again the next morning, however active.
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .session_limit(Duration::from_secs(10 * 3600))
    ///     .build()?
    ///     .issuer();
    /// let login = issuer.issue("42", &())?;
    /// assert_eq!(login.session_expires_at - issuer.now(), 10 * 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_limit(mut self, limit: Duration) -> Self {
        self.settings.lifetimes.session_limit = limit;
        self
    }

    /// Let a login choose a longer session limit ("remember me"), up to this one, with
    /// [`Issuer::issue_with`](crate::Issuer::issue_with). The choice travels in the token
    /// (`session_limit`, `token_lifetime`), every renewal keeps it, and a token of ours that
    /// claims more than this is refused. Default: no longer sessions.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::renewal::SessionLifetimes;
    ///
    /// let day = Duration::from_secs(24 * 3600);
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .allow_longer_sessions(30 * day)
    ///     .build()?
    ///     .issuer();
    /// let remember_me = issuer.issue_with("42", &(), SessionLifetimes::new().session_limit(30 * day))?;
    /// assert_eq!(remember_me.session_expires_at - issuer.now(), 30 * 24 * 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_longer_sessions(mut self, up_to: Duration) -> Self {
        self.settings.lifetimes.longest_session_limit = Some(up_to);
        self
    }

    /// Sliding renewal: when tokens renew, which responses carry the successor, and how (see
    /// [`RenewalPolicy`]).
    ///
    /// A builder without a signing key is a verifier (a resource server for an identity
    /// provider, say): renewal is off for it unless a policy is given here, and giving one that
    /// renews is the configuration error [`RenewalWithoutSigningKey`](ConfigError::RenewalWithoutSigningKey).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_lifetime(Duration::from_secs(15 * 60))
    ///     .renewal(RenewalPolicy::new().renew_within(Duration::from_secs(5 * 60)))
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn renewal(mut self, policy: RenewalPolicy) -> Self {
        self.settings.renewal = policy;
        self.settings.renewal_chosen = true;
        self
    }

    /// The clock for validation, renewal and issuing. Default: the system clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::error::TokenError;
    /// use tower_sliding_jwt::{JwtAuthLayer, ManualClock, NoCustomClaims};
    ///
    /// let clock = ManualClock::new(1_800_000_000);
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .clock(clock.clone())
    ///     .build()?
    ///     .issuer();
    /// let token = issuer.issue("42", &())?.token;
    /// clock.advance(Duration::from_secs(3600));
    /// assert!(matches!(issuer.verify::<NoCustomClaims>(&token), Err(TokenError::Expired)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.settings.clock = Arc::new(clock);
        self
    }

    /// Optional authentication: a request without any token passes through without claims (a
    /// request with a bad token is still refused). Default `false`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .optional(true)
    ///     .build()?;
    /// let inner =
    ///     service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let anonymous = layer.layer(inner).oneshot(Request::new(())).await?;
    /// assert_eq!(anonymous.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn optional(mut self, optional: bool) -> Self {
        self.settings.optional = optional;
        self
    }

    /// Answer CORS preflight requests (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`, no gRPC content type) with `204 No Content` and an empty
    /// body, as browsers send them without credentials. Default `true`.
    ///
    /// The inner service never sees a preflight: anyone can add those two headers, and a route
    /// that answers every method (axum's `any`, a fallback, a tonic service) would otherwise run
    /// without a token. Put a CORS layer (tower-http's `CorsLayer`) *outside* this one; it
    /// answers preflights itself or decorates this answer. With `false`, a preflight is
    /// authenticated like any request (and refused, having no token).
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// // Preflights are then authenticated like any request, and refused for want of a token.
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .answer_cors_preflights(false)
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn answer_cors_preflights(mut self, answer: bool) -> Self {
        self.settings.answer_preflight = answer;
        self
    }

    /// The cross-site request check for requests authenticated by a cookie (see
    /// [`CsrfPolicy`]). Default: on, same-origin only. Bearer tokens are never affected.
    ///
    /// ```
    /// use tower_sliding_jwt::{CsrfPolicy, JwtAuthLayer, TokenSource};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_sources([TokenSource::cookie("token")])
    ///     .csrf(CsrfPolicy::new().allow_origin("https://app.example.com"))
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn csrf(mut self, policy: CsrfPolicy) -> Self {
        self.settings.csrf = policy;
        self
    }

    /// Check DPoP-bound tokens against the proof each request carries, instead of refusing
    /// them (see [`DpopPolicy`]): a copied token is worthless without the client's key.
    ///
    /// ```
    /// use tower_sliding_jwt::{DpopPolicy, JwtAuthLayer};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .dpop(DpopPolicy::new().public_origin("https://api.example.com"))
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn dpop(mut self, policy: DpopPolicy) -> Self {
        self.settings.dpop = Some(policy);
        self
    }

    /// The realm of `WWW-Authenticate` challenges. Default `api`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .realm("billing")
    ///     .build()?;
    /// let inner =
    ///     service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let refused = layer.layer(inner).oneshot(Request::new(())).await?;
    /// assert_eq!(refused.headers()["www-authenticate"], r#"Bearer realm="billing""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.settings.realm = realm.into();
        self
    }

    /// Consult `check` for every verified token (see [`RevocationCheck`]).
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::revocation::InMemoryRevocations;
    ///
    /// let revocations = InMemoryRevocations::new();
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .revocation(revocations.clone())
    ///     .build()?;
    /// // Handlers keep `revocations` to end sessions (logout).
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn revocation(mut self, check: impl RevocationCheck) -> Self {
        self.settings.revocation = Some(Arc::new(check));
        self
    }

    /// What to answer when the revocation store cannot be asked. Default 503.
    ///
    /// ```
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::revocation::RevocationFailure;
    ///
    /// // Send clients back to log in rather than retry while the store is down.
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .on_revocation_failure(RevocationFailure::Unauthorized)
    ///     .build()?;
    /// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
    /// ```
    pub fn on_revocation_failure(mut self, failure: RevocationFailure) -> Self {
        self.settings.revocation_failure = failure;
        self
    }

    /// Remember up to `capacity` verified tokens (0 turns the cache off). Default 4096.
    ///
    /// A client sends the same token for every request of its lifetime; a token seen again skips
    /// its signature check and parsing (an RS256 verification costs about 12 µs, a cache hit well
    /// under one). `exp`/`nbf`/`iat`, revocation and the authorization check still run on every
    /// request. A hit requires the whole token to match byte for byte.
    ///
    /// Memory: at most `capacity` entries of the token (tokens over 2 KiB are never cached) plus
    /// its claims: about 2.4 KiB each in the worst case, so under 10 MiB by default, and around
    /// 1 MiB for typical 400-byte tokens.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, header::AUTHORIZATION};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::JwtAuthLayer;
    ///
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// for (capacity, remembered) in [(4096, 1), (0, 0)] {
    ///     let layer = JwtAuthLayer::builder()
    ///         .hs256(b"an example secret of at least 32 bytes")
    ///         .verified_token_cache(capacity)
    ///         .build()?;
    ///     let token = layer.issuer().issue("42", &())?.token;
    ///     let bearer = format!("Bearer {token}");
    ///     let request = Request::builder().header(AUTHORIZATION, bearer).body(())?;
    ///     assert_eq!(layer.layer(inner.clone()).oneshot(request).await?.status(), 200);
    ///     assert_eq!(layer.cached_tokens(), remembered);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.settings.cache_capacity = capacity;
        self
    }

    /// Check the configuration and build the layer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::error::ConfigError;
    ///
    /// let error = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .token_lifetime(Duration::from_secs(60))
    ///     .session_limit(Duration::from_secs(30))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error, ConfigError::SessionLimitShorterThanTokenLifetime);
    /// ```
    pub fn build(self) -> Result<JwtAuthLayer<C, R>, ConfigError> {
        self.settings.build(self.rejection)
    }
}

impl Settings {
    fn build<C, R>(mut self, rejection: R) -> Result<JwtAuthLayer<C, R>, ConfigError> {
        crate::claims::register_layer_claims::<C>();
        // Every problem is reported at once, so a configuration is fixed in one round.
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        for key in self.keys {
            match key {
                Ok(key) => keys.push(key),
                Err(error) => problems.push(ConfigError::Key(error)),
            }
        }
        #[cfg(feature = "jwks")]
        let has_remote = !self.remote.is_empty();
        #[cfg(not(feature = "jwks"))]
        let has_remote = false;
        // A key that failed may be the signing key: what depends on it is not judged.
        let keys_failed = !problems.is_empty();
        if keys.is_empty() && !has_remote && !keys_failed {
            problems.push(ConfigError::NoKeys);
        }
        let mut kids = HashSet::new();
        if keys.iter().filter_map(|(key, _)| key.kid()).any(|kid| !kids.insert(kid)) {
            problems.push(ConfigError::DuplicateKeyId);
        }
        let signing: Vec<&Key> = keys
            .iter()
            .filter(|(_, role)| matches!(role, KeyRole::Signing))
            .map(|(k, _)| k)
            .collect();
        if signing.len() > 1 {
            problems.push(ConfigError::SeveralSigningKeys);
        }
        if signing.iter().any(|key| !key.can_sign()) {
            problems.push(ConfigError::SigningKeyCannotSign);
        }
        problems.extend(self.lifetimes.problems());
        problems.extend(self.renewal.problems(self.lifetimes.token));
        if signing.is_empty() && self.renewal.mode != RenewalMode::Disabled {
            if self.renewal_chosen && !keys_failed {
                problems.push(ConfigError::RenewalWithoutSigningKey);
            }
            // A verifier: nothing to sign successors with, and nobody asked for them.
            self.renewal.mode = RenewalMode::Disabled;
        }
        if self.sources.is_empty() {
            problems.push(ConfigError::NoSources);
        }
        if !self.sources.iter().all(TokenSource::is_well_formed) {
            problems.push(ConfigError::InvalidSourceName);
        }
        let cookie = &self.renewal.cookie;
        if self
            .sources
            .iter()
            .any(|s| matches!(s, TokenSource::Cookie(n) if !cookie.allows_name(n)))
        {
            problems.push(ConfigError::CookiePrefixMismatch);
        }
        if self.max_token_bytes == 0 {
            problems.push(ConfigError::ZeroMaxTokenSize);
        }
        if !quotable(&self.realm) {
            problems.push(ConfigError::InvalidHeaderValue("realm"));
        }
        if let Some(attribute) = cookie.invalid_attribute() {
            problems.push(ConfigError::InvalidHeaderValue(attribute));
        }
        let trusts_others = has_remote || keys.iter().any(|(_, role)| !role.is_ours());
        if trusts_others && self.audiences.is_empty() && !self.any_audience_from_trusted_keys {
            problems.push(ConfigError::TrustedKeysWithoutAudience);
        }
        if !self.token_types.iter().all(|typ| quotable(typ) && !typ.is_empty()) {
            problems.push(ConfigError::InvalidHeaderValue("token type"));
        }
        let leeway = secs(self.leeway);
        let dpop = match self.dpop.take().map(|policy| policy.compile(leeway)) {
            None => None,
            Some(Ok(verifier)) => Some(Arc::new(verifier)),
            Some(Err(reason)) => {
                problems.push(ConfigError::InvalidDpopPolicy(reason));
                None
            }
        };
        match problems.len() {
            0 => {}
            1 => return Err(problems.remove(0)),
            _ => return Err(ConfigError::Several(problems)),
        }
        let signing_header = signing.first().map(|key| jose_header(key.algorithm(), key.kid()));
        let mut rules = Rules {
            leeway: secs(self.leeway),
            own_issuer: self.issuer.clone(),
            audiences: self.audiences.clone(),
            require_sub: self.require_sub,
            max_token_bytes: self.max_token_bytes,
            token_types: self.token_types,
            accepts_jwt_type: false,
            session_limit: secs(self.lifetimes.session_limit),
            longest_session_limit: self.lifetimes.longest_session_limit(),
            dpop: dpop.is_some(),
        };
        rules.accepts_jwt_type = rules.accepts_type("JWT");
        let core = Core {
            keys: KeySet::new(keys),
            rules,
            issuer: self.issuer,
            audience: self.audiences.into_iter().next(),
            renewal: self.renewal,
            lifetimes: self.lifetimes,
            sources: self.sources,
            clock: self.clock,
            revocation: self.revocation,
            revocation_failure: self.revocation_failure,
            signing_header,
            dpop,
            meters: crate::metrics::Meters::register(),
            #[cfg(feature = "jwks")]
            remote: self.remote,
        };
        tracing::debug!(
            target: "tower_sliding_jwt",
            backend = %crate::keys::crypto::CryptoBackend::ACTIVE,
            keys = core.keys.iter().count(),
            "JWT layer configured"
        );
        let meters = core.meters.clone();
        let config = LayerConfig {
            core: Arc::new(core),
            cache: TokenCache::new(self.cache_capacity, meters).map(Arc::new),
            optional: self.optional,
            answer_preflight: self.answer_preflight,
            realm: self.realm,
            authorize: None,
            require: None,
            csrf: self.csrf,
        };
        Ok(JwtAuthLayer::from_parts(Arc::new(config), rejection))
    }
}

impl<C, R: Clone> Clone for JwtAuthBuilder<C, R> {
    fn clone(&self) -> Self {
        JwtAuthBuilder {
            settings: self.settings.clone(),
            rejection: self.rejection.clone(),
            claims: PhantomData,
        }
    }
}

impl<C, R> fmt::Debug for JwtAuthBuilder<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthBuilder")
            .field("keys", &self.settings.keys)
            .field("issuer", &self.settings.issuer)
            .field("audiences", &self.settings.audiences)
            .field("sources", &self.settings.sources)
            .field("lifetimes", &self.settings.lifetimes)
            .field("renewal", &self.settings.renewal)
            .field("optional", &self.settings.optional)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::renewal::CookieSettings;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn err<C, R>(builder: JwtAuthBuilder<C, R>) -> ConfigError {
        builder.build().expect_err("the configuration must be refused")
    }

    #[test]
    fn refusals_are_errors_not_panics() {
        let b = JwtAuthLayer::builder;
        assert!(matches!(
            err(b().hs256(b"short")),
            ConfigError::Key(KeyError::SecretTooShort { .. })
        ));
        assert_eq!(err(b()), ConfigError::NoKeys);
        assert_eq!(err(b().hs256(SECRET).hs256(SECRET)), ConfigError::SeveralSigningKeys);
        let pem = std::fs::read("tests/keys/ec256_public.pem").unwrap();
        let public = Key::from_public_pem(Algorithm::ES256, &pem).unwrap();
        assert_eq!(err(b().signing_key(public)), ConfigError::SigningKeyCannotSign);
        // Without a signing key, a verifier: renewal is off unless asked for.
        let public = || Key::from_public_pem(Algorithm::ES256, &pem).unwrap();
        let verifier = b().trusted_key("idp", public()).audience("api").build().unwrap();
        assert!(verifier.issuer().issue("42", &()).is_err(), "nothing to sign with");
        assert_eq!(
            err(b().trusted_key("idp", public()).audience("api").renewal(RenewalPolicy::new())),
            ConfigError::RenewalWithoutSigningKey
        );
        let verify_only = |b: JwtAuthBuilder| {
            let public = Key::from_public_pem(Algorithm::ES256, &pem).unwrap();
            b.trusted_key("idp", public).renewal(RenewalPolicy::new().mode(RenewalMode::Disabled))
        };
        assert!(verify_only(b().audience("api")).build().is_ok());
        assert_eq!(err(verify_only(b())), ConfigError::TrustedKeysWithoutAudience);
        assert!(
            verify_only(b()).dangerously_accept_any_audience_from_trusted_keys().build().is_ok()
        );
        assert_eq!(
            err(b().hs256(SECRET).token_types(["JWT", "bad\"type"])),
            ConfigError::InvalidHeaderValue("token type")
        );
        // Strings written into headers cannot add parameters or attributes of their own.
        assert_eq!(
            err(b().hs256(SECRET).realm("api\", error=\"none")),
            ConfigError::InvalidHeaderValue("realm")
        );
        let cookie = |settings: CookieSettings| {
            b().hs256(SECRET)
                .token_sources([TokenSource::cookie("token")])
                .renewal(RenewalPolicy::new().cookie(settings))
        };
        for path in ["/app; Domain=evil.example", "/a\r\nSet-Cookie: x=1", "/\u{7f}"] {
            let refused = err(cookie(CookieSettings::new().path(path)));
            assert_eq!(refused, ConfigError::InvalidHeaderValue("cookie path"), "{path:?}");
        }
        for domain in ["example.com; Secure", "", "exa mple.com", "example.com\n"] {
            let refused = err(cookie(CookieSettings::new().domain(domain)));
            assert_eq!(refused, ConfigError::InvalidHeaderValue("cookie domain"), "{domain:?}");
        }
        assert!(cookie(CookieSettings::new().path("/app").domain(".example.com")).build().is_ok());
        // Every problem at once, in the order they are checked.
        let everything_wrong = b()
            .hs256(b"short")
            .token_sources([TokenSource::cookie("token")])
            .token_lifetime(Duration::ZERO)
            .renewal(RenewalPolicy::new().cookie(CookieSettings::new().path("/;")))
            .realm("a\"b");
        let problems = err(everything_wrong);
        let ConfigError::Several(list) = &problems else { panic!("{problems:?}") };
        assert!(matches!(list[0], ConfigError::Key(KeyError::SecretTooShort { .. })), "{list:?}");
        assert_eq!(
            list[1..],
            [
                ConfigError::ZeroTokenLifetime,
                ConfigError::InvalidHeaderValue("realm"),
                ConfigError::InvalidHeaderValue("cookie path"),
            ]
        );
        let message = problems.to_string();
        assert!(message.starts_with("4 configuration problems: "), "{message}");
        let twins = b()
            .signing_key(Key::hs256(SECRET).unwrap().with_kid("k"))
            .previous_key(Key::hs256(SECRET).unwrap().with_kid("k"));
        assert_eq!(err(twins), ConfigError::DuplicateKeyId);
        let minute = || b().hs256(SECRET).token_lifetime(Duration::from_secs(60));
        let late = RenewalPolicy::new().renew_within(Duration::from_secs(90));
        assert_eq!(err(minute().renewal(late)), ConfigError::ThresholdExceedsTokenLifetime);
        assert_eq!(
            err(minute().session_limit(Duration::from_secs(30))),
            ConfigError::SessionLimitShorterThanTokenLifetime
        );
        assert_eq!(
            err(b().hs256(SECRET).allow_longer_sessions(Duration::from_secs(3_600))),
            ConfigError::LongerSessionsShorterThanSessionLimit
        );
        assert_eq!(err(b().hs256(SECRET).token_sources([])), ConfigError::NoSources);
        assert_eq!(
            err(b().hs256(SECRET).token_sources([TokenSource::cookie("a b")])),
            ConfigError::InvalidSourceName
        );
        assert_eq!(err(b().hs256(SECRET).realm("a\"b")), ConfigError::InvalidHeaderValue("realm"));
        assert_eq!(err(b().hs256(SECRET).max_token_size(0)), ConfigError::ZeroMaxTokenSize);
        let host = || b().hs256(SECRET).token_sources([TokenSource::cookie("__Host-token")]);
        assert!(host().build().is_ok());
        for settings in [
            CookieSettings::new().secure(false),
            CookieSettings::new().path("/api"),
            CookieSettings::new().domain("example.com"),
        ] {
            let policy = RenewalPolicy::new().cookie(settings);
            assert_eq!(err(host().renewal(policy)), ConfigError::CookiePrefixMismatch);
        }
        let secure = b().hs256(SECRET).token_sources([TokenSource::cookie("__Secure-token")]);
        let plain = RenewalPolicy::new().cookie(CookieSettings::new().secure(false));
        assert_eq!(err(secure.renewal(plain)), ConfigError::CookiePrefixMismatch);
        // A builder is Clone: one configuration, several variants.
        let base = b().hs256(SECRET).issuer("us");
        assert!(base.clone().optional(true).build().is_ok());
        assert!(base.build().is_ok());
    }

    /// Each refusal's message names the setting that fixes it.
    #[test]
    fn every_configuration_error_says_how_to_fix_it() {
        let b = JwtAuthLayer::builder;
        let pem = std::fs::read("tests/keys/ec256_public.pem").unwrap();
        let public = || Key::from_public_pem(Algorithm::ES256, &pem).unwrap();
        let minute = Duration::from_secs(60);
        let cases: Vec<(JwtAuthBuilder, &str)> = vec![
            (b(), "signing key"),
            (b().hs256(SECRET).hs256(SECRET), "previous keys"),
            (b().signing_key(public()), "trusted_key or previous_key"),
            (
                b().trusted_key("idp", public()).audience("api").renewal(RenewalPolicy::new()),
                "add a signing key",
            ),
            (
                b().signing_key(Key::hs256(SECRET).unwrap().with_kid("k"))
                    .previous_key(Key::hs256(SECRET).unwrap().with_kid("k")),
                "with_kid",
            ),
            (
                b().hs256(SECRET)
                    .token_lifetime(minute)
                    .renewal(RenewalPolicy::new().renew_within(2 * minute)),
                "renew_within",
            ),
            (
                b().hs256(SECRET).renewal(RenewalPolicy::new().renew_within_fraction(2.0)),
                "renew_within_fraction",
            ),
            (b().hs256(SECRET).session_limit(Duration::from_secs(1)), "session_limit"),
            (b().hs256(SECRET).allow_longer_sessions(minute), "allow_longer_sessions"),
            (b().hs256(SECRET).token_lifetime(Duration::ZERO), "token_lifetime"),
            (b().hs256(SECRET).token_sources([]), "token_sources"),
            (b().hs256(SECRET).token_sources([TokenSource::cookie("a b")]), "letters, digits"),
            (b().hs256(SECRET).realm("a\"b"), "visible ASCII"),
            (b().hs256(SECRET).max_token_size(0), "max_token_size"),
            (
                b().hs256(SECRET)
                    .token_sources([TokenSource::cookie("__Host-t")])
                    .renewal(RenewalPolicy::new().cookie(CookieSettings::new().secure(false))),
                "needs Secure",
            ),
            (b().trusted_key("idp", public()), "audience()"),
            (b().hs256(SECRET).dpop(DpopPolicy::new()), "DpopPolicy::public_origin"),
            (
                b().hs256(SECRET).dpop(DpopPolicy::new().public_origin("api.example.com")),
                "DpopPolicy::public_origin",
            ),
            (
                b().hs256(SECRET).dpop(
                    DpopPolicy::new()
                        .public_origin("https://api.example.com")
                        .algorithms([Algorithm::HS256]),
                ),
                "DpopPolicy::algorithms",
            ),
            (
                b().hs256(SECRET).dpop(
                    DpopPolicy::new().public_origin("https://a.example").max_age(Duration::ZERO),
                ),
                "DpopPolicy::max_age",
            ),
            (
                b().hs256(SECRET)
                    .dpop(DpopPolicy::new().public_origin("https://a.example").replay_capacity(0)),
                "DpopPolicy::replay_capacity",
            ),
            (
                b().hs256(SECRET).dpop(
                    DpopPolicy::new()
                        .public_origin("https://a.example")
                        .nonces(b"short", Duration::from_secs(60)),
                ),
                "DpopPolicy::nonces",
            ),
            (
                b().hs256(SECRET).dpop(
                    DpopPolicy::new()
                        .public_origin("https://a.example")
                        .nonces([1; 32], Duration::ZERO),
                ),
                "DpopPolicy::nonces",
            ),
        ];
        for (builder, fix) in cases {
            let error = err(builder);
            assert!(!matches!(error, ConfigError::Several(_)), "one problem at a time: {error}");
            let message = error.to_string();
            assert!(message.contains(fix), "{message:?} does not say {fix:?}");
        }
    }

    #[test]
    fn error_messages_are_clear_and_secret_free() {
        let message = err(JwtAuthLayer::builder().hs256(b"tiny-secret")).to_string();
        assert!(message.contains("at least 32 bytes"), "{message}");
        assert!(!message.contains("tiny-secret"), "{message}");
    }
}
