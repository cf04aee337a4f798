//! The layer on purpose-built axum apps, called in process: which responses renew, rotation,
//! foreign tokens, optional mode, authorization, revocation (ready and pending), rejection shapes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{Reply, call, claims_of, header_of, hs256, renewed, signed_with, unix_now};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use http::StatusCode;
use http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sliding_jwt::error::RevocationError;
use tower_sliding_jwt::revocation::{
    InMemoryRevocations, RevocationCheck, RevocationFailure, RevocationFuture, RevocationStatus,
};
use tower_sliding_jwt::{
    Claims, Forbidden, Issuer, JwtAuthBuilder, JwtAuthLayer, Key, ManualClock, NoRenewal,
    RegisteredClaims, Rejection, RejectionContext, RenewalPolicy, VouchedBy,
};

const SECRET: &[u8] = b"renewal-tests-secret-of-32-bytes!!";
const OLD_SECRET: &[u8] = b"the-previous-secret-of-32-bytes!!!";

#[derive(Clone, Debug, Deserialize)]
struct Role {
    #[serde(default)]
    role: String,
}

/// Counts calls that reach the handlers.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn routes(calls: Calls) -> Router {
    let counted = move |calls: Calls| calls.0.fetch_add(1, Ordering::SeqCst);
    let c1 = calls.clone();
    let c2 = calls.clone();
    let c3 = calls.clone();
    let c4 = calls;
    Router::new()
        .route(
            "/status/{code}",
            get(move |Path(code): Path<u16>| {
                counted(c1.clone());
                async move { AxumStatus::from_u16(code).unwrap() }
            }),
        )
        .route(
            "/whoami",
            any(move |claims: Option<Claims<Role>>| {
                counted(c2.clone());
                async move { Json(json!({ "sub": claims.as_ref().and_then(|c| c.subject().map(str::to_owned)) })) }
            }),
        )
        .route(
            "/logout",
            get(move || {
                counted(c3.clone());
                async { (Extension(NoRenewal), "bye") }
            }),
        )
        .route(
            "/own-header",
            get(move || {
                counted(c4.clone());
                async {
                    let mut headers = HeaderMap::new();
                    headers.insert("x-refreshed-token", HeaderValue::from_static("set-by-handler"));
                    headers.insert(CACHE_CONTROL.as_str(), HeaderValue::from_static("private, max-age=60"));
                    (headers, "mine")
                }
            }),
        )
}

/// The routes behind a layer, called in process: the wire is not the point here.
struct App {
    router: Router,
    issuer: Issuer,
    clock: ManualClock,
    calls: Calls,
}

impl App {
    async fn start(configure: impl FnOnce(JwtAuthBuilder<Role>) -> JwtAuthBuilder<Role>) -> App {
        App::start_as(configure, JwtAuthLayer::clone).await
    }

    /// With the routes behind a variant of the configured layer.
    async fn start_as(
        configure: impl FnOnce(JwtAuthBuilder<Role>) -> JwtAuthBuilder<Role>,
        variant: impl FnOnce(&JwtAuthLayer<Role>) -> JwtAuthLayer<Role>,
    ) -> App {
        let clock = ManualClock::new(unix_now());
        let builder = JwtAuthLayer::builder()
            .claims::<Role>()
            .signing_key(Key::hs256(SECRET).unwrap().with_kid("new"))
            .issuer("us")
            .clock(clock.clone());
        let layer = variant(&configure(builder).build().expect("configuration"));
        let issuer = layer.issuer();
        let calls = Calls::default();
        App { router: routes(calls.clone()).layer(layer), issuer, clock, calls }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = http::Request::get(path);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        call(&self.router, request).await
    }

    async fn send(&self, request: http::request::Builder) -> Reply {
        call(&self.router, request).await
    }

