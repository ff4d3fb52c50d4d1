//! Post-processing of the DB text detector's probability map into text boxes: threshold,
//! dilate, connected components, score, and "unclip" (the model predicts shrunk text regions).
//! Pure functions, tested without a model.

use super::components::components;

/// A detected text line in map coordinates: an oriented rectangle (lines on a photographed
/// card are rarely level), with its mean probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Corners clockwise from the text's top-left: `[tl, tr, br, bl]`, each `(x, y)`.
    pub corners: [(f32, f32); 4],
    pub score: f32,
}

/// The upright box `[x1, y1, x2, y2]` around a quadrilateral.
pub fn quad_bounds(q: &[(f32, f32); 4]) -> [f32; 4] {
    q.iter()
        .fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, &(x, y)| {
            [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
        })
}

/// Lines shorter than this aspect ratio have no reliable direction of their own.
const MIN_ELONGATION: f32 = 1.8;

/// Principal axis of a set of pixels: returns (centre, unit axis).
fn principal_axis(points: &[(f32, f32)]) -> ((f32, f32), (f32, f32)) {
    let n = points.len() as f32;
    let (cx, cy) = points
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (cx, cy) = (cx / n, cy / n);
    let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in points {
        let (dx, dy) = (x - cx, y - cy);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (mut ux, mut uy) = (theta.cos(), theta.sin());
    if ux < 0.0 {
        ux = -ux;
        uy = -uy;
    }
    ((cx, cy), (ux, uy))
}

/// The oriented bounding rectangle of `points` along `axis`, grown by `unclip_ratio`.
fn oriented_rect(
    points: &[(f32, f32)],
    centre: (f32, f32),
    axis: (f32, f32),
    unclip_ratio: f32,
) -> ([(f32, f32); 4], f32, f32) {
    let (ux, uy) = axis;
    let (vx, vy) = (-uy, ux);
    let (mut lo_u, mut hi_u, mut lo_v, mut hi_v) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (x, y) in points {
        let (dx, dy) = (x - centre.0, y - centre.1);
        let (pu, pv) = (dx * ux + dy * uy, dx * vx + dy * vy);
        lo_u = lo_u.min(pu);
        hi_u = hi_u.max(pu);
        lo_v = lo_v.min(pv);
        hi_v = hi_v.max(pv);
    }
    let (w, h) = (hi_u - lo_u + 1.0, hi_v - lo_v + 1.0);
    let d = w * h * unclip_ratio / (2.0 * (w + h));
    let (w2, h2) = (w / 2.0 + d, h / 2.0 + d);
    let (mu, mv) = ((lo_u + hi_u) / 2.0, (lo_v + hi_v) / 2.0);
    let c = (centre.0 + ux * mu + vx * mv, centre.1 + uy * mu + vy * mv);
    let corner = |su: f32, sv: f32| {
        (
            c.0 + ux * su * w2 + vx * sv * h2,
            c.1 + uy * su * w2 + vy * sv * h2,
        )
    };
    (
        [
            corner(-1.0, -1.0),
            corner(1.0, -1.0),
            corner(1.0, 1.0),
            corner(-1.0, 1.0),
        ],
        w,
        h,
    )
}

pub struct DetectParams {
    pub thresh: f32,
    pub box_thresh: f32,
    pub unclip_ratio: f32,
    pub min_side: f32,
}

impl Default for DetectParams {
    fn default() -> Self {
        Self {
            thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            min_side: 3.0,
        }
    }
}

/// `prob` is `height * width`, row-major.
pub fn regions(prob: &[f32], width: usize, height: usize, p: &DetectParams) -> Vec<Region> {
    assert_eq!(prob.len(), width * height, "probability map size");
    // Threshold, then a 2x2 dilation (as the reference post-processing does) to join broken strokes.
    let raw: Vec<bool> = prob.iter().map(|v| *v > p.thresh).collect();
    let mut mask = raw.clone();
    for y in 0..height {
        for x in 0..width {
            if raw[y * width + x] {
                if x + 1 < width {
                    mask[y * width + x + 1] = true;
                }
                if y + 1 < height {
                    mask[(y + 1) * width + x] = true;
                    if x + 1 < width {
                        mask[(y + 1) * width + x + 1] = true;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut candidates: Vec<(Vec<(f32, f32)>, f32)> = Vec::new();
    for pixels in components(&mask, width, false) {
        let (mut x1, mut y1, mut x2, mut y2) = (usize::MAX, usize::MAX, 0, 0);
        let (mut sum, mut n) = (0f64, 0usize);
        let mut points: Vec<(f32, f32)> = Vec::with_capacity(pixels.len());
        for i in pixels {
            let (x, y) = (i % width, i / width);
            points.push((x as f32, y as f32));
            x1 = x1.min(x);
            y1 = y1.min(y);
            x2 = x2.max(x);
            y2 = y2.max(y);
            // Score on the text pixels themselves, not on what dilation added.
            if raw[i] {
                sum += prob[i] as f64;
                n += 1;
            }
        }
        let (w, h) = ((x2 - x1 + 1) as f32, (y2 - y1 + 1) as f32);
        let score = if n == 0 { 0.0 } else { (sum / n as f64) as f32 };
        if w.min(h) < p.min_side || score < p.box_thresh {
            continue;
        }
        candidates.push((points, score));
    }
    // Short lines (a two-character name) take the page's dominant direction.
    let mut angles: Vec<(f32, f32)> = Vec::new();
    let axes: Vec<_> = candidates
        .iter()
        .map(|(points, _)| {
            let (centre, axis) = principal_axis(points);
            let (_, w, h) = oriented_rect(points, centre, axis, 0.0);
            if w / h.max(1.0) >= MIN_ELONGATION {
                angles.push((axis.1.atan2(axis.0), w));
            }
            (centre, axis, w / h.max(1.0) >= MIN_ELONGATION)
        })
        .collect();
    let dominant = weighted_median(&mut angles).unwrap_or(0.0);
    for ((points, score), (centre, axis, elongated)) in candidates.into_iter().zip(axes) {
        let axis = if elongated {
            axis
        } else {
            (dominant.cos(), dominant.sin())
        };
        let (corners, _, _) = oriented_rect(&points, centre, axis, p.unclip_ratio);
        out.push(Region { corners, score });
    }
    out
}

/// Median of angles weighted by line length: one long line outweighs many short ones.
fn weighted_median(values: &mut [(f32, f32)]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = values.iter().map(|v| v.1).sum::<f32>() / 2.0;
    let mut acc = 0.0;
    for (angle, weight) in values.iter() {
        acc += weight;
        if acc >= half {
            return Some(*angle);
        }
    }
    values.last().map(|v| v.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(w: usize, h: usize, rects: &[(usize, usize, usize, usize, f32)]) -> Vec<f32> {
        let mut m = vec![0.0; w * h];
        for &(x1, y1, x2, y2, v) in rects {
            for y in y1..y2 {
                for x in x1..x2 {
                    m[y * w + x] = v;
                }
            }
        }
        m
    }

    #[test]
    fn separate_blobs_become_separate_grown_boxes() {
        let m = map(100, 40, &[(10, 5, 60, 10, 0.9), (10, 25, 80, 32, 0.8)]);
        let r = regions(&m, 100, 40, &DetectParams::default());
        assert_eq!(r.len(), 2);
        let b = quad_bounds(&r[0].corners);
        assert!(b[0] < 10.0 && b[2] > 61.0 && b[1] < 5.0, "{:?}", r[0]);
        assert!((r[1].score - 0.8).abs() < 0.01);
    }

    #[test]
    fn slanted_lines_get_oriented_boxes() {
        // A line rising 10 px over 100 px (about 5.7 degrees), 6 px thick.
        let (w, h) = (140, 60);
        let mut m = vec![0.0; w * h];
        for x in 20..120 {
            let y0 = 40 - (x - 20) / 10;
            for y in y0..y0 + 6 {
                m[y * w + x] = 0.9;
            }
        }
        let r = regions(&m, w, h, &DetectParams::default());
        assert_eq!(r.len(), 1);
        let [tl, tr, _, bl] = r[0].corners;
        let angle = (tr.1 - tl.1).atan2(tr.0 - tl.0).to_degrees();
        assert!((angle + 5.7).abs() < 1.0, "angle {angle}");
        let thickness = ((bl.0 - tl.0).powi(2) + (bl.1 - tl.1).powi(2)).sqrt();
        let upright = quad_bounds(&r[0].corners);
        let upright_height = upright[3] - upright[1];
        assert!(
            thickness + 8.0 < upright_height,
            "oriented thickness {thickness} vs axis-aligned {upright_height}: the box follows the line"
        );
    }

    #[test]
    fn weak_and_tiny_regions_are_dropped() {
        let m = map(50, 20, &[(5, 5, 40, 10, 0.4), (45, 2, 46, 3, 0.99)]);
        assert!(regions(&m, 50, 20, &DetectParams::default()).is_empty());
        assert!(regions(&[0.0; 16], 4, 4, &DetectParams::default()).is_empty());
    }
}
