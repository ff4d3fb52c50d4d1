//! Shelf tags across Europe and many in China print a price's decimals small and raised
//! ("29⁹⁰"). Read at the line's height, the recogniser loses them ("29"), drops one ("290")
//! or reads them as full-size digits ("2990" for 29.90). This finds the raised glyphs right of
//! a price's digits in the image (ink by a local threshold, glyphs as connected components) and
//! reads the whole part and the decimals again on their own, each filling the recogniser's
//! height. A line is only replaced when both parts read as digits ("29" and "90").

use super::{compact, digits};
use crate::ocr::components::components;
use crate::ocr::{OcrEngine, TextLine};
use image::{RgbImage, imageops};

/// `[x1, y1, x2, y2]` of a glyph (exclusive ends), in the analysed region's pixels.
type Glyph = [u32; 4];

/// Where a price line's whole part and raised decimals are, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Split {
    whole: [f32; 4],
    decimals: [f32; 4],
}

/// Lines whose text is a bare number and whose image shows raised decimals after it are read
/// again in two parts and become one "whole.decimals" line; a separate line the detector
/// found for those decimals is dropped with them. Every other line is kept as it was.
pub fn read_raised_decimals(
    engine: &mut dyn OcrEngine,
    image: &RgbImage,
    lines: Vec<TextLine>,
) -> anyhow::Result<Vec<TextLine>> {
    let splits: Vec<(usize, Split)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_bare_number(&l.text))
        .filter_map(|(i, l)| split(image, l.bbox).map(|s| (i, s)))
        .collect();
    if splits.is_empty() {
        return Ok(lines);
    }
    let crops: Vec<RgbImage> = splits
        .iter()
        .flat_map(|(_, s)| [crop(image, s.whole), crop(image, s.decimals)])
        .collect();
    let reads = engine.read_crops(&crops)?;
    let mut lines: Vec<Option<TextLine>> = lines.into_iter().map(Some).collect();
    for ((i, s), pair) in splits.iter().zip(reads.chunks(2)) {
        let [(whole, wc), (decimals, dc)] = pair else {
            continue;
        };
        let (whole, decimals) = (compact(whole), compact(decimals));
        if !(digits(&whole, 1..=4) && digits(&decimals, 2..=2)) {
            continue;
        }
        // The detector's own box for the decimals, if it found one, is part of this price now.
        for (j, other) in lines.iter_mut().enumerate() {
            if j != *i
                && other.as_ref().is_some_and(|o| {
                    is_bare_number(&o.text) && contains(s.decimals, centre(o.bbox))
                })
            {
                *other = None;
            }
        }
        if let Some(line) = lines[*i].as_mut() {
            line.text = format!("{whole}.{decimals}");
            line.confidence = line.confidence.min(*wc).min(*dc);
            line.bbox = [
                line.bbox[0].min(s.whole[0]),
                line.bbox[1].min(s.decimals[1]),
                line.bbox[2].max(s.decimals[2]),
                line.bbox[3],
            ];
        }
    }
    Ok(lines.into_iter().flatten().collect())
}

fn is_bare_number(text: &str) -> bool {
    digits(&compact(text), 1..=5)
}

fn centre(b: [f32; 4]) -> (f32, f32) {
    ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
}

fn contains(b: [f32; 4], (x, y): (f32, f32)) -> bool {
    (b[0]..=b[2]).contains(&x) && (b[1]..=b[3]).contains(&y)
}

fn crop(image: &RgbImage, b: [f32; 4]) -> RgbImage {
    let x = b[0].max(0.0) as u32;
    let y = b[1].max(0.0) as u32;
    let w = (b[2].min(image.width() as f32) as u32)
        .saturating_sub(x)
        .max(1);
    let h = (b[3].min(image.height() as f32) as u32)
        .saturating_sub(y)
        .max(1);
    imageops::crop_imm(image, x, y, w, h).to_image()
}

