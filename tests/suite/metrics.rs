//! Metrics: each one the `metrics` module documents is recorded where it says, with the labels
//! it lists and nothing a client chooses. Recorded in memory by a recorder local to the test's
//! thread (with a runtime of that one thread), so tests running beside it do not count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::app::App;
use crate::common::{metrics_series, pem, renewed};
use http::StatusCode;
use http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use metrics_util::debugging::DebuggingRecorder;
use serde_json::json;
use tower_sliding_jwt::jwks::RemoteJwks;
use tower_sliding_jwt::metrics::*;
use tower_sliding_jwt::renewal::CookieSettings;
use tower_sliding_jwt::revocation::{InMemoryRevocations, RevocationCheck, RevocationFuture};
use tower_sliding_jwt::{
    Algorithm, Forbidden, JwtAuthLayer, Key, RegisteredClaims, RenewalMode, RenewalPolicy,
    TokenSource,
};

/// Every series recorded: `name{label=value,...}` and its value (counters and gauges; a
/// histogram as its number of samples).
type Series = BTreeMap<String, f64>;

/// Run `body` on a one-thread runtime (paused time) with a recorder of its own, and read what
/// it recorded while what it returns is still alive. Then drop that, still recording, and read
/// again: a snapshot drains the recorder, so the second holds only what the drop recorded.
fn recorded<T>(body: impl AsyncFnOnce() -> T) -> (Series, Series) {
    let recorder = DebuggingRecorder::new();
    let snapshots = recorder.snapshotter();
    let read = || metrics_series(&snapshots);
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let alive = runtime.block_on(body());
        let during = read();
        drop(alive);
        (during, read())
    })
}

fn value(series: &Series, name: &str) -> f64 {
    series.get(name).copied().unwrap_or_else(|| panic!("{name} not recorded in {series:#?}"))
}

/// A store answering through the network, slowly, or not at all.
#[derive(Clone)]
struct Remote {
    list: InMemoryRevocations,
    down: Arc<AtomicBool>,
}

impl RevocationCheck for Remote {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let (status, down) = (self.list.status(claims), self.down.load(Ordering::SeqCst));
        RevocationFuture::pending(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            match down {
                true => Err(tower_sliding_jwt::error::RevocationError::new("down")),
                false => Ok(status),
            }
        })
    }
}

#[test]
fn every_outcome_renewal_and_revocation_answer_is_counted() {
    let mut tokens = Vec::new();
    let (series, after) = recorded(async || {
        let list = InMemoryRevocations::new();
        let down = Arc::new(AtomicBool::new(false));
        let store = Remote { list: list.clone(), down: Arc::clone(&down) };
        let app = App::start_as(
            |b| {
                b.token_sources([TokenSource::Bearer, TokenSource::cookie("token")])
                    .optional(true)
                    .revocation(store)
                    .renewal(RenewalPolicy::new().cookie(CookieSettings::new().secure(false)))
            },
            |layer| {
                layer.authorize(|claims, _| match claims.custom().role.as_str() {
                    "banned" => Err(Forbidden::new("no")),
                    _ => Ok(()),
                })
            },
        )
        .await;
        let token = app.login();
        tokens.push(token.clone());
        // accepted, twice: a miss, then a hit in the token cache.
        assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::OK);
        assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::OK);
        // anonymous (optional mode), invalid, and an ambiguous request (invalid too).
        app.get("/whoami", None).await;
        assert_eq!(app.get("/whoami", Some("a.b.c")).await.status(), StatusCode::UNAUTHORIZED);
        let two = http::Request::get("/whoami")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        assert_eq!(app.send(two).await.status(), StatusCode::BAD_REQUEST);
        // cross_site
        let forged = http::Request::post("/whoami")
            .header(HOST, "api.example")
            .header(ORIGIN, "https://evil.example")
            .header(COOKIE, format!("token={token}"));
        assert_eq!(app.send(forged).await.status(), StatusCode::FORBIDDEN);
        // forbidden
        let banned = app.issuer.issue("8", &json!({ "role": "banned" })).unwrap().token;
        assert_eq!(app.get("/whoami", Some(&banned)).await.status(), StatusCode::FORBIDDEN);
        // a preflight
        let preflight = http::Request::options("/whoami")
            .header(ORIGIN, "https://app.example")
            .header("access-control-request-method", "GET");
        assert_eq!(app.send(preflight).await.status(), StatusCode::NO_CONTENT);
        // renewals: in a header, then in a cookie.
        app.advance(200);
        assert!(renewed(&app.get("/whoami", Some(&token)).await).is_some());
        let by_cookie = http::Request::get("/whoami").header(COOKIE, format!("token={token}"));
        assert!(app.send(by_cookie).await.headers().contains_key("set-cookie"));
        // revoked, then unavailable.
        let claims = app.issuer.verify::<serde_json::Value>(&token).unwrap();
        list.revoke_session(claims.session_id().unwrap(), claims.expires_at() + 3600);
        assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::UNAUTHORIZED);
        down.store(true, Ordering::SeqCst);
        let other = app.login();
        let refused = app.get("/whoami", Some(&other)).await.status();
        assert_eq!(refused, StatusCode::SERVICE_UNAVAILABLE);
        tokens.push(other);

        // advise, on a layer of its own.
        let advise =
            App::start(|b| b.renewal(RenewalPolicy::new().mode(RenewalMode::Advise))).await;
        let token = advise.login();
        advise.advance(200);
        assert!(
            advise.get("/whoami", Some(&token)).await.headers().contains_key("x-token-expires-in")
        );
        (app, advise)
    });
    let outcome = |o: &str| value(&series, &format!("{REQUESTS}{{outcome={o}}}"));
    // 2 at first, 1 forbidden is not accepted, 2 renewals, 1 advised.
    assert_eq!(outcome("accepted"), 5.0);
    assert_eq!(outcome("anonymous"), 1.0);
    assert_eq!(outcome("invalid"), 2.0);
    assert_eq!(outcome("cross_site"), 1.0);
    assert_eq!(outcome("forbidden"), 1.0);
    assert_eq!(outcome("revoked"), 1.0);
    assert_eq!(outcome("unavailable"), 1.0);
    assert_eq!(value(&series, &format!("{PREFLIGHTS}{{}}")), 1.0);
    for (kind, count) in [("header", 1.0), ("cookie", 1.0), ("advise", 1.0)] {
        assert_eq!(value(&series, &format!("{RENEWALS}{{kind={kind}}}")), count, "{kind}");
    }
    let checks = |r: &str| value(&series, &format!("{REVOCATION_CHECKS}{{result={r}}}"));
    // The forbidden token was checked and active; each renewal asks the store again.
    assert_eq!(checks("active"), 7.0);
    assert_eq!(checks("revoked"), 1.0);
    assert_eq!(checks("unavailable"), 1.0);
    assert!(value(&series, &format!("{REVOCATION_CHECK_SECONDS}{{}}")) >= 9.0);
    assert!(value(&series, &format!("{TOKEN_CACHE}{{result=hit}}")) >= 1.0);
    assert!(value(&series, &format!("{TOKEN_CACHE}{{result=miss}}")) >= 1.0);
    // Remembered: ours, the banned one and the other, then the advised one; gone with the layers.
    let entries = format!("{TOKEN_CACHE_ENTRIES}{{}}");
    assert_eq!(value(&series, &entries), 4.0);
    assert_eq!(value(&after, &entries), -4.0, "the drop takes them away");
    no_label_names_a_client(&series, &tokens);
}

