//! A renewal decided in the request phase and written into the response (rules 5 to 8).

use std::sync::Arc;

use compact_str::CompactString;
use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use crate::claims::RegisteredClaims;
use crate::config::Core;
use crate::error::IssueError;
use crate::keys::KeyRole;
use crate::refresh::{NoRenewal, RefreshMode, Renewable, renewable, sensitive_value};
use crate::reject::forbid_storing;
use crate::source::TokenSource;
use crate::verify::payload_of;

/// What the response of an authenticated request will get, if it qualifies.
pub(crate) struct Renewal {
    core: Arc<Core>,
    /// Index of the token's source in `core.sources`.
    source: usize,
    /// `exp` of the presented token.
    old_exp: i64,
    kind: Kind,
}

enum Kind {
    /// Sign a successor from this (verified, decoded) payload.
    Inject { payload: Vec<u8>, renewable: Renewable, sub: Option<CompactString> },
    /// Announce the expiry.
    Advise,
}

impl Renewal {
    /// Rules 1 and 2: should the response to this request renew the token? Decided now; the
    /// signature is only made if the response qualifies.
    pub(crate) fn plan(
        core: &Arc<Core>,
        claims: &RegisteredClaims,
        role: &KeyRole,
        token: &str,
        source: usize,
        now: i64,
    ) -> Option<Renewal> {
        let policy = &core.refresh;
        if policy.mode == RefreshMode::Disabled || !policy.triggers(claims, now) {
            return None;
        }
        let plan =
            renewable(claims, role, core.issuer.as_deref(), policy.ttl, policy.max_session, now);
        let renewable = match plan {
            Ok(renewable) => renewable,
            Err(reason) => {
                tracing::debug!(
                    target: "tower_sliding_jwt",
                    sub = claims.sub.as_deref(),
                    jti = claims.jti.as_deref(),
                    %reason,
                    "token in the renewal window is not renewed"
                );
                return None;
            }
        };
        let kind = match policy.mode {
            RefreshMode::Advise => Kind::Advise,
            _ => Kind::Inject { payload: payload_of(token)?, renewable, sub: claims.sub.clone() },
        };
        Some(Renewal { core: Arc::clone(core), source, old_exp: claims.exp, kind })
    }

    /// Rules 5 to 8: write the renewal into a qualifying response.
    pub(crate) fn apply<B>(self, response: &mut Response<B>) {
        let core = &self.core;
        let policy = &core.refresh;
        if response.extensions().get::<NoRenewal>().is_some()
            || !policy.qualifies(response.status(), response.headers())
        {
            return;
        }
        let source = &core.sources[self.source];
        let headers = response.headers_mut();
        match self.kind {
            Kind::Advise => {
                if headers.contains_key(&policy.advice_header) {
                    return;
                }
                let remaining = self.old_exp.saturating_sub(core.now()).max(0);
                headers.insert(policy.advice_header.clone(), HeaderValue::from(remaining));
                expose(headers, &policy.advice_header);
            }
            Kind::Inject { payload, renewable, sub } => {
                let cookie = match source {
                    TokenSource::Cookie(name) => Some(name.as_str()),
                    _ => None,
                };
                let handler_set = match cookie {
                    Some(name) => sets_cookie(headers, name),
                    None => headers.contains_key(&policy.header),
                };
                if handler_set {
                    return;
                }
                let now = core.now();
                let (token, exp) = match core.renew_payload(&payload, &renewable, self.old_exp, now)
                {
                    Ok(Some(renewed)) => renewed,
                    Ok(None) => return,
                    Err(error @ IssueError::TooLarge) => {
                        tracing::debug!(target: "tower_sliding_jwt", sub = sub.as_deref(), %error, "not renewed");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(target: "tower_sliding_jwt", %error, "renewal failed");
                        return;
                    }
                };
                let value = match cookie {
                    Some(name) => policy.cookie.set_cookie(name, &token, exp - now),
                    None => sensitive_value(token),
                };
                let Some(value) = value else {
                    return;
                };
                match cookie {
                    Some(_) => {
                        headers.append(SET_COOKIE, value);
                    }
                    None => {
                        headers.insert(policy.header.clone(), value);
                        expose(headers, &policy.header);
                    }
                }
                // A shared cache must never replay a token to someone else.
                forbid_storing(headers);
                if let Some(name) = source.request_header() {
                    add_to_list(headers, VARY, name.as_str());
                }
                tracing::debug!(
                    target: "tower_sliding_jwt",
                    sub = sub.as_deref(),
                    exp,
                    cap = renewable.cap,
                    "token renewed"
                );
            }
        }
    }
}

/// Whether a comma-separated header already lists `item` (case-insensitively), or `*`.
fn lists(headers: &HeaderMap, name: &HeaderName, item: &str) -> bool {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').map(str::trim).any(|entry| entry == "*" || entry.eq_ignore_ascii_case(item))
    })
}

fn add_to_list(headers: &mut HeaderMap, name: HeaderName, item: &str) {
    if !lists(headers, &name, item)
        && let Ok(value) = HeaderValue::try_from(item)
    {
        headers.append(name, value);
    }
}

/// Rule 7: let browser code read the header on a CORS response.
fn expose(headers: &mut HeaderMap, name: &HeaderName) {
    if headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        add_to_list(headers, ACCESS_CONTROL_EXPOSE_HEADERS, name.as_str());
    }
}

/// Whether the response already sets the cookie `name` (a login or logout handler).
fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| cookie::Cookie::parse(v).is_ok_and(|c| c.name() == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_and_expose_are_appended_once() {
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_static("accept-encoding, authorization"));
        add_to_list(&mut h, VARY, "Authorization");
        assert_eq!(h.get_all(VARY).iter().count(), 1);

        let name = HeaderName::from_static("x-refreshed-token");
        let mut h = HeaderMap::new();
        expose(&mut h, &name);
        assert!(h.get(ACCESS_CONTROL_EXPOSE_HEADERS).is_none(), "not a CORS response");
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("https://app.example"));
        h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("x-request-id"));
        expose(&mut h, &name);
        expose(&mut h, &name);
        let all: Vec<_> = h.get_all(ACCESS_CONTROL_EXPOSE_HEADERS).iter().collect();
        assert_eq!(all, ["x-request-id", "x-refreshed-token"]);
    }

    #[test]
    fn recognises_a_handler_set_cookie() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("other=1; Path=/"));
        assert!(!sets_cookie(&h, "token"));
        h.append(SET_COOKIE, HeaderValue::from_static("token=; Max-Age=0; Path=/"));
        assert!(sets_cookie(&h, "token"));
    }
}
