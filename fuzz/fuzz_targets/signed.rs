//! The full verify-and-renew path on arbitrary headers and payloads, signed with the real key.
#![no_main]

#[path = "../harness.rs"]
mod harness;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static HARNESS: LazyLock<harness::Harness> = LazyLock::new(harness::Harness::new);

fuzz_target!(|data: &[u8]| {
    let _ = harness::signed_parts(&HARNESS, data);
});
