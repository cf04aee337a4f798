//! [`CookieSettings`]: the attributes of the cookies that carry login and renewed tokens.

use http::HeaderValue;

use crate::headers::sensitive_value;

/// The `SameSite` attribute of renewal and login cookies.
///
/// ```
/// use tower_sliding_jwt::renewal::{CookieSettings, SameSite};
///
/// let strict = CookieSettings::new().same_site(SameSite::Strict);
/// assert_eq!(SameSite::default(), SameSite::Lax);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Also sent on top-level navigations from other sites (the default).
    #[default]
    Lax,
    /// Sent on cross-site requests too (requires `Secure`).
    None,
}

impl SameSite {
    fn to_cookie(self) -> ::cookie::SameSite {
        match self {
            SameSite::Strict => ::cookie::SameSite::Strict,
            SameSite::Lax => ::cookie::SameSite::Lax,
            SameSite::None => ::cookie::SameSite::None,
        }
    }
}

/// Attributes of the `Set-Cookie` that delivers a renewed (or login) token read from a cookie.
///
/// Defaults: `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`, no `Domain`; `Max-Age` is the token's
/// remaining lifetime, so never beyond the session limit.
///
/// Over HTTPS, name the cookie source `__Host-token` (say): browsers then accept the cookie only
/// with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot plant or overwrite it
/// (cookie tossing). The defaults qualify; `build` refuses settings that would not.
///
/// ```
/// use tower_sliding_jwt::renewal::{CookieSettings, SameSite};
/// use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy, TokenSource};
///
/// // For a plain-HTTP development server, where browsers drop `Secure` cookies.
/// let dev = CookieSettings::new().secure(false).same_site(SameSite::Strict);
/// let issuer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .token_sources([TokenSource::cookie("token")])
///     .renewal(RenewalPolicy::new().cookie(dev))
///     .build()?
///     .issuer();
/// let set_cookie = issuer.set_cookie(&issuer.issue("42", &())?).expect("a cookie source");
/// let set_cookie = set_cookie.to_str()?;
/// assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
/// assert!(!set_cookie.contains("Secure"), "{set_cookie}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "settings do nothing until given to the renewal policy"]
pub struct CookieSettings {
    pub(crate) http_only: bool,
    pub(crate) secure: bool,
    pub(crate) same_site: SameSite,
    pub(crate) path: String,
    pub(crate) domain: Option<String>,
}

impl CookieSettings {
    /// The defaults.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::CookieSettings;
    ///
    /// assert_eq!(CookieSettings::new(), CookieSettings::default());
    /// ```
    pub fn new() -> CookieSettings {
        CookieSettings {
            http_only: true,
            secure: true,
            same_site: SameSite::Lax,
            path: "/".to_owned(),
            domain: None,
        }
    }

    /// `HttpOnly`: scripts cannot read the cookie. Default `true`.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::CookieSettings;
    ///
    /// // Only if the page's own script must read the token: an XSS could then steal it.
    /// let readable = CookieSettings::new().http_only(false);
    /// ```
    pub fn http_only(mut self, on: bool) -> CookieSettings {
        self.http_only = on;
        self
    }

    /// `Secure`: HTTPS only. Default `true`.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::CookieSettings;
    ///
    /// // A plain-HTTP development server on localhost.
    /// let dev = CookieSettings::new().secure(false);
    /// ```
    pub fn secure(mut self, on: bool) -> CookieSettings {
        self.secure = on;
        self
    }

    /// `SameSite`. Default `Lax`.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::{CookieSettings, SameSite};
    ///
    /// let strict = CookieSettings::new().same_site(SameSite::Strict);
    /// ```
    pub fn same_site(mut self, same_site: SameSite) -> CookieSettings {
        self.same_site = same_site;
        self
    }

    /// `Path`. Default `/`.
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::CookieSettings;
    ///
    /// // Sent only with requests under /api.
    /// let api_only = CookieSettings::new().path("/api");
    /// ```
    pub fn path(mut self, path: impl Into<String>) -> CookieSettings {
        self.path = path.into();
        self
    }

    /// `Domain`. Default none (host-only cookie).
    ///
    /// ```
    /// use tower_sliding_jwt::renewal::CookieSettings;
    ///
    /// // Shared with every subdomain of example.com (and so exposed to each of them).
    /// let shared = CookieSettings::new().domain("example.com");
    /// ```
    pub fn domain(mut self, domain: impl Into<String>) -> CookieSettings {
        self.domain = Some(domain.into());
        self
    }

    /// The attribute, if any, that would break out of its place in `Set-Cookie`: a `Path` with a
    /// `;` or a control character (which would add attributes of its own), a `Domain` that is
    /// not a host name.
    pub(crate) fn invalid_attribute(&self) -> Option<&'static str> {
        let path_ok = self.path.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';');
        let domain_ok = self.domain.as_deref().is_none_or(|domain| {
            !domain.is_empty()
                && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
        match (path_ok, domain_ok) {
            (false, _) => Some("cookie path"),
            (_, false) => Some("cookie domain"),
            _ => None,
        }
    }

    /// Whether a cookie called `name` can be set with these attributes: browsers drop a
    /// `__Secure-` cookie without `Secure`, and a `__Host-` cookie unless it is also `Path=/`
    /// with no `Domain` (which is what keeps a sibling subdomain from overwriting it).
    pub(crate) fn allows_name(&self, name: &str) -> bool {
        let has_prefix = |prefix: &str| {
            name.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        };
        if has_prefix("__Host-") {
            return self.secure && self.path == "/" && self.domain.is_none();
        }
        !has_prefix("__Secure-") || self.secure
    }

    /// The `Set-Cookie` value for `name=token` living `max_age` seconds, marked sensitive.
    pub(crate) fn set_cookie(&self, name: &str, token: &str, max_age: i64) -> Option<HeaderValue> {
        sensitive_value(self.cookie_text(name, token, max_age))
    }

    fn cookie_text(&self, name: &str, token: &str, max_age: i64) -> String {
        let mut cookie = ::cookie::Cookie::build((name, token))
            .http_only(self.http_only)
            .secure(self.secure)
            .same_site(self.same_site.to_cookie())
            .path(self.path.as_str())
            .max_age(::cookie::time::Duration::seconds(max_age.max(0)));
        if let Some(domain) = &self.domain {
            cookie = cookie.domain(domain.as_str());
        }
        cookie.build().to_string()
    }
}

impl Default for CookieSettings {
    fn default() -> Self {
        CookieSettings::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_cookie_attributes() {
        let header = CookieSettings::new().set_cookie("token", "a.b.c", 120).unwrap();
        assert!(header.is_sensitive());
        let value = header.to_str().unwrap();
        for part in ["token=a.b.c", "HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=120"] {
            assert!(value.contains(part), "{value} lacks {part}");
        }
        let dev =
            CookieSettings::new().secure(false).domain("example.com").cookie_text("t", "x", -5);
        assert!(
            !dev.contains("Secure")
                && dev.contains("Domain=example.com")
                && dev.contains("Max-Age=0"),
            "{dev}"
        );
    }
}
