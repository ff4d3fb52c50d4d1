//! Any bytes as an uploaded voice note, with each file-name hint a client may send: decoded to
//! 16 kHz mono within the limits, or refused with an error; never a panic out of
//! `decode_audio`.
//!
//! `decode_audio` turns a panic inside a third-party decoder into `corrupt_audio` on purpose
//! (symphonia overflows on some malformed headers). libfuzzer-sys's panic hook aborts at the
//! panic itself, before that catch, so the init below replaces the hook with a silent one: a
//! caught panic is then the handled error it is, and a panic that escapes `decode_audio` still
//! reaches libfuzzer-sys's own `catch_unwind`, which aborts and keeps the input.
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

fuzz_target!(init: std::panic::set_hook(Box::new(|_| {})), |data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let _ = decode_audio(bytes, HINTS[first as usize % HINTS.len()]);
});
