//! The in-process and example-driven suite, one binary: every rule of the layer, the example
//! servers over the wire, the testing kit, and the crate's own checks (layout, public API).
//! Redis, the browser, the fleet and the soak have binaries of their own (they need services or
//! long runs).

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod axum_routes;
mod demo_api;
mod examples;
mod fuzz_entry_points;
mod grpc_server;
mod hyper_server;
mod layout;
mod logging;
mod per_route;
mod public_api;
mod remote_keys;
mod renewal;
mod renewal_properties;
mod testing_kit;
