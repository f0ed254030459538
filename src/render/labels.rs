//! Names on the overview picture: the rivers, the bridge, the communities and a caption
//! saying the data is modelled. tiny-skia draws no text, so glyphs are rasterised with
//! ab_glyph from a CJK font on disk (Debian's fonts-noto-cjk by default) and blended onto
//! the pixmap with a light halo, the way map labels stay readable over busy streets.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use geo::{Area, BooleanOps, Geometry, InteriorPoint, MultiPolygon, Polygon, Rect};
use tiny_skia::Pixmap;

use super::{RenderError, View, polygons};
use crate::model::LayerId;
use crate::store::Dataset;

/// Fonts tried when none is named: Noto Sans CJK from Debian's fonts-noto-cjk, face 2 of the
/// collection (Simplified Chinese glyph shapes).
const DEFAULT_FONTS: [(&str, u32); 2] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
];

/// A font able to draw the Chinese names of the data.
pub struct LabelFont {
    font: FontVec,
}

impl LabelFont {
    /// Load face `index` of the font file at `path` (0 for a plain .ttf/.otf).
    pub fn load(path: &Path, index: u32) -> Result<Self, RenderError> {
        let bad = |reason: String| RenderError::Font {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let font = FontVec::try_from_vec_and_index(bytes, index)
            .map_err(|e| bad(format!("not a font with face {index}: {e}")))?;
        // A Latin-only font would draw every name as empty boxes: refuse it here.
        if font.glyph_id('李').0 == 0 {
            return Err(bad("the font has no Chinese glyphs (李 is missing)".into()));
        }
        Ok(Self { font })
    }

    /// The first of the default CJK fonts present on this machine.
    pub fn find_default() -> Result<Self, RenderError> {
        for (path, index) in DEFAULT_FONTS {
            if Path::new(path).exists() {
                return Self::load(Path::new(path), index);
            }
        }
        Err(RenderError::Font {
            path: PathBuf::from(DEFAULT_FONTS[0].0),
            reason: "no CJK font found: install Debian's fonts-noto-cjk, pass --font FILE, \
                     or draw without names with --no-labels"
                .into(),
        })
    }
}

/// One name to draw, centred on (`x_px`, `y_px`).
struct Label {
    text: String,
    x_px: f32,
    y_px: f32,
    size_px: f32,
    rgb: (u8, u8, u8),
}

/// Where the names go: each at an interior point of its feature's visible part; a name
/// whose box would overlap one already placed is left out rather than drawn over it.
pub(super) fn draw(
    pm: &mut Pixmap,
    font: &LabelFont,
    ds: &Dataset,
    v: &View,
    frame: Rect<f64>,
    scale: f32,
) {
    let mut labels = Vec::new();
    let frame_poly = frame.to_polygon();
    let named = |l: LayerId| {
        ds.layer(l)
            .into_iter()
            .flatten()
            .filter_map(|f| f.str_prop("name").map(|n| (n, f)))
    };
    for (name, f) in named(LayerId::Water) {
        let visible = MultiPolygon(polygons(&f.geometry)).intersection(&frame_poly);
        if let Some(p) = largest(&visible).and_then(InteriorPoint::interior_point) {
            let (x_px, y_px) = v.px(p.x(), p.y());
            labels.push(Label {
                text: name.to_owned(),
                x_px,
                y_px,
                size_px: 24.0 * scale,
                rgb: (40, 90, 150),
            });
        }
    }
    // A bridge is drawn as several walkway pieces: name the longest piece of each name.
    let mut bridges: Vec<(&str, f64, geo::Point<f64>)> = Vec::new();
    for (name, f) in named(LayerId::Walkways) {
        let Geometry::LineString(ls) = &f.geometry else {
            continue;
        };
        if f.str_prop("kind") != Some("bridge") || ls.0.len() < 2 {
            continue;
        }
        let (a, b) = (ls.0[0], ls.0[ls.0.len() - 1]);
        let len = (b.x - a.x).hypot(b.y - a.y);
        let mid = geo::Point::new(f64::midpoint(a.x, b.x), f64::midpoint(a.y, b.y));
        match bridges.iter_mut().find(|(n, _, _)| *n == name) {
            Some(e) if e.1 < len => *e = (name, len, mid),
            Some(_) => {}
            None => bridges.push((name, len, mid)),
        }
    }
    for (name, _, mid) in bridges {
        let (x_px, y_px) = v.px(mid.x(), mid.y());
        labels.push(Label {
            text: name.to_owned(),
            x_px: x_px + 8.0 * scale,
            y_px,
            size_px: 17.0 * scale,
            rgb: (20, 20, 20),
        });
    }
    for (name, f) in named(LayerId::Communities) {
        if let Some(p) =
            largest(&MultiPolygon(polygons(&f.geometry))).and_then(InteriorPoint::interior_point)
        {
            let (x_px, y_px) = v.px(p.x(), p.y());
            labels.push(Label {
                text: name.to_owned(),
                x_px,
                y_px,
                size_px: 14.0 * scale,
                rgb: (60, 40, 100),
            });
        }
    }
    let caption = "模型数据：名称、编码与总数来自公开资料，位置为模拟";
    let size_px = 15.0 * scale;
    let half_w = text_width(font, caption, size_px) / 2.0;
    labels.push(Label {
        text: caption.into(),
        x_px: half_w + 12.0 * scale,
        y_px: pm.height() as f32 - size_px,
        size_px,
        rgb: (80, 80, 80),
    });

    let mut placed: Vec<[f32; 4]> = Vec::new();
    for l in labels {
        let w = text_width(font, &l.text, l.size_px);
        let b = [
            l.x_px - w / 2.0,
            l.y_px - l.size_px / 2.0,
            l.x_px + w / 2.0,
            l.y_px + l.size_px / 2.0,
        ];
        if placed
            .iter()
            .any(|p| b[0] < p[2] && p[0] < b[2] && b[1] < p[3] && p[1] < b[3])
        {
            continue;
        }
        placed.push(b);
        draw_text(pm, font, &l, w);
    }
}

fn largest(mp: &MultiPolygon<f64>) -> Option<&Polygon<f64>> {
    mp.0.iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
}

fn text_width(font: &LabelFont, text: &str, size_px: f32) -> f32 {
    let sf = font.font.as_scaled(PxScale::from(size_px));
    text.chars().map(|c| sf.h_advance(sf.glyph_id(c))).sum()
}

/// Rasterise `l` into a coverage buffer, then blend a halo (the coverage widened by a
/// couple of pixels) in white and the text in its colour.
fn draw_text(pm: &mut Pixmap, font: &LabelFont, l: &Label, width_px: f32) {
    let sf = font.font.as_scaled(PxScale::from(l.size_px));
    let halo_px = (l.size_px / 7.0).clamp(1.5, 4.0).round() as i32;
    let pad = halo_px + 2;
    let (bw, bh) = (
        width_px.ceil() as i32 + 2 * pad,
        (sf.height().ceil() as i32) + 2 * pad,
    );
    let (ox, oy) = (
        (l.x_px - width_px / 2.0).floor() as i32 - pad,
        (l.y_px - sf.height() / 2.0).floor() as i32 - pad,
    );
    let mut cover = vec![0f32; (bw * bh) as usize];
    let mut pen_x = pad as f32;
    for c in l.text.chars() {
        let id = sf.glyph_id(c);
        let glyph = id
            .with_scale_and_position(sf.scale(), ab_glyph::point(pen_x, pad as f32 + sf.ascent()));
        pen_x += sf.h_advance(id);
        let Some(outlined) = font.font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, a| {
            let (x, y) = (
                bounds.min.x as i32 + gx as i32,
                bounds.min.y as i32 + gy as i32,
            );
            if (0..bw).contains(&x) && (0..bh).contains(&y) {
                let i = (y * bw + x) as usize;
                cover[i] = cover[i].max(a);
            }
        });
    }
    let mut halo = vec![0f32; cover.len()];
    for y in 0..bh {
        for x in 0..bw {
            let mut m = 0f32;
            for dy in -halo_px..=halo_px {
                for dx in -halo_px..=halo_px {
                    let (sx, sy) = (x + dx, y + dy);
                    if dx * dx + dy * dy <= halo_px * halo_px
                        && (0..bw).contains(&sx)
                        && (0..bh).contains(&sy)
                    {
                        m = m.max(cover[(sy * bw + sx) as usize]);
                    }
                }
            }
            halo[(y * bw + x) as usize] = m;
        }
    }
    let (pw, ph) = (pm.width() as i32, pm.height() as i32);
    let pixels = pm.pixels_mut();
    for y in 0..bh {
        for x in 0..bw {
            let (px, py) = (ox + x, oy + y);
            if !(0..pw).contains(&px) || !(0..ph).contains(&py) {
                continue;
            }
            let i = (y * bw + x) as usize;
            let p = &mut pixels[(py * pw + px) as usize];
            *p = blend(*p, (255, 255, 255), halo[i] * 0.85);
            *p = blend(*p, l.rgb, cover[i]);
        }
    }
}

/// Source-over of an opaque colour at `alpha` onto a premultiplied pixel.
fn blend(
    dst: tiny_skia::PremultipliedColorU8,
    rgb: (u8, u8, u8),
    alpha: f32,
) -> tiny_skia::PremultipliedColorU8 {
    if alpha <= 0.0 {
        return dst;
    }
    let a = alpha.min(1.0);
    let mix = |s: u8, d: u8| (f32::from(s) * a + f32::from(d) * (1.0 - a)).round() as u8;
    let out_a = mix(255, dst.alpha());
    // Premultiplied: every channel stays ≤ alpha because each term does.
    tiny_skia::PremultipliedColorU8::from_rgba(
        mix(rgb.0, dst.red()).min(out_a),
        mix(rgb.1, dst.green()).min(out_a),
        mix(rgb.2, dst.blue()).min(out_a),
        out_a,
    )
    .unwrap_or(dst)
}
