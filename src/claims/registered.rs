//! [`RegisteredClaims`]: the claims of RFC 7519 and the session claims, read strictly from the
//! payload.

use std::any::TypeId;
use std::fmt;

use compact_str::CompactString;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::TokenError;

use super::{Audience, NoCustomClaims};
#[cfg(test)]
use super::{Claims, RawToken};

/// The registered claims of RFC 7519, and the two session claims this crate relies on:
/// `auth_time` (OpenID Connect: when the user logged in) and `sid` (the login session id).
///
/// Read them through the accessors. Strings up to 24 bytes are stored inline, so reading the
/// claims of a typical token allocates nothing. Dates are JWT `NumericDate`s: seconds since the
/// Unix epoch. A date that is not a JSON number within the range of an `i64` (a string, a
/// boolean, `null`, `1e300`) makes the token invalid.
///
/// ```
/// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
///
/// let layer = JwtAuthLayer::builder()
///     .hs256(b"an example secret of at least 32 bytes")
///     .issuer("demo")
///     .build()?;
/// let issuer = layer.issuer();
/// let claims = issuer.verify::<NoCustomClaims>(&issuer.issue("42", &())?.token)?;
/// let registered = claims.registered();
/// assert_eq!(registered.subject(), Some("42"));
/// assert_eq!(registered.issuer(), Some("demo"));
/// assert_eq!(registered.session_start(), registered.issued_at());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RegisteredClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iss: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) aud: Option<Audience>,
    pub(crate) exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) jti: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<CompactString>,
    /// A token lifetime chosen for this login (seconds), kept by its renewals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token_lifetime: Option<i64>,
    /// A maximum session chosen for this login (seconds), kept by its renewals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_limit: Option<i64>,
    /// Whether the token carries a key binding (`cnf`).
    #[serde(skip)]
    pub(crate) bound: bool,
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to (`cnf.jkt`).
    #[serde(skip)]
    pub(crate) cnf_jkt: Option<CompactString>,
}

impl RegisteredClaims {
    /// `iss`: who issued the token.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.issuer(), Some("https://api.example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issuer(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// `sub`: whom the token is about.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.subject(), Some("42"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// `aud`: whom the token is for.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert!(registered.audience().is_some_and(|aud| aud.contains("https://api.example.com")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn audience(&self) -> Option<&Audience> {
        self.aud.as_ref()
    }

    /// `exp`: when the token expires.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.expires_at(), issuer.now() + 300);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires_at(&self) -> i64 {
        self.exp
    }

    /// `nbf`: not valid before.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.not_before(), None, "this crate's tokens are valid at once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn not_before(&self) -> Option<i64> {
        self.nbf
    }

    /// `iat`: when the token was issued.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.issued_at(), Some(issuer.now()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn issued_at(&self) -> Option<i64> {
        self.iat
    }

    /// `jti`: the token's unique id.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.token_id(), claims.token_id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_id(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// `auth_time`: when the user authenticated.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// // A login token: the session starts now; its renewals keep this time.
    /// assert_eq!(registered.auth_time(), Some(issuer.now()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    /// `sid`: the session id, kept by every renewal.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.session_id(), claims.session_id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_id(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// When the session began: `auth_time`, or `iat` standing in for a token without it. The
    /// session limit counts from here.
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.session_start(), registered.auth_time());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_start(&self) -> Option<i64> {
        self.auth_time.or(self.iat)
    }

    /// `token_lifetime`: the token lifetime this login chose (seconds), if it chose one (see
    /// [`SessionLifetimes`](crate::renewal::SessionLifetimes)).
    ///
    /// ```
    /// # let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
    /// #     .hs256([7u8; 32])
    /// #     .issuer("https://api.example.com")
    /// #     .audience("https://api.example.com")
    /// #     .build()?
    /// #     .issuer();
    /// # let login = issuer.issue("42", &())?;
    /// # let claims = issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&login.token)?;
    /// let registered = claims.registered();
    /// assert_eq!(registered.token_lifetime(), None, "a plain login keeps the policy's lifetime");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn token_lifetime(&self) -> Option<i64> {
        self.token_lifetime
    }

    /// `session_limit`: the maximum session this login chose (seconds), if it chose one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_sliding_jwt::renewal::SessionLifetimes;
    /// use tower_sliding_jwt::{JwtAuthLayer, NoCustomClaims};
    ///
    /// let day = Duration::from_secs(24 * 3600);
    /// let issuer = JwtAuthLayer::builder()
    ///     .hs256([7u8; 32])
    ///     .allow_longer_sessions(30 * day)
    ///     .build()?
    ///     .issuer();
    /// let lifetimes = SessionLifetimes::new().session_limit(30 * day);
    /// let remember_me = issuer.issue_with("42", &(), lifetimes)?;
    /// let claims = issuer.verify::<NoCustomClaims>(&remember_me.token)?;
    /// assert_eq!(claims.registered().session_limit(), Some(30 * 24 * 3600));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_limit(&self) -> Option<i64> {
        self.session_limit
    }
}

