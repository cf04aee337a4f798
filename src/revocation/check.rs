//! The revocation hook: a check of every verified token against a denylist, its answer, and
//! what a failure to answer means.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::claims::RegisteredClaims;
use crate::error::{RevocationError, TokenError};

/// A denylist consulted for every verified token (and by [`Issuer::renew`](crate::Issuer::renew)).
///
/// A revoked token is refused as `invalid_token` ("the token has been revoked"). Return
/// [`RevocationFuture::ready`] when the answer is at hand (no allocation, the request goes on
/// synchronously) and [`RevocationFuture::pending`] when it needs I/O, such as a Redis lookup.
///
/// ```
/// use tower_sliding_jwt::RegisteredClaims;
/// use tower_sliding_jwt::revocation::{RevocationCheck, RevocationFuture, RevocationStatus};
///
/// /// Refuses every token of one user, e.g. while an account is locked.
/// struct Locked(&'static str);
///
/// impl RevocationCheck for Locked {
///     fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
///         let locked = claims.subject() == Some(self.0);
///         RevocationFuture::ready(Ok(if locked {
///             RevocationStatus::Revoked
///         } else {
///             RevocationStatus::Active
///         }))
///     }
/// }
/// ```
pub trait RevocationCheck: Send + Sync + 'static {
    /// Whether the verified token with these claims is revoked.
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture;

    /// Whether the store can answer now, for [`Issuer::readiness`](crate::Issuer::readiness)
    /// (a load balancer's health check). The default, right for a store in memory: always.
    /// A networked store asks its server something cheap.
    fn probe(&self) -> ProbeFuture {
        Box::pin(std::future::ready(Ok(())))
    }
}

impl From<&Result<RevocationStatus, RevocationError>> for crate::metrics::Answer {
    fn from(answer: &Result<RevocationStatus, RevocationError>) -> Self {
        match answer {
            Ok(RevocationStatus::Active) => crate::metrics::Answer::Active,
            Ok(RevocationStatus::Revoked) => crate::metrics::Answer::Revoked,
            Err(_) => crate::metrics::Answer::Unavailable,
        }
    }
}

/// The answer of [`RevocationCheck::probe`]: `Ok` when the store can answer.
pub type ProbeFuture = Pin<Box<dyn Future<Output = Result<(), RevocationError>> + Send>>;

impl<T: RevocationCheck + ?Sized> RevocationCheck for Arc<T> {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        (**self).check(claims)
    }

    fn probe(&self) -> ProbeFuture {
        (**self).probe()
    }
}

/// The answer of a [`RevocationCheck`].
///
/// ```
/// use tower_sliding_jwt::revocation::{RevocationFuture, RevocationStatus};
///
/// let answer = RevocationFuture::ready(Ok(RevocationStatus::Active));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// The token may be used.
    Active,
    /// The token, its session or its subject has been revoked.
    Revoked,
}

/// What the layer answers when the revocation store cannot be asked. It fails closed either way.
///
/// ```
/// use tower_sliding_jwt::JwtAuthLayer;
/// use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationFailure};
///
/// let layer = JwtAuthLayer::builder()
///     .hs256([7u8; 32])
///     .revocation(InMemoryRevocations::new())
///     .on_revocation_failure(RevocationFailure::Unauthorized)
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RevocationFailure {
    /// `503 Service Unavailable` with `Retry-After: 1` (gRPC `UNAVAILABLE`): the client may retry
    /// with the same token. The default.
    #[default]
    Unavailable,
    /// `401 invalid_token`: the client treats it like any refused token.
    Unauthorized,
}

type Answer = Result<RevocationStatus, RevocationError>;

/// The future answer of a [`RevocationCheck`]: ready at once, or pending on I/O.
///
/// ```
/// use tower_sliding_jwt::RegisteredClaims;
/// use tower_sliding_jwt::revocation::{RevocationCheck, RevocationFuture, RevocationStatus};
///
/// /// Asks a remote service (here, a stand-in that always says "active").
/// struct Remote;
///
/// impl RevocationCheck for Remote {
///     fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
///         let jti = claims.token_id().unwrap_or_default().to_owned();
///         RevocationFuture::pending(async move {
///             let _asked_about = jti;
///             Ok(RevocationStatus::Active)
///         })
///     }
/// }
/// ```
#[must_use = "a revocation answer does nothing unless awaited"]
pub struct RevocationFuture {
    inner: Inner,
}

enum Inner {
    Ready(Option<Answer>),
    Pending(Pin<Box<dyn Future<Output = Answer> + Send>>),
}

impl RevocationFuture {
    /// An answer available now.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower_sliding_jwt::revocation::{RevocationFuture, RevocationStatus};
    ///
    /// let answer = RevocationFuture::ready(Ok(RevocationStatus::Revoked)).await;
    /// assert_eq!(answer.ok(), Some(RevocationStatus::Revoked));
    /// # });
    /// ```
    pub fn ready(answer: Result<RevocationStatus, RevocationError>) -> RevocationFuture {
        RevocationFuture { inner: Inner::Ready(Some(answer)) }
    }

    /// An answer that needs I/O.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower_sliding_jwt::revocation::{RevocationFuture, RevocationStatus};
    /// use tower_sliding_jwt::error::RevocationError;
    ///
    /// let slow = RevocationFuture::pending(async {
    ///     tokio::task::yield_now().await; // where a store's round trip would be
    ///     Err::<RevocationStatus, _>(RevocationError::new("the store timed out"))
    /// });
    /// assert!(slow.await.is_err());
    /// # });
    /// ```
    pub fn pending<F>(future: F) -> RevocationFuture
    where
        F: Future<Output = Result<RevocationStatus, RevocationError>> + Send + 'static,
    {
        #[cfg(feature = "metrics")]
        let future = async move {
            let started = std::time::Instant::now();
            let answer = future.await;
            crate::metrics::revocation_latency(started.elapsed());
            answer
        };
        RevocationFuture { inner: Inner::Pending(Box::pin(future)) }
    }

    /// The answer if it is already there, or the future itself.
    pub(crate) fn into_ready(self) -> Result<Answer, RevocationFuture> {
        match self.inner {
            Inner::Ready(Some(answer)) => Ok(answer),
            inner => Err(RevocationFuture { inner }),
        }
    }
}

impl Future for RevocationFuture {
    type Output = Result<RevocationStatus, RevocationError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.inner {
            Inner::Ready(answer) => Poll::Ready(
                answer
                    .take()
                    .unwrap_or_else(|| Err(RevocationError::new("polled after completion"))),
            ),
            Inner::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for RevocationFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner {
            Inner::Ready(_) => "ready",
            Inner::Pending(_) => "pending",
        };
        f.debug_tuple("RevocationFuture").field(&state).finish()
    }
}

/// Why a revocation answer refuses the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Refused as an invalid token (revoked, or the status is unknown and 401 was chosen).
    Token(TokenError),
    /// The store could not be asked and 503 was chosen.
    Unavailable,
}

/// What a revocation answer means, for the layer and for explicit renewal alike.
pub(crate) fn verdict(
    answer: &Result<RevocationStatus, RevocationError>,
    failure: RevocationFailure,
) -> Result<(), Refusal> {
    match answer {
        Ok(RevocationStatus::Active) => Ok(()),
        Ok(RevocationStatus::Revoked) => Err(Refusal::Token(TokenError::Revoked)),
        Err(_) => Err(match failure {
            RevocationFailure::Unavailable => Refusal::Unavailable,
            RevocationFailure::Unauthorized => Refusal::Token(TokenError::RevocationUnavailable),
        }),
    }
}
