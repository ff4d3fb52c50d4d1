//! Shelf photos to an audit: price tags (the whole printed tag, with the price read from it)
//! and empty facings. No shelf detector ships in any registry, so this combines the OCR
//! engine's text lines with image analysis: a price line is grown to the tag card around it by
//! colour, and a facing is empty where the product zone above a tag row shows bare wall
//! (flat, unsaturated, bright) over most of a facing's width, right above a price tag.

use crate::ocr::TextLine;
use image::RgbImage;
use once_cell::sync::Lazy;
use regex::Regex;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceTag {
    /// `[x1, y1, x2, y2]` of the printed tag, in image pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// The price as printed, without currency symbol ("12.80").
    pub price: Option<String>,
    /// The OCR text the price came from, and its confidence.
    pub text: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ShelfAudit {
    pub price_tags: Vec<PriceTag>,
    pub out_of_stock: bool,
    /// Regions above a tag row that look empty, `[x1, y1, x2, y2]`.
    pub gaps: Vec<[f32; 4]>,
}

/// A price on its own: optional currency mark (OCR often reads ¥ as Y), digits, optional
/// decimals, optional 元.
static PRICE: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"^(?:[¥￥$€£Yy]|RMB)?(\d{1,4}(?:[.,]\d{1,2})?)(?:元)?$").unwrap());

pub fn price_of(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let caps = PRICE.captures(&compact)?;
    let value = caps[1].replace(',', ".");
    // A lone small integer without a currency mark is more often a size or a count.
    let marked = compact.chars().next().is_some_and(|c| !c.is_ascii_digit());
    (marked || value.contains('.') || value.len() >= 2).then_some(value)
}

fn luma(p: &image::Rgb<u8>) -> f32 {
    0.299 * p.0[0] as f32 + 0.587 * p.0[1] as f32 + 0.114 * p.0[2] as f32
}

fn saturation(p: &image::Rgb<u8>) -> f32 {
    let max = *p.0.iter().max().unwrap() as f32;
    let min = *p.0.iter().min().unwrap() as f32;
    if max == 0.0 { 0.0 } else { (max - min) / max }
}

fn close(a: &image::Rgb<u8>, b: [f32; 3], tolerance: f32) -> bool {
    (0..3).all(|c| (a.0[c] as f32 - b[c]).abs() <= tolerance)
}

/// The tag's paper colour. Price tags are light paper with darker print, and the detector's
/// box around the price is mostly paper: the median of the brighter half of its pixels.
fn paper_colour(image: &RgbImage, b: [f32; 4]) -> [f32; 3] {
    let (w, h) = (image.width(), image.height());
    let (x1, y1) = (
        (b[0].max(0.0) as u32).min(w - 1),
        (b[1].max(0.0) as u32).min(h - 1),
    );
    let (x2, y2) = (
        (b[2] as u32).clamp(x1 + 1, w),
        (b[3] as u32).clamp(y1 + 1, h),
    );
    let mut pixels: Vec<[u8; 3]> = (y1..y2)
        .flat_map(|y| (x1..x2).map(move |x| (x, y)))
        .map(|(x, y)| image.get_pixel(x, y).0)
        .collect();
    pixels.sort_by(|a, b| luma(&image::Rgb(*a)).total_cmp(&luma(&image::Rgb(*b))));
    let bright = &pixels[pixels.len() / 2..];
    [0, 1, 2].map(|c| {
        let mut channel: Vec<u8> = bright.iter().map(|p| p[c]).collect();
        channel.sort_unstable();
        channel.get(channel.len() / 2).copied().unwrap_or(255) as f32
    })
}

