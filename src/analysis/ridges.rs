//! Ridges: the crest lines of the terrain, a derived layer (`ridges.geojson`) the generator
//! writes beside the served layers. Units of the model are bounded by streets, the river,
//! 花溪河 and ridges (issue 13); `servicemap stats` measures how much of their outlines
//! follows one, and checks that every ridge vertex is a crest of the ground.
//!
//! The layer is not served (it is no [`crate::model::LayerId`]): nothing is walked, covered
//! or edited on it, and an import has none. It is read here, by `stats`, and a malformed
//! file is refused with the file and the feature named.

use std::path::Path;

use geo::Geometry;

use crate::model::{Feature, LocalProj};
use crate::store::StoreError;

/// File name of the ridge layer in a data directory.
pub const RIDGES_FILE: &str = "ridges.geojson";

/// How far to either side of a ridge the ground must not rise above the crest (metres).
/// The model's ridges are traced over street junctions 50 m apart, so the junction nearest
/// a crest line may stand up to 25 m off it: at 60 m, a vertex 25 m down one side of an
/// even ridge still sees lower ground 35 m down the other side, while one 30 m or more down
/// a slope does not pass. (Checked at 40 m, 22% of the vertices of the ridges kept at 60 m fail.)
pub const CREST_OFFSET_M: f64 = 60.0;

/// A vertex may stand this far below the ground across the line and still count as the
/// crest (metres): the elevations of the file are rounded to centimetres.
const CREST_TOL_M: f64 = 0.02;

/// Is the point `p` (local metres, elevation `z_m`) a crest across a line running in
/// direction `dir`: is the ground `offset_m` to either side, perpendicular to the line, no
/// higher than `z_m`?
#[must_use]
pub fn is_crest(
    elevation_m: &dyn Fn(f64, f64) -> f64,
    p: (f64, f64),
    z_m: f64,
    dir: (f64, f64),
    offset_m: f64,
) -> bool {
    let len = dir.0.hypot(dir.1);
    if len <= 0.0 {
        return false;
    }
    let (nx, ny) = (-dir.1 / len, dir.0 / len);
    [1.0, -1.0].into_iter().all(|s| {
        let side = elevation_m(p.0 + s * offset_m * nx, p.1 + s * offset_m * ny);
        side <= z_m + CREST_TOL_M
    })
}

/// For each vertex of a line (local metres, elevations `zs`), whether it is a crest across
/// the line (see [`is_crest`]); the line's direction at a vertex runs from the vertex
/// before it to the one after (at an end, along its one segment).
#[must_use]
pub fn crest_vertices(
    pts: &[(f64, f64)],
    zs: &[f64],
    elevation_m: &dyn Fn(f64, f64) -> f64,
    offset_m: f64,
) -> Vec<bool> {
    let n = pts.len();
    (0..n)
        .map(|k| {
            if n < 2 {
                return false;
            }
            let a = pts[k.saturating_sub(1)];
            let b = pts[(k + 1).min(n - 1)];
            is_crest(elevation_m, pts[k], zs[k], (b.0 - a.0, b.1 - a.1), offset_m)
        })
        .collect()
}

/// What [`check_ridges`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RidgeCheck {
    pub lines: usize,
    pub length_km: f64,
    pub vertices: usize,
    /// Vertices that are a crest across their line.
    pub crest_vertices: usize,
    /// Vertices whose elevation differs from the ground's by more than 0.05 m.
    pub off_ground_vertices: usize,
    /// The first vertex that failed, as `feature id #index`.
    pub first_failure: Option<String>,
}

impl RidgeCheck {
    /// Share of vertices that are crests, `None` without vertices.
    #[must_use]
    pub fn crest_share(&self) -> Option<f64> {
        (self.vertices > 0).then(|| self.crest_vertices as f64 / self.vertices as f64)
    }
}

/// A line's vertices in local metres and their elevations.
type LocalLine = (Vec<(f64, f64)>, Vec<f64>);

/// A ridge's vertices in local metres of `proj` with their elevations.
fn local_line(f: &Feature, proj: &LocalProj) -> Option<LocalLine> {
    let Geometry::LineString(ls) = &f.geometry else {
        return None;
    };
    let zs = f.elevation_m.clone()?;
    let pts: Vec<(f64, f64)> = ls.0.iter().map(|c| proj.to_xy(c.x, c.y)).collect();
    (pts.len() == zs.len()).then_some((pts, zs))
}

