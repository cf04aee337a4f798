//! The layer on plain hyper 1 (through hyper-util), without any framework.
//!
//! ```sh
//! cargo run --example hyper_server     # http://127.0.0.1:3001, HTTP/1.1 and HTTP/2 (h2c)
//! ```
//!
//! Every path is protected; `GET /` answers with the verified claims as JSON. The server prints
//! how to get a token: the axum demo's login (`examples/server`), run with the same `JWT_SECRET`
//! and `JWT_ISSUER`. Sliding renewal is on: responses to tokens in the
//! renewal window carry `x-refreshed-token`.

#[path = "shared/settings.rs"]
mod settings;
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
use tower::{ServiceBuilder, service_fn};
use tower_sliding_jwt::{Claims, JwtAuthLayer, RenewalPolicy};

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
    // Sliding renewal: a request in a token's last `REFRESH_WITHIN_SECS` gets a successor in
    // `x-refreshed-token`, living `TOKEN_TTL_SECS`, never past `MAX_SESSION_SECS` after login.
    let renewal = RenewalPolicy::new().renew_within(settings.refresh_within).mode(settings.mode);
    let auth = JwtAuthLayer::builder()
        .claims::<Value>()
        .hs256(&settings.secret)
        .issuer(settings.issuer.clone())
        .token_lifetime(settings.token_lifetime)
        .session_limit(settings.session_limit)
        .renewal(renewal)
        .build();
    let auth = match auth {
        Ok(auth) => auth,
        Err(e) => return startup::configuration_error(&e),
    };
    // The layer wraps the function like any Tower middleware; hyper sees one Tower service.
    let service = ServiceBuilder::new().layer(auth).service(service_fn(handle));
    startup::how_to_get_a_token(&format!("curl -i {addr}/ -H 'authorization: Bearer <token>'"));
    println!("hyper server listening on http://{addr} (every path needs a token)");
    let accept = async {
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
    };
    tokio::select! {
        () = accept => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}
