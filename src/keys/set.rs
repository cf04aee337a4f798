//! The configured keys: each one's role (and so the issuer it speaks for), selection by `kid`
//! and algorithm, and the JOSE headers this configuration signs with.

use std::sync::Arc;

use super::key::Key;
use crate::algorithm::Algorithm;

/// What a configured key is to this service, and so which issuer it may vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// The current signing key: signs new and renewed tokens, verifies ours.
    Signing,
    /// A key this service signed with before a rotation: verifies ours, and its tokens renew onto
    /// the current signing key.
    Previous,
    /// A third party's key: verifies tokens of this issuer only, and never renews them.
    Trusted(Arc<str>),
}

impl KeyRole {
    /// Whether the key is one of ours (current or previous), so its tokens are of our issuer.
    pub(crate) fn is_ours(&self) -> bool {
        matches!(self, KeyRole::Signing | KeyRole::Previous)
    }

    /// The third-party issuer the key speaks for; `None` for our own keys.
    pub(crate) fn trusted_issuer(&self) -> Option<Arc<str>> {
        match self {
            KeyRole::Trusted(issuer) => Some(Arc::clone(issuer)),
            KeyRole::Signing | KeyRole::Previous => None,
        }
    }
}

/// Which keys verified a token: the configured ones (which never change), or one remote set as
/// it was at one download. A cached verification stands only while its origin is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOrigin {
    Configured,
    /// The remote set at this index, at this generation (counted per set, never wrapping).
    #[cfg(feature = "jwks")]
    Remote {
        set: usize,
        generation: u64,
    },
}

/// The configured keys, with their roles.
pub(crate) struct KeySet {
    keys: Vec<(Key, KeyRole)>,
    /// The base64url headers this configuration signs with (with and without `kid`), and what
    /// they say: a token carrying one of them needs no header parsing.
    known_headers: Vec<(String, Algorithm, Option<String>)>,
    /// Whether a token without `kid` may only be verified when one key has its algorithm: a
    /// remote set can hold dozens, and a forgery must never cost a verification per key.
    kid_required_among_several: bool,
}

/// Why no key could be chosen for a token header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    UnknownKid,
    WrongAlgorithm,
}

impl KeySet {
    pub(crate) fn new(keys: Vec<(Key, KeyRole)>) -> KeySet {
        let mut known_headers: Vec<(String, Algorithm, Option<String>)> = Vec::new();
        for (key, _) in &keys {
            let forms = [
                (jose_header(key.algorithm(), key.kid()), key.kid().map(str::to_owned)),
                (jose_header(key.algorithm(), None), None),
            ];
            for (header, kid) in forms {
                if !known_headers.iter().any(|(known, _, _)| *known == header) {
                    known_headers.push((header, key.algorithm(), kid));
                }
            }
        }
        KeySet { keys, known_headers, kid_required_among_several: false }
    }

    /// An identity provider's set: a token without `kid` is tried against at most one key
    /// (and refused when several keys share its algorithm).
    #[cfg(any(feature = "jwks", test))]
    pub(crate) fn remote(keys: Vec<(Key, KeyRole)>) -> KeySet {
        KeySet { kid_required_among_several: true, ..KeySet::new(keys) }
    }

    /// What a header segment says, if it is one this configuration signs with.
    pub(crate) fn known_header(&self, segment: &str) -> Option<(Algorithm, Option<&str>)> {
        self.known_headers
            .iter()
            .find(|(header, _, _)| header == segment)
            .map(|(_, alg, kid)| (*alg, kid.as_deref()))
    }

    pub(crate) fn signing(&self) -> Option<&Key> {
        self.keys.iter().find(|(_, role)| *role == KeyRole::Signing).map(|(key, _)| key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(Key, KeyRole)> {
        self.keys.iter()
    }

    /// The keys a token with this `alg` and `kid` may be verified with, in order.
    ///
    /// With a `kid`, exactly the key that has it (an unknown `kid` is refused; the `alg` must be
    /// that key's). Without one, every key pinned to `alg`, the signing key first; in a remote
    /// set, only a key that is alone with its algorithm.
    pub(crate) fn candidates<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<impl Iterator<Item = &'a (Key, KeyRole)> + use<'a>, Selection> {
        let by_kid = match kid {
            Some(kid) => {
                let found = self.keys.iter().position(|(key, _)| key.kid() == Some(kid));
                match found {
                    Some(index) if self.keys[index].0.algorithm() == alg => Some(index),
                    Some(_) => return Err(Selection::WrongAlgorithm),
                    None => return Err(Selection::UnknownKid),
                }
            }
            None => None,
        };
        if by_kid.is_none() {
            let sharing = self.keys.iter().filter(|(key, _)| key.algorithm() == alg).count();
            if sharing == 0 {
                return Err(Selection::WrongAlgorithm);
            }
            if sharing > 1 && self.kid_required_among_several {
                return Err(Selection::UnknownKid);
            }
        }
        Ok(self.keys.iter().enumerate().filter_map(move |(index, entry)| match by_kid {
            Some(wanted) => (index == wanted).then_some(entry),
            None => (entry.0.algorithm() == alg).then_some(entry),
        }))
    }
}

/// The base64url JOSE header of tokens signed with `alg` and `kid`: `{"alg":…,"kid":…,"typ":"JWT"}`.
pub(crate) fn jose_header(alg: Algorithm, kid: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: Algorithm,
        #[serde(skip_serializing_if = "Option::is_none")]
        kid: Option<&'a str>,
        typ: &'static str,
    }
    let json = serde_json::to_vec(&Header { alg, kid, typ: "JWT" }).unwrap_or_default();
    crate::base64url::encode(&json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_selection_by_kid_and_algorithm() {
        let a = Key::hs256([1u8; 32]).unwrap().with_kid("a");
        let b = Key::hs256([2u8; 32]).unwrap().with_kid("b");
        let set = KeySet::new(vec![(a, KeyRole::Signing), (b, KeyRole::Previous)]);
        let kids = |alg, kid| {
            set.candidates(alg, kid)
                .map(|it| it.map(|(k, _)| k.kid().unwrap().to_owned()).collect::<Vec<_>>())
        };
        assert_eq!(kids(Algorithm::HS256, Some("b")).unwrap(), ["b"]);
        assert_eq!(kids(Algorithm::HS256, None).unwrap(), ["a", "b"]);
        assert_eq!(kids(Algorithm::HS256, Some("zzz")).unwrap_err(), Selection::UnknownKid);
        assert_eq!(kids(Algorithm::HS384, Some("a")).unwrap_err(), Selection::WrongAlgorithm);
        assert_eq!(kids(Algorithm::RS256, None).unwrap_err(), Selection::WrongAlgorithm);
    }

    #[test]
    fn a_remote_set_tries_one_key_at_most_for_a_token_without_kid() {
        let trusted = || KeyRole::Trusted("idp".into());
        let hmac = |byte: u8, kid: &str| Key::hs256([byte; 32]).unwrap().with_kid(kid);
        let many: Vec<_> = (0..64).map(|i| (hmac(i, &format!("k{i}")), trusted())).collect();
        let set = KeySet::remote(many);
        assert_eq!(set.candidates(Algorithm::HS256, None).err(), Some(Selection::UnknownKid));
        assert_eq!(set.candidates(Algorithm::HS256, Some("k7")).unwrap().count(), 1);
        let alone = KeySet::remote(vec![(hmac(1, "only"), trusted())]);
        assert_eq!(alone.candidates(Algorithm::HS256, None).unwrap().count(), 1);
    }
}
