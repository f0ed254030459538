//! The non-HTTP commands, as library functions so tests call them directly.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::analysis::audit::Standard;
use crate::analysis::export;
use crate::import::{self, Bbox, ImportError, OsmImportOptions, geojson::GeojsonImportOptions};
use crate::model::{CategoryId, Crs, LayerId, Level, Minutes, ParamError, Profile, Scope};
use crate::query::{AuditRequest, CoverageRequest, QueryError};
use crate::service::{Service, ServiceError};
use crate::store::{self, StoreError};

/// Error of a command: each source keeps its own type; the message is for the terminal.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Serve(#[from] crate::api::ServeError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token: {0}")]
    Token(String),
    #[error("cannot encode the report: {0}")]
    Json(#[from] serde_json::Error),
    /// An import wrote a directory the server refuses.
    #[error(
        "wrote {dir} but it cannot be served: {source}. If the fault is in a file this import did not write (it writes walkways, facilities, buildings, water), fix or remove that file; otherwise please report it with the input file"
    )]
    Unservable { dir: PathBuf, source: ServiceError },
    /// The data directory breaks rules (each violation was printed).
    #[error("{dir}: {count} rule violation(s)")]
    Invalid { dir: PathBuf, count: usize },
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `servicemap validate DIR [--report FILE]`: print the counts table; fail when any rule is
/// broken. Data-quality findings (OpenStreetMap imports) are counted, never a failure; with
/// `report` they are written there as GeoJSON points.
/// `servicemap token NAME ROLE`: a new random token on stdout's first line (for its holder
/// only), the tokens-file line with its Argon2id hash on the second.
pub fn token(name: &str, role: &str) -> Result<(), CliError> {
    let role = crate::edit::Role::parse(role).map_err(CliError::Token)?;
    let (token, line) = crate::edit::tokens::new_token(name, &role).map_err(CliError::Token)?;
    println!("{token}");
    println!("{line}");
    Ok(())
}

pub fn validate(dir: &Path, report_path: Option<&Path>) -> Result<(), CliError> {
    let ds = store::read_dir(dir)?;
    let report = store::validate(&ds);
    println!("{}", report.render_table());
    if let Some(path) = report_path {
        let text = serde_json::to_string_pretty(&report.findings_geojson())? + "\n";
        store::write::write_atomic(path, &text).map_err(io_at(path))?;
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
        Err(CliError::Invalid {
            dir: dir.to_path_buf(),
            count: report.violations.len(),
        })
    }
}

/// `servicemap generate --out DIR`.
pub fn generate(out: &Path) -> Result<(), CliError> {
    crate::generate::write_dataset(out)?;
    println!("wrote the modelled Lijiatuo dataset to {}", out.display());
    Ok(())
}

/// `servicemap stats DIR`: the street-network, household and named-place figures of a data
/// directory (issue 13), for the model and for any import.
pub fn stats(dir: &Path) -> Result<(), CliError> {
    let ds = store::read_dir(dir)?;
    let mut s = crate::analysis::stats::stats(
        &ds,
        &crate::generate::NAMED_PLACES,
        crate::generate::SUBDISTRICT_CODE,
    );
    // Ridges are checked against the modelled ground, which only the model is drawn on.
    if let Some(ridges) = crate::analysis::ridges::read_ridges(dir)? {
        let (proj, z) = crate::generate::model_ground();
        let is_model = ds
            .manifest
            .as_ref()
            .is_some_and(crate::store::Manifest::is_generated_model);
        s = s.with_ridges(
            &ds,
            &ridges,
            is_model.then_some((proj, &z as &dyn Fn(f64, f64) -> f64)),
        );
    }
    print!("{}", s.render());
    Ok(())
}

/// How `servicemap render` finds the font for the names.
pub enum RenderFont<'a> {
    /// The first CJK font of the machine's usual places.
    Default,
    /// Face `index` of this font file.
    File(&'a Path, u32),
    /// No names drawn.
    None,
}

