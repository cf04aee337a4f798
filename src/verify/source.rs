//! Where the token is read from: bearer header, named header, cookie, query parameter.

use std::borrow::Cow;

use cookie::Cookie;
use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;
use http::{HeaderName, HeaderValue};

use crate::error::{InvalidRequest, TokenError};
use crate::rejection::Rejection;

/// One place a token may be read from. The layer tries its sources in the configured order; the
/// first one *present* wins and the others are not read.
///
/// The default is [`TokenSource::Bearer`] alone. A source that is present but ambiguous or
/// malformed (sent twice, empty, not exactly one token, bytes outside visible ASCII) refuses the
/// request with `400 invalid_request`; it does not fall through to the next source.
///
/// ```
/// use tower_sliding_jwt::TokenSource;
///
/// // A browser sends a cookie, an API client a bearer token: with the bearer first, a fresh
/// // bearer token wins over a stale cookie.
/// let sources = [TokenSource::Bearer, TokenSource::cookie("token"), TokenSource::query("token")];
/// assert_eq!(sources[1], TokenSource::Cookie("token".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 section 2.1). The scheme is case-insensitive; a
    /// header with another scheme (`Basic …`) counts as absent.
    Bearer,
    /// A header whose whole value is the token, e.g. `X-Api-Token: <token>`.
    Header(HeaderName),
    /// A cookie. A renewal for a token read from a cookie is delivered as `Set-Cookie`.
    Cookie(String),
    /// A query parameter (RFC 6750 section 2.3), percent-decoded. Query strings end up in logs
    /// and browser history; prefer a header or a cookie.
    Query(String),
}

impl TokenSource {
    /// A named header carrying the bare token.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tower_sliding_jwt::TokenSource;
    ///
    /// let api_token = TokenSource::header(HeaderName::from_static("x-api-token"));
    /// ```
    pub fn header(name: HeaderName) -> TokenSource {
        TokenSource::Header(name)
    }

    /// A cookie of this name.
    ///
    /// ```
    /// use tower_sliding_jwt::TokenSource;
    ///
    /// // `__Host-` binds the cookie to this host, over HTTPS; the default cookie settings
    /// // satisfy it.
    /// let session = TokenSource::cookie("__Host-session");
    /// ```
    pub fn cookie(name: impl Into<String>) -> TokenSource {
        TokenSource::Cookie(name.into())
    }

    /// A query parameter of this name.
    ///
    /// ```
    /// use tower_sliding_jwt::TokenSource;
    ///
    /// // For a WebSocket upgrade from a browser, which cannot set headers.
    /// let websocket = TokenSource::query("access_token");
    /// ```
    pub fn query(name: impl Into<String>) -> TokenSource {
        TokenSource::Query(name.into())
    }

    /// The request header this source reads, for `Vary` (none for a query parameter).
    pub(crate) fn request_header(&self) -> Option<HeaderName> {
        match self {
            TokenSource::Bearer => Some(AUTHORIZATION),
            TokenSource::Header(name) => Some(name.clone()),
            TokenSource::Cookie(_) => Some(COOKIE),
            TokenSource::Query(_) => None,
        }
    }

    /// Whether a name is usable (cookie and parameter names must be non-empty tokens).
    pub(crate) fn is_well_formed(&self) -> bool {
        let token_name = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
        };
        match self {
            TokenSource::Bearer | TokenSource::Header(_) => true,
            TokenSource::Cookie(name) | TokenSource::Query(name) => token_name(name),
        }
    }
}

/// A token checked to be one run of visible ASCII. A token seen before is found in the cache by
/// its bytes; its text is only needed to verify a new one or to renew.
pub(crate) struct Token<'a>(Cow<'a, [u8]>);

impl std::fmt::Debug for Token<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token([redacted, {} bytes])", self.0.len())
    }
}

impl Token<'_> {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn as_str(&self) -> &str {
        // Visible ASCII, checked when it was found, is always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A token found in a request, and where.
