//! The non-HTTP commands, as library functions so tests call them directly.

use std::path::Path;

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