/// The whole part's glyphs and the raised decimals right after them, if the image around the
/// line `text` shows both. The region looked at reaches one line height right of the box (the
/// detector often stops before the decimals) and a quarter above and below.
fn split(image: &RgbImage, text: [f32; 4]) -> Option<Split> {
    let h = text[3] - text[1];
    if h < 8.0 {
        return None;
    }
    let (iw, ih) = (image.width() as f32, image.height() as f32);
    let region = [
        (text[0] - 0.15 * h).max(0.0) as u32,
        (text[1] - 0.25 * h).max(0.0) as u32,
        (text[2] + 1.0 * h).min(iw) as u32,
        (text[3] + 0.25 * h).min(ih) as u32,
    ];
    // A box may lie partly or wholly outside the image.
    let (rw, rh) = (
        region[2].saturating_sub(region[0]),
        region[3].saturating_sub(region[1]),
    );
    if rw < 4 || rh < 4 {
        return None;
    }
    let luma: Vec<f32> = (region[1]..region[3])
        .flat_map(|y| (region[0]..region[2]).map(move |x| (x, y)))
        .map(|(x, y)| {
            let p = image.get_pixel(x, y).0;
            0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
        })
        .collect();
    let local = local_means(&luma, rw, rh, (0.3 * h).max(4.0) as usize);
    let offset = |g: &Glyph, m: f32| -> [f32; 4] {
        let gh = (g[3] - g[1]) as f32;
        [
            g[0] as f32 + region[0] as f32 - m * gh,
            g[1] as f32 + region[1] as f32 - m * gh,
            g[2] as f32 + region[0] as f32 + m * gh,
            g[3] as f32 + region[1] as f32 + m * gh,
        ]
    };
    // Dark print on light paper first, then light print on a dark label.
    [true, false].into_iter().find_map(|dark_ink| {
        // Ink differs from its neighbourhood by more than 15 %: a local threshold holds under
        // the light falling off across a tag and beside a dark rail, where one level did not.
        let mut ink: Vec<bool> = luma
            .iter()
            .zip(&local)
            .map(|(&v, &m)| {
                if dark_ink {
                    v < 0.85 * m
                } else {
                    v > 1.15 * m.max(8.0)
                }
            })
            .collect();
        erase_rules(&mut ink, rw as usize, rh as usize);
        let glyphs = glyphs(&ink, rw, rh);
        let (whole, decimals) = raised_after_whole(
            &glyphs,
            text[0] - region[0] as f32,
            text[2] - region[0] as f32,
            h,
        )?;
        Some(Split {
            whole: offset(&whole, 0.15),
            decimals: offset(&decimals, 0.25),
        })
    })
}

/// A tag's frame edge or a display's border often touches the decimals and would join them
/// into one tall shape. The region is half again as tall as the line and a line height wider,
/// so no glyph inks 70 % of a column's height or of a row's width: such columns and rows are
/// rules, and are erased.
fn erase_rules(ink: &mut [bool], w: usize, h: usize) {
    let columns: Vec<usize> = (0..w)
        .filter(|&x| (0..h).filter(|&y| ink[y * w + x]).count() * 10 >= h * 7)
        .collect();
    let rows: Vec<usize> = (0..h)
        .filter(|&y| ink[y * w..(y + 1) * w].iter().filter(|&&i| i).count() * 10 >= w * 7)
        .collect();
    for x in columns {
        (0..h).for_each(|y| ink[y * w + x] = false);
    }
    for y in rows {
        ink[y * w..(y + 1) * w].fill(false);
    }
}

