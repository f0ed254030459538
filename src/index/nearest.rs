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

/// Distance in metres between two WGS84 points along the WGS84 ellipsoid: the geodesic, as
/// PostGIS `geography`, pyproj and GIS clients compute it, to well under a millimetre. A
/// sphere (haversine) is off by up to 0.5% (281.03 m for 280.22 m in Lijiatuo), which a
/// client comparing with its own GIS would see.
///
/// Up to [`SHORT_MAX_M`] apart (every distance a subdistrict asks for) the geodesic comes
/// from the straight chord through the ellipsoid ([`short_geodesic_m`]); farther apart, from
/// Karney's algorithm (GeographicLib). Karney costs a microsecond or more per pair and was
/// half of `POST /nearest/batch`'s time (one per hit, issue 15); the chord costs three
/// sines and three square roots. The two agree to better than a micrometre
/// (`short_geodesic_matches_karney` below checks it on random pairs in Lijiatuo, at 60°N and
/// at 85°S: the worst seen is 3 nm, Karney's own accuracy), so a printed centimetre moves
/// only when the geodesic lies within a micrometre of a rounding tie.
#[must_use]
pub fn distance_m(a: Point<f64>, b: Point<f64>) -> f64 {
    match short_geodesic_m(a, b) {
        Some(d) => d,
        None => Geodesic.distance(a, b),
    }
}

/// Longest distance answered by [`short_geodesic_m`] (metres).
pub const SHORT_MAX_M: f64 = 20_000.0;

/// WGS84 semi-major axis (metres) and first eccentricity squared.
const WGS84_A_M: f64 = 6_378_137.0;
const WGS84_E2: f64 = {
    let f = 1.0 / 298.257_223_563;
    f * (2.0 - f)
};