/// Grows the price text's box while the next row or column is mostly tag paper.
fn grow_to_tag(image: &RgbImage, text: [f32; 4]) -> [f32; 4] {
    let paper = paper_colour(image, text);
    let (w, h) = (image.width() as i64, image.height() as i64);
    let th = (text[3] - text[1]).max(4.0);
    let tw = (text[2] - text[0]).max(4.0);
    // Start inside the image: a text box may touch its edge (x2 == width).
    let clamp = |v: f32, max: i64| (v as i64).clamp(0, max - 1);
    let (mut x1, mut y1, mut x2, mut y2) = (
        clamp(text[0], w),
        clamp(text[1], h),
        clamp(text[2], w),
        clamp(text[3], h),
    );
    let limits = [
        (text[0] - 0.8 * tw) as i64,
        (text[1] - 1.6 * th) as i64,
        (text[2] + 0.8 * tw) as i64,
        (text[3] + 1.0 * th) as i64,
    ];
    let paper_share_row = |y: i64, x1: i64, x2: i64| {
        let n = (x2 - x1 + 1).max(1);
        (x1..=x2)
            .filter(|&x| close(image.get_pixel(x as u32, y as u32), paper, 40.0))
            .count() as f32
            / n as f32
    };
    let paper_share_col = |x: i64, y1: i64, y2: i64| {
        let n = (y2 - y1 + 1).max(1);
        (y1..=y2)
            .filter(|&y| close(image.get_pixel(x as u32, y as u32), paper, 40.0))
            .count() as f32
            / n as f32
    };
    // Text pixels inside the tag lower the share, so the bar is a half, not a whole.
    let share = 0.5;
    loop {
        let mut grew = false;
        if y1 > 0 && y1 > limits[1] && paper_share_row(y1 - 1, x1, x2) > share {
            y1 -= 1;
            grew = true;
        }
        if y2 + 1 < h && y2 < limits[3] && paper_share_row(y2 + 1, x1, x2) > share {
            y2 += 1;
            grew = true;
        }
        if x1 > 0 && x1 > limits[0] && paper_share_col(x1 - 1, y1, y2) > share {
            x1 -= 1;
            grew = true;
        }
        if x2 + 1 < w && x2 < limits[2] && paper_share_col(x2 + 1, y1, y2) > share {
            x2 += 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    [x1 as f32, y1 as f32, (x2 + 1) as f32, (y2 + 1) as f32]
}

/// Tags whose vertical centres are within half a tag height form one shelf row.
fn rows(tags: &[PriceTag]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..tags.len()).collect();
    order.sort_by(|a, b| centre_y(&tags[*a]).total_cmp(&centre_y(&tags[*b])));
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let t = &tags[i];
        match rows.last_mut() {
            Some(row)
                if (centre_y(&tags[row[0]]) - centre_y(t)).abs()
                    < 0.5 * (t.bbox[3] - t.bbox[1]) =>
            {
                row.push(i)
            }
            _ => rows.push(vec![i]),
        }
    }
    rows
}

fn centre_y(t: &PriceTag) -> f32 {
    (t.bbox[1] + t.bbox[3]) / 2.0
}

