//! The configuration shared by the layer and the [`Issuer`](crate::Issuer): keys, claim rules,
//! lifetimes, clock. Sharing one object is what keeps login, explicit renewal and sliding renewal
//! from ever disagreeing.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::clock::{Clock, secs};
use crate::error::IssueError;
use crate::keys::KeySet;
use crate::refresh::{RefreshPolicy, Renewable};
use crate::reject::TokenError;
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
    /// Keys fetched from a remote JWK Set.
    #[cfg(feature = "jwks")]
    pub(crate) remote: Option<crate::jwks::RemoteJwks>,
}

/// The claims the issuer owns; custom claims may not set them.
pub(crate) const RESERVED_CLAIMS: [&str; 8] =
    ["iss", "sub", "exp", "nbf", "iat", "jti", "auth_time", "sid"];

impl Core {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The remote keys now: `Ok(None)` without remote keys, `Err` when they are too stale to use.
    fn remote_keys(&self) -> Result<Option<Arc<KeySet>>, TokenError> {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            return remote.snapshot().map(Some).ok_or(TokenError::KeysUnavailable);
        }
        Ok(None)
    }

    /// Changes whenever the remote keys change or go stale (0 without remote keys), so cached
    /// verifications made with other keys no longer count.
    pub(crate) fn key_generation(&self) -> u64 {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            return match remote.snapshot() {
                Some(_) => remote.generation(),
                None => u64::MAX,
            };
        }
        0
    }

    /// A token named a `kid` nobody knows: maybe the remote set has rotated.
    pub(crate) fn unknown_kid(&self) {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            remote.unknown_kid();
        }
    }

    /// Verify with the local keys, then the remote ones.
    pub(crate) fn verify<C: serde::de::DeserializeOwned + 'static>(
        &self,
        token: &str,
        now: i64,
    ) -> Result<crate::verify::Verified<C>, TokenError> {
        let remote = self.remote_keys();
        let usable = remote.as_ref().ok().and_then(Option::as_deref);
        let result = crate::verify::verify::<C>(&self.keys, usable, &self.rules, token, now);
        match (result, remote) {
            // No local key was selected, and the remote ones are too old to trust: fail closed.
            (Err(TokenError::UnknownKeyId | TokenError::AlgorithmMismatch), Err(stale)) => {
                self.unknown_kid();
                Err(stale)
            }
            (Err(TokenError::UnknownKeyId), _) => {
                self.unknown_kid();
                Err(TokenError::UnknownKeyId)
            }
            (result, _) => result,
        }
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
        let payload = serde_json::to_vec(claims).map_err(|_| IssueError::ClaimsNotAnObject)?;
        self.sign_json(&payload)
    }

    /// Sign a JSON payload with the current signing key.
    fn sign_json(&self, payload: &[u8]) -> Result<String, IssueError> {
        let (header, key) = match (&self.signing_header, self.keys.signing()) {
            (Some(header), Some(key)) => (header, key),
            _ => return Err(IssueError::NoSigningKey),
        };
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 120);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = key.sign(token.as_bytes()).ok_or(IssueError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        // Never hand out a token the layer itself would refuse (a renewal adds claims, so a token
        // near the limit could otherwise grow past it).
        if token.len() > self.rules.max_token_bytes {
            return Err(IssueError::TooLarge);
        }
        Ok(token)
    }

    /// Rules 3 and 4: a renewed token from the verified `payload`, signed at `now`.
    ///
    /// Every claim is kept (unknown ones too, byte for byte and in their order) except
    /// `iat = now`, `nbf = now` if present, a new `jti`, and `exp = min(now + ttl, cap)`. A token
    /// without `auth_time` gets its session start as `auth_time`, so its renewals keep the same
    /// cap; one without `sid` gets a fresh `sid`, so the chain that follows can be revoked as one
    /// session. `None` when the old token has expired by `now`, or the new `exp` would not be
    /// later than `old_exp`.
    pub(crate) fn renew_payload(
        &self,
        payload: &[u8],
        renewable: &Renewable,
        old_exp: i64,
        now: i64,
    ) -> Result<Option<(String, i64)>, IssueError> {
        let new_exp = now.saturating_add(self.ttl()).min(renewable.cap);
        // Checked again at signing time: the token may have expired while the handler ran.
        if now >= old_exp || new_exp <= old_exp {
            return Ok(None);
        }
        let Members(mut members) =
            serde_json::from_slice(payload).map_err(|_| IssueError::ClaimsNotAnObject)?;
        let jti = random_id()?;
        set(&mut members, "iat", Member::Number(now));
        if members.iter().any(|(name, _)| name == "nbf") {
            set(&mut members, "nbf", Member::Number(now));
        }
        set(&mut members, "jti", Member::Text(&jti));
        set(&mut members, "exp", Member::Number(new_exp));
        if !members.iter().any(|(name, _)| name == "auth_time") {
            set(&mut members, "auth_time", Member::Number(renewable.session_start));
        }
        let sid;
        if !members.iter().any(|(name, _)| name == "sid") {
            sid = random_id()?;
            set(&mut members, "sid", Member::Text(&sid));
        }
        let mut json = Vec::with_capacity(payload.len() + 16);
        json.push(b'{');
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            serde_json::to_writer(&mut json, name.as_ref())
                .map_err(|_| IssueError::ClaimsNotAnObject)?;
            json.push(b':');
            match value {
                Member::Raw(raw) => json.extend_from_slice(raw.get().as_bytes()),
                Member::Number(n) => {
                    write!(json, "{n}").map_err(|_| IssueError::ClaimsNotAnObject)?
                }
                Member::Text(text) => serde_json::to_writer(&mut json, text)
                    .map_err(|_| IssueError::ClaimsNotAnObject)?,
            }
        }
        json.push(b'}');
        Ok(Some((self.sign_json(&json)?, new_exp)))
    }
}

