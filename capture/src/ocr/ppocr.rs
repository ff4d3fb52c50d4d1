//! PP-OCRv6 (small) on ONNX Runtime: DB text detection, 0/180° direction classification and
//! multilingual recognition, the models shipped in the `rapidocr` wheel. The runtime library is
//! loaded dynamically from the `onnxruntime` wheel, so nothing is downloaded at build time.

use super::detect::{DetectParams, quad_bounds, regions};
use super::{OcrEngine, TextLine, TextScale, reading_order};
use crate::models::ModelDir;
use anyhow::{Context, anyhow, bail};
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use ndarray::Array4;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use std::sync::Once;

/// Detection input: the shorter side is scaled up to at least this (the models' training
/// setup). A scene photo is scaled up until its longer side reaches the maximum: shelf tags
/// in a small photo (a 779 × 672 web image) are too small for the detector at 736, and at
/// 1600 it finds most of their prices (see capture/devset/eval_real.py).
const fn det_min_side(scale: TextScale) -> u32 {
    match scale {
        TextScale::Document => 736,
        TextScale::Scene => det_max_side(TextScale::Scene),
    }
}
/// And the longer side is kept under this, bounding latency on big photos: a card's print is
/// large (1280 reads real card photos as well as 1600 and ~18 % faster, see
/// capture/devset/eval_real.py), a shelf's small.
const fn det_max_side(scale: TextScale) -> u32 {
    match scale {
        TextScale::Document => 1280,
        TextScale::Scene => 1600,
    }
}
const REC_HEIGHT: u32 = 48;
/// Short lines (a shelf tag's "29.90") are padded to this width, not to the 320 the models
/// were trained with: the padding was half the recognition time on a shelf photo's many
/// short lines, and reading them narrower lost nothing (see the README's shelf figures).
const REC_MIN_WIDTH: u32 = 160;
const REC_MAX_WIDTH: u32 = 1600;
const REC_BATCH: usize = 6;
const CLS_WIDTH: u32 = 192;
const CLS_THRESH: f32 = 0.9;
/// Lines whose mean character confidence is lower are noise, not text.
const TEXT_SCORE: f32 = 0.5;

pub struct PpOcr {
    det: Session,
    cls: Session,
    rec: Session,
    /// Index 0 is the CTC blank; the last entry is the space character.
    dictionary: Vec<String>,
    params: DetectParams,
}

static RUNTIME: Once = Once::new();

/// Loads `libonnxruntime.so` from the model directory once per process.
fn init_runtime(models: &ModelDir) -> anyhow::Result<()> {
    let lib = models.require("onnxruntime/libonnxruntime.so")?;
    let mut result = Ok(());
    RUNTIME.call_once(|| {
        result = ort::init_from(lib.to_string_lossy().to_string())
            .with_name("fieldline-capture")
            .commit()
            .map(|_| ())
            .map_err(|e| anyhow!("loading ONNX Runtime from {}: {e}", lib.display()));
    });
    result
}

fn session(path: &std::path::Path, threads: usize) -> anyhow::Result<Session> {
    Session::builder()?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads.max(1))?
        .with_inter_threads(1)?
        .commit_from_file(path)
        .with_context(|| format!("loading model {}", path.display()))
}

impl PpOcr {
    pub fn load(models: &ModelDir, threads: usize) -> anyhow::Result<PpOcr> {
        init_runtime(models)?;
        let det = session(&models.require("ppocr/det.onnx")?, threads)?;
        let cls = session(&models.require("ppocr/cls.onnx")?, threads)?;
        let rec = session(&models.require("ppocr/rec.onnx")?, threads)?;
        let chars = rec
            .metadata()?
            .custom("character")?
            .ok_or_else(|| anyhow!("recognition model has no 'character' metadata"))?;
        let mut dictionary = vec![String::new()];
        dictionary.extend(chars.lines().map(str::to_owned));
        dictionary.push(" ".into());
        Ok(PpOcr {
            det,
            cls,
            rec,
            dictionary,
            params: DetectParams::default(),
        })
    }

    pub fn dictionary_len(&self) -> usize {
        self.dictionary.len()
    }

    /// Text lines as oriented quadrilaterals in image pixels, `[tl, tr, br, bl]`.
    fn detect(
        &mut self,
        image: &RgbImage,
        text: TextScale,
    ) -> anyhow::Result<Vec<[(f32, f32); 4]>> {
        let max_side = det_max_side(text);
        let (w, h) = image.dimensions();
        let mut scale = 1.0f32;
        let min_side = det_min_side(text);
        if w.min(h) < min_side {
            scale = min_side as f32 / w.min(h) as f32;
        }
        if (w.max(h) as f32 * scale) > max_side as f32 {
            scale = max_side as f32 / w.max(h) as f32;
        }
        let round32 = |v: f32| (((v / 32.0).round() as u32).max(1)) * 32;
        let (rw, rh) = (round32(w as f32 * scale), round32(h as f32 * scale));
        let resized = imageops::resize(image, rw, rh, FilterType::Triangle);
        let input = to_tensor(&resized, rw as usize)?;
        let outputs = self.det.run(ort::inputs![input])?;
        let (shape, prob) = outputs[0].try_extract_tensor::<f32>()?;
        let (mh, mw) = (shape[2] as usize, shape[3] as usize);
        let (sx, sy) = (w as f32 / mw as f32, h as f32 / mh as f32);
        Ok(regions(prob, mw, mh, &self.params)
            .into_iter()
            .map(|r| r.corners.map(|(x, y)| (x * sx, y * sy)))
            .collect())
    }

