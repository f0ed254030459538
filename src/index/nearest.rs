//! Straight-line k-nearest facilities of one or more categories.

use geo::{Distance, Geodesic, Point};

use rstar::RTree;

use crate::model::FacilityId;

use super::{FacilityEntry, Indexes};

/// One facility found by a nearest query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The facility (its row in [`Indexes::facilities`] = its position in the layer).
    pub facility: FacilityId,
    /// Distance from the query point in metres: the geodesic on the WGS84 ellipsoid.
    pub distance_m: f64,
}

/// Relative error allowed between the local projection and the geodesic distance when
/// pruning the R-tree walk. The projection is good to ~0.1% over a subdistrict, so 2% plus a
/// metre can never drop a true neighbour.
const PRUNE_SLACK: f64 = 1.02;
const PRUNE_SLACK_M: f64 = 1.0;

/// Distance in metres between two WGS84 points along the WGS84 ellipsoid: the geodesic by
/// Karney's algorithm (GeographicLib), as PostGIS `geography`, pyproj and GIS clients compute
/// it, to well under a millimetre. A sphere (haversine) is off by up to 0.5% (281.03 m for
/// 280.22 m in Lijiatuo), which a client comparing with its own GIS would see. Karney costs a
/// microsecond or two per pair; the R-tree prunes in projected metres first, so only the few
/// candidates near the answer pay it.
#[must_use]
pub fn distance_m(a: Point<f64>, b: Point<f64>) -> f64 {
    Geodesic.distance(a, b)
}

impl Indexes {
    /// The `k` facilities nearest to the WGS84 point (`lon`, `lat`) among `categories` (every
    /// category when `None`), at most `max_m` metres away (no limit when `None`), sorted by
    /// `distance_m` then by facility id. Unknown categories contribute nothing; list each
    /// category once. `k == 0` returns nothing.
    #[must_use]
    pub fn nearest_straight<S: AsRef<str>>(
        &self,
        lon: f64,
        lat: f64,
        categories: Option<&[S]>,
        k: usize,
        max_m: Option<f64>,
    ) -> Vec<Hit> {
        let mut best: Vec<Hit> = Vec::with_capacity(k + 1);
        if k == 0 {
            return best;
        }
        let origin = Point::new(lon, lat);
        let (x, y) = self.proj.to_xy(lon, lat);
        let limit_m = max_m.unwrap_or(f64::INFINITY);
        // Every category: one walk of the all-facilities tree instead of one per category.
        let trees: Vec<&RTree<FacilityEntry>> = match categories {
            None => vec![&self.all_facilities],
            Some(list) => list
                .iter()
                .filter_map(|c| self.facility_trees.get(c.as_ref()))
                .collect(),
        };
        for tree in trees {
            for (entry, d2) in tree.nearest_neighbor_iter_with_distance_2(&[x, y]) {
                let bound_m = if best.len() == k {
                    best[k - 1].distance_m.min(limit_m)
                } else {
                    limit_m
                };
                if d2.sqrt() > bound_m * PRUNE_SLACK + PRUNE_SLACK_M {
                    break;
                }
                let d = distance_m(origin, self.facilities.position(entry.data));
                if d > limit_m {
                    continue;
                }
                let hit = Hit {
                    facility: entry.data,
                    distance_m: d,
                };
                let at = best.partition_point(|h| self.hit_before(h, &hit));
                if at < k {
                    best.insert(at, hit);
                    best.truncate(k);
                }
            }
        }
        best
    }

    /// Ranking order: distance, then facility id (ids are unique in the layer).
    fn hit_before(&self, a: &Hit, b: &Hit) -> bool {
        match a.distance_m.total_cmp(&b.distance_m) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => {
                self.facilities.id(a.facility) < self.facilities.id(b.facility)
            }
        }
    }
}
