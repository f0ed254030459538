//! The walking view of a data directory, built once: the graph, the facilities and buildings
//! snapped onto it, and the typed layers the analysis needs. Shared read-only by the API, the
//! CLI reports and the benchmarks.

use std::collections::BTreeMap;
use std::sync::Arc;

use geo::Polygon;

use crate::index::{IndexError, Indexes};
use crate::model::{Building, Facilities, FeatureError, LayerId, Taxonomy, Walkway};
use crate::store::Dataset;
use crate::walk::{DEFAULT_MAX_SNAP_M, Population, Profile, Snap, SnappedPoints, WalkGraph};

use super::coverage::Level;

/// An administrative unit of the data: its id and the community it lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRef {
    pub id: String,
    pub community: Option<String>,
}

/// Why a dataset cannot be walked.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("the data directory has no walkways layer, so walking times cannot be computed")]
    NoWalkways,
    #[error(transparent)]
    Feature(#[from] FeatureError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// Graph + snapped facilities and buildings.
#[derive(Debug)]
pub struct WalkWorld {
    pub graph: WalkGraph,
    /// The facilities layer (shared with the indexes); row i is snapped point i.
    pub facilities: Arc<Facilities>,
    /// Facilities snapped; tag = index of the category in `category_ids`.
    pub facility_snaps: SnappedPoints,
    pub category_ids: Vec<String>,
    pub buildings: Vec<Building>,
    pub building_snaps: SnappedPoints,
    pub population: Vec<Population>,
    pub taxonomy: Option<Taxonomy>,
    /// The units of the micro-grid, grid and community layers (those present), in layer
    /// order, so reports list units nobody lives in too.
    pub units: BTreeMap<Level, Vec<UnitRef>>,
}

impl WalkWorld {
    /// Build from a dataset and its indexes (which hold the facilities and buildings, parsed
    /// once and linked to their units). Needs walkways; facilities and buildings may be
    /// absent (empty).
    pub fn build(
        ds: &Dataset,
        indexes: &Indexes,
        max_snap_m: f64,
    ) -> Result<WalkWorld, WorldError> {
        let walkways: Vec<Walkway> = ds
            .layer(LayerId::Walkways)
            .ok_or(WorldError::NoWalkways)?
            .iter()
            .map(Walkway::from_feature)
            .collect::<Result<_, _>>()?;
        let water: Vec<Polygon<f64>> = ds
            .layer(LayerId::Water)
            .unwrap_or_default()
            .iter()
            .flat_map(|f| match &f.geometry {
                geo::Geometry::Polygon(p) => vec![p.clone()],
                geo::Geometry::MultiPolygon(mp) => mp.0.clone(),
                _ => Vec::new(),
            })
            .collect();
        let proj = ds.projection();
        let graph = WalkGraph::build(&walkways, &water, &proj);
        let facilities = Arc::clone(indexes.facilities());
        let category_ids: Vec<String> = facilities.category_names().to_vec();
        let tags: Vec<u32> = facilities
            .iter()
            .map(|f| facilities.category_index(f.facility))
            .collect();
        let f_lonlat: Vec<(f64, f64)> = facilities
            .iter()
            .map(|f| (f.position.x(), f.position.y()))
            .collect();
        let facility_snaps = SnappedPoints::build(&graph, &f_lonlat, &tags, max_snap_m);
        let buildings: Vec<Building> = indexes.buildings().to_vec();
        let b_lonlat: Vec<(f64, f64)> = buildings
            .iter()
            .map(|b| (b.position.x(), b.position.y()))
            .collect();
        let building_snaps = SnappedPoints::build(&graph, &b_lonlat, &[], max_snap_m);
        let population = buildings
            .iter()
            .map(|b| Population {
                households: b.households,
                residents: b.residents,
                residents_60plus: b.residents_60plus,
            })
            .collect();
        let mut units = BTreeMap::new();
        for (level, layer) in [
            (Level::Microgrid, LayerId::Microgrids),
            (Level::Grid, LayerId::Grids),
            (Level::Community, LayerId::Communities),
        ] {
            let list: Vec<UnitRef> = ds
                .layer(layer)
                .unwrap_or_default()
                .iter()
                .map(|f| UnitRef {
                    id: f.id.clone(),
                    community: if level == Level::Community {
                        Some(f.id.clone())
                    } else {
                        f.str_prop("community").map(str::to_string)
                    },
                })
                .collect();
            units.insert(level, list);
        }
        Ok(WalkWorld {
            graph,
            facilities,
            facility_snaps,
            category_ids,
            buildings,
            building_snaps,
            population,
            taxonomy: ds.taxonomy.clone(),
            units,
        })
    }

    /// Index `ds` and build with the default snapping distance (tests and tools that need
    /// only the walking view; the service builds it from its own indexes).
    pub fn from_dataset(ds: &Dataset) -> Result<WalkWorld, WorldError> {
        let indexes = Indexes::build(ds)?;
        Self::build(ds, &indexes, DEFAULT_MAX_SNAP_M)
    }

    /// Ids of the units of `level` the data lists, limited to `community` when given.
    #[must_use]
    pub fn unit_ids(&self, level: Level, community: Option<&str>) -> Vec<&str> {
        self.units
            .get(&level)
            .map(|l| {
                l.iter()
                    .filter(|u| community.is_none_or(|c| u.community.as_deref() == Some(c)))
                    .map(|u| u.id.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tag of a category id in `facility_snaps`, if any facility has it.
    #[must_use]
    pub fn category_tag(&self, id: &str) -> Option<u32> {
        self.category_ids
            .binary_search_by(|c| c.as_str().cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// Snapped positions of the facilities of `category` for profile `p`.
    #[must_use]
    pub fn category_snaps(&self, category: &str, p: Profile) -> Vec<Snap> {
        let Some(tag) = self.category_tag(category) else {
            return Vec::new();
        };
        (0..self.facility_snaps.len())
            .filter(|&i| self.facility_snaps.tag(i) == tag)
            .filter_map(|i| self.facility_snaps.snap(i, p).copied())
            .collect()
    }
}