/// Check ridges against the ground: every vertex stands on the ground (its elevation is the
/// ground's, within 0.05 m) and is a crest across its line within `offset_m`.
/// `elevation_m` is the ground in local metres of `proj`.
#[must_use]
pub fn check_ridges(
    ridges: &[Feature],
    proj: &LocalProj,
    elevation_m: &dyn Fn(f64, f64) -> f64,
    offset_m: f64,
) -> RidgeCheck {
    let mut c = RidgeCheck::default();
    for f in ridges {
        let Some((pts, zs)) = local_line(f, proj) else {
            continue;
        };
        c.lines += 1;
        c.length_km += pts
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
            .sum::<f64>()
            / 1000.0;
        let crest = crest_vertices(&pts, &zs, elevation_m, offset_m);
        for (k, ok) in crest.into_iter().enumerate() {
            c.vertices += 1;
            let on_ground = (zs[k] - elevation_m(pts[k].0, pts[k].1)).abs() <= 0.05;
            if ok {
                c.crest_vertices += 1;
            }
            if !on_ground {
                c.off_ground_vertices += 1;
            }
            if (!ok || !on_ground) && c.first_failure.is_none() {
                c.first_failure = Some(format!("{} #{k}", f.id));
            }
        }
    }
    c
}

/// Read `DIR/ridges.geojson` if there is one. Every feature must be a LineString of at
/// least two vertices, each with an elevation, and carry `crest_m`, the highest of them;
/// otherwise the file and the feature are named.
pub fn read_ridges(dir: &Path) -> Result<Option<Vec<Feature>>, StoreError> {
    let path = dir.join(RIDGES_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let features = crate::store::read::read_layer(&path)?;
    for f in &features {
        let bad = |message: String| StoreError::Feature {
            path: path.clone(),
            id: f.id.clone(),
            message,
        };
        let Geometry::LineString(ls) = &f.geometry else {
            return Err(bad("a ridge must be a LineString".into()));
        };
        if ls.0.len() < 2 {
            return Err(bad("a ridge needs at least two vertices".into()));
        }
        let Some(zs) = f.elevation_m.as_deref() else {
            return Err(bad(
                "every vertex needs an elevation (a third coordinate, metres)".into(),
            ));
        };
        if zs.len() != ls.0.len() {
            return Err(bad(format!(
                "{} of {} vertices have an elevation; every vertex needs one",
                zs.len(),
                ls.0.len()
            )));
        }
        let top = zs.iter().copied().fold(f64::MIN, f64::max);
        let crest = f
            .properties
            .get("crest_m")
            .and_then(crate::model::PropValue::as_f64);
        match crest {
            None => return Err(bad("property crest_m (a number, metres) is missing".into())),
            Some(c) if (c - top).abs() > 0.01 => {
                return Err(bad(format!(
                    "crest_m is {c} but the highest vertex stands at {top} m"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(Some(features))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made ground: a ridge along the y axis falling 0.2 m a metre to either side,
    /// rising gently northwards.
    fn ground(x: f64, y: f64) -> f64 {
        300.0 - 0.2 * x.abs() + 0.01 * y
    }

    #[test]
    fn a_line_along_the_crest_is_a_ridge_and_one_down_the_slope_is_not() {
        let along: Vec<(f64, f64)> = (0..6).map(|k| (0.0, 50.0 * f64::from(k))).collect();
        let zs: Vec<f64> = along.iter().map(|&(x, y)| ground(x, y)).collect();
        let ok = crest_vertices(&along, &zs, &ground, CREST_OFFSET_M);
        assert_eq!(ok, vec![true; 6]);
        // 40 m east of the crest: the ground 60 m to the west (20 m past the crest) is higher.
        let beside: Vec<(f64, f64)> = along.iter().map(|&(_, y)| (40.0, y)).collect();
        let zs: Vec<f64> = beside.iter().map(|&(x, y)| ground(x, y)).collect();
        assert_eq!(
            crest_vertices(&beside, &zs, &ground, CREST_OFFSET_M),
            vec![false; 6]
        );
        // Across the ridge (a line running east–west over it): only a crest along it.
        let across: Vec<(f64, f64)> = (-2..=2).map(|k| (50.0 * f64::from(k), 0.0)).collect();
        let zs: Vec<f64> = across.iter().map(|&(x, y)| ground(x, y)).collect();
        assert_eq!(
            crest_vertices(&across, &zs, &ground, CREST_OFFSET_M),
            vec![false; 5]
        );
        // 25 m off the crest (half a block) still counts: 60 m across is 35 m down the far
        // side.
        let near: Vec<(f64, f64)> = along.iter().map(|&(_, y)| (25.0, y)).collect();
        let zs: Vec<f64> = near.iter().map(|&(x, y)| ground(x, y)).collect();
        assert_eq!(
            crest_vertices(&near, &zs, &ground, CREST_OFFSET_M),
            vec![true; 6]
        );
    }

    fn ridge(id: &str, pts: &[(f64, f64)], zs: Vec<f64>, crest_m: f64) -> Feature {
        let proj = LocalProj::new(106.53, 29.47);
        let coords: Vec<geo::Coord<f64>> = pts
            .iter()
            .map(|&(x, y)| {
                let (lon, lat) = proj.to_lonlat(x, y);
                geo::Coord { x: lon, y: lat }
            })
            .collect();
        Feature {
            id: id.into(),
            geometry: Geometry::LineString(geo::LineString(coords)),
            elevation_m: Some(zs),
            properties: serde_json::from_value::<serde_json::Map<String, serde_json::Value>>(
                serde_json::json!({ "crest_m": crest_m }),
            )
            .expect("props")
            .into(),
        }
    }

    #[test]
    fn check_ridges_counts_crests_and_vertices_off_the_ground() {
        let proj = LocalProj::new(106.53, 29.47);
        let pts: Vec<(f64, f64)> = (0..5).map(|k| (0.0, 50.0 * f64::from(k))).collect();
        let zs: Vec<f64> = pts.iter().map(|&(x, y)| ground(x, y)).collect();
        let good = ridge("R1", &pts, zs.clone(), 302.0);
        let slope: Vec<(f64, f64)> = pts.iter().map(|&(_, y)| (40.0, y)).collect();
        let zs_slope: Vec<f64> = slope.iter().map(|&(x, y)| ground(x, y)).collect();
        let bad = ridge("R2", &slope, zs_slope, 296.0);
        let mut lifted = zs.clone();
        lifted[2] += 3.0;
        let floating = ridge("R3", &pts, lifted, 305.0);
        let c = check_ridges(std::slice::from_ref(&good), &proj, &ground, CREST_OFFSET_M);
        assert_eq!((c.lines, c.vertices, c.crest_vertices), (1, 5, 5));
        assert_eq!(c.off_ground_vertices, 0);
        assert!((c.length_km - 0.2).abs() < 1e-3, "{}", c.length_km);
        assert_eq!(c.first_failure, None);
        let c = check_ridges(&[good, bad, floating], &proj, &ground, CREST_OFFSET_M);
        assert_eq!((c.vertices, c.crest_vertices), (15, 10));
        assert_eq!(c.off_ground_vertices, 1);
        assert_eq!(c.first_failure.as_deref(), Some("R2 #0"));
        assert_eq!(c.crest_share(), Some(10.0 / 15.0));
    }

    #[test]
    fn read_ridges_names_the_file_and_the_feature_at_fault() {
        let dir = std::env::temp_dir().join(format!("servicemap-ridges-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        assert!(read_ridges(&dir).expect("no file is fine").is_none());
        let write = |text: &str| std::fs::write(dir.join(RIDGES_FILE), text).expect("write");
        write(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"R1","geometry":{"type":"LineString","coordinates":[[106.5,29.4,300],[106.51,29.4,310]]},"properties":{"crest_m":310}}]}"#,
        );
        let r = read_ridges(&dir).expect("reads").expect("present");
        assert_eq!(r.len(), 1);
        for (text, want) in [
            (
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"R1","geometry":{"type":"LineString","coordinates":[[106.5,29.4,300],[106.51,29.4,310]]},"properties":{"crest_m":300}}]}"#,
                "crest_m is 300",
            ),
            (
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"R1","geometry":{"type":"LineString","coordinates":[[106.5,29.4],[106.51,29.4]]},"properties":{"crest_m":300}}]}"#,
                "elevation",
            ),
            (
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"R1","geometry":{"type":"Point","coordinates":[106.5,29.4,300]},"properties":{"crest_m":300}}]}"#,
                "LineString",
            ),
            (
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"R1","geometry":{"type":"LineString","coordinates":[[106.5,29.4,300],[106.51,29.4,310]]},"properties":{}}]}"#,
                "crest_m",
            ),
        ] {
            write(text);
            let e = read_ridges(&dir).expect_err(want).to_string();
            assert!(
                e.contains(RIDGES_FILE) && e.contains("'R1'") && e.contains(want),
                "{e}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
