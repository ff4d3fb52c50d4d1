//! Any bytes as an uploaded voice note, with each file-name hint a client may send: decoded to
//! 16 kHz mono within the limits, or refused with an error; never a panic.
#![no_main]

use fieldline_capture::voice::audio::decode_audio;
use libfuzzer_sys::fuzz_target;

const HINTS: [Option<&str>; 7] = [
    None,
    Some("wav"),
    Some("mp3"),
    Some("m4a"),
    Some("ogg"),
    Some("flac"),
    Some("webm"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let _ = decode_audio(bytes, HINTS[first as usize % HINTS.len()]);
});
