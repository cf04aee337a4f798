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
mod settings;
#[path = "shared/startup.rs"]
mod startup;

use std::process::ExitCode;

use serde_json::Value;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};

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
    // Sliding renewal: a call in a token's last `REFRESH_WITHIN_SECS` gets a successor in the
    // response metadata `x-refreshed-token`, never past `MAX_SESSION_SECS` after login.
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
    let (_reporter, health) = tonic_health::server::health_reporter();
    startup::how_to_get_a_token(&format!(
        "grpcurl -plaintext -H 'authorization: Bearer <token>' {addr} grpc.health.v1.Health/Check"
    ));
    println!("gRPC health service listening on http://{addr} (calls need a token)");
    // The whole server behind the layer: `Server::builder().layer` takes any Tower layer.
    let server = Server::builder().layer(auth).add_service(health).serve_with_incoming_shutdown(
        TcpListenerStream::new(listener),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    );
    match server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gRPC server stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
