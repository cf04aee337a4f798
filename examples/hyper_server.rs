//! The layer on plain hyper 1 (through hyper-util), without any framework.
//!
//! ```sh
//! cargo run --example hyper_server     # http://127.0.0.1:3001, HTTP/1.1 and HTTP/2 (h2c)
//! ```
//!
//! Every path is protected; `GET /` answers with the verified claims as JSON. The server prints a
//! token to try it with; tokens from the axum demo (`examples/server`) work too when both run with
//! the same `JWT_SECRET` and `JWT_ISSUER`. Sliding renewal is on: responses to tokens in the
//! renewal window carry `x-refreshed-token`.

#[path = "shared/settings.rs"]
pub(crate) mod settings;
#[allow(dead_code)] // the tests include this file for `serve` only
#[path = "shared/startup.rs"]
mod startup;

use std::convert::Infallible;
use std::process::ExitCode;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::{ServiceBuilder, service_fn};
use tower_sliding_jwt::{Claims, Clock, ConfigError, Issuer, JwtAuthLayer, SystemClock};

use settings::Settings;

/// The application: no framework, just a function from request to response.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => match request.extensions().get::<Claims<Value>>() {
            Some(claims) => (StatusCode::OK, serde_json::to_value(claims).unwrap_or_default()),
            None => (StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "no claims" })),
        },
        _ => (StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, "application/json".parse().expect("static"));
    Ok(response)
}

/// Serve on `listener` in the background; returns the issuer of the layer in front.
pub async fn serve(
    listener: TcpListener,
    settings: &Settings,
    clock: impl Clock,
) -> Result<Issuer, ConfigError> {
    let auth = JwtAuthLayer::builder()
        .claims::<Value>()
        .hs256(&settings.secret)
        .issuer(settings.issuer.clone())
        .renewal(settings.renewal_policy())
        .clock(clock)
        .build()?;
    let issuer = auth.issuer();
    // The layer wraps the function like any Tower middleware; hyper sees one Tower service.
    let service = ServiceBuilder::new().layer(auth).service(service_fn(handle));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                // HTTP/1.1, and HTTP/2 with prior knowledge (h2c), on the same port.
                let connection = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(error) = connection {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
        }
    });
    Ok(issuer)
}

#[allow(dead_code)] // the tests include this file for `serve` only
#[tokio::main]
async fn main() -> ExitCode {
    startup::init_tracing("info,tower_sliding_jwt=debug");
    let settings = match startup::settings("127.0.0.1:3001") {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    startup::warn_if_secret_generated(&settings);
    let (listener, addr) = match startup::listen(&settings).await {
        Ok(bound) => bound,
        Err(code) => return code,
    };
    let issuer = match serve(listener, &settings, SystemClock).await {
        Ok(issuer) => issuer,
        Err(e) => return startup::configuration_error(&e),
    };
    println!("hyper server listening on http://{addr} (every path needs a token)");
    if let Ok(sample) = issuer.issue("demo-user", &json!({ "username": "demo" })) {
        println!("try: curl -i http://{addr}/ -H 'authorization: Bearer {}'", sample.token);
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
