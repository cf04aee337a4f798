//! What the layer reports to the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`), so any exporter (Prometheus, StatsD, OpenTelemetry) sees it. Without the feature
//! nothing is recorded and nothing is compiled in.
//!
//! | name | kind | labels | what it counts |
//! |---|---|---|---|
//! | `tower_sliding_jwt_requests_total` | counter | `outcome` | requests the layer decided: `accepted`, `anonymous` (optional mode, no token), `missing`, `invalid` (a bad token or DPoP proof, or an ambiguous request), `revoked`, `cross_site`, `unavailable` (keys too stale or the revocation store down), `forbidden` |
//! | `tower_sliding_jwt_preflights_total` | counter | | CORS preflights the layer answered |
//! | `tower_sliding_jwt_renewals_total` | counter | `kind` | renewals written into responses: `header`, `cookie`, `advise` |
//! | `tower_sliding_jwt_revocation_checks_total` | counter | `result` | revocation answers: `active`, `revoked`, `unavailable` |
//! | `tower_sliding_jwt_revocation_check_seconds` | histogram | | time to answer, for checks that needed I/O |
//! | `tower_sliding_jwt_revocation_local_answers_total` | counter | `result` | the Redis store's local answers: `hit`, `miss` |
//! | `tower_sliding_jwt_jwks_downloads_total` | counter | `issuer`, `result` | downloads of a remote JWK Set: `ok`, `error` |
//! | `tower_sliding_jwt_jwks_keys` | gauge | `issuer` | keys in the set after its last good download |
//! | `tower_sliding_jwt_jwks_age_seconds` | gauge | `issuer` | seconds since the last good download, set at every download and every [readiness](crate::Issuer::readiness) check |
//! | `tower_sliding_jwt_token_cache_total` | counter | `result` | verified-token cache lookups: `hit`, `miss` |
//! | `tower_sliding_jwt_token_cache_entries` | gauge | | entries in the verified-token caches of every layer |
//!
//! Every label value is one of the words listed, or an issuer from the configuration: never a
//! token, a subject or anything else a client chooses, so the number of series stays bounded.
//!
//! Install the recorder before building the layer (and the key sets and the Redis store): each
//! registers its metrics once, when it is built, so that counting a request is an atomic add.
//!
//! ```
//! # #[cfg(feature = "metrics")] {
//! use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! use tower::{Layer, Service, service_fn};
//! use tower_sliding_jwt::JwtAuthLayer;
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshots = recorder.snapshotter();
//! metrics::with_local_recorder(&recorder, || {
//!     let layer = JwtAuthLayer::builder().hs256([7u8; 32]).build().unwrap();
//!     let mut service = layer.layer(service_fn(|_: http::Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//!     }));
//!     // Refused in `call` itself, before any future is polled: no token.
//!     let _refused = service.call(http::Request::new(()));
//! });
//! let counted = snapshots.snapshot().into_vec().into_iter().any(|(key, _, _, value)| {
//!     let key = key.key();
//!     key.name() == tower_sliding_jwt::metrics::REQUESTS
//!         && key.labels().any(|l| l.key() == "outcome" && l.value() == "missing")
//!         && value == DebugValue::Counter(1)
//! });
//! assert!(counted);
//! # }
//! ```

use crate::error::TokenError;
use crate::rejection::Rejection;

/// Requests the layer decided, by `outcome`.
pub const REQUESTS: &str = "tower_sliding_jwt_requests_total";
/// CORS preflights the layer answered.
pub const PREFLIGHTS: &str = "tower_sliding_jwt_preflights_total";
/// Renewals written into responses, by `kind`.
pub const RENEWALS: &str = "tower_sliding_jwt_renewals_total";
/// Revocation answers, by `result`.
pub const REVOCATION_CHECKS: &str = "tower_sliding_jwt_revocation_checks_total";
/// Seconds a revocation check that needed I/O took.
pub const REVOCATION_CHECK_SECONDS: &str = "tower_sliding_jwt_revocation_check_seconds";
/// The Redis store's local answers, by `result` (`hit`, `miss`).
pub const REVOCATION_LOCAL_ANSWERS: &str = "tower_sliding_jwt_revocation_local_answers_total";
/// Downloads of a remote JWK Set, by `issuer` and `result`.
pub const JWKS_DOWNLOADS: &str = "tower_sliding_jwt_jwks_downloads_total";
/// Keys in a remote JWK Set, by `issuer`.
pub const JWKS_KEYS: &str = "tower_sliding_jwt_jwks_keys";
/// Seconds since a remote JWK Set's last good download, by `issuer`.
pub const JWKS_AGE_SECONDS: &str = "tower_sliding_jwt_jwks_age_seconds";
/// Verified-token cache lookups, by `result` (`hit`, `miss`).
pub const TOKEN_CACHE: &str = "tower_sliding_jwt_token_cache_total";
/// Entries in the verified-token cache.
pub const TOKEN_CACHE_ENTRIES: &str = "tower_sliding_jwt_token_cache_entries";

