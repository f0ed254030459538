//! An R-tree entry of a line segment that keeps its envelope.
//!
//! rstar's `GeomWithData<Line<_>, _>` recomputes a segment's envelope every time the tree asks
//! for it, and bulk loading and tree-against-tree joins ask at every comparison. On the
//! default data's 15,705 walkway segments (release build, one core): bulk loading 13 ms →
//! 4 ms and the self-join of the validator's noding rule 8 ms → 2.5 ms with the envelope
//! kept (issue 15, start-up time: five such trees are built before `/healthz` answers).
//! The envelope is the one `Line` computes, so trees, iteration orders and answers are the
//! same as before.

use rstar::primitives::Line;
use rstar::{AABB, PointDistance, RTreeObject};

/// A segment in an R-tree with `data` attached, like `GeomWithData<Line<[f64; 2]>, T>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineEntry<T> {
    envelope: AABB<[f64; 2]>,
    line: Line<[f64; 2]>,
    pub data: T,
}

impl<T> LineEntry<T> {
    #[must_use]
    pub fn new(line: Line<[f64; 2]>, data: T) -> LineEntry<T> {
        LineEntry {
            envelope: line.envelope(),
            line,
            data,
        }
    }

    /// The segment.
    #[must_use]
    pub fn geom(&self) -> &Line<[f64; 2]> {
        &self.line
    }
}

impl<T> RTreeObject for LineEntry<T> {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> AABB<[f64; 2]> {
        self.envelope
    }
}

impl<T> PointDistance for LineEntry<T> {
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        self.line.distance_2(point)
    }

    fn contains_point(&self, point: &[f64; 2]) -> bool {
        self.line.contains_point(point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstar::RTree;
    use rstar::primitives::GeomWithData;

    /// Same tree shape, so the same join pairs in the same order and the same nearest
    /// segments with the same distances as rstar's own entry.
    #[test]
    fn answers_like_geom_with_data() {
        let mut segs = Vec::new();
        let mut s = 7u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 * 100.0
        };
        for i in 0..2000u32 {
            let a = [next(), next()];
            let b = [a[0] + next() / 20.0, a[1] - next() / 20.0];
            segs.push((a, b, i));
        }
        let ours = RTree::bulk_load(
            segs.iter()
                .map(|&(a, b, i)| LineEntry::new(Line::new(a, b), i))
                .collect(),
        );
        let theirs = RTree::bulk_load(
            segs.iter()
                .map(|&(a, b, i)| GeomWithData::new(Line::new(a, b), i))
                .collect(),
        );
        let pairs = |t: &RTree<LineEntry<u32>>| {
            t.intersection_candidates_with_other_tree(t)
                .map(|(a, b)| (a.data, b.data))
                .collect::<Vec<_>>()
        };
        let their_pairs: Vec<(u32, u32)> = theirs
            .intersection_candidates_with_other_tree(&theirs)
            .map(|(a, b)| (a.data, b.data))
            .collect();
        assert!(their_pairs.len() > 2000);
        assert_eq!(pairs(&ours), their_pairs);
        for _ in 0..200 {
            let p = [next(), next()];
            let a: Vec<(u32, f64)> = ours
                .nearest_neighbor_iter_with_distance_2(&p)
                .take(5)
                .map(|(e, d)| (e.data, d))
                .collect();
            let b: Vec<(u32, f64)> = theirs
                .nearest_neighbor_iter_with_distance_2(&p)
                .take(5)
                .map(|(e, d)| (e.data, d))
                .collect();
            assert_eq!(a, b);
        }
    }
}
