//! The layer's `tracing` events (DESIGN.md section 6): one per outcome, with `sub` and `jti` where
//! known, and never the token, a part of it, or the secret.

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_sliding_jwt::{
    InMemoryRevocations, JwtAuthLayer, ManualClock, RegisteredClaims, RevocationCheck,
    RevocationError, RevocationFuture,
};

const SECRET: &str = "logging-test-secret-of-at-least-32-bytes";

/// Everything the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Failing;

impl RevocationCheck for Failing {
    fn check(&self, _: &RegisteredClaims) -> RevocationFuture {
        RevocationFuture::ready(Err(RevocationError::new("store down")))
    }
}

#[test]
fn events_name_outcomes_and_subjects_but_never_tokens() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
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

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
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