    /// Crops are rotated 180° where the classifier is confident they are upside down.
    fn orient(&mut self, crops: &mut [RgbImage]) -> anyhow::Result<()> {
        for chunk in crops.chunks_mut(REC_BATCH) {
            let batch: Vec<RgbImage> = chunk
                .iter()
                .map(|c| fit_height(c, REC_HEIGHT, CLS_WIDTH))
                .collect();
            let input = batch_tensor(&batch, CLS_WIDTH)?;
            let outputs = self.cls.run(ort::inputs![input])?;
            let (_, probs) = outputs[0].try_extract_tensor::<f32>()?;
            for (i, crop) in chunk.iter_mut().enumerate() {
                if probs[i * 2 + 1] > CLS_THRESH {
                    *crop = imageops::rotate180(crop);
                }
            }
        }
        Ok(())
    }

    fn recognize(&mut self, crops: &[RgbImage]) -> anyhow::Result<Vec<(String, f32)>> {
        // Similar widths batch together, so little padding is computed.
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by(|a, b| aspect(&crops[*a]).total_cmp(&aspect(&crops[*b])));
        let mut results = vec![(String::new(), 0.0); crops.len()];
        for chunk in order.chunks(REC_BATCH) {
            let max_aspect = chunk
                .iter()
                .map(|i| aspect(&crops[*i]))
                .fold(REC_MIN_WIDTH as f32 / REC_HEIGHT as f32, f32::max);
            let width = ((REC_HEIGHT as f32 * max_aspect).ceil() as u32)
                .clamp(REC_MIN_WIDTH, REC_MAX_WIDTH);
            let batch: Vec<RgbImage> = chunk
                .iter()
                .map(|i| fit_height(&crops[*i], REC_HEIGHT, width))
                .collect();
            let input = batch_tensor(&batch, width)?;
            let outputs = self.rec.run(ort::inputs![input])?;
            let (shape, probs) = outputs[0].try_extract_tensor::<f32>()?;
            let (steps, classes) = (shape[1] as usize, shape[2] as usize);
            if classes != self.dictionary.len() {
                bail!(
                    "recognition output has {classes} classes, dictionary {}",
                    self.dictionary.len()
                );
            }
            for (b, &i) in chunk.iter().enumerate() {
                let seq = &probs[b * steps * classes..(b + 1) * steps * classes];
                results[i] = ctc_greedy(seq, classes, &self.dictionary);
            }
        }
        Ok(results)
    }
}

impl OcrEngine for PpOcr {
    fn name(&self) -> &'static str {
        "ppocr-v6"
    }

    fn read_lines(&mut self, image: &RgbImage, text: TextScale) -> anyhow::Result<Vec<TextLine>> {
        let quads = self.detect(image, text)?;
        let mut crops: Vec<RgbImage> = quads
            .iter()
            .map(|q| {
                let crop = rectify(image, q);
                // Vertical boxes are read as rotated horizontal text.
                if crop.height() as f32 > 1.5 * crop.width() as f32 {
                    imageops::rotate270(&crop)
                } else {
                    crop
                }
            })
            .collect();
        let (iw, ih) = (image.width() as f32, image.height() as f32);
        let boxes = quads.iter().map(|q| {
            let b = quad_bounds(q);
            [b[0].max(0.0), b[1].max(0.0), b[2].min(iw), b[3].min(ih)]
        });
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        self.orient(&mut crops)?;
        let texts = self.recognize(&crops)?;
        let mut lines: Vec<TextLine> = boxes
            .zip(texts)
            .filter(|(_, (text, conf))| !text.trim().is_empty() && *conf >= TEXT_SCORE)
            .map(|(bbox, (text, confidence))| TextLine {
                text: text.trim().to_owned(),
                confidence,
                bbox,
            })
            .collect();
        reading_order(&mut lines);
        Ok(lines)
    }

    /// Straight to the recogniser: the crops are upright parts of lines already read.
    fn read_crops(&mut self, crops: &[RgbImage]) -> anyhow::Result<Vec<(String, f32)>> {
        self.recognize(crops)
    }
}

