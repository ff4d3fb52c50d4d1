//! The JSON objects the capture tool writes, in the formats fixed by `../shared/eval`
//! (extra keys — OCR lines, timings — are allowed there and kept for debugging).

use crate::card;
use crate::image_input::{self, ImageError};
use crate::ocr::{OcrEngine, TextLine, TextScale};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Serialize)]
pub struct Timings {
    pub decode_ms: f64,
    pub ocr_ms: f64,
    pub extract_ms: f64,
}

/// What every reading reports besides its result: engine, image size, OCR lines, timings.
#[derive(Debug, Serialize)]
pub struct Reading {
    pub engine: &'static str,
    pub width: u32,
    pub height: u32,
    pub lines: Vec<TextLine>,
    pub timings: Timings,
}

/// One business card read.
#[derive(Debug, Serialize)]
pub struct CardRecord {
    pub file: String,
    #[serde(flatten)]
    pub fields: card::CardFields,
    #[serde(flatten)]
    pub reading: Reading,
}

/// One shelf photo audited.
#[derive(Debug, Serialize)]
pub struct ShelfRecord {
    pub file: String,
    #[serde(flatten)]
    pub audit: crate::shelf::ShelfAudit,
    #[serde(flatten)]
    pub reading: Reading,
}

/// What a bad input produces instead of a record, so a batch can go on.
#[derive(Debug, Serialize)]
pub struct ErrorRecord {
    pub file: String,
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Output {
    Card(Box<CardRecord>),
    Shelf(Box<ShelfRecord>),
    Voice(Box<crate::voice::VoiceRecord>),
    Error(ErrorRecord),
}

/// What to read an image as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Card,
    Shelf,
}

impl Kind {
    /// The plural the CLI reports counts in.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Card => "cards",
            Kind::Shelf => "shelves",
        }
    }
}

pub(crate) fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

pub fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub(crate) fn error(file: String, code: &'static str, message: String) -> Output {
    Output::Error(ErrorRecord {
        file,
        error: ErrorDetail { code, message },
    })
}

/// Reads one image; every failure becomes an error object, never a panic or an abort.
pub fn read_image(engine: &mut dyn OcrEngine, kind: Kind, file: String, bytes: &[u8]) -> Output {
    let start = Instant::now();
    let image = match image_input::decode_image(bytes) {
        Ok(img) => img,
        Err(e) => return error(file, e.code(), e.to_string()),
    };
    let decode_ms = ms(start);
    let start = Instant::now();
    let scale = match kind {
        Kind::Card => TextScale::Document,
        Kind::Shelf => TextScale::Scene,
    };
    let lines = engine
        .read_lines(&image, scale)
        .and_then(|lines| match kind {
            Kind::Card => Ok(lines),
            Kind::Shelf => crate::shelf::read_raised_decimals(engine, &image, lines),
        });
    let lines = match lines {
        Ok(lines) => lines,
        Err(e) => return error(file, "ocr_failed", format!("{e:#}")),
    };
    let ocr_ms = ms(start);
    let start = Instant::now();
    let reading = |lines, extract_ms| Reading {
        engine: engine.name(),
        width: image.width(),
        height: image.height(),
        lines,
        timings: Timings {
            decode_ms,
            ocr_ms,
            extract_ms,
        },
    };
    match kind {
        Kind::Card => {
            let fields = card::extract(&lines);
            let reading = reading(lines, ms(start));
            Output::Card(Box::new(CardRecord {
                file,
                fields,
                reading,
            }))
        }
        Kind::Shelf => {
            let audit = crate::shelf::audit(&image, &lines);
            let reading = reading(lines, ms(start));
            Output::Shelf(Box::new(ShelfRecord {
                file,
                audit,
                reading,
            }))
        }
    }
}

/// Reads one card image.
pub fn read_card(engine: &mut dyn OcrEngine, file: String, bytes: &[u8]) -> Output {
    read_image(engine, Kind::Card, file, bytes)
}

/// Reads a card image file.
pub fn read_card_file(engine: &mut dyn OcrEngine, path: &Path) -> Output {
    read_image_file(engine, Kind::Card, path)
}

/// Reads an input file with the upload size limit checked before the bytes are loaded;
/// a missing, unreadable or oversized file becomes its error object.
pub(crate) fn read_upload(path: &Path) -> Result<(String, Vec<u8>, std::fs::Metadata), Output> {
    let file = base_name(path);
    let metadata = match std::fs::metadata(path) {
        Err(e) => {
            return Err(error(
                file,
                "unreadable_file",
                format!("{}: {e}", path.display()),
            ));
        }
        Ok(m) if m.len() as usize > image_input::MAX_BYTES => {
            let e = ImageError::TooLarge(m.len() as usize);
            return Err(error(file, e.code(), e.to_string()));
        }
        Ok(m) => m,
    };
    match std::fs::read(path) {
        Ok(bytes) => Ok((file, bytes, metadata)),
        Err(e) => Err(error(
            file,
            "unreadable_file",
            format!("{}: {e}", path.display()),
        )),
    }
}

/// Reads an image file.
pub fn read_image_file(engine: &mut dyn OcrEngine, kind: Kind, path: &Path) -> Output {
    match read_upload(path) {
        Ok((file, bytes, _)) => read_image(engine, kind, file, &bytes),
        Err(output) => output,
    }
}
