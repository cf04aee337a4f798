//! [`RenewalPolicy`]: the public knobs of renewal (when a token renews, which responses carry
//! the successor, and how it is delivered), and [`NoRenewal`], a response's opt-out.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, StatusCode};

use crate::claims::RegisteredClaims;
use crate::clock::secs;
use crate::error::ConfigError;

use super::cookie::CookieSettings;

/// The default name of the response header that carries a renewed token.
///
/// ```
/// use http::HeaderMap;
/// use tower_sliding_jwt::renewal::REFRESHED_TOKEN_HEADER;
///
/// // A client reading a response.
/// fn renewal(headers: &HeaderMap) -> Option<&str> {
///     headers.get(REFRESHED_TOKEN_HEADER)?.to_str().ok()
/// }
/// assert_eq!(renewal(&HeaderMap::new()), None);
/// ```
pub const REFRESHED_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-refreshed-token");
/// The default name of the response header that announces the coming expiry in advise mode.
///
/// ```
/// use http::HeaderMap;
/// use tower_sliding_jwt::renewal::EXPIRES_IN_HEADER;
///
/// // In advise mode, a client calls its refresh endpoint when this arrives.
/// fn should_refresh(headers: &HeaderMap) -> bool {
///     headers.contains_key(EXPIRES_IN_HEADER)
/// }
/// assert!(!should_refresh(&HeaderMap::new()));
/// ```
pub const EXPIRES_IN_HEADER: HeaderName = HeaderName::from_static("x-token-expires-in");
/// A name for the header that announces the seconds left in the session (see
/// [`RenewalPolicy::session_header`]).
///
/// ```
/// use tower_sliding_jwt::RenewalPolicy;
/// use tower_sliding_jwt::renewal::SESSION_EXPIRES_IN_HEADER;
///
/// let policy = RenewalPolicy::new().session_header(SESSION_EXPIRES_IN_HEADER);
/// ```
pub const SESSION_EXPIRES_IN_HEADER: HeaderName = HeaderName::from_static("x-session-expires-in");

type Predicate = Arc<dyn Fn(StatusCode, &HeaderMap) -> bool + Send + Sync>;

/// When tokens are renewed, which responses carry the successor, and how.
///
/// How long tokens and sessions last is set on the builder
/// ([`token_lifetime`](crate::JwtAuthBuilder::token_lifetime),
/// [`session_limit`](crate::JwtAuthBuilder::session_limit)), since login tokens follow them too:
/// no renewal ever reaches beyond the session limit.
///
/// | setting | default |
/// |---|---|
/// | trigger | renew when at most half the token's lifetime remains |
/// | responses that carry a renewal | 2xx and 3xx |
/// | delivery | header `x-refreshed-token`; `Set-Cookie` when the token came from a cookie |
/// | mode | [`RenewalMode::Inject`] |
///
/// ```
/// use std::time::Duration;
/// use tower_sliding_jwt::{JwtAuthLayer, RenewalMode, RenewalPolicy};
///
/// let layer = JwtAuthLayer::builder()
///     .hs256([7u8; 32])
///     .token_lifetime(Duration::from_secs(15 * 60))
///     .renewal(
///         RenewalPolicy::new()
///             .renew_within(Duration::from_secs(5 * 60))
///             .mode(RenewalMode::Inject),
///     )
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use = "a policy does nothing until given to the builder"]
pub struct RenewalPolicy {
    pub(crate) trigger: Trigger,
    pub(crate) mode: RenewalMode,
    pub(crate) header: HeaderName,
    pub(crate) advice_header: HeaderName,
    pub(crate) session_header: Option<HeaderName>,
    pub(crate) cookie: CookieSettings,
    pub(crate) predicate: Option<Predicate>,
}

/// When a token is close enough to expiry to renew.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Trigger {
    /// When at most this many seconds remain.
    Within(i64),
    /// When at most this fraction of the token's lifetime (`exp - iat`) remains.
    Fraction(f64),
}