/// No token, subject or session id (all chosen by or for one client) appears in a series.
fn no_label_names_a_client(series: &Series, tokens: &[String]) {
    for name in series.keys() {
        for token in tokens {
            let claims = crate::common::claims_of(token);
            for secret in
                [token.as_str(), claims["sid"].as_str().unwrap(), claims["jti"].as_str().unwrap()]
            {
                assert!(!name.contains(secret), "{name} names a client");
            }
        }
        assert!(!name.contains("sub="), "{name}");
    }
}

#[test]
fn key_downloads_are_counted_by_issuer_with_the_set_size_and_age() {
    let (series, _) = recorded(async || {
        let idp = "https://idp.example";
        let signer = Key::from_private_pem(Algorithm::EdDSA, pem("ed25519_private.pem"))
            .unwrap()
            .with_kid("k1");
        let issuer = JwtAuthLayer::builder().signing_key(signer).build().unwrap().issuer();
        let document = serde_json::to_vec(&issuer.jwks()).unwrap();
        let failing = Arc::new(AtomicBool::new(false));
        let fails = Arc::clone(&failing);
        let jwks = RemoteJwks::builder(idp, format!("{idp}/jwks"))
            .refresh_every(Duration::from_secs(60))
            .max_staleness(Duration::from_secs(120))
            .http_client(move |_| {
                let (document, fails) = (document.clone(), fails.load(Ordering::SeqCst));
                async move {
                    let mut response = http::Response::new(document);
                    if fails {
                        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    }
                    Ok::<_, std::io::Error>(response)
                }
            })
            .fetch()
            .await
            .unwrap();
        let issuer =
            JwtAuthLayer::builder().remote_jwks(jwks).audience("api").build().unwrap().issuer();
        assert!(issuer.readiness().await.is_ready());
        tokio::time::sleep(Duration::from_secs(61)).await; // one good refresh
        failing.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(180)).await; // three failed ones
        let readiness = issuer.readiness().await;
        assert!(!readiness.is_ready(), "past the maximum staleness");
        assert!(readiness.to_string().contains(idp), "{readiness}");
    });
    let label = "issuer=https://idp.example";
    assert_eq!(value(&series, &format!("{JWKS_DOWNLOADS}{{{label},result=ok}}")), 2.0);
    assert_eq!(value(&series, &format!("{JWKS_DOWNLOADS}{{{label},result=error}}")), 3.0);
    assert_eq!(value(&series, &format!("{JWKS_KEYS}{{{label}}}")), 1.0);
    let age = value(&series, &format!("{JWKS_AGE_SECONDS}{{{label}}}"));
    assert!((179.0..=181.0).contains(&age), "{age}");
}