/// How the layer decided a request: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    Anonymous,
    Missing,
    Invalid,
    Revoked,
    CrossSite,
    Unavailable,
    Forbidden,
}

impl Outcome {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    const ALL: [Outcome; 8] = [
        Outcome::Accepted,
        Outcome::Anonymous,
        Outcome::Missing,
        Outcome::Invalid,
        Outcome::Revoked,
        Outcome::CrossSite,
        Outcome::Unavailable,
        Outcome::Forbidden,
    ];

    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Anonymous => "anonymous",
            Outcome::Missing => "missing",
            Outcome::Invalid => "invalid",
            Outcome::Revoked => "revoked",
            Outcome::CrossSite => "cross_site",
            Outcome::Unavailable => "unavailable",
            Outcome::Forbidden => "forbidden",
        }
    }

    /// The outcome of a refusal.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn of(rejection: &Rejection) -> Outcome {
        match rejection {
            Rejection::Missing => Outcome::Missing,
            Rejection::InvalidRequest(_) => Outcome::Invalid,
            Rejection::InvalidToken(TokenError::Revoked) => Outcome::Revoked,
            Rejection::InvalidToken(TokenError::RevocationUnavailable) | Rejection::Unavailable => {
                Outcome::Unavailable
            }
            Rejection::InvalidToken(_) | Rejection::InvalidDpopProof(_) => Outcome::Invalid,
            Rejection::Forbidden(_) => Outcome::Forbidden,
            Rejection::CrossSite => Outcome::CrossSite,
        }
    }
}

/// How a renewal was delivered: the `kind` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Renewal {
    Header,
    Cookie,
    Advise,
}

/// What a revocation check answered: the `result` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Active,
    Revoked,
    Unavailable,
}

/// A layer's counters, registered once, when the layer is built, with the recorder in effect
/// then (install it first): counting is then an atomic add, with no lookup per request.
#[derive(Clone, Default)]
pub(crate) struct Meters {
    #[cfg(feature = "metrics")]
    handles: Option<std::sync::Arc<Handles>>,
}

#[cfg(feature = "metrics")]
struct Handles {
    requests: [::metrics::Counter; 8],
    preflights: ::metrics::Counter,
    renewals: [::metrics::Counter; 3],
    answers: [::metrics::Counter; 3],
    cache: [::metrics::Counter; 2],
    cache_entries: ::metrics::Gauge,
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables, clippy::unused_self))]
impl Meters {
    /// The handles of every metric a layer records.
    pub(crate) fn register() -> Meters {
        #[cfg(feature = "metrics")]
        {
            use ::metrics::{counter, gauge};
            let handles = Handles {
                requests: Outcome::ALL.map(|o| counter!(REQUESTS, "outcome" => o.label())),
                preflights: counter!(PREFLIGHTS),
                renewals: ["header", "cookie", "advise"].map(|k| counter!(RENEWALS, "kind" => k)),
                answers: ["active", "revoked", "unavailable"]
                    .map(|r| counter!(REVOCATION_CHECKS, "result" => r)),
                cache: ["hit", "miss"].map(|r| counter!(TOKEN_CACHE, "result" => r)),
                cache_entries: gauge!(TOKEN_CACHE_ENTRIES),
            };
            Meters { handles: Some(std::sync::Arc::new(handles)) }
        }
        #[cfg(not(feature = "metrics"))]
        Meters {}
    }

    pub(crate) fn request(&self, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.requests[outcome as usize].increment(1);
        }
    }

    pub(crate) fn refused(&self, rejection: &Rejection) {
        #[cfg(feature = "metrics")]
        self.request(Outcome::of(rejection));
    }

    pub(crate) fn preflight(&self) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.preflights.increment(1);
        }
    }

    pub(crate) fn renewal(&self, kind: Renewal) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.renewals[kind as usize].increment(1);
        }
    }

    pub(crate) fn revocation(&self, answer: Answer) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.answers[answer as usize].increment(1);
        }
    }

    pub(crate) fn token_cache(&self, hit: bool) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles {
            h.cache[usize::from(!hit)].increment(1);
        }
    }

    /// Entries added (or, negative, removed): the gauge sums every layer's cache.
    pub(crate) fn token_cache_entries(&self, change: f64) {
        #[cfg(feature = "metrics")]
        if let Some(h) = &self.handles
            && change != 0.0
        {
            h.cache_entries.increment(change);
        }
    }
}

