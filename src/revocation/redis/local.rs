//! Local answers for the Redis store: entries read from Redis, kept in memory, and dropped by
//! the invalidations Redis pushes on the same connection (RESP3 client-side caching, default
//! tracking mode).
//!
//! An answer fetched while an invalidation arrived is never kept: the push may be about the very
//! keys being read, and Redis sends it only once. Every fill notes the invalidation count before
//! its query is sent and stores its answer only if the count is unchanged when it returns, under
//! the same lock the pushes take. A lost connection drops everything (its pushes are lost too).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::{PushInfo, PushKind, Value};
use tokio::time::Instant;

/// The most entries kept; past it the oldest half of the map is not worth sorting for, so the
/// map is cleared (a miss only costs a round trip).
const MAX_ENTRIES: usize = 65_536;

/// Entries read from Redis: each key's value (`None` for absent) and when it was read.
#[derive(Clone)]
pub(super) struct LocalAnswers {
    state: Arc<Mutex<State>>,
    max_age: Duration,
    pub(super) meters: crate::metrics::LocalAnswerMeters,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, (Option<i64>, Instant)>,
    /// Invalidations (and lost connections) seen so far.
    invalidations: u64,
}

/// A fill in flight: what the invalidation count was when its query was sent.
pub(super) struct Ticket(u64);

impl LocalAnswers {
    pub(super) fn new(max_age: Duration) -> LocalAnswers {
        let meters = crate::metrics::LocalAnswerMeters::register();
        LocalAnswers { state: Arc::default(), max_age, meters }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The values of all `keys`, if every one is known and young enough.
    pub(super) fn get(&self, keys: &[String]) -> Option<Vec<Option<i64>>> {
        let state = self.state();
        let now = Instant::now();
        keys.iter()
            .map(|key| match state.entries.get(key) {
                Some((value, read)) if now.duration_since(*read) < self.max_age => Some(*value),
                _ => None,
            })
            .collect()
    }

    /// Taken before the query is sent.
    pub(super) fn ticket(&self) -> Ticket {
        Ticket(self.state().invalidations)
    }

    /// Keep what the query answered, unless an invalidation arrived since it was sent.
    pub(super) fn fill(&self, ticket: Ticket, keys: &[String], values: &[Option<i64>]) {
        let mut state = self.state();
        if state.invalidations != ticket.0 {
            return;
        }
        if state.entries.len() + keys.len() > MAX_ENTRIES {
            state.entries.clear();
        }
        let now = Instant::now();
        for (key, value) in keys.iter().zip(values) {
            state.entries.insert(key.clone(), (*value, now));
        }
    }

    /// A message Redis (or redis-rs) pushed on the connection.
    pub(super) fn pushed(&self, push: &PushInfo) {
        let mut state = self.state();
        match push.kind {
            PushKind::Invalidate => {
                state.invalidations += 1;
                // `[keys]`, or nil when Redis flushed everything.
                match push.data.first() {
                    Some(Value::Array(keys)) => {
                        for key in keys {
                            if let Value::BulkString(key) = key
                                && let Ok(key) = std::str::from_utf8(key)
                            {
                                state.entries.remove(key);
                            }
                        }
                    }
                    _ => state.entries.clear(),
                }
            }
            // Invalidations meant for a lost connection will never come.
            PushKind::Disconnection => {
                state.invalidations += 1;
                state.entries.clear();
            }
            _ => {}
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalidate(keys: &[&str]) -> PushInfo {
        let keys = keys.iter().map(|k| Value::BulkString(k.as_bytes().to_vec())).collect();
        PushInfo { kind: PushKind::Invalidate, data: vec![Value::Array(keys)] }
    }

    #[test]
    fn an_invalidation_during_a_fill_keeps_its_answer_out() {
        let local = LocalAnswers::new(Duration::from_secs(60));
        let keys = ["sid:a".to_owned(), "sub:u".to_owned()];
        // The push lands between the reply and the fill: the reply may predate the revocation.
        let ticket = local.ticket();
        local.pushed(&invalidate(&["sid:a"]));
        local.fill(ticket, &keys, &[None, None]);
        assert_eq!(local.get(&keys), None);
        // A quiet fill is kept, and a later push drops exactly its key.
        let ticket = local.ticket();
        local.fill(ticket, &keys, &[None, None]);
        assert_eq!(local.get(&keys), Some(vec![None, None]));
        local.pushed(&invalidate(&["sid:a"]));
        assert_eq!(local.get(&keys), None);
        assert_eq!(local.len(), 1);
    }

    #[test]
    fn a_lost_connection_or_a_flush_drops_everything() {
        let local = LocalAnswers::new(Duration::from_secs(60));
        let keys = ["jti:x".to_owned()];
        for push in [
            PushInfo { kind: PushKind::Disconnection, data: vec![] },
            PushInfo { kind: PushKind::Invalidate, data: vec![Value::Nil] },
        ] {
            local.fill(local.ticket(), &keys, &[Some(1)]);
            assert_eq!(local.len(), 1);
            let ticket = local.ticket();
            local.pushed(&push);
            assert_eq!(local.len(), 0);
            local.fill(ticket, &keys, &[None]);
            assert_eq!(local.len(), 0, "a fill from before the loss is not kept");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn answers_age_out_and_memory_is_bounded() {
        let local = LocalAnswers::new(Duration::from_secs(1));
        let keys = ["jti:x".to_owned()];
        local.fill(local.ticket(), &keys, &[None]);
        tokio::time::advance(Duration::from_millis(1_001)).await;
        assert_eq!(local.get(&keys), None);
        for i in 0..3 * MAX_ENTRIES {
            local.fill(local.ticket(), &[format!("jti:{i}")], &[None]);
            assert!(local.len() <= MAX_ENTRIES);
        }
    }
}
