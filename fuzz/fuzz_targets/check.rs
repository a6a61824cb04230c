//! Source → parse → check → diagnostics rendered in every format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if coordops::testing::fuzz::avoids_known_hangs(text) {
        let _ = coordops::testing::fuzz::check_text(text);
    }
});
