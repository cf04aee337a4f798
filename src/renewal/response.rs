//! Writing a renewal into a response: the successor token (header, or `Set-Cookie` for a
//! cookie token) or, in advise mode, the time left; and the headers that must go with it.

use http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::policy::RenewalPolicy;
use crate::headers::forbid_storing;
use crate::headers::sensitive_value;
use crate::verify::source::TokenSource;

/// Whether the handler already delivered a token itself (its own renewal header, or a
/// `Set-Cookie` for the token's cookie, as a login or logout does): it is never overwritten.
pub(crate) fn handler_delivered(
    headers: &HeaderMap,
    policy: &RenewalPolicy,
    source: &TokenSource,
) -> bool {
    match source {
        TokenSource::Cookie(name) => sets_cookie(headers, name),
        _ => headers.contains_key(&policy.header),
    }
}

/// Deliver the successor `token`, valid for `max_age` more seconds, the way the presented token
/// came: `Set-Cookie` for a cookie, the renewal header otherwise.
pub(crate) fn write_token(
    headers: &mut HeaderMap,
    policy: &RenewalPolicy,
    source: &TokenSource,
    token: String,
    max_age: i64,
) {
    match source {
        TokenSource::Cookie(name) => {
            let Some(value) = policy.cookie.set_cookie(name, &token, max_age) else { return };
            headers.append(SET_COOKIE, value);
        }
        _ => {
            let Some(value) = sensitive_value(token) else { return };
            headers.insert(policy.header.clone(), value);
            expose(headers, &policy.header);
        }
    }
    // A shared cache must never replay a token to someone else.
    forbid_storing(headers);
    if let Some(name) = source.request_header() {
        add_to_list(headers, VARY, name.as_str());
    }
}

/// Advise mode: announce the seconds left, unless the handler did.
pub(crate) fn write_advice(headers: &mut HeaderMap, policy: &RenewalPolicy, remaining: i64) {
    if headers.contains_key(&policy.advice_header) {
        return;
    }
    headers.insert(policy.advice_header.clone(), HeaderValue::from(remaining.max(0)));
    expose(headers, &policy.advice_header);
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

/// Let browser code read the header on a CORS response.
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