/// A revocation check that needed I/O took this long (looked up per check: each is a round
/// trip anyway).
#[cfg(feature = "metrics")]
pub(crate) fn revocation_latency(elapsed: std::time::Duration) {
    ::metrics::histogram!(REVOCATION_CHECK_SECONDS).record(elapsed.as_secs_f64());
}

/// The Redis store's local answers, registered when the store is built.
#[derive(Clone, Default)]
#[cfg_attr(not(feature = "redis-cache"), allow(dead_code))]
pub(crate) struct LocalAnswerMeters {
    #[cfg(feature = "metrics")]
    hit_miss: Option<std::sync::Arc<[::metrics::Counter; 2]>>,
}

#[cfg_attr(not(feature = "redis-cache"), allow(dead_code))]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables, clippy::unused_self))]
impl LocalAnswerMeters {
    pub(crate) fn register() -> LocalAnswerMeters {
        #[cfg(feature = "metrics")]
        {
            let counters = ["hit", "miss"]
                .map(|r| ::metrics::counter!(REVOCATION_LOCAL_ANSWERS, "result" => r));
            LocalAnswerMeters { hit_miss: Some(std::sync::Arc::new(counters)) }
        }
        #[cfg(not(feature = "metrics"))]
        LocalAnswerMeters {}
    }

    pub(crate) fn answer(&self, hit: bool) {
        #[cfg(feature = "metrics")]
        if let Some(counters) = &self.hit_miss {
            counters[usize::from(!hit)].increment(1);
        }
    }
}

/// One remote JWK Set's metrics, labelled with its issuer, registered when the set is built.
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
pub(crate) struct KeySetMeters {
    #[cfg(feature = "metrics")]
    handles: KeySetHandles,
}

#[cfg(feature = "metrics")]
struct KeySetHandles {
    downloads: [::metrics::Counter; 2],
    keys: ::metrics::Gauge,
    age: ::metrics::Gauge,
}

#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables, clippy::unused_self))]
impl KeySetMeters {
    pub(crate) fn register(issuer: &str) -> KeySetMeters {
        #[cfg(feature = "metrics")]
        {
            use ::metrics::{counter, gauge};
            let label = || issuer.to_owned();
            let handles = KeySetHandles {
                downloads: ["ok", "error"]
                    .map(|r| counter!(JWKS_DOWNLOADS, "issuer" => label(), "result" => r)),
                keys: gauge!(JWKS_KEYS, "issuer" => label()),
                age: gauge!(JWKS_AGE_SECONDS, "issuer" => label()),
            };
            KeySetMeters { handles }
        }
        #[cfg(not(feature = "metrics"))]
        KeySetMeters {}
    }

    /// A download ended: well, with this many keys, or not.
    pub(crate) fn download(&self, keys: Option<usize>) {
        #[cfg(feature = "metrics")]
        {
            self.handles.downloads[usize::from(keys.is_none())].increment(1);
            if let Some(keys) = keys {
                self.handles.keys.set(keys as f64);
            }
        }
    }

    pub(crate) fn age(&self, age: std::time::Duration) {
        #[cfg(feature = "metrics")]
        self.handles.age.set(age.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Forbidden;
    use crate::error::InvalidRequest;

    #[test]
    fn every_refusal_has_a_class_from_the_table() {
        let classes = ["missing", "invalid", "revoked", "cross_site", "unavailable", "forbidden"];
        for (rejection, class) in [
            (Rejection::Missing, "missing"),
            (Rejection::InvalidRequest(InvalidRequest::Repeated), "invalid"),
            (Rejection::InvalidToken(TokenError::Expired), "invalid"),
            (Rejection::InvalidToken(TokenError::Revoked), "revoked"),
            (Rejection::InvalidToken(TokenError::RevocationUnavailable), "unavailable"),
            (Rejection::Unavailable, "unavailable"),
            (Rejection::Forbidden(Forbidden::new("no")), "forbidden"),
            (Rejection::CrossSite, "cross_site"),
        ] {
            let outcome = Outcome::of(&rejection);
            assert_eq!(outcome.label(), class, "{rejection:?}");
            assert!(classes.contains(&class));
            assert_eq!(Outcome::ALL[outcome as usize], outcome, "the handles are in label order");
        }
    }
}
