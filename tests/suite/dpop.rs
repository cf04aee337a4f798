//! DPoP (RFC 9449) on the layer: a token bound to a key (`cnf.jkt`) is accepted only as
//! `Authorization: DPoP` with a fresh proof of that key for this very request (section 4.3);
//! anything short of that is refused with a `DPoP` challenge (section 7.1), and a copied token
//! is worthless. Proofs are made by jsonwebtoken here, not by the crate.

use crate::common::app::App;
use crate::common::dpop::{Proof, ProofKey, ath};
use crate::common::{challenge, hs256, renewed};
use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::json;
use std::time::Duration;
use tower_sliding_jwt::{DpopPolicy, Key};

const IDP: &[u8] = b"an-identity-provider-secret-32-bytes";
const ORIGIN: &str = "https://api.example";

/// A layer trusting the identity provider `idp` (HS256, audience `api`) with this DPoP policy.
async fn app(policy: DpopPolicy) -> App {
    App::start(|b| {
        b.trusted_key("idp", Key::hs256(IDP).unwrap().with_kid("idp"))
            .audience("api")
            .dpop(policy.public_origin(ORIGIN))
    })
    .await
}

/// The app with the default policy, a client's proof key, and a token bound to that key.
async fn bound() -> (App, ProofKey, String) {
    let app = app(DpopPolicy::new()).await;
    let key = ProofKey::p256();
    let token = token(&app, Some(&key.jkt));
    (app, key, token)
}

/// A good proof of `key` for `GET /whoami` with `token`, now.
fn good_proof(app: &App, key: &ProofKey, jti: &str, token: &str) -> String {
    let htu = format!("{ORIGIN}/whoami");
    key.sign(&Proof {
        method: "GET",
        htu: &htu,
        iat: app.issuer.now(),
        jti,
        token: Some(token),
        nonce: None,
    })
}