#[derive(Debug)]
pub(crate) struct Found<'a> {
    pub(crate) token: Token<'a>,
    /// The source's position in the configured list.
    pub(crate) index: usize,
    /// Sent as `Authorization: DPoP`, which claims a proof of possession comes with it.
    pub(crate) as_dpop: bool,
}

/// Read the token from the first present source; with `dpop`, `Authorization: DPoP` counts as
/// well as `Bearer`.
///
/// `Ok(None)`: no source present. Oversized tokens are refused here, before their bytes are even
/// scanned, so the cost of a refusal does not grow with the size of the input.
pub(crate) fn extract<'a>(
    sources: &'a [TokenSource],
    parts: &'a Parts,
    max_len: usize,
    dpop: bool,
) -> Result<Option<Found<'a>>, Rejection> {
    for (index, source) in sources.iter().enumerate() {
        let mut as_dpop = false;
        let raw = match source {
            TokenSource::Bearer => match authorization(parts, dpop)? {
                Some((credentials, scheme_is_dpop)) => {
                    as_dpop = scheme_is_dpop;
                    Some(Cow::Borrowed(credentials))
                }
                None => None,
            },
            TokenSource::Header(name) => {
                one_value(parts, name)?.map(|v| Cow::Borrowed(v.as_bytes()))
            }
            TokenSource::Cookie(name) => cookie(parts, name)?.map(|v| Cow::Borrowed(v.as_bytes())),
            TokenSource::Query(name) => query(parts, name)?,
        };
        if let Some(raw) = raw {
            let token = check_token(raw, max_len)?;
            return Ok(Some(Found { token, index, as_dpop }));
        }
    }
    Ok(None)
}

/// Size first (constant time), then the bytes: one token of visible ASCII.
fn check_token(raw: Cow<'_, [u8]>, max_len: usize) -> Result<Token<'_>, Rejection> {
    if raw.is_empty() {
        return Err(InvalidRequest::Empty.into());
    }
    if raw.len() > max_len {
        return Err(TokenError::TooLarge.into());
    }
    // Branch-free over the whole token (it vectorizes); the first offending byte is looked for
    // only when there is one.
    let visible = raw.iter().fold(true, |ok, b| ok & (b.wrapping_sub(0x21) < 0x5e));
    if !visible {
        return Err(match raw.iter().find(|b| !b.is_ascii_graphic()) {
            Some(b' ') => InvalidRequest::NotOneToken.into(),
            _ => InvalidRequest::InvalidBytes.into(),
        });
    }
    Ok(Token(raw))
}

/// The one value of a header, or an error if it is repeated.
fn one_value<'a>(
    parts: &'a Parts,
    name: &HeaderName,
) -> Result<Option<&'a HeaderValue>, Rejection> {
    let mut values = parts.headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(InvalidRequest::Repeated.into());
    }
    Ok(first)
}

/// The credentials after `Bearer ` (or, with `dpop`, `DPoP `) and whether the scheme was DPoP;
/// `None` for a missing header or another scheme.
fn authorization(parts: &Parts, dpop: bool) -> Result<Option<(&[u8], bool)>, Rejection> {
    let Some(value) = one_value(parts, &AUTHORIZATION)? else {
        return Ok(None);
    };
    if let Some(credentials) = credentials(value.as_bytes(), b"bearer")? {
        return Ok(Some((credentials, false)));
    }
    if dpop && let Some(credentials) = credentials(value.as_bytes(), b"dpop")? {
        return Ok(Some((credentials, true)));
    }
    Ok(None)
}

/// The credentials after `scheme ` (compared without case), or `None` for another scheme.
fn credentials<'a>(value: &'a [u8], scheme_name: &[u8]) -> Result<Option<&'a [u8]>, Rejection> {
    let Some((scheme, rest)) = value.split_at_checked(scheme_name.len()) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case(scheme_name) {
        return Ok(None);
    }
    match rest.first() {
        None => Err(InvalidRequest::Empty.into()),
        Some(b' ') => Ok(Some(rest.trim_ascii_start())),
        // `Bearerish …`: another scheme.
        Some(b) if b.is_ascii_graphic() => Ok(None),
        Some(_) => Err(InvalidRequest::InvalidBytes.into()),
    }
}

