//! HTTP API (actix-web). To be built by the API work.

use clap::Args;
use std::path::PathBuf;

/// Flags of `servicemap serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Data directory to serve.
    #[arg(long = "data", env = "SERVICEMAP_DATA", default_value = "geodata")]
    pub data_dir: PathBuf,
    /// Address to bind.
    #[arg(long, env = "SERVICEMAP_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Allowed CORS origins, comma-separated; `*` allows any.
    #[arg(long, env = "SERVICEMAP_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,
}

/// Load the data and serve until stopped.
pub fn serve_blocking(_args: ServeArgs) -> Result<(), crate::cli::CliError> {
    Err("serve is not built yet".into())
}
