//! Compact JWS (RFC 7515): the strict parsing of a token and its signature check, and the
//! serialization of the tokens this crate signs.
//!
//! The compact serialization is parsed here, strictly, and only the signature check is handed to
//! the crypto backend (with a key prepared at configuration time). The payload is not parsed
//! before its signature verifies.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny};

use crate::algorithm::Algorithm;
use crate::base64url;
use crate::claims::{self, RegisteredClaims};
use crate::error::{IssueError, TokenError};
use crate::keys::{Key, KeyRole, KeySet, Selection};
use crate::verify::rules::{Rules, validate};

/// Decoded segments up to this size stay on the stack.
const STACK_SEGMENT: usize = 1024;

/// A token that passed every check.
#[derive(Debug)]
pub(crate) struct Verified<C> {
    pub(crate) registered: RegisteredClaims,
    pub(crate) custom: C,
    /// The role of the key that verified it.
    pub(crate) role: KeyRole,
}

/// The JOSE header fields this crate acts on. Unknown members are ignored, as RFC 7515 requires;
/// `jku`, `jwk`, `x5u` and `x5c` are never used, so nothing is ever fetched.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
    #[serde(default, deserialize_with = "present")]
    b64: bool,
}

/// `true` for a member that is present, whatever its value.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The three segments of a compact JWS, and the signing input (`header.payload`).
struct Segments<'a> {
    signing_input: &'a str,
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Segments<'_>, TokenError> {
    // memchr's SIMD search: a token is a few hundred bytes, scanned on every first sight.
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(TokenError::Malformed);
    };
    let (header, payload, signature) =
        (&token[..first], &token[first + 1..second], &token[second + 1..]);
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(Segments { signing_input: &token[..second], header, payload, signature })
}

/// Decode a base64url segment (no padding, canonical) and hand the bytes to `f`; small segments
/// never touch the heap.
fn with_decoded<T>(
    segment: &str,
    error: TokenError,
    f: impl FnOnce(&[u8]) -> Result<T, TokenError>,
) -> Result<T, TokenError> {
    let mut stack = [0u8; STACK_SEGMENT];
    if segment.len() / 4 * 3 + 3 <= STACK_SEGMENT {
        f(base64url::decode_into(segment, &mut stack).ok_or(error)?)
    } else {
        f(&base64url::decode(segment).ok_or(error)?)
    }
}

/// Decode the payload segment of a token already verified (for renewal).
pub(crate) fn payload_of(token: &str) -> Option<Vec<u8>> {
    let segments = split(token).ok()?;
    base64url::decode(segments.payload)
}

/// Verify `token` at time `now`: signature with the selected key, then the claims.
pub(crate) fn verify_token<C: DeserializeOwned + 'static>(
    keys: &KeySet,
    remote: Option<&KeySet>,
    rules: &Rules,
    token: &str,
    now: i64,
) -> Result<Verified<C>, TokenError> {
    if token.len() > rules.max_token_bytes {
        return Err(TokenError::TooLarge);
    }
    let segments = split(token)?;

    // A header byte-identical to one this configuration signs means exactly that (alg, kid, no
    // extensions): no need to decode and parse it again.
    let selection = match keys.known_header(segments.header) {
        Some(_) if !rules.accepts_jwt_type => return Err(TokenError::UnacceptedType),
        Some((alg, kid)) => select(keys, remote, alg, kid),
        None => with_decoded(segments.header, TokenError::MalformedHeader, |bytes| {
            // RFC 7515: the header is UTF-8 JSON. serde_json does not check the UTF-8 of members
            // it skips, so the whole text is checked first.
            let text = std::str::from_utf8(bytes).map_err(|_| TokenError::MalformedHeader)?;
            if !text.starts_with('{') {
                return Err(TokenError::MalformedHeader);
            }
            let header: Header<'_> =
                serde_json::from_str(text).map_err(|_| TokenError::MalformedHeader)?;
            let nested = header.cty.as_deref().is_some_and(|cty| cty.eq_ignore_ascii_case("JWT"));
            if header.crit || header.b64 || nested {
                return Err(TokenError::UnsupportedHeader);
            }
            // Explicit typing: another kind of JWT signed with the same key (a reset link, a
            // logout token) is not an access token.
            if header.typ.as_deref().is_some_and(|typ| !rules.accepts_type(typ)) {
                return Err(TokenError::UnacceptedType);
            }
            let alg = Algorithm::from_name(&header.alg).ok_or(TokenError::UnsupportedAlgorithm)?;
            Ok(select(keys, remote, alg, header.kid.as_deref()))
        })?,
    };
    let candidates = selection.map_err(|e| match e {
        Selection::UnknownKid => TokenError::UnknownKeyId,
        Selection::WrongAlgorithm => TokenError::AlgorithmMismatch,
    })?;

    // Signatures up to RSA-8192 fit on the stack; HMAC and elliptic-curve ones in a small buffer
    // that costs less to clear.
    let mut small = [0u8; 132];
    let mut large;
    let buffer: &mut [u8] = if segments.signature.len() <= 176 {
        &mut small
    } else {
        large = [0u8; 1040];
        &mut large
    };
    let signature =
        base64url::decode_into(segments.signature, buffer).ok_or(TokenError::Malformed)?;
    let role = candidates
        .into_iter()
        .find(|(key, _)| key.verify(segments.signing_input.as_bytes(), signature))
        .map(|(_, role)| role.clone())
        .ok_or(TokenError::InvalidSignature)?;

    // The registered claims are checked before the application's are read: an expired token is
    // reported as expired, and costs no more parsing.
    let (registered, custom) =
        with_decoded(segments.payload, TokenError::MalformedClaims, |payload| {
            let registered = claims::parse_registered(payload)?;
            validate(&registered, &role, rules, now)?;
            Ok((registered, claims::parse_custom::<C>(payload)?))
        })?;
    Ok(Verified { registered, custom, role })
}

