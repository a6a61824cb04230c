//! Source → parse → check → (when clean) a bounded dry run on the simulated backend.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = coordops::testing::fuzz::dry_run_text(text);
});
