//! The configuration shared by the layer and the [`Issuer`](crate::Issuer): keys (ours and
//! remote), claim rules, renewal policy, sources, clock and revocation. Sharing one object is what
//! keeps login, explicit renewal and sliding renewal from ever disagreeing.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::{Clock, secs};
use crate::error::{IssueError, TokenError};
use crate::jws::{self, Verified};
use crate::keys::KeySet;
use crate::renewal::RenewalPolicy;
use crate::revocation::{RevocationCheck, RevocationFailure};
use crate::source::TokenSource;
use crate::validation::Rules;

pub(crate) struct Core {
    pub(crate) keys: KeySet,
    pub(crate) rules: Rules,
    /// Our `iss`: put in the tokens we sign, required for renewal.
    pub(crate) issuer: Option<String>,
    /// The `aud` put in the tokens we sign.
    pub(crate) audience: Option<String>,
    pub(crate) renewal: RenewalPolicy,
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
    ) -> Result<Verified<C>, TokenError> {
        let remote = self.remote_keys();
        let usable = remote.as_ref().ok().and_then(Option::as_deref);
        let result = jws::verify_token::<C>(&self.keys, usable, &self.rules, token, now);
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
        secs(self.renewal.ttl)
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

    /// Sign a JSON payload with the current signing key. Never a token the layer itself would
    /// refuse as too large (a renewal adds claims, so a token near the limit could grow past it).
    pub(crate) fn sign_json(&self, payload: &[u8]) -> Result<String, IssueError> {
        match (&self.signing_header, self.keys.signing()) {
            (Some(header), Some(key)) => {
                jws::encode(header, payload, key, self.rules.max_token_bytes)
            }
            _ => Err(IssueError::NoSigningKey),
        }
    }
}