/// `servicemap render DIR --out PNG`.
pub fn render(dir: &Path, out: &Path, width_px: u32, font: RenderFont<'_>) -> Result<(), CliError> {
    let font = match font {
        RenderFont::Default => Some(crate::render::LabelFont::find_default()?),
        RenderFont::File(path, index) => Some(crate::render::LabelFont::load(path, index)?),
        RenderFont::None => None,
    };
    let ds = store::read_dir(dir)?;
    let png = crate::render::overview_png(&ds, width_px, font.as_ref())?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    std::fs::write(out, png).map_err(io_at(out))?;
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
            let service =
                crate::service::Service::load(&out).map_err(|source| CliError::Unservable {
                    dir: out.clone(),
                    source,
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
        #[arg(long, value_parser = |s: &str| CategoryId::parse("category", s))]
        category: CategoryId,
        /// Walking-time threshold, minutes.
        #[arg(long, default_value = "15", value_parser = |s: &str| Minutes::parse("minutes", s))]
        minutes: Minutes,
        #[command(flatten)]
        common: ReportArgs,
    },
    /// Audit against a living-circle standard: each required category's share, compliance rate (达标率), what is missing.
    Audit {
        /// gb50180 or mofcom.
        #[arg(long, default_value = "gb50180", value_parser = |s: &str| s.parse::<Standard>())]
        standard: Standard,
        /// Share of households that must be within the threshold for a category to be met.
        #[arg(long, default_value_t = crate::query::TARGET_SHARE_DEFAULT)]
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
    #[arg(long, default_value = "grid", value_parser = |s: &str| Level::parse("level", s))]
    pub level: Level,
    /// Walking profile: standard, elder or wheelchair.
    #[arg(long, default_value = "standard", value_parser = |s: &str| Profile::parse("profile", s))]
    pub profile: Profile,
    /// csv (Excel) or geojson (QGIS).
    #[arg(long, default_value = "csv", value_parser = ["csv", "geojson"])]
    pub format: String,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Only the buildings (and so the units) of this community id, e.g. 500113006006.
    #[arg(long, value_parser = |s: &str| Scope::parse_community("community", s))]
    pub community: Option<String>,
}

/// `servicemap report ...`: compute from network walking times and write CSV or GeoJSON.
pub fn report(cmd: ReportCommand) -> Result<(), CliError> {
    let common = match &cmd {
        ReportCommand::Coverage { common, .. } | ReportCommand::Audit { common, .. } => {
            common.clone()
        }
    };
    let scope = Scope::new(common.level, common.community.clone())?;
    let geojson = common.format == "geojson";
    let progress = Progress::new(3);
    progress.step("reading, validating and indexing the data, building the walking network");
    let svc = Service::load(&common.data_dir)?;
    progress.step("computing walking times from every building");
    let text = match cmd {
        ReportCommand::Coverage {
            category, minutes, ..
        } => {
            let r = svc.coverage(&CoverageRequest {
                category,
                minutes,
                profile: common.profile,
                scope,
            })?;
            if geojson {
                serde_json::to_string_pretty(&export::coverage_geojson(
                    &r,
                    &svc.dataset,
                    Crs::Wgs84,
                ))? + "\n"
            } else {
                export::coverage_csv(&r, &svc.dataset)
            }
        }
        ReportCommand::Audit {
            standard,
            target_share,
            ..
        } => {
            let level = scope.level;
            let a = svc.audit(&AuditRequest {
                standard,
                scope,
                profile: common.profile,
                target_share,
            })?;
            if geojson {
                serde_json::to_string_pretty(&export::audit_geojson(
                    &a.units,
                    &a.summary,
                    level,
                    standard.as_str(),
                    &svc.dataset,
                    Crs::Wgs84,
                ))? + "\n"
            } else {
                export::audit_csv(&a.units, &svc.dataset, level)
            }
        }
    };
    progress.step("writing");
    match common.out {
        Some(path) => {
            store::write::write_atomic(&path, &text).map_err(io_at(&path))?;
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
