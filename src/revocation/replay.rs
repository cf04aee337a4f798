//! [`ReplayStore`]: the DPoP proofs a fleet has accepted, shared so that none is accepted twice.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::RevocationError;

/// Where a fleet remembers the DPoP proofs it accepted, so that a proof used on one instance is
/// refused on every other (RFC 9449 section 11.1). Given to
/// [`DpopPolicy::replay_store`](crate::DpopPolicy::replay_store);
/// `RedisRevocations` (feature `redis`) is one (`SET NX` with an expiry).
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::Mutex;
///
/// use tower_sliding_jwt::revocation::{ReplayFuture, ReplayStore};
///
/// /// Proof ids in one process's memory, never forgotten: a stand-in for a shared database.
/// #[derive(Default)]
/// struct Seen(Mutex<HashSet<String>>);
///
/// impl ReplayStore for Seen {
///     fn first_use(&self, id: &str, _until: i64) -> ReplayFuture {
///         let new = self.0.lock().unwrap().insert(id.to_owned());
///         Box::pin(std::future::ready(Ok(new)))
///     }
/// }
/// ```
pub trait ReplayStore: Send + Sync + 'static {
    /// Remember the proof `id` until `until` (Unix seconds), if it is new: `Ok(true)` the first
    /// time, `Ok(false)` when it was seen before. An error refuses the request with 503: the
    /// layer never lets a proof through unchecked.
    ///
    /// `id` is 43 URL-safe characters (a hash of the proof's key and `jti`), whatever the
    /// client sent.
    fn first_use(&self, id: &str, until: i64) -> ReplayFuture;
}

/// The answer of a [`ReplayStore`]: whether the proof is new.
pub type ReplayFuture = Pin<Box<dyn Future<Output = Result<bool, RevocationError>> + Send>>;

impl<T: ReplayStore + ?Sized> ReplayStore for Arc<T> {
    fn first_use(&self, id: &str, until: i64) -> ReplayFuture {
        (**self).first_use(id, until)
    }
}
