//! Memory budgets of the caches that grow with use (issue 15: resident memory flat and under
//! 64 MB through any query mix). `serve` sets them once from its flags, before the data
//! loads; every snapshot built afterwards (edits, reloads) reads the same figures, so an edit
//! cannot reset a budget. Tools and tests that never set them get the defaults.

use std::sync::OnceLock;

/// The byte budgets. A cache over its budget does less, never answers differently: nearest
/// tables are not built (the search answers), finished tiles are dropped, prepared tile
/// geometry of the least recently drawn zooms is dropped (made again when drawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudgets {
    /// Walking-nearest tables of one snapshot.
    pub nearest_tables_bytes: usize,
    /// Finished vector tiles.
    pub tile_cache_bytes: usize,
    /// Tile geometry prepared per zoom (simplified, snapped, MVT-encoded features).
    pub tile_geometry_bytes: usize,
}

/// Most bytes the nearest tables of one world may hold by default: at the default data's
/// 1.3 MB a table, about eighteen (eleven categories in one profile and some more).
pub const NEAREST_TABLES_BYTES: usize = 24 << 20;
/// Default budget of finished tiles: a subdistrict's busy tiles (z12–16 around its centre,
/// ~45 tiles, ~1 MB) fit many times over, and a whole city's map being browsed cannot push
/// the cache past it.
pub const TILE_CACHE_BYTES: usize = 8 << 20;
/// Default budget of prepared tile geometry: every zoom of the default data takes ~6.7 MB
/// (`examples/tile_memory.rs`), a city's many times that; a map being browsed draws two or
/// three zooms at a time, which fit.
pub const TILE_GEOMETRY_BYTES: usize = 4 << 20;

impl Default for MemoryBudgets {
    fn default() -> MemoryBudgets {
        MemoryBudgets {
            nearest_tables_bytes: NEAREST_TABLES_BYTES,
            tile_cache_bytes: TILE_CACHE_BYTES,
            tile_geometry_bytes: TILE_GEOMETRY_BYTES,
        }
    }
}

static BUDGETS: OnceLock<MemoryBudgets> = OnceLock::new();

/// Set the process's budgets; only the first call counts (it must come before the data
/// loads). Returns whether this call set them.
pub fn set(budgets: MemoryBudgets) -> bool {
    BUDGETS.set(budgets).is_ok()
}

/// The process's budgets (the defaults when never set).
#[must_use]
pub fn get() -> MemoryBudgets {
    BUDGETS.get().copied().unwrap_or_default()
}
