//! Time per request of tower-sliding-jwt, its floors and a peer, all in one run.
//!
//! ```sh
//! cargo bench --manifest-path benches/Cargo.toml            # layer on RustCrypto
//! cargo bench --manifest-path benches/Cargo.toml -F aws     # layer on aws-lc-rs
//! ```
//!
//! Every router case is one request through an axum router driven in process
//! (`ServiceExt::ready` + `call`, current-thread runtime), with a 227-byte claim set.

mod common;

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use http::{Request, StatusCode};
use serde_json::json;
use tower::{Service, ServiceExt};
use tower_sliding_jwt::{Algorithm, JwtAuthLayer, Key, ManualClock};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// One request through `router`; the status, so nothing is optimized away.
async fn call(router: &mut axum::Router, request: Request<Body>) -> StatusCode {
    let service = ServiceExt::<Request<Body>>::ready(router).await.unwrap();
    service.call(request).await.unwrap().status()
}

async fn call07(
    router: &mut axum07::Router,
    request: axum07::http::Request<axum07::body::Body>,
) -> u16 {
    let service =
        ServiceExt::<axum07::http::Request<axum07::body::Body>>::ready(router).await.unwrap();
    service.call(request).await.unwrap().status().as_u16()
}

fn routers(c: &mut Criterion) {
    let rt = runtime();
    let now = now();
    let clock = ManualClock::new(now);
    let fresh = hs256_token(&claims(now, 290)); // outside the renewal window
    let renewing = hs256_token(&claims(now, 100)); // inside it
    let bad = forged(&fresh);

    let mut group = c.benchmark_group("router");
    let bare = bare_router();
    group.bench_function("axum 0.8 bare", |b| {
        b.to_async(&rt).iter(|| {
            let mut router = bare.clone();
            let request = request(Some(&fresh));
            async move { assert_eq!(call(&mut router, request).await, 200) }
        })
    });
    let pass_through = pass_through_router();
    group.bench_function("axum 0.8 + pass-through layer", |b| {
        b.to_async(&rt).iter(|| {
            let mut router = pass_through.clone();
            let request = request(Some(&fresh));
            async move { assert_eq!(call(&mut router, request).await, 200) }
        })
    });
    let ours = our_router(clock.clone());
    let uncached = our_router_with_cache(clock.clone(), 0);
    for (name, router, token, status) in [
        ("ours HS256 accept (repeat token, cached)", &ours, fresh.clone(), 200),
        ("ours HS256 accept (new token, no cache)", &uncached, fresh.clone(), 200),
        ("ours HS256 reject (bad signature)", &ours, bad.clone(), 401),
        ("ours HS256 renew (cached)", &ours, renewing.clone(), 200),
        ("ours HS256 renew (no cache)", &uncached, renewing.clone(), 200),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let mut router = router.clone();
                let request = request(Some(&token));
                async move { assert_eq!(call(&mut router, request).await, status) }
            })
        });
    }
    group.bench_function("ours missing token", |b| {
        b.to_async(&rt).iter(|| {
            let mut router = ours.clone();
            let request = request(None);
            async move { assert_eq!(call(&mut router, request).await, 401) }
        })
    });
    for (alg, file, name) in [
        (Algorithm::RS256, "rsa_private.pem", "RS256"),
        (Algorithm::ES256, "ec256_private.pem", "ES256"),
        (Algorithm::EdDSA, "ed25519_private.pem", "EdDSA"),
    ] {
        for (cache, label) in [(0, "new token, no cache"), (4096, "repeat token, cached")] {
            let (router, token) = our_asymmetric(alg, file, clock.clone(), cache);
            group.bench_function(format!("ours {name} accept ({label})"), |b| {
                b.to_async(&rt).iter(|| {
                    let mut router = router.clone();
                    let request = request(Some(&token));
                    async move { assert_eq!(call(&mut router, request).await, 200) }
                })
            });
        }
    }

    let bare07 = bare_router07();
    group.bench_function("axum 0.7 bare", |b| {
        b.to_async(&rt).iter(|| {
            let mut router = bare07.clone();
            let request = request07(&fresh);
            async move { assert_eq!(call07(&mut router, request).await, 200) }
        })
    });
    let peer = rt.block_on(jwt_authorizer_router());
    group.bench_function("jwt-authorizer 0.15 HS256 accept", |b| {
        b.to_async(&rt).iter(|| {
            let mut router = peer.clone();
            let request = request07(&fresh);
            async move { assert_eq!(call07(&mut router, request).await, 200) }
        })
    });
    group.finish();
}

