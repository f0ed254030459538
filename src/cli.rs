//! The non-HTTP commands, as library functions so tests call them directly.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::import::{self, Bbox, OsmImportOptions, geojson::GeojsonImportOptions};
use crate::model::{Crs, LayerId};
use crate::store;

/// Error of a command: a message for the terminal.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// `servicemap validate DIR [--report FILE]`: print the counts table; fail when any rule is
/// broken. Data-quality findings (OpenStreetMap imports) are counted, never a failure; with
/// `report` they are written there as GeoJSON points.
pub fn validate(dir: &Path, report_path: Option<&Path>) -> Result<(), CliError> {
    let ds = store::read_dir(dir)?;
    let report = store::validate(&ds);
    println!("{}", report.render_table());
    if let Some(path) = report_path {
        let text = serde_json::to_string_pretty(&report.findings_geojson())? + "\n";
        store::write::write_atomic(path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!(
            "wrote {} data-quality finding(s) to {}",
            report.findings.len(),
            path.display()
        );
    } else if !report.findings.is_empty() {
        println!(
            "{} data-quality finding(s), not errors (list them with --report FILE.geojson); first: {}",
            report.findings.len(),
            report.findings[0]
        );
    }
    if report.violations.is_empty() {
        println!("OK: {} passes every rule", dir.display());
        Ok(())
    } else {
        for v in &report.violations {
            eprintln!("{v}");
        }
        Err(format!(
            "{}: {} rule violation(s)",
            dir.display(),
            report.violations.len()
        )
        .into())
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
        .map_err(|e: crate::model::BboxError| e.to_string())
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
            // An import the server would refuse is a failed import: load it as `serve` does.
            let service = crate::service::Service::load(&out).map_err(|e| {
                format!(
                    "wrote {} but it cannot be served: {e}. If the fault is in a file this import did not write (it writes walkways, facilities, buildings, water), fix or remove that file; otherwise please report it with the input file",
                    out.display()
                )
            })?;
            let findings = store::validate(&service.dataset).findings.len();
            println!(
                "wrote {}; it serves ({findings} data-quality finding(s): servicemap validate {} --report quality.geojson)",
                out.display(),
                out.display()
            );
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

/// `servicemap report coverage|audit`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReportCommand {
    /// Coverage of one category per unit: households, residents (60+, children) covered, median and p90 walking time.
    Coverage {
        /// Facility category id (see categories.json).
        #[arg(long)]
        category: String,
        /// Walking-time threshold, minutes.
        #[arg(long, default_value_t = 15.0)]
        minutes: f64,
        #[command(flatten)]
        common: ReportArgs,
    },
    /// Audit against a living-circle standard: each required category's share, compliance rate (达标率), what is missing.
    Audit {
        /// gb50180 or mofcom.
        #[arg(long, default_value = "gb50180")]
        standard: String,
        /// Share of households that must be within the threshold for a category to be met.
        #[arg(long, default_value_t = 0.85)]
        target_share: f64,
        #[command(flatten)]
        common: ReportArgs,
    },
}

/// Flags every report takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Data directory.
    #[arg(long = "data", default_value = "geodata")]
    pub data_dir: std::path::PathBuf,
    /// microgrid, grid, community or subdistrict.
    #[arg(long, default_value = "grid")]
    pub level: String,
    /// Walking profile: standard, elder or wheelchair.
    #[arg(long, default_value = "standard")]
    pub profile: String,
    /// csv (Excel) or geojson (QGIS).
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Only the buildings (and so the units) of this community id, e.g. 500113006006.
    #[arg(long)]
    pub community: Option<String>,
}

/// `servicemap report ...`: compute from network walking times and write CSV or GeoJSON.
pub fn report(cmd: ReportCommand) -> Result<(), CliError> {
    use crate::analysis::audit::Standard;
    use crate::analysis::{Level, Planner, WalkWorld, export};
    use crate::walk::Profile;

    let common = match &cmd {
        ReportCommand::Coverage { common, .. } | ReportCommand::Audit { common, .. } => {
            common.clone()
        }
    };
    let level: Level = common.level.parse()?;
    let profile: Profile = common
        .profile
        .parse()
        .map_err(|e: crate::walk::UnknownProfile| e.to_string())?;
    let geojson = match common.format.as_str() {
        "csv" => false,
        "geojson" => true,
        other => return Err(format!("unknown format '{other}': use csv or geojson").into()),
    };
    let progress = Progress::new(4);
    progress.step("reading and validating the data");
    let (ds, report) = store::load_valid(&common.data_dir)?;
    drop(report);
    progress.step("building the walking network");
    let planner = Planner::new(std::sync::Arc::new(WalkWorld::from_dataset(&ds)?));
    progress.step("computing walking times from every building");
    let text = match cmd {
        ReportCommand::Coverage {
            category, minutes, ..
        } => {
            let r = planner.coverage_in(
                &category,
                minutes,
                profile,
                level,
                common.community.as_deref(),
            )?;
            if geojson {
                serde_json::to_string_pretty(&export::coverage_geojson(
                    &r,
                    &ds,
                    crate::model::Crs::Wgs84,
                ))? + "\n"
            } else {
                export::coverage_csv(&r, &ds)
            }
        }
        ReportCommand::Audit {
            standard,
            target_share,
            ..
        } => {
            let std_: Standard = standard.parse()?;
            let community = common.community.as_deref();
            let units = planner.audit_in(std_, level, profile, target_share, community)?;
            let summary =
                planner.audit_in(std_, Level::Subdistrict, profile, target_share, community)?;
            let Some(summary) = summary.first() else {
                return Err("no buildings to audit".into());
            };
            if geojson {
                serde_json::to_string_pretty(&export::audit_geojson(
                    &units,
                    summary,
                    level,
                    &standard,
                    &ds,
                    crate::model::Crs::Wgs84,
                ))? + "\n"
            } else {
                export::audit_csv(&units, &ds, level)
            }
        }
    };
    progress.step("writing");
    match common.out {
        Some(path) => {
            crate::store::write::write_atomic(&path, &text)?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    progress.finish();
    Ok(())
}

/// A step bar on standard error, drawn only on a terminal (scripts and CI get clean output).
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new(total: u64) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Progress(indicatif::ProgressBar::hidden());
        }
        let pb = indicatif::ProgressBar::new(total);
        let style =
            indicatif::ProgressStyle::with_template("[{bar:20}] {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("#> ");
        pb.set_style(style);
        Progress(pb)
    }

    fn step(&self, what: &str) {
        self.0.set_message(what.to_string());
        self.0.inc(1);
    }

    fn finish(&self) {
        self.0.finish_with_message("done");
    }
}
