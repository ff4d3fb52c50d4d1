//! Shelf photos to an audit: price tags (the whole printed tag, with the price read from it)
//! and empty facings. No shelf detector ships in any registry, so this combines the OCR
//! engine's text lines with image analysis: a price line is grown to the tag card around it by
//! colour, and a facing is empty where the product zone above a tag row shows bare wall
//! (flat, unsaturated, bright) over most of a facing's width, right above a price tag.

mod decimals;

pub use decimals::read_raised_decimals;

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
    /// The OCR text the price came from, where it was, and its confidence.
    pub text: String,
    pub text_box: [f32; 4],
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
/// decimals (point or comma), optional mark after it (元, €, kr, ",-").
static PRICE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^(?:[¥￥$€£Yy]|RMB)?(\d{1,4}(?:[.,]\d{1,2})?)(?:元|€|kr|,-|:-)?$").unwrap()
});

pub fn price_of(text: &str) -> Option<String> {
    let compact = compact(text);
    let caps = PRICE.captures(&compact)?;
    let value = caps[1].replace(',', ".");
    // A lone small integer without a currency mark is more often a size or a count.
    let marked = [compact.chars().next(), compact.chars().last()]
        .into_iter()
        .flatten()
        .any(|c| !c.is_ascii_digit());
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

/// The pixels in `b` (clamped to the image), darkest first.
fn by_luma(image: &RgbImage, b: [f32; 4]) -> Vec<image::Rgb<u8>> {
    let (w, h) = (image.width(), image.height());
    let x1 = (b[0].max(0.0) as u32).min(w - 1);
    let y1 = (b[1].max(0.0) as u32).min(h - 1);
    let x2 = (b[2].max(0.0) as u32).clamp(x1 + 1, w);
    let y2 = (b[3].max(0.0) as u32).clamp(y1 + 1, h);
    let mut pixels: Vec<image::Rgb<u8>> = (y1..y2)
        .flat_map(|y| (x1..x2).map(move |x| *image.get_pixel(x, y)))
        .collect();
    pixels.sort_by(|a, b| luma(a).total_cmp(&luma(b)));
    pixels
}

fn quantile<T: Copy>(sorted: &[T], q: f32) -> T {
    sorted[((sorted.len() - 1) as f32 * q) as usize]
}

/// Grows the price text's box to the printed tag around it: the tag (paper, or an ESL's
/// display and frame) is brighter than the rail, shelf or shadow it sits on. The cut between
/// the two is taken from the light part of the price box and the dark part of its
/// surroundings, so the same rule holds for white paper, grey ESL frames and greenish LCDs;
/// colour similarity alone stopped at an ESL's display and missed its frame. The box stops
/// growing where fewer than 60 % of the next row or column is tag, or at limits that
/// follow the text height (a tag carries its name and unit price left of and above the price).
fn grow_to_tag(image: &RgbImage, text: [f32; 4]) -> [f32; 4] {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let th = (text[3] - text[1]).max(4.0);
    let inside = by_luma(image, text);
    let paper = luma(&quantile(&inside, 0.75));
    // A coloured tag (yellow promotion paper) on a grey wall is as bright as the wall.
    let mut paper_saturations: Vec<f32> =
        inside[inside.len() / 2..].iter().map(saturation).collect();
    paper_saturations.sort_by(f32::total_cmp);
    let paper_saturation = quantile(&paper_saturations, 0.5);
    let surroundings = [
        text[0] - 4.0 * th,
        text[1] - 2.0 * th,
        text[2] + 2.0 * th,
        text[3] + 2.0 * th,
    ];
    let background = luma(&quantile(&by_luma(image, surroundings), 0.10));
    let cut = if paper - background > 30.0 {
        (paper + background) / 2.0
    } else {
        paper - 25.0
    };
    let tag = |x: i64, y: i64| {
        let p = image.get_pixel(x as u32, y as u32);
        luma(p) >= cut && (saturation(p) - paper_saturation).abs() < 0.35
    };
    // Start inside the image: a text box may touch its edge (x2 == width).
    let clamp = |v: f32, max: i64| (v as i64).clamp(0, max - 1);
    let (mut x1, mut y1, mut x2, mut y2) = (
        clamp(text[0], w),
        clamp(text[1], h),
        clamp(text[2], w),
        clamp(text[3], h),
    );
    let limits = [
        (text[0] - 3.0 * th) as i64,
        (text[1] - 1.6 * th) as i64,
        (text[2] + 1.0 * th) as i64,
        (text[3] + 1.0 * th) as i64,
    ];
    let share_row = |y: i64, x1: i64, x2: i64| {
        (x1..=x2).filter(|&x| tag(x, y)).count() as f32 / (x2 - x1 + 1).max(1) as f32
    };
    let share_col = |x: i64, y1: i64, y2: i64| {
        (y1..=y2).filter(|&y| tag(x, y)).count() as f32 / (y2 - y1 + 1).max(1) as f32
    };
    // Print inside the tag lowers the share, so the bar is not a whole row.
    let share = 0.6;
    loop {
        let mut grew = false;
        if y1 > 0 && y1 > limits[1] && share_row(y1 - 1, x1, x2) > share {
            y1 -= 1;
            grew = true;
        }
        if y2 + 1 < h && y2 < limits[3] && share_row(y2 + 1, x1, x2) > share {
            y2 += 1;
            grew = true;
        }
        if x1 > 0 && x1 > limits[0] && share_col(x1 - 1, y1, y2) > share {
            x1 -= 1;
            grew = true;
        }
        if x2 + 1 < w && x2 < limits[2] && share_col(x2 + 1, y1, y2) > share {
            x2 += 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    [x1 as f32, y1 as f32, (x2 + 1) as f32, (y2 + 1) as f32]
}

/// Shelf tags print the decimals small and raised ("34⁹⁰"); the detector often finds the
/// two parts as separate lines. An integer line with a short, smaller line of two digits
/// right after it, sitting high, is one price.
fn join_raised_decimals(lines: &[TextLine]) -> Vec<TextLine> {
    let mut used = vec![false; lines.len()];
    let mut out = Vec::with_capacity(lines.len());
    for (i, a) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        let whole = compact(&a.text);
        let mut line = a.clone();
        if digits(&whole, 1..=4) {
            let h = a.height();
            let raised = lines.iter().enumerate().find(|(j, b)| {
                let decimals = compact(&b.text);
                *j != i
                    && !used[*j]
                    && digits(&decimals, 2..=2)
                    && (0.3 * h..=0.8 * h).contains(&b.height())
                    && (-0.25 * h..=0.5 * h).contains(&(b.bbox[0] - a.bbox[2]))
                    && b.center_y() < a.center_y()
                    && b.bbox[1] >= a.bbox[1] - 0.3 * h
            });
            if let Some((j, b)) = raised {
                used[j] = true;
                line = TextLine {
                    text: format!("{whole}.{}", compact(&b.text)),
                    confidence: a.confidence.min(b.confidence),
                    bbox: [a.bbox[0], a.bbox[1].min(b.bbox[1]), b.bbox[2], a.bbox[3]],
                };
            }
        }
        out.push(line);
    }
    out
}

/// The text without its spaces ("2 990" is "2990").
fn compact(text: &str) -> String {
    text.split_whitespace().collect()
}

/// `s` is `n` ASCII digits.
fn digits(s: &str, n: std::ops::RangeInclusive<usize>) -> bool {
    n.contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit())
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
    let mut price_tags: Vec<PriceTag> = join_raised_decimals(lines)
        .into_iter()
        .filter_map(|l| {
            let price = price_of(&l.text)?;
            Some(PriceTag {
                bbox: grow_to_tag(image, l.bbox),
                price: Some(price),
                text: l.text,
                text_box: l.bbox,
                confidence: l.confidence,
            })
        })
        .collect();
    // One tag, one price: the selling price is the largest print on a tag, so where two
    // tags overlap the one grown from the taller text stays (a unit price or a pack size
    // is smaller).
    price_tags.sort_by(|a, b| text_height(b).total_cmp(&text_height(a)));
    let mut kept: Vec<PriceTag> = Vec::new();
    for t in price_tags {
        if !kept
            .iter()
            .any(|k| overlap(&t.bbox, &k.bbox) > 0.6 * area(&t.bbox).min(area(&k.bbox)))
        {
            kept.push(t);
        }
    }
    keep_to_own_side(&mut kept);
    align_rows(&mut kept);
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

fn text_height(t: &PriceTag) -> f32 {
    t.text_box[3] - t.text_box[1]
}

/// Tags side by side on one rail touch, so a box grown over bright frames can run into the
/// next tag: no tag reaches past a neighbour's price on the same line.
fn keep_to_own_side(tags: &mut [PriceTag]) {
    let texts: Vec<[f32; 4]> = tags.iter().map(|t| t.text_box).collect();
    for t in tags.iter_mut() {
        let own = t.text_box;
        for other in &texts {
            let shared = own[3].min(other[3]) - own[1].max(other[1]);
            if *other == own || shared < 0.3 * (own[3] - own[1]).min(other[3] - other[1]) {
                continue;
            }
            if other[2] <= own[0] + 2.0 && t.bbox[0] < other[2] {
                t.bbox[0] = other[2];
            }
            if other[0] >= own[2] - 2.0 && t.bbox[2] > other[0] {
                t.bbox[2] = other[0];
            }
        }
    }
}

/// Tags on one rail share their top and bottom edges: in a row of three or more, an edge
/// that strays more than a quarter of the row's height from the row's median (grown into a
/// bright product above, or cut short by glare) is set to the median.
fn align_rows(tags: &mut [PriceTag]) {
    for row in rows(tags) {
        if row.len() < 3 {
            continue;
        }
        let median = |edge: usize| {
            let mut v: Vec<f32> = row.iter().map(|i| tags[*i].bbox[edge]).collect();
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        let (top, bottom) = (median(1), median(3));
        let height = bottom - top;
        for i in &row {
            let b = &mut tags[*i].bbox;
            if (b[1] - top).abs() > 0.25 * height {
                b[1] = top;
            }
            if (b[3] - bottom).abs() > 0.25 * height {
                b[3] = bottom;
            }
        }
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
            ("17,45 kr", Some("17.45")),
            ("2,75 €", Some("2.75")),
            ("12.8元", Some("12.8")),
            ("5€", Some("5")),
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

    fn line(text: &str, bbox: [f32; 4]) -> TextLine {
        TextLine {
            text: text.into(),
            confidence: 0.95,
            bbox,
        }
    }

    #[test]
    fn raised_decimals_join_their_integer_and_nothing_else_does() {
        let joined = join_raised_decimals(&[
            line("34", [415.0, 527.0, 501.0, 594.0]),
            line("90", [487.0, 532.0, 526.0, 567.0]),
            // Same height and level: a second number, not decimals.
            line("12", [900.0, 527.0, 980.0, 594.0]),
            line("50", [985.0, 527.0, 1065.0, 594.0]),
            // Small but below the middle: a unit line, not decimals.
            line("44", [1466.0, 533.0, 1553.0, 601.0]),
            line("10", [1555.0, 575.0, 1590.0, 600.0]),
        ]);
        let texts: Vec<&str> = joined.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["34.90", "12", "50", "44", "10"]);
        assert_eq!(joined[0].bbox, [415.0, 527.0, 526.0, 594.0]);
        assert_eq!(price_of(&joined[0].text).as_deref(), Some("34.90"));
    }

    /// An electronic shelf label: a white frame around a greenish display with the name at
    /// its left, on a dark rail, under a bright product.
    fn esl_scene() -> RgbImage {
        let mut img = RgbImage::from_pixel(800, 400, Rgb([40, 40, 45]));
        let fill = |img: &mut RgbImage, x: std::ops::Range<u32>, y: std::ops::Range<u32>, c| {
            for yy in y {
                for xx in x.clone() {
                    img.put_pixel(xx, yy, Rgb(c));
                }
            }
        };
        fill(&mut img, 0..800, 0..140, [230, 200, 40]);
        for (x0, price_x) in [(100u32, 300u32), (420, 620)] {
            fill(&mut img, x0..x0 + 300, 160..310, [225, 225, 228]);
            fill(&mut img, x0 + 12..x0 + 288, 172..298, [190, 200, 185]);
            fill(&mut img, x0 + 30..x0 + 120, 190..205, [30, 30, 30]);
            // The price's strokes: print covers a small part of its box.
            for stroke in 0..4 {
                let sx = price_x + 4 + stroke * 15;
                fill(&mut img, sx..sx + 6, 218..272, [25, 25, 25]);
            }
        }
        img
    }

    #[test]
    fn an_electronic_label_grows_to_its_frame() {
        let img = esl_scene();
        let audit = audit(
            &img,
            &[
                line("34", [300.0, 212.0, 360.0, 278.0]),
                line("29", [620.0, 212.0, 680.0, 278.0]),
            ],
        );
        assert_eq!(audit.price_tags.len(), 2, "{:?}", audit.price_tags);
        for (tag, x0) in audit.price_tags.iter().zip([100.0, 420.0]) {
            let b = tag.bbox;
            // Left as far as the 3-text-heights limit allows, the frame's top and bottom.
            assert!(
                b[0] <= x0 + 30.0 && b[2] >= x0 + 290.0 && b[2] <= x0 + 302.0,
                "{b:?}"
            );
            assert!(
                (b[1] - 160.0).abs() <= 3.0 && (b[3] - 310.0).abs() <= 3.0,
                "{b:?}"
            );
        }
    }

    #[test]
    fn a_unit_price_on_the_same_tag_gives_way_to_the_selling_price() {
        let img = esl_scene();
        let audit = audit(
            &img,
            &[
                line("38.78", [150.0, 240.0, 210.0, 262.0]),
                line("34", [300.0, 212.0, 360.0, 278.0]),
            ],
        );
        assert_eq!(audit.price_tags.len(), 1, "{:?}", audit.price_tags);
        assert_eq!(audit.price_tags[0].price.as_deref(), Some("34"));
    }

    #[test]
    fn a_row_of_tags_shares_its_top_and_bottom() {
        let tag = |x: f32, y1: f32, y2: f32| PriceTag {
            bbox: [x, y1, x + 100.0, y2],
            price: Some("9.90".into()),
            text: "9.90".into(),
            text_box: [x + 50.0, 120.0, x + 95.0, 150.0],
            confidence: 0.9,
        };
        let mut tags = vec![
            tag(0.0, 100.0, 170.0),
            tag(110.0, 101.0, 171.0),
            tag(220.0, 40.0, 170.0),
            tag(330.0, 99.0, 169.0),
        ];
        align_rows(&mut tags);
        assert_eq!(tags[2].bbox[1], 100.0);
        assert_eq!(tags[2].bbox[3], 170.0);
        assert_eq!(tags[0].bbox, [0.0, 100.0, 100.0, 170.0]);
    }

    #[test]
    fn a_tag_stops_at_its_neighbours_price() {
        let tag = |bbox: [f32; 4], text_box: [f32; 4]| PriceTag {
            bbox,
            price: Some("39.90".into()),
            text: "3990".into(),
            text_box,
            confidence: 0.9,
        };
        // Touching frames: both boxes ran over the other's price.
        let mut tags = vec![
            tag([0.0, 560.0, 231.0, 650.0], [94.0, 589.0, 174.0, 645.0]),
            tag([104.0, 556.0, 394.0, 659.0], [264.0, 590.0, 340.0, 643.0]),
            // Another rail: no limit from the tags above.
            tag([90.0, 900.0, 400.0, 990.0], [264.0, 920.0, 340.0, 975.0]),
        ];
        keep_to_own_side(&mut tags);
        assert_eq!(tags[0].bbox, [0.0, 560.0, 231.0, 650.0]);
        assert_eq!(tags[1].bbox, [174.0, 556.0, 394.0, 659.0]);
        assert_eq!(tags[2].bbox, [90.0, 900.0, 400.0, 990.0]);
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
