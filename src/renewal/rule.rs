//! The renewal rule, in one place for the layer and for [`Issuer::renew`](crate::Issuer::renew):
//! which tokens may renew, and the `exp` of their successor.

use std::time::Duration;

use crate::claims::RegisteredClaims;
use crate::clock::secs;
use crate::error::{RenewError, TokenError};
use crate::keys::KeyRole;

/// A verified token that may renew: its session's limits, and its successor's `exp` as of the
/// moment that was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Renewable {
    /// The session cap: `auth_time + max_session`.
    pub(crate) cap: i64,
    /// The session start the renewed token carries as `auth_time`.
    pub(crate) session_start: i64,
    /// `exp` of the renewed token if signed at the `now` it was decided at.
    pub(crate) new_exp: i64,
    /// The lifetime of the session's tokens, in seconds: the login's choice or the policy's.
    pub(crate) ttl: i64,
}

/// May this verified token renew at `now`, and until when would its successor live?
///
/// Only a token of our issuer, verified by one of our keys, and valid without leeway renews (a
/// token accepted only thanks to leeway, expired or not yet valid, does not). The session limit
/// (`cap`) is `auth_time + max_session`, with `iat` standing in for a missing `auth_time`.
pub(crate) fn renewable(
    claims: &RegisteredClaims,
    role: &KeyRole,
    our_issuer: Option<&str>,
    ttl: Duration,
    max_session: Duration,
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
    // A login's own lifetimes (checked against the policy when the token was verified) win.
    let ttl = claims.session_ttl.unwrap_or(secs(ttl));
    let cap = session_start.saturating_add(claims.session_max.unwrap_or(secs(max_session)));
    let new_exp = successor_exp(claims.exp, cap, ttl, now)?;
    Ok(Renewable { cap, session_start, new_exp, ttl })
}

/// The `exp` of a successor signed at `now`: `min(now + ttl, cap)`, or why there is none. It is
/// asked again when the successor is signed, since time has passed since the decision.
pub(crate) fn successor_exp(old_exp: i64, cap: i64, ttl: i64, now: i64) -> Result<i64, RenewError> {
    if now >= old_exp {
        return Err(RenewError::Invalid(TokenError::Expired));
    }
    let new_exp = now.saturating_add(ttl).min(cap);
    if new_exp <= old_exp {
        return Err(if new_exp >= cap {
            RenewError::SessionEnded
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
        let ttl = Duration::from_secs(300);
        let max = Duration::from_secs(1_000);
        let c = claims(1_000, 1_300);
        let ok = renewable(&c, &KeyRole::Signing, Some("us"), ttl, max, 1_200).unwrap();
        assert_eq!(ok, Renewable { cap: 2_000, session_start: 1_000, new_exp: 1_500, ttl: 300 });
        // A login's own lifetimes: 100 s tokens, a 5 000 s session.
        let mut chosen = claims(1_000, 1_100);
        chosen.session_ttl = Some(100);
        chosen.session_max = Some(5_000);
        let plan = renewable(&chosen, &KeyRole::Signing, Some("us"), ttl, max, 1_060).unwrap();
        assert_eq!((plan.cap, plan.new_exp, plan.ttl), (6_000, 1_160, 100));
        // Capped by the session limit.
        let late = claims(1_000, 1_900);
        let capped = renewable(&late, &KeyRole::Previous, Some("us"), ttl, max, 1_850).unwrap();
        assert_eq!(capped.new_exp, 2_000);
        // At the cap, the session ends.
        let last = claims(1_700, 2_000);
        let mut last = last;
        last.auth_time = Some(1_000);
        assert_eq!(
            renewable(&last, &KeyRole::Signing, Some("us"), ttl, max, 1_990),
            Err(RenewError::SessionEnded)
        );
        // Foreign key or issuer.
        assert_eq!(
            renewable(&c, &KeyRole::Trusted("us".into()), Some("us"), ttl, max, 1_200),
            Err(RenewError::Foreign)
        );
        assert_eq!(
            renewable(&c, &KeyRole::Signing, Some("them"), ttl, max, 1_200),
            Err(RenewError::Foreign)
        );
        // Accepted only thanks to leeway.
        assert!(matches!(
            renewable(&c, &KeyRole::Signing, Some("us"), ttl, max, 1_300),
            Err(RenewError::Invalid(_))
        ));
        assert!(matches!(
            renewable(&c, &KeyRole::Signing, Some("us"), ttl, max, 999),
            Err(RenewError::Invalid(_))
        ));
        // Renewed within the same second as issued: nothing to extend.
        assert_eq!(
            renewable(&c, &KeyRole::Signing, Some("us"), ttl, max, 1_000),
            Err(RenewError::NotExtended)
        );
    }

    #[test]
    fn the_successor_exp_at_signing_time() {
        assert_eq!(successor_exp(1_300, 2_000, 300, 1_200), Ok(1_500));
        assert_eq!(successor_exp(1_300, 1_400, 300, 1_200), Ok(1_400), "capped");
        assert_eq!(
            successor_exp(1_300, 2_000, 300, 1_300),
            Err(RenewError::Invalid(TokenError::Expired))
        );
        assert_eq!(successor_exp(1_400, 1_400, 300, 1_200), Err(RenewError::SessionEnded));
        assert_eq!(successor_exp(1_300, 2_000, 300, 1_000), Err(RenewError::NotExtended));
    }
}
