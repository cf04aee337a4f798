//! Property tests of sliding renewal: random clocks, lifetimes, thresholds and request timings,
//! through the real layer (in process), checked against an independent statement of the rules.

use std::convert::Infallible;
use std::time::Duration;

use crate::common::{claims_of, header_of, unix_now};
use http::{Request, Response, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_sliding_jwt::{JwtAuthLayer, Key, ManualClock, RenewalPolicy};

const SECRET: &[u8] = b"property-tests-secret-of-32-bytes";

#[derive(Debug, Clone, Copy)]
enum Threshold {
    Within(u64),
    /// Eighths of the lifetime, so the products are exact.
    Eighths(u8),
}

/// How far the clock moves before the next request: random, or to (around) one of the edges
/// the rules care about, so the boundaries are hit on purpose.
#[derive(Debug, Clone, Copy)]
enum Step {
    By(u64),
    /// To `exp - threshold + offset`.
    ToThreshold(i8),
    /// To `exp + offset`.
    ToExpiry(i8),
    /// To `session_end - ttl + offset`: where renewals start to be limited.
    ToLimitRegion(i8),
}

#[derive(Debug, Clone)]
struct Case {
    ttl: u64,
    max_session: u64,
    threshold: Threshold,
    steps: Vec<Step>,
    /// Whether the client adopts each renewed token.
    adopt: Vec<bool>,
    tamper_at: Option<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (1u64..5_000, 1u64..6).prop_flat_map(|(ttl, session_factor)| {
        let max_session = ttl * session_factor + ttl / 2;
        let threshold = prop_oneof![
            (0..=ttl).prop_map(Threshold::Within),
            (1u8..=8).prop_map(Threshold::Eighths),
        ];
        (
            Just(ttl),
            Just(max_session),
            threshold,
            prop::collection::vec(
                prop_oneof![
                    3 => (0..ttl + ttl / 4 + 2).prop_map(Step::By),
                    2 => (-1i8..=1).prop_map(Step::ToThreshold),
                    1 => (-1i8..=6).prop_map(Step::ToExpiry),
                    1 => (-1i8..=1).prop_map(Step::ToLimitRegion),
                ],
                1..12,
            ),
            prop::collection::vec(any::<bool>(), 12),
            prop::option::weighted(0.2, 0usize..12),
        )
            .prop_map(|(ttl, max_session, threshold, steps, adopt, tamper_at)| Case {
                ttl,
                max_session,
                threshold,
                steps,
                adopt,
                tamper_at,
            })
    })
}

/// The trigger rule, stated independently of the implementation.
fn threshold_of(threshold: Threshold, token: &Value, ttl: u64) -> i64 {
    match threshold {
        Threshold::Within(secs) => secs as i64,
        Threshold::Eighths(eighths) => {
            let lifetime = match token["iat"].as_i64() {
                Some(iat) if iat < token["exp"].as_i64().unwrap() => {
                    token["exp"].as_i64().unwrap() - iat
                }
                _ => ttl as i64,
            };
            lifetime * i64::from(eighths) / 8
        }
    }
}

fn tamper(token: &str) -> String {
    // Flip one character of the signature.
    let mut chars: Vec<char> = token.chars().collect();
    let last = chars.len() - 2;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn run(case: Case) -> Result<(), TestCaseError> {
    let login_at = unix_now();
    let clock = ManualClock::new(login_at);
    let policy = RenewalPolicy::new();
    let policy = match case.threshold {
        Threshold::Within(secs) => policy.renew_within(Duration::from_secs(secs)),
        Threshold::Eighths(n) => policy.renew_within_fraction(f64::from(n) / 8.0),
    };
    let layer = JwtAuthLayer::builder()
        .signing_key(Key::hs256(SECRET).unwrap().with_kid("k"))
        .issuer("props")
        .clock(clock.clone())
        .token_lifetime(Duration::from_secs(case.ttl))
        .session_limit(Duration::from_secs(case.max_session))
        .renewal(policy)
        .build()
        .unwrap();
    let issuer = layer.issuer();
    let service = ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(|_req: Request<()>| async { Ok::<_, Infallible>(Response::new(())) }));
    let first = issuer.issue("user-1", &json!({ "team": "blue", "n": 42 })).unwrap();
    let original = claims_of(&first.token);
    let session_end = login_at + case.max_session as i64;
    let mut token = first.token;
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut now = login_at;
    let mut renewals = 0;

    for (i, step) in case.steps.iter().enumerate() {
        let current = claims_of(&token);
        let exp = current["exp"].as_i64().unwrap();
        let target = match *step {
            Step::By(secs) => now + secs as i64,
            Step::ToThreshold(offset) => {
                exp - threshold_of(case.threshold, &current, case.ttl) + i64::from(offset)
            }
            Step::ToExpiry(offset) => exp + i64::from(offset),
            Step::ToLimitRegion(offset) => session_end - case.ttl as i64 + i64::from(offset),
        };
        // Time never goes backwards.
        now = now.max(target);
        clock.set(now);
        let tampered = case.tamper_at == Some(i);
        let presented = if tampered { tamper(&token) } else { token.clone() };
        let request = Request::builder()
            .header("authorization", format!("Bearer {presented}"))
            .body(())
            .unwrap();
        let response = runtime.block_on(service.clone().oneshot(request)).unwrap();
        let renewed =
            response.headers().get("x-refreshed-token").map(|v| v.to_str().unwrap().to_owned());

        let accepted = !tampered && now - 5 < exp; // 5 s of leeway
        prop_assert_eq!(
            response.status() == StatusCode::OK,
            accepted,
            "step {} at +{}",
            i,
            now - login_at
        );
        if !accepted {
            prop_assert!(renewed.is_none(), "a rejected or expired token is never renewed");
            continue;
        }
        let should_renew = now < exp
            && exp - now <= threshold_of(case.threshold, &current, case.ttl)
            && (now + case.ttl as i64).min(session_end) > exp;
        prop_assert_eq!(
            renewed.is_some(),
            should_renew,
            "step {} at +{}, exp +{}",
            i,
            now - login_at,
            exp - login_at
        );
        let Some(new_token) = renewed else { continue };

        let verified = issuer.verify::<Value>(&new_token);
        prop_assert!(verified.is_ok(), "a renewed token verifies: {:?}", verified.err());
        let new = claims_of(&new_token);
        let new_exp = new["exp"].as_i64().unwrap();
        prop_assert!(new_exp <= session_end, "exp never passes auth_time + max_session");
        prop_assert_eq!(new_exp, (now + case.ttl as i64).min(session_end));
        prop_assert!(new_exp > exp);
        prop_assert_eq!(new["iat"].as_i64(), Some(now), "iat is now");
        for kept in ["auth_time", "sid", "sub", "iss", "team", "n"] {
            prop_assert_eq!(&new[kept], &original[kept], "{} is kept", kept);
        }
        prop_assert_ne!(&new["jti"], &current["jti"]);
        prop_assert_eq!(header_of(&new_token), json!({ "alg": "HS256", "kid": "k", "typ": "JWT" }));
        renewals += 1;
        if case.adopt[i] {
            token = new_token;
        }
    }
    RENEWALS.fetch_add(renewals, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Renewals seen across all cases: the properties must not hold vacuously.
static RENEWALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn sliding_renewal_follows_the_rules() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(512));
    if let Err(failure) = runner.run(&case(), run) {
        panic!("{failure}");
    }
    let renewals = RENEWALS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        renewals > 300,
        "only {renewals} renewals in 512 cases: the generator misses the window"
    );
}
