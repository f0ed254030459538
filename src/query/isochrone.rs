//! The area and the people within walking minutes of a point, or of any of several points
//! (the union catchment of, say, every canteen of a community).

use crate::model::{Contours, LonLat, Profile};
use crate::service::Service;
use crate::walk::{Contour, Origin, Searcher, isochrones};

use super::QueryError;

/// Most origins of one union catchment.
pub const ORIGINS_MAX: usize = 50;

/// What to compute.
#[derive(Debug, Clone)]
pub struct IsochroneRequest {
    /// One or more origins, WGS84.
    pub origins: Vec<LonLat>,
    pub minutes: Contours,
    pub profile: Profile,
    pub max_snap_m: f64,
}

/// Longest walk, minutes, of an isochrone short enough to run on the calling event loop.
pub const SHORT_MINUTES_MAX: f64 = 15.0;

impl IsochroneRequest {
    /// One origin and at most [`SHORT_MINUTES_MAX`] minutes: the work follows the area
    /// reached, not the size of the city (0.3–0.7 ms on the default data and on an
    /// OpenStreetMap import of central Helsinki), so it may run inline
    /// ([`super::heavy_short`]).
    #[must_use]
    pub fn is_short(&self) -> bool {
        self.origins.len() == 1
            && self
                .minutes
                .as_slice()
                .iter()
                .all(|&m| m <= SHORT_MINUTES_MAX)
    }
}

/// The answer: one contour per minutes value (ascending), and how far each origin was from
/// the walkway it joined.
#[derive(Debug, Clone)]
pub struct IsochroneAnswer {
    pub contours: Vec<Contour>,
    /// Metres, one per origin.
    pub snap_m: Vec<f64>,
}

impl Service {
    /// Walking isochrones on `searcher`.
    pub fn isochrone(
        &self,
        req: &IsochroneRequest,
        searcher: &mut Searcher,
    ) -> Result<IsochroneAnswer, QueryError> {
        let world = self.walk_world("/isochrone")?;
        let mut origins = Vec::with_capacity(req.origins.len());
        for (i, at) in req.origins.iter().enumerate() {
            let snap = world
                .graph
                .snap_lonlat(at.lon, at.lat, req.max_snap_m, req.profile)
                .map_err(|error| QueryError::OffNetwork {
                    what: if req.origins.len() == 1 {
                        format!("the point ({:.6}, {:.6}) (WGS84)", at.lon, at.lat)
                    } else {
                        format!("origin {} ({:.6}, {:.6}) (WGS84)", i + 1, at.lon, at.lat)
                    },
                    error,
                    profile: req.profile,
                })?;
            origins.push(Origin::new(snap, req.profile));
        }
        let contours = isochrones(
            &world.graph,
            searcher,
            &origins,
            req.profile,
            &world.building_snaps,
            &world.population,
            req.minutes.as_slice(),
        );
        Ok(IsochroneAnswer {
            contours,
            snap_m: origins.iter().map(|o| o.snap.offset_m).collect(),
        })
    }
}
