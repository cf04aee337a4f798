//! JWKS: publishing the public keys, and a verify-only service that fetches them from a JWKS server
//! on 127.0.0.1, through rotation, rate-limited refetches and the JWKS server going down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::common::{Example, pem, serve, unix_now};
use axum::Router;
use axum::routing::get;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tower_sliding_jwt::error::JwksError;
use tower_sliding_jwt::jwks::RemoteJwks;
use tower_sliding_jwt::{Algorithm, Claims, Issuer, JwtAuthLayer, Key, RenewalMode, RenewalPolicy};

/// The identity provider's issuer name.
const IDP: &str = "https://idp.example";

/// An identity provider signing with one key.
fn idp(alg: Algorithm, file: &str, kid: &str) -> Issuer {
    idp_named(IDP, alg, file, kid)
}

/// An identity provider of this issuer name, signing with one key.
fn idp_named(issuer: &str, alg: Algorithm, file: &str, kid: &str) -> Issuer {
    JwtAuthLayer::builder()
        .signing_key(Key::from_private_pem(alg, pem(file)).unwrap().with_kid(kid))
        .issuer(issuer)
        .audience("api")
        .build()
        .unwrap()
        .issuer()
}

/// A JWKS server whose document can change (or fail with 500 while it is `None`), counting its
/// fetches.
struct JwksServer {
    url: String,
    document: Arc<RwLock<Option<String>>>,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

async fn jwks_server(keys: &[&Issuer]) -> JwksServer {
    let document = Arc::new(RwLock::new(Some(serde_json::to_string(&set(keys)).unwrap())));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (doc, count) = (document.clone(), fetches.clone());
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            count.fetch_add(1, Ordering::SeqCst);
            let body = doc.read().unwrap().clone();
            async move { body.ok_or(StatusCode::INTERNAL_SERVER_ERROR) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    JwksServer { url, document, fetches, task }
}

/// The JWK Set document publishing these issuers' keys.
fn set(keys: &[&Issuer]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .flat_map(|issuer| issuer.jwks().keys().to_vec())
        .map(|jwk| serde_json::to_value(jwk).unwrap())
        .collect();
    json!({ "keys": keys })
}

impl JwksServer {
    fn publish(&self, keys: &[&Issuer]) {
        self.publish_raw(Some(serde_json::to_string(&set(keys)).unwrap()));
    }

    /// Serve this document text, or fail with 500 for `None`.
    fn publish_raw(&self, document: Option<String>) {
        *self.document.write().unwrap() = document;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A layer that only verifies, with the remote keys, for audience `api`: without a signing key
/// it is a verifier, renewal off without being asked.
fn verifying_layer(jwks: RemoteJwks) -> JwtAuthLayer {
    JwtAuthLayer::builder().remote_jwks(jwks).audience("api").build().unwrap()
}

/// A service that only verifies, with the remote keys.
async fn verifier(jwks: RemoteJwks) -> (String, Client) {
    let app = Router::new()
        .route("/", get(|claims: Claims| async move { claims.subject().unwrap_or("").to_owned() }))
        .layer(verifying_layer(jwks));
    (serve(app).await, Client::new())
}

async fn status(http: &Client, base: &str, token: &str) -> StatusCode {
    http.get(base).bearer_auth(token).send().await.unwrap().status()
}

/// Wait, on Tokio's paused clock, until `check` holds (at most a virtual minute).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..1_200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting: {what}");
}

#[tokio::test(start_paused = true)]
async fn remote_keys_verify_and_rotation_is_followed() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let b = idp(Algorithm::EdDSA, "ed25519_private.pem", "key-b");
    let server = jwks_server(&[&a]).await;
    let jwks = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .refresh_every(Duration::from_millis(300))
        .min_refetch_interval(Duration::from_millis(100))
        .fetch()
        .await
        .unwrap();
    assert_eq!(jwks.key_count(), 1);
    let (base, http) = verifier(jwks.clone()).await;
    let token_a = a.issue("alice", &json!({})).unwrap().token;
    let token_b = b.issue("bob", &json!({})).unwrap().token;
    assert_eq!(status(&http, &base, &token_a).await, StatusCode::OK);
    assert_eq!(status(&http, &base, &token_a).await, StatusCode::OK, "and from the cache");

    // A new key appears: the first token with its kid waits for a refetch and is accepted.
    server.publish(&[&a, &b]);
    assert_eq!(status(&http, &base, &token_b).await, StatusCode::OK);
    assert_eq!(server.fetches(), 2, "one refetch");
    // A kid the provider does not publish is refused, after that refetch or at once.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stranger = idp(Algorithm::ES256, "ec256_private.pem", "made-up").issue("eve", &json!({}));
    let response = http.get(&base).bearer_auth(stranger.unwrap().token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("key id is unknown"));

    // The old key disappears: its tokens (cached ones included) stop verifying.
    server.publish(&[&b]);
    eventually("the old key is dropped", async || {
        status(&http, &base, &token_a).await == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(status(&http, &base, &token_b).await, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn unknown_kids_trigger_at_most_one_refetch_per_interval() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let server = jwks_server(&[&a]).await;
    let jwks = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .min_refetch_interval(Duration::from_secs(60))
        .fetch()
        .await
        .unwrap();
    let (base, http) = verifier(jwks).await;
    assert_eq!(server.fetches(), 1);
    let strangers = |round: u32| {
        (0..50).map(move |i| {
            let stranger =
                idp(Algorithm::ES256, "ec256_private.pem", &format!("made-up-{round}-{i}"));
            stranger.issue("eve", &json!({})).unwrap().token
        })
    };
    // 50 unknown kids make exactly one fetch, even right after start-up.
    for token in strangers(0) {
        assert_eq!(status(&http, &base, &token).await, StatusCode::UNAUTHORIZED);
    }
    eventually("the refetch", async || server.fetches() == 2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.fetches(), 2, "one refetch for 50 unknown kids");
    // Within a minute of that refetch, unknown kids fetch nothing.
    for token in strangers(1) {
        assert_eq!(status(&http, &base, &token).await, StatusCode::UNAUTHORIZED);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.fetches(), 2);
    // A minute later, one more.
    tokio::time::sleep(Duration::from_secs(60)).await;
    for token in strangers(2) {
        assert_eq!(status(&http, &base, &token).await, StatusCode::UNAUTHORIZED);
    }
    eventually("the second refetch", async || server.fetches() == 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.fetches(), 3);
}

/// A provider that rotates its key right after the layer fetched the set, at start-up or at a
/// periodic refresh: the first token of the new key waits for a refetch and is accepted (the
/// refetch limit counts only refetches for unknown `kid`s), not refused for the default 30 s.
#[tokio::test(start_paused = true)]
async fn a_rotation_right_after_a_download_is_picked_up_at_once() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let b = idp(Algorithm::EdDSA, "ed25519_private.pem", "key-b");
    let c = idp(Algorithm::ES384, "ec384_private.pem", "key-c");
    let server = jwks_server(&[&a]).await;
    let jwks = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .refresh_every(Duration::from_secs(300))
        .fetch()
        .await
        .unwrap();
    let (base, http) = verifier(jwks).await;
    let accepted_soon = async |issuer: &Issuer, when: &str| {
        let token = issuer.issue("alice", &json!({})).unwrap().token;
        let fetches = server.fetches();
        assert_eq!(status(&http, &base, &token).await, StatusCode::OK, "{when}");
        assert_eq!(server.fetches(), fetches + 1, "{when}: one refetch");
    };
    server.publish(&[&b]);
    accepted_soon(&b, "rotated right after start-up").await;
    // Just after the periodic refresh at 300 s, another rotation.
    let before = server.fetches();
    tokio::time::sleep(Duration::from_secs(300)).await;
    eventually("the periodic refresh", async || server.fetches() > before).await;
    server.publish(&[&c]);
    accepted_soon(&c, "rotated right after a periodic refresh").await;
}

#[tokio::test(start_paused = true)]
async fn the_last_good_set_survives_the_jwks_server_going_down() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let server = jwks_server(&[&a]).await;
    let jwks = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .refresh_every(Duration::from_millis(100))
        .timeout(Duration::from_millis(500))
        .fetch()
        .await
        .unwrap();
    let (base, http) = verifier(jwks.clone()).await;
    let token = a.issue("alice", &json!({})).unwrap().token;
    server.task.abort();
    // Several refreshes fail meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(jwks.key_count(), 1);
    assert_eq!(status(&http, &base, &token).await, StatusCode::OK);

    // A set that cannot be fetched at start-up is an error, not an empty key set.
    let down = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .timeout(Duration::from_millis(500))
        .fetch()
        .await;
    assert!(matches!(down, Err(JwksError::Transport(_))), "{down:?}");
}

#[tokio::test]
async fn plain_http_and_bad_documents_are_refused() {
    assert!(matches!(
        RemoteJwks::builder(IDP, "http://127.0.0.1:1/jwks").fetch().await,
        Err(JwksError::Insecure)
    ));
    assert!(matches!(
        RemoteJwks::builder(IDP, "not a url").fetch().await,
        Err(JwksError::InvalidUrl)
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/", get(|| async { r#"{"keys":[]}"# }))
        .route("/big", get(|| async { "x".repeat(2 << 20) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    assert!(matches!(
        RemoteJwks::builder(IDP, &url).allow_http(true).fetch().await,
        Err(JwksError::Keys(_))
    ));
    let big = RemoteJwks::builder(IDP, format!("{url}big")).allow_http(true).fetch().await;
    assert!(matches!(big, Err(JwksError::TooLarge)), "{big:?}");
    let missing = RemoteJwks::builder(IDP, format!("{url}missing")).allow_http(true).fetch().await;
    assert!(matches!(missing, Err(JwksError::Status(404))), "{missing:?}");
}

#[tokio::test]
async fn the_demo_publishes_its_keys_for_verify_only_services() {
    let key_file = format!("{}/tests/keys/ec256_private.pem", env!("CARGO_MANIFEST_DIR"));
    let demo =
        Example::start("server", &[("JWT_ALG", "ES256"), ("JWT_PRIVATE_KEY_FILE", &key_file)]);
    let http = Client::new();
    let published: Value = http
        .get(format!("{}/.well-known/jwks.json", demo.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(published["keys"][0]["alg"], "ES256");
    assert_eq!(published["keys"][0]["use"], "sig");
    assert!(published["keys"][0].get("d").is_none(), "never the private part");

    let jwks = RemoteJwks::builder("demo", format!("{}/.well-known/jwks.json", demo.base))
        .allow_http(true)
        .fetch()
        .await
        .unwrap();
    let layer = JwtAuthLayer::builder()
        .remote_jwks(jwks)
        // The demo's tokens name no audience: it issues tokens for itself alone.
        .dangerously_accept_any_audience_from_trusted_keys()
        .renewal(RenewalPolicy::new().mode(RenewalMode::Disabled))
        .build()
        .unwrap();
    let other = serve(Router::new().route("/", get(|| async { "ok" })).layer(layer)).await;
    let login: Value = http
        .post(format!("{}/auth", demo.base))
        .json(&json!({ "user": "admin", "password": "admin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    assert_eq!(status(&http, &other, token).await, StatusCode::OK);
}

#[tokio::test]
async fn zero_intervals_are_refused() {
    let builder = || RemoteJwks::builder(IDP, "https://idp.example/jwks.json");
    let cases = [
        ("refresh_every", builder().refresh_every(Duration::ZERO)),
        ("min_refetch_interval", builder().min_refetch_interval(Duration::ZERO)),
        ("max_staleness", builder().max_staleness(Duration::ZERO)),
        ("timeout", builder().timeout(Duration::ZERO)),
        ("max_staleness", builder().max_staleness(Duration::from_secs(60))),
    ];
    for (name, builder) in cases {
        let result = builder.fetch().await;
        assert!(matches!(result, Err(JwksError::InvalidInterval(n)) if n == name), "{name}");
    }
}

/// A fetched document never yields an HMAC secret, and one key the crate cannot use does not
/// make the whole set unusable.
#[tokio::test]
async fn symmetric_and_unusable_keys_are_skipped() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let server = jwks_server(&[&a]).await;
    let secret = b"a-secret-anyone-reading-the-document-has";
    let mut document: Value = serde_json::to_value(set(&[&a])).unwrap();
    let keys = document["keys"].as_array_mut().unwrap();
    keys.push(
        json!({ "kty": "oct", "alg": "HS256", "kid": "oct", "k": crate::common::b64(secret) }),
    );
    keys.push(json!({ "kty": "RSA", "kid": "tiny", "n": "AQAB", "e": "AQAB" }));
    keys.push(json!({ "kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA" }));
    keys.push(json!({ "kty": "future-kind", "kid": "new" }));
    server.publish_raw(Some(document.to_string()));
    let jwks = RemoteJwks::builder(IDP, &server.url).allow_http(true).fetch().await.unwrap();
    assert_eq!(jwks.key_count(), 1, "only the EC key is usable");
    let (base, http) = verifier(jwks).await;
    assert_eq!(status(&http, &base, &a.issue("alice", &json!({})).unwrap().token).await, 200);
    let now = unix_now();
    let claims = json!({ "sub": "eve", "iss": IDP, "aud": "api", "iat": now, "exp": now + 60 });
    let forged =
        crate::common::hs256(secret, r#"{"alg":"HS256","kid":"oct"}"#, &claims.to_string());
    assert_eq!(status(&http, &base, &forged).await, StatusCode::UNAUTHORIZED);
}

/// The last good set is used while downloads fail, but not forever: past the maximum staleness
/// tokens that need it get 503, until a download succeeds again. Tokio's clock is paused, so
/// minutes pass in no time.
#[tokio::test(start_paused = true)]
async fn past_the_maximum_staleness_verification_fails_closed() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let server = jwks_server(&[&a]).await;
    let jwks = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .refresh_every(Duration::from_secs(60))
        .max_staleness(Duration::from_secs(150))
        .fetch()
        .await
        .unwrap();
    let (base, http) = verifier(jwks).await;
    let token = a.issue("alice", &json!({})).unwrap().token;
    server.publish_raw(None);
    // Two refreshes fail (at 60 s and 120 s): the set is stale but within its limit.
    advance_until(&server, 2, Duration::from_secs(60)).await;
    advance_until(&server, 3, Duration::from_secs(60)).await;
    assert_eq!(status(&http, &base, &token).await, StatusCode::OK);
    // 180 s after the last good download: closed, once the one refetch it waited for failed.
    advance_until(&server, 4, Duration::from_secs(60)).await;
    let response = http.get(&base).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(server.fetches(), 5, "the refused request asked the provider once more");
    // The provider is back. Within the refetch interval nothing more is asked: still closed.
    server.publish(&[&a]);
    assert_eq!(status(&http, &base, &token).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.fetches(), 5);
    // 30 s on, long before the next periodic refresh (at 240 s), a request refetches and is
    // served: service comes back with the provider.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(status(&http, &base, &token).await, StatusCode::OK);
    assert_eq!(server.fetches(), 6);
}

/// Let `elapsed` pass on the paused clock (the runtime jumps to each timer), then wait (in paused time) for the JWKS server to
/// have answered `fetches` requests in all.
async fn advance_until(server: &JwksServer, fetches: usize, elapsed: Duration) {
    tokio::time::sleep(elapsed).await;
    for _ in 0..1_000 {
        if server.fetches() >= fetches {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(server.fetches(), fetches);
    // Let the refresh task store what it downloaded.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The periodic refresh and the refetch for an unknown `kid` share one download: while one is in
/// flight, the other does not start a second (which could finish first and be overwritten by the
/// older answer).
#[tokio::test(start_paused = true)]
async fn refreshes_are_single_flight() {
    use std::sync::atomic::AtomicBool;

    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let document = serde_json::to_string(&set(&[&a])).unwrap();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let hold = Arc::new(AtomicBool::new(false));
    let release = Arc::new(tokio::sync::Notify::new());
    let (flight, peak, count, held, gate) =
        (in_flight.clone(), most.clone(), requests.clone(), hold.clone(), release.clone());
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let (flight, peak, count, held, gate, document) = (
                flight.clone(),
                peak.clone(),
                count.clone(),
                held.clone(),
                gate.clone(),
                document.clone(),
            );
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                if held.load(Ordering::SeqCst) {
                    gate.notified().await;
                }
                flight.fetch_sub(1, Ordering::SeqCst);
                document
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let jwks = RemoteJwks::builder(IDP, &url)
        .allow_http(true)
        .refresh_every(Duration::from_secs(60))
        .min_refetch_interval(Duration::from_secs(1))
        .timeout(Duration::from_secs(600))
        .fetch()
        .await
        .unwrap();
    let (base, http) = verifier(jwks).await;
    hold.store(true, Ordering::SeqCst);
    // The periodic refresh starts and hangs in the server.
    tokio::time::sleep(Duration::from_secs(60)).await;
    while in_flight.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Past the refetch interval, an unknown kid asks for a refetch meanwhile: it joins the
    // running download and is decided when that ends.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stranger = idp(Algorithm::ES256, "ec256_private.pem", "rotated");
    let token = stranger.issue("eve", &json!({})).unwrap().token;
    let waiting = tokio::spawn(async move { status(&http, &base, &token).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "the request waits for the download");
    assert_eq!(most.load(Ordering::SeqCst), 1, "two downloads at once");
    assert_eq!(requests.load(Ordering::SeqCst), 2, "the refetch joined the running download");
    release.notify_waiters();
    assert_eq!(waiting.await.unwrap(), StatusCode::UNAUTHORIZED, "still unknown after it");
}

/// A request that waits for new keys waits no longer than the fetch timeout, however long the
/// provider takes to answer.
#[tokio::test(start_paused = true)]
async fn a_hanging_provider_delays_an_unknown_kid_by_the_fetch_timeout_at_most() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let document = serde_json::to_string(&set(&[&a])).unwrap();
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hanging = hang.clone();
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let (hanging, document) = (hanging.clone(), document.clone());
            async move {
                if hanging.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await;
                }
                document
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let jwks = RemoteJwks::builder(IDP, &url)
        .allow_http(true)
        .timeout(Duration::from_secs(3))
        .fetch()
        .await
        .unwrap();
    let (base, http) = verifier(jwks).await;
    hang.store(true, Ordering::SeqCst);
    let token = idp(Algorithm::ES256, "ec256_private.pem", "rotated").issue("eve", &json!({}));
    let started = tokio::time::Instant::now();
    assert_eq!(status(&http, &base, &token.unwrap().token).await, StatusCode::UNAUTHORIZED);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(3), "waited for the download: {waited:?}");
    assert!(waited < Duration::from_secs(4), "no longer than its timeout: {waited:?}");
    // The token of the known key is not held up meanwhile.
    assert_eq!(
        status(&http, &base, &a.issue("alice", &json!({})).unwrap().token).await,
        StatusCode::OK
    );
}

/// Two identity providers, each with its own key set, each speaking for its own issuer only.
#[tokio::test]
async fn several_identity_providers_each_for_its_own_issuer() {
    use tower_sliding_jwt::VouchedBy;

    let first = idp_named("https://first.example", Algorithm::ES256, "ec256_private.pem", "f-1");
    let second =
        idp_named("https://second.example", Algorithm::EdDSA, "ed25519_private.pem", "s-1");
    let (first_keys, second_keys) = (jwks_server(&[&first]).await, jwks_server(&[&second]).await);
    let remote = |issuer: &'static str, url: String| async move {
        RemoteJwks::builder(issuer, url).allow_http(true).fetch().await.unwrap()
    };
    let layer = JwtAuthLayer::builder()
        .remote_jwks(remote("https://first.example", first_keys.url.clone()).await)
        .remote_jwks(remote("https://second.example", second_keys.url.clone()).await)
        .audience("api")
        .renewal(RenewalPolicy::new().mode(RenewalMode::Disabled))
        .build()
        .unwrap();
    let verifier = layer.issuer();
    for (provider, issuer) in
        [(&first, "https://first.example"), (&second, "https://second.example")]
    {
        let claims =
            verifier.verify::<Value>(&provider.issue("u", &json!({})).unwrap().token).unwrap();
        assert_eq!(claims.vouched_by(), VouchedBy::TrustedIssuer(issuer));
    }
    // The first provider's key cannot speak for the second provider.
    let impostor = JwtAuthLayer::builder()
        .signing_key(
            Key::from_private_pem(Algorithm::ES256, pem("ec256_private.pem"))
                .unwrap()
                .with_kid("f-1"),
        )
        .issuer("https://second.example")
        .audience("api")
        .build()
        .unwrap()
        .issuer();
    let forged = impostor.issue("u", &json!({})).unwrap().token;
    let refused = verifier.verify::<Value>(&forged).unwrap_err();
    assert_eq!(refused.to_string(), "the token issuer is not accepted");
}

/// OpenID Connect discovery: the JWK Set is found from the issuer, whose configuration must
/// name exactly that issuer.
#[tokio::test]
async fn discovery_finds_the_key_set_and_checks_the_issuer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let provider = idp_named(&base, Algorithm::ES256, "ec256_private.pem", "d-1");
    let document = serde_json::to_string(&set(&[&provider])).unwrap();
    let configuration = json!({ "issuer": base, "jwks_uri": format!("{base}/keys") }).to_string();
    let liar =
        json!({ "issuer": "https://someone-else.example", "jwks_uri": format!("{base}/keys") })
            .to_string();
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(move || async move { configuration }))
        .route("/liar/.well-known/openid-configuration", get(move || async move { liar }))
        .route("/keys", get(move || async move { document }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let jwks = RemoteJwks::discover(&base).allow_http(true).fetch().await.unwrap();
    assert_eq!(jwks.issuer(), base);
    assert_eq!(jwks.key_count(), 1);
    let layer = verifying_layer(jwks);
    let token = provider.issue("u", &json!({})).unwrap().token;
    assert!(layer.issuer().verify::<Value>(&token).is_ok());

    let lying = RemoteJwks::discover(format!("{base}/liar")).allow_http(true).fetch().await;
    assert!(matches!(lying, Err(JwksError::Discovery(_))), "{lying:?}");
    let insecure = RemoteJwks::discover(&base).fetch().await;
    assert!(matches!(insecure, Err(JwksError::Insecure)), "{insecure:?}");
}

/// A JWK Set served over real HTTPS, with a certificate the test makes for `localhost`, and the
/// port it listens on.
async fn https_jwks_server(document: String) -> (String, String) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tokio_rustls::rustls;

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let certificate_pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://localhost:{}/jwks", listener.local_addr().unwrap().port());
    let app = Router::new().route("/jwks", get(move || async move { document }));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A handshake the client refuses (an unknown authority) just ends here.
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (url, certificate_pem)
}

/// The built-in client over real HTTPS: it trusts an authority the application adds, and only
/// then.
#[tokio::test]
async fn the_built_in_client_trusts_the_roots_it_is_given() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let (url, authority) = https_jwks_server(serde_json::to_string(&set(&[&a])).unwrap()).await;
    let unknown = RemoteJwks::builder(IDP, &url).fetch().await;
    assert!(matches!(unknown, Err(JwksError::Transport(_))), "{unknown:?}");
    let jwks =
        RemoteJwks::builder(IDP, &url).root_certificates_pem(authority).fetch().await.unwrap();
    assert_eq!(jwks.key_count(), 1);
    let garbage = RemoteJwks::builder(IDP, &url).root_certificates_pem("not a certificate").fetch();
    assert!(matches!(garbage.await, Err(JwksError::Certificates)));
}

/// The application's own HTTP client (one that goes through a proxy, or trusts other roots).
#[tokio::test]
async fn an_application_can_bring_its_own_http_client() {
    let a = idp(Algorithm::ES256, "ec256_private.pem", "key-a");
    let server = jwks_server(&[&a]).await;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let http = Client::new();
    let jwks = RemoteJwks::builder(IDP, &server.url)
        .allow_http(true)
        .http_client(move |request: http::Request<()>| {
            counter.fetch_add(1, Ordering::SeqCst);
            let http = http.clone();
            async move {
                let response = http.get(request.uri().to_string()).send().await?;
                let mut answer = http::Response::new(Vec::new());
                *answer.status_mut() = response.status();
                *answer.body_mut() = response.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>(answer)
            }
        })
        .fetch()
        .await
        .unwrap();
    assert_eq!(jwks.key_count(), 1);
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

/// Each remote set's freshness and rotation count for the tokens it verified, and for no other:
/// one provider going stale must not freeze what the layer remembers of the others. Provider A
/// goes stale; then B removes one of its two keys (the answer to a leaked key), then goes stale
/// too; with three providers, C stays good throughout.
async fn providers_age_and_rotate_independently(providers: usize) {
    let a = idp_named("https://a.example", Algorithm::ES256, "ec256_private.pem", "a1");
    let b1 = idp_named("https://b.example", Algorithm::EdDSA, "ed25519_private.pem", "b1");
    let b2 = idp_named("https://b.example", Algorithm::ES384, "ec384_private.pem", "b2");
    let c = idp_named("https://c.example", Algorithm::ES256, "ec256_private.pem", "c1");
    let servers =
        [jwks_server(&[&a]).await, jwks_server(&[&b1, &b2]).await, jwks_server(&[&c]).await];
    let issuers = ["https://a.example", "https://b.example", "https://c.example"];
    let mut builder = JwtAuthLayer::builder()
        .audience("api")
        .renewal(RenewalPolicy::new().mode(RenewalMode::Disabled));
    for (issuer, server) in issuers.iter().zip(&servers).take(providers) {
        let jwks = RemoteJwks::builder(*issuer, &server.url)
            .allow_http(true)
            .refresh_every(Duration::from_secs(60))
            .min_refetch_interval(Duration::from_secs(1))
            .max_staleness(Duration::from_secs(150))
            .fetch()
            .await
            .unwrap();
        builder = builder.remote_jwks(jwks);
    }
    let app = Router::new()
        .route("/", get(|claims: Claims| async move { claims.subject().unwrap_or("").to_owned() }))
        .layer(builder.build().unwrap());
    let (base, http) = (serve(app).await, Client::new());
    let token = |issuer: &Issuer| issuer.issue("user", &json!({})).unwrap().token;
    let (ta, tb1, tb2, tc) = (token(&a), token(&b1), token(&b2), token(&c));
    // Each asked twice: the second answer comes from the cache.
    let expect = async |token: &str, status: StatusCode, when: &str| {
        for _ in 0..2 {
            assert_eq!(self::status(&http, &base, token).await, status, "{when}");
        }
    };
    let live = &servers[..providers];
    // A periodic refresh of every set (tokens of unknown kids may add refetches of their own).
    let every_refresh = async |fetches: usize| {
        tokio::time::sleep(Duration::from_secs(60)).await;
        for server in live {
            eventually("a periodic refresh", async || server.fetches() >= fetches).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    for t in [&ta, &tb1, &tb2] {
        expect(t, StatusCode::OK, "all fresh").await;
    }

    servers[0].publish_raw(None);
    for fetches in 2..=4 {
        every_refresh(fetches).await;
    }
    expect(&ta, StatusCode::SERVICE_UNAVAILABLE, "A past its maximum staleness").await;
    expect(&tb1, StatusCode::OK, "B is fresh").await;
    expect(&tb2, StatusCode::OK, "B is fresh").await;

    servers[1].publish(&[&b2]);
    every_refresh(5).await;
    // No longer 200 from the cache; and not 401 either: A, stale, might hold that `kid`.
    expect(&tb1, StatusCode::SERVICE_UNAVAILABLE, "B removed the key").await;
    expect(&tb2, StatusCode::OK, "B's other key stays").await;
    expect(&ta, StatusCode::SERVICE_UNAVAILABLE, "A still stale").await;

    servers[1].publish_raw(None);
    for fetches in 6..=8 {
        every_refresh(fetches).await;
    }
    expect(&tb2, StatusCode::SERVICE_UNAVAILABLE, "B past its maximum staleness").await;
    expect(&tb1, StatusCode::SERVICE_UNAVAILABLE, "B's keys cannot be checked").await;
    if providers == 3 {
        expect(&tc, StatusCode::OK, "C was never at fault").await;
    }
}

#[tokio::test(start_paused = true)]
async fn two_providers_age_and_rotate_independently() {
    providers_age_and_rotate_independently(2).await;
}

#[tokio::test(start_paused = true)]
async fn three_providers_age_and_rotate_independently() {
    providers_age_and_rotate_independently(3).await;
}
