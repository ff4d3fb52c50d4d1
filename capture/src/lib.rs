//! Fieldline capture: turns what a rep photographs into records, offline on CPU, so reps stop
//! typing. This slice reads business cards: PP-OCR (ONNX Runtime) finds and reads the text,
//! `card` turns lines into a contact.

pub mod card;
pub mod followup;
pub mod image_input;
pub mod models;
pub mod ocr;
pub mod record;
pub mod serve;
pub mod shelf;

pub use card::CardFields;
pub use image_input::{ImageError, decode_image};
pub use models::ModelDir;
pub use ocr::{OcrEngine, TextLine};
