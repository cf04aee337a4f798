//! Cross-site request forgery: a browser sends cookies with requests that other sites make it
//! send, so a request authenticated by a cookie, with a method that changes things, must show it
//! comes from the application's own pages. Bearer tokens are not sent by browsers on their own
//! and need no such check.

use http::Method;
use http::request::Parts;

/// Which cookie-authenticated requests with an unsafe method (anything but `GET`, `HEAD`,
/// `OPTIONS`, `TRACE`) are let through. On by default for cookie sources.
///
/// The check follows the browsers' own signals (OWASP's "verifying origin with standard
/// headers" and Fetch Metadata):
///
/// - An `Origin` among the [allowed origins](CsrfPolicy::allow_origin) passes.
/// - `Sec-Fetch-Site` when present: `same-origin`, or `none` (the user typed or bookmarked the
///   request) pass; `same-site` passes only if [`allow_same_site`](CsrfPolicy::allow_same_site)
///   (sibling subdomains are *same-site*, so it is off); `cross-site` is refused.
/// - otherwise `Origin` when present: the request's own origin (the `Host` it was sent to)
///   passes; `null` and any other origin are refused.
/// - a request with neither header is refused: every current browser sends one or both with an
///   unsafe request, so only an old browser, a privacy proxy that strips them, or a client that
///   is not a browser sends neither. [`allow_requests_without_origin`](CsrfPolicy::allow_requests_without_origin)
///   lets such clients through, for a deployment that knows it has them.
///
/// A refusal is [`Rejection::CrossSite`](crate::Rejection::CrossSite): `403`.
///
/// ```
/// use tower_sliding_jwt::{CsrfPolicy, JwtAuthLayer, TokenSource};
///
/// // The single-page app on app.example.com calls the API on api.example.com with its cookie.
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .token_sources([TokenSource::cookie("__Host-session")])
///     .csrf(CsrfPolicy::new().allow_origin("https://app.example.com"))
///     .build()?;
/// # Ok::<(), tower_sliding_jwt::error::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a policy does nothing until given to the builder"]
pub struct CsrfPolicy {
    enabled: bool,
    same_site: bool,
    without_origin: bool,
    origins: Vec<String>,
}

impl CsrfPolicy {
    /// The default: on; same-origin requests only.
    ///
    /// ```
    /// use tower_sliding_jwt::CsrfPolicy;
    ///
    /// assert_eq!(CsrfPolicy::new(), CsrfPolicy::default());
    /// ```
    pub fn new() -> CsrfPolicy {
        CsrfPolicy { enabled: true, same_site: false, without_origin: false, origins: Vec::new() }
    }

    /// No check at all: only for a deployment that defends against CSRF elsewhere (a
    /// double-submit token checked by the application, say).
    ///
    /// ```
    /// use tower_sliding_jwt::CsrfPolicy;
    ///
    /// let off = CsrfPolicy::disabled();
    /// ```
    pub fn disabled() -> CsrfPolicy {
        CsrfPolicy { enabled: false, ..CsrfPolicy::new() }
    }

    /// Also let through requests from this origin (`https://app.example.com`: scheme, host and
    /// port, no path), for pages served from another origin than the API.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, header::{COOKIE, ORIGIN}};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::{CsrfPolicy, JwtAuthLayer, TokenSource};
    ///
    /// let layer = JwtAuthLayer::builder()
    ///     .hs256(b"an example secret of at least 32 bytes")
    ///     .token_sources([TokenSource::cookie("token")])
    ///     .csrf(CsrfPolicy::new().allow_origin("https://app.example.com"))
    ///     .build()?;
    /// let token = layer.issuer().issue("42", &())?.token;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let post_from = |origin: &str| {
    ///     let request = Request::post("https://api.example.com/orders")
    ///         .header(ORIGIN, origin)
    ///         .header(COOKIE, format!("token={token}"))
    ///         .body(())
    ///         .unwrap();
    ///     layer.layer(inner.clone()).oneshot(request)
    /// };
    /// assert_eq!(post_from("https://app.example.com").await?.status(), 200);
    /// assert_eq!(post_from("https://evil.example").await?.status(), 403);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn allow_origin(mut self, origin: impl Into<String>) -> CsrfPolicy {
        self.origins.push(origin.into().trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// Also let through `Sec-Fetch-Site: same-site` requests (from sibling subdomains). Only
    /// when every subdomain of the site is trusted.
    ///
    /// ```
    /// use tower_sliding_jwt::CsrfPolicy;
    ///
    /// // Pages on www.example.com and admin.example.com call api.example.com.
    /// let siblings = CsrfPolicy::new().allow_same_site(true);
    /// ```
    pub fn allow_same_site(mut self, allow: bool) -> CsrfPolicy {
        self.same_site = allow;
        self
    }

    /// Also let through requests with neither `Origin` nor `Sec-Fetch-Site`: command-line or
    /// server-side clients that send the cookie themselves. A browser stripped of both headers
    /// (an old one, or behind a proxy that removes them) then passes unchecked too.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::convert::Infallible;
    ///
    /// use http::{Request, Response, header::COOKIE};
    /// use tower::{Layer, ServiceExt, service_fn};
    /// use tower_sliding_jwt::{CsrfPolicy, JwtAuthLayer, TokenSource};
    ///
    /// let layer = |csrf| {
    ///     JwtAuthLayer::builder()
    ///         .hs256(b"an example secret of at least 32 bytes")
    ///         .token_sources([TokenSource::cookie("token")])
    ///         .csrf(csrf)
    ///         .build()
    /// };
    /// let (strict, lenient) = (layer(CsrfPolicy::new())?, layer(CsrfPolicy::new().allow_requests_without_origin(true))?);
    /// let token = strict.issuer().issue("42", &())?.token;
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let post = |token: &str| Request::post("/orders").header(COOKIE, format!("token={token}")).body(()).unwrap();
    /// assert_eq!(strict.layer(inner.clone()).oneshot(post(&token)).await?.status(), 403);
    /// assert_eq!(lenient.layer(inner).oneshot(post(&token)).await?.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn allow_requests_without_origin(mut self, allow: bool) -> CsrfPolicy {
        self.without_origin = allow;
        self
    }