/// An access token of the provider, bound to `jkt` when given.
fn token(app: &App, jkt: Option<&str>) -> String {
    let now = app.issuer.now();
    let mut claims =
        json!({ "sub": "svc", "iss": "idp", "aud": "api", "iat": now, "exp": now + 300 });
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    hs256(IDP, r#"{"alg":"HS256","kid":"idp"}"#, &claims.to_string())
}

/// `GET /whoami` with `Authorization: <scheme> <token>` and these `DPoP` headers.
fn request(scheme: &str, token: &str, proofs: &[&str]) -> http::request::Builder {
    let mut request =
        http::Request::get("/whoami").header(AUTHORIZATION, format!("{scheme} {token}"));
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    request
}

/// Our own issuer's layer for a server at `origin`: bound tokens only, with server nonces.
fn bound_only_with_nonces(origin: &str) -> tower_sliding_jwt::JwtAuthLayer {
    let policy = DpopPolicy::new()
        .public_origin(origin)
        .bound_only()
        .nonces(b"the nonce secret of this one service", Duration::from_secs(300));
    tower_sliding_jwt::JwtAuthLayer::builder().hs256(IDP).issuer("us").dpop(policy).build().unwrap()
}

/// Every `WWW-Authenticate` challenge of a response, in order.
fn challenges(response: &crate::common::Reply) -> Vec<String> {
    let values = response.headers().get_all(WWW_AUTHENTICATE);
    values.iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

fn description(response: &crate::common::Reply) -> String {
    challenges(response).join(" | ")
}

#[tokio::test]
async fn a_bound_token_is_accepted_with_a_fresh_proof_of_its_key() {
    let (app, key, token) = bound().await;
    let now = app.issuer.now();
    let htu = format!("{ORIGIN}/whoami");
    let proof = Proof {
        method: "GET",
        htu: &htu,
        iat: now,
        jti: "first",
        token: Some(&token),
        nonce: None,
    };
    let response = app.send(request("DPoP", &token, &[&key.sign(&proof)])).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", description(&response));
    assert_eq!(response.json(), json!({ "sub": "svc" }));
    assert!(renewed(&response).is_none(), "a provider's token is never re-signed here");
    // The URI is compared after normalization (RFC 9449 section 4.3, point 9).
    let loud = "HTTPS://API.EXAMPLE:443/whoami";
    let again = Proof { htu: loud, jti: "second", ..proof };
    assert_eq!(app.send(request("DPoP", &token, &[&key.sign(&again)])).await.status(), 200);
    assert_eq!(app.calls.get(), 2);
}

/// Section 4.3's checks, each one failing alone: the token is refused, with the reason, and the
/// handler never runs.
#[tokio::test]
async fn every_broken_proof_is_refused_as_invalid_dpop_proof() {
    let (app, key, token) = bound().await;
    let other_token = self::token(&app, Some("the-jkt-of-another-key"));
    let now = app.issuer.now();
    let htu = format!("{ORIGIN}/whoami");
    let good =
        Proof { method: "GET", htu: &htu, iat: now, jti: "j", token: Some(&token), nonce: None };
    let sign = |proof: Proof<'_>| key.sign(&proof);
    let other_path = format!("{ORIGIN}/admin");
    let with_private_key = {
        let mut jwk = key.jwk.clone();
        jwk["d"] = "private".into();
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        let claims =
            json!({ "jti": "p", "htm": "GET", "htu": htu, "iat": now, "ath": ath(&token) });
        key.sign_raw(&header, &claims)
    };
    let wrong_type = key.sign_raw(
        &json!({ "typ": "JWT", "alg": "ES256", "jwk": key.jwk }),
        &json!({ "jti": "t", "htm": "GET", "htu": htu, "iat": now, "ath": ath(&token) }),
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("another key", ProofKey::another().sign(&good), "not the token's"),
        ("another method", sign(Proof { method: "POST", jti: "m", ..good }), "another method"),
        ("another path", sign(Proof { htu: &other_path, jti: "u", ..good }), "another URI"),
        (
            "another origin",
            sign(Proof { htu: "https://evil.example/whoami", jti: "o", ..good }),
            "another URI",
        ),
        ("too old", sign(Proof { iat: now - 66, jti: "s", ..good }), "too old"),
        ("from the future", sign(Proof { iat: now + 6, jti: "f", ..good }), "too old"),
        ("without ath", sign(Proof { token: None, jti: "a", ..good }), "lacks the ath claim"),
        (
            "for another token",
            sign(Proof { token: Some(&other_token), jti: "b", ..good }),
            "for another token",
        ),
        ("a private key in the header", with_private_key, "a private key"),
        ("not dpop+jwt", wrong_type, "dpop+jwt"),
        ("not a JWT", "garbage".to_owned(), "well-formed"),
    ];
    for (name, proof, reason) in cases {
        let response = app.send(request("DPoP", &token, &[&proof])).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        let challenges = description(&response);
        assert!(challenges.contains(r#"DPoP algs=""#), "{name}: {challenges}");
        assert!(challenges.contains(r#"error="invalid_dpop_proof""#), "{name}: {challenges}");
        assert!(challenges.contains(reason), "{name}: {challenges}");
        assert!(!challenges.contains(&token[..20]), "{name}: the token is quoted");
    }
    let missing = app.send(request("DPoP", &token, &[])).await;
    assert!(description(&missing).contains("the DPoP proof is missing"));
    let twice = sign(Proof { jti: "twice", ..good });
    let two = app.send(request("DPoP", &token, &[&twice, &twice])).await;
    assert!(description(&two).contains("more than once"), "{}", description(&two));
    assert_eq!(app.calls.get(), 0);
}

/// A proof is good for one request (section 11.1): the same proof again is refused.
#[tokio::test]
async fn a_proof_is_used_once() {
    let (app, key, token) = bound().await;
    let proof = good_proof(&app, &key, "once", &token);
    assert_eq!(app.send(request("DPoP", &token, &[&proof])).await.status(), StatusCode::OK);
    let replayed = app.send(request("DPoP", &token, &[&proof])).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(description(&replayed).contains("used before"), "{}", description(&replayed));
    assert_eq!(app.calls.get(), 1);
}

/// A stolen bound token is worthless: presented as a bearer token (the downgrade), it is
/// refused, and so is a token that is not bound but claims to be DPoP.
#[tokio::test]
async fn no_downgrade_and_no_pretending() {
    let (app, key, stolen) = bound().await;
    let as_bearer = app.send(request("Bearer", &stolen, &[])).await;
    assert_eq!(as_bearer.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&as_bearer).contains("bound to a key"), "{}", description(&as_bearer));
    let unbound = token(&app, None);
    let proof = good_proof(&app, &key, "u", &unbound);
    let pretending = app.send(request("DPoP", &unbound, &[&proof])).await;
    assert_eq!(pretending.status(), StatusCode::UNAUTHORIZED);
    let challenges = description(&pretending);
    assert!(challenges.contains(r#"error="invalid_token""#), "{challenges}");
    assert!(challenges.contains("not bound to a DPoP key"), "{challenges}");
    assert_eq!(app.calls.get(), 0);
    // During a migration an unbound token is still good as a bearer token.
    assert_eq!(app.send(request("Bearer", &unbound, &[])).await.status(), StatusCode::OK);
}

/// Section 7.1's challenges: with bearer tokens still accepted, a `Bearer` challenge and a
/// `DPoP` one naming the algorithms; with `bound_only`, the `DPoP` one alone, carrying the error.
#[tokio::test]
async fn challenges_name_dpop_and_its_algorithms_and_bound_only_refuses_bearer_tokens() {
    let both = app(DpopPolicy::new()).await;
    let missing = both.send(http::Request::get("/whoami")).await;
    assert_eq!(
        challenges(&missing),
        [r#"Bearer realm="api""#, r#"DPoP algs="ES256 ES384 EdDSA PS256 RS256""#]
    );

    let strict = app(DpopPolicy::new().bound_only()).await;
    let unbound = token(&strict, None);
    let refused = strict.send(request("Bearer", &unbound, &[])).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let only = challenges(&refused);
    assert_eq!(only.len(), 1, "{only:?}");
    assert!(only[0].starts_with(r#"DPoP algs="#), "{only:?}");
    assert!(only[0].contains(r#"error="invalid_token""#), "{only:?}");
    assert!(only[0].contains("must be bound to a DPoP key"), "{only:?}");
    assert_eq!(strict.calls.get(), 0);
}

/// A gRPC call gets the same refusal in its own shape: status 16 and the reason.
#[tokio::test]
async fn grpc_calls_get_the_reason_in_grpc_status_16() {
    let (app, _, token) = bound().await;
    let call = http::Request::post("/whoami")
        .header("content-type", "application/grpc")
        .header(AUTHORIZATION, format!("DPoP {token}"));
    let response = app.send(call).await;
    assert_eq!(response.headers()["grpc-status"], "16");
    let message = response.headers()["grpc-message"].to_str().unwrap().to_owned();
    assert!(message.contains("DPoP"), "{message}");
}

/// The login side (RFC 9449 section 5): the login request carries a proof, the handler binds
/// the token to its key, and every renewal stays bound (a renewal happens only on a request
/// whose proof was checked). Explicit renewal, which has no proof to check, refuses it.
#[tokio::test]
async fn a_login_with_a_proof_gets_a_bound_token_and_its_renewals_stay_bound() {
    use axum::extract::State;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use tower_sliding_jwt::{Clock as _, Issuer, JwtAuthLayer, ManualClock};

    let clock = ManualClock::new(crate::common::unix_now());
    let auth = JwtAuthLayer::builder()
        .hs256(IDP)
        .issuer("us")
        .clock(clock.clone())
        .dpop(DpopPolicy::new().public_origin(ORIGIN).bound_only())
        .build()
        .unwrap();
    let issuer = auth.issuer();
    let login = |State(issuer): State<Issuer>, request: axum::extract::Request| async move {
        let (parts, _) = request.into_parts();
        match issuer.dpop_key(&parts) {
            Ok(key) => axum::Json(issuer.issue_bound("7", &(), &key).unwrap()).into_response(),
            Err(refusal) => (StatusCode::UNAUTHORIZED, refusal.to_string()).into_response(),
        }
    };
    let router = axum::Router::new()
        .route("/login", post(login))
        .merge(axum::Router::new().route("/whoami", get(|| async { "ok" })).route_layer(auth))
        .with_state(issuer.clone());
    let key = ProofKey::p256();
    let now = clock.now();
    let login_htu = format!("{ORIGIN}/login");
    let proof = key.sign(&Proof {
        method: "POST",
        htu: &login_htu,
        iat: now,
        jti: "l",
        token: None,
        nonce: None,
    });
    let without = crate::common::call(&router, http::Request::post("/login")).await;
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED, "a login without a proof");
    let issued =
        crate::common::call(&router, http::Request::post("/login").header("dpop", &proof)).await;
    assert_eq!(issued.json()["token_type"], "DPoP");
    let token = issued.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(crate::common::claims_of(&token)["cnf"]["jkt"], key.jkt.as_str());

    clock.advance(std::time::Duration::from_secs(200));
    let htu = format!("{ORIGIN}/whoami");
    let call = |token: &str, jti: &str| {
        let proof = key.sign(&Proof {
            method: "GET",
            htu: &htu,
            iat: clock.now(),
            jti,
            token: Some(token),
            nonce: None,
        });
        crate::common::call(&router, request("DPoP", token, &[&proof]))
    };
    let response = call(&token, "a").await;
    assert_eq!(response.status(), StatusCode::OK);
    let successor = renewed(&response).expect("renewed in its second half");
    assert_eq!(crate::common::claims_of(&successor)["cnf"]["jkt"], key.jkt.as_str(), "still bound");
    assert_eq!(call(&successor, "b").await.status(), StatusCode::OK);
    let stolen = crate::common::call(&router, request("Bearer", &successor, &[])).await;
    assert_eq!(stolen.status(), StatusCode::UNAUTHORIZED, "the successor is no bearer token");
    assert!(issuer.renew(&successor).await.is_err(), "no explicit renewal without a proof");
}

/// Explicit renewal of a bound session (the `/update/token` endpoint): behind the layer, which
/// checked the request's proof (section 7.1), the handler finds the proven key in the request's
/// extensions and renews for it, and the successor stays bound. `renew_bound` refuses another
/// key and an unbound token; `renew`, which has no key, refuses a bound token.
#[tokio::test]
async fn explicit_renewal_keeps_the_binding_for_the_proven_key_only() {
    use axum::Extension;
    use axum::extract::State;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tower_sliding_jwt::error::{DpopError, RenewError, TokenError};
    use tower_sliding_jwt::{Claims, Clock as _, DpopKey, Issuer, JwtAuthLayer, ManualClock};

    let clock = ManualClock::new(crate::common::unix_now());
    let auth = JwtAuthLayer::builder()
        .hs256(IDP)
        .issuer("us")
        .clock(clock.clone())
        .dpop(DpopPolicy::new().public_origin(ORIGIN))
        .build()
        .unwrap();
    let issuer = auth.issuer();
    let update = |State(issuer): State<Issuer>, key: Option<Extension<DpopKey>>, claims: Claims| async move {
        let token = claims.token().as_str();
        let renewed = match key {
            Some(Extension(key)) => issuer.renew_bound(token, &key).await,
            None => issuer.renew(token).await,
        };
        match renewed {
            Ok(issued) => axum::Json(issued).into_response(),
            Err(refused) => (StatusCode::UNAUTHORIZED, refused.to_string()).into_response(),
        }
    };
    let router = axum::Router::new()
        .route("/update/token", get(update))
        .route_layer(auth)
        .with_state(issuer.clone());

    // Logins: the key of each login request's proof.
    let login_key = |key: &ProofKey, jti: &str| {
        let htu = format!("{ORIGIN}/login");
        let proof =
            Proof { method: "POST", htu: &htu, iat: clock.now(), jti, token: None, nonce: None };
        let request = http::Request::post("/login").header("dpop", key.sign(&proof));
        issuer.dpop_key(&request.body(()).unwrap().into_parts().0).unwrap()
    };
    let key = ProofKey::p256();
    let bound = issuer.issue_bound("7", &(), &login_key(&key, "login")).unwrap().token;
    let unbound = issuer.issue("8", &()).unwrap().token;
    clock.advance(Duration::from_secs(30));

    let htu = format!("{ORIGIN}/update/token");
    let proof = key.sign(&Proof {
        method: "GET",
        htu: &htu,
        iat: clock.now(),
        jti: "update",
        token: Some(&bound),
        nonce: None,
    });
    let request = http::Request::get("/update/token")
        .header(AUTHORIZATION, format!("DPoP {bound}"))
        .header("dpop", proof);
    let response = crate::common::call(&router, request).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", description(&response));
    assert_eq!(response.json()["token_type"], "DPoP");
    let successor = response.json()["token"].as_str().unwrap().to_owned();
    let (before, after) = (crate::common::claims_of(&bound), crate::common::claims_of(&successor));
    assert_eq!(after["cnf"]["jkt"], key.jkt.as_str(), "still bound");
    assert!(after["exp"].as_i64() > before["exp"].as_i64());

    let request =
        http::Request::get("/update/token").header(AUTHORIZATION, format!("Bearer {unbound}"));
    let response = crate::common::call(&router, request).await;
    assert_eq!(response.json()["token_type"], "Bearer", "a bearer session renews as before");

    let other = login_key(&ProofKey::another(), "thief");
    assert_eq!(
        issuer.renew_bound(&bound, &other).await,
        Err(RenewError::Dpop(DpopError::WrongKey))
    );
    let proven = login_key(&key, "again");
    let as_bound = issuer.renew_bound(&unbound, &proven).await;
    assert_eq!(as_bound, Err(RenewError::Dpop(DpopError::UnboundToken)));
    let keyless = issuer.renew(&bound).await;
    assert_eq!(keyless, Err(RenewError::Invalid(TokenError::SenderConstrained)));
}

/// Server nonces (sections 8 and 9): a proof without the current nonce is refused with
/// `use_dpop_nonce` and a `DPoP-Nonce` to use; signed again with it, accepted. A nonce stays good
/// one period more, then it is refused too, and the refusal hands out the new one.
#[tokio::test]
async fn with_nonces_a_proof_must_carry_the_servers_current_one() {
    let app =
        app(DpopPolicy::new()
            .nonces(b"a nonce secret shared by the fleet", Duration::from_secs(60)))
        .await;
    let key = ProofKey::p256();
    let token = token(&app, Some(&key.jkt));
    let htu = format!("{ORIGIN}/whoami");
    let send = |jti: &'static str, nonce: Option<String>| {
        let proof = Proof {
            method: "GET",
            htu: &htu,
            iat: app.issuer.now(),
            jti,
            token: Some(&token),
            nonce: nonce.as_deref(),
        };
        app.send(request("DPoP", &token, &[&key.sign(&proof)]))
    };
    let asked = send("no nonce", None).await;
    assert_eq!(asked.status(), StatusCode::UNAUTHORIZED);
    assert!(description(&asked).contains(r#"error="use_dpop_nonce""#), "{}", description(&asked));
    let nonce = asked.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(Some(&nonce), app.issuer.dpop_nonce().as_ref(), "the login side gives the same");
    let wrong = send("made up", Some("a-nonce-of-my-own".into())).await;
    assert!(description(&wrong).contains("use_dpop_nonce"));
    assert_eq!(send("with it", Some(nonce.clone())).await.status(), StatusCode::OK);

    // The next period still takes it; the one after does not, and hands out its own.
    app.advance(60);
    assert_eq!(send("a period on", Some(nonce.clone())).await.status(), StatusCode::OK);
    app.advance(60);
    let expired = send("two periods on", Some(nonce.clone())).await;
    assert!(description(&expired).contains("use_dpop_nonce"));
    let fresh = expired.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_ne!(fresh, nonce, "nonces rotate");
    assert_eq!(send("fresh", Some(fresh)).await.status(), StatusCode::OK);
    assert_eq!(app.calls.get(), 3);
}

/// Over the wire with the crate's own client (sections 4, 5, 8 and 9): the client layer signs a
/// proof for its login and gets a bound token, signs every call, and when the server wants a
/// nonce it sends the request once more with it. The token it holds is worthless copied out.
#[tokio::test]
async fn the_client_layer_logs_in_with_a_proof_and_answers_nonce_challenges() {
    use axum::extract::State;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::{Layer as _, ServiceExt as _};
    use tower_sliding_jwt::client::{ClientTokenLayer, DpopKeyPair, TokenStore};
    use tower_sliding_jwt::{Claims, Issuer};

    let (listener, base) = crate::common::listen().await;
    let auth = bound_only_with_nonces(&base);
    let issuer = auth.issuer();
    let login = |State(issuer): State<Issuer>, request: axum::extract::Request| async move {
        let (parts, _) = request.into_parts();
        match issuer.dpop_key(&parts) {
            Ok(key) => axum::Json(issuer.issue_bound("7", &(), &key).unwrap()).into_response(),
            Err(refused) => {
                let nonce = issuer.dpop_nonce().unwrap_or_default();
                let code = refused.error_code().unwrap_or_default();
                (StatusCode::BAD_REQUEST, [("dpop-nonce", nonce)], code.to_owned()).into_response()
            }
        }
    };
    let router = axum::Router::new()
        .route("/whoami", get(|claims: Claims| async move { claims.subject().unwrap().to_owned() }))
        .layer(auth)
        .route("/login", post(login))
        .with_state(issuer);
    crate::common::serve_on(listener, router);

    let key = DpopKeyPair::generate(tower_sliding_jwt::Algorithm::EdDSA).unwrap();
    let store = TokenStore::new(&base).unwrap();
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let client = ClientTokenLayer::new(store.clone()).dpop(key.clone()).layer(http.clone());
    let send = |request: http::request::Builder| {
        client.clone().oneshot(request.body(Full::default()).unwrap())
    };

    // The login: the first proof has no nonce; the refusal hands one out, and the client's
    // next proof carries it (a login with a body would be the application's to resend).
    let refused = send(http::Request::post(format!("{base}/login"))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let logged_in = send(http::Request::post(format!("{base}/login"))).await.unwrap();
    assert_eq!(logged_in.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&logged_in.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(crate::common::claims_of(&token)["cnf"]["jkt"], key.thumbprint());
    store.set(token.clone());

    // Calls: each with its own proof.
    for _ in 0..3 {
        let response = send(http::Request::get(format!("{base}/whoami"))).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    // A client that has no nonce yet (a new process with the same key and token): refused
    // once, and sent again with the nonce the refusal gave.
    let sent = Arc::new(AtomicUsize::new(0));
    let counted = {
        let sent = sent.clone();
        tower::service_fn(move |request: http::Request<Full<bytes::Bytes>>| {
            sent.fetch_add(1, Ordering::SeqCst);
            http.request(request)
        })
    };
    let restarted = TokenStore::new(&base).unwrap().with_token(token.clone());
    let fresh = ClientTokenLayer::new(restarted).dpop(key.clone()).layer(counted);
    let request = http::Request::get(format!("{base}/whoami")).body(Full::default()).unwrap();
    assert_eq!(fresh.clone().oneshot(request).await.unwrap().status(), StatusCode::OK);
    assert_eq!(sent.load(Ordering::SeqCst), 2, "refused once, then answered");
    let request = http::Request::get(format!("{base}/whoami")).body(Full::default()).unwrap();
    assert_eq!(fresh.oneshot(request).await.unwrap().status(), StatusCode::OK);
    assert_eq!(sent.load(Ordering::SeqCst), 3, "the nonce is kept for the next requests");

    // The token copied out of the store, without the key.
    let copied = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    for scheme in ["Bearer", "DPoP"] {
        let request = http::Request::get(format!("{base}/whoami"))
            .header(AUTHORIZATION, format!("{scheme} {token}"))
            .body(Full::default())
            .unwrap();
        assert_eq!(copied.request(request).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
}

/// gRPC over the wire with tonic's own client (sections 4.2, 8 and 9): the interceptor signs a
/// proof of `POST` and the call's path for every call; a nonce refusal's metadata, offered to
/// the store, puts the nonce in the next proofs. The token copied out, sent by an interceptor
/// without the key or with another key, is refused.
#[tokio::test]
async fn the_tonic_interceptor_signs_every_call_and_takes_the_nonce_from_a_refusal() {
    use tonic::Code;
    use tonic::transport::{Channel, Server};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tower_sliding_jwt::client::{DpopKeyPair, TokenStore};
    use tower_sliding_jwt::tonic::TokenInterceptor;

    let (listener, url) = crate::common::listen().await;
    let auth = bound_only_with_nonces(&url);
    let issuer = auth.issuer();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(Server::builder().layer(auth).add_service(health).serve_with_incoming(incoming));

    // The login, as a login handler sees it: a proof of the client's key, with the nonce.
    let key = DpopKeyPair::generate(tower_sliding_jwt::Algorithm::ES256).unwrap();
    let nonce = issuer.dpop_nonce();
    let login = key.proof(&http::Method::POST, &format!("{url}/login"), None, nonce.as_deref());
    let (parts, ()) = http::Request::post(format!("{url}/login"))
        .header("dpop", login)
        .body(())
        .unwrap()
        .into_parts();
    let bound = issuer.dpop_key(&parts).unwrap();
    let token = issuer.issue_bound("svc", &(), &bound).unwrap().token;

    let channel = Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
    let check = || tonic::Request::new(HealthCheckRequest { service: String::new() });
    let store = TokenStore::new(&url).unwrap().with_token(token.clone());
    let interceptor = TokenInterceptor::new(store.clone()).dpop(key.clone());
    let mut client = HealthClient::with_interceptor(channel.clone(), interceptor);

    let refused = client.check(check()).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(refused.message(), "the DPoP proof must carry the server's nonce");
    assert!(!store.offer_from_metadata(refused.metadata()), "a refusal renews nothing");
    for _ in 0..3 {
        let served = client.check(check()).await.unwrap();
        assert!(!store.offer_from_metadata(served.metadata()), "a fresh token: no renewal");
    }

    let copied = |interceptor: TokenInterceptor| {
        let mut client = HealthClient::with_interceptor(channel.clone(), interceptor);
        async move { client.check(check()).await.unwrap_err() }
    };
    let stolen = TokenStore::new(&url).unwrap().with_token(token);
    let as_bearer = copied(TokenInterceptor::new(stolen.clone())).await;
    assert_eq!(as_bearer.code(), Code::Unauthenticated);
    assert_eq!(as_bearer.message(), "the token is bound to a key");
    // With a key of its own and the server's nonce (learnt from a first refusal, if need be).
    let thief = TokenInterceptor::new(stolen.clone())
        .dpop(DpopKeyPair::generate(tower_sliding_jwt::Algorithm::EdDSA).unwrap());
    let first = copied(thief.clone()).await;
    assert_eq!(first.code(), Code::Unauthenticated);
    stolen.offer_from_metadata(first.metadata());
    let with_another_key = copied(thief).await;
    assert_eq!(with_another_key.code(), Code::Unauthenticated);
    assert_eq!(with_another_key.message(), "the DPoP proof's key is not the token's");
}
