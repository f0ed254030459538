//! Geometry of the import: multipolygon rings from member ways, polygon area and centroid in
//! local metres, noding of walkways at shared nodes, and the largest connected network.

use std::collections::HashMap;

use geo::{Area as _, Centroid as _, Coord, LineString, MultiPolygon, Orient as _, Polygon};

use crate::model::proj::LocalProj;

/// Join member ways (node-id lists) into closed rings by matching end nodes. Returns `None`
/// when a ring cannot be closed (a member missing from an extract, or a broken relation).
#[must_use]
pub fn assemble_rings(ways: &[&[i64]]) -> Option<Vec<Vec<i64>>> {
    let mut unused: Vec<&[i64]> = ways.iter().copied().filter(|w| w.len() >= 2).collect();
    let mut rings = Vec::new();
    while let Some(first) = unused.pop() {
        let mut ring: Vec<i64> = first.to_vec();
        while ring.first() != ring.last() {
            let end = *ring.last()?;
            let pos = unused
                .iter()
                .position(|w| w.first() == Some(&end) || w.last() == Some(&end))?;
            let next = unused.swap_remove(pos);
            if next.first() == Some(&end) {
                ring.extend_from_slice(&next[1..]);
            } else {
                ring.extend(next.iter().rev().skip(1));
            }
        }
        if ring.len() >= 4 {
            rings.push(ring);
        }
    }
    Some(rings)
}

/// A polygon from outer and inner rings of (lon, lat) degrees: each inner ring goes to the
/// outer ring that contains its first vertex; rings oriented as RFC 7946 wants.
#[must_use]
pub fn multipolygon(
    outers: Vec<Vec<(f64, f64)>>,
    inners: Vec<Vec<(f64, f64)>>,
) -> MultiPolygon<f64> {
    use geo::Contains as _;
    let to_ls = |r: Vec<(f64, f64)>| {
        LineString::from(
            r.into_iter()
                .map(|(x, y)| Coord { x, y })
                .collect::<Vec<_>>(),
        )
    };
    let mut polys: Vec<(Polygon<f64>, Vec<LineString<f64>>)> = outers
        .into_iter()
        .map(|o| (Polygon::new(to_ls(o), vec![]), vec![]))
        .collect();
    for inner in inners {
        let ls = to_ls(inner);
        let Some(first) = ls.0.first().copied() else {
            continue;
        };
        if let Some((_, holes)) = polys.iter_mut().find(|(p, _)| p.contains(&first)) {
            holes.push(ls);
        }
    }
    MultiPolygon(
        polys
            .into_iter()
            .map(|(p, holes)| {
                Polygon::new(p.exterior().clone(), holes).orient(geo::orient::Direction::Default)
            })
            .collect(),
    )
}

/// Area in m² and centroid (lon, lat) of a multipolygon, computed in local metres around its
/// first vertex. `None` for an empty or zero-area shape.
#[must_use]
pub fn area_and_centroid(mp: &MultiPolygon<f64>) -> Option<(f64, (f64, f64))> {
    let first = mp.0.first()?.exterior().0.first()?;
    let proj = LocalProj::new(first.x, first.y);
    let m = proj.project(mp);
    let area_m2 = m.unsigned_area();
    let c = m.centroid()?;
    (area_m2 > 0.0).then(|| (area_m2, proj.to_lonlat(c.x(), c.y())))
}

/// Split node-id runs into noded segments: a run is cut at every node used more than once over
/// all runs (a junction, or a node a way passes twice). Returns, per run, the cut index ranges.
#[must_use]
pub fn node_runs(runs: &[&[i64]]) -> Vec<Vec<std::ops::Range<usize>>> {
    let mut uses: HashMap<i64, u32> = HashMap::new();
    for r in runs {
        for (i, n) in r.iter().enumerate() {
            // A closed run's last node is its first: count it once, so a lone loop is one
            // segment, but a loop meeting another way is cut there.
            if i + 1 == r.len() && r.len() > 1 && r.first() == r.last() {
                continue;
            }
            *uses.entry(*n).or_insert(0) += 1;
        }
    }
    runs.iter()
        .map(|r| {
            let mut out = Vec::new();
            let mut start = 0;
            for i in 1..r.len() {
                if i + 1 == r.len() || uses.get(&r[i]).copied().unwrap_or(0) > 1 {
                    out.push(start..i + 1);
                    start = i;
                }
            }
            out
        })
        .collect()
}

/// Union-find over node ids, to keep the largest connected walking network.
#[derive(Debug, Default)]
pub struct Components {
    index: HashMap<i64, usize>,
    parent: Vec<usize>,
}

impl Components {
    fn slot(&mut self, node: i64) -> usize {
        let n = self.parent.len();
        let i = *self.index.entry(node).or_insert(n);
        if i == n {
            self.parent.push(n);
        }
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Join the two end nodes of a segment.
    pub fn join(&mut self, a: i64, b: i64) {
        let (ia, ib) = (self.slot(a), self.slot(b));
        let (ra, rb) = (self.find(ia), self.find(ib));
        if ra != rb {
            // Smaller root index wins, so the result does not depend on the order of joins'
            // arguments.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }

    /// The component of a node (a representative node id), or `None` for an unseen node.
    pub fn component(&mut self, node: i64) -> Option<usize> {
        let i = *self.index.get(&node)?;
        Some(self.find(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_join_reversed_members() {
        let a: &[i64] = &[1, 2, 3];
        let b: &[i64] = &[1, 4, 3];
        let rings = assemble_rings(&[a, b]).expect("closes");
        assert_eq!(rings.len(), 1);
        assert_eq!(rings[0].len(), 5);
        assert_eq!(rings[0].first(), rings[0].last());
        assert!(assemble_rings(&[a]).is_none(), "open ring");
    }

    #[test]
    fn noding_cuts_at_shared_nodes_only() {
        let a: &[i64] = &[1, 2, 3, 4];
        let b: &[i64] = &[5, 3, 6];
        let loop_: &[i64] = &[7, 8, 9, 7];
        let cuts = node_runs(&[a, b, loop_]);
        assert_eq!(cuts[0], vec![0..3, 2..4]);
        assert_eq!(cuts[1], vec![0..2, 1..3]);
        assert_eq!(cuts[2], vec![0..4]);
    }

    #[test]
    fn square_area_and_centroid() {
        let d = 0.001;
        let mp = multipolygon(
            vec![vec![
                (106.0, 29.0),
                (106.0 + d, 29.0),
                (106.0 + d, 29.0 + d),
                (106.0, 29.0 + d),
                (106.0, 29.0),
            ]],
            vec![],
        );
        let (area_m2, (lon, lat)) = area_and_centroid(&mp).expect("area");
        // ~97.4 m x 110.8 m at 29°N.
        assert!((area_m2 - 97.4 * 110.8).abs() < 60.0, "{area_m2}");
        assert!((lon - 106.0005).abs() < 1e-9 && (lat - 29.0005).abs() < 1e-9);
    }

    #[test]
    fn components_join() {
        let mut c = Components::default();
        c.join(1, 2);
        c.join(3, 4);
        assert_ne!(c.component(1), c.component(3));
        c.join(2, 3);
        assert_eq!(c.component(1), c.component(4));
        assert_eq!(c.component(99), None);
    }
}
