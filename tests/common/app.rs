//! The app most in-process tests run: a few routes that count the calls reaching them, behind a
//! layer each test configures, on a manual clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode as AxumStatus};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use http::header::{AUTHORIZATION, CACHE_CONTROL};
use serde::Deserialize;
use serde_json::json;
use tower_sliding_jwt::{
    Claims, Issuer, JwtAuthBuilder, JwtAuthLayer, Key, ManualClock, NoRenewal,
};

use super::{Reply, call, unix_now};

/// The app's signing secret (key id `new`).
pub const SECRET: &[u8] = b"renewal-tests-secret-of-32-bytes!!";

#[derive(Clone, Debug, Deserialize)]
pub struct Role {
    #[serde(default)]
    pub role: String,
}

/// Counts calls that reach the handlers.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn get(&self) -> usize {
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
pub struct App {
    pub router: Router,
    pub issuer: Issuer,
    pub clock: ManualClock,
    pub calls: Calls,
}

impl App {
    pub async fn start(
        configure: impl FnOnce(JwtAuthBuilder<Role>) -> JwtAuthBuilder<Role>,
    ) -> App {
        App::start_as(configure, JwtAuthLayer::clone).await
    }

    /// With the routes behind a variant of the configured layer.
    pub async fn start_as(
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

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = http::Request::get(path);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        call(&self.router, request).await
    }

    pub async fn send(&self, request: http::request::Builder) -> Reply {
        call(&self.router, request).await
    }

    pub fn login(&self) -> String {
        self.issuer.issue("7", &json!({ "role": "user" })).unwrap().token
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}
