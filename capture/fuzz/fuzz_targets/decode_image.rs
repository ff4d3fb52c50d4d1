//! Any bytes as an uploaded photo: decoded within the limits, or refused with an error;
//! never a panic, never unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fieldline_capture::decode_image(data);
});
