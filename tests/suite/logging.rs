//! The layer's `tracing` events: one per outcome, with `sub` and `jti` where
//! known, and never the token, a part of it, or the secret.

use std::convert::Infallible;
use std::time::Duration;

use http::{Request, Response};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_sliding_jwt::error::RevocationError;
use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationCheck, RevocationFuture};
use tower_sliding_jwt::{JwtAuthLayer, ManualClock, RegisteredClaims};

use crate::common::Capture;

const SECRET: &str = "logging-test-secret-of-at-least-32-bytes";

struct Failing;

impl RevocationCheck for Failing {
    fn check(&self, _: &RegisteredClaims) -> RevocationFuture {
        RevocationFuture::ready(Err(RevocationError::new("store down")))
    }
}

#[test]
fn events_name_outcomes_and_subjects_but_never_tokens() {
    let capture = Capture::default();
    let subscriber = capture.subscriber();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let revocations = InMemoryRevocations::new();
    let build = |revocation: Option<&InMemoryRevocations>| {
        let builder = JwtAuthLayer::builder().hs256(SECRET).issuer("logs").clock(clock.clone());
        match revocation {
            Some(list) => builder.revocation(list.clone()).build().unwrap(),
            None => builder.revocation(Failing).build().unwrap(),
        }
    };
    let layer = build(Some(&revocations));
    let failing = build(None);
    let issuer = layer.issuer();
    let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    let service = ServiceBuilder::new().layer(layer).service(inner);
    let failing = ServiceBuilder::new().layer(failing).service(inner);

    let good = issuer.issue("user-42", &json!({})).unwrap().token;
    let revoked = issuer.issue("user-43", &json!({})).unwrap().token;
    let forged = format!("{}x", &good[..good.len() - 1]);
    let mut tokens = vec![good.clone(), revoked.clone(), forged.clone()];

    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let send = |token: &str| {
                let request = Request::get("/")
                    .header("authorization", format!("Bearer {token}"))
                    .body(())
                    .unwrap();
                service.clone().oneshot(request)
            };
            send(&good).await.unwrap();
            send(&forged).await.unwrap();
            service.clone().oneshot(Request::new(())).await.unwrap();
            let claims = issuer.verify::<serde_json::Value>(&revoked).unwrap();
            revocations.revoke_token(claims.token_id().unwrap(), claims.expires_at());
            send(&revoked).await.unwrap();
            let request = Request::get("/")
                .header("authorization", format!("Bearer {good}"))
                .body(())
                .unwrap();
            failing.clone().oneshot(request).await.unwrap();
            clock.advance(Duration::from_secs(200));
            let renewed = send(&good).await.unwrap();
            tokens.push(renewed.headers()["x-refreshed-token"].to_str().unwrap().to_owned());
            clock.advance(Duration::from_secs(400));
            send(&good).await.unwrap();
        });
    });

    let logs = capture.text();
    for event in [
        "token accepted",
        "token rejected",
        "no token",
        "token refused",
        "token renewed",
        "revocation check failed",
    ] {
        assert!(logs.contains(event), "no {event:?} event in:\n{logs}");
    }
    assert!(logs.contains("sub=\"user-42\""), "events carry the subject:\n{logs}");
    assert!(logs.contains("jti="), "events carry the token id:\n{logs}");
    assert!(!logs.contains(SECRET), "the secret leaked");
    for token in &tokens {
        for (i, segment) in token.split('.').enumerate() {
            assert!(!logs.contains(segment), "segment {i} of a token leaked:\n{logs}");
        }
    }
}

/// tower-http's `TraceLayer`, told to print every request and response header, shows `Sensitive`
/// wherever the crate wrote a token: the client layer's `Authorization`, the renewal header and
/// the renewal `Set-Cookie`. (A cookie a browser sends is the browser's header, not ours.)
#[test]
fn a_trace_layer_printing_headers_never_shows_a_token() {
    use axum::body::Body;
    use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
    use tower_sliding_jwt::TokenSource;
    use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};

    let capture = Capture::default();
    let subscriber = capture.subscriber();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let auth = JwtAuthLayer::builder()
        .hs256(SECRET)
        .issuer("logs")
        .token_sources([TokenSource::Bearer, TokenSource::cookie("token")])
        .clock(clock.clone())
        .build()
        .unwrap();
    let issuer = auth.issuer();
    let server = ServiceBuilder::new()
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().include_headers(true))
                .on_response(DefaultOnResponse::new().include_headers(true)),
        )
        .layer(auth)
        .service(service_fn(|_: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }));
    let bearer = issuer.issue("u-1", &json!({})).unwrap().token;
    let cookie = issuer.issue("u-2", &json!({})).unwrap().token;
    let store = TokenStore::new("http://localhost").unwrap().with_token(bearer.clone());
    let client = ServiceBuilder::new().layer(ClientTokenLayer::new(store)).service(server.clone());
    clock.advance(Duration::from_secs(200));
    let mut written = vec![bearer];
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let by_client = client.oneshot(Request::get("/").body(Body::empty()).unwrap());
            let from_browser = Request::get("/").header("cookie", format!("token={cookie}"));
            let by_browser = server.oneshot(from_browser.body(Body::empty()).unwrap());
            for response in [by_client.await.unwrap(), by_browser.await.unwrap()] {
                for name in ["x-refreshed-token", "set-cookie"] {
                    if let Some(value) = response.headers().get(name) {
                        assert!(value.is_sensitive(), "{name} is not marked sensitive");
                        let text = value.to_str().unwrap();
                        let token = text.trim_start_matches("token=").split(';').next().unwrap();
                        written.push(token.to_owned());
                    }
                }
            }
        })
    });
    assert_eq!(written.len(), 3, "both requests renewed: {written:?}");
    let output = capture.text();
    assert!(output.contains("authorization\": Sensitive"), "headers not printed: {output}");
    assert!(output.contains("set-cookie\": Sensitive"), "headers not printed: {output}");
    for token in written {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!output.contains(signature), "a token leaked into: {output}");
    }
}