/// Our keys first; a `kid` or algorithm they do not know may be the remote set's.
fn select<'a>(
    keys: &'a KeySet,
    remote: Option<&'a KeySet>,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<impl Iterator<Item = &'a (Key, KeyRole)> + use<'a>, Selection> {
    let local = keys.candidates(alg, kid);
    match (local, remote) {
        (Ok(local), _) => Ok(Either::Left(local)),
        (Err(_), Some(remote)) => remote.candidates(alg, kid).map(Either::Right),
        (Err(e), None) => Err(e),
    }
}

/// One of two iterators.
enum Either<L, R> {
    Left(L),
    Right(R),
}

impl<T, L: Iterator<Item = T>, R: Iterator<Item = T>> Iterator for Either<L, R> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            Either::Left(l) => l.next(),
            Either::Right(r) => r.next(),
        }
    }
}

/// The compact serialization of `payload` under the base64url `header`, signed with `key`.
/// A token longer than `max_bytes` is refused: the layer would not accept it back.
pub(crate) fn encode(
    header: &str,
    payload: &[u8],
    key: &Key,
    max_bytes: usize,
) -> Result<String, IssueError> {
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 120);
    token.push_str(header);
    token.push('.');
    base64url::encode_onto(payload, &mut token);
    let signature = key.sign(token.as_bytes()).ok_or(IssueError::Signing)?;
    token.push('.');
    base64url::encode_onto(&signature, &mut token);
    if token.len() > max_bytes {
        return Err(IssueError::TooLarge);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::NoCustomClaims;
    use crate::keys::Key;

    const NOW: i64 = 1_700_000_000;
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn b64(bytes: &[u8]) -> String {
        base64url::encode(bytes)
    }

    /// A token with this header and payload JSON, signed with `key`.
    fn token(key: &Key, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let signature = key.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signature))
    }

    fn rules() -> Rules {
        Rules {
            leeway: 5,
            own_issuer: Some("us".into()),
            audiences: vec![],
            require_sub: true,
            max_token_bytes: 8192,
            token_types: vec!["JWT".into(), "at+jwt".into()],
            accepts_jwt_type: true,
            session_limit: 86_400,
            longest_session_limit: 86_400,
            dpop: false,
        }
    }

    fn hs_set() -> KeySet {
        KeySet::new(vec![
            (Key::hs256(SECRET).unwrap().with_kid("k1"), KeyRole::Signing),
            (Key::hs256([7u8; 32]).unwrap().with_kid("old"), KeyRole::Previous),
        ])
    }

    fn claims(extra: &str) -> String {
        format!(r#"{{"sub":"1","iss":"us","iat":{},"exp":{}{extra}}}"#, NOW - 10, NOW + 300)
    }

    fn check(keys: &KeySet, rules: &Rules, token: &str) -> Result<KeyRole, TokenError> {
        verify_token::<NoCustomClaims>(keys, None, rules, token, NOW).map(|v| v.role)
    }

    #[test]
    fn accepts_a_good_token_and_reports_the_key_role() {
        let keys = hs_set();
        let signer = Key::hs256(SECRET).unwrap();
        let good = token(&signer, r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, &claims(""));
        assert_eq!(check(&keys, &rules(), &good), Ok(KeyRole::Signing));
        let no_kid = token(&signer, r#"{"alg":"HS256"}"#, &claims(""));
        assert_eq!(check(&keys, &rules(), &no_kid), Ok(KeyRole::Signing));
        let old = Key::hs256([7u8; 32]).unwrap();
        let rotated = token(&old, r#"{"alg":"HS256","kid":"old"}"#, &claims(""));
        assert_eq!(check(&keys, &rules(), &rotated), Ok(KeyRole::Previous));
        let rotated_no_kid = token(&old, r#"{"alg":"HS256"}"#, &claims(""));
        assert_eq!(check(&keys, &rules(), &rotated_no_kid), Ok(KeyRole::Previous));
    }

    #[test]
    fn every_claim_rule() {
        let keys = hs_set();
        let key = Key::hs256(SECRET).unwrap();
        let header = r#"{"alg":"HS256","kid":"k1"}"#;
        let run = |payload: &str, rules: &Rules| check(&keys, rules, &token(&key, header, payload));
        let r = rules();
        let exp = |exp: i64| format!(r#"{{"sub":"1","iss":"us","iat":1699999990,"exp":{exp}}}"#);
        assert_eq!(run(&exp(NOW), &r), Ok(KeyRole::Signing), "within leeway");
        assert_eq!(run(&exp(NOW - 4), &r), Ok(KeyRole::Signing), "within leeway");
        assert_eq!(run(&exp(NOW - 5), &r), Err(TokenError::Expired));
        assert_eq!(run(&exp(-1), &r), Err(TokenError::Expired));
        assert_eq!(run(&exp(i64::MIN), &r), Err(TokenError::Expired));
        assert_eq!(run(r#"{"sub":"1","iss":"us"}"#, &r), Err(TokenError::MissingClaim("exp")));
        assert_eq!(run(&claims(&format!(r#","nbf":{}"#, NOW + 5)), &r), Ok(KeyRole::Signing));
        assert_eq!(
            run(&claims(&format!(r#","nbf":{}"#, NOW + 6)), &r),
            Err(TokenError::NotYetValid)
        );
        let future_iat =
            format!(r#"{{"sub":"1","iss":"us","iat":{},"exp":{}}}"#, NOW + 60, NOW + 300);
        assert_eq!(run(&future_iat, &r), Err(TokenError::IssuedInFuture));
        let other_iss =
            format!(r#"{{"sub":"1","iss":"them","iat":1699999990,"exp":{}}}"#, NOW + 300);
        assert_eq!(run(&other_iss, &r), Err(TokenError::WrongIssuer));
        let no_iss = format!(r#"{{"sub":"1","iat":1699999990,"exp":{}}}"#, NOW + 300);
        assert_eq!(run(&no_iss, &r), Err(TokenError::MissingClaim("iss")));
        let no_sub = format!(r#"{{"iss":"us","iat":1699999990,"exp":{}}}"#, NOW + 300);
        assert_eq!(run(&no_sub, &r), Err(TokenError::MissingClaim("sub")));
        assert_eq!(run(&no_sub, &Rules { require_sub: false, ..rules() }), Ok(KeyRole::Signing));
        let no_start = format!(r#"{{"sub":"1","iss":"us","exp":{}}}"#, NOW + 300);
        assert_eq!(run(&no_start, &r), Err(TokenError::MissingClaim("auth_time")));
        let aud = Rules { audiences: vec!["api".into(), "admin".into()], ..rules() };
        assert_eq!(run(&claims(r#","aud":"api""#), &aud), Ok(KeyRole::Signing));
        assert_eq!(run(&claims(r#","aud":["x","admin"]"#), &aud), Ok(KeyRole::Signing));
        assert_eq!(run(&claims(r#","aud":["x","y"]"#), &aud), Err(TokenError::WrongAudience));
        assert_eq!(run(&claims(""), &aud), Err(TokenError::MissingClaim("aud")));
        assert_eq!(
            run(r#"{"sub":"1","iss":"us","exp":"soon"}"#, &r),
            Err(TokenError::MalformedClaims)
        );
        assert_eq!(run("[1,2]", &r), Err(TokenError::MalformedClaims));
    }

    #[test]
    fn header_rules() {
        let keys = hs_set();
        let key = Key::hs256(SECRET).unwrap();
        let run = |header: &str| check(&keys, &rules(), &token(&key, header, &claims("")));
        for none in ["none", "None", "NONE", "nOnE", "hs256", "HS256 ", "RS1", ""] {
            let header = format!(r#"{{"alg":"{none}"}}"#);
            assert_eq!(run(&header), Err(TokenError::UnsupportedAlgorithm), "{none:?}");
        }
        assert_eq!(run(r#"{"alg":"HS384","kid":"k1"}"#), Err(TokenError::AlgorithmMismatch));
        assert_eq!(run(r#"{"alg":"RS256"}"#), Err(TokenError::AlgorithmMismatch));
        assert_eq!(
            run(r#"{"alg":"HS256","kid":"../../etc/passwd"}"#),
            Err(TokenError::UnknownKeyId)
        );
        let long_kid = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(600));
        assert_eq!(run(&long_kid), Err(TokenError::UnknownKeyId));
        assert_eq!(run(r#"{"alg":"HS256","kid":7}"#), Err(TokenError::MalformedHeader));
        assert_eq!(run(r#"{"alg":"HS256","kid":null}"#), Ok(KeyRole::Signing));
        assert_eq!(
            run(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#),
            Err(TokenError::UnsupportedHeader)
        );
        assert_eq!(run(r#"{"alg":"HS256","b64":false}"#), Err(TokenError::UnsupportedHeader));
        assert_eq!(run(r#"{"alg":"HS256","cty":"JWT"}"#), Err(TokenError::UnsupportedHeader));
        assert_eq!(run(r#"{"alg":"HS256","alg":"HS256"}"#), Err(TokenError::MalformedHeader));
        assert_eq!(run(r#"["HS256"]"#), Err(TokenError::MalformedHeader));
        assert_eq!(run(r#"{"alg":7}"#), Err(TokenError::MalformedHeader));
        assert_eq!(run("{}"), Err(TokenError::MalformedHeader));
        // Embedded keys and key URLs are ignored: the signature is checked with our key only.
        let evil = Key::hs256([1u8; 32]).unwrap();
        let jwk_header = format!(
            r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{}"}},"jku":"http://127.0.0.1:1/","x5u":"http://127.0.0.1:1/"}}"#,
            b64(&[1u8; 32])
        );
        let forged = token(&evil, &jwk_header, &claims(""));
        assert_eq!(check(&keys, &rules(), &forged), Err(TokenError::InvalidSignature));
    }

    #[test]
    fn explicit_typing() {
        let keys = hs_set();
        let key = Key::hs256(SECRET).unwrap();
        let run = |typ: &str, rules: &Rules| {
            let header = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
            check(&keys, rules, &token(&key, &header, &claims("")))
        };
        let r = rules();
        for ok in ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "Application/JWT"] {
            assert_eq!(run(ok, &r), Ok(KeyRole::Signing), "{ok}");
        }
        for refused in ["logout+jwt", "secevent+jwt", "reset", "", "application/", "JWT "] {
            assert_eq!(run(refused, &r), Err(TokenError::UnacceptedType), "{refused:?}");
        }
        assert_eq!(
            check(&keys, &r, &token(&key, r#"{"alg":"HS256","typ":7}"#, &claims(""))),
            Err(TokenError::MalformedHeader)
        );
        // Our own header, recognised without parsing, when JWT is no longer accepted.
        let own = token(&key, r#"{"alg":"HS256","typ":"JWT"}"#, &claims(""));
        let at_only =
            Rules { token_types: vec!["at+jwt".into()], accepts_jwt_type: false, ..rules() };
        let keys = KeySet::new(vec![(Key::hs256(SECRET).unwrap(), KeyRole::Signing)]);
        assert_eq!(check(&keys, &rules(), &own), Ok(KeyRole::Signing));
        assert_eq!(check(&keys, &at_only, &own), Err(TokenError::UnacceptedType));
    }

    #[test]
    fn the_session_start_is_checked() {
        let keys = hs_set();
        let key = Key::hs256(SECRET).unwrap();
        let run =
            |payload: String| check(&keys, &rules(), &token(&key, r#"{"alg":"HS256"}"#, &payload));
        let with = |auth_time: i64, iat: Option<i64>, exp: i64| {
            let iat = iat.map(|iat| format!(r#","iat":{iat}"#)).unwrap_or_default();
            format!(r#"{{"sub":"1","iss":"us","auth_time":{auth_time},"exp":{exp}{iat}}}"#)
        };
        assert_eq!(run(with(NOW - 60, Some(NOW - 10), NOW + 300)), Ok(KeyRole::Signing));
        assert_eq!(run(with(NOW + 5, None, NOW + 300)), Ok(KeyRole::Signing), "leeway");
        assert_eq!(run(with(NOW + 6, None, NOW + 300)), Err(TokenError::SessionStartInFuture));
        assert_eq!(run(with(i64::MAX, None, NOW + 300)), Err(TokenError::SessionStartInFuture));
        // iat stands in for a missing auth_time.
        let iat_only =
            format!(r#"{{"sub":"1","iss":"us","iat":{},"exp":{}}}"#, NOW - 10, NOW + 300);
        assert_eq!(run(iat_only), Ok(KeyRole::Signing));
        // Our tokens never outlive auth_time plus the session limit (86 400 s here), plus leeway.
        let start = NOW - 86_000;
        assert_eq!(run(with(start, None, start + 86_405)), Ok(KeyRole::Signing));
        assert_eq!(run(with(start, None, start + 86_406)), Err(TokenError::BeyondSessionLimit));
        let old_iat = format!(r#"{{"sub":"1","iss":"us","iat":{start},"exp":{}}}"#, start + 90_000);
        assert_eq!(run(old_iat), Err(TokenError::BeyondSessionLimit));
    }

    #[test]
    fn keys_vouch_for_their_own_issuer_only() {
        let partner = Key::hs256([3u8; 32]).unwrap();
        let keys = KeySet::new(vec![
            (Key::hs256(SECRET).unwrap().with_kid("ours"), KeyRole::Signing),
            (Key::hs256([3u8; 32]).unwrap().with_kid("p"), KeyRole::Trusted("partner".into())),
        ]);
        let ours = Key::hs256(SECRET).unwrap();
        let payload = |iss: &str| {
            format!(r#"{{"sub":"1","iss":"{iss}","iat":{},"exp":{}}}"#, NOW - 10, NOW + 300)
        };
        let run = |key: &Key, kid: &str, iss: &str| {
            let header = format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#);
            check(&keys, &rules(), &token(key, &header, &payload(iss)))
        };
        assert_eq!(run(&ours, "ours", "us"), Ok(KeyRole::Signing));
        assert_eq!(run(&partner, "p", "partner"), Ok(KeyRole::Trusted("partner".into())));
        // The partner's key minting a token in our name, and ours in the partner's.
        assert_eq!(run(&partner, "p", "us"), Err(TokenError::WrongIssuer));
        assert_eq!(run(&ours, "ours", "partner"), Err(TokenError::WrongIssuer));
        // Without a kid, the key that verifies decides.
        let kidless = token(&partner, r#"{"alg":"HS256"}"#, &payload("us"));
        assert_eq!(check(&keys, &rules(), &kidless), Err(TokenError::WrongIssuer));
        // Without our issuer configured, our keys do not check iss; a partner's still do.
        let open = Rules { own_issuer: None, ..rules() };
        let anything = token(&ours, r#"{"alg":"HS256","kid":"ours"}"#, &payload("whoever"));
        assert_eq!(check(&keys, &open, &anything), Ok(KeyRole::Signing));
        let forged = token(&partner, r#"{"alg":"HS256","kid":"p"}"#, &payload("whoever"));
        assert_eq!(check(&keys, &open, &forged), Err(TokenError::WrongIssuer));
    }

    #[test]
    fn structure_rules() {
        let keys = hs_set();
        let key = Key::hs256(SECRET).unwrap();
        let good = token(&key, r#"{"alg":"HS256"}"#, &claims(""));
        let parts: Vec<&str> = good.split('.').collect();
        let run = |t: &str| check(&keys, &rules(), t);
        assert_eq!(run(&format!("{}.{}", parts[0], parts[1])), Err(TokenError::Malformed));
        assert_eq!(run(&format!("{good}.x")), Err(TokenError::Malformed));
        assert_eq!(run(&format!("{good}.x.y")), Err(TokenError::Malformed), "JWE shape");
        assert_eq!(run(&format!("{}.{}.", parts[0], parts[1])), Err(TokenError::Malformed));
        assert_eq!(run(&format!(".{}.{}", parts[1], parts[2])), Err(TokenError::Malformed));
        assert_eq!(
            run(&format!("{}=.{}.{}", parts[0], parts[1], parts[2])),
            Err(TokenError::MalformedHeader)
        );
        assert_eq!(
            run(&format!("{}.{}.{}=", parts[0], parts[1], parts[2])),
            Err(TokenError::Malformed)
        );
        let std_alphabet = parts[2].replace('-', "+").replace('_', "/");
        if std_alphabet != parts[2] {
            assert_eq!(
                run(&format!("{}.{}.{std_alphabet}", parts[0], parts[1])),
                Err(TokenError::Malformed)
            );
        }
        assert_eq!(
            run(&format!(r#"{{"payload":"{}","signatures":[]}}"#, parts[1])),
            Err(TokenError::Malformed)
        );
        assert_eq!(run(&"a".repeat(9000)), Err(TokenError::TooLarge));
        assert_eq!(run(&".".repeat(100_000)), Err(TokenError::TooLarge));
        // One flipped bit in each segment.
        for segment in 0..3 {
            let mut bytes = parts.clone().into_iter().map(str::to_owned).collect::<Vec<_>>();
            let mut chars: Vec<char> = bytes[segment].chars().collect();
            chars[1] = if chars[1] == 'A' { 'B' } else { 'A' };
            bytes[segment] = chars.into_iter().collect();
            assert!(run(&bytes.join(".")).is_err(), "segment {segment}");
        }
        let mut bad_sig = good.clone();
        bad_sig.truncate(good.len() - 2);
        bad_sig.push_str("AA");
        assert!(matches!(run(&bad_sig), Err(TokenError::InvalidSignature | TokenError::Malformed)));
    }

    fn pem(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn asymmetric_keys_and_algorithm_confusion() {
        let rsa = Key::from_private_pem(Algorithm::RS256, pem("rsa_private.pem")).unwrap();
        let ec = Key::from_private_pem(Algorithm::ES256, pem("ec256_private.pem")).unwrap();
        let ed = Key::from_private_pem(Algorithm::EdDSA, pem("ed25519_private.pem")).unwrap();
        let keys = KeySet::new(vec![
            (
                Key::from_public_pem(Algorithm::RS256, pem("rsa_public.pem")).unwrap(),
                KeyRole::Trusted("us".into()),
            ),
            (
                Key::from_public_pem(Algorithm::ES256, pem("ec256_public.pem")).unwrap(),
                KeyRole::Trusted("us".into()),
            ),
            (
                Key::from_public_pem(Algorithm::EdDSA, pem("ed25519_public.pem")).unwrap(),
                KeyRole::Trusted("us".into()),
            ),
        ]);
        // `Ed25519` is RFC 9864's fully-specified name for EdDSA on Ed25519.
        for (key, alg) in [(&rsa, "RS256"), (&ec, "ES256"), (&ed, "EdDSA"), (&ed, "Ed25519")] {
            let header = format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, key.kid().unwrap());
            assert_eq!(
                check(&keys, &rules(), &token(key, &header, &claims(""))),
                Ok(KeyRole::Trusted("us".into())),
                "{alg}"
            );
        }
        // HS256 "signed" with the public key bytes: the classic confusion attack.
        for public in ["rsa_public.pem", "ec256_public.pem"] {
            let confused = Key::hmac(Algorithm::HS256, pem(public)).unwrap();
            let t = token(&confused, r#"{"alg":"HS256"}"#, &claims(""));
            assert_eq!(check(&keys, &rules(), &t), Err(TokenError::AlgorithmMismatch), "{public}");
            let with_kid = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, rsa.kid().unwrap());
            let t = token(&confused, &with_kid, &claims(""));
            assert_eq!(check(&keys, &rules(), &t), Err(TokenError::AlgorithmMismatch), "{public}");
        }
        // ES256 with an all-zero signature.
        let t = token(&ec, r#"{"alg":"ES256"}"#, &claims(""));
        let (input, _) = t.rsplit_once('.').unwrap();
        let zero = format!("{input}.{}", b64(&[0u8; 64]));
        assert_eq!(check(&keys, &rules(), &zero), Err(TokenError::InvalidSignature));
        // PS256 (RSA-PSS) with the RSA key pinned to RS256 is a mismatch.
        let pss = Key::from_private_pem(Algorithm::PS256, pem("rsa_private.pem")).unwrap();
        let t = token(&pss, r#"{"alg":"PS256"}"#, &claims(""));
        assert_eq!(check(&keys, &rules(), &t), Err(TokenError::AlgorithmMismatch));
    }
}
