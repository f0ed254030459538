//! Which community, grid, micro-grid and compound hold a point.

use crate::index::{AREA_LAYERS, Located};
use crate::model::{LayerId, LonLat};
use crate::service::Service;

use super::QueryError;

/// The areas holding a point, and the area layers this directory lacks.
#[derive(Debug, Clone)]
pub struct LocateAnswer {
    /// Positions in each layer.
    pub at: Located,
    pub missing_layers: Vec<LayerId>,
}

impl Service {
    /// Locate a WGS84 point. Outside the boundary (or, without one, outside every community)
    /// is an error, not an empty answer.
    pub fn locate(&self, at: LonLat) -> Result<LocateAnswer, QueryError> {
        let idx = &self.indexes;
        if !idx.has_layer(LayerId::Boundary) && !idx.has_layer(LayerId::Communities) {
            return Err(QueryError::layer(LayerId::Communities, "locating a point"));
        }
        let found = idx.locate(at.lon, at.lat);
        // The boundary decides "outside" when the data has one; otherwise being in no community.
        let outside = if idx.has_layer(LayerId::Boundary) {
            found.boundary.is_none()
        } else {
            found.community.is_none()
        };
        if outside {
            return Err(QueryError::OutsideArea { at });
        }
        Ok(LocateAnswer {
            at: found,
            missing_layers: AREA_LAYERS
                .iter()
                .copied()
                .filter(|l| !idx.has_layer(*l))
                .collect(),
        })
    }
}
