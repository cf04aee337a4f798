//! Entry points shared by the libFuzzer targets (`fuzz/fuzz_targets`) and the randomized test in
//! the normal suite (`tests/suite/fuzz_entry_points.rs`). Public API only. Each function panics only
//! when an invariant of the layer is broken; anything the input does must end in a documented
//! response.
#![allow(dead_code)]

use std::convert::Infallible;
use std::time::Duration;

use futures_util::FutureExt as _;
use http::{HeaderName, HeaderValue, Request, Response, Uri};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder, ServiceExt as _, service_fn};
use tower_sliding_jwt::revocation::InMemoryRevocations;
use tower_sliding_jwt::testing::TokenFactory;
use tower_sliding_jwt::{Issuer, JwtAuthLayer, Key, ManualClock, TokenSource};

/// The fixed "now" of every run, so the fuzzer can learn dates near it.
pub const NOW: i64 = 1_700_000_000;
pub const SECRET: &[u8] = b"fuzzing-harness-secret-32-bytes!!";

pub struct Harness {
    service: BoxCloneSyncService<Request<()>, Response<()>, Infallible>,
    pub issuer: Issuer,
    /// Signs any bytes with the layer's key, to get the fuzzer past the signature.
    tokens: TokenFactory,
}

/// Set by the inner service on its responses: proof it ran (tests run in parallel, so a shared
/// counter could not tell whose request reached it).
const INNER: &str = "x-inner-service";

impl Harness {
    pub fn new() -> Harness {
        let clock = ManualClock::new(NOW);
        let revocations = InMemoryRevocations::with_clock(clock.clone());
        revocations.revoke_token("revoked", NOW + 1_000);
        let layer = JwtAuthLayer::builder()
            .signing_key(Key::hs256(SECRET).expect("key").with_kid("k"))
            .previous_key(Key::hs256([9u8; 32]).expect("key").with_kid("old"))
            .issuer("fuzz")
            .token_sources([
                TokenSource::Bearer,
                TokenSource::header(HeaderName::from_static("x-token")),
                TokenSource::cookie("token"),
                TokenSource::query("token"),
            ])
            .session_limit(Duration::from_secs(3_600))
            .revocation(revocations)
            .clock(clock)
            .build()
            .expect("configuration");
        let issuer = layer.issuer();
        let tokens = TokenFactory::for_layer(&layer);
        let inner = service_fn(|_request: Request<()>| async {
            let mut response = Response::new(());
            response.headers_mut().insert(INNER, HeaderValue::from_static("ran"));
            Ok::<_, Infallible>(response)
        });
        let service = BoxCloneSyncService::new(ServiceBuilder::new().layer(layer).service(inner));
        Harness { service, issuer, tokens }
    }

    /// Send one request through the layer and check the invariants of its response.
    pub fn send(&self, request: Request<()>) -> Response<()> {
        let mut service = self.service.clone();
        // Without an asynchronous revocation store, the layer's future is ready at once.
        let response = async move {
            service.ready().await?;
            service.call(request).await
        }
        .now_or_never()
        .expect("the synchronous path completes on the first poll")
        .expect("infallible");
        let reached = response.headers().contains_key(INNER);
        let status = response.status().as_u16();
        assert!(matches!(status, 200 | 400 | 401), "undocumented status {status}");
        // A gRPC call is refused the gRPC way: HTTP 200 with a grpc-status.
        let grpc_status = response.headers().get("grpc-status");
        let accepted = status == 200 && grpc_status.is_none();
        assert_eq!(reached, accepted, "the inner service runs exactly for accepted requests");
        let renewal = response.headers().get("x-refreshed-token");
        let set_cookie = response.headers().get("set-cookie");
        if !accepted {
            assert!(renewal.is_none() && set_cookie.is_none(), "a rejection carried a renewal");
            match grpc_status {
                Some(code) => assert_eq!(code, "16", "gRPC rejections are UNAUTHENTICATED here"),
                None => {
                    let challenge =
                        response.headers().get("www-authenticate").expect("a challenge");
                    assert!(
                        challenge.to_str().is_ok_and(|c| c.starts_with("Bearer realm=\"api\""))
                    );
                }
            }
        }
        if let Some(renewed) = renewal {
            self.check_renewed(renewed.to_str().expect("ASCII"));
        }
        response
    }

    /// A renewed token verifies, stays within its session cap, and is issued now.
    fn check_renewed(&self, token: &str) {
        // The layer's claims type: unknown members are copied byte for byte, even numbers a
        // `serde_json::Value` could not hold.
        let claims = self
            .issuer
            .verify::<tower_sliding_jwt::NoCustomClaims>(token)
            .expect("a renewed token verifies");
        let start = claims.session_start().expect("a renewed token has a session start");
        assert!(claims.expires_at() <= start + 3_600, "renewed beyond the session cap");
        assert!(claims.expires_at() > NOW);
        assert_eq!(claims.registered().issued_at(), Some(NOW));
    }
}

/// Entry point 1: a request made of arbitrary bytes. The first line is the path and query; each
/// following line is `name: value` with raw bytes (lines the HTTP types refuse are skipped, as a
/// server would never hand them over).
pub fn request_bytes(harness: &Harness, data: &[u8]) {
    let mut lines = data.split(|b| *b == b'\n');
    let uri = lines
        .next()
        .and_then(|line| Uri::try_from(line).ok())
        .unwrap_or_else(|| Uri::from_static("/"));
    let mut request = Request::builder().uri(uri).body(()).expect("request");
    for line in lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            request.headers_mut().append(name, value);
        }
    }
    harness.send(request);
}

/// Entry point 2: arbitrary header and payload bytes (split at the first NUL), signed with the
/// real key so the fuzzer gets past the signature to the claims, the rules and renewal. The
/// same bytes are also tried as a token of their own. Returns the status of the signed token
/// and whether its response carried a renewal.
pub fn signed_parts(harness: &Harness, data: &[u8]) -> (u16, bool) {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (header, payload) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let token = harness.tokens.raw_bytes(header, payload).expect("signed");
    // The same claims type as the layer: a `Value` could refuse numbers the layer skips.
    let verified = harness.issuer.verify::<tower_sliding_jwt::NoCustomClaims>(&token).is_ok();
    let response = harness.send(bearer(&token));
    if token.len() <= 8 * 1024 {
        // `Issuer::verify` applies every rule but revocation, which needs the store.
        let revoked = response
            .headers()
            .get("www-authenticate")
            .is_some_and(|c| c.to_str().is_ok_and(|c| c.contains("revoked")));
        assert_eq!(
            verified,
            response.status() == 200 || revoked,
            "the layer and Issuer::verify agree ({:?})",
            response.headers().get("www-authenticate")
        );
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = harness.issuer.verify::<serde_json::Value>(text);
        if HeaderValue::from_str(&format!("Bearer {text}")).is_ok() {
            harness.send(bearer(text));
        }
    }
    (response.status().as_u16(), response.headers().contains_key("x-refreshed-token"))
}

fn bearer(token: &str) -> Request<()> {
    let mut request = Request::new(());
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        request.headers_mut().insert(http::header::AUTHORIZATION, value);
    }
    request
}
