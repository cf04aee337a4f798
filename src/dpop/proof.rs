//! Checking one DPoP proof (RFC 9449 section 4.3): a compact JWS of type `dpop+jwt`, signed with
//! the public key in its own header, for this request's method and URI, issued just now, and
//! (with a token) for that token.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use http::Method;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::algorithm::Algorithm;
use crate::error::DpopError;
use crate::keys::Key;

/// The longest proof read, in bytes: a proof is a header with one public key and a few claims.
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// JWK members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof is checked against.
pub(crate) struct Expected<'a> {
    pub(crate) method: &'a Method,
    /// The request's URI as the client may have written it (one per public origin), without
    /// query and fragment, normalized.
    pub(crate) uris: &'a [String],
    pub(crate) algorithms: &'a [Algorithm],
    /// The accepted `iat` range, inclusive.
    pub(crate) earliest: i64,
    pub(crate) latest: i64,
    /// The access token the proof must be for (`ath`), if one was presented.
    pub(crate) token: Option<&'a str>,
}

/// A proof that passed every check but the replay check.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Checked {
    /// The RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    pub(crate) jti: String,
    pub(crate) iat: i64,
    /// The server nonce it carries, if any.
    pub(crate) nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Proof keys already parsed, by the header that carried them: a client signs every proof with
/// one key, so its header (`typ`, `alg`, `jwk`) is the same each time. Bounded: when full it
/// starts over, so a flood of new keys costs only their parsing.
pub(crate) struct KeyCache {
    capacity: usize,
    keys: Mutex<HashMap<Box<str>, (Key, String)>>,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize) -> KeyCache {
        KeyCache { capacity, keys: Mutex::new(HashMap::new()) }
    }

    fn get(&self, header: &str) -> Option<(Key, String)> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).get(header).cloned()
    }

    fn insert(&self, header: &str, key: Key, jkt: String) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= self.capacity {
            keys.clear();
        }
        keys.insert(header.into(), (key, jkt));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.lock().unwrap().len()
    }
}

/// The key a proof's header names, and its thumbprint, after every header check.
fn header_key(header_b64: &str, algorithms: &[Algorithm]) -> Result<(Key, String), DpopError> {
    let json = crate::base64url::decode(header_b64).ok_or(DpopError::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| DpopError::Malformed)?;
    if !header.typ.is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(DpopError::WrongType);
    }
    let algorithm = header
        .alg
        .and_then(|alg| alg.parse::<Algorithm>().ok())
        .filter(|alg| !alg.is_hmac() && algorithms.contains(alg))
        .ok_or(DpopError::UnsupportedAlgorithm)?;
    let jwk = header.jwk.ok_or(DpopError::InvalidKey)?;
    if PRIVATE_MEMBERS.iter().any(|member| jwk.contains_key(*member)) {
        return Err(DpopError::PrivateKey);
    }
    Key::from_proof_jwk(serde_json::Value::Object(jwk), algorithm)
        .map_err(|_| DpopError::InvalidKey)
}

pub(crate) fn check(
    proof: &str,
    expected: &Expected<'_>,
    keys: &KeyCache,
) -> Result<Checked, DpopError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::Malformed);
    }
    let mut segments = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(DpopError::Malformed);
    };
    let cached = keys.get(header_b64);
    let fresh = cached.is_none();
    let (key, jkt) = match cached {
        Some(known) => known,
        None => header_key(header_b64, expected.algorithms)?,
    };
    let signature = crate::base64url::decode(signature_b64).ok_or(DpopError::Malformed)?;
    let signed = &proof[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(signed.as_bytes(), &signature) {
        return Err(DpopError::InvalidSignature);
    }
    // Kept once it has signed a proof: a key that never did costs its parsing each time.
    if fresh {
        keys.insert(header_b64, key, jkt.clone());
    }
    let payload = crate::base64url::decode(payload_b64).ok_or(DpopError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| DpopError::Malformed)?;
    let jti = claims.jti.filter(|jti| !jti.is_empty()).ok_or(DpopError::MissingClaim("jti"))?;
    let htm = claims.htm.ok_or(DpopError::MissingClaim("htm"))?;
    if htm != expected.method.as_str() {
        return Err(DpopError::WrongMethod);
    }
    let htu = claims.htu.ok_or(DpopError::MissingClaim("htu"))?;
    if !normalize(&htu).is_some_and(|htu| expected.uris.contains(&htu)) {
        return Err(DpopError::WrongUri);
    }
    let iat = claims.iat.ok_or(DpopError::MissingClaim("iat"))?;
    if !(expected.earliest..=expected.latest).contains(&iat) {
        return Err(DpopError::Stale);
    }
    if let Some(token) = expected.token {
        let ath = claims.ath.ok_or(DpopError::MissingClaim("ath"))?;
        if ath != token_hash(token) {
            return Err(DpopError::WrongTokenHash);
        }
    }
    Ok(Checked { jkt, jti, iat, nonce: claims.nonce })
}

