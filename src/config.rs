//! The configuration shared by the layer and the [`Issuer`](crate::Issuer): keys (ours and
//! remote), claim rules, renewal policy, sources, clock and revocation. Sharing one object is what
//! keeps login, explicit renewal and sliding renewal from ever disagreeing.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::error::RenewError;
use crate::error::{IssueError, TokenError};
use crate::keys::crypto::random_id;
use crate::keys::{KeyOrigin, KeySet};
use crate::renewal::rule::{Renewable, successor_exp};
use crate::renewal::successor::successor_payload;
use crate::renewal::{Lifetimes, RenewalPolicy};
use crate::revocation::{RevocationCheck, RevocationFailure};
use crate::verify::jws::{self, Verified};
use crate::verify::rules::Rules;
use crate::verify::source::TokenSource;

pub(crate) struct Core {
    pub(crate) keys: KeySet,
    pub(crate) rules: Rules,
    /// Our `iss`: put in the tokens we sign, required for renewal.
    pub(crate) issuer: Option<String>,
    /// The `aud` put in the tokens we sign.
    pub(crate) audience: Option<String>,
    pub(crate) renewal: RenewalPolicy,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Option<Arc<dyn RevocationCheck>>,
    pub(crate) revocation_failure: RevocationFailure,
    /// The base64url JOSE header of every token we sign (`alg`, `kid`, `typ`), built once.
    pub(crate) signing_header: Option<String>,
    /// Proofs of possession for DPoP-bound tokens, when configured (the issuer checks a
    /// login's proof with it too).
    pub(crate) dpop: Option<Arc<crate::dpop::Verifier>>,
    /// The counters of what the layer decides, registered when it was built.
    pub(crate) meters: crate::metrics::Meters,
    /// Keys fetched from remote JWK Sets, one per identity provider.
    #[cfg(feature = "jwks")]
    pub(crate) remote: Vec<crate::jwks::RemoteJwks>,
}

impl Core {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether keys of this origin still verify as they did: the configured keys always do; a
    /// remote set's only while it is fresh and at the same generation.
    pub(crate) fn is_current(&self, origin: KeyOrigin) -> bool {
        match origin {
            KeyOrigin::Configured => true,
            #[cfg(feature = "jwks")]
            KeyOrigin::Remote { set, generation } => {
                self.remote.get(set).is_some_and(|remote| remote.is_current(generation))
            }
        }
    }

