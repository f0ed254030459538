//! Raster outlines: turn a window of set cells into polygons with holes, and the binary
//! closing that bridges one-cell gaps between rasterised walkways.

/// A binary raster window, row-major, `w × h` cells.
#[derive(Debug, Clone)]
pub(crate) struct Mask {
    pub w: usize,
    pub h: usize,
    pub bits: Vec<bool>,
}

impl Mask {
    /// Morphological closing with a 3×3 square: fills gaps of one cell (also diagonal) and
    /// never removes a set cell.
    pub fn close(&self) -> Mask {
        let dil = self.morph::<true>();
        dil.morph::<false>()
    }

    /// 3×3 dilation (`GROW`) or erosion; outside the window counts as unset.
    fn morph<const GROW: bool>(&self) -> Mask {
        let (w, h) = (self.w, self.h);
        if w == 0 || h == 0 {
            return self.clone();
        }
        // Separable: first along rows, then along columns. Whole-slice loops without
        // per-cell bounds tests (the edges are handled apart), and the operation fixed at
        // compile time, so they vectorise. `|`/`&`, not `||`/`&&`: no branch per cell.
        let op = |a: bool, b: bool, c: bool| if GROW { a | b | c } else { a & b & c };
        let mut rows = vec![false; w * h];
        for (src, dst) in self.bits.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
            if w == 1 {
                dst[0] = op(false, src[0], false);
                continue;
            }
            dst[0] = op(false, src[0], src[1]);
            for (d, ((&a, &b), &c)) in dst[1..w - 1]
                .iter_mut()
                .zip(src.iter().zip(&src[1..]).zip(&src[2..]))
            {
                *d = op(a, b, c);
            }
            dst[w - 1] = op(src[w - 2], src[w - 1], false);
        }
        let mut out = vec![false; w * h];
        let none = vec![false; w];
        for y in 0..h {
            let below = if y > 0 {
                &rows[(y - 1) * w..y * w]
            } else {
                &none[..]
            };
            let here = &rows[y * w..(y + 1) * w];
            let above = if y + 1 < h {
                &rows[(y + 1) * w..(y + 2) * w]
            } else {
                &none[..]
            };
            let dst = &mut out[y * w..(y + 1) * w];
            for (d, ((&a, &b), &c)) in dst.iter_mut().zip(below.iter().zip(here).zip(above)) {
                *d = op(a, b, c);
            }
        }
        Mask { w, h, bits: out }
    }
}

/// A traced ring in vertex coordinates of the window (integer corners of cells), closed
/// implicitly (first point not repeated). Counter-clockwise rings are outlines, clockwise
/// rings are holes.
pub(crate) type Ring = Vec<(i32, i32)>;