/// The value of the cookie `name` across all `Cookie` headers (HTTP/2 may split them).
fn cookie<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, Rejection> {
    let mut found = None;
    for header in parts.headers.get_all(COOKIE) {
        let Ok(text) = std::str::from_utf8(header.as_bytes()) else {
            return Err(InvalidRequest::InvalidBytes.into());
        };
        // Another cookie's syntax is not our business: unparsable pieces are skipped.
        for parsed in Cookie::split_parse(text).flatten() {
            if parsed.name_raw() != Some(name) {
                continue;
            }
            if found.is_some() {
                return Err(InvalidRequest::Repeated.into());
            }
            let value = parsed.value_raw().unwrap_or_default();
            let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            found = Some(unquoted.unwrap_or(value));
        }
    }
    Ok(found)
}

/// The percent-decoded value of the query parameter `name`.
fn query<'a>(parts: &'a Parts, name: &str) -> Result<Option<Cow<'a, [u8]>>, Rejection> {
    let Some(query) = parts.uri.query() else {
        return Ok(None);
    };
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err(InvalidRequest::Repeated.into());
        }
        found = Some(match value {
            Cow::Borrowed(v) => Cow::Borrowed(v.as_bytes()),
            Cow::Owned(v) => Cow::Owned(v.into_bytes()),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let mut builder = http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, http::HeaderValue::from_bytes(value).unwrap());
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn run(sources: &[TokenSource], p: &Parts) -> Result<Option<(String, TokenSource)>, Rejection> {
        extract(sources, p, 100, false)
            .map(|found| found.map(|f| (f.token.as_str().to_owned(), sources[f.index].clone())))
    }

    fn bearer_only(value: &[u8]) -> Result<Option<(String, TokenSource)>, Rejection> {
        run(&[TokenSource::Bearer], &parts("/", &[("authorization", value)]))
    }

    #[test]
    fn a_found_token_never_shows_in_debug_output() {
        let p = parts("/", &[("authorization", b"Bearer secret.token.value")]);
        let found = extract(&[TokenSource::Bearer], &p, 100, false).unwrap().unwrap();
        let shown = format!("{found:?}");
        assert!(!shown.contains("secret.token.value"), "{shown}");
        assert!(shown.contains("redacted, 18 bytes"), "{shown}");
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_takes_one_token() {
        for value in [&b"Bearer abc.def.ghi"[..], b"bearer abc.def.ghi", b"BEARER   abc.def.ghi"] {
            assert_eq!(bearer_only(value).unwrap().unwrap().0, "abc.def.ghi");
        }
        assert_eq!(bearer_only(b"Bearer a b").unwrap_err(), InvalidRequest::NotOneToken.into());
        assert_eq!(bearer_only(b"Bearer").unwrap_err(), InvalidRequest::Empty.into());
        assert_eq!(bearer_only(b"Bearer ").unwrap_err(), InvalidRequest::Empty.into());
        assert_eq!(
            bearer_only(b"Bearer \xff\xfe").unwrap_err(),
            InvalidRequest::InvalidBytes.into()
        );
        assert_eq!(bearer_only(b"Bearer a\tb").unwrap_err(), InvalidRequest::InvalidBytes.into());
        assert_eq!(bearer_only(b"Bearer\tabc").unwrap_err(), InvalidRequest::InvalidBytes.into());
    }

    #[test]
    fn other_schemes_count_as_absent() {
        assert_eq!(bearer_only(b"Basic dXNlcjpwYXNz").unwrap(), None);
        assert_eq!(bearer_only(b"Bearerx abc").unwrap(), None);
        assert_eq!(bearer_only(b"Bea").unwrap(), None);
        assert_eq!(run(&[TokenSource::Bearer], &parts("/", &[])).unwrap(), None);
    }

    #[test]
    fn repeated_sources_are_ambiguous() {
        let p =
            parts("/", &[("authorization", b"Bearer a.b.c"), ("authorization", b"Bearer d.e.f")]);
        assert_eq!(run(&[TokenSource::Bearer], &p).unwrap_err(), InvalidRequest::Repeated.into());

        let p = parts("/?token=a.b.c&token=d.e.f", &[]);
        assert_eq!(
            run(&[TokenSource::query("token")], &p).unwrap_err(),
            InvalidRequest::Repeated.into()
        );

        let p = parts("/", &[("cookie", b"token=a.b.c; other=1"), ("cookie", b"token=d.e.f")]);
        assert_eq!(
            run(&[TokenSource::cookie("token")], &p).unwrap_err(),
            InvalidRequest::Repeated.into()
        );

        let name = HeaderName::from_static("x-api-token");
        let p = parts("/", &[("x-api-token", b"a.b.c"), ("x-api-token", b"d.e.f")]);
        assert_eq!(
            run(&[TokenSource::header(name)], &p).unwrap_err(),
            InvalidRequest::Repeated.into()
        );
    }

    #[test]
    fn first_present_source_wins_and_the_rest_are_not_read() {
        let sources =
            [TokenSource::Bearer, TokenSource::cookie("token"), TokenSource::query("token")];
        // A malformed cookie and a repeated query parameter are never looked at.
        let p = parts(
            "/?token=1&token=2",
            &[("authorization", b"Bearer from.the.header"), ("cookie", b"token=\"\"; token=x")],
        );
        let (token, source) = run(&sources, &p).unwrap().unwrap();
        assert_eq!((token.as_str(), source), ("from.the.header", TokenSource::Bearer));

        let p = parts("/?token=from.the.query", &[("cookie", b"a=1; token=from.the.cookie")]);
        let (token, source) = run(&sources, &p).unwrap().unwrap();
        assert_eq!((token.as_str(), source), ("from.the.cookie", TokenSource::cookie("token")));

        let p = parts("/?x=1&token=from%2Ethe.query", &[("cookie", b"a=1")]);
        let (token, source) = run(&sources, &p).unwrap().unwrap();
        assert_eq!((token.as_str(), source), ("from.the.query", TokenSource::query("token")));
    }

    #[test]
    fn cookie_and_query_edge_cases() {
        let cookie = [TokenSource::cookie("token")];
        assert_eq!(
            run(&cookie, &parts("/", &[("cookie", b"token=\"a.b.c\"")])).unwrap().unwrap().0,
            "a.b.c"
        );
        assert_eq!(run(&cookie, &parts("/", &[("cookie", b"xtoken=a")])).unwrap(), None);
        assert_eq!(
            run(&cookie, &parts("/", &[("cookie", b"token=")])).unwrap_err(),
            InvalidRequest::Empty.into()
        );
        let query = [TokenSource::query("token")];
        assert_eq!(run(&query, &parts("/?token=", &[])).unwrap_err(), InvalidRequest::Empty.into());
        assert_eq!(
            run(&query, &parts("/?token=a%20b", &[])).unwrap_err(),
            InvalidRequest::NotOneToken.into()
        );
        assert_eq!(
            run(&query, &parts("/?token=%C3%A9", &[])).unwrap_err(),
            InvalidRequest::InvalidBytes.into()
        );
    }

    #[test]
    fn oversized_tokens_are_refused_before_scanning() {
        let huge = format!("Bearer {}", ".".repeat(100_000));
        assert_eq!(bearer_only(huge.as_bytes()).unwrap_err(), TokenError::TooLarge.into());
        let huge_non_ascii = [b"Bearer ".as_slice(), &[0xff; 101]].concat();
        assert_eq!(bearer_only(&huge_non_ascii).unwrap_err(), TokenError::TooLarge.into());
    }

    #[test]
    fn names_are_validated() {
        assert!(TokenSource::cookie("token").is_well_formed());
        assert!(!TokenSource::cookie("").is_well_formed());
        assert!(!TokenSource::cookie("a;b").is_well_formed());
        assert!(!TokenSource::query("a b").is_well_formed());
    }
}
