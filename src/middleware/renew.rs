//! The response half of sliding renewal: a renewal planned in the request phase is written into
//! the response if it qualifies, after the revocation store is asked again. The successor is
//! only signed then, so a failing handler costs no signature.

use std::sync::Arc;

use compact_str::CompactString;
use http::Response;

use crate::claims::RegisteredClaims;
use crate::clock::secs;
use crate::config::Core;
use crate::error::{IssueError, RenewError, RevocationError};
use crate::keys::KeyRole;
use crate::metrics::Renewal;
use crate::renewal::response::{handler_delivered, write_advice, write_token};
use crate::renewal::rule::{Renewable, renewable};
use crate::renewal::{NoRenewal, RenewalMode};
use crate::revocation::{RevocationFuture, RevocationStatus};
use crate::verify::source::{Token, TokenSource};

/// A renewal (and the session's time left, when announced) decided in the request phase and
/// written into the response if it qualifies. The successor is only signed then, so a failing
/// handler costs no signature.
pub(crate) struct PlannedRenewal {
    core: Arc<Core>,
    /// Index of the token's source in `core.sources`.
    source: usize,
    /// `exp` of the presented token.
    old_exp: i64,
    kind: Option<Kind>,
    /// Seconds left in the session, when the policy announces them.
    session_left: Option<i64>,
}

enum Kind {
    /// Sign a successor from this (verified, decoded) payload; `claims` are asked about again
    /// just before, when a revocation check is configured.
    Inject {
        payload: Vec<u8>,
        renewable: Renewable,
        sub: Option<CompactString>,
        claims: Option<Box<RegisteredClaims>>,
    },
    /// Announce the expiry.
    Advise,
}

impl PlannedRenewal {
    /// Should the response to this request renew the token?
    pub(crate) fn plan(
        core: &Arc<Core>,
        claims: &RegisteredClaims,
        role: &KeyRole,
        token: &Token<'_>,
        source: usize,
        now: i64,
    ) -> Option<PlannedRenewal> {
        let policy = &core.renewal;
        // The time left in the session, for our own tokens, when the policy announces it.
        let session_left = match (&policy.session_header, role.is_ours(), claims.session_start()) {
            (Some(_), true, Some(start)) => {
                let max = claims.session_limit.unwrap_or(secs(core.lifetimes.session_limit));
                Some(start.saturating_add(max).saturating_sub(now).max(0))
            }
            _ => None,
        };
        let kind = PlannedRenewal::kind(core, claims, role, token, now);
        if kind.is_none() && session_left.is_none() {
            return None;
        }
        Some(PlannedRenewal {
            core: Arc::clone(core),
            source,
            old_exp: claims.exp,
            kind,
            session_left,
        })
    }

    /// What renewal, if any, the token gets.
    fn kind(
        core: &Core,
        claims: &RegisteredClaims,
        role: &KeyRole,
        token: &Token<'_>,
        now: i64,
    ) -> Option<Kind> {
        let policy = &core.renewal;
        if policy.mode == RenewalMode::Disabled
            || !policy.triggers(claims, now, core.lifetimes.token_secs())
        {
            return None;
        }
        let plan = renewable(claims, role, core.issuer.as_deref(), &core.lifetimes, now);
        let renewable = match plan {
            Ok(renewable) => renewable,
            Err(reason) => {
                tracing::debug!(
                    target: "tower_sliding_jwt",
                    sub = claims.subject(),
                    jti = claims.token_id(),
                    %reason,
                    "token in the renewal window is not renewed"
                );
                return None;
            }
        };
        Some(match policy.mode {
            RenewalMode::Advise => Kind::Advise,
            _ => Kind::Inject {
                payload: crate::verify::jws::payload_of(token.as_str())?,
                renewable,
                sub: claims.sub.clone(),
                claims: core.revocation.is_some().then(|| Box::new(claims.clone())),
            },
        })
    }

    /// Whether a response qualifies for the renewal at all.
    fn wanted<B>(&self, response: &Response<B>) -> bool {
        response.extensions().get::<NoRenewal>().is_none()
            && self.core.renewal.qualifies(response.status(), response.headers())
    }

    /// The revocation check to run again before a successor is signed into this response: the
    /// handler may have ended the session (a logout that forgot [`NoRenewal`]), and a revoked
    /// session must never be handed a successor.
    pub(crate) fn recheck<B>(&self, response: &Response<B>) -> Option<RevocationFuture> {
        let Some(Kind::Inject { claims: Some(claims), .. }) = &self.kind else {
            return None;
        };
        let revocation = self.core.revocation.as_ref()?;
        self.wanted(response).then(|| revocation.check(claims))
    }

    /// Write the renewal, if the session is still not revoked by the answer to
    /// [`recheck`](PlannedRenewal::recheck).
    pub(crate) fn apply_checked<B>(
        self,
        response: &mut Response<B>,
        answer: Result<RevocationStatus, RevocationError>,
    ) {
        self.core.meters.revocation((&answer).into());
        match answer {
            Ok(RevocationStatus::Active) => self.apply(response),
            Ok(RevocationStatus::Revoked) => {
                tracing::debug!(target: "tower_sliding_jwt", "revoked during the request; not renewed");
            }
            Err(error) => {
                tracing::warn!(target: "tower_sliding_jwt", %error, "revocation check failed; not renewed");
            }
        }
    }

    /// Write the renewal into a qualifying response.
    pub(crate) fn apply<B>(self, response: &mut Response<B>) {
        let core = &self.core;
        let policy = &core.renewal;
        if !self.wanted(response) {
            return;
        }
        let source = &core.sources[self.source];
        let headers = response.headers_mut();
        if let (Some(name), Some(left)) = (&policy.session_header, self.session_left) {
            headers.insert(name.clone(), http::HeaderValue::from(left));
        }
        let now = core.now();
        let (payload, renewable, sub) = match self.kind {
            None => return,
            Some(Kind::Advise) => {
                core.meters.renewal(Renewal::Advise);
                return write_advice(headers, policy, self.old_exp.saturating_sub(now));
            }
            Some(Kind::Inject { payload, renewable, sub, .. }) => (payload, renewable, sub),
        };
        if handler_delivered(headers, policy, source) {
            return;
        }
        let sub = sub.as_deref();
        // Asked again now: the token may have expired while the handler ran.
        let (token, new_exp) = match core.successor(&payload, self.old_exp, &renewable, now) {
            Ok(successor) => successor,
            Err(RenewError::Issue(error)) if error != IssueError::TooLarge => {
                tracing::warn!(target: "tower_sliding_jwt", sub, %error, "renewal failed");
                return;
            }
            Err(reason) => {
                tracing::debug!(target: "tower_sliding_jwt", sub, %reason, "not renewed");
                return;
            }
        };
        write_token(headers, policy, source, token, new_exp - now);
        core.meters.renewal(match source {
            TokenSource::Cookie(_) => Renewal::Cookie,
            _ => Renewal::Header,
        });
        tracing::debug!(
            target: "tower_sliding_jwt",
            sub,
            exp = new_exp,
            session_expires_at = renewable.session_expires_at,
            "token renewed"
        );
    }
}
