//! What the revocation check adds to a request: the layer with no store, the in-memory store,
//! `RedisRevocations` asking Redis on every request, and `RedisRevocations` with local answers
//! kept current by Redis, against a `redis-server` this benchmark starts on a free loopback port.
//!
//! `cargo bench --bench redis` (skipped with a message when redis-server is not installed).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tower::{Service, ServiceExt};
use tower_sliding_jwt::revocation::{InMemoryRevocations, RedisRevocations, RevocationCheck};
use tower_sliding_jwt::{JwtAuthLayer, ManualClock};

fn router_with(clock: ManualClock, store: impl RevocationCheck) -> axum::Router {
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .issuer("https://auth.example.com")
        .audience("api")
        .clock(clock)
        .revocation(store)
        .build()
        .unwrap();
    axum::Router::new()
        .route("/", axum::routing::get(|| async { "ok" }))
        .layer(layer)
        .with_state(())
}

fn bench(c: &mut Criterion) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Ok(mut server) = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
    else {
        eprintln!("skipping: redis-server is not installed");
        return;
    };
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = now();
    let clock = ManualClock::new(now);
    let token = hs256_token(&claims(now, 290));
    let plain = our_router(clock.clone());
    let url = format!("redis://127.0.0.1:{port}/");
    let memory = router_with(clock.clone(), InMemoryRevocations::new());
    let (exact, local) = rt.block_on(async {
        let exact = RedisRevocations::connect(&url).unwrap();
        let local =
            RedisRevocations::builder(&url).local_answers(Duration::from_secs(60)).build().unwrap();
        (router_with(clock.clone(), exact), router_with(clock, local))
    });
    let mut group = c.benchmark_group("revocation");
    for (name, router) in [
        ("ours HS256 (cached), no revocation store", &plain),
        ("ours HS256 (cached) + in-memory store", &memory),
        ("ours HS256 (cached) + Redis check", &exact),
        ("ours HS256 (cached) + Redis local answers", &local),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let mut router = router.clone();
                let request = request(Some(&token));
                async move {
                    let service = ServiceExt::<Request<Body>>::ready(&mut router).await.unwrap();
                    assert_eq!(service.call(request).await.unwrap().status(), 200);
                }
            })
        });
    }
    group.finish();
    let _ = server.kill();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
