//! Small rules about HTTP headers, in one place for every module that writes or reads them: a
//! token-bearing value is sensitive, a refusal or a renewal is never stored by a cache, a quoted
//! parameter holds only what cannot break out of its quotes, and a gRPC call is known by its
//! content type.

use std::borrow::Cow;

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};

/// A header value that carries a token, marked sensitive so that logging and tracing layers
/// print `Sensitive` instead of it (and HTTP/2 never puts it in a compression table).
pub(crate) fn sensitive_value(text: String) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Whether `c` can go inside a quoted header parameter (a realm, a scope, a description) as is:
/// visible ASCII or a space, neither `"` nor `\\`, so it can neither end the string nor add
/// parameters.
fn quotable_char(c: char) -> bool {
    c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// Whether all of `text` can go inside a quoted header parameter as is.
pub(crate) fn quotable(text: &str) -> bool {
    text.chars().all(quotable_char)
}

/// `text` with every character that cannot appear in a quoted header parameter replaced by `?`.
pub(crate) fn made_quotable(text: Cow<'static, str>) -> Cow<'static, str> {
    if quotable(&text) {
        text
    } else {
        Cow::Owned(text.chars().map(|c| if quotable_char(c) { c } else { '?' }).collect())
    }
}

/// Whether the request says its body is gRPC.
pub(crate) fn has_grpc_content_type(parts: &Parts) -> bool {
    parts.headers.get(CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
}

/// Add `Cache-Control: no-store` unless the response already has it.
pub(crate) fn forbid_storing(headers: &mut HeaderMap) {
    let stored =
        headers.get_all(CACHE_CONTROL).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',').any(|directive| directive.trim().eq_ignore_ascii_case("no-store"))
        });
    if !stored {
        headers.append(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_merged_not_replaced() {
        let mut h = HeaderMap::new();
        forbid_storing(&mut h);
        assert_eq!(h[CACHE_CONTROL], "no-store");

        let mut h = HeaderMap::new();
        h.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=60"));
        forbid_storing(&mut h);
        let all: Vec<_> = h.get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(all, ["private, max-age=60", "no-store"]);

        let mut h = HeaderMap::new();
        h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=0, No-Store"));
        forbid_storing(&mut h);
        assert_eq!(h.get_all(CACHE_CONTROL).iter().count(), 1);
    }

    #[test]
    fn quoted_parameters_cannot_break_out() {
        assert!(quotable("read write:admin"));
        assert!(!quotable("a\"b") && !quotable("a\\b") && !quotable("tab\there"));
        assert_eq!(made_quotable(Cow::Borrowed("x\"y\r\n")), "x?y??");
        assert!(sensitive_value("a.b.c".into()).unwrap().is_sensitive());
        assert!(sensitive_value("line\nbreak".into()).is_none());
    }
}