/// Runs of wall-like columns in the product zone above each tag row.
fn find_gaps(image: &RgbImage, tags: &[PriceTag]) -> Vec<[f32; 4]> {
    let mut gaps = Vec::new();
    let mut zone_top = 0.0f32;
    for row in rows(tags) {
        let top_of_tags = row
            .iter()
            .map(|i| tags[*i].bbox[1])
            .fold(f32::MAX, f32::min);
        let bottom_of_tags = row
            .iter()
            .map(|i| tags[*i].bbox[3])
            .fold(f32::MIN, f32::max);
        let mut widths: Vec<f32> = row
            .iter()
            .map(|i| tags[*i].bbox[2] - tags[*i].bbox[0])
            .collect();
        widths.sort_by(f32::total_cmp);
        let facing = widths[widths.len() / 2];
        // The middle of the zone: clear of the board below and of the previous shelf above.
        let h = top_of_tags - zone_top;
        let (y1, y2) = (
            (zone_top + 0.3 * h) as u32,
            (top_of_tags - 0.15 * h).max(zone_top + 0.3 * h + 1.0) as u32,
        );
        zone_top = bottom_of_tags;
        if h < 40.0 || y2 as f32 >= image.height() as f32 {
            continue;
        }
        let empty: Vec<bool> = (0..image.width())
            .map(|x| {
                let px: Vec<&image::Rgb<u8>> = (y1..y2).map(|y| image.get_pixel(x, y)).collect();
                let l: Vec<f32> = px.iter().map(|p| luma(p)).collect();
                let mean = l.iter().sum::<f32>() / l.len() as f32;
                let var = l.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / l.len() as f32;
                let sat = px.iter().map(|p| saturation(p)).sum::<f32>() / px.len() as f32;
                var.sqrt() < 12.0 && sat < 0.12 && mean > 110.0
            })
            .collect();
        let mut x = 0usize;
        while x < empty.len() {
            if !empty[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < empty.len() && empty[x] {
                x += 1;
            }
            // An out-of-stock facing still has its tag: bare wall with no tag below is the end
            // of a shelf or a passage, not a missing product.
            let (gx1, gx2) = (start as f32, x as f32);
            let above_a_tag = row.iter().any(|i| {
                let t = &tags[*i].bbox;
                (gx2.min(t[2]) - gx1.max(t[0])).max(0.0) >= 0.5 * (t[2] - t[0])
            });
            if (x - start) as f32 >= 0.8 * facing && above_a_tag {
                gaps.push([gx1, y1 as f32, gx2, y2 as f32]);
            }
        }
    }
    gaps
}

pub fn audit(image: &RgbImage, lines: &[TextLine]) -> ShelfAudit {
    let mut price_tags: Vec<PriceTag> = lines
        .iter()
        .filter_map(|l| {
            let price = price_of(&l.text)?;
            Some(PriceTag {
                bbox: grow_to_tag(image, l.bbox),
                price: Some(price),
                text: l.text.clone(),
                confidence: l.confidence,
            })
        })
        .collect();
    // One tag, one price: drop a tag whose box sits mostly inside a larger one.
    price_tags.sort_by(|a, b| area(&b.bbox).total_cmp(&area(&a.bbox)));
    let mut kept: Vec<PriceTag> = Vec::new();
    for t in price_tags {
        if !kept
            .iter()
            .any(|k| overlap(&t.bbox, &k.bbox) > 0.6 * area(&t.bbox))
        {
            kept.push(t);
        }
    }
    kept.sort_by(|a, b| {
        (a.bbox[1], a.bbox[0])
            .partial_cmp(&(b.bbox[1], b.bbox[0]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let gaps = if kept.is_empty() {
        Vec::new()
    } else {
        find_gaps(image, &kept)
    };
    ShelfAudit {
        out_of_stock: !gaps.is_empty(),
        price_tags: kept,
        gaps,
    }
}

fn area(b: &[f32; 4]) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

fn overlap(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    area(&[
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn prices_are_read_without_their_symbols() {
        for (text, want) in [
            ("¥12.80", Some("12.80")),
            ("￥ 3.5", Some("3.5")),
            ("$2.99", Some("2.99")),
            ("Y9.90", Some("9.90")),
            ("25元", Some("25")),
            ("102", Some("102")),
            ("4", None),
            ("Milk 1L", None),
            ("330ml", None),
            ("农夫山泉", None),
        ] {
            assert_eq!(price_of(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn a_price_grows_to_its_tag_and_empty_facings_are_found() {
        // Wall, a board, one tag with a price, a product above the left half only.
        let mut img = RgbImage::from_pixel(600, 400, Rgb([220, 220, 220]));
        for y in 300..360 {
            for x in 0..600 {
                img.put_pixel(x, y, Rgb([80, 80, 80]));
            }
        }
        let tags = [(40u32, 150u32), (340, 150)];
        for (tx, tw) in tags {
            for y in 305..355 {
                for x in tx..tx + tw {
                    img.put_pixel(x, y, Rgb([255, 235, 60]));
                }
            }
        }
        for y in 60..298 {
            for x in 20..260 {
                img.put_pixel(x, y, Rgb([200, 30, 30]));
            }
        }
        let line = |x: f32| TextLine {
            text: "¥12.80".into(),
            confidence: 0.99,
            bbox: [x + 40.0, 318.0, x + 120.0, 345.0],
        };
        let audit = audit(&img, &[line(40.0), line(340.0)]);
        assert_eq!(audit.price_tags.len(), 2);
        let b = audit.price_tags[0].bbox;
        assert!(
            (b[0] - 40.0).abs() <= 2.0 && (b[2] - 190.0).abs() <= 2.0,
            "{b:?}"
        );
        assert!(
            (b[1] - 305.0).abs() <= 2.0 && (b[3] - 355.0).abs() <= 2.0,
            "{b:?}"
        );
        assert!(audit.out_of_stock, "the right facing is bare wall");
        assert!(audit.gaps.iter().all(|g| g[0] >= 255.0), "{:?}", audit.gaps);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lines_and_boxes_never_panic(
            texts in proptest::collection::vec("[¥$Y0-9., 元a-z]{0,12}", 0..10),
            boxes in proptest::collection::vec((-50f32..700.0, -50f32..500.0, 0f32..300.0, 0f32..120.0), 10),
        ) {
            let img = RgbImage::from_fn(640, 480, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 200]));
            let lines: Vec<TextLine> = texts
                .iter()
                .zip(&boxes)
                .map(|(t, (x, y, w, h))| TextLine { text: t.clone(), confidence: 0.9, bbox: [*x, *y, x + w, y + h] })
                .collect();
            let audit = audit(&img, &lines);
            for t in &audit.price_tags {
                proptest::prop_assert!(t.bbox[0] >= 0.0 && t.bbox[2] <= 640.0 && t.bbox[1] >= 0.0 && t.bbox[3] <= 480.0);
            }
        }
    }

    #[test]
    fn text_at_the_image_edge_does_not_panic() {
        let img = RgbImage::from_pixel(100, 50, Rgb([250, 250, 250]));
        let line = TextLine {
            text: "¥9.90".into(),
            confidence: 0.9,
            bbox: [60.0, 30.0, 100.0, 50.0],
        };
        let audit = audit(&img, &[line]);
        assert_eq!(audit.price_tags.len(), 1);
        assert!(audit.price_tags[0].bbox[2] <= 100.0 && audit.price_tags[0].bbox[3] <= 50.0);
    }
}
