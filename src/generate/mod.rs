//! The modelled Lijiatuo dataset generator.

/// Write every layer of the modelled dataset into `out`.
pub fn write_dataset(_out: &std::path::Path) -> Result<(), crate::cli::CliError> {
    Err("not built yet".into())
}
