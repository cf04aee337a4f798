//! The demo server: the JWT login API of the original tutorial, with sliding renewal.
//!
//! ```sh
//! cargo run --example server             # serve on 127.0.0.1:3000
//! cargo run --example server -- --demo   # scripted walk-through, then exit
//! ```
//!
//! `GET /` serves a page that runs a session in the browser, in header, cookie or DPoP mode
//! (the page's own key signs a proof for every call, so a copied token is worthless); with
//! `TOKEN_TTL_SECS=20 REFRESH_WITHIN_SECS=15 MAX_SESSION_SECS=60` it slides and ends in a minute.
//!
//! Environment: `BIND`, `JWT_SECRET` (at least 32 bytes; random if unset), `JWT_ISSUER`
//! (`demo`), `TOKEN_TTL_SECS` (300), `REFRESH_WITHIN_SECS` (150), `MAX_SESSION_SECS` (86400),
//! `REFRESH_MODE` (`inject` or `advise`), `REDIS_URL` (share logouts), `JWT_ALG` with
//! `JWT_PRIVATE_KEY_FILE` (sign with RSA, ECDSA or EdDSA and publish the public key),
//! `PUBLIC_ORIGIN` (the origin browsers use, behind a proxy; DPoP proofs name it). Demo users:
//! `admin`/`admin`, `alice`/`wonderland`.
//!
//! `DEMO_CLOCK=manual` stops the server's clock at start-up; it then moves only by
//! `POST /clock/advance` with `{"secs": N}`. The browser tests use it to walk a whole session in
//! moments; never set it on a server anyone else can reach.

mod demo;
mod passwords;
mod revocations;
mod routes;
#[path = "../shared/settings.rs"]
mod settings;
#[path = "../shared/startup.rs"]
mod startup;

use std::process::ExitCode;

use axum::Router;
use tower_http::cors::{Any, CorsLayer};
use tower_sliding_jwt::renewal::{CookieSettings, EXPIRES_IN_HEADER, REFRESHED_TOKEN_HEADER};
use tower_sliding_jwt::{
    Algorithm, DpopPolicy, Issuer, JsonRejection, JwtAuthLayer, Key, ManualClock, RenewalPolicy,
    TokenSource,
};

use passwords::PasswordChecker;
use revocations::Revocations;
use routes::{AppState, DemoClaims};
use settings::Settings;

/// What only the demo server reads from the environment.
struct Extras {
    /// `REDIS_URL`: logouts shared through Redis (in memory when unset).
    redis_url: Option<String>,
    /// `JWT_ALG`: the signing algorithm (default HS256, with `JWT_SECRET`).
    algorithm: Algorithm,
    /// `JWT_PRIVATE_KEY_FILE`: the PEM private key for an RSA, ECDSA or EdDSA `JWT_ALG`.
    private_key_pem: Option<Vec<u8>>,
    /// `DEMO_CLOCK=manual`: a clock that only `POST /clock/advance` moves (for tests).
    clock: Option<ManualClock>,
    /// `PUBLIC_ORIGIN`: where browsers reach the server, when not at its own address.
    public_origin: Option<String>,
}

impl Extras {
    fn from_env() -> Result<Extras, String> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let algorithm = match get("JWT_ALG") {
            None => Algorithm::HS256,
            Some(name) => name
                .trim()
                .parse()
                .map_err(|_| format!("JWT_ALG {name:?} is not a JWS algorithm"))?,
        };
        let private_key_pem = match get("JWT_PRIVATE_KEY_FILE") {
            _ if algorithm.is_hmac() => None,
            Some(path) => Some(
                std::fs::read(&path).map_err(|e| format!("JWT_PRIVATE_KEY_FILE {path}: {e}"))?,
            ),
            None => return Err(format!("JWT_ALG {algorithm} needs JWT_PRIVATE_KEY_FILE")),
        };
        let clock = match get("DEMO_CLOCK").as_deref().map(str::trim) {
            None | Some("system") => None,
            Some("manual") => Some(ManualClock::starting_now()),
            Some(other) => {
                return Err(format!("DEMO_CLOCK must be system or manual, not {other:?}"));
            }
        };
        Ok(Extras {
            redis_url: get("REDIS_URL"),
            algorithm,
            private_key_pem,
            clock,
            public_origin: get("PUBLIC_ORIGIN"),
        })
    }
}

/// The demo's router for a server at `addr`, and the issuer its login route signs with.
fn server(settings: &Settings, extras: &Extras, addr: &str) -> Result<(Router, Issuer), String> {
    server_with(settings, extras, addr, None)
}