    /// Whether a request authenticated by a cookie may go on.
    pub(crate) fn allows(&self, parts: &Parts) -> bool {
        if !self.enabled || is_safe(&parts.method) {
            return true;
        }
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let origin = header("origin").map(|o| o.trim_end_matches('/').to_ascii_lowercase());
        if origin.as_ref().is_some_and(|origin| self.origins.contains(origin)) {
            return true;
        }
        if let Some(site) = header("sec-fetch-site") {
            return match site {
                "same-origin" | "none" => true,
                "same-site" => self.same_site,
                _ => false,
            };
        }
        match origin {
            Some(origin) => is_own_origin(&origin, parts),
            None => self.without_origin,
        }
    }
}

impl Default for CsrfPolicy {
    fn default() -> Self {
        CsrfPolicy::new()
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Whether `origin` names the host the request was sent to (`Host`, or the URI's authority
/// for HTTP/2). The scheme is not compared: behind a TLS-terminating proxy the server cannot
/// see it.
fn is_own_origin(origin: &str, parts: &Parts) -> bool {
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    host.is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder().method(method).uri("/x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn unsafe_cookie_requests_must_come_from_the_same_origin() {
        let policy = CsrfPolicy::new();
        let allows = |method, headers: &[(&str, &str)]| policy.allows(&parts(method, headers));
        let host = ("host", "api.example.com");
        assert!(allows("GET", &[("sec-fetch-site", "cross-site")]), "safe methods pass");
        assert!(allows("POST", &[("sec-fetch-site", "same-origin")]));
        assert!(allows("POST", &[("sec-fetch-site", "none")]));
        assert!(!allows("POST", &[("sec-fetch-site", "cross-site")]));
        assert!(!allows("DELETE", &[("sec-fetch-site", "same-site")]), "sibling subdomains");
        assert!(allows("POST", &[host, ("origin", "https://api.example.com")]));
        assert!(allows("POST", &[host, ("origin", "https://API.example.com/")]));
        assert!(!allows("POST", &[host, ("origin", "https://evil.example")]));
        assert!(!allows("POST", &[host, ("origin", "null")]));
        assert!(!allows("PUT", &[host, ("origin", "https://api.example.com.evil.example")]));
        assert!(!allows("POST", &[host]), "no browser signal: refused by default");
        let lenient = CsrfPolicy::new().allow_requests_without_origin(true);
        assert!(lenient.allows(&parts("POST", &[host])), "unless allowed");
        assert!(!lenient.allows(&parts("POST", &[host, ("origin", "https://evil.example")])));
        // Sec-Fetch-Site decides when both are present.
        assert!(!allows(
            "POST",
            &[host, ("origin", "https://api.example.com"), ("sec-fetch-site", "cross-site")]
        ));

        let app = CsrfPolicy::new().allow_origin("https://app.example.com/").allow_same_site(true);
        assert!(app.allows(&parts("POST", &[host, ("origin", "https://app.example.com")])));
        let cross = [("origin", "https://app.example.com"), ("sec-fetch-site", "cross-site")];
        assert!(app.allows(&parts("POST", &cross)), "an allowed origin on another site");
        assert!(app.allows(&parts("POST", &[("sec-fetch-site", "same-site")])));
        assert!(CsrfPolicy::disabled().allows(&parts("POST", &[("sec-fetch-site", "cross-site")])));
    }
}