/// A claim of a renewed token: copied byte for byte, or set anew.
enum Member<'a> {
    Raw(&'a RawValue),
    Number(i64),
    Text(&'a str),
}

/// Replace the claim `name` where it stands, or add it at the end.
fn set<'a>(members: &mut Vec<(Cow<'a, str>, Member<'a>)>, name: &'static str, value: Member<'a>) {
    match members.iter_mut().find(|(n, _)| n == name) {
        Some((_, slot)) => *slot = value,
        None => members.push((Cow::Borrowed(name), value)),
    }
}

/// The members of a JSON object, values left unparsed (borrowed where there are no escapes).
struct Members<'a>(Vec<(Cow<'a, str>, Member<'a>)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Members<'de>, M::Error> {
                let mut members = Vec::with_capacity(16);
                while let Some(name) = map.next_key::<Name<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    // A repeated name: the last one wins, as serde_json's own maps do.
                    members.retain(|(n, _): &(Cow<'de, str>, Member<'de>)| *n != name.0);
                    members.push((name.0, Member::Raw(value)));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// A member name, borrowed from the payload unless it contains escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// 128 random bits from the operating system, base64url: for `jti` and `sid`.
///
/// Drawn from a per-thread pool refilled 256 bytes at a time, so a renewal rarely costs a
/// system call. Every byte is used once.
pub(crate) fn random_id() -> Result<String, IssueError> {
    thread_local! {
        static POOL: RefCell<([u8; 256], usize)> = const { RefCell::new(([0; 256], 256)) };
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (bytes, used) = &mut *pool;
        if *used + 16 > bytes.len() {
            getrandom::fill(bytes).map_err(|_| IssueError::Randomness)?;
            *used = 0;
        }
        let id = URL_SAFE_NO_PAD.encode(&bytes[*used..*used + 16]);
        bytes[*used..*used + 16].fill(0);
        *used += 16;
        Ok(id)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::builder::JwtAuthBuilder;
    use crate::clock::ManualClock;
    use crate::refresh::RefreshPolicy;

    fn core() -> Arc<Core> {
        let layer = JwtAuthBuilder::new()
            .hs256(b"config-test-secret-of-at-least-32-bytes")
            .clock(ManualClock::new(5_000))
            .refresh(RefreshPolicy::new().ttl(Duration::from_secs(300)))
            .build()
            .unwrap();
        layer.core()
    }

    fn payload_of_renewal(
        core: &Core,
        payload: &str,
        renewable: &Renewable,
        old_exp: i64,
    ) -> String {
        let (token, _) =
            core.renew_payload(payload.as_bytes(), renewable, old_exp, 5_000).unwrap().unwrap();
        let segment = token.split('.').nth(1).unwrap();
        String::from_utf8(URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn renewal_keeps_every_other_claim_byte_for_byte_and_in_order() {
        let core = core();
        let renewable = Renewable { cap: 100_000, session_start: 4_000, new_exp: 5_300 };
        let payload = r#"{"sub":"u","z":1.50,"nbf":4000,"nested":{"b":[1, 2],"a":"\u00e9"},"iat":4000,"exp":5100,"auth_time":4000,"jti":"old","sid":"s"}"#;
        let renewed = payload_of_renewal(&core, payload, &renewable, 5_100);
        let jti =
            serde_json::from_str::<Value>(&renewed).unwrap()["jti"].as_str().unwrap().to_owned();
        assert_ne!(jti, "old");
        assert_eq!(
            renewed,
            format!(
                r#"{{"sub":"u","z":1.50,"nbf":5000,"nested":{{"b":[1, 2],"a":"\u00e9"}},"iat":5000,"exp":5300,"auth_time":4000,"jti":"{jti}","sid":"s"}}"#
            )
        );
    }

    #[test]
    fn renewal_adds_what_is_missing_and_respects_the_cap() {
        let core = core();
        // No nbf (none added), no jti or auth_time (both added; auth_time = the session start).
        let renewable = Renewable { cap: 5_200, session_start: 4_000, new_exp: 5_200 };
        let renewed =
            payload_of_renewal(&core, r#"{"sub":"u","iat":4000,"exp":5100}"#, &renewable, 5_100);
        let claims: Value = serde_json::from_str(&renewed).unwrap();
        assert_eq!(claims["iat"], 5_000);
        assert_eq!(claims["exp"], 5_200, "capped");
        assert_eq!(claims["auth_time"], 4_000);
        assert!(claims.get("nbf").is_none());
        assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() == 22));
        // No sid: a fresh one, kept from then on (revoking it covers every later renewal).
        let sid = claims["sid"].as_str().expect("a session id").to_owned();
        assert_eq!(sid.len(), 22);
        assert_ne!(sid, claims["jti"]);
        let again = payload_of_renewal(&core, &renewed, &renewable, 5_100);
        assert_eq!(serde_json::from_str::<Value>(&again).unwrap()["sid"], sid.as_str());
        // Nothing to extend: no token.
        let none = core.renew_payload(br#"{"exp":5200}"#, &renewable, 5_200, 5_000).unwrap();
        assert!(none.is_none());
        // Expired by the time the response is written: nothing is signed.
        let late = core.renew_payload(br#"{"exp":5000}"#, &renewable, 5_000, 5_000).unwrap();
        assert!(late.is_none());
    }

    #[test]
    fn a_renewal_never_exceeds_the_maximum_token_size() {
        let core = core();
        let renewable = Renewable { cap: 100_000, session_start: 4_000, new_exp: 5_300 };
        // A payload that fits now, but not once renewal adds jti and auth_time.
        let filler = "x".repeat(core.rules.max_token_bytes * 3 / 4 - 80);
        let payload = format!(r#"{{"sub":"u","exp":5100,"pad":"{filler}"}}"#);
        let result = core.renew_payload(payload.as_bytes(), &renewable, 5_100, 5_000);
        assert_eq!(result, Err(IssueError::TooLarge));
    }

    #[test]
    fn random_ids_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| random_id().unwrap()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
