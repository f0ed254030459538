//! Overview picture of a data directory, drawn with tiny-skia: water, the boundary, the
//! communities, the walking network coloured by elevation (stairs in red, bridges in black)
//! and the facilities, with the names of the rivers, the bridge and the communities drawn
//! from a CJK font (`labels`).

mod labels;

pub use labels::LabelFont;

use geo::{BoundingRect, CoordsIter, Geometry, Polygon};
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::model::LayerId;
use crate::store::Dataset;

/// Why a picture could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("nothing to draw: no boundary, walkways or facilities")]
    Empty,
    #[error("picture size out of range: {width_px}×{height_px} pixels")]
    Size { width_px: u32, height_px: u32 },
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
    #[error("cannot use the font {path}: {reason}")]
    Font {
        path: std::path::PathBuf,
        reason: String,
    },
}

struct View {
    min_lon: f64,
    max_lat: f64,
    px_per_deg_lon: f64,
    px_per_deg_lat: f64,
}

impl View {
    fn px(&self, lon: f64, lat: f64) -> (f32, f32) {
        (
            ((lon - self.min_lon) * self.px_per_deg_lon) as f32,
            ((self.max_lat - lat) * self.px_per_deg_lat) as f32,
        )
    }
}

fn paint(r: u8, g: u8, b: u8, a: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(r, g, b, a));
    p.anti_alias = true;
    p
}

fn polygon_path(v: &View, p: &Polygon<f64>) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
        for (i, c) in ring.coords().enumerate() {
            let (x, y) = v.px(c.x, c.y);
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
    }
    pb.finish()
}

fn polygons(g: &Geometry<f64>) -> Vec<Polygon<f64>> {
    match g {
        Geometry::Polygon(p) => vec![p.clone()],
        Geometry::MultiPolygon(mp) => mp.0.clone(),
        _ => Vec::new(),
    }
}

/// Elevation colour ramp: green lowlands to brown hilltops.
fn elevation_colour(z: f64, z_lo: f64, z_hi: f64) -> (u8, u8, u8) {
    let t = ((z - z_lo) / (z_hi - z_lo).max(1.0)).clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t) as u8;
    (lerp(60.0, 150.0), lerp(140.0, 90.0), lerp(80.0, 40.0))
}

