//! The claim rules: dates with leeway, the issuer each key speaks for, audience, subject, the
//! session start and, for our own tokens, the session limit.

use crate::claims::RegisteredClaims;
use crate::error::TokenError;
use crate::keys::KeyRole;

/// The claim rules of a configuration.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// Seconds of tolerance for `exp`, `nbf` and `iat` (never applied to renewal).
    pub(crate) leeway: i64,
    /// Our `iss`, required in the tokens our own keys verify (not checked when unset). A trusted
    /// key's tokens must carry the issuer that key was registered for.
    pub(crate) own_issuer: Option<String>,
    /// Accepted `aud` values; empty: not checked.
    pub(crate) audiences: Vec<String>,
    /// Whether `sub` is required.
    pub(crate) require_sub: bool,
    /// Longest token accepted, in bytes.
    pub(crate) max_token_bytes: usize,
    /// Accepted `typ` header values, compared without case and without an `application/`
    /// prefix. A token without `typ` is accepted.
    pub(crate) token_types: Vec<String>,
    /// Whether `JWT` is among them: the headers this configuration signs carry it.
    pub(crate) accepts_jwt_type: bool,
    /// The session limit, in seconds: our tokens never outlive `auth_time` plus it.
    pub(crate) session_limit: i64,
    /// The longest session a login may choose for itself, in seconds.
    pub(crate) longest_session_limit: i64,
    /// Whether DPoP-bound tokens are checked (against the request's proof) instead of refused.
    pub(crate) dpop: bool,
}

impl Rules {
    /// Whether a `typ` header value names an accepted kind of token.
    pub(crate) fn accepts_type(&self, typ: &str) -> bool {
        let media_type = match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ,
        };
        self.token_types.iter().any(|accepted| accepted.eq_ignore_ascii_case(media_type))
    }
}

