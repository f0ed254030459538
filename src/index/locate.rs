//! Point-in-polygon: which boundary, community, grid, micro-grid and compound hold a point.

use geo::{Intersects, Point};
use rstar::AABB;

use crate::model::LayerId;

use super::Indexes;

/// The areas containing a point: positions in each polygon layer (same order as the dataset),
/// `None` where no area of that layer holds the point or the layer is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Located {
    pub boundary: Option<usize>,
    pub community: Option<usize>,
    pub grid: Option<usize>,
    pub microgrid: Option<usize>,
    pub compound: Option<usize>,
}

impl Indexes {
    /// Areas holding the WGS84 point (`lon`, `lat`), each layer looked up independently. A point
    /// on a shared edge touches two areas; the one with the smallest id wins so the answer is
    /// deterministic.
    #[must_use]
    pub fn locate(&self, lon: f64, lat: f64) -> Located {
        Located {
            boundary: self.area_at(LayerId::Boundary, lon, lat),
            community: self.area_at(LayerId::Communities, lon, lat),
            grid: self.area_at(LayerId::Grids, lon, lat),
            microgrid: self.area_at(LayerId::Microgrids, lon, lat),
            compound: self.area_at(LayerId::Compounds, lon, lat),
        }
    }

    /// Position of the area of `layer` holding the point (edges count), smallest id on ties.
    #[must_use]
    pub fn area_at(&self, layer: LayerId, lon: f64, lat: f64) -> Option<usize> {
        let areas = self.areas.get(&layer)?;
        let tree = &self.layers.get(&layer)?.envelopes;
        let p = Point::new(lon, lat);
        tree.locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|e| e.data)
            .filter(|&i| areas[i].polygon.intersects(&p))
            .min_by(|&a, &b| areas[a].id.cmp(&areas[b].id))
    }
}