/// Polygons of a mask: each `(exterior, holes)`. Set cells are 4-connected: two cells
/// touching only at a corner become two polygons meeting at that point.
pub(crate) fn trace(mask: &Mask) -> Vec<(Ring, Vec<Ring>)> {
    let w = mask.w;
    let vw = w + 1;
    if !mask.bits.contains(&true) {
        return Vec::new();
    }
    // Bit d of out[v]: a boundary edge leaves vertex v in direction d (see `boundary_flags`).
    let mut out = boundary_flags(mask);
    let step = |v: usize, d: u8| -> usize {
        match d {
            0 => v + 1,
            1 => v + vw,
            2 => v - 1,
            _ => v - vw,
        }
    };
    let mut exteriors: Vec<(Ring, f64)> = Vec::new();
    let mut holes: Vec<Ring> = Vec::new();
    // Position of each vertex on the stack of `split_at_repeats` (`u32::MAX`: not on it);
    // one dense array for the whole window, left all `MAX` after each ring.
    let mut at = vec![u32::MAX; out.len()];
    let mut v0 = 0;
    while v0 < out.len() {
        // Most vertices have no boundary: skip eight at a time.
        if let Some(eight) = out.get(v0..v0 + 8)
            && eight.iter().fold(0u8, |acc, &b| acc | b) == 0
        {
            v0 += 8;
            continue;
        }
        while out[v0] != 0 {
            let d0 = out[v0].trailing_zeros() as u8;
            out[v0] &= !(1 << d0);
            let mut ring: Ring = Vec::new();
            let mut d = d0;
            let mut cur = step(v0, d0);
            loop {
                let avail = out[cur] | if cur == v0 { 1 << d0 } else { 0 };
                // Prefer left, then straight, then right: keeps set cells 4-connected.
                let Some(nd) = [(d + 1) % 4, d, (d + 3) % 4]
                    .into_iter()
                    .find(|&c| avail & (1 << c) != 0)
                else {
                    break; // cannot happen on a consistent boundary; stop rather than loop
                };
                if nd != d {
                    ring.push(((cur % vw) as i32, (cur / vw) as i32));
                }
                if cur == v0 && nd == d0 {
                    break;
                }
                out[cur] &= !(1 << nd);
                d = nd;
                cur = step(cur, nd);
            }
            // A ring passing a saddle vertex twice touches itself, which OGC Simple Features
            // (and GEOS) call invalid; as simple loops it is a shell with a hole touching it
            // at that point, or two holes touching each other, both valid.
            for simple in split_at_repeats(ring, vw, &mut at) {
                if simple.len() < 4 {
                    continue;
                }
                let a = signed_area2(&simple);
                if a > 0.0 {
                    exteriors.push((simple, a));
                } else {
                    holes.push(simple);
                }
            }
        }
        v0 += 1;
    }
    // Every 4-connected component has exactly one exterior (its outer boundary, once split
    // at saddles, keeps one loop of positive area), so with a single exterior, or no holes,
    // there is nothing to match and the labelling below (a flood fill of the whole window,
    // the larger part of tracing) is skipped.
    if exteriors.len() == 1 {
        let (r, _) = exteriors.swap_remove(0);
        return vec![(r, holes)];
    }
    if holes.is_empty() {
        return exteriors
            .into_iter()
            .map(|(r, _)| (r, Vec::new()))
            .collect();
    }
    // Each ring borders, on its left, cells of exactly one 4-connected component; a hole
    // belongs to the exterior of the same component. Labelling is linear in the window,
    // unlike point-in-polygon tests of every hole against large outlines.
    let (labels, label_count) = label_components(mask);
    let left_label = |r: &Ring| -> u32 {
        let (x0, y0) = r[0];
        let (x1, y1) = r[1];
        let (cx, cy) = match ((x1 - x0).signum(), (y1 - y0).signum()) {
            (1, _) => (x0, y0),
            (_, 1) => (x0 - 1, y0),
            (-1, _) => (x0 - 1, y0 - 1),
            _ => (x0, y0 - 1),
        };
        labels[cy as usize * w + cx as usize]
    };
    let mut owner_of = vec![usize::MAX; label_count];
    let mut polys: Vec<(Ring, Vec<Ring>)> = Vec::with_capacity(exteriors.len());
    for (r, _) in exteriors {
        owner_of[left_label(&r) as usize] = polys.len();
        polys.push((r, Vec::new()));
    }
    for hole in holes {
        let i = owner_of[left_label(&hole) as usize];
        if i != usize::MAX {
            polys[i].1.push(hole);
        }
    }
    polys
}

/// Per vertex of the window (`(w + 1) × (h + 1)`, row-major), bit d set when a boundary edge
/// leaves it in direction d (0 E, 1 N, 2 W, 3 S) with the set cell on its left.
fn boundary_flags(mask: &Mask) -> Vec<u8> {
    let (w, h) = (mask.w, mask.h);
    let vw = w + 1;
    let mut out = vec![0u8; vw * (h + 1)];
    if w == 0 {
        return out;
    }
    // Each vertex's bits from the four cells around it, `a` the row below the vertex and
    // `b` the row above (all unset beyond the window), `0`/`1` the cell left/right of it:
    // E leaves along the bottom of a set b1 under an unset a1; N up the right side of a set
    // b0 beside an unset b1; W along the top of a set a0 under an unset b0; S down the left
    // side of a set a1 beside an unset a0. Branch-free over whole rows, so it vectorises
    // (issue 15: the per-cell version with four tests was ~4 % of an isochrone).
    // `&`, not `&&`: a short-circuit is a branch per vertex and keeps the loop scalar.
    #[allow(clippy::needless_bitwise_bool)]
    let flags = |a0: bool, a1: bool, b0: bool, b1: bool| -> u8 {
        u8::from(b1 & !a1)
            | u8::from(b0 & !b1) << 1
            | u8::from(a0 & !b0) << 2
            | u8::from(a1 & !a0) << 3
    };
    let none = vec![false; w];
    for vy in 0..=h {
        let a = if vy > 0 {
            &mask.bits[(vy - 1) * w..vy * w]
        } else {
            &none[..]
        };
        let b = if vy < h {
            &mask.bits[vy * w..(vy + 1) * w]
        } else {
            &none[..]
        };
        let row = &mut out[vy * vw..(vy + 1) * vw];
        row[0] = flags(false, a[0], false, b[0]);
        row[w] = flags(a[w - 1], false, b[w - 1], false);
        for ((((v, &a0), &a1), &b0), &b1) in row[1..w]
            .iter_mut()
            .zip(&a[..w - 1])
            .zip(&a[1..])
            .zip(&b[..w - 1])
            .zip(&b[1..])
        {
            *v = flags(a0, a1, b0, b1);
        }
    }
    out
}