/// Draw the dataset as a PNG `width_px` wide, framed on the boundary (or the walkways), with
/// names when a font is given.
pub fn overview_png(
    ds: &Dataset,
    width_px: u32,
    font: Option<&LabelFont>,
) -> Result<Vec<u8>, RenderError> {
    let frame_layer = [LayerId::Boundary, LayerId::Walkways, LayerId::Facilities]
        .into_iter()
        .find_map(|l| ds.layer(l).filter(|f| !f.is_empty()))
        .ok_or(RenderError::Empty)?;
    let mut bbox: Option<geo::Rect<f64>> = None;
    for f in frame_layer {
        if let Some(r) = f.geometry.bounding_rect() {
            bbox = Some(match bbox {
                None => r,
                Some(b) => geo::Rect::new(
                    geo::coord! { x: b.min().x.min(r.min().x), y: b.min().y.min(r.min().y) },
                    geo::coord! { x: b.max().x.max(r.max().x), y: b.max().y.max(r.max().y) },
                ),
            });
        }
    }
    let bbox = bbox.ok_or(RenderError::Empty)?;
    let pad = 0.06 * bbox.width().max(bbox.height());
    let (min_lon, max_lon) = (bbox.min().x - pad, bbox.max().x + pad);
    let (min_lat, max_lat) = (bbox.min().y - pad, bbox.max().y + pad);
    let cos_lat = f64::midpoint(min_lat, max_lat).to_radians().cos();
    let px_per_deg_lon = f64::from(width_px) / (max_lon - min_lon);
    let px_per_deg_lat = px_per_deg_lon / cos_lat;
    let height_px = ((max_lat - min_lat) * px_per_deg_lat).ceil() as u32;
    let v = View {
        min_lon,
        max_lat,
        px_per_deg_lon,
        px_per_deg_lat,
    };
    let mut pm = Pixmap::new(width_px, height_px).ok_or(RenderError::Size {
        width_px,
        height_px,
    })?;
    pm.fill(Color::from_rgba8(236, 232, 222, 255));
    let t = Transform::identity();
    let scale = width_px as f32 / 1600.0;

    if let Some(b) = ds.layer(LayerId::Boundary) {
        for f in b {
            for p in polygons(&f.geometry) {
                if let Some(path) = polygon_path(&v, &p) {
                    pm.fill_path(
                        &path,
                        &paint(250, 248, 240, 255),
                        FillRule::EvenOdd,
                        t,
                        None,
                    );
                }
            }
        }
    }
    if let Some(water) = ds.layer(LayerId::Water) {
        for f in water {
            for p in polygons(&f.geometry) {
                if let Some(path) = polygon_path(&v, &p) {
                    pm.fill_path(
                        &path,
                        &paint(150, 190, 225, 255),
                        FillRule::EvenOdd,
                        t,
                        None,
                    );
                }
            }
        }
    }
    if let Some(c) = ds.layer(LayerId::Compounds) {
        for f in c {
            let old = f
                .properties
                .get("old")
                .and_then(crate::model::PropValue::as_bool)
                .unwrap_or(false);
            for p in polygons(&f.geometry) {
                if let Some(path) = polygon_path(&v, &p) {
                    let pt = if old {
                        paint(230, 190, 150, 200)
                    } else {
                        paint(200, 200, 235, 200)
                    };
                    pm.fill_path(&path, &pt, FillRule::EvenOdd, t, None);
                }
            }
        }
    }
    if let Some(ws) = ds.layer(LayerId::Walkways) {
        let (mut z_lo, mut z_hi) = (f64::MAX, f64::MIN);
        for f in ws {
            for &z in f.elevation_m.iter().flatten() {
                z_lo = z_lo.min(z);
                z_hi = z_hi.max(z);
            }
        }
        for f in ws {
            let Geometry::LineString(ls) = &f.geometry else {
                continue;
            };
            let kind = f.str_prop("kind").unwrap_or("street");
            let z = f
                .elevation_m
                .as_ref()
                .map_or(z_lo, |zs| zs.iter().sum::<f64>() / zs.len() as f64);
            let (pt, width) = match kind {
                "stairs" => (paint(200, 40, 40, 255), 1.6),
                "bridge" => (paint(20, 20, 20, 255), 3.0),
                "street" => {
                    let (r, g, b) = elevation_colour(z, z_lo, z_hi);
                    (paint(r, g, b, 255), 1.5)
                }
                _ => {
                    let (r, g, b) = elevation_colour(z, z_lo, z_hi);
                    (paint(r, g, b, 200), 0.9)
                }
            };
            let mut pb = PathBuilder::new();
            for (i, c) in ls.coords_iter().enumerate() {
                let (x, y) = v.px(c.x, c.y);
                if i == 0 {
                    pb.move_to(x, y);
                } else {
                    pb.line_to(x, y);
                }
            }
            if let Some(path) = pb.finish() {
                let stroke = Stroke {
                    width: width * scale,
                    ..Stroke::default()
                };
                pm.stroke_path(&path, &pt, &stroke, t, None);
            }
        }
    }
    if let Some(c) = ds.layer(LayerId::Communities) {
        for f in c {
            for p in polygons(&f.geometry) {
                if let Some(path) = polygon_path(&v, &p) {
                    let stroke = Stroke {
                        width: 2.2 * scale,
                        ..Stroke::default()
                    };
                    pm.stroke_path(&path, &paint(70, 60, 110, 230), &stroke, t, None);
                }
            }
        }
    }
    if let Some(b) = ds.layer(LayerId::Boundary) {
        for f in b {
            for p in polygons(&f.geometry) {
                if let Some(path) = polygon_path(&v, &p) {
                    let stroke = Stroke {
                        width: 3.5 * scale,
                        ..Stroke::default()
                    };
                    pm.stroke_path(&path, &paint(40, 30, 80, 255), &stroke, t, None);
                }
            }
        }
    }
    if let Some(fs) = ds.layer(LayerId::Facilities) {
        for f in fs {
            let Geometry::Point(p) = &f.geometry else {
                continue;
            };
            let cat = f.str_prop("category").unwrap_or("");
            let (pt, r) = match cat {
                "party_mass_service_point" => (paint(220, 30, 30, 255), 4.5),
                "elder_canteen" | "elder_day_care" => (paint(240, 140, 0, 255), 4.0),
                "kindergarten" | "primary_school" | "middle_school" | "community_school" => {
                    (paint(30, 110, 220, 255), 3.5)
                }
                "hospital"
                | "community_health_centre"
                | "community_health_station"
                | "pharmacy" => (paint(0, 160, 120, 255), 3.2),
                _ => (paint(110, 110, 110, 200), 2.0),
            };
            let (x, y) = v.px(p.x(), p.y());
            if let Some(path) = PathBuilder::from_circle(x, y, r * scale) {
                pm.fill_path(&path, &pt, FillRule::Winding, t, None);
            }
        }
    }
    if let Some(font) = font {
        let frame = geo::Rect::new(
            geo::coord! { x: min_lon, y: min_lat },
            geo::coord! { x: max_lon, y: max_lat },
        );
        labels::draw(&mut pm, font, ds, &v, frame, scale);
    }
    pm.encode_png()
        .map_err(|e| RenderError::Encode(e.to_string()))
}
