//! The in-process and example-driven suite, one binary, one module per family of rules:
//! where tokens are read (`token_sources`), what refusals look like (`rejections`, and hostile
//! bytes on the wire in `attacks`), CORS preflights and exposure (`cors`), cookie CSRF (`csrf`),
//! which responses renew (`renewal_responses`, `renewal_properties`), session limits
//! (`session_limits`), revocation (`revocation`), keys and issuers (`issuers`, `remote_keys`),
//! the token cache (`token_cache`), axum placement and per-route rules (`routes`), hyper and gRPC
//! over the wire (`hyper`, `grpc`), the demo's fixed interface (`demo`), a smoke test per small
//! example (`examples`), the testing kit, logging, fuzzed entry points, and the crate's own
//! checks (`layout`, `public_api`). Redis, the browser, the fleet and the soak have binaries of
//! their own (they need services or long runs).

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod cors;
mod csrf;
mod demo;
mod dpop;
mod examples;
mod fuzz_entry_points;
mod grpc;
mod hyper;
mod issuers;
mod layout;
mod logging;
mod metrics;
mod public_api;
mod rejections;
mod remote_keys;
mod renewal_properties;
mod renewal_responses;
mod revocation;
mod routes;
mod session_limits;
mod testing_kit;
mod token_cache;
mod token_sources;
