//! Text detection and recognition behind one trait, so engines can be swapped and compared.

pub mod detect;
pub mod ppocr;

use image::RgbImage;
use serde::Serialize;

/// One line of text found in an image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextLine {
    pub text: String,
    /// Mean per-character confidence, 0..1.
    pub confidence: f32,
    /// `[x1, y1, x2, y2]` in pixels of the decoded (orientation-corrected) image.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
}

impl TextLine {
    pub fn height(&self) -> f32 {
        self.bbox[3] - self.bbox[1]
    }
    pub fn center_y(&self) -> f32 {
        (self.bbox[1] + self.bbox[3]) / 2.0
    }
}

/// An OCR engine: image in, lines in reading order out.
pub trait OcrEngine: Send {
    fn name(&self) -> &'static str;
    fn read_lines(&mut self, image: &RgbImage) -> anyhow::Result<Vec<TextLine>>;
}

/// Top-to-bottom, then left-to-right for boxes on the same line.
pub fn reading_order(lines: &mut [TextLine]) {
    lines.sort_by(|a, b| {
        let same_row = (a.center_y() - b.center_y()).abs() < 0.5 * a.height().min(b.height());
        if same_row {
            a.bbox[0].total_cmp(&b.bbox[0])
        } else {
            a.center_y().total_cmp(&b.center_y())
        }
    });
}
