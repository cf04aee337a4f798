//! Heap allocations per request, counted with dhat's allocator (a separate binary, so the timing
//! benchmarks run on the system allocator).

mod common;

use axum::body::Body;
use common::*;
use http::Request;
use tower::{Service, ServiceExt};
use tower_sliding_jwt::{Algorithm, ManualClock};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

const ROUNDS: u64 = 2_000;

fn per_request<F: FnMut()>(mut f: F) -> f64 {
    for _ in 0..100 {
        f();
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..ROUNDS {
        f();
    }
    (dhat::HeapStats::get().total_blocks - before) as f64 / ROUNDS as f64
}

fn run(
    rt: &tokio::runtime::Runtime,
    router: &axum::Router,
    mut make: impl FnMut() -> Request<Body>,
) -> f64 {
    per_request(|| {
        let mut router = router.clone();
        let request = make();
        rt.block_on(async move {
            let service = ServiceExt::<Request<Body>>::ready(&mut router).await.unwrap();
            service.call(request).await.unwrap()
        });
    })
}

/// DPoP requests (a cached bound HS256 token, a new proof each), and `dpop-verifier` checking
/// the same proofs. The proofs are signed before counting starts.
fn dpop(rt: &tokio::runtime::Runtime) -> Vec<(&'static str, f64)> {
    use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};

    let (router, layer) = our_dpop_router();
    let tokens = TokenFactory::for_layer(&layer);
    let verifier = dpop_verifier::DpopVerifier::new().with_max_age_seconds(60);
    let mut rows = Vec::new();
    for (key, ours, peer) in [
        (
            DpopTestKey::new(),
            "ours DPoP, ES256 proof (cached bound token)",
            "dpop-verifier ES256 proof",
        ),
        (
            DpopTestKey::ed25519(),
            "ours DPoP, EdDSA proof (cached bound token)",
            "dpop-verifier EdDSA proof",
        ),
    ] {
        let token = tokens.bound("user-0000001234", &serde_json::json!({}), &key).unwrap();
        let requests = || {
            let proof = || tokens.dpop_request(Request::get("/"), &token, &key);
            (0..ROUNDS + 100).map(move |_| proof().body(Body::empty()).unwrap()).collect::<Vec<_>>()
        };
        let mut prepared = requests().into_iter();
        rows.push((ours, run(rt, &router, || prepared.next().unwrap())));
        let proofs: Vec<String> =
            requests().iter().map(|r| r.headers()["dpop"].to_str().unwrap().to_owned()).collect();
        let mut proofs = proofs.into_iter();
        rows.push((
            peer,
            per_request(|| {
                let proof = proofs.next().unwrap();
                let verified = rt.block_on(verifier.verify(
                    &mut Forgetful,
                    &proof,
                    "https://api.example.com/",
                    "GET",
                    Some(&token),
                ));
                assert!(verified.is_ok(), "{verified:?}");
            }),
        ));
    }
    rows
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let now = now();
    let clock = ManualClock::new(now);
    let fresh = hs256_token(&claims(now, 290));
    let renewing = hs256_token(&claims(now, 100));
    let bad = forged(&fresh);
    let bare = bare_router();
    let ours = our_router(clock.clone());
    let uncached = our_router_with_cache(clock.clone(), 0);
    let mut rows = vec![
        ("axum 0.8 bare router", run(&rt, &bare, || request(Some(&fresh)))),
        ("ours HS256 accept (repeat token, cached)", run(&rt, &ours, || request(Some(&fresh)))),
        ("ours HS256 accept (new token, no cache)", run(&rt, &uncached, || request(Some(&fresh)))),
        ("ours HS256 reject (bad signature)", run(&rt, &ours, || request(Some(&bad)))),
        ("ours HS256 renew", run(&rt, &ours, || request(Some(&renewing)))),
        ("ours missing token", run(&rt, &ours, || request(None))),
    ];
    for (alg, file, name) in [
        (Algorithm::RS256, "rsa_private.pem", "ours RS256 accept"),
        (Algorithm::ES256, "ec256_private.pem", "ours ES256 accept"),
        (Algorithm::EdDSA, "ed25519_private.pem", "ours EdDSA accept"),
    ] {
        let (router, token) = our_asymmetric(alg, file, clock.clone(), 0);
        rows.push((name, run(&rt, &router, || request(Some(&token)))));
    }
    let bare07 = bare_router07();
    let peer = rt.block_on(jwt_authorizer_router());
    let run07 = |router: &axum07::Router| {
        per_request(|| {
            let mut router = router.clone();
            let request = request07(&fresh);
            rt.block_on(async move {
                let service =
                    ServiceExt::<axum07::http::Request<axum07::body::Body>>::ready(&mut router)
                        .await
                        .unwrap();
                service.call(request).await.unwrap()
            });
        })
    };
    rows.push(("axum 0.7 bare router", run07(&bare07)));
    rows.push(("jwt-authorizer 0.15 HS256 accept", run07(&peer)));
    rows.extend(dpop(&rt));
    println!("| case | allocations per request |\n|---|---:|");
    for (name, allocations) in rows {
        println!("| {name} | {allocations:.1} |");
    }
}