/// What the layer does with a token that should renew.
///
/// ```
/// use tower_sliding_jwt::{JwtAuthLayer, RenewalMode, RenewalPolicy};
///
/// // Announce the coming expiry (`x-token-expires-in`); the client calls a refresh endpoint.
/// let layer = JwtAuthLayer::builder()
///     .hs256([7u8; 32])
///     .renewal(RenewalPolicy::new().mode(RenewalMode::Advise))
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RenewalMode {
    /// Sign a renewed token and put it in the response (header, or `Set-Cookie` for cookie
    /// tokens). The default.
    #[default]
    Inject,
    /// Only announce the coming expiry with `x-token-expires-in: <seconds>`; the client then
    /// calls the application's refresh endpoint, which uses [`Issuer::renew`](crate::Issuer::renew).
    Advise,
    /// Never touch responses. [`Issuer::renew`](crate::Issuer::renew) still works.
    Disabled,
}

/// Put this in a response's extensions to keep the layer from renewing on that response (a
/// logout handler, an endpoint that issues tokens itself).
///
/// ```
/// use axum::{Extension, response::IntoResponse};
/// use tower_sliding_jwt::NoRenewal;
///
/// async fn logout() -> impl IntoResponse {
///     (Extension(NoRenewal), "logged out")
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRenewal;

