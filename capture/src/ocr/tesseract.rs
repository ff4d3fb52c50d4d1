//! Tesseract (Debian's libtesseract and language packs) behind the same `OcrEngine` trait, so
//! the two engines can be measured on the same inputs and chosen per script.

use super::{OcrEngine, TextLine, TextScale, reading_order};
use anyhow::{Context, anyhow};
use image::RgbImage;
use std::collections::BTreeMap;

/// Languages loaded by default: Chinese (simplified) and the Latin-script languages of the dev set.
pub const DEFAULT_LANGUAGES: &str = "chi_sim+eng+deu+fra+spa";

pub struct TesseractOcr {
    /// `None` only while a call is in progress: the crate's API consumes and returns the handle.
    api: Option<tesseract::Tesseract>,
    languages: String,
}

// SAFETY: `tesseract::Tesseract` is `!Send` because it holds a raw pointer to a TessBaseAPI.
// A TessBaseAPI has no thread affinity; it must only not be used by two threads at once.
// `TesseractOcr` needs `&mut self` for every call, and shared users hold it behind a `Mutex`.
unsafe impl Send for TesseractOcr {}

impl TesseractOcr {
    pub fn load(languages: &str) -> anyhow::Result<TesseractOcr> {
        let api = tesseract::Tesseract::new(None, Some(languages)).with_context(|| {
            format!("loading Tesseract languages {languages}; install them with `apt-get install tesseract-ocr-chi-sim tesseract-ocr-eng ...`")
        })?;
        Ok(TesseractOcr {
            api: Some(api),
            languages: languages.to_owned(),
        })
    }

    pub fn languages(&self) -> &str {
        &self.languages
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3000}'..='\u{30ff}').contains(&c)
}

/// Lines from Tesseract's TSV (level 4 rows give line boxes, level 5 rows the words).
pub fn lines_from_tsv(tsv: &str) -> Vec<TextLine> {
    let mut boxes: BTreeMap<(u32, u32, u32), [f32; 4]> = BTreeMap::new();
    let mut words: BTreeMap<(u32, u32, u32), Vec<(String, f32)>> = BTreeMap::new();
    for row in tsv.lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<f32>().ok();
        let (Some(level), Some(block), Some(par), Some(line)) = (num(0), num(2), num(3), num(4))
        else {
            continue;
        };
        let key = (block as u32, par as u32, line as u32);
        let (Some(x), Some(y), Some(w), Some(h)) = (num(6), num(7), num(8), num(9)) else {
            continue;
        };
        match level as u32 {
            4 => {
                boxes.insert(key, [x, y, x + w, y + h]);
            }
            5 => {
                let text = cols[11].trim();
                let conf = num(10).unwrap_or(-1.0);
                if !text.is_empty() && conf >= 0.0 {
                    words
                        .entry(key)
                        .or_default()
                        .push((text.to_owned(), conf / 100.0));
                }
            }
            _ => {}
        }
    }
    let mut lines = Vec::new();
    for (key, ws) in words {
        let Some(bbox) = boxes.get(&key).copied() else {
            continue;
        };
        let mut text = String::new();
        for (word, _) in &ws {
            // Tesseract splits Chinese into one "word" per character; no spaces between those.
            let glue =
                text.chars().last().is_some_and(is_cjk) && word.chars().next().is_some_and(is_cjk);
            if !text.is_empty() && !glue {
                text.push(' ');
            }
            text.push_str(word);
        }
        let confidence = ws.iter().map(|w| w.1).sum::<f32>() / ws.len() as f32;
        lines.push(TextLine {
            text,
            confidence,
            bbox,
        });
    }
    lines
}

impl OcrEngine for TesseractOcr {
    fn name(&self) -> &'static str {
        "tesseract-5"
    }

    fn read_lines(&mut self, image: &RgbImage, _: TextScale) -> anyhow::Result<Vec<TextLine>> {
        let api = self
            .api
            .take()
            .ok_or_else(|| anyhow!("Tesseract handle lost by an earlier failure"))?;
        let (w, h) = (image.width() as i32, image.height() as i32);
        let mut api = api.set_frame(image.as_raw(), w, h, 3, w * 3)?.recognize()?;
        let tsv = api.get_tsv_text(0);
        self.api = Some(api);
        let mut lines = lines_from_tsv(&tsv?);
        lines.retain(|l| l.confidence >= 0.5 && !l.text.trim().is_empty());
        reading_order(&mut lines);
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_rows_become_lines_with_cjk_glued_and_latin_spaced() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   4\t1\t1\t1\t1\t0\t10\t20\t200\t40\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t40\t40\t96\t王\n\
                   5\t1\t1\t1\t1\t2\t50\t20\t40\t40\t94\t建\n\
                   4\t1\t1\t1\t2\t0\t10\t80\t300\t30\t-1\t\n\
                   5\t1\t1\t1\t2\t1\t10\t80\t100\t30\t90\tSales\n\
                   5\t1\t1\t1\t2\t2\t120\t80\t100\t30\t80\tManager\n\
                   garbage\n";
        let lines = lines_from_tsv(tsv);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "王建");
        assert_eq!(lines[0].bbox, [10.0, 20.0, 210.0, 60.0]);
        assert_eq!(lines[1].text, "Sales Manager");
        assert!((lines[1].confidence - 0.85).abs() < 1e-6);
        assert!(lines_from_tsv("").is_empty());
    }
}
