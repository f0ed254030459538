//! `servicemap` command line: serve, validate, generate, render, import.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "servicemap",
    version,
    about = "15-minute living circle service map"
)]
struct Cli {
    /// Log filter (tracing env-filter syntax), e.g. `info`, `servicemap=debug`.
    #[arg(long, env = "SERVICEMAP_LOG", default_value = "info", global = true)]
    log_level: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a data directory over HTTP (the default command).
    Serve(servicemap::api::ServeArgs),
    /// Check a data directory against every rule and print its counts.
    Validate {
        /// The data directory to check.
        #[arg(default_value = "geodata")]
        dir: PathBuf,
        /// Write the data-quality findings (of an OpenStreetMap import) to this GeoJSON file.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Regenerate the modelled Lijiatuo dataset (fixed seed, byte-identical output).
    Generate {
        /// Output directory.
        #[arg(long, default_value = "geodata")]
        out: PathBuf,
    },
    /// Print street-network and household figures of a data directory (orientation entropy,
    /// intersections, dead ends, grades, households per grid, named places).
    Stats {
        #[arg(default_value = "geodata")]
        dir: PathBuf,
    },
    /// Import a city from OpenStreetMap, or a layer of your own, into a data directory.
    Import {
        #[command(subcommand)]
        source: servicemap::cli::ImportCommand,
    },
    /// Planner reports from network walking times, as CSV (Excel) or GeoJSON (QGIS).
    Report {
        #[command(subcommand)]
        what: servicemap::cli::ReportCommand,
    },
    /// Make a new write token: prints the token (give it to its holder) and the line to add
    /// to the tokens file (`serve --tokens FILE`), which holds only its Argon2id hash.
    Token {
        /// Who holds the token; the history records this name.
        name: String,
        /// `editor` (every editable collection) or `grid:GRID_ID[,GRID_ID…]`.
        #[arg(default_value = "editor")]
        role: String,
    },
    /// Draw the overview picture of a data directory as a PNG.
    Render {
        #[arg(default_value = "geodata")]
        dir: PathBuf,
        #[arg(long, default_value = "docs/overview.png")]
        out: PathBuf,
        /// Width of the picture in pixels.
        #[arg(long, default_value_t = 1600)]
        width_px: u32,
        /// Font file for the names (default: Noto Sans CJK from Debian's fonts-noto-cjk).
        #[arg(long)]
        font: Option<PathBuf>,
        /// Face of a font collection (.ttc) to use with --font.
        #[arg(long, default_value_t = 0, requires = "font")]
        font_index: u32,
        /// Draw without names (no font needed).
        #[arg(long, conflicts_with = "font")]
        no_labels: bool,
    },
}

/// `servicemap` alone means `servicemap serve` with its defaults (and environment variables).
fn default_serve_args() -> servicemap::api::ServeArgs {
    #[derive(Parser)]
    struct ServeOnly {
        #[command(flatten)]
        args: servicemap::api::ServeArgs,
    }
    ServeOnly::parse_from(["servicemap"]).args
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        None => servicemap::api::serve_blocking(default_serve_args()).map_err(Into::into),
        Some(Command::Serve(args)) => servicemap::api::serve_blocking(args).map_err(Into::into),
        Some(Command::Validate { dir, report }) => {
            servicemap::cli::validate(&dir, report.as_deref())
        }
        Some(Command::Generate { out }) => servicemap::cli::generate(&out),
        Some(Command::Stats { dir }) => servicemap::cli::stats(&dir),
        Some(Command::Report { what }) => servicemap::cli::report(what),
        Some(Command::Render {
            dir,
            out,
            width_px,
            font,
            font_index,
            no_labels,
        }) => {
            let font = match (&font, no_labels) {
                (_, true) => servicemap::cli::RenderFont::None,
                (Some(path), false) => servicemap::cli::RenderFont::File(path, font_index),
                (None, false) => servicemap::cli::RenderFont::Default,
            };
            servicemap::cli::render(&dir, &out, width_px, font)
        }
        Some(Command::Import { source }) => servicemap::cli::import(source),
        Some(Command::Token { name, role }) => servicemap::cli::token(&name, &role),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
