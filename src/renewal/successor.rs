//! The successor's claims: everything the verified token carried, with new dates and ids.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::IssueError;
use crate::keys::crypto::random_id;

/// The payload of a successor: the verified `payload` with new dates and a new id.
///
/// Every claim is kept (unknown ones too, byte for byte and in their order) except
/// `iat = now`, `nbf = now` if present, a new `jti`, and `exp = new_exp`. A token without
/// `auth_time` gets its session start as `auth_time`, so its renewals keep the same session limit; one
/// without `sid` gets a fresh `sid`, so the chain that follows can be revoked as one session.
pub(crate) fn successor_payload(
    payload: &[u8],
    session_start: i64,
    new_exp: i64,
    now: i64,
) -> Result<Vec<u8>, IssueError> {
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
        set(&mut members, "auth_time", Member::Number(session_start));
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
            Member::Number(n) => write!(json, "{n}").map_err(|_| IssueError::ClaimsNotAnObject)?,
            Member::Text(text) => {
                serde_json::to_writer(&mut json, text).map_err(|_| IssueError::ClaimsNotAnObject)?
            }
        }
    }
    json.push(b'}');
    Ok(json)
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn successor(payload: &str, session_start: i64, new_exp: i64) -> String {
        String::from_utf8(
            successor_payload(payload.as_bytes(), session_start, new_exp, 5_000).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn every_other_claim_is_kept_byte_for_byte_and_in_order() {
        let payload = r#"{"sub":"u","z":1.50,"nbf":4000,"nested":{"b":[1, 2],"a":"\u00e9"},"iat":4000,"exp":5100,"auth_time":4000,"jti":"old","sid":"s"}"#;
        let renewed = successor(payload, 4_000, 5_300);
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
    fn what_is_missing_is_added() {
        // No nbf (none added), no jti, auth_time or sid (all added; auth_time = the session start).
        let renewed = successor(r#"{"sub":"u","iat":4000,"exp":5100}"#, 4_000, 5_200);
        let claims: Value = serde_json::from_str(&renewed).unwrap();
        assert_eq!(claims["iat"], 5_000);
        assert_eq!(claims["exp"], 5_200);
        assert_eq!(claims["auth_time"], 4_000);
        assert!(claims.get("nbf").is_none());
        assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() == 22));
        // A fresh sid, kept from then on (revoking it covers every later renewal).
        let sid = claims["sid"].as_str().expect("a session id").to_owned();
        assert_eq!(sid.len(), 22);
        assert_ne!(sid, claims["jti"]);
        let again: Value = serde_json::from_str(&successor(&renewed, 4_000, 5_400)).unwrap();
        assert_eq!(again["sid"], sid.as_str());
        // A repeated member: the last one wins, as serde_json's own maps do.
        let twice: Value =
            serde_json::from_str(&successor(r#"{"a":1,"a":2,"exp":1}"#, 0, 9)).unwrap();
        assert_eq!(twice["a"], 2);
        assert!(successor_payload(b"[1]", 0, 9, 5_000).is_err());
    }
}