/// Split a closed ring at the vertices it visits more than once into simple closed loops.
/// Boundaries of a raster never cross, so the repeats nest and a stack finds them: when a
/// vertex comes round again, everything since its first visit is one loop. Each loop keeps
/// the orientation it had in the ring (set cells on its left), so its sign still tells shell
/// from hole, and at a saddle every loop still turns there, so no vertex becomes collinear.
/// `at` is indexed by vertex (`y · vw + x`), all `u32::MAX` on entry and again on return.
fn split_at_repeats(ring: Ring, vw: usize, at: &mut [u32]) -> Vec<Ring> {
    let idx = |(x, y): (i32, i32)| y as usize * vw + x as usize;
    let mut loops = Vec::new();
    let mut stack: Ring = Vec::with_capacity(ring.len());
    for v in ring {
        let k = at[idx(v)];
        if k != u32::MAX {
            let tail: Ring = stack.drain(k as usize..).collect();
            for &u in &tail[1..] {
                at[idx(u)] = u32::MAX;
            }
            loops.push(tail);
        }
        at[idx(v)] = stack.len() as u32;
        stack.push(v);
    }
    for &u in &stack {
        at[idx(u)] = u32::MAX;
    }
    if !stack.is_empty() {
        loops.push(stack);
    }
    loops
}

