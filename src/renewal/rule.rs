//! The renewal rule, in one place for the layer and for [`Issuer::renew`](crate::Issuer::renew):
//! which tokens may renew, and the `exp` of their successor.

use crate::claims::RegisteredClaims;
use crate::clock::secs;
use crate::error::{RenewError, TokenError};
use crate::keys::KeyRole;
use crate::renewal::Lifetimes;

/// A verified token that may renew: its session's limits, and its successor's `exp` as of the
/// moment that was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Renewable {
    /// When the session reaches its limit: `auth_time` plus the session limit.
    pub(crate) session_expires_at: i64,
    /// The session start the renewed token carries as `auth_time`.
    pub(crate) session_start: i64,
    /// `exp` of the renewed token if signed at the `now` it was decided at.
    pub(crate) new_exp: i64,
    /// The lifetime of the session's tokens, in seconds: the login's choice or the configured one.
    pub(crate) token_lifetime: i64,
}

/// May this verified token renew at `now`, and until when would its successor live?
///
/// Only a token of our issuer, verified by one of our keys, and valid without leeway renews (a
/// token accepted only thanks to leeway, expired or not yet valid, does not). The session ends at
/// `auth_time` plus the session limit, with `iat` standing in for a missing `auth_time`.
pub(crate) fn renewable(
    claims: &RegisteredClaims,
    role: &KeyRole,
    our_issuer: Option<&str>,
    lifetimes: &Lifetimes,
    now: i64,
) -> Result<Renewable, RenewError> {
    if !role.is_ours() || claims.iss.as_deref() != our_issuer {
        return Err(RenewError::Foreign);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now) {
        return Err(RenewError::Invalid(TokenError::NotYetValid));
    }
    if claims.iat.is_some_and(|iat| iat > now) {
        return Err(RenewError::Invalid(TokenError::IssuedInFuture));
    }
    let session_start =
        claims.session_start().ok_or(RenewError::Invalid(TokenError::MissingClaim("auth_time")))?;
    // A login's own lifetimes (checked against the configuration when the token was verified)
    // win.
    let token_lifetime = claims.token_lifetime.unwrap_or(lifetimes.token_secs());
    let limit = claims.session_limit.unwrap_or(secs(lifetimes.session_limit));
    let session_expires_at = session_start.saturating_add(limit);
    let new_exp = successor_exp(claims.exp, session_expires_at, token_lifetime, now)?;
    Ok(Renewable { session_expires_at, session_start, new_exp, token_lifetime })
}

/// The `exp` of a successor signed at `now`: `now + token_lifetime`, never past the session's
/// end, or why there is none. It is asked again when the successor is signed, since time has
/// passed since the decision.
pub(crate) fn successor_exp(
    old_exp: i64,
    session_expires_at: i64,
    token_lifetime: i64,
    now: i64,
) -> Result<i64, RenewError> {
    if now >= old_exp {
        return Err(RenewError::Invalid(TokenError::Expired));
    }
    let new_exp = now.saturating_add(token_lifetime).min(session_expires_at);
    if new_exp <= old_exp {
        return Err(if new_exp >= session_expires_at {
            RenewError::SessionLimitReached
        } else {
            RenewError::NotExtended
        });
    }
    Ok(new_exp)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Claims from our issuer, logged in at `iat`, expiring at `exp`.
    pub(crate) fn claims(iat: i64, exp: i64) -> RegisteredClaims {
        RegisteredClaims {
            iss: Some("us".into()),
            iat: Some(iat),
            exp,
            auth_time: Some(iat),
            ..Default::default()
        }
    }

    #[test]
    fn renewal_rules() {
        use std::time::Duration;
        let l = &Lifetimes {
            token: Duration::from_secs(300),
            session_limit: Duration::from_secs(1_000),
            longest_session_limit: None,
        };
        let c = claims(1_000, 1_300);
        let ok = renewable(&c, &KeyRole::Signing, Some("us"), l, 1_200).unwrap();
        let expected = Renewable {
            session_expires_at: 2_000,
            session_start: 1_000,
            new_exp: 1_500,
            token_lifetime: 300,
        };
        assert_eq!(ok, expected);
        // A login's own lifetimes: 100 s tokens, a 5 000 s session.
        let mut chosen = claims(1_000, 1_100);
        chosen.token_lifetime = Some(100);
        chosen.session_limit = Some(5_000);
        let plan = renewable(&chosen, &KeyRole::Signing, Some("us"), l, 1_060).unwrap();
        assert_eq!(
            (plan.session_expires_at, plan.new_exp, plan.token_lifetime),
            (6_000, 1_160, 100)
        );
        // Capped by the session limit.
        let late = claims(1_000, 1_900);
        let limited = renewable(&late, &KeyRole::Previous, Some("us"), l, 1_850).unwrap();
        assert_eq!(limited.new_exp, 2_000);
        // At its limit, the session ends.
        let last = claims(1_700, 2_000);
        let mut last = last;
        last.auth_time = Some(1_000);
        assert_eq!(
            renewable(&last, &KeyRole::Signing, Some("us"), l, 1_990),
            Err(RenewError::SessionLimitReached)
        );
        // Foreign key or issuer.
        assert_eq!(
            renewable(&c, &KeyRole::Trusted("us".into()), Some("us"), l, 1_200),
            Err(RenewError::Foreign)
        );
        assert_eq!(
            renewable(&c, &KeyRole::Signing, Some("them"), l, 1_200),
            Err(RenewError::Foreign)
        );
        // Accepted only thanks to leeway.
        assert!(matches!(
            renewable(&c, &KeyRole::Signing, Some("us"), l, 1_300),
            Err(RenewError::Invalid(_))
        ));
        assert!(matches!(
            renewable(&c, &KeyRole::Signing, Some("us"), l, 999),
            Err(RenewError::Invalid(_))
        ));
        // Renewed within the same second as issued: nothing to extend.
        assert_eq!(
            renewable(&c, &KeyRole::Signing, Some("us"), l, 1_000),
            Err(RenewError::NotExtended)
        );
    }

    #[test]
    fn the_successor_exp_at_signing_time() {
        assert_eq!(successor_exp(1_300, 2_000, 300, 1_200), Ok(1_500));
        assert_eq!(successor_exp(1_300, 1_400, 300, 1_200), Ok(1_400), "limited");
        assert_eq!(
            successor_exp(1_300, 2_000, 300, 1_300),
            Err(RenewError::Invalid(TokenError::Expired))
        );
        assert_eq!(successor_exp(1_400, 1_400, 300, 1_200), Err(RenewError::SessionLimitReached));
        assert_eq!(successor_exp(1_300, 2_000, 300, 1_000), Err(RenewError::NotExtended));
    }
}
