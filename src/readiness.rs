//! Whether the layer can decide requests now: every remote key set fresh enough to trust, and
//! the revocation store answering. [`Issuer::readiness`](crate::Issuer::readiness) asks; a
//! health endpoint answers `503` while it is not, so a load balancer sends traffic elsewhere.

use std::fmt;
use std::time::Duration;

use crate::config::Core;
use crate::error::RevocationError;

/// What [`Issuer::readiness`](crate::Issuer::readiness) found: ready when nothing is wrong.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::revocation::InMemoryRevocations;
///
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .revocation(InMemoryRevocations::new())
///     .build()?;
/// let readiness = layer.issuer().readiness().await;
/// assert!(readiness.is_ready(), "{readiness}");
/// assert_eq!(readiness.to_string(), "ready");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Readiness {
    /// Every reason the layer cannot decide some requests now, empty when ready.
    pub problems: Vec<NotReady>,
}

impl Readiness {
    /// Whether every request can be decided now.
    ///
    /// ```
    /// use tower_sliding_jwt::readiness::Readiness;
    ///
    /// assert!(Readiness::default().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return f.write_str("ready");
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One reason the layer cannot decide some requests now.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NotReady {
    /// A remote JWK Set has had no good download for longer than its maximum staleness: the
    /// tokens of its issuer are refused (`503`) until one succeeds.
    StaleKeys {
        /// The issuer the set speaks for.
        issuer: String,
        /// Since the last good download.
        age: Duration,
    },
    /// The revocation store did not answer: every token is refused (fail closed).
    RevocationUnavailable(RevocationError),
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::StaleKeys { issuer, age } => write!(
                f,
                "the keys of {issuer} are too old to trust (last good download {} s ago)",
                age.as_secs()
            ),
            // Its message says it is the revocation store.
            NotReady::RevocationUnavailable(error) => write!(f, "{error}"),
        }
    }
}

/// Look at every part a decision needs.
pub(crate) async fn check(core: &Core) -> Readiness {
    let mut problems = Vec::new();
    #[cfg(feature = "jwks")]
    for set in &core.remote {
        let age = set.report_age();
        if age > set.max_staleness() {
            problems.push(NotReady::StaleKeys { issuer: set.issuer().to_owned(), age });
        }
    }
    if let Some(store) = &core.revocation
        && let Err(error) = store.probe().await
    {
        problems.push(NotReady::RevocationUnavailable(error));
    }
    Readiness { problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_listed_in_one_line() {
        let readiness = Readiness {
            problems: vec![
                NotReady::StaleKeys {
                    issuer: "https://idp.example".into(),
                    age: Duration::from_secs(90_000),
                },
                NotReady::RevocationUnavailable(RevocationError::new("Redis did not answer")),
            ],
        };
        assert!(!readiness.is_ready());
        assert_eq!(
            readiness.to_string(),
            "the keys of https://idp.example are too old to trust (last good download 90000 s \
             ago); the revocation store did not answer: Redis did not answer"
        );
    }
}
