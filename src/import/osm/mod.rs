//! Import a city from OpenStreetMap (`.osm.pbf` or `.osm` XML) into a data directory.
//!
//! The import streams the file three times ([`passes`]), keeping only what it needs:
//! 1. relations: water/building/facility multipolygons and the ids of their member ways;
//! 2. ways: walkable highways, closed areas of interest, and those member ways (node ids only);
//! 3. nodes: coordinates (and `ele`) of the nodes those ways use, kept as a sorted
//!    `Vec<(id, lat_e7, lon_e7)>`, plus tagged nodes that are facilities.
//!
//! Memory is therefore bounded by the ways of interest and their nodes, not by the file. The
//! layers are then streamed out: [`walkways`], then [`facilities`] (with buildings and water);
//! [`summary`] says what was read, kept and skipped.

mod facilities;
mod passes;
pub mod summary;
mod walkways;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::ImportError;
use super::sink::LayerWriter;
use super::tags::{self, CategoryTable};
use crate::model::{Bbox, LayerId};
use crate::store::write::write_atomic;
pub use summary::ImportSummary;

/// Options of `servicemap import osm`.
#[derive(Debug, Clone, Default)]
pub struct OsmImportOptions {
    pub bbox: Option<Bbox>,
    /// Dataset name for `manifest.json`; the file name without extensions when absent.
    pub name: Option<String>,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
}

/// The four layers being written.
struct Sinks {
    walkways: LayerWriter,
    facilities: LayerWriter,
    buildings: LayerWriter,
    water: LayerWriter,
}

/// Import an OSM file into `out` (created if needed; other files there are left alone).
pub fn import_osm(
    input: &Path,
    out: &Path,
    opts: &OsmImportOptions,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let mut summary = convert(input, out, opts)?;
    summary.elapsed_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The three passes, then the layers streamed into `out`.
fn convert(
    input: &Path,
    out: &Path,
    opts: &OsmImportOptions,
) -> Result<ImportSummary, ImportError> {
    let table = CategoryTable::embedded().map_err(ImportError::Table)?;
    let mut summary = ImportSummary {
        source: input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        ..ImportSummary::default()
    };
    let t0 = Instant::now();
    let mut passes = passes::read(input, table, opts.bbox, opts.progress, &mut summary)?;

    let werr = |path: PathBuf| move |e: std::io::Error| ImportError::Write { path, source: e };
    std::fs::create_dir_all(out).map_err(werr(out.to_path_buf()))?;
    let create = |layer: LayerId| {
        let path = out.join(layer.file_name());
        LayerWriter::create(&path).map_err(werr(path))
    };
    let mut sinks = Sinks {
        walkways: create(LayerId::Walkways)?,
        facilities: create(LayerId::Facilities)?,
        buildings: create(LayerId::Buildings)?,
        water: create(LayerId::Water)?,
    };
    let wio = |layer: LayerId| werr(out.join(layer.file_name()));

    walkways::build_walkways(
        &passes.walkways,
        &passes.store,
        opts.bbox,
        &mut summary,
        &mut sinks.walkways,
    )
    .map_err(wio(LayerId::Walkways))?;
    drop(std::mem::take(&mut passes.walkways));
    tracing::debug!(elapsed_s = t0.elapsed().as_secs_f64(), "walkways written");

    facilities::write_node_facilities(&passes, &mut summary, &mut sinks)
        .map_err(wio(LayerId::Facilities))?;
    facilities::write_areas(&passes, opts.bbox, &mut summary, &mut sinks)
        .map_err(werr(out.to_path_buf()))?;
    summary.buildings = sinks.buildings.count() as u64;
    summary.water_polygons = sinks.water.count() as u64;
    let mut counts = Map::new();
    for (layer, w) in [
        (LayerId::Walkways, sinks.walkways),
        (LayerId::Facilities, sinks.facilities),
        (LayerId::Buildings, sinks.buildings),
        (LayerId::Water, sinks.water),
    ] {
        let n = w.finish().map_err(wio(layer))?;
        counts.insert(layer.as_str().into(), json!(n));
    }
    write_meta(input, out, opts, counts)?;
    Ok(summary)
}

/// Write `categories.json` and `manifest.json` into `out`.
fn write_meta(
    input: &Path,
    out: &Path,
    opts: &OsmImportOptions,
    counts: Map<String, Value>,
) -> Result<(), ImportError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| ImportError::Write { path, source: e }
    };
    let tax = tags::taxonomy().map_err(ImportError::Table)?;
    let path = out.join("categories.json");
    let text =
        serde_json::to_string_pretty(&tax).map_err(|e| ImportError::Table(e.to_string()))? + "\n";
    write_atomic(&path, &text).map_err(werr(&path))?;

    let file_name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| file_name.split('.').next().unwrap_or_default().to_string());
    let bbox_note = opts
        .bbox
        .map(|b| {
            format!(
                ", clipped to {},{},{},{}",
                b.min_lon, b.min_lat, b.max_lon, b.max_lat
            )
        })
        .unwrap_or_default();
    let manifest = json!({
        "name": name,
        "modelled": false,
        "note": format!("Imported from OpenStreetMap (© OpenStreetMap contributors, ODbL) by servicemap import osm{bbox_note}. Households are estimated where building:flats is absent; see docs/osm-import.md."),
        "source": file_name,
        "expected_counts": Value::Object(counts),
    });
    let path = out.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| ImportError::Table(e.to_string()))?
        + "\n";
    write_atomic(&path, &text).map_err(werr(&path))
}
