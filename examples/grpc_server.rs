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
        .refresh(settings.refresh_policy())
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
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_sliding_jwt=debug".into()),
        )
        .init();
    let settings = match Settings::from_env("127.0.0.1:50051") {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("configuration error: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    if settings.secret_generated {
        tracing::warn!("JWT_SECRET is not set: signing with a random secret");
    }
    let listener = match TcpListener::bind(&settings.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", settings.bind);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let issuer = match serve(listener, &settings, SystemClock).await {
        Ok(issuer) => issuer,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!("gRPC health service listening on {addr} (calls need a token)");
    if let Ok(sample) = issuer.issue("demo-user", &json!({ "username": "demo" })) {
        println!(
            "try: grpcurl -plaintext -H 'authorization: Bearer {}' {addr} grpc.health.v1.Health/Check",
            sample.token
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