impl RenewalPolicy {
    /// The defaults (see the table above).
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};
    ///
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .renewal(RenewalPolicy::new())
    ///     .build()?
    ///     .issuer();
    /// let login = issuer.issue("42", &())?;
    /// assert_eq!(login.expires_in, 300);
    /// assert_eq!(login.session_expires_at - issuer.now(), 24 * 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> RenewalPolicy {
        RenewalPolicy {
            trigger: Trigger::Fraction(0.5),
            mode: RenewalMode::Inject,
            header: REFRESHED_TOKEN_HEADER,
            advice_header: EXPIRES_IN_HEADER,
            session_header: None,
            cookie: CookieSettings::new(),
            predicate: None,
        }
    }

    /// Renew when at most `remaining` of the token's lifetime is left.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};
    /// use tower_sliding_jwt::error::ConfigError;
    ///
    /// // 15-minute tokens, renewed in their last 5 minutes.
    /// let builder = JwtAuthLayer::builder().hs256([7u8; 32]).token_lifetime(Duration::from_secs(900));
    /// let policy = RenewalPolicy::new().renew_within(Duration::from_secs(300));
    /// assert!(builder.clone().renewal(policy.clone()).build().is_ok());
    /// // A threshold past the lifetime would renew on every request.
    /// let always = policy.renew_within(Duration::from_secs(901));
    /// let error = builder.renewal(always).build().unwrap_err();
    /// assert_eq!(error, ConfigError::ThresholdExceedsTokenLifetime);
    /// ```
    pub fn renew_within(mut self, remaining: Duration) -> RenewalPolicy {
        self.trigger = Trigger::Within(secs(remaining));
        self
    }

    /// Renew when at most this fraction of the token's lifetime (`exp - iat`) is left: `0.5` (the
    /// default) renews in the second half of its life. Must be within `(0, 1]`.
    ///
    /// ```
    /// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};
    /// use tower_sliding_jwt::error::ConfigError;
    ///
    /// // Renew in the last quarter of a token's life.
    /// let late = RenewalPolicy::new().renew_within_fraction(0.25);
    /// assert!(JwtAuthLayer::builder().hs256([7u8; 32]).renewal(late).build().is_ok());
    /// let never = RenewalPolicy::new().renew_within_fraction(0.0);
    /// let error = JwtAuthLayer::builder().hs256([7u8; 32]).renewal(never).build().unwrap_err();
    /// assert_eq!(error, ConfigError::InvalidFraction);
    /// ```
    pub fn renew_within_fraction(mut self, fraction: f64) -> RenewalPolicy {
        self.trigger = Trigger::Fraction(fraction);
        self
    }

    /// Inject, advise, or disabled. Default inject.
    ///
    /// ```
    /// use tower_sliding_jwt::{RenewalMode, RenewalPolicy};
    ///
    /// // The client calls a refresh endpoint when told its token is about to expire.
    /// let advise = RenewalPolicy::new().mode(RenewalMode::Advise);
    /// ```
    pub fn mode(mut self, mode: RenewalMode) -> RenewalPolicy {
        self.mode = mode;
        self
    }

    /// The response header that carries a renewed token. Default `x-refreshed-token`.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tower_sliding_jwt::RenewalPolicy;
    ///
    /// let policy = RenewalPolicy::new().header(HeaderName::from_static("x-new-token"));
    /// ```
    pub fn header(mut self, name: HeaderName) -> RenewalPolicy {
        self.header = name;
        self
    }

    /// The response header of advise mode. Default `x-token-expires-in`.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tower_sliding_jwt::{RenewalMode, RenewalPolicy};
    ///
    /// let policy = RenewalPolicy::new()
    ///     .mode(RenewalMode::Advise)
    ///     .advice_header(HeaderName::from_static("x-renew-in"));
    /// ```
    pub fn advice_header(mut self, name: HeaderName) -> RenewalPolicy {
        self.advice_header = name;
        self
    }

    /// Announce on every successful response to one of our tokens how many seconds its session
    /// has left (until its session limit), in this header, so a client can warn its user
    /// before the session ends. Off by default; [`SESSION_EXPIRES_IN_HEADER`] is a fitting name.
    ///
    /// ```
    /// use tower_sliding_jwt::RenewalPolicy;
    /// use tower_sliding_jwt::renewal::SESSION_EXPIRES_IN_HEADER;
    ///
    /// let policy = RenewalPolicy::new().session_header(SESSION_EXPIRES_IN_HEADER);
    /// ```
    pub fn session_header(mut self, name: HeaderName) -> RenewalPolicy {
        self.session_header = Some(name);
        self
    }

    /// The attributes of renewal (and login) cookies.
    ///
    /// ```
    /// use tower_sliding_jwt::RenewalPolicy;
    /// use tower_sliding_jwt::renewal::{CookieSettings, SameSite};
    ///
    /// let policy = RenewalPolicy::new().cookie(CookieSettings::new().same_site(SameSite::Strict));
    /// ```
    pub fn cookie(mut self, settings: CookieSettings) -> RenewalPolicy {
        self.cookie = settings;
        self
    }

    /// Which responses may carry a renewal. Default: 2xx and 3xx. Informational responses
    /// (including `101 Switching Protocols`) and gRPC errors sent in the headers (a
    /// trailers-only response whose `grpc-status` is not `0`) never do, whatever the predicate
    /// says.
    ///
    /// ```
    /// use tower_sliding_jwt::RenewalPolicy;
    ///
    /// // Also renew on 404, so a client polling for a resource keeps its session.
    /// let policy = RenewalPolicy::new()
    ///     .renew_responses_when(|status, _headers| status.is_success() || status.is_redirection() || status == 404);
    /// ```
    pub fn renew_responses_when<F>(mut self, predicate: F) -> RenewalPolicy
    where
        F: Fn(StatusCode, &HeaderMap) -> bool + Send + Sync + 'static,
    {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    /// Every problem of the policy for tokens living `token_lifetime`, none when it is
    /// consistent.
    pub(crate) fn problems(&self, token_lifetime: Duration) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        match self.trigger {
            Trigger::Within(threshold) if threshold > secs(token_lifetime) => {
                problems.push(ConfigError::ThresholdExceedsTokenLifetime);
            }
            Trigger::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                problems.push(ConfigError::InvalidFraction);
            }
            _ => {}
        }
        problems
    }

    /// Whether a response with this status and these headers may carry a renewal.
    pub(crate) fn qualifies(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        let grpc_error = headers.get("grpc-status").is_some_and(|code| code != "0");
        if status.is_informational() || grpc_error {
            return false;
        }
        match &self.predicate {
            Some(predicate) => predicate(status, headers),
            None => status.is_success() || status.is_redirection(),
        }
    }

    /// Whether the trigger rule fires at `now` for a token with these claims, whose lifetime is
    /// `token_lifetime` when its `iat` does not say.
    pub(crate) fn triggers(
        &self,
        claims: &RegisteredClaims,
        now: i64,
        token_lifetime: i64,
    ) -> bool {
        let remaining = claims.exp.saturating_sub(now);
        let threshold = match self.trigger {
            Trigger::Within(threshold) => threshold,
            Trigger::Fraction(fraction) => {
                let lifetime = match claims.iat {
                    Some(iat) if iat < claims.exp => claims.exp.saturating_sub(iat),
                    _ => token_lifetime,
                };
                (lifetime as f64 * fraction).floor() as i64
            }
        };
        remaining <= threshold
    }
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        RenewalPolicy::new()
    }
}

