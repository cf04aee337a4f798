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
#[path = "../shared/startup.rs"]
mod startup;

use std::process::ExitCode;

use tower_sliding_jwt::SystemClock;

#[tokio::main]
async fn main() -> ExitCode {
    let demo = std::env::args().skip(1).any(|arg| arg == "--demo");
    let default_filter = if demo { "warn" } else { "info,tower_sliding_jwt=debug" };
    startup::init_tracing(default_filter);
    let settings = match startup::settings("127.0.0.1:3000") {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    if demo {
        return demo::run(settings).await;
    }
    startup::warn_if_secret_generated(&settings);
    // `--no-auth` serves the same routes without the layer: only for measuring what the layer
    // costs (scripts/throughput.sh).
    let no_auth = std::env::args().skip(1).any(|arg| arg == "--no-auth");
    let router = match no_auth {
        false => app::app(&settings, SystemClock).map(|(router, _)| router),
        true => app::app_without_auth(&settings, SystemClock),
    };
    let router = match router {
        Ok(router) => router,
        Err(e) => return startup::configuration_error(&e),
    };
    let (listener, addr) = match startup::listen(&settings).await {
        Ok(bound) => bound,
        Err(code) => return code,
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
