//! The non-HTTP commands, as library functions so tests call them directly.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::import::{self, Bbox, OsmImportOptions, geojson::GeojsonImportOptions};
use crate::model::{Crs, LayerId};
use crate::store;

/// Error of a command: a message for the terminal.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// `servicemap validate DIR`: print the counts table; fail when any rule is broken.
pub fn validate(dir: &Path) -> Result<(), CliError> {
    let ds = store::read_dir(dir)?;
    let report = store::validate(&ds);
    println!("{}", report.render_table());
    if report.violations.is_empty() {
        println!("OK: {} passes every rule", dir.display());
        Ok(())
    } else {
        for v in &report.violations {
            eprintln!("{v}");
        }
        Err(format!("{}: {} rule violation(s)", dir.display(), report.violations.len()).into())
    }
}

/// `servicemap generate --out DIR`.
pub fn generate(out: &Path) -> Result<(), CliError> {
    crate::generate::write_dataset(out)?;
    println!("wrote the modelled Lijiatuo dataset to {}", out.display());
    Ok(())
}

/// `servicemap render DIR --out PNG`.
pub fn render(dir: &Path, out: &Path, width_px: u32) -> Result<(), CliError> {
    let ds = store::read_dir(dir)?;
    let png = crate::render::overview_png(&ds, width_px)?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, png)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// `servicemap import osm|geojson`.
#[derive(Debug, Clone, Subcommand)]
pub enum ImportCommand {
    /// Import walkways, facilities, buildings and water from an OpenStreetMap file
    /// (`.osm.pbf` or `.osm` XML). See docs/osm-import.md.
    Osm {
        /// The OSM file: `*.osm.pbf` or `*.osm`.
        file: PathBuf,
        /// Output data directory (created; files of other layers in it are kept).
        #[arg(long)]
        out: PathBuf,
        /// Keep only what lies in `minlon,minlat,maxlon,maxlat` (WGS84 degrees).
        #[arg(long, value_parser = parse_bbox)]
        bbox: Option<Bbox>,
        /// Dataset name for manifest.json (default: the file name without extensions).
        #[arg(long)]
        name: Option<String>,
    },
    /// Validate a GeoJSON layer of your own (communities, grids, ...) and copy it into a data
    /// directory, renaming your property names to the data format's.
    Geojson {
        /// The layer the file is: boundary, communities, grids, microgrids, compounds, ...
        #[arg(long, value_parser = parse_layer_id)]
        layer: LayerId,
        /// The GeoJSON FeatureCollection file.
        file: PathBuf,
        /// Output data directory.
        #[arg(long)]
        out: PathBuf,
        /// Property holding each feature's id (default: the GeoJSON `id` member).
        #[arg(long)]
        id_property: Option<String>,
        /// Property holding each feature's name (renamed to `name`).
        #[arg(long)]
        name_property: Option<String>,
        /// Rename a property: `--map yours=ours`, repeatable (e.g. `--map SQMC=community`).
        #[arg(long = "map", value_parser = import::geojson::parse_mapping)]
        map: Vec<(String, String)>,
        /// Coordinate system of the file: wgs84, gcj02 or bd09.
        #[arg(long, default_value = "wgs84")]
        crs: Crs,
    },
}

fn parse_bbox(s: &str) -> Result<Bbox, String> {
    s.parse()
}

fn parse_layer_id(s: &str) -> Result<LayerId, String> {
    LayerId::parse(s).ok_or_else(|| {
        let all: Vec<&str> = LayerId::ALL.iter().map(|l| l.as_str()).collect();
        format!("unknown layer '{s}': use one of {}", all.join(", "))
    })
}

/// `servicemap import ...`: run the import and print what it did.
pub fn import(cmd: ImportCommand) -> Result<(), CliError> {
    match cmd {
        ImportCommand::Osm {
            file,
            out,
            bbox,
            name,
        } => {
            let summary = import::import_osm(
                &file,
                &out,
                &OsmImportOptions {
                    bbox,
                    name,
                    progress: true,
                },
            )?;
            println!("{}", summary.render_table());
            println!("wrote {}", out.display());
        }
        ImportCommand::Geojson {
            layer,
            file,
            out,
            id_property,
            name_property,
            map,
            crs,
        } => {
            let opts = GeojsonImportOptions {
                id_property,
                name_property,
                map,
                crs,
            };
            let s = import::geojson::import_geojson(&file, layer, &out, &opts)?;
            println!(
                "wrote {} {} feature(s) to {}",
                s.features,
                s.layer,
                s.path.display()
            );
        }
    }
    Ok(())
}