/// With `metrics`, the router also serves `GET /metrics`.
fn server_with(
    settings: &Settings,
    extras: &Extras,
    addr: &str,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Result<(Router, Issuer), String> {
    // Sliding renewal: tokens live `TOKEN_TTL_SECS`; a request in their last
    // `REFRESH_WITHIN_SECS` gets a successor in `x-refreshed-token` (or a new cookie); no
    // successor outlives the login by more than `MAX_SESSION_SECS`.
    let renewal = RenewalPolicy::new()
        .renew_within(settings.refresh_within)
        .mode(settings.mode)
        // The demo serves plain HTTP, where browsers drop `Secure` cookies. Keep it in production.
        .cookie(CookieSettings::new().secure(false));
    let builder = JwtAuthLayer::builder().claims::<DemoClaims>();
    let builder = match &extras.private_key_pem {
        // RSA, ECDSA or EdDSA: its public half is published at /.well-known/jwks.json.
        Some(pem) => builder
            .signing_key(Key::from_private_pem(extras.algorithm, pem).map_err(|e| e.to_string())?),
        None => builder.hmac(extras.algorithm, &settings.secret),
    };
    let revocations = Revocations::new(extras.redis_url.as_deref(), extras.clock.as_ref())
        .map_err(|e| format!("REDIS_URL: {e}"))?;
    let builder = match &extras.clock {
        Some(clock) => builder.clock(clock.clone()),
        None => builder,
    };
    let auth = builder
        .issuer(settings.issuer.clone())
        .token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("token"),
            TokenSource::query("token"),
        ])
        .token_lifetime(settings.token_lifetime)
        .session_limit(settings.session_limit)
        .renewal(renewal)
        .revocation(revocations.clone())
        .dpop(dpop_policy(extras, addr))
        .rejection_handler(JsonRejection)
        .build()
        .map_err(|e| e.to_string())?;
    let issuer = auth.issuer();
    // CORS outside the auth layer: it answers preflights, and refusals get CORS headers too.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([REFRESHED_TOKEN_HEADER, EXPIRES_IN_HEADER]);
    let state =
        AppState { issuer: issuer.clone(), passwords: PasswordChecker::new(2), revocations };
    let mut public = routes::public(extras.private_key_pem.is_some());
    if let Some(clock) = &extras.clock {
        public = public.merge(routes::clock(clock.clone()));
    }
    if let Some(metrics) = metrics {
        public = public.merge(routes::metrics(metrics));
    }
    let router = public.merge(routes::protected().route_layer(auth)).with_state(state).layer(cors);
    Ok((router, issuer))
}

/// DPoP for the page's third mode; bearer tokens stay accepted for the other two. Proofs name
/// the origin the browser uses: `PUBLIC_ORIGIN`, or the server's own address (and `localhost`
/// for a loopback one).
fn dpop_policy(extras: &Extras, addr: &str) -> DpopPolicy {
    if let Some(origin) = &extras.public_origin {
        return DpopPolicy::new().public_origin(origin);
    }
    let policy = DpopPolicy::new().public_origin(format!("http://{addr}"));
    match addr.strip_prefix("127.0.0.1:") {
        Some(port) => policy.public_origin(format!("http://localhost:{port}")),
        None => policy,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let demo = std::env::args().skip(1).any(|arg| arg == "--demo");
    let default_filter = if demo { "warn" } else { "info,tower_sliding_jwt=debug" };
    startup::init_tracing(default_filter);
    let settings = match startup::settings("127.0.0.1:3000") {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let extras = match Extras::from_env() {
        Ok(extras) => extras,
        Err(e) => return startup::configuration_error(&e),
    };
    if demo {
        return demo::run(settings, |settings, addr| server(settings, &extras, addr)).await;
    }
    startup::warn_if_secret_generated(&settings);
    // Every metric the layer records, kept for `GET /metrics`.
    let metrics = match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => handle,
        Err(e) => return startup::configuration_error(&format!("metrics: {e}")),
    };
    let (listener, addr) = match startup::listen(&settings).await {
        Ok(bound) => bound,
        Err(code) => return code,
    };
    let router = match server_with(&settings, &extras, &addr, Some(metrics)) {
        Ok((router, _)) => router,
        Err(e) => return startup::configuration_error(&e),
    };
    println!("demo API listening on http://{addr}  (users: admin/admin, alice/wonderland)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            ExitCode::FAILURE
        }
    }
}