/// The claim rules, with leeway, for a token verified by a key of this `role`.
pub(crate) fn validate(
    claims: &RegisteredClaims,
    role: &KeyRole,
    rules: &Rules,
    now: i64,
) -> Result<(), TokenError> {
    if now.saturating_sub(rules.leeway) >= claims.exp {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(rules.leeway)) {
        return Err(TokenError::NotYetValid);
    }
    if claims.iat.is_some_and(|iat| iat > now.saturating_add(rules.leeway)) {
        return Err(TokenError::IssuedInFuture);
    }
    // A key vouches for its own issuer only: a partner's key never passes a token as ours.
    let issuer = match role {
        KeyRole::Trusted(issuer) => Some(&**issuer),
        KeyRole::Signing | KeyRole::Previous => rules.own_issuer.as_deref(),
    };
    if let Some(expected) = issuer {
        match &claims.iss {
            Some(iss) if iss == expected => {}
            Some(_) => return Err(TokenError::WrongIssuer),
            None => return Err(TokenError::MissingClaim("iss")),
        }
    }
    // A bound token used without its proof of possession is what the binding exists to stop.
    // A DPoP binding is checked against the request's proof after this; any other is refused.
    if claims.bound && !(rules.dpop && claims.cnf_jkt.is_some()) {
        return Err(TokenError::SenderConstrained);
    }
    // A token of our keys with no session start was not issued as a session (another purpose,
    // or forged with a stolen key): the session limit could not bound it.
    if role.is_ours() && claims.session_start().is_none() {
        return Err(TokenError::MissingClaim("auth_time"));
    }
    // The session start bounds the session: one in the future would stretch it without end.
    if let Some(start) = claims.session_start() {
        if start > now.saturating_add(rules.leeway) {
            return Err(TokenError::SessionStartInFuture);
        }
        if role.is_ours() {
            // A login may choose its own lifetimes, within what the policy allows.
            let max = claims.session_limit.unwrap_or(rules.session_limit);
            if max <= 0 || max > rules.longest_session_limit {
                return Err(TokenError::BeyondSessionLimit);
            }
            if claims.token_lifetime.is_some_and(|ttl| ttl <= 0 || ttl > max) {
                return Err(TokenError::MalformedClaims);
            }
            let end = start.saturating_add(max).saturating_add(rules.leeway);
            if claims.exp > end {
                return Err(TokenError::BeyondSessionLimit);
            }
        }
    }
    if !rules.audiences.is_empty() {
        match &claims.aud {
            Some(aud) if rules.audiences.iter().any(|ok| aud.contains(ok)) => {}
            Some(_) => return Err(TokenError::WrongAudience),
            None => return Err(TokenError::MissingClaim("aud")),
        }
    }
    if rules.require_sub && claims.sub.is_none() {
        return Err(TokenError::MissingClaim("sub"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_compare_without_case_or_media_type_prefix() {
        let rules = Rules {
            leeway: 5,
            own_issuer: None,
            audiences: vec![],
            require_sub: false,
            max_token_bytes: 8192,
            token_types: vec!["JWT".into(), "at+jwt".into()],
            accepts_jwt_type: true,
            session_limit: 60,
            longest_session_limit: 60,
            dpop: false,
        };
        assert!(rules.accepts_type("application/AT+JWT"));
        assert!(!rules.accepts_type("application/"));
        assert!(!rules.accepts_type("logout+jwt"));
        // A token of ours beyond its session limit, and the same claims from a partner key.
        let claims = RegisteredClaims {
            iss: Some("idp".into()),
            exp: 200,
            auth_time: Some(100),
            ..Default::default()
        };
        assert_eq!(
            validate(&claims, &KeyRole::Signing, &rules, 150),
            Err(TokenError::BeyondSessionLimit)
        );
        assert_eq!(validate(&claims, &KeyRole::Trusted("idp".into()), &rules, 150), Ok(()));
        // A login's own lifetimes: within the longest session allowed, a ttl within the session.
        let chosen = |ttl: Option<i64>, max: Option<i64>| RegisteredClaims {
            iss: Some("idp".into()),
            exp: 140,
            auth_time: Some(100),
            token_lifetime: ttl,
            session_limit: max,
            ..Default::default()
        };
        let longer = Rules { longest_session_limit: 600, ..rules.clone() };
        assert_eq!(validate(&chosen(Some(30), Some(600)), &KeyRole::Signing, &longer, 120), Ok(()));
        assert_eq!(
            validate(&chosen(None, Some(601)), &KeyRole::Signing, &longer, 120),
            Err(TokenError::BeyondSessionLimit)
        );
        assert_eq!(
            validate(&chosen(Some(700), Some(600)), &KeyRole::Signing, &longer, 120),
            Err(TokenError::MalformedClaims)
        );
    }

    fn rules() -> Rules {
        Rules {
            leeway: 5,
            own_issuer: None,
            audiences: vec![],
            require_sub: false,
            max_token_bytes: 8192,
            token_types: vec!["JWT".into()],
            accepts_jwt_type: true,
            session_limit: 60,
            longest_session_limit: 60,
            dpop: false,
        }
    }

    #[test]
    fn our_tokens_need_a_session_start() {
        // Ten years ahead and no `iat` or `auth_time`: nothing bounds it but `exp`.
        let endless = RegisteredClaims { exp: 315_360_000, ..Default::default() };
        for role in [KeyRole::Signing, KeyRole::Previous] {
            assert_eq!(
                validate(&endless, &role, &rules(), 100),
                Err(TokenError::MissingClaim("auth_time"))
            );
        }
        // A partner's token is bounded by its own issuer's rules.
        let partner = RegisteredClaims { iss: Some("idp".into()), ..endless.clone() };
        assert_eq!(validate(&partner, &KeyRole::Trusted("idp".into()), &rules(), 100), Ok(()));
        let with_iat = RegisteredClaims { exp: 150, iat: Some(100), ..Default::default() };
        assert_eq!(validate(&with_iat, &KeyRole::Signing, &rules(), 100), Ok(()));
    }

    #[test]
    fn key_bound_tokens_are_refused_as_bearer_tokens() {
        let bound =
            RegisteredClaims { exp: 150, iat: Some(100), bound: true, ..Default::default() };
        assert_eq!(
            validate(&bound, &KeyRole::Signing, &rules(), 100),
            Err(TokenError::SenderConstrained)
        );
        let partner = RegisteredClaims { iss: Some("idp".into()), ..bound };
        assert_eq!(
            validate(&partner, &KeyRole::Trusted("idp".into()), &rules(), 100),
            Err(TokenError::SenderConstrained)
        );
    }
}