/// 4-connected component label of every set cell (unset cells get `u32::MAX`), and the
/// number of components.
fn label_components(mask: &Mask) -> (Vec<u32>, usize) {
    let (w, h) = (mask.w, mask.h);
    let mut labels = vec![u32::MAX; w * h];
    let mut stack = Vec::new();
    let mut next = 0u32;
    for start in 0..w * h {
        if !mask.bits[start] || labels[start] != u32::MAX {
            continue;
        }
        labels[start] = next;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if mask.bits[j] && labels[j] == u32::MAX {
                    labels[j] = next;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        next += 1;
    }
    (labels, next as usize)
}

fn signed_area2(r: &Ring) -> f64 {
    let n = r.len();
    let mut s = 0i64;
    for i in 0..n {
        let (x0, y0) = r[i];
        let (x1, y1) = r[(i + 1) % n];
        s += i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0);
    }
    s as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rows: &[&str]) -> Mask {
        // Rows given top first; y grows upward.
        let h = rows.len();
        let w = rows[0].len();
        let mut bits = vec![false; w * h];
        for (r, line) in rows.iter().enumerate() {
            for (x, c) in line.chars().enumerate() {
                bits[(h - 1 - r) * w + x] = c == '#';
            }
        }
        Mask { w, h, bits }
    }

    fn area(polys: &[(Ring, Vec<Ring>)]) -> f64 {
        polys
            .iter()
            .map(|(e, hs)| (signed_area2(e) + hs.iter().map(signed_area2).sum::<f64>()) / 2.0)
            .sum()
    }

    #[test]
    fn square_with_hole_and_island() {
        let m = mask(&[
            "#######", "#.....#", "#.###.#", "#.#.#.#", "#.###.#", "#.....#", "#######",
        ]);
        let p = trace(&m);
        let cells = m.bits.iter().filter(|&&b| b).count() as f64;
        assert!((area(&p) - cells).abs() < 1e-9);
        assert_eq!(p.len(), 2, "outer ring and island");
        assert_eq!(
            p.iter().map(|(_, h)| h.len()).sum::<usize>(),
            2,
            "each has one hole"
        );
        // The outer one is a 4-corner square with a 4-corner hole.
        let outer = p
            .iter()
            .find(|(e, _)| signed_area2(e) > 80.0)
            .expect("outer");
        assert_eq!(outer.0.len(), 4);
        assert_eq!(outer.1[0].len(), 4);
    }

    #[test]
    fn diagonal_cells_are_separate_polygons() {
        let m = mask(&["#.", ".#"]);
        let p = trace(&m);
        assert_eq!(p.len(), 2);
        assert!((area(&p) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn pinched_hole_is_a_hole_touching_the_shell_not_a_self_touching_ring() {
        // One 4-connected component closing round the middle cell of the bottom rows; the
        // hole meets the outside only at the corner where (1,1) and (2,2) touch diagonally.
        let m = mask(&["..##", ".#.#", ".###"]);
        let p = trace(&m);
        assert_eq!(p.len(), 1, "{p:?}");
        let (ext, holes) = &p[0];
        assert_eq!(holes.len(), 1, "the enclosed cell is a hole: {p:?}");
        assert_eq!(holes[0].len(), 4);
        for r in std::iter::once(ext).chain(holes) {
            let mut seen = std::collections::HashSet::new();
            assert!(
                r.iter().all(|v| seen.insert(*v)),
                "ring repeats a vertex: {r:?}"
            );
        }
        // The hole touches the shell at the pinch vertex (2, 2).
        assert!(ext.contains(&(2, 2)) && holes[0].contains(&(2, 2)));
        assert!((area(&p) - 7.0).abs() < 1e-9);
    }

    #[test]
    fn closing_fills_gaps_up_to_two_cells() {
        // One row of cells inside a padded window: gaps of 1 and 2 close, a gap of 3 stays.
        let m = mask(&[".........", ".#.#..#...#", "........."].map(|r| &r[..9]));
        let c = m.close();
        let row: Vec<bool> = (0..9).map(|x| c.bits[9 + x]).collect();
        assert_eq!(
            row,
            vec![false, true, true, true, true, true, true, false, false]
        );
        // Never removes a set cell.
        assert!(m.bits.iter().zip(&c.bits).all(|(a, b)| !a || *b));
    }

    /// Random masks of every small shape (seeded), each cell set with a random density.
    fn random_masks() -> Vec<Mask> {
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut masks = Vec::new();
        for _ in 0..400 {
            let w = 1 + (next() % 23) as usize;
            let h = 1 + (next() % 23) as usize;
            let density = next() % 101;
            let bits = (0..w * h).map(|_| next() % 100 < density).collect();
            masks.push(Mask { w, h, bits });
        }
        masks
    }

    /// The boundary bits as the per-cell rule states them (each set cell marks the sides it
    /// shares with an unset or outside cell), against the branch-free per-vertex pass.
    #[test]
    fn boundary_flags_equal_the_per_cell_rule() {
        for (case, m) in random_masks().iter().enumerate() {
            let (w, h, vw) = (m.w, m.h, m.w + 1);
            let set = |x: isize, y: isize| {
                x >= 0
                    && y >= 0
                    && (x as usize) < w
                    && (y as usize) < h
                    && m.bits[y as usize * w + x as usize]
            };
            let mut want = vec![0u8; vw * (h + 1)];
            for y in 0..h {
                for x in 0..w {
                    let (xi, yi) = (x as isize, y as isize);
                    if !set(xi, yi) {
                        continue;
                    }
                    if !set(xi, yi - 1) {
                        want[y * vw + x] |= 1;
                    }
                    if !set(xi + 1, yi) {
                        want[y * vw + x + 1] |= 2;
                    }
                    if !set(xi, yi + 1) {
                        want[(y + 1) * vw + x + 1] |= 4;
                    }
                    if !set(xi - 1, yi) {
                        want[(y + 1) * vw + x] |= 8;
                    }
                }
            }
            assert_eq!(boundary_flags(m), want, "case {case}: {w}x{h}");
        }
    }

    /// Traced polygons cover exactly the set cells: signed areas sum to their count, every
    /// exterior is counter-clockwise and every hole clockwise.
    #[test]
    fn traced_area_equals_set_cells() {
        for (case, m) in random_masks().iter().enumerate() {
            let p = trace(m);
            let cells = m.bits.iter().filter(|&&b| b).count() as f64;
            assert!((area(&p) - cells).abs() < 1e-9, "case {case}");
            for (e, hs) in &p {
                assert!(signed_area2(e) > 0.0, "case {case}: exterior");
                assert!(
                    hs.iter().all(|r| signed_area2(r) < 0.0),
                    "case {case}: hole"
                );
            }
        }
    }
}