#[derive(Deserialize)]
struct WireClaims {
    #[serde(default)]
    iss: Option<CompactString>,
    #[serde(default)]
    sub: Option<CompactString>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    iat: Option<i64>,
    #[serde(default)]
    jti: Option<CompactString>,
    #[serde(default, deserialize_with = "numeric_date")]
    auth_time: Option<i64>,
    #[serde(default)]
    sid: Option<CompactString>,
    #[serde(default, deserialize_with = "numeric_date")]
    token_lifetime: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    session_limit: Option<i64>,
    /// A key binding: its DPoP thumbprint is kept, whatever else it holds is only noticed.
    #[serde(default)]
    cnf: Option<Confirmation>,
}

/// A `cnf` claim (RFC 7800) of any shape; `jkt` (RFC 9449) is read from an object, and must
/// then be a string.
struct Confirmation {
    jkt: Option<CompactString>,
}

impl<'de> Deserialize<'de> for Confirmation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyShape;
        impl<'de> Visitor<'de> for AnyShape {
            type Value = Confirmation;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a confirmation claim")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Confirmation, A::Error> {
                let mut jkt = None;
                while let Some(member) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if member == "jkt" {
                        jkt = Some(map.next_value::<CompactString>()?);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(Confirmation { jkt })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Confirmation, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Confirmation { jkt: None })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Confirmation, E> {
                Ok(Confirmation { jkt: None })
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Confirmation, E> {
                Ok(Confirmation { jkt: None })
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Confirmation, E> {
                Ok(Confirmation { jkt: None })
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Confirmation, E> {
                Ok(Confirmation { jkt: None })
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Confirmation, E> {
                Ok(Confirmation { jkt: None })
            }
        }
        deserializer.deserialize_any(AnyShape)
    }
}

/// A present `NumericDate`: a JSON number within the range of an `i64`. Fractions are allowed
/// (RFC 7519) and rounded down. `null` and every non-number are errors.
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct NumericDate;
    impl Visitor<'_> for NumericDate {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate (a number of seconds within the range of an i64)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            // 2^63 is exactly representable; everything below it floors into an i64.
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if v.is_finite() && (-LIMIT..LIMIT).contains(&v) {
                Ok(v.floor() as i64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
    }
    deserializer.deserialize_any(NumericDate).map(Some)
}

/// Read the registered claims of a verified payload (the decoded JSON).
pub(crate) fn parse_registered(payload: &[u8]) -> Result<RegisteredClaims, TokenError> {
    // The payload is UTF-8 JSON; serde_json does not check the UTF-8 of members it skips.
    let text = std::str::from_utf8(payload).map_err(|_| TokenError::MalformedClaims)?;
    // serde's derived structs also accept JSON arrays; a JWT payload must be an object.
    if !text.trim_start().starts_with('{') {
        return Err(TokenError::MalformedClaims);
    }
    let wire: WireClaims = serde_json::from_str(text).map_err(|_| TokenError::MalformedClaims)?;
    Ok(RegisteredClaims {
        iss: wire.iss,
        sub: wire.sub,
        aud: wire.aud,
        exp: wire.exp.ok_or(TokenError::MissingClaim("exp"))?,
        nbf: wire.nbf,
        iat: wire.iat,
        jti: wire.jti,
        auth_time: wire.auth_time,
        sid: wire.sid,
        token_lifetime: wire.token_lifetime,
        session_limit: wire.session_limit,
        bound: wire.cnf.is_some(),
        cnf_jkt: wire.cnf.and_then(|cnf| cnf.jkt),
    })
}

/// Read the application's claims from the same payload. [`NoCustomClaims`] reads nothing, so
/// the payload is not scanned a second time for it.
pub(crate) fn parse_custom<C: DeserializeOwned + 'static>(payload: &[u8]) -> Result<C, TokenError> {
    let source: &[u8] =
        if TypeId::of::<C>() == TypeId::of::<NoCustomClaims>() { b"{}" } else { payload };
    serde_json::from_slice(source).map_err(|_| TokenError::MalformedClaims)
}

/// Both, for tests.
#[cfg(test)]
pub(crate) fn parse<C: DeserializeOwned + 'static>(
    payload: &[u8],
) -> Result<Claims<C>, TokenError> {
    Ok(Claims::new(parse_registered(payload)?, parse_custom(payload)?, RawToken::copied(""), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
    struct App {
        username: String,
    }

    fn parse_json(json: &str) -> Result<Claims<NoCustomClaims>, TokenError> {
        parse(json.as_bytes())
    }

    #[test]
    fn reads_registered_and_custom_claims() {
        let claims: Claims<App> = parse(
            br#"{"sub":"1","exp":2000,"iat":1000,"auth_time":900,"sid":"s","jti":"j",
                "iss":"demo","aud":["a","b"],"username":"alice","unknown":{"x":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(claims.subject(), Some("1"));
        assert_eq!(claims.expires_at(), 2000);
        assert_eq!(claims.session_start(), Some(900));
        assert_eq!(claims.custom().username, "alice");
        assert!(claims.registered().audience().unwrap().contains("b"));
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["username"], "alice");
        assert_eq!(json["exp"], 2000);
        assert!(json.get("nbf").is_none());
    }

    #[test]
    fn exp_is_required() {
        assert_eq!(parse_json(r#"{"sub":"1"}"#).unwrap_err(), TokenError::MissingClaim("exp"));
    }

    #[test]
    fn dates_must_be_numbers_within_i64() {
        for bad in [
            r#""2000""#,
            "true",
            "null",
            "1e300",
            "-1e300",
            "18446744073709551615",
            "9223372036854775808",
            "{}",
            "[1]",
        ] {
            for claim in ["exp", "nbf", "iat", "auth_time"] {
                let json = if claim == "exp" {
                    format!(r#"{{"exp":{bad}}}"#)
                } else {
                    format!(r#"{{"exp":2000,"{claim}":{bad}}}"#)
                };
                assert_eq!(
                    parse_json(&json).unwrap_err(),
                    TokenError::MalformedClaims,
                    "{claim} = {bad}"
                );
            }
        }
        assert_eq!(parse_json(r#"{"exp":-5}"#).unwrap().expires_at(), -5);
        assert_eq!(parse_json(r#"{"exp":1500.9}"#).unwrap().expires_at(), 1500);
        assert_eq!(parse_json(r#"{"exp":9223372036854775807}"#).unwrap().expires_at(), i64::MAX);
    }

    #[test]
    fn payload_must_be_one_json_object() {
        for bad in [
            "[2000]",
            "2000",
            r#""x""#,
            "",
            r#"{"exp":1} {}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"exp":1,"sub":5}"#,
            r#"{"exp":1,"aud":7}"#,
        ] {
            assert_eq!(parse_json(bad).unwrap_err(), TokenError::MalformedClaims, "{bad}");
        }
        assert_eq!(
            parse::<App>(br#"{"exp":1}"#).unwrap_err(),
            TokenError::MalformedClaims,
            "custom claims that do not fit"
        );
    }

    #[test]
    fn invalid_utf8_anywhere_is_refused() {
        // Inside a member serde would otherwise skip without looking.
        assert_eq!(
            parse_json_bytes(b"{\"exp\":1,\"x\":\"\xff\xfe\"}"),
            Err(TokenError::MalformedClaims)
        );
        assert_eq!(
            parse_json_bytes(b"{\"exp\":1,\"sub\":\"\xc3\x28\"}"),
            Err(TokenError::MalformedClaims)
        );
    }

    fn parse_json_bytes(bytes: &[u8]) -> Result<i64, TokenError> {
        parse::<NoCustomClaims>(bytes).map(|c| c.expires_at())
    }

    #[test]
    fn deep_nesting_never_overflows_the_stack() {
        let deep = format!(r#"{{"exp":1,"x":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        // An unknown claim is skipped without recursion…
        assert!(parse_json(&deep).is_ok());
        // …and a claim that is read hits serde_json's recursion limit: an error, not a crash.
        assert_eq!(
            parse::<serde_json::Value>(deep.as_bytes()).unwrap_err(),
            TokenError::MalformedClaims
        );
        let deep_aud =
            format!(r#"{{"exp":1,"aud":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_json(&deep_aud).unwrap_err(), TokenError::MalformedClaims);
    }

    #[test]
    fn a_key_binding_is_noticed_whatever_it_holds() {
        assert!(!parse_json(r#"{"exp":1}"#).unwrap().registered().bound);
        assert!(!parse_json(r#"{"exp":1,"cnf":null}"#).unwrap().registered().bound);
        for cnf in
            [r#"{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}"#, r#"{"x5t#S256":"x"}"#, "1"]
        {
            let json = format!(r#"{{"exp":1,"cnf":{cnf}}}"#);
            assert!(parse_json(&json).unwrap().registered().bound, "{cnf}");
        }
        let deep = format!(r#"{{"exp":1,"cnf":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert!(
            parse_json(&deep).is_ok_and(|c| c.registered().bound) || parse_json(&deep).is_err()
        );
    }
}
