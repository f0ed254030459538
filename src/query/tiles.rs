//! Vector tiles through the one door: the tile engine lives in [`crate::tiles`]; the API asks
//! for a tile here and gets its bytes, or a [`QueryError`] like every other query.

use std::sync::Arc;

pub use crate::tiles::{
    COMPOSITE, COVERAGE_FIELDS, COVERAGE_LAYER, CoverageKey, Source, TileBytes, TileError, TileId,
    TileIdError, ZOOM_MAX, ZOOM_MIN, matrix,
};

use crate::service::Service;

use super::QueryError;

impl From<TileError> for QueryError {
    fn from(e: TileError) -> QueryError {
        match e {
            TileError::NoLayer(layer) => QueryError::layer(layer, "these tiles"),
            TileError::Plan(p) => QueryError::Plan(p),
            TileError::Encode(_) => QueryError::Internal(e.to_string()),
        }
    }
}

impl Service {
    /// One tile of a source, from the cache or encoded now (gzip too when `gzip`).
    pub fn tile(
        &self,
        source: &Source,
        tile: TileId,
        gzip: bool,
    ) -> Result<Arc<TileBytes>, QueryError> {
        let t = self.tiles.tile(source, tile, self.planner.as_ref())?;
        if gzip {
            t.gzip();
        }
        Ok(t)
    }
}
