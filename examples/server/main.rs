//! The demo server: the JWT login API of the original tutorial, with sliding renewal.
//!
//! ```sh
//! cargo run --example server             # serve on 127.0.0.1:3000
//! cargo run --example server -- --demo   # scripted walk-through, then exit
//! cargo run --example server -- --no-auth   # the same routes without the layer (benchmarks)
//! ```
//!
//! Environment: `BIND`, `JWT_SECRET` (at least 32 bytes; random if unset), `JWT_ISSUER`
//! (`demo`), `TOKEN_TTL_SECS` (300), `REFRESH_WITHIN_SECS` (150), `MAX_SESSION_SECS` (86400),
//! `REFRESH_MODE` (`inject` or `advise`). Demo users: `admin`/`admin`, `alice`/`wonderland`.

mod app;
mod demo;
#[path = "../shared/settings.rs"]
mod settings;

use std::process::ExitCode;

use tower_sliding_jwt::SystemClock;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let demo = std::env::args().skip(1).any(|arg| arg == "--demo");
    let default_filter = if demo { "warn" } else { "info,tower_sliding_jwt=debug" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .init();

    let settings = match app::Settings::from_env("127.0.0.1:3000") {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("configuration error: {message}");
            return ExitCode::from(2);
        }
    };
    if demo {
        return demo::run(settings).await;
    }
    if settings.secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: signing with a random secret; tokens will not survive a restart"
        );
    }
    // `--no-auth` serves the same routes without the layer: only for measuring what the layer
    // costs (scripts/throughput.sh).
    let no_auth = std::env::args().skip(1).any(|arg| arg == "--no-auth");
    let router = match no_auth {
        false => app::app(&settings, SystemClock).map(|(router, _)| router),
        true => app::app_without_auth(&settings, SystemClock),
    };
    let router = match router {
        Ok(router) => router,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&settings.bind).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", settings.bind);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => {
            println!("demo API listening on http://{addr}  (users: admin/admin, alice/wonderland)")
        }
        Err(_) => println!("demo API listening on {}", settings.bind),
    }
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
