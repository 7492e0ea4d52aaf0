//! Fuzz target: `mqscope::fuzz::recordings` on arbitrary bytes (see src/fuzz.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqscope::fuzz::recordings(data);
});