/// Samples the quadrilateral `[tl, tr, br, bl]` into an upright image (bilinear), so a slanted
/// or foreshortened line reaches the recogniser level.
fn rectify(image: &RgbImage, q: &[(f32, f32); 4]) -> RgbImage {
    let dist = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let w = ((dist(q[0], q[1]) + dist(q[3], q[2])) / 2.0)
        .round()
        .max(1.0) as u32;
    let h = ((dist(q[0], q[3]) + dist(q[1], q[2])) / 2.0)
        .round()
        .max(1.0) as u32;
    let (iw, ih) = (image.width() as f32, image.height() as f32);
    let mut out = RgbImage::new(w, h);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (u, v) = ((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32);
        // Bilinear interpolation of the four corners: handles mild perspective too.
        let top = (
            q[0].0 + (q[1].0 - q[0].0) * u,
            q[0].1 + (q[1].1 - q[0].1) * u,
        );
        let bottom = (
            q[3].0 + (q[2].0 - q[3].0) * u,
            q[3].1 + (q[2].1 - q[3].1) * u,
        );
        let sx = (top.0 + (bottom.0 - top.0) * v - 0.5).clamp(0.0, iw - 1.0);
        let sy = (top.1 + (bottom.1 - top.1) * v - 0.5).clamp(0.0, ih - 1.0);
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = (
            (x0 + 1).min(image.width() - 1),
            (y0 + 1).min(image.height() - 1),
        );
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |xx, yy| image.get_pixel(xx, yy).0;
        let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        for ch in 0..3 {
            let top = a[ch] as f32 * (1.0 - fx) + b[ch] as f32 * fx;
            let bottom = c[ch] as f32 * (1.0 - fx) + d[ch] as f32 * fx;
            px.0[ch] = (top * (1.0 - fy) + bottom * fy).round() as u8;
        }
    }
    out
}

fn aspect(img: &RgbImage) -> f32 {
    img.width() as f32 / img.height().max(1) as f32
}

/// Scales to `height` keeping the aspect ratio, then pads right with black up to `width`.
fn fit_height(img: &RgbImage, height: u32, width: u32) -> RgbImage {
    let w = ((height as f32 * aspect(img)).ceil() as u32).clamp(1, width);
    let scaled = imageops::resize(img, w, height, FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([0, 0, 0]));
    imageops::replace(&mut canvas, &scaled, 0, 0);
    canvas
}

/// NCHW, BGR channel order, scaled to [-1, 1] — how the Paddle models were trained.
fn fill_chw(img: &RgbImage, out: &mut [f32], width: usize) {
    let plane = img.height() as usize * width;
    for (x, y, p) in img.enumerate_pixels() {
        let i = y as usize * width + x as usize;
        for c in 0..3 {
            out[c * plane + i] = (p.0[2 - c] as f32 / 255.0 - 0.5) / 0.5;
        }
    }
}

fn to_tensor(img: &RgbImage, width: usize) -> anyhow::Result<Tensor<f32>> {
    batch_tensor(std::slice::from_ref(img), width as u32)
}

fn batch_tensor(batch: &[RgbImage], width: u32) -> anyhow::Result<Tensor<f32>> {
    let h = batch[0].height() as usize;
    let w = width as usize;
    let mut data = vec![0f32; batch.len() * 3 * h * w];
    for (b, img) in batch.iter().enumerate() {
        fill_chw(img, &mut data[b * 3 * h * w..(b + 1) * 3 * h * w], w);
    }
    let array = Array4::from_shape_vec((batch.len(), 3, h, w), data)?;
    Ok(Tensor::from_array(array)?)
}

/// Best path decoding: argmax per step, collapse repeats, drop blanks. Confidence is the mean
/// probability of the kept characters.
pub fn ctc_greedy(seq: &[f32], classes: usize, dictionary: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut n) = (0f32, 0usize);
    let mut previous = 0usize;
    for step in seq.chunks(classes) {
        let (best, p) =
            step.iter().enumerate().fold(
                (0, f32::MIN),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
        if best != 0
            && best != previous
            && let Some(ch) = dictionary.get(best)
        {
            text.push_str(ch);
            sum += p;
            n += 1;
        }
        previous = best;
    }
    (text, if n == 0 { 0.0 } else { sum / n as f32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_collapses_repeats_and_blanks() {
        let dict: Vec<String> = ["", "a", "b"].iter().map(|s| s.to_string()).collect();
        // steps: a a blank a b b blank
        let steps = [1usize, 1, 0, 1, 2, 2, 0];
        let mut seq = Vec::new();
        for s in steps {
            let mut row = vec![0.05f32; 3];
            row[s] = 0.9;
            seq.extend(row);
        }
        let (text, conf) = ctc_greedy(&seq, 3, &dict);
        assert_eq!(text, "aab");
        assert!((conf - 0.9).abs() < 1e-6);
        assert_eq!(ctc_greedy(&[], 3, &dict).0, "");
    }

    #[test]
    fn padding_keeps_aspect() {
        let img = RgbImage::from_pixel(100, 20, Rgb([255, 255, 255]));
        let out = fit_height(&img, 48, 320);
        assert_eq!(out.dimensions(), (320, 48));
        assert_eq!(out.get_pixel(239, 10).0, [255, 255, 255]);
        assert_eq!(out.get_pixel(241, 10).0, [0, 0, 0]);
    }
}
