//! `servicemap render`: the overview picture carries the names of the communities, the rivers
//! and the bridge (issue 13), drawn from a CJK font (CI installs Debian's fonts-noto-cjk).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
use std::path::Path;

use geo::{Area, BoundingRect, InteriorPoint};
use servicemap::model::LayerId;
use servicemap::render::{LabelFont, RenderError, overview_png};
use tiny_skia::Pixmap;

fn geodata() -> servicemap::store::Dataset {
    servicemap::store::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("geodata")
            .as_path(),
    )
    .expect("default data reads")
}

/// Dark pixels (text strokes) within `r` px of (`x`, `y`).
fn dark_near(pm: &Pixmap, x: f64, y: f64, r: i64) -> usize {
    let mut n = 0;
    for py in (y as i64 - r)..=(y as i64 + r) {
        for px in (x as i64 - r)..=(x as i64 + r) {
            if let Some(p) = pm.pixel(px as u32, py as u32) {
                let luma = u32::from(p.red()) + u32::from(p.green()) + u32::from(p.blue());
                if luma < 3 * 110 {
                    n += 1;
                }
            }
        }
    }
    n
}

#[test]
fn the_picture_names_the_places_and_says_it_is_a_model() {
    let ds = geodata();
    let font = LabelFont::find_default().expect("a CJK font (Debian fonts-noto-cjk)");
    let plain = Pixmap::decode_png(&overview_png(&ds, 1600, None).unwrap()).unwrap();
    let named = Pixmap::decode_png(&overview_png(&ds, 1600, Some(&font)).unwrap()).unwrap();
    assert_eq!(
        (plain.width(), plain.height()),
        (named.width(), named.height())
    );

    // Frame as the renderer does: the boundary's box padded by 6 % of its larger side.
    let b = ds
        .layer(LayerId::Boundary)
        .unwrap()
        .iter()
        .filter_map(|f| f.geometry.bounding_rect())
        .reduce(|a, r| {
            geo::Rect::new(
                geo::coord! { x: a.min().x.min(r.min().x), y: a.min().y.min(r.min().y) },
                geo::coord! { x: a.max().x.max(r.max().x), y: a.max().y.max(r.max().y) },
            )
        })
        .unwrap();
    let pad = 0.06 * b.width().max(b.height());
    let (min_lon, max_lat) = (b.min().x - pad, b.max().y + pad);
    let px_per_deg = 1600.0 / (b.width() + 2.0 * pad);
    let cos_lat = (f64::midpoint(b.min().y, b.max().y)).to_radians().cos();
    let to_px = |lon: f64, lat: f64| {
        (
            (lon - min_lon) * px_per_deg,
            (max_lat - lat) * px_per_deg / cos_lat,
        )
    };

    // Most communities get their name at their interior point (a few may give way to a
    // neighbour's overlapping name): text there is new dark ink on the picture.
    let communities = ds.layer(LayerId::Communities).unwrap();
    let mut labelled = 0;
    for f in communities {
        let largest = match &f.geometry {
            geo::Geometry::Polygon(p) => p.clone(),
            geo::Geometry::MultiPolygon(mp) => {
                mp.0.iter()
                    .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
                    .unwrap()
                    .clone()
            }
            g => panic!("community {} is not a polygon: {g:?}", f.id),
        };
        let p = largest.interior_point().unwrap();
        let (x, y) = to_px(p.x(), p.y());
        if dark_near(&named, x, y, 6) > dark_near(&plain, x, y, 6) + 5 {
            labelled += 1;
        }
    }
    assert!(
        labelled * 4 >= communities.len() * 3,
        "only {labelled} of {} communities named",
        communities.len()
    );
    // The caption in the bottom-left corner says the data is modelled.
    let h = f64::from(named.height());
    let (ink, before) = (
        dark_near(&named, 60.0, h - 15.0, 10),
        dark_near(&plain, 60.0, h - 15.0, 10),
    );
    assert!(ink > before + 10, "caption ink {ink} vs {before} before");
}

#[test]
fn a_missing_or_latin_only_font_is_refused_with_its_path() {
    let err = LabelFont::load(Path::new("/nonexistent/font.ttc"), 0)
        .err()
        .unwrap();
    assert!(
        matches!(&err, RenderError::Font { path, .. } if path == Path::new("/nonexistent/font.ttc"))
    );
    assert!(err.to_string().contains("/nonexistent/font.ttc"), "{err}");
    // Not a font at all: this test file.
    let err = LabelFont::load(Path::new(file!()), 0).err().unwrap();
    assert!(err.to_string().contains("not a font"), "{err}");
}
