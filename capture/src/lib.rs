//! Fieldline capture: turns what a rep photographs or says into records, offline on CPU, so
//! reps stop typing. Business cards become contacts and shelf photos price and stock reports
//! (PP-OCR on ONNX Runtime, or Tesseract, behind `OcrEngine`); voice notes become transcripts
//! and follow-ups (Whisper through whisper.cpp).

pub mod card;
pub mod followup;
pub mod image_input;
pub mod models;
pub mod ocr;
pub mod record;
pub mod serve;
pub mod shelf;
pub mod voice;

pub use card::CardFields;
pub use image_input::{ImageError, decode_image};
pub use models::ModelDir;
pub use ocr::{OcrEngine, TextLine};