/// The geodesic between two nearby WGS84 points (degrees), or `None` when they are more than
/// [`SHORT_MAX_M`] apart (or not finite).
///
/// The chord `c` between the two points in Earth-centred coordinates is exact. A curve of
/// curvature κ spanning chord `c` is `c (1 + c²κ²/24 + 3c⁴κ⁴/640 + …)` long; on the ellipsoid
/// the normal section has curvature `1/R_α = cos²α/M + sin²α/N` (Euler; M and N the
/// meridional and prime-vertical radii at the mid-latitude, α the azimuth). What this
/// neglects, at 20 km: the curvature's change along the section (relative e²·c/R ≈ 2e-5 of a
/// 5.5 mm correction, 0.1 µm), the azimuth and mid-latitude taken from plane components
/// (relative e²·c/R of the correction as well), and the difference between the geodesic and
/// the normal section (of order e⁴(c/R)⁴·c, below a nanometre). The chord itself is formed
/// from differences (p₁ − p₂, z₁ − z₂, sin²(Δλ/2)) so that nothing cancels between numbers of
/// Earth's size; its rounding error is nanometres.
#[must_use]
pub fn short_geodesic_m(a: Point<f64>, b: Point<f64>) -> Option<f64> {
    let (lat1, lat2) = (a.y().to_radians(), b.y().to_radians());
    let (sin1, cos1) = lat1.sin_cos();
    let (sin2, cos2) = lat2.sin_cos();
    let half_dlon = ((b.x() - a.x()) * 0.5).to_radians().sin();
    // Prime-vertical radii at each point; Earth-centred distance from the axis (p) and height
    // above the equatorial plane (z).
    let n1 = WGS84_A_M / (1.0 - WGS84_E2 * sin1 * sin1).sqrt();
    let n2 = WGS84_A_M / (1.0 - WGS84_E2 * sin2 * sin2).sqrt();
    let (p1, p2) = (n1 * cos1, n2 * cos2);
    let dp = p1 - p2;
    let dz = (1.0 - WGS84_E2) * (n1 * sin1 - n2 * sin2);
    let across = 4.0 * p1 * p2 * half_dlon * half_dlon;
    let c2 = dp * dp + across + dz * dz;
    // NaN goes to Karney too, which reports it as before.
    if c2.is_nan() || c2 > SHORT_MAX_M * SHORT_MAX_M {
        return None;
    }
    // Radii of curvature at the mid-latitude (its sine from the two sines: the difference is
    // second order in the latitude difference, relative e²(Δφ)² on the radii).
    let sin_m = 0.5 * (sin1 + sin2);
    let w2 = 1.0 - WGS84_E2 * sin_m * sin_m;
    let n_m = WGS84_A_M / w2.sqrt();
    let m_m = n_m * (1.0 - WGS84_E2) / w2;
    // North and east components of the chord, for the azimuth's weights only.
    let north = m_m * (lat2 - lat1);
    let east2 = n_m * n_m * (1.0 - sin_m * sin_m) * 4.0 * half_dlon * half_dlon;
    let h2 = north * north + east2;
    let curvature = if h2 > 0.0 {
        (north * north / m_m + east2 / n_m) / h2
    } else {
        1.0 / n_m
    };
    let k2 = c2 * curvature * curvature;
    Some(c2.sqrt() * (1.0 + k2 * (1.0 / 24.0 + k2 * (3.0 / 640.0))))
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

#[cfg(test)]
mod tests {
    use geo::Destination;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// Largest difference allowed between [`short_geodesic_m`] and Karney's geodesic up to
    /// [`SHORT_MAX_M`] (metres); the series' neglected terms are far below it (see there).
    const SHORT_ERROR_M: f64 = 1e-6;

    /// The largest difference (metres) between [`distance_m`] and Karney's geodesic over
    /// random pairs around (`lon`, `lat`): the second point at a random azimuth and a
    /// distance between 1 cm and `max_m` (log-uniform, so short and long pairs both count).
    fn worst_error_m(lon: f64, lat: f64, max_m: f64, seed: u64) -> f64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut worst: f64 = 0.0;
        for _ in 0..100_000 {
            let a = Point::new(
                lon + rng.random_range(-0.05..0.05),
                lat + rng.random_range(-0.05..0.05),
            );
            let d_m = 10_f64.powf(rng.random_range(-2.0..max_m.log10()));
            let b = Geodesic.destination(a, rng.random_range(0.0..360.0), d_m);
            let karney = Geodesic.distance(a, b);
            let short = distance_m(a, b);
            assert!(short.is_finite(), "{a:?} {b:?}");
            worst = worst.max((short - karney).abs());
        }
        worst
    }

    /// The chord-and-curvature geodesic equals Karney's to well under a millimetre at every
    /// distance it answers, in Lijiatuo (29.5°N), at Helsinki's 60°N and at 85°S: 0.1 µm up to
    /// 5 km (a walk of an hour), [`SHORT_ERROR_M`] up to [`SHORT_MAX_M`] (3 nm seen at
    /// most). Seeds are fixed.
    #[test]
    fn short_geodesic_matches_karney() {
        for (lon, lat, seed) in [(106.53, 29.47, 1), (24.94, 60.17, 2), (-70.0, -85.0, 3)] {
            let near = worst_error_m(lon, lat, 5_000.0, seed);
            assert!(near < 1e-7, "{near} m at ({lon}, {lat}) below 5 km");
            let far = worst_error_m(lon, lat, SHORT_MAX_M, seed + 10);
            assert!(far < SHORT_ERROR_M, "{far} m at ({lon}, {lat}) below 20 km");
            eprintln!("({lon}, {lat}): {near:e} m below 5 km, {far:e} m below 20 km");
        }
    }

    /// Beyond [`SHORT_MAX_M`], across the antimeridian, at the poles and for equal points,
    /// the answer is Karney's (or the exact zero).
    #[test]
    fn long_and_edge_pairs() {
        let a = Point::new(106.53, 29.47);
        let far = Geodesic.destination(a, 40.0, 25_000.0);
        assert_eq!(
            distance_m(a, far).to_bits(),
            Geodesic.distance(a, far).to_bits()
        );
        assert_eq!(distance_m(a, a).to_bits(), 0.0_f64.to_bits());
        // 2 × 0.005° of longitude on the equator, across ±180°.
        let (w, e) = (Point::new(179.995, 0.0), Point::new(-179.995, 0.0));
        assert!((distance_m(w, e) - Geodesic.distance(w, e)).abs() < 1e-6);
        let (p, q) = (Point::new(0.0, 90.0), Point::new(120.0, 89.99));
        assert!((distance_m(p, q) - Geodesic.distance(p, q)).abs() < 1e-6);
        assert!(distance_m(Point::new(f64::NAN, 0.0), a).is_nan());
    }
}