/// `ath`: the base64url SHA-256 of the access token (RFC 9449 section 4.2).
pub(crate) fn token_hash(token: &str) -> String {
    crate::base64url::encode(&Sha256::digest(token.as_bytes()))
}

/// A URI without query and fragment, normalized as RFC 3986 sections 6.2.2 and 6.2.3 say (the
/// scheme and host in lower case, no default port, an empty path as `/`, percent-encodings in
/// upper case and unreserved characters decoded), so that equal URIs compare equal. `None` for
/// anything but an absolute `http` or `https` URI.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let without_fragment = uri.split('#').next().unwrap_or_default();
    let uri: http::Uri = without_fragment.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    let port = match authority.port_u16() {
        Some(port) if port != default_port => format!(":{port}"),
        _ => String::new(),
    };
    let path = match uri.path() {
        "" => "/".to_owned(),
        path => normalize_percent_encoding(path)?,
    };
    Some(format!("{scheme}://{host}{port}{path}"))
}

/// Upper-case hex in percent-encodings, and unreserved characters decoded.
fn normalize_percent_encoding(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                out.push(char::from(byte));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 section 4.2, figure 4: the proof of the token request, and section 6.1's
    /// thumbprint of its key.
    const RFC_PROOF: &str = concat!(
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0",
        "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10",
        "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.",
        "eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1w",
        "bGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.",
        "2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
    );
    const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    const RFC_IAT: i64 = 1_562_262_616;

    fn expected<'a>(method: &'a Method, uris: &'a [String]) -> Expected<'a> {
        Expected {
            method,
            uris,
            algorithms: &[Algorithm::ES256, Algorithm::EdDSA],
            earliest: RFC_IAT - 60,
            latest: RFC_IAT + 5,
            token: None,
        }
    }

    #[test]
    fn the_rfc_9449_example_proof_verifies_with_its_thumbprint() {
        let uris = ["https://server.example.com/token".to_owned()];
        let checked = check(RFC_PROOF, &expected(&Method::POST, &uris), &KeyCache::new(8))
            .expect("RFC 9449 section 4.2");
        assert_eq!(checked.jkt, RFC_JKT, "RFC 9449 section 6.1");
        assert_eq!(checked.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(checked.iat, RFC_IAT);
    }

    #[test]
    fn the_rfc_9449_token_hash() {
        // Section 7.1: the access token of the resource request, and its `ath`.
        assert_eq!(
            token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn a_proof_for_another_request_time_or_token_is_refused() {
        let uri = &["https://server.example.com/token".to_owned()][..];
        let post = Method::POST;
        let refused =
            |expected: Expected<'_>| check(RFC_PROOF, &expected, &KeyCache::new(8)).unwrap_err();
        assert_eq!(refused(expected(&Method::GET, uri)), DpopError::WrongMethod);
        let other = &["https://server.example.com/other".to_owned()][..];
        assert_eq!(refused(expected(&post, other)), DpopError::WrongUri);
        let later = Expected { earliest: RFC_IAT + 1, ..expected(&post, uri) };
        assert_eq!(refused(later), DpopError::Stale);
        let earlier = Expected { latest: RFC_IAT - 1, ..expected(&post, uri) };
        assert_eq!(refused(earlier), DpopError::Stale);
        let only_eddsa = Expected { algorithms: &[Algorithm::EdDSA], ..expected(&post, uri) };
        assert_eq!(refused(only_eddsa), DpopError::UnsupportedAlgorithm);
        let with_token = Expected { token: Some("a.b.c"), ..expected(&post, uri) };
        assert_eq!(refused(with_token), DpopError::MissingClaim("ath"));
    }

    #[test]
    fn a_tampered_or_malformed_proof_is_refused() {
        let uris = ["https://server.example.com/token".to_owned()];
        let expected = expected(&Method::POST, &uris);
        let (head, signature) = RFC_PROOF.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('2') { "3" } else { "2" };
        let tampered = format!("{head}.{flipped}{}", &signature[1..]);
        assert_eq!(
            check(&tampered, &expected, &KeyCache::new(8)).unwrap_err(),
            DpopError::InvalidSignature
        );
        for malformed in ["", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(MAX_PROOF_BYTES + 1)] {
            assert_eq!(
                check(malformed, &expected, &KeyCache::new(8)).unwrap_err(),
                DpopError::Malformed
            );
        }
    }

    /// A header made of `json`, with the RFC proof's payload and signature: refused before the
    /// signature is even looked at.
    fn with_header(json: &str) -> String {
        let (_, rest) = RFC_PROOF.split_once('.').unwrap();
        format!("{}.{rest}", crate::base64url::encode(json.as_bytes()))
    }

    #[test]
    fn the_header_must_be_a_dpop_proof_with_an_asymmetric_public_key() {
        let uris = ["https://server.example.com/token".to_owned()];
        let expected = expected(&Method::POST, &uris);
        let key = r#""kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA""#;
        for (header, error) in [
            (format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{{{key}}}}}"#), DpopError::WrongType),
            (format!(r#"{{"alg":"ES256","jwk":{{{key}}}}}"#), DpopError::WrongType),
            (
                format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{{{key}}}}}"#),
                DpopError::UnsupportedAlgorithm,
            ),
            (
                format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{{{key}}}}}"#),
                DpopError::UnsupportedAlgorithm,
            ),
            (r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_owned(), DpopError::InvalidKey),
            (
                format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{{key},"d":"secret"}}}}"#),
                DpopError::PrivateKey,
            ),
            (
                r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"oct","k":"c2VjcmV0"}}"#.to_owned(),
                DpopError::PrivateKey,
            ),
            (
                r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}"#.to_owned(),
                DpopError::InvalidKey,
            ),
        ] {
            let keys = KeyCache::new(8);
            assert_eq!(check(&with_header(&header), &expected, &keys).unwrap_err(), error, "{header}");
        }
    }

    /// A key is parsed once, and only kept after it signed; the cache never outgrows its bound.
    #[test]
    fn proof_keys_are_parsed_once_and_bounded() {
        let uris = ["https://server.example.com/token".to_owned()];
        let expected = expected(&Method::POST, &uris);
        let keys = KeyCache::new(2);
        let (head, signature) = RFC_PROOF.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('2') { "3" } else { "2" };
        let forged = format!("{head}.{flipped}{}", &signature[1..]);
        assert!(check(&forged, &expected, &keys).is_err());
        assert_eq!(keys.len(), 0, "a key that signed nothing is not kept");
        assert!(check(RFC_PROOF, &expected, &keys).is_ok());
        assert_eq!(keys.len(), 1);
        assert!(check(RFC_PROOF, &expected, &keys).is_ok(), "from the cache");
        assert_eq!(check(&forged, &expected, &keys).unwrap_err(), DpopError::InvalidSignature);
        let (key, _) = keys.get(head.split('.').next().unwrap()).unwrap();
        for i in 0..5 {
            keys.insert(&format!("header {i}"), key.clone(), String::new());
            assert!(keys.len() <= 2);
        }
    }

    #[test]
    fn uris_are_compared_after_normalization() {
        for (a, b) in [
            ("https://Server.Example.com/token", "https://server.example.com/token"),
            ("HTTPS://server.example.com:443/token", "https://server.example.com/token"),
            ("http://server.example.com:80/", "http://server.example.com/"),
            ("https://server.example.com", "https://server.example.com/"),
            ("https://server.example.com/%7euser/a%2fb", "https://server.example.com/~user/a%2Fb"),
            ("https://server.example.com/p?q=1#f", "https://server.example.com/p"),
        ] {
            assert_eq!(normalize(a), normalize(b), "{a} and {b}");
            assert!(normalize(a).is_some());
        }
        assert_ne!(
            normalize("https://server.example.com:8443/token"),
            normalize("https://server.example.com/token")
        );
        for refused in ["/token", "ftp://server.example.com/", "https://user@server.example.com/"] {
            assert_eq!(normalize(refused), None, "{refused}");
        }
    }
}
