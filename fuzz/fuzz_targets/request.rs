//! Token extraction from arbitrary requests: the URI and raw header lines.
#![no_main]

#[path = "../harness.rs"]
mod harness;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static HARNESS: LazyLock<harness::Harness> = LazyLock::new(harness::Harness::new);

fuzz_target!(|data: &[u8]| harness::request_bytes(&HARNESS, data));