fn floors(c: &mut Criterion) {
    let now = now();
    let token = hs256_token(&claims(now, 290));
    let (input, signature) = token.rsplit_once('.').unwrap();
    let tag = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let mut group = c.benchmark_group("floor");

    let keyed = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    group.bench_function("HMAC-SHA256 RustCrypto (pre-keyed)", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(input).as_bytes());
            mac.verify_slice(&tag).unwrap();
        })
    });
    let aws_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    group.bench_function("HMAC-SHA256 aws-lc-rs", |b| {
        b.iter(|| aws_lc_rs::hmac::verify(&aws_key, black_box(input).as_bytes(), &tag).unwrap())
    });
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    group.bench_function("HMAC-SHA256 ring", |b| {
        b.iter(|| ring::hmac::verify(&ring_key, black_box(input).as_bytes(), &tag).unwrap())
    });

    // Asymmetric verification over the same signing input, pre-parsed keys (the true floor)
    // and per-call parsing (what jsonwebtoken does).
    for (alg, file, name) in [
        (Algorithm::RS256, "rsa_private.pem", "RS256"),
        (Algorithm::ES256, "ec256_private.pem", "ES256"),
        (Algorithm::EdDSA, "ed25519_private.pem", "EdDSA"),
    ] {
        let key = Key::from_private_pem(alg, pem(file)).unwrap();
        let layer = JwtAuthLayer::builder()
            .signing_key(key)
            .issuer("https://auth.example.com")
            .audience("api")
            .build()
            .unwrap();
        let token =
            layer.issuer().issue("user-0000001234", &json!({ "username": "alice" })).unwrap().token;
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let jwk: jsonwebtoken11::jwk::Jwk =
            serde_json::from_str(&layer.issuer().jwks().keys()[0].to_json()).unwrap();
        let public = public_key_bytes(&jwk);
        let (aws_alg, ring_alg): (
            &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
            &'static dyn ring::signature::VerificationAlgorithm,
        ) = match alg {
            Algorithm::RS256 => (
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            ),
            Algorithm::ES256 => (
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                &ring::signature::ECDSA_P256_SHA256_FIXED,
            ),
            _ => (&aws_lc_rs::signature::ED25519, &ring::signature::ED25519),
        };
        let parsed = aws_lc_rs::signature::ParsedPublicKey::new(aws_alg, &public).unwrap();
        group.bench_function(format!("{name} aws-lc-rs parsed key"), |b| {
            b.iter(|| parsed.verify_sig(black_box(input).as_bytes(), &signature).unwrap())
        });
        group.bench_function(format!("{name} aws-lc-rs parse per call"), |b| {
            b.iter(|| {
                aws_lc_rs::signature::UnparsedPublicKey::new(aws_alg, &public)
                    .verify(black_box(input).as_bytes(), &signature)
                    .unwrap()
            })
        });
        group.bench_function(format!("{name} ring parse per call"), |b| {
            b.iter(|| {
                ring::signature::UnparsedPublicKey::new(ring_alg, &public)
                    .verify(black_box(input).as_bytes(), &signature)
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// The public key in the form aws-lc-rs and ring take: RSA as PKCS#1 DER, EC as an uncompressed
/// point, Ed25519 as the raw 32 bytes.
fn public_key_bytes(jwk: &jsonwebtoken11::jwk::Jwk) -> Vec<u8> {
    use jsonwebtoken11::jwk::AlgorithmParameters;
    match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = URL_SAFE_NO_PAD.decode(&p.n).unwrap();
            let e = URL_SAFE_NO_PAD.decode(&p.e).unwrap();
            rsa_pkcs1_der(&n, &e)
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let mut point = vec![4u8];
            point.extend(URL_SAFE_NO_PAD.decode(&p.x).unwrap());
            point.extend(URL_SAFE_NO_PAD.decode(&p.y).unwrap());
            point
        }
        AlgorithmParameters::OctetKeyPair(p) => URL_SAFE_NO_PAD.decode(&p.x).unwrap(),
        _ => unreachable!(),
    }
}

/// DER of `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut value = bytes.to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        [vec![0x02], length(value.len()), value].concat()
    }
    fn length(len: usize) -> Vec<u8> {
        match len {
            0..=127 => vec![len as u8],
            128..=255 => vec![0x81, len as u8],
            _ => vec![0x82, (len >> 8) as u8, len as u8],
        }
    }
    let body = [integer(n), integer(e)].concat();
    [vec![0x30], length(body.len()), body].concat()
}

fn decoders(c: &mut Criterion) {
    use jsonwebtoken9 as jwt9;
    use jsonwebtoken11 as jwt11;
    let _ = jwt11::crypto::CryptoProvider::install_default(
        &jwt11::crypto::rust_crypto::DEFAULT_PROVIDER,
    );
    let now = now();
    let token = hs256_token(&claims(now, 290));
    let mut group = c.benchmark_group("decode");
    let mut v11 = jwt11::Validation::new(jwt11::Algorithm::HS256);
    v11.set_audience(&["api"]);
    let k11 = jwt11::DecodingKey::from_secret(SECRET.as_bytes());
    group.bench_function("jsonwebtoken 11 HS256 (rust_crypto)", |b| {
        b.iter(|| jwt11::decode::<serde_json::Value>(black_box(&token), &k11, &v11).unwrap())
    });
    let mut v9 = jwt9::Validation::new(jwt9::Algorithm::HS256);
    v9.set_audience(&["api"]);
    let k9 = jwt9::DecodingKey::from_secret(SECRET.as_bytes());
    group.bench_function("jsonwebtoken 9 HS256 (ring)", |b| {
        b.iter(|| jwt9::decode::<serde_json::Value>(black_box(&token), &k9, &v9).unwrap())
    });
    group.finish();
}

fn signing(c: &mut Criterion) {
    // The cost of the signature a renewal adds: `Issuer::issue` signs the same way (claims to
    // JSON, base64url, sign with the current key).
    let mut group = c.benchmark_group("sign");
    for (alg, file, name) in [
        (Algorithm::HS256, "", "HS256"),
        (Algorithm::RS256, "rsa_private.pem", "RS256"),
        (Algorithm::PS256, "rsa_private.pem", "PS256"),
        (Algorithm::ES256, "ec256_private.pem", "ES256"),
        (Algorithm::ES384, "ec384_private.pem", "ES384"),
        (Algorithm::EdDSA, "ed25519_private.pem", "EdDSA"),
    ] {
        let key = if file.is_empty() {
            Key::hs256(SECRET).unwrap()
        } else {
            Key::from_private_pem(alg, pem(file)).unwrap()
        };
        let issuer = JwtAuthLayer::builder()
            .signing_key(key)
            .issuer("https://auth.example.com")
            .build()
            .unwrap()
            .issuer();
        let custom =
            json!({ "username": "alice", "roles": ["reader", "writer"], "tenant": "acme-inc" });
        group.bench_function(name, |b| {
            b.iter(|| issuer.issue("user-0000001234", black_box(&custom)).unwrap())
        });
    }
    group.finish();
}

/// A DPoP request (RFC 9449): an HS256 token bound to the client's key, seen before (cached),
/// with a fresh proof each time (made outside the measurement), ES256 and EdDSA. Against the
/// `dpop-verifier` crate verifying the same proofs (its replay store does nothing, where ours
/// remembers each `jti`); the floors of one verification are in `floors`.
fn dpop(c: &mut Criterion) {
    use tower_sliding_jwt::testing::{DpopTestKey, TokenFactory};

    let rt = runtime();
    let (app, layer) = our_dpop_router();
    let tokens = TokenFactory::for_layer(&layer);
    let mut group = c.benchmark_group("dpop");
    for (name, key) in [("ES256", DpopTestKey::new()), ("EdDSA", DpopTestKey::ed25519())] {
        let token = tokens.bound("user-0000001234", &json!({ "username": "alice" }), &key).unwrap();
        let proof = || tokens.dpop_request(Request::get("/"), &token, &key);
        group.bench_function(format!("ours {name} proof, HS256 bound token (cached)"), |b| {
            b.to_async(&rt).iter_batched(
                || (app.clone(), proof().body(Body::empty()).unwrap()),
                |(mut router, request)| async move {
                    assert_eq!(call(&mut router, request).await, 200)
                },
                criterion::BatchSize::SmallInput,
            )
        });
        let verifier = dpop_verifier::DpopVerifier::new().with_max_age_seconds(60);
        group.bench_function(format!("dpop-verifier {name} proof"), |b| {
            b.to_async(&rt).iter_batched(
                || proof().body(()).unwrap().headers()["dpop"].to_str().unwrap().to_owned(),
                |proof| {
                    let (verifier, token) = (&verifier, &token);
                    async move {
                        let verified = verifier
                            .verify(
                                &mut Forgetful,
                                &proof,
                                "https://api.example.com/",
                                "GET",
                                Some(token),
                            )
                            .await;
                        assert!(verified.is_ok(), "{verified:?}");
                    }
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = routers, floors, decoders, signing, dpop
}
criterion_main!(benches);