    /// Verify with our keys, then with each identity provider's; also says which keys did.
    pub(crate) fn verify<C: serde::de::DeserializeOwned + 'static>(
        &self,
        token: &str,
        now: i64,
    ) -> Result<(Verified<C>, KeyOrigin), TokenError> {
        let result = jws::verify_token::<C>(&self.keys, None, &self.rules, token, now);
        #[cfg(feature = "jwks")]
        if !self.remote.is_empty()
            && matches!(result, Err(TokenError::UnknownKeyId | TokenError::AlgorithmMismatch))
        {
            return self.verify_remote(token, now, result);
        }
        result.map(|verified| (verified, KeyOrigin::Configured))
    }

    /// No key of ours was selected: the first remote set that selects one decides. A set too
    /// old to trust is skipped, and if it might have held the key, verification fails closed.
    #[cfg(feature = "jwks")]
    fn verify_remote<C: serde::de::DeserializeOwned + 'static>(
        &self,
        token: &str,
        now: i64,
        mut result: Result<Verified<C>, TokenError>,
    ) -> Result<(Verified<C>, KeyOrigin), TokenError> {
        let mut stale = false;
        for (set, remote) in self.remote.iter().enumerate() {
            let Some((keys, generation)) = remote.snapshot() else {
                stale = true;
                continue;
            };
            result = jws::verify_token::<C>(&self.keys, Some(&keys), &self.rules, token, now);
            if !matches!(result, Err(TokenError::UnknownKeyId | TokenError::AlgorithmMismatch)) {
                return result.map(|verified| (verified, KeyOrigin::Remote { set, generation }));
            }
        }
        Err(match result {
            _ if stale => TokenError::KeysUnavailable,
            Err(reason) => reason,
            Ok(_) => TokenError::UnknownKeyId,
        })
    }

    /// A token's key is unknown to every remote set, or only a set too old to trust could
    /// know it: a provider may have rotated its keys, or be back after an outage. Ends when each
    /// set's download (joined or started, within its refetch rate limit) has ended; `None` when
    /// none will come. Dropping it leaves the downloads running.
    #[cfg(feature = "jwks")]
    pub(crate) fn refetch_keys(&self) -> Option<crate::jwks::KeysFuture> {
        let waits: Vec<_> =
            self.remote.iter().filter_map(crate::jwks::RemoteJwks::refetch).collect();
        if waits.is_empty() {
            return None;
        }
        // The downloads run on their own; waiting for them in turn takes as long as the slowest.
        Some(Box::pin(async move {
            for wait in waits {
                wait.await;
            }
        }))
    }

    /// The successor of a renewable token, signed at `now`, and its `exp`: the one way sliding
    /// renewal and explicit renewal make it. `payload` is the token's verified payload.
    pub(crate) fn successor(
        &self,
        payload: &[u8],
        old_exp: i64,
        renewable: &Renewable,
        now: i64,
    ) -> Result<(String, i64), RenewError> {
        let exp =
            successor_exp(old_exp, renewable.session_expires_at, renewable.token_lifetime, now)?;
        let json = successor_payload(payload, renewable.session_start, exp, now)
            .map_err(RenewError::Issue)?;
        Ok((self.sign_json(&json).map_err(RenewError::Issue)?, exp))
    }

    /// The name of the first cookie source, where login and renewal cookies go.
    pub(crate) fn cookie_name(&self) -> Option<&str> {
        self.sources.iter().find_map(|source| match source {
            TokenSource::Cookie(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The claims of a login at `now` living until `exp`: the application's `custom` ones, then
    /// `sub`, `iat`, `exp`, `auth_time`, a fresh `jti` and `sid`, our `iss`, and our `aud`
    /// unless `custom` names one.
    pub(crate) fn login_claims(
        &self,
        subject: &str,
        mut claims: Map<String, Value>,
        now: i64,
        exp: i64,
    ) -> Result<Map<String, Value>, IssueError> {
        claims.insert("sub".into(), subject.into());
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), exp.into());
        claims.insert("auth_time".into(), now.into());
        claims.insert("jti".into(), random_id()?.into());
        claims.insert("sid".into(), random_id()?.into());
        if let Some(iss) = &self.issuer {
            claims.insert("iss".into(), iss.clone().into());
        }
        if let Some(aud) = &self.audience
            && !claims.contains_key("aud")
        {
            claims.insert("aud".into(), aud.clone().into());
        }
        Ok(claims)
    }

    /// Sign a claim set with the current signing key.
    pub(crate) fn sign(&self, claims: &Map<String, Value>) -> Result<String, IssueError> {
        let payload = serde_json::to_vec(claims).map_err(|_| IssueError::ClaimsNotAnObject)?;
        self.sign_json(&payload)
    }

    /// Sign a JSON payload with the current signing key. Never a token the layer itself would
    /// refuse as too large (a renewal adds claims, so a token near the limit could grow past it).
    pub(crate) fn sign_json(&self, payload: &[u8]) -> Result<String, IssueError> {
        self.sign_json_up_to(payload, self.rules.max_token_bytes)
    }

    /// Sign a JSON payload with the current signing key, into a token of at most `max_bytes`.
    pub(crate) fn sign_json_up_to(
        &self,
        payload: &[u8],
        max_bytes: usize,
    ) -> Result<String, IssueError> {
        match (&self.signing_header, self.keys.signing()) {
            (Some(header), Some(key)) => jws::encode(header, payload, key, max_bytes),
            _ => Err(IssueError::NoSigningKey),
        }
    }
}

/// The application's custom claims as a JSON object (`()` and `None` give an empty one).
pub(crate) fn custom_object<T: serde::Serialize + ?Sized>(
    custom: &T,
) -> Result<Map<String, Value>, IssueError> {
    match serde_json::to_value(custom) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        _ => Err(IssueError::ClaimsNotAnObject),
    }
}
