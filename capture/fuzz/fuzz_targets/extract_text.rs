//! Any text through the extractors that read it: a pasted contact card, OCR lines, and a voice
//! note's transcript (dates such as 明天下午三点, amounts, promises). Never a panic.
#![no_main]

use chrono::TimeZone;
use fieldline_capture::card::extract_text;
use fieldline_capture::followup::{Catalogue, extract};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = extract_text(&text);
    let recorded = chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap();
    let _ = extract(&text, recorded, &Catalogue::default());
});