/// The mean of each pixel's `(2r+1)²` neighbourhood (clipped at the edges), from a summed-area
/// table.
fn local_means(values: &[f32], w: u32, h: u32, r: usize) -> Vec<f32> {
    let (w, h) = (w as usize, h as usize);
    let mut sums = vec![0f64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0f64;
        for x in 0..w {
            row += values[y * w + x] as f64;
            sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + row;
        }
    }
    let mut out = Vec::with_capacity(values.len());
    for y in 0..h {
        let (y1, y2) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x1, x2) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = sums[y2 * (w + 1) + x2] - sums[y1 * (w + 1) + x2] - sums[y2 * (w + 1) + x1]
                + sums[y1 * (w + 1) + x1];
            out.push((sum / ((x2 - x1) * (y2 - y1)) as f64) as f32);
        }
    }
    out
}

/// Connected components (8-neighbours) of the ink mask, as boxes; those touching the
/// region's edge are a frame, a rail or a neighbour, not a glyph of this price.
fn glyphs(ink: &[bool], w: u32, h: u32) -> Vec<Glyph> {
    let (w, h) = (w as usize, h as usize);
    components(ink, w, true)
        .into_iter()
        .filter_map(|pixels| {
            let (mut x1, mut y1, mut x2, mut y2) = (usize::MAX, usize::MAX, 0, 0);
            for i in pixels {
                let (x, y) = (i % w, i / w);
                (x1, y1, x2, y2) = (x1.min(x), y1.min(y), x2.max(x + 1), y2.max(y + 1));
            }
            (x1 > 0 && y1 > 0 && x2 < w && y2 < h)
                .then_some([x1 as u32, y1 as u32, x2 as u32, y2 as u32])
        })
        .collect()
}

/// The whole part (the tallest glyphs centred in the text box, `x1..x2` in region pixels) and
/// the raised run right after it: glyphs 25–72 % of their height that sit in its upper part,
/// starting within 0.6 of its height of its last glyph. Both as the union of their glyphs.
fn raised_after_whole(glyphs: &[Glyph], x1: f32, x2: f32, line_h: f32) -> Option<(Glyph, Glyph)> {
    let height = |g: &Glyph| (g[3] - g[1]) as f32;
    let cx = |g: &Glyph| (g[0] + g[2]) as f32 / 2.0;
    // The digits' height is the median of the tall glyphs in the box (a detector's box may
    // hold a second line); a tag's frame edge or a bar is thin and taller than any digit.
    let mut tall: Vec<&Glyph> = glyphs
        .iter()
        .filter(|g| {
            (x1..=x2).contains(&cx(g))
                && height(g) >= 0.3 * line_h
                && (g[2] - g[0]) as f32 >= 0.15 * height(g)
        })
        .collect();
    tall.sort_by(|a, b| height(a).total_cmp(&height(b)));
    let reference = *tall.get(tall.len() / 2)?;
    let big = height(reference);
    let top = reference[1] as f32;
    let whole: Vec<&Glyph> = glyphs
        .iter()
        .filter(|g| {
            (0.75 * big..=1.25 * big).contains(&height(g))
                && (g[1] as f32 - top).abs() <= 0.2 * big
                && (x1 - 0.2 * big..=x2 + 0.2 * big).contains(&cx(g))
        })
        .collect();
    let whole = union(whole.iter().copied())?;
    let mut raised: Vec<&Glyph> = glyphs
        .iter()
        .filter(|g| {
            g[0] as f32 >= whole[2] as f32 - 0.15 * big
                && height(g) >= 0.2 * big
                && height(g) <= 0.72 * big
                && g[1] as f32 >= top - 0.3 * big
                && g[3] as f32 <= top + 0.75 * big
        })
        .collect();
    raised.sort_by_key(|g| g[0]);
    // A run: starts close to the whole part, each glyph close to the one before.
    let mut run: Vec<&Glyph> = Vec::new();
    let mut reach = whole[2] as f32 + 0.6 * big;
    for g in raised {
        if g[0] as f32 > reach {
            break;
        }
        if run.is_empty() && height(g) < 0.25 * big {
            continue;
        }
        reach = reach.max(g[2] as f32 + 0.4 * big);
        run.push(g);
    }
    let mut decimals = union(run.into_iter())?;
    // Two small digits are at least 0.6 of a big one wide; narrower, the second is joined to a
    // frame or lost in glare: the crop is widened to two digits and the recogniser decides.
    decimals[2] = decimals[2].max(decimals[0] + (0.6 * big) as u32);
    Some((whole, decimals))
}

