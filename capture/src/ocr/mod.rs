//! Text detection and recognition behind one trait, so engines can be swapped and compared.

pub(crate) mod components;
pub mod detect;
pub mod ppocr;
pub mod tesseract;

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

/// How large the text is in the frame, which decides how much detail detection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextScale {
    /// A document filling the photo (a business card): large print, coarser detection is
    /// as accurate and faster.
    Document,
    /// A scene (a shelf): small print far away, every pixel counts.
    Scene,
}

/// An OCR engine: image in, lines in reading order out.
pub trait OcrEngine: Send {
    fn name(&self) -> &'static str;
    fn read_lines(&mut self, image: &RgbImage, scale: TextScale) -> anyhow::Result<Vec<TextLine>>;

    /// Reads each crop as one line, without detection: `(text, confidence)` per crop, in
    /// order. For a second look at part of a line (a price's raised decimals). By default each
    /// crop is read as a document and its lines joined.
    fn read_crops(&mut self, crops: &[RgbImage]) -> anyhow::Result<Vec<(String, f32)>> {
        crops
            .iter()
            .map(|crop| {
                let lines = self.read_lines(crop, TextScale::Document)?;
                let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
                let confidence = lines.iter().map(|l| l.confidence).fold(1.0, f32::min);
                Ok((
                    text.join(" "),
                    if lines.is_empty() { 0.0 } else { confidence },
                ))
            })
            .collect()
    }
}

/// Top-to-bottom, then left-to-right within a row. Rows are formed first (a line joins the
/// current row when its centre lies within half a line height of the row's first line), so
/// the order is a total order whatever the boxes look like.
pub fn reading_order(lines: &mut Vec<TextLine>) {
    lines.sort_by(|a, b| a.center_y().total_cmp(&b.center_y()));
    let mut ordered = Vec::with_capacity(lines.len());
    let mut row: Vec<TextLine> = Vec::new();
    for line in lines.drain(..) {
        if let Some(first) = row.first()
            && (line.center_y() - first.center_y()).abs() >= 0.5 * first.height().min(line.height())
        {
            row.sort_by(|a, b| a.bbox[0].total_cmp(&b.bbox[0]));
            ordered.append(&mut row);
        }
        row.push(line);
    }
    row.sort_by(|a, b| a.bbox[0].total_cmp(&b.bbox[0]));
    ordered.append(&mut row);
    *lines = ordered;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(x: f32, y: f32, h: f32) -> TextLine {
        TextLine {
            text: format!("{x},{y}"),
            confidence: 1.0,
            bbox: [x, y, x + 50.0, y + h],
        }
    }

    #[test]
    fn rows_read_left_to_right() {
        let mut lines = vec![
            line(200.0, 12.0, 20.0),
            line(10.0, 100.0, 20.0),
            line(10.0, 10.0, 20.0),
        ];
        reading_order(&mut lines);
        let xs: Vec<(f32, f32)> = lines.iter().map(|l| (l.bbox[0], l.bbox[1])).collect();
        assert_eq!(xs, [(10.0, 10.0), (200.0, 12.0), (10.0, 100.0)]);
    }

    proptest! {
        #[test]
        fn any_boxes_are_ordered_without_panicking(boxes in proptest::collection::vec((0f32..2000.0, 0f32..2000.0, 1f32..80.0), 0..60)) {
            let mut lines: Vec<TextLine> = boxes.iter().map(|(x, y, h)| line(*x, *y, *h)).collect();
            let n = lines.len();
            reading_order(&mut lines);
            prop_assert_eq!(lines.len(), n);
        }
    }
}
