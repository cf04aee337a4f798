//! The layer in front of a tonic 0.14 server: the standard `grpc.health.v1.Health` service
//! (tonic-health), so any gRPC client can call it.
//!
//! ```sh
//! cargo run --example grpc_server      # 127.0.0.1:50051
//! grpcurl -plaintext -H "authorization: Bearer $TOKEN" 127.0.0.1:50051 grpc.health.v1.Health/Check
//! ```
//!
//! A call without a valid token fails with `UNAUTHENTICATED` (the message names the reason); a
//! call whose token is in the renewal window gets the renewed token in its response metadata,
//! `x-refreshed-token` (for a stream: in the initial metadata). No `protoc` is needed: the
//! health service ships its generated code.

#[path = "shared/settings.rs"]
pub(crate) mod settings;
#[allow(dead_code)] // the tests include this file for `serve` only
#[path = "shared/startup.rs"]
mod startup;

use std::process::ExitCode;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tower_sliding_jwt::{Clock, ConfigError, Issuer, JwtAuthLayer, SystemClock};

use settings::Settings;

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
    let (_reporter, health) = tonic_health::server::health_reporter();
    // The whole server behind the layer: `Server::builder().layer` takes any Tower layer.
    let server = Server::builder().layer(auth).add_service(health);
    tokio::spawn(async move {
        if let Err(error) = server.serve_with_incoming(TcpListenerStream::new(listener)).await {
            tracing::error!(%error, "gRPC server stopped");
        }
    });
    Ok(issuer)
}

#[allow(dead_code)] // the tests include this file for `serve` only
#[tokio::main]
async fn main() -> ExitCode {
    startup::init_tracing("info,tower_sliding_jwt=debug");
    let settings = match startup::settings("127.0.0.1:50051") {
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
    println!("gRPC health service listening on {addr} (calls need a token)");
    if let Ok(sample) = issuer.issue("demo-user", &json!({ "username": "demo" })) {
        println!(
            "try: grpcurl -plaintext -H 'authorization: Bearer {}' {addr} grpc.health.v1.Health/Check",
            sample.token
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
