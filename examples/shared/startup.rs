//! The start-up every example server shares: logging, settings, the listening socket. Each step
//! says what went wrong and gives the exit code to stop with (2 for configuration, 1 otherwise).

use std::process::ExitCode;

use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use super::settings::Settings;

/// Logging at `default_filter` unless `RUST_LOG` says otherwise.
pub fn init_tracing(default_filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .init();
}

/// The settings from the environment, with `default_bind` for `BIND`.
pub fn settings(default_bind: &str) -> Result<Settings, ExitCode> {
    Settings::from_env(default_bind).map_err(|message| configuration_error(&message))
}

/// Say that the secret is random (tokens will not survive a restart).
pub fn warn_if_secret_generated(settings: &Settings) {
    if settings.secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: signing with a random secret; tokens will not survive a restart"
        );
    }
}

/// The socket at `BIND`, and its address.
pub async fn listen(settings: &Settings) -> Result<(TcpListener, String), ExitCode> {
    match TcpListener::bind(&settings.bind).await {
        Ok(listener) => {
            let addr =
                listener.local_addr().map_or_else(|_| settings.bind.clone(), |a| a.to_string());
            Ok((listener, addr))
        }
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", settings.bind);
            Err(ExitCode::FAILURE)
        }
    }
}

/// Report a configuration error; the exit code to stop with.
pub fn configuration_error(message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("configuration error: {message}");
    ExitCode::from(2)
}

/// How to get a token for a server at `addr`, and the command to try with it. Never a token
/// itself: anything printed at start-up ends up in logs that others read.
#[allow(dead_code)] // The demo server is where tokens come from: it has no use for this.
pub fn how_to_get_a_token(try_with: &str) {
    println!(
        "get a token from the demo server started with the same JWT_SECRET and JWT_ISSUER \
         (cargo run --example server): curl -s -X POST 127.0.0.1:3000/auth \
         -H 'content-type: application/json' -d '{{\"user\":\"alice\",\"password\":\"wonderland\"}}'"
    );
    println!("then try: {try_with}");
}
