//! One case in a plain loop, for profilers:
//! `valgrind --tool=callgrind target/release/examples/profile [accept|uncached|renew|reject|rs256|bare|layer] [N]`.
//! Built with `--features metrics`, `--prometheus` installs a Prometheus recorder first.

#[path = "../benches/common/mod.rs"]
mod common;

use axum::body::Body;
use common::*;
use http::Request;
use tower::{Service, ServiceExt};
use tower_sliding_jwt::{Algorithm, ManualClock};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_else(|| "accept".into());
    let rounds: u64 = args.iter().filter_map(|a| a.parse().ok()).next().unwrap_or(100_000);
    #[cfg(feature = "metrics")]
    let _scrape = args
        .iter()
        .any(|a| a == "--prometheus")
        .then(|| metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let now = now();
    let clock = ManualClock::new(now);
    let (router, token) = match case.as_str() {
        "renew" => (our_router(clock), hs256_token(&claims(now, 100))),
        "reject" => (our_router(clock), forged(&hs256_token(&claims(now, 290)))),
        "rs256" => our_asymmetric(Algorithm::RS256, "rsa_private.pem", clock, 0),
        "uncached" => (our_router_with_cache(clock, 0), hs256_token(&claims(now, 290))),
        "bare" => (bare_router(), hs256_token(&claims(now, 290))),
        "layer" => (pass_through_router(), hs256_token(&claims(now, 290))),
        _ => (our_router(clock), hs256_token(&claims(now, 290))),
    };
    // DPoP: proofs are signed first (`dpop-sign` does only that, to subtract it).
    if case == "dpop" || case == "dpop-sign" {
        use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};
        let layer = tower_sliding_jwt::JwtAuthLayer::builder()
            .hs256(SECRET)
            .issuer("https://auth.example.com")
            .dpop(tower_sliding_jwt::DpopPolicy::new().public_origin("https://api.example.com"))
            .build()
            .unwrap();
        let tokens = TokenFactory::for_layer(&layer);
        let key = DpopTestKey::new();
        let token = tokens.bound("user-0000001234", &serde_json::json!({}), &key).unwrap();
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .layer(layer)
            .with_state(());
        let requests: Vec<_> = (0..rounds)
            .map(|_| {
                tokens.dpop_request(Request::get("/"), &token, &key).body(Body::empty()).unwrap()
            })
            .collect();
        let mut statuses = 0u64;
        if case == "dpop" {
            for request in requests {
                let mut router = app.clone();
                let status = rt.block_on(async move {
                    let service = ServiceExt::<Request<Body>>::ready(&mut router).await.unwrap();
                    service.call(request).await.unwrap().status()
                });
                statuses += u64::from(status.as_u16());
            }
        }
        println!("{case}: {rounds} requests, status sum {statuses}");
        return;
    }
    let mut statuses = 0u64;
    for _ in 0..rounds {
        let mut router = router.clone();
        let request = request(Some(&token));
        let status = rt.block_on(async move {
            let service = ServiceExt::<Request<Body>>::ready(&mut router).await.unwrap();
            service.call(request).await.unwrap().status()
        });
        statuses += u64::from(status.as_u16());
    }
    println!("{case}: {rounds} requests, status sum {statuses}");
}
