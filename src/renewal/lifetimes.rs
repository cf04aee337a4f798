//! How long tokens and sessions last: the configured [`Lifetimes`] that login, explicit renewal
//! and sliding renewal all follow, and the [`SessionLifetimes`] one login may choose instead.

use std::time::Duration;

use crate::clock::secs;
use crate::error::ConfigError;

/// The configured lifetimes (set on the builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lifetimes {
    /// The lifetime of login and renewed tokens.
    pub(crate) token: Duration,
    /// The absolute limit of a session, counted from login.
    pub(crate) session_limit: Duration,
    /// The longest session limit a login may choose (at least `session_limit`).
    pub(crate) longest_session_limit: Option<Duration>,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            token: Duration::from_secs(300),
            session_limit: Duration::from_secs(24 * 3600),
            longest_session_limit: None,
        }
    }
}

impl Lifetimes {
    /// The token lifetime in seconds.
    pub(crate) fn token_secs(&self) -> i64 {
        secs(self.token)
    }

    /// The longest session limit a login may choose, in seconds.
    pub(crate) fn longest_session_limit(&self) -> i64 {
        let longest = self.longest_session_limit.unwrap_or(self.session_limit);
        secs(longest.max(self.session_limit))
    }

    /// Every inconsistency of the numbers, none when they fit together.
    pub(crate) fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if secs(self.token) == 0 {
            problems.push(ConfigError::ZeroTokenLifetime);
        }
        if self.session_limit < self.token {
            problems.push(ConfigError::SessionLimitShorterThanTokenLifetime);
        }
        if self.longest_session_limit.is_some_and(|longest| longest < self.session_limit) {
            problems.push(ConfigError::LongerSessionsShorterThanSessionLimit);
        }
        problems
    }
}

/// Lifetimes one login chooses instead of the configured ones ("remember me"): see
/// [`Issuer::issue_with`](crate::Issuer::issue_with). Both stay within what the builder allows:
/// a token lifetime no longer than the session limit, and a session limit no longer than
/// [`allow_longer_sessions`](crate::JwtAuthBuilder::allow_longer_sessions).
///
/// ```
/// use std::time::Duration;
/// use tower_sliding_jwt::renewal::SessionLifetimes;
///
/// let remember_me = SessionLifetimes::new().session_limit(Duration::from_secs(30 * 24 * 3600));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "lifetimes do nothing until given to `Issuer::issue_with`"]
pub struct SessionLifetimes {
    pub(crate) token_lifetime: Option<Duration>,
    pub(crate) session_limit: Option<Duration>,
}

impl SessionLifetimes {
    /// The configured lifetimes, until changed.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::SessionLifetimes;
    ///
    /// assert_eq!(SessionLifetimes::new(), SessionLifetimes::default());
    /// ```
    pub fn new() -> SessionLifetimes {
        SessionLifetimes::default()
    }

    /// The lifetime of this session's tokens.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::renewal::SessionLifetimes;
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// let short = SessionLifetimes::new().token_lifetime(Duration::from_secs(60));
    /// assert_eq!(issuer.issue_with("42", &(), short)?.expires_in, 60);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_lifetime(mut self, lifetime: Duration) -> SessionLifetimes {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// The session limit of this login, counted from it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::JwtAuthLayer;
    /// use tower_sliding_jwt::renewal::SessionLifetimes;
    ///
    /// let issuer = JwtAuthLayer::builder().hs256([7u8; 32]).build()?.issuer();
    /// // Shorter than the configured 24 hours, say for a shared computer.
    /// let brief = SessionLifetimes::new().session_limit(Duration::from_secs(3600));
    /// let login = issuer.issue_with("42", &(), brief)?;
    /// assert_eq!(login.session_expires_at - issuer.now(), 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_limit(mut self, limit: Duration) -> SessionLifetimes {
        self.session_limit = Some(limit);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_numbers_are_each_reported() {
        let minute = Duration::from_secs(60);
        let ok = Lifetimes { token: minute, ..Lifetimes::default() };
        assert!(ok.problems().is_empty());
        let zero = Lifetimes { token: Duration::ZERO, ..ok };
        assert_eq!(zero.problems(), [ConfigError::ZeroTokenLifetime]);
        let short = Lifetimes { session_limit: Duration::from_secs(59), ..ok };
        assert_eq!(short.problems(), [ConfigError::SessionLimitShorterThanTokenLifetime]);
        let longer = Lifetimes { longest_session_limit: Some(minute), ..ok };
        assert_eq!(longer.problems(), [ConfigError::LongerSessionsShorterThanSessionLimit]);
        assert_eq!(ok.longest_session_limit(), 24 * 3600, "no longer sessions by default");
    }
}
