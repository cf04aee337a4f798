//! The configuration shared by the layer and the [`Issuer`](crate::Issuer): keys, claim rules,
//! lifetimes, clock. Sharing one object is what keeps login, explicit renewal and sliding renewal
//! from ever disagreeing.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::clock::{Clock, secs};
use crate::error::IssueError;
use crate::keys::KeySet;
use crate::refresh::{RefreshPolicy, Renewable};
use crate::revocation::{RevocationCheck, RevocationFailure};
use crate::source::TokenSource;
use crate::verify::Rules;

pub(crate) struct Core {
    pub(crate) keys: KeySet,
    pub(crate) rules: Rules,
    /// Our `iss`: put in the tokens we sign, required for renewal.
    pub(crate) issuer: Option<String>,
    /// The `aud` put in the tokens we sign.
    pub(crate) audience: Option<String>,
    pub(crate) refresh: RefreshPolicy,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Option<Arc<dyn RevocationCheck>>,
    pub(crate) revocation_failure: RevocationFailure,
    /// The base64url JOSE header of every token we sign (`alg`, `kid`, `typ`), built once.
    pub(crate) signing_header: Option<String>,
}

/// The claims the issuer owns; custom claims may not set them.
pub(crate) const RESERVED_CLAIMS: [&str; 8] =
    ["iss", "sub", "exp", "nbf", "iat", "jti", "auth_time", "sid"];

impl Core {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    pub(crate) fn ttl(&self) -> i64 {
        secs(self.refresh.ttl)
    }

    /// The name of the first cookie source, where login and renewal cookies go.
    pub(crate) fn cookie_name(&self) -> Option<&str> {
        self.sources.iter().find_map(|source| match source {
            TokenSource::Cookie(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// Sign a claim set with the current signing key.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<String, IssueError> {
        let (header, key) = match (&self.signing_header, self.keys.signing()) {
            (Some(header), Some(key)) => (header, key),
            _ => return Err(IssueError::NoSigningKey),
        };
        let payload = serde_json::to_vec(claims).map_err(|_| IssueError::ClaimsNotAnObject)?;
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 120);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = key.sign(token.as_bytes()).ok_or(IssueError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Rules 3 and 4: a renewed token from the verified `payload`, signed at `now`.
    ///
    /// Every claim is kept (unknown ones too) except `iat = now`, `nbf = now` if present, a new
    /// `jti`, and `exp = min(now + ttl, cap)`. A token without `auth_time` gets its session start
    /// as `auth_time`, so its renewals keep the same cap. `None` when the new `exp` would not be
    /// later than `old_exp`.
    pub(crate) fn renew_payload(
        &self,
        payload: &[u8],
        renewable: &Renewable,
        old_exp: i64,
        now: i64,
    ) -> Result<Option<(String, i64)>, IssueError> {
        let new_exp = now.saturating_add(self.ttl()).min(renewable.cap);
        if new_exp <= old_exp {
            return Ok(None);
        }
        let mut claims: Map<String, Value> =
            serde_json::from_slice(payload).map_err(|_| IssueError::ClaimsNotAnObject)?;
        claims.insert("iat".into(), now.into());
        if claims.contains_key("nbf") {
            claims.insert("nbf".into(), now.into());
        }
        claims.insert("jti".into(), random_id()?.into());
        claims.insert("exp".into(), new_exp.into());
        claims
            .entry("auth_time")
            .or_insert_with(|| renewable.session_start.into());
        Ok(Some((self.sign(&claims)?, new_exp)))
    }
}

/// 128 random bits, base64url: for `jti` and `sid`.
pub(crate) fn random_id() -> Result<String, IssueError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| IssueError::Randomness)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The base64url JOSE header for tokens signed with `alg` and `kid`.
pub(crate) fn jose_header(alg: jsonwebtoken::Algorithm, kid: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: jsonwebtoken::Algorithm,
        #[serde(skip_serializing_if = "Option::is_none")]
        kid: Option<&'a str>,
        typ: &'static str,
    }
    let json = serde_json::to_vec(&Header {
        alg,
        kid,
        typ: "JWT",
    })
    .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}
