//! The fuzzing entry points (fuzz/harness.rs) on random and mutated input, for a few seconds in
//! every test run, so CI exercises what the fuzzers do. Long runs: see fuzz/README.md.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::sync::LazyLock;

use proptest::prelude::*;
use serde_json::json;

static HARNESS: LazyLock<harness::Harness> = LazyLock::new(harness::Harness::new);

/// A header and claims (NUL-separated) that are valid and inside the renewal window.
fn renewing_claims() -> Vec<u8> {
    let now = harness::NOW;
    let claims = json!({ "sub": "u", "iss": "fuzz", "iat": now - 200, "auth_time": now - 300, "exp": now + 100 });
    [br#"{"alg":"HS256","kid":"k"}"#.as_slice(), b"\0", claims.to_string().as_bytes()].concat()
}

/// Valid claims of a revoked token.
fn revoked_claims() -> Vec<u8> {
    let now = harness::NOW;
    let claims =
        json!({ "sub": "u", "iss": "fuzz", "exp": now + 10, "nbf": now, "jti": "revoked" });
    [br#"{"alg":"HS256"}"#.as_slice(), b"\0", claims.to_string().as_bytes()].concat()
}

/// Seeds the random inputs grow from: near-valid requests and claim sets.
fn seeds() -> Vec<Vec<u8>> {
    let good = HARNESS.issuer.issue("user", &json!({ "role": "x" })).unwrap().token;
    vec![
        format!("/\nauthorization: Bearer {good}").into_bytes(),
        format!("/?token={good}\nx-token: {good}").into_bytes(),
        format!("/\ncookie: a=1; token={good}").into_bytes(),
        format!("/\ncontent-type: application/grpc\nauthorization: Bearer {good}").into_bytes(),
        renewing_claims(),
        revoked_claims(),
    ]
}

/// A seed with random bytes overwritten, inserted and removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (0..seeds().len(), prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..12))
        .prop_map(|(seed, edits)| {
            let mut data = seeds()[seed].clone();
            for (at, byte, kind) in edits {
                let at = at % (data.len() + 1);
                match kind {
                    0 if at < data.len() => data[at] = byte,
                    1 => data.insert(at, byte),
                    _ if at < data.len() => {
                        data.remove(at);
                    }
                    _ => {}
                }
            }
            data
        })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => mutated(), 1 => prop::collection::vec(any::<u8>(), 0..600)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn requests_of_arbitrary_bytes(data in input()) {
        harness::request_bytes(&HARNESS, &data);
    }

    #[test]
    fn arbitrary_signed_headers_and_payloads(data in input()) {
        let _ = harness::signed_parts(&HARNESS, &data);
    }
}

/// Every committed seed, including inputs that once found a bug (`regression-*`), through the
/// same checks as the fuzzers.
#[test]
fn the_committed_seeds_and_regressions_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds");
    let mut count = 0;
    for (target, entry) in ["request", "signed"].iter().flat_map(|target| {
        std::fs::read_dir(format!("{dir}/{target}"))
            .unwrap()
            .map(move |entry| (*target, entry.unwrap()))
    }) {
        let data = std::fs::read(entry.path()).unwrap();
        match target {
            "request" => harness::request_bytes(&HARNESS, &data),
            _ => {
                let _ = harness::signed_parts(&HARNESS, &data);
            }
        }
        count += 1;
    }
    assert!(count >= 15, "{count} seeds");
}

#[test]
fn the_seeds_reach_the_deep_paths() {
    // Without this, the random tests could pass without ever getting past the signature.
    assert_eq!(
        harness::signed_parts(&HARNESS, &renewing_claims()),
        (200, true),
        "accepted and renewed"
    );
    assert_eq!(harness::signed_parts(&HARNESS, &revoked_claims()).0, 401, "revoked");
    let response = HARNESS.send(
        http::Request::builder()
            .header(
                "authorization",
                format!("Bearer {}", HARNESS.issuer.issue("u", &json!({})).unwrap().token),
            )
            .body(())
            .unwrap(),
    );
    assert_eq!(response.status(), 200);
}
