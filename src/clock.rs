//! The source of "now" for validation, renewal and issuing.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since the Unix epoch (JWT `NumericDate`).
///
/// Validation, the renewal decision and [`Issuer`](crate::Issuer) all read the same clock, so a
/// test can move time forward without sleeping: see [`ManualClock`].
///
/// ```
/// use tower_sliding_jwt::{Clock, JwtAuthLayer};
///
/// /// A clock a fleet agrees on, read from somewhere else (here: fixed).
/// struct FleetClock;
///
/// impl Clock for FleetClock {
///     fn now(&self) -> i64 {
///         1_800_000_000
///     }
/// }
///
/// let layer = JwtAuthLayer::builder().hs256([7u8; 32]).clock(FleetClock).build()?;
/// assert_eq!(layer.issuer().now(), 1_800_000_000);
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system clock. The default.
///
/// ```
/// use tower_sliding_jwt::{Clock, SystemClock};
///
/// assert!(SystemClock.now() > 1_700_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 is broken; treat it as the epoch rather than panicking.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to. Cloning it shares the same time.
///
/// ```
/// use std::time::Duration;
/// use tower_sliding_jwt::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(shared.now(), 1_030);
/// clock.set(5);
/// assert_eq!(shared.now(), 5);
/// ```
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `now` (seconds since the Unix epoch).
    ///
    /// ```
    /// use tower_sliding_jwt::{Clock, ManualClock};
    ///
    /// assert_eq!(ManualClock::new(1_800_000_000).now(), 1_800_000_000);
    /// ```
    pub fn new(now: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }

    /// A clock standing at the current system time.
    ///
    /// ```
    /// use tower_sliding_jwt::{Clock, ManualClock, SystemClock};
    ///
    /// let clock = ManualClock::starting_now();
    /// assert!(SystemClock.now() - clock.now() <= 1);
    /// ```
    pub fn starting_now() -> Self {
        ManualClock::new(SystemClock.now())
    }

    /// Move the clock forward.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new(1_000);
    /// clock.advance(Duration::from_millis(61_500));
    /// assert_eq!(clock.now(), 1_061, "whole seconds");
    /// ```
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(secs)));
    }

    /// Set the clock to `now` (seconds since the Unix epoch).
    ///
    /// ```
    /// use tower_sliding_jwt::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new(1_000);
    /// clock.set(500);
    /// assert_eq!(clock.now(), 500, "a clock may be set back");
    /// ```
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

/// Whole seconds of a duration, saturating into `i64`.
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
