//! Fuzz target: `mqscope::fuzz::topics` on arbitrary bytes (see src/fuzz.rs for what it checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mqscope::fuzz::topics(data);
});