    fn login(&self) -> String {
        self.issuer.issue("7", &json!({ "role": "user" })).unwrap().token
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

#[tokio::test]
async fn only_successful_and_redirect_responses_renew() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    for (code, renews) in [
        (200, true),
        (204, true),
        (302, true),
        (304, true),
        (400, false),
        (401, false),
        (403, false),
        (404, false),
        (500, false),
        (503, false),
    ] {
        let response = app.get(&format!("/status/{code}"), Some(&token)).await;
        assert_eq!(response.status().as_u16(), code);
        assert_eq!(renewed(&response).is_some(), renews, "status {code}");
    }
}

#[tokio::test]
async fn a_predicate_can_widen_the_responses() {
    let app = App::start(|b| {
        b.renewal(
            RenewalPolicy::new()
                .renew_responses_when(|status, _| status.is_success() || status == 404),
        )
    })
    .await;
    let token = app.login();
    app.advance(200);
    assert!(renewed(&app.get("/status/404", Some(&token)).await).is_some());
    assert!(renewed(&app.get("/status/500", Some(&token)).await).is_none());
    assert!(renewed(&app.get("/status/302", Some(&token)).await).is_none());
}

#[tokio::test]
async fn handlers_can_opt_out_and_keep_their_own_header() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    let logout = app.get("/logout", Some(&token)).await;
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(renewed(&logout).is_none());
    let own = app.get("/own-header", Some(&token)).await;
    assert_eq!(renewed(&own).as_deref(), Some("set-by-handler"));
    assert_eq!(
        own.headers()[CACHE_CONTROL],
        "private, max-age=60",
        "untouched: no renewal was added"
    );
}

