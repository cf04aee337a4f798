//! Server nonces (RFC 9449 section 8): a value the server chose that a proof must carry, so a
//! client cannot sign proofs ahead of time. Derived from a shared secret and the current period,
//! so every instance of a fleet agrees without talking, and nothing is stored per client.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The nonces of each period: the current one, and for one more period the previous one (a
/// client that just got it may still be using it).
#[derive(Clone)]
pub(crate) struct Nonces {
    key: Hmac<Sha256>,
    /// Seconds.
    period: i64,
}

impl Nonces {
    pub(crate) fn new(secret: &[u8], period: i64) -> Nonces {
        let key = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
        Nonces { key, period: period.max(1) }
    }

    /// The nonce to hand out now.
    pub(crate) fn current(&self, now: i64) -> String {
        self.of(now.div_euclid(self.period))
    }

    /// Whether a proof's nonce is this period's or the one before.
    pub(crate) fn accepts(&self, nonce: &str, now: i64) -> bool {
        let period = now.div_euclid(self.period);
        [period, period - 1].into_iter().any(|p| self.of(p) == nonce)
    }

    fn of(&self, period: i64) -> String {
        let mut mac = self.key.clone();
        mac.update(b"dpop-nonce");
        mac.update(&period.to_be_bytes());
        // 128 bits: unguessable, and short on every request.
        crate::base64url::encode(&mac.finalize().into_bytes()[..16])
    }
}

impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonces").field("period", &self.period).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_good_for_its_period_and_the_next() {
        let nonces = Nonces::new(b"a secret shared by the fleet", 300);
        let given = nonces.current(1_000);
        assert!(nonces.accepts(&given, 1_000));
        assert!(nonces.accepts(&given, 1_199), "still the same period");
        assert!(nonces.accepts(&given, 1_499), "the next period still takes it");
        assert!(!nonces.accepts(&given, 1_500), "two periods on, it is gone");
        assert_ne!(nonces.current(1_500), given, "nonces rotate");
        assert!(!nonces.accepts("", 1_000));
        assert!(!nonces.accepts("made-up", 1_000));
    }

    #[test]
    fn instances_with_one_secret_agree_and_others_do_not() {
        let (a, b) = (Nonces::new(b"shared", 60), Nonces::new(b"shared", 60));
        assert!(b.accepts(&a.current(120), 130));
        assert!(!Nonces::new(b"another", 60).accepts(&a.current(120), 130));
        assert!(!format!("{a:?}").contains("shared"));
    }
}
