//! Distances and areas the API reports are ellipsoidal (WGS84), as PostGIS `geography`,
//! pyproj and GIS clients compute them: checked against reference values from GeographicLib
//! (computed once with pyproj 3.7.2 / PROJ 9.5.1, `Geod(ellps="WGS84").inv` and
//! `.polygon_area_perimeter`, and committed here).

// Test helpers may unwrap, expect and panic: a failing test should stop loudly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use geo::{Coord, GeodesicArea, LineString, Point, Polygon};
use servicemap::index::distance_m;

/// A WGS84 position, (lon, lat) in degrees.
type LonLat = (f64, f64);

/// (lon, lat) → (lon, lat), metres: `pyproj.Geod(ellps="WGS84").inv(...)[2]`.
const GEODESICS: [(LonLat, LonLat, f64); 7] = [
    ((106.533, 29.47), (106.5355, 29.4715), 294.012434),
    ((106.53, 29.47), (106.56, 29.49), 3657.878025),
    ((106.49, 29.44), (106.58, 29.5), 10974.308770),
    ((106.5331, 29.4702), (106.5331, 29.4727), 277.108958),
    ((106.5, 29.5), (116.4, 39.9), 1465482.328434),
    // Nearly antipodal on the equator: where spherical formulas and naive solvers fail.
    ((0.0, 0.0), (179.5, 0.5), 19936288.578965),
    ((-73.9857, 40.7484), (151.2153, -33.8568), 15988920.069058),
];

#[test]
fn distance_m_is_the_wgs84_geodesic_to_a_millimetre() {
    for &((lon1, lat1), (lon2, lat2), want) in &GEODESICS {
        let got = distance_m(Point::new(lon1, lat1), Point::new(lon2, lat2));
        assert!(
            (got - want).abs() <= 1e-3,
            "({lon1}, {lat1}) → ({lon2}, {lat2}): {got:.6} m, GeographicLib {want:.6} m"
        );
        // Symmetric, as a distance must be.
        let back = distance_m(Point::new(lon2, lat2), Point::new(lon1, lat1));
        assert!((got - back).abs() <= 1e-6);
    }
}

#[test]
fn polygon_area_is_the_ellipsoidal_area() {
    // A 600 m quadrilateral in Lijiatuo, counter-clockwise: pyproj's polygon_area_perimeter
    // gives 311783.36946469545 m².
    let ring: Vec<Coord<f64>> = [
        (106.530, 29.468),
        (106.536, 29.469),
        (106.537, 29.474),
        (106.531, 29.473),
        (106.530, 29.468),
    ]
    .iter()
    .map(|&(x, y)| Coord { x, y })
    .collect();
    let p = Polygon::new(LineString(ring), vec![]);
    let a = p.geodesic_area_unsigned();
    assert!((a - 311_783.369_464_695_45).abs() < 1e-3, "{a}");
}