fn union<'a>(mut glyphs: impl Iterator<Item = &'a Glyph>) -> Option<Glyph> {
    let first = *glyphs.next()?;
    Some(glyphs.fold(first, |u, g| {
        [
            u[0].min(g[0]),
            u[1].min(g[1]),
            u[2].max(g[2]),
            u[3].max(g[3]),
        ]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::TextScale;
    use image::Rgb;

    fn fill(img: &mut RgbImage, x: std::ops::Range<u32>, y: std::ops::Range<u32>, c: [u8; 3]) {
        for yy in y {
            for xx in x.clone() {
                img.put_pixel(xx, yy, Rgb(c));
            }
        }
    }

    /// A light tag on a dark rail with a price drawn as blocks: two digits 40 px tall from
    /// x = 100, then two glyphs 16 px tall at the digits' top (raised decimals) or at their
    /// baseline (a unit after the price), the tag's frame edge right after them.
    fn tag(raised: bool) -> RgbImage {
        let mut img = RgbImage::from_pixel(400, 200, Rgb([35, 35, 40]));
        fill(&mut img, 60..300, 40..160, [200, 205, 190]);
        fill(&mut img, 100..124, 80..120, [20, 20, 20]);
        fill(&mut img, 130..154, 80..120, [20, 20, 20]);
        let y = if raised { 80..96 } else { 104..120 };
        fill(&mut img, 158..168, y.clone(), [20, 20, 20]);
        fill(&mut img, 171..181, y, [20, 20, 20]);
        // The display's border: one dark column through the whole tag, touching the decimals.
        fill(&mut img, 181..182, 40..160, [60, 60, 60]);
        img
    }

    #[test]
    fn raised_decimals_are_found_after_the_whole_part_and_nothing_else_is() {
        let img = tag(true);
        // The detector's box stops before the decimals, as it often does on real tags.
        let s = split(&img, [96.0, 74.0, 156.0, 126.0]).expect("raised decimals");
        let (w, d) = (s.whole, s.decimals);
        assert!(
            (w[0] - 94.0).abs() <= 1.0 && (w[2] - 160.0).abs() <= 1.0,
            "{w:?}"
        );
        assert!(w[1] < 80.0 && w[3] > 120.0, "{w:?}");
        assert!(d[0] <= 158.0 && d[0] >= 150.0 && d[2] >= 181.0, "{d:?}");
        assert!(d[1] <= 80.0 && d[3] >= 96.0 && d[3] < 104.0, "{d:?}");
        // At the baseline the small glyphs are a unit ("kr"), not decimals.
        assert_eq!(split(&tag(false), [96.0, 74.0, 156.0, 126.0]), None);
        // A flat patch has no glyphs at all.
        let blank = RgbImage::from_pixel(400, 200, Rgb([200, 200, 200]));
        assert_eq!(split(&blank, [96.0, 74.0, 156.0, 126.0]), None);
    }

    #[test]
    fn light_print_on_a_dark_label_is_read_too() {
        let mut img = tag(true);
        for p in img.pixels_mut() {
            p.0 = p.0.map(|v| 255 - v);
        }
        assert!(split(&img, [96.0, 74.0, 156.0, 126.0]).is_some());
    }

    /// Answers crops with scripted reads, in order, and counts what it was asked.
    struct Scripted(Vec<(&'static str, f32)>, usize);

    impl OcrEngine for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn read_lines(&mut self, _: &RgbImage, _: TextScale) -> anyhow::Result<Vec<TextLine>> {
            unreachable!("only crops are read")
        }
        fn read_crops(&mut self, crops: &[RgbImage]) -> anyhow::Result<Vec<(String, f32)>> {
            self.1 += crops.len();
            Ok(self
                .0
                .drain(..crops.len())
                .map(|(t, c)| (t.into(), c))
                .collect())
        }
    }

    fn line(text: &str, bbox: [f32; 4]) -> TextLine {
        TextLine {
            text: text.into(),
            confidence: 0.9,
            bbox,
        }
    }

    #[test]
    fn a_price_read_again_in_two_parts_replaces_the_line_and_its_decimals_box() {
        let img = tag(true);
        let lines = vec![
            line("290", [96.0, 74.0, 156.0, 126.0]),
            // The detector's own box around the decimals.
            line("90", [157.0, 79.0, 182.0, 97.0]),
            line("Tomater", [70.0, 45.0, 150.0, 60.0]),
        ];
        let mut engine = Scripted(vec![("29", 0.95), ("90", 0.8)], 0);
        let out = read_raised_decimals(&mut engine, &img, lines.clone()).unwrap();
        assert_eq!(engine.1, 2, "the whole part and the decimals");
        let texts: Vec<&str> = out.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["29.90", "Tomater"]);
        assert_eq!(out[0].confidence, 0.8);
        assert!(
            out[0].bbox[2] >= 181.0,
            "the box takes in the decimals: {:?}",
            out[0].bbox
        );

        // Decimals that do not read as two digits leave every line as it was.
        let mut engine = Scripted(vec![("29", 0.95), ("9d", 0.7)], 0);
        let out = read_raised_decimals(&mut engine, &img, lines.clone()).unwrap();
        assert_eq!(out, lines);

        // No bare number, no second look.
        let mut engine = Scripted(Vec::new(), 0);
        let words = vec![line("Tomater", [70.0, 45.0, 150.0, 60.0])];
        assert_eq!(
            read_raised_decimals(&mut engine, &img, words.clone()).unwrap(),
            words
        );
        assert_eq!(engine.1, 0);
    }

    #[test]
    fn rules_are_erased_and_glyphs_beside_them_kept() {
        // 12 × 10: a glyph at x 2..5, y 3..7 touching a full-height rule at x 5 and a
        // full-width rule at y 9.
        let (w, h) = (12usize, 10usize);
        let mut ink = vec![false; w * h];
        for y in 3..7 {
            for x in 2..5 {
                ink[y * w + x] = true;
            }
        }
        (0..h).for_each(|y| ink[y * w + 5] = true);
        (0..w).for_each(|x| ink[9 * w + x] = true);
        assert!(
            glyphs(&ink, w as u32, h as u32).is_empty(),
            "joined to the rules"
        );
        erase_rules(&mut ink, w, h);
        assert_eq!(glyphs(&ink, w as u32, h as u32), [[2, 3, 5, 7]]);
    }

    #[test]
    fn local_means_average_the_clipped_neighbourhood() {
        let values = [0.0, 3.0, 6.0, 9.0];
        // 4 × 1, radius 1: each pixel with its neighbours inside the row.
        assert_eq!(local_means(&values, 4, 1, 1), [1.5, 3.0, 6.0, 7.5]);
    }

    proptest::proptest! {
        #[test]
        fn any_box_on_any_image_is_safe(
            w in 1u32..80, h in 1u32..60, seed in 0u32..1000,
            b in (-20f32..100.0, -20f32..80.0, 0f32..90.0, 0f32..70.0),
        ) {
            let img = RgbImage::from_fn(w, h, |x, y| {
                let v = ((x * 31 + y * 17 + seed) % 7 * 36) as u8;
                Rgb([v, v, v])
            });
            if let Some(s) = split(&img, [b.0, b.1, b.0 + b.2, b.1 + b.3]) {
                proptest::prop_assert!(s.whole[0] < s.whole[2] && s.decimals[0] < s.decimals[2]);
                let _ = crop(&img, s.whole);
                let _ = crop(&img, s.decimals);
            }
        }
    }
}
