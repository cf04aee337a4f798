//! What the layer reports to the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`), so any exporter (Prometheus, StatsD, OpenTelemetry) sees it. Without the feature
//! nothing is recorded and nothing is compiled in.
//!
//! | name | kind | labels | what it counts |
//! |---|---|---|---|
//! | `tower_sliding_jwt_requests_total` | counter | `outcome` | requests the layer decided: `accepted`, `anonymous` (optional mode, no token), `missing`, `invalid` (a bad token or an ambiguous request), `revoked`, `cross_site`, `unavailable` (keys too stale or the revocation store down), `forbidden` |
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

/// The `outcome` of a refused request.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn refusal_class(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::Missing => "missing",
        Rejection::InvalidRequest(_) => "invalid",
        Rejection::InvalidToken(TokenError::Revoked) => "revoked",
        Rejection::InvalidToken(TokenError::RevocationUnavailable) | Rejection::Unavailable => {
            "unavailable"
        }
        Rejection::InvalidToken(_) => "invalid",
        Rejection::Forbidden(_) => "forbidden",
        Rejection::CrossSite => "cross_site",
    }
}

#[cfg(feature = "metrics")]
mod record {
    use std::time::Duration;

    use super::*;

    pub(crate) fn request(outcome: &'static str) {
        ::metrics::counter!(REQUESTS, "outcome" => outcome).increment(1);
    }

    pub(crate) fn refused(rejection: &Rejection) {
        request(refusal_class(rejection));
    }

    pub(crate) fn preflight() {
        ::metrics::counter!(PREFLIGHTS).increment(1);
    }

    pub(crate) fn renewal(kind: &'static str) {
        ::metrics::counter!(RENEWALS, "kind" => kind).increment(1);
    }

    pub(crate) fn revocation_check(result: &'static str) {
        ::metrics::counter!(REVOCATION_CHECKS, "result" => result).increment(1);
    }

    pub(crate) fn revocation_latency(elapsed: Duration) {
        ::metrics::histogram!(REVOCATION_CHECK_SECONDS).record(elapsed.as_secs_f64());
    }

    #[cfg_attr(not(feature = "redis-cache"), allow(dead_code))]
    pub(crate) fn local_answer(hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        ::metrics::counter!(REVOCATION_LOCAL_ANSWERS, "result" => result).increment(1);
    }

    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn jwks_download(issuer: &str, ok: bool, keys: Option<usize>) {
        let result = if ok { "ok" } else { "error" };
        let issuer = issuer.to_owned();
        ::metrics::counter!(JWKS_DOWNLOADS, "issuer" => issuer.clone(), "result" => result)
            .increment(1);
        if let Some(keys) = keys {
            ::metrics::gauge!(JWKS_KEYS, "issuer" => issuer).set(keys as f64);
        }
    }

    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn jwks_age(issuer: &str, age: Duration) {
        ::metrics::gauge!(JWKS_AGE_SECONDS, "issuer" => issuer.to_owned()).set(age.as_secs_f64());
    }

    pub(crate) fn token_cache(hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        ::metrics::counter!(TOKEN_CACHE, "result" => result).increment(1);
    }

    /// Entries added (or, negative, removed), summed over every layer's cache.
    pub(crate) fn token_cache_entries(change: f64) {
        if change != 0.0 {
            ::metrics::gauge!(TOKEN_CACHE_ENTRIES).increment(change);
        }
    }
}

/// Without the feature: the same calls, doing nothing, so the call sites need no `cfg`.
#[cfg(not(feature = "metrics"))]
#[allow(dead_code)]
mod record {
    use std::time::Duration;

    use super::Rejection;

    pub(crate) fn request(_: &'static str) {}
    pub(crate) fn refused(_: &Rejection) {}
    pub(crate) fn preflight() {}
    pub(crate) fn renewal(_: &'static str) {}
    pub(crate) fn revocation_check(_: &'static str) {}
    pub(crate) fn revocation_latency(_: Duration) {}
    pub(crate) fn local_answer(_: bool) {}
    pub(crate) fn jwks_download(_: &str, _: bool, _: Option<usize>) {}
    pub(crate) fn jwks_age(_: &str, _: Duration) {}
    pub(crate) fn token_cache(_: bool) {}
    pub(crate) fn token_cache_entries(_: f64) {}
}

pub(crate) use record::*;

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
            assert_eq!(refusal_class(&rejection), class, "{rejection:?}");
            assert!(classes.contains(&class));
        }
    }
}
