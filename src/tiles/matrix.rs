//! WebMercatorQuad (OGC 2D Tile Matrix Set, the XYZ scheme of every web map): tile ids,
//! their bounds, and the projection of WGS84 degrees into the unit "world" square.
//!
//! World coordinates are Web Mercator scaled to [0, 1] with y growing southwards, so a tile
//! `(z, x, y)` is the square `[x, x + 1] × [y, y + 1]` / 2^z and a tile's integer grid
//! (`EXTENT` units per side) is a translation of one global grid per zoom. That is why
//! geometries are quantised once per zoom and only shifted per tile.

/// Smallest zoom served: the whole subdistrict fits in one or two tiles.
pub const ZOOM_MIN: u8 = 10;
/// Largest zoom served: a z18 tile is ~130 m across at Chongqing's latitude, finer than any
/// feature needs.
pub const ZOOM_MAX: u8 = 18;
/// Integer units per tile side (MVT's usual 4096).
pub const EXTENT: u32 = 4096;
/// Buffer around each tile, in tile units, so strokes and labels near an edge join up.
pub const BUFFER: u32 = 64;
/// Web Mercator's latitude limit (degrees).
pub const MAX_LAT: f64 = 85.051_128_779_806_59;
/// Half the side of the Web Mercator square, metres (EPSG:3857).
pub const HALF_WORLD_M: f64 = 20_037_508.342_789_244;

/// A tile of WebMercatorQuad: zoom (tile matrix), column `x`, row `y` (from the north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why a tile id is not served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileIdError {
    #[error("zoom {z} is not served: tiles exist for zoom {ZOOM_MIN} to {ZOOM_MAX}")]
    Zoom { z: u32 },
    #[error("tile {z}/{y}/{x} does not exist: at zoom {z} rows and columns run from 0 to {max}")]
    OutOfMatrix { z: u8, x: u32, y: u32, max: u32 },
}

impl TileId {
    /// A served tile: zoom in [`ZOOM_MIN`, `ZOOM_MAX`], row and column inside the matrix.
    pub fn new(z: u32, x: u32, y: u32) -> Result<TileId, TileIdError> {
        if !(u32::from(ZOOM_MIN)..=u32::from(ZOOM_MAX)).contains(&z) {
            return Err(TileIdError::Zoom { z });
        }
        let z = z as u8;
        let n = matrix_size(z);
        if x >= n || y >= n {
            return Err(TileIdError::OutOfMatrix {
                z,
                x,
                y,
                max: n - 1,
            });
        }
        Ok(TileId { z, x, y })
    }

    /// The tile's square in world coordinates `[min_x, min_y, max_x, max_y]`.
    #[must_use]
    pub fn world_bounds(self) -> [f64; 4] {
        let n = f64::from(matrix_size(self.z));
        [
            f64::from(self.x) / n,
            f64::from(self.y) / n,
            f64::from(self.x + 1) / n,
            f64::from(self.y + 1) / n,
        ]
    }

    /// The tile's square widened by [`BUFFER`] on each side, in world coordinates.
    #[must_use]
    pub fn buffered_world_bounds(self) -> [f64; 4] {
        let b = f64::from(BUFFER) / f64::from(EXTENT) / f64::from(matrix_size(self.z));
        let [a, c, d, e] = self.world_bounds();
        [a - b, c - b, d + b, e + b]
    }

    /// The tile's square in WGS84 degrees `[west, south, east, north]`.
    #[must_use]
    pub fn lonlat_bounds(self) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.world_bounds();
        let (w, n) = world_to_lonlat(x0, y0);
        let (e, s) = world_to_lonlat(x1, y1);
        [w, s, e, n]
    }

    /// Offset of this tile's origin on its zoom's global pixel grid (`EXTENT` per tile).
    #[must_use]
    pub fn pixel_origin(self) -> (f64, f64) {
        (
            f64::from(self.x) * f64::from(EXTENT),
            f64::from(self.y) * f64::from(EXTENT),
        )
    }
}

/// Tiles per side at zoom `z`.
#[must_use]
pub fn matrix_size(z: u8) -> u32 {
    1u32 << z
}

/// Global pixel units per world unit at zoom `z` (`EXTENT` per tile).
#[must_use]
pub fn pixels_per_world(z: u8) -> f64 {
    f64::from(EXTENT) * f64::from(matrix_size(z))
}

/// WGS84 degrees to world coordinates (latitude clamped to Web Mercator's range).
#[must_use]
pub fn lonlat_to_world(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = 0.5 - (lat.tan() + 1.0 / lat.cos()).ln() / (2.0 * std::f64::consts::PI);
    (x, y)
}

/// World coordinates to WGS84 degrees.
#[must_use]
pub fn world_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y);
    let lat = n.sinh().atan().to_degrees();
    (lon, lat)
}

/// The tile at zoom `z` holding a WGS84 position.
#[must_use]
pub fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let (x, y) = lonlat_to_world(lon, lat);
    let n = matrix_size(z);
    let clamp = |v: f64| ((v * f64::from(n)).floor().max(0.0) as u32).min(n - 1);
    (clamp(x), clamp(y))
}

/// The inclusive tile range `(min_col, min_row, max_col, max_row)` covering a WGS84 box at
/// zoom `z` (the `tileMatrixSetLimits` of a tileset).
#[must_use]
pub fn tile_range(z: u8, bbox: [f64; 4]) -> (u32, u32, u32, u32) {
    let (x0, y0) = tile_of(z, bbox[0], bbox[3]);
    let (x1, y1) = tile_of(z, bbox[2], bbox[1]);
    (x0, y0, x1, y1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tile_of_lijiatuo() {
        // 106.533, 29.470 at z14: column floor((106.533+180)/360·16384) = 13040.
        let (x, y) = tile_of(14, 106.533, 29.470);
        assert_eq!(x, 13040);
        let t = TileId::new(14, x, y).expect("in range");
        let [w, s, e, n] = t.lonlat_bounds();
        assert!(w <= 106.533 && 106.533 < e && s < 29.470 && 29.470 <= n);
    }

    #[test]
    fn world_round_trip() {
        for (lon, lat) in [(106.5, 29.4), (-73.9, 40.7), (0.0, 0.0)] {
            let (x, y) = lonlat_to_world(lon, lat);
            let (lo, la) = world_to_lonlat(x, y);
            assert!((lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9);
        }
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(matches!(
            TileId::new(9, 0, 0),
            Err(TileIdError::Zoom { z: 9 })
        ));
        assert!(matches!(
            TileId::new(19, 0, 0),
            Err(TileIdError::Zoom { .. })
        ));
        assert!(matches!(
            TileId::new(10, 1024, 0),
            Err(TileIdError::OutOfMatrix { max: 1023, .. })
        ));
        assert!(TileId::new(10, 1023, 1023).is_ok());
    }
}
