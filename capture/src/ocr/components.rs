//! Connected components of a binary mask: the text detector's regions and a shelf tag's glyphs.

/// The pixels (row-major indices) of each connected set of `true` cells in `mask`, `width`
/// cells per row; `diagonal` joins cells that touch only at a corner too (8-neighbours rather
/// than 4). Components come in the order of their first pixel.
pub(crate) fn components(mask: &[bool], width: usize, diagonal: bool) -> Vec<Vec<usize>> {
    let height = mask.len().checked_div(width).unwrap_or(0);
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..width * height {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut pixels = Vec::new();
        while let Some(i) = stack.pop() {
            pixels.push(i);
            let (x, y) = ((i % width) as i64, (i / width) as i64);
            for (dx, dy) in [
                (-1, 0),
                (1, 0),
                (0, -1),
                (0, 1),
                (-1, -1),
                (1, -1),
                (-1, 1),
                (1, 1),
            ]
            .into_iter()
            .take(if diagonal { 8 } else { 4 })
            {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= width as i64 || ny >= height as i64 {
                    continue;
                }
                let j = ny as usize * width + nx as usize;
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        out.push(pixels);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_join_only_with_diagonals() {
        // 4 × 3:  # . . .
        //         . # # .
        //         . . . #
        let mask = [
            true, false, false, false, false, true, true, false, false, false, false, true,
        ];
        let mut four = components(&mask, 4, false);
        four.iter_mut().for_each(|c| c.sort());
        assert_eq!(four, [vec![0], vec![5, 6], vec![11]]);
        let mut eight = components(&mask, 4, true);
        eight.iter_mut().for_each(|c| c.sort());
        assert_eq!(eight, [vec![0, 5, 6, 11]]);
        assert!(components(&[], 0, true).is_empty());
    }
}
