//! Post-processing of the DB text detector's probability map into text boxes: threshold,
//! dilate, connected components, score, and "unclip" (the model predicts shrunk text regions).
//! Pure functions, tested without a model.

/// A detected region in map coordinates, with its mean probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
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
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x1, mut y1, mut x2, mut y2) = (usize::MAX, usize::MAX, 0, 0);
        let (mut sum, mut n) = (0f64, 0usize);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            x1 = x1.min(x);
            y1 = y1.min(y);
            x2 = x2.max(x);
            y2 = y2.max(y);
            // Score on the text pixels themselves, not on what dilation added.
            if raw[i] {
                sum += prob[i] as f64;
                n += 1;
            }
            let mut visit = |j: usize| {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < width {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - width);
            }
            if y + 1 < height {
                visit(i + width);
            }
        }
        let (w, h) = ((x2 - x1 + 1) as f32, (y2 - y1 + 1) as f32);
        let score = if n == 0 { 0.0 } else { (sum / n as f64) as f32 };
        if w.min(h) < p.min_side || score < p.box_thresh {
            continue;
        }
        // Unclip: grow by area * ratio / perimeter on every side.
        let d = w * h * p.unclip_ratio / (2.0 * (w + h));
        out.push(Region {
            x1: (x1 as f32 - d).max(0.0),
            y1: (y1 as f32 - d).max(0.0),
            x2: (x2 as f32 + 1.0 + d).min(width as f32),
            y2: (y2 as f32 + 1.0 + d).min(height as f32),
            score,
        });
    }
    out
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
        assert!(
            r[0].x1 < 10.0 && r[0].x2 > 61.0 && r[0].y1 < 5.0,
            "{:?}",
            r[0]
        );
        assert!((r[1].score - 0.8).abs() < 0.01);
    }

    #[test]
    fn weak_and_tiny_regions_are_dropped() {
        let m = map(50, 20, &[(5, 5, 40, 10, 0.4), (45, 2, 46, 3, 0.99)]);
        assert!(regions(&m, 50, 20, &DetectParams::default()).is_empty());
        assert!(regions(&[0.0; 16], 4, 4, &DetectParams::default()).is_empty());
    }
}