impl fmt::Debug for RenewalPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewalPolicy")
            .field("trigger", &self.trigger)
            .field("mode", &self.mode)
            .field("header", &self.header)
            .field("advice_header", &self.advice_header)
            .field("session_header", &self.session_header)
            .field("cookie", &self.cookie)
            .field("predicate", &self.predicate.as_ref().map(|_| "custom"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::renewal::rule::tests::claims;

    #[test]
    fn validation_refuses_inconsistent_numbers() {
        let p = RenewalPolicy::new();
        let minute = Duration::from_secs(60);
        let cases = [
            (
                p.clone().renew_within(Duration::from_secs(61)),
                ConfigError::ThresholdExceedsTokenLifetime,
            ),
            (p.clone().renew_within_fraction(0.0), ConfigError::InvalidFraction),
            (p.clone().renew_within_fraction(1.5), ConfigError::InvalidFraction),
            (p.clone().renew_within_fraction(f64::NAN), ConfigError::InvalidFraction),
        ];
        for (policy, problem) in cases {
            assert_eq!(policy.problems(minute), [problem]);
        }
        assert!(p.renew_within(minute).problems(minute).is_empty());
    }

    #[test]
    fn trigger_by_fraction_and_by_duration() {
        let half = RenewalPolicy::new();
        let c = claims(1_000, 1_300);
        assert!(!half.triggers(&c, 1_149, 300), "151 s of 300 left");
        assert!(half.triggers(&c, 1_150, 300), "150 s of 300 left");
        let within = RenewalPolicy::new().renew_within(Duration::from_secs(10));
        assert!(!within.triggers(&c, 1_289, 300));
        assert!(within.triggers(&c, 1_290, 300));
    }

    #[test]
    fn qualifying_responses() {
        let p = RenewalPolicy::new();
        let h = HeaderMap::new();
        for ok in [200, 201, 204, 301, 304] {
            assert!(p.qualifies(StatusCode::from_u16(ok).unwrap(), &h), "{ok}");
        }
        for no in [101, 400, 401, 403, 404, 500, 503] {
            assert!(!p.qualifies(StatusCode::from_u16(no).unwrap(), &h), "{no}");
        }
        let everything = RenewalPolicy::new().renew_responses_when(|_, _| true);
        assert!(everything.qualifies(StatusCode::NOT_FOUND, &h));
        assert!(!everything.qualifies(StatusCode::SWITCHING_PROTOCOLS, &h));
        // gRPC: a trailers-only error is a 200 whose headers carry the status.
        let mut grpc = HeaderMap::new();
        grpc.insert("grpc-status", "0".parse().unwrap());
        assert!(p.qualifies(StatusCode::OK, &grpc));
        grpc.insert("grpc-status", "7".parse().unwrap());
        assert!(!p.qualifies(StatusCode::OK, &grpc));
        assert!(!everything.qualifies(StatusCode::OK, &grpc));
    }
}