#[tokio::test]
async fn cache_control_of_the_handler_is_merged() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(200);
    let response = app.get("/whoami", Some(&token)).await;
    assert!(renewed(&response).is_some());
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn rotation_moves_clients_to_the_new_key() {
    let app = App::start(|b| b.previous_key(Key::hs256(OLD_SECRET).unwrap().with_kid("old"))).await;
    let now = app.issuer.now();
    let claims = json!({ "sub": "7", "iss": "us", "iat": now, "auth_time": now, "exp": now + 300, "role": "user" });
    let old_token =
        hs256(OLD_SECRET, r#"{"alg":"HS256","kid":"old","typ":"JWT"}"#, &claims.to_string());
    assert!(
        renewed(&app.get("/whoami", Some(&old_token)).await).is_none(),
        "fresh: accepted as is"
    );
    app.advance(200);
    let response = app.get("/whoami", Some(&old_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_token = renewed(&response).expect("renewed onto the new key");
    assert_eq!(header_of(&new_token)["kid"], "new");
    assert_eq!(claims_of(&new_token)["role"], "user");
    assert!(app.issuer.verify::<Value>(&new_token).is_ok());
    // Signed with the new secret, not the old one.
    assert!(signed_with(SECRET, &new_token));
    assert!(!signed_with(OLD_SECRET, &new_token));
    assert_eq!(app.get("/whoami", Some(&new_token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn foreign_tokens_are_accepted_but_never_resigned() {
    const PARTNER: &[u8] = b"a-partner-identity-provider-secret";
    let app = App::start(|b| {
        b.trusted_key("partner", Key::hs256(PARTNER).unwrap().with_kid("partner"))
            .dangerously_accept_any_audience_from_trusted_keys()
    })
    .await;
    let now = app.issuer.now();
    let partner = json!({ "sub": "9", "iss": "partner", "iat": now, "exp": now + 300 }).to_string();
    let partner_token = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &partner);
    app.advance(250);
    let response = app.get("/whoami", Some(&partner_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
}

/// A single sign-on login older than our session limit: the identity provider's `auth_time` says
/// nothing of how long its token is accepted here. The revocation is kept from the token's own
/// `exp` (plus leeway and the store's margin), so the logout holds, where the session limit
/// computed from `auth_time` lies in the past.
#[tokio::test]
async fn a_third_party_logout_is_kept_as_long_as_its_token() {
    const PARTNER: &[u8] = b"a-partner-identity-provider-secret";
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start(move |b| {
        b.trusted_key("partner", Key::hs256(PARTNER).unwrap().with_kid("partner"))
            .audience("api")
            .revocation(list)
    })
    .await;
    let now = app.issuer.now();
    let claims = json!({ "sub": "9", "iss": "partner", "aud": "api", "sid": "sso-1",
        "auth_time": now - 3 * 86_400, "iat": now, "exp": now + 300 });
    let token = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &claims.to_string());
    let verified = app.issuer.verify::<Value>(&token).unwrap();
    assert!(matches!(verified.vouched_by(), VouchedBy::TrustedIssuer("partner")));
    let session_end = app.issuer.session_expires_at(verified.registered()).unwrap();
    assert!(session_end < now, "the session limit from the provider's auth_time is long past");
    let until = app.issuer.revocation_until(&verified);
    assert_eq!(until, now + 300 + 5 + 60, "its own exp, the leeway and the store's margin");
    revocations.revoke_session("sso-1", until);
    app.advance(304);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("revoked"));
}

/// A key vouches for its own issuer only: the partner's key cannot mint a token in our name (it
/// would then renew into a real session token), and ours cannot speak for the partner.
#[tokio::test]
async fn a_key_never_vouches_for_another_issuer() {
    const PARTNER: &[u8] = b"a-partner-identity-provider-secret";
    let app = App::start(|b| {
        b.trusted_key("partner", Key::hs256(PARTNER).unwrap().with_kid("partner")).audience("api")
    })
    .await;
    let now = app.issuer.now();
    let claims = |iss: &str| {
        json!({ "sub": "9", "iss": iss, "aud": "api", "iat": now, "exp": now + 300 }).to_string()
    };
    let spoof = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &claims("us"));
    let spoof_without_kid = hs256(PARTNER, r#"{"alg":"HS256"}"#, &claims("us"));
    let ours_for_partner = hs256(SECRET, r#"{"alg":"HS256","kid":"new"}"#, &claims("partner"));
    app.advance(250);
    for token in [&spoof, &spoof_without_kid, &ours_for_partner] {
        let response = app.get("/whoami", Some(token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_owned();
        assert!(challenge.contains("issuer is not accepted"), "{challenge}");
    }
    assert_eq!(app.calls.get(), 0);
    let genuine = hs256(PARTNER, r#"{"alg":"HS256","kid":"partner"}"#, &claims("partner"));
    assert_eq!(app.get("/whoami", Some(&genuine)).await.status(), StatusCode::OK);
    // The claims say who vouched for each token.
    let partner = app.issuer.verify::<Value>(&genuine).unwrap();
    assert_eq!(partner.vouched_by(), VouchedBy::TrustedIssuer("partner"));
    let ours = app.issuer.verify::<Value>(&app.login()).unwrap();
    assert_eq!(ours.vouched_by(), VouchedBy::OwnKey);
}

#[tokio::test]
async fn a_token_accepted_only_thanks_to_leeway_is_not_renewed() {
    let app = App::start(|b| b).await;
    let token = app.login();
    app.advance(302); // expired 2 s ago, within the 5 s leeway
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none());
    let now = app.issuer.now();
    let early =
        json!({ "sub": "7", "iss": "us", "iat": now + 3, "auth_time": now, "exp": now + 100 })
            .to_string();
    let early = hs256(SECRET, r#"{"alg":"HS256"}"#, &early);
    let response = app.get("/whoami", Some(&early)).await;
    assert_eq!(response.status(), StatusCode::OK, "iat 3 s ahead is within the leeway");
    assert!(renewed(&response).is_none());
}

#[tokio::test]
async fn rejected_requests_never_reach_the_handler() {
    let app = App::start(|b| b).await;
    for token in [None, Some("a.b.c"), Some("garbage")] {
        let response = app.get("/whoami", token).await;
        assert!(response.status().is_client_error());
        assert!(renewed(&response).is_none());
    }
    assert_eq!(app.calls.get(), 0);
    app.get("/whoami", Some(&app.login())).await;
    assert_eq!(app.calls.get(), 1);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through() {
    let app = App::start(|b| b.optional(true)).await;
    let anonymous = app.get("/whoami", None).await.json();
    assert_eq!(anonymous, json!({ "sub": null }));
    let known = app.get("/whoami", Some(&app.login())).await.json();
    assert_eq!(known, json!({ "sub": "7" }));
    assert_eq!(app.get("/whoami", Some("a.b.c")).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_authorize_hook_refuses_with_403() {
    let app = App::start_as(
        |b| b,
        |layer| {
            layer.authorize(|claims, request| {
                if request.uri.path() != "/status/200" || claims.custom().role == "admin" {
                    Ok(())
                } else {
                    Err(Forbidden::new("admins only"))
                }
            })
        },
    )
    .await;
    let user = app.login();
    let response = app.get("/status/200", Some(&user)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="api", error="insufficient_scope", error_description="admins only""#
    );
    assert_eq!(app.calls.get(), 0);
    let admin = app.issuer.issue("1", &json!({ "role": "admin" })).unwrap().token;
    assert_eq!(app.get("/status/200", Some(&admin)).await.status(), StatusCode::OK);
    assert_eq!(app.get("/whoami", Some(&user)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoked_sessions_are_refused_renewals_included() {
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start(move |b| b.revocation(list)).await;
    let token = app.login();
    app.advance(200);
    let renewed_token = renewed(&app.get("/whoami", Some(&token)).await).unwrap();
    let claims = app.issuer.verify::<Value>(&token).unwrap();
    revocations.revoke_session(claims.session_id().unwrap(), claims.expires_at() + 86_400);
    for t in [&token, &renewed_token] {
        let response = app.get("/whoami", Some(t)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("revoked"));
    }
    assert!(app.issuer.renew(&renewed_token).await.is_err(), "explicit renewal checks it too");
    assert_eq!(
        app.get("/whoami", Some(&app.login())).await.status(),
        StatusCode::OK,
        "a new login works"
    );
}

/// An in-memory list answering through a pending future, as a networked store does.
#[derive(Clone)]
struct Remote(InMemoryRevocations);

impl RevocationCheck for Remote {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let status = self.0.status(claims);
        RevocationFuture::pending(async move {
            tokio::task::yield_now().await;
            Ok(status)
        })
    }
}

/// A logout handler that revokes the session and forgets to opt out of renewal: the layer asks
/// the store again before it signs, whether the store answers at once or over the network.
#[tokio::test]
async fn a_session_revoked_by_its_handler_gets_no_successor() {
    for pending in [false, true] {
        let clock = ManualClock::new(unix_now());
        let revocations = InMemoryRevocations::with_clock(clock.clone());
        let builder = JwtAuthLayer::builder().hs256(SECRET).issuer("us").clock(clock.clone());
        let layer = if pending {
            builder.revocation(Remote(revocations.clone())).build().unwrap()
        } else {
            builder.revocation(revocations.clone()).build().unwrap()
        };
        let issuer = layer.issuer();
        let (list, ends) = (revocations.clone(), issuer.clone());
        let router = Router::new()
            .route("/whoami", get(|| async { "ok" }))
            .route(
                "/logout",
                get(move |claims: Claims| async move {
                    let until = ends.revocation_until(&claims);
                    list.revoke_session(claims.session_id().unwrap(), until);
                    "logged out"
                }),
            )
            .layer(layer);
        let send = |path: &'static str, token: String| {
            let request = http::Request::get(path).header(AUTHORIZATION, format!("Bearer {token}"));
            let router = router.clone();
            async move { call(&router, request).await }
        };
        let token = issuer.issue("7", &json!({})).unwrap().token;
        clock.advance(Duration::from_secs(200));
        assert!(renewed(&send("/whoami", token.clone()).await).is_some(), "in the renewal window");
        let logout = send("/logout", token.clone()).await;
        assert_eq!(logout.status(), StatusCode::OK);
        assert!(
            renewed(&logout).is_none(),
            "a successor for a revoked session (pending: {pending})"
        );
        assert_eq!(send("/whoami", token).await.status(), StatusCode::UNAUTHORIZED);
    }
}

/// A store that answers after a delay, like a network lookup.
#[derive(Clone)]
struct SlowStore {
    revoked_sub: &'static str,
    fail: bool,
}

impl RevocationCheck for SlowStore {
    fn check(&self, claims: &RegisteredClaims) -> RevocationFuture {
        let revoked = claims.subject() == Some(self.revoked_sub);
        let fail = self.fail;
        RevocationFuture::pending(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if fail {
                return Err(RevocationError::new("store unreachable"));
            }
            Ok(if revoked { RevocationStatus::Revoked } else { RevocationStatus::Active })
        })
    }
}

#[tokio::test]
async fn an_asynchronous_store_is_awaited_before_the_handler() {
    let app = App::start(|b| b.revocation(SlowStore { revoked_sub: "13", fail: false })).await;
    let token = app.login();
    app.advance(200);
    let response = app.get("/whoami", Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_some(), "renewal survives the pending path");
    let bad = app.issuer.issue("13", &json!({})).unwrap().token;
    assert_eq!(app.get("/whoami", Some(&bad)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.calls.get(), 1);
}

#[tokio::test]
async fn an_unreachable_store_fails_closed() {
    let unavailable = App::start(|b| b.revocation(SlowStore { revoked_sub: "", fail: true })).await;
    let response = unavailable.get("/whoami", Some(&unavailable.login())).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let unauthorized = App::start(|b| {
        b.revocation(SlowStore { revoked_sub: "", fail: true })
            .on_revocation_failure(RevocationFailure::Unauthorized)
    })
    .await;
    let response = unauthorized.get("/whoami", Some(&unauthorized.login())).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unavailable.calls.get() + unauthorized.calls.get(), 0);
}

#[tokio::test]
async fn a_custom_rejection_handler_shapes_the_response() {
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .clock(clock)
        .rejection_handler(|rejection: &Rejection, context: &RejectionContext<'_>| -> Response {
            let mut response: Response = rejection.default_response(context);
            *response.body_mut() = json!({ "problem": rejection.to_string() }).to_string().into();
            response
        })
        .build()
        .unwrap();
    let router = Router::new().route("/", get(|| async { "ok" })).layer(layer);
    let response =
        call(&router, http::Request::get("/").header(AUTHORIZATION, "Bearer x.y.z")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(WWW_AUTHENTICATE));
    let body = response.json();
    assert_eq!(body["problem"], "the token header is malformed");
}

#[tokio::test]
async fn cors_preflights_are_answered_by_the_layer_and_other_options_are_not() {
    let app = App::start(|b| b).await;
    let preflight = || {
        http::Request::options("/whoami")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
    };
    let response = app.send(preflight()).await;
    // 204 from the layer itself (axum's own answer to OPTIONS on a GET route would be 405).
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    let plain_options = app.send(http::Request::options("/whoami")).await;
    assert_eq!(plain_options.status(), StatusCode::UNAUTHORIZED);
    let strict = App::start(|b| b.answer_cors_preflights(false)).await;
    assert_eq!(strict.send(preflight()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.calls.get() + strict.calls.get(), 0);
}

#[tokio::test]
async fn grpc_requests_get_grpc_shaped_rejections() {
    let app = App::start(|b| b).await;
    let response = app
        .send(
            http::Request::post("/whoami")
                .header("content-type", "application/grpc")
                .header(AUTHORIZATION, "Bearer a.b.c"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "16");
    assert_eq!(response.headers()["grpc-message"], "the token header is malformed");
    assert_eq!(response.headers()["content-type"], "application/grpc");
}

#[tokio::test]
async fn responses_keep_working_without_an_issuer_name() {
    // No `issuer(..)`: tokens without `iss` are ours and renew.
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder().hs256(SECRET).clock(clock.clone()).build().unwrap();
    let issuer = layer.issuer();
    let router = Router::new().route("/", get(|| async { "ok".into_response() })).layer(layer);
    let token = issuer.issue("1", &()).unwrap().token;
    assert!(claims_of(&token).get("iss").is_none());
    clock.advance(Duration::from_secs(200));
    let bearer = format!("Bearer {token}");
    let response = call(&router, http::Request::get("/").header(AUTHORIZATION, bearer)).await;
    assert!(renewed(&response).is_some());
}

#[tokio::test]
async fn without_auth_time_iat_starts_the_session_and_renewals_keep_it() {
    let app = App::start(|b| b.session_limit(Duration::from_secs(500))).await;
    let start = app.issuer.now();
    let claims = json!({ "sub": "7", "iss": "us", "iat": start, "exp": start + 300 }).to_string();
    let token = hs256(SECRET, r#"{"alg":"HS256"}"#, &claims);
    app.advance(200);
    let first = renewed(&app.get("/whoami", Some(&token)).await).expect("renewed");
    assert_eq!(claims_of(&first)["auth_time"], start, "the session start is carried forward");
    assert_eq!(claims_of(&first)["exp"], start + 500);
    app.advance(160);
    // Without the carried auth_time the new iat would restart the session and exp would pass
    // start + 500.
    let response = app.get("/whoami", Some(&first)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(renewed(&response).is_none(), "limited at start + 500");
}

#[tokio::test]
async fn cached_tokens_are_still_checked_every_time() {
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start_as(
        move |b| b.revocation(list),
        |layer| {
            layer.authorize(|_, request| {
                if request.headers.contains_key("x-deny") {
                    Err(Forbidden::new("denied"))
                } else {
                    Ok(())
                }
            })
        },
    )
    .await;
    let token = app.login();
    // Seen once: cached from here on.
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::OK);
    // The authorization check runs on the cached token.
    let denied = app
        .send(
            http::Request::get("/whoami")
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .header("x-deny", "1"),
        )
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    // Revocation is asked on every request.
    let claims = app.issuer.verify::<Value>(&token).unwrap();
    revocations.revoke_token(claims.token_id().unwrap(), claims.expires_at());
    assert_eq!(app.get("/whoami", Some(&token)).await.status(), StatusCode::UNAUTHORIZED);
    // Expiry too.
    let other = app.login();
    assert_eq!(app.get("/whoami", Some(&other)).await.status(), StatusCode::OK);
    app.advance(305);
    assert_eq!(app.get("/whoami", Some(&other)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_cache_is_bounded() {
    let clock = ManualClock::new(unix_now());
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .clock(clock)
        .verified_token_cache(64)
        .build()
        .unwrap();
    let issuer = layer.issuer();
    let probe = layer.clone();
    let router = Router::new().route("/", get(|| async { "ok" })).layer(layer);
    for i in 0..300 {
        let token = issuer.issue(format!("user-{i}"), &()).unwrap().token;
        let request = http::Request::get("/").header(AUTHORIZATION, format!("Bearer {token}"));
        assert_eq!(call(&router, request).await.status(), StatusCode::OK);
        assert!(probe.cached_tokens() <= 64, "{} cached", probe.cached_tokens());
    }
    assert!(probe.cached_tokens() > 0);
    let off = JwtAuthLayer::builder().hs256(SECRET).verified_token_cache(0).build().unwrap();
    assert_eq!(off.cached_tokens(), 0);
}

/// The token is checked again when the response is written: one that expired while the handler
/// ran gets no successor. In process: the wire is not the point.
#[tokio::test]
async fn a_token_that_expires_during_the_handler_is_not_renewed() {
    use tower::{ServiceExt, service_fn};

    let clock = ManualClock::new(1_800_000_000);
    let layer =
        JwtAuthLayer::builder().hs256(SECRET).issuer("us").clock(clock.clone()).build().unwrap();
    let token = layer.issuer().issue("7", &json!({})).unwrap().token;
    let slow = clock.clone();
    let service = tower::ServiceBuilder::new().layer(layer).service(service_fn(
        move |_: http::Request<()>| {
            let slow = slow.clone();
            async move {
                // A long handler: 100 s, with the token's last 50 s left when it started.
                slow.advance(Duration::from_secs(100));
                Ok::<_, std::convert::Infallible>(http::Response::new(()))
            }
        },
    ));
    clock.advance(Duration::from_secs(250));
    let request = http::Request::get("/").header("authorization", format!("Bearer {token}"));
    let response = service.oneshot(request.body(()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-refreshed-token").is_none());
}

/// A token without `sid` renews into one with a fresh `sid` that every later renewal keeps, so
/// revoking that session ends the whole chain; revoking one `jti` never covers its successors.
#[tokio::test]
async fn a_sessionless_token_renews_into_a_revocable_session() {
    let revocations = InMemoryRevocations::new();
    let list = revocations.clone();
    let app = App::start(move |b| b.revocation(list)).await;
    let now = app.issuer.now();
    let claims = json!({ "sub": "7", "iss": "us", "iat": now, "exp": now + 300 }).to_string();
    let first = hs256(SECRET, r#"{"alg":"HS256","kid":"new"}"#, &claims);
    app.advance(200);
    let second = renewed(&app.get("/whoami", Some(&first)).await).expect("renewed");
    let sid = claims_of(&second)["sid"].as_str().expect("a fresh sid").to_owned();
    app.advance(200);
    let third = renewed(&app.get("/whoami", Some(&second)).await).expect("renewed again");
    assert_eq!(claims_of(&third)["sid"], sid.as_str());
    // Revoking the second token's jti leaves its successor alone; revoking the session does not.
    let jti = claims_of(&second)["jti"].as_str().unwrap().to_owned();
    revocations.revoke_token(jti, now + 1_000);
    assert_eq!(app.get("/whoami", Some(&second)).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/whoami", Some(&third)).await.status(), StatusCode::OK);
    revocations.revoke_session(sid, now + 86_400);
    assert_eq!(app.get("/whoami", Some(&third)).await.status(), StatusCode::UNAUTHORIZED);
}

/// With a session header, every successful response to one of our tokens says how long the
/// session has left; a partner's token (no session limit of ours) and failures say nothing.
#[tokio::test]
async fn the_session_header_tells_the_time_left() {
    use tower_sliding_jwt::renewal::SESSION_EXPIRES_IN_HEADER;

    let app = App::start(|b| {
        b.session_limit(Duration::from_secs(3_600))
            .renewal(RenewalPolicy::new().session_header(SESSION_EXPIRES_IN_HEADER))
    })
    .await;
    let token = app.login();
    let left = |reply: &Reply| -> Option<i64> {
        reply.headers().get("x-session-expires-in").map(|v| v.to_str().unwrap().parse().unwrap())
    };
    assert_eq!(left(&app.get("/whoami", Some(&token)).await), Some(3_600));
    app.advance(200);
    let renewing = app.get("/whoami", Some(&token)).await;
    assert!(renewed(&renewing).is_some());
    assert_eq!(left(&renewing), Some(3_400), "the session limit does not move with renewals");
    assert_eq!(left(&app.get("/status/500", Some(&token)).await), None);
    assert_eq!(left(&app.get("/whoami", None).await), None);
}

/// "Remember me": a login's own maximum session travels in the token, every renewal keeps it,
/// and a token claiming more than the policy allows is refused.
#[tokio::test]
async fn a_login_can_choose_a_longer_session_and_renewals_keep_it() {
    use tower_sliding_jwt::renewal::SessionLifetimes;
    use tower_sliding_jwt::testing::TokenFactory;

    let hour = Duration::from_secs(3_600);
    let app = App::start(move |b| b.session_limit(hour).allow_longer_sessions(24 * hour)).await;
    let remembered = app
        .issuer
        .issue_with(
            "7",
            &json!({ "role": "user" }),
            SessionLifetimes::new().session_limit(8 * hour),
        )
        .unwrap();
    let ordinary = app.login();
    assert_eq!(remembered.session_expires_at - app.issuer.now(), 8 * 3_600);
    // Keep both sessions busy for two hours: only the remembered one outlives the default hour.
    let (mut long, mut short) = (remembered.token, Some(ordinary));
    for _ in 0..36 {
        app.advance(200);
        let response = app.get("/whoami", Some(&long)).await;
        assert_eq!(response.status(), StatusCode::OK);
        if let Some(next) = renewed(&response) {
            assert_eq!(claims_of(&next)["session_limit"], 8 * 3_600);
            long = next;
        }
        if let Some(token) = short.take() {
            let response = app.get("/whoami", Some(&token)).await;
            if response.status() == StatusCode::OK {
                short = Some(renewed(&response).unwrap_or(token));
            }
        }
    }
    assert!(short.is_none(), "the ordinary session ended after its hour");
    assert_eq!(app.get("/whoami", Some(&long)).await.status(), StatusCode::OK);
    // A token of ours claiming a session longer than the policy allows.
    let layer = JwtAuthLayer::builder()
        .hs256(SECRET)
        .session_limit(hour)
        .allow_longer_sessions(24 * hour)
        .build()
        .unwrap();
    let tokens = TokenFactory::for_layer(&layer);
    let greedy = tokens.valid("7", &json!({ "session_limit": 48 * 3_600 })).unwrap();
    let verdict = layer.issuer().verify::<Value>(&greedy).unwrap_err();
    assert_eq!(verdict.to_string(), "the token outlives its session limit");
}

/// What the README says about CORS, pinned: with tower-http's `CorsLayer` outside the auth
/// layer, only the CORS layer's own `expose_headers` exposes the renewal header; when the
/// response already carries `Access-Control-Allow-Origin` as the auth layer writes it (CORS
/// inside), the auth layer exposes it itself.
#[tokio::test]
async fn cors_exposure_depends_on_the_order_of_the_layers() {
    use tower_http::cors::{Any, CorsLayer};
    use tower_sliding_jwt::renewal::REFRESHED_TOKEN_HEADER;

    let clock = ManualClock::new(unix_now());
    let auth = JwtAuthLayer::builder().hs256(SECRET).clock(clock.clone()).build().unwrap();
    let token = auth.issuer().issue("7", &()).unwrap().token;
    clock.advance(Duration::from_secs(200));
    let request = || {
        http::Request::get("/")
            .header("origin", "https://app.example")
            .header(AUTHORIZATION, format!("Bearer {token}"))
    };
    let exposed = |reply: &Reply| {
        reply
            .headers()
            .get_all("access-control-expose-headers")
            .iter()
            .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("x-refreshed-token"))
    };
    let route = || Router::new().route("/", get(|| async { "ok" }));
    let outside = route().layer(auth.clone()).layer(CorsLayer::new().allow_origin(Any));
    let reply = call(&outside, request()).await;
    assert!(renewed(&reply).is_some());
    assert!(!exposed(&reply), "the outer CORS layer writes after the auth layer");
    let listed = CorsLayer::new().allow_origin(Any).expose_headers([REFRESHED_TOKEN_HEADER]);
    let outside_listed = route().layer(auth.clone()).layer(listed);
    assert!(exposed(&call(&outside_listed, request()).await));
    let inside = route().layer(CorsLayer::new().allow_origin(Any)).layer(auth);
    let reply = call(&inside, request()).await;
    assert!(renewed(&reply).is_some() && exposed(&reply), "the auth layer sees the CORS headers");
}
