//! The walking view of a data directory, built once: the graph, the facilities and buildings
//! snapped onto it, and the typed layers the analysis needs. Shared read-only by the API, the
//! CLI reports and the benchmarks.

use geo::Polygon;

use crate::index::{IndexError, Indexes};
use crate::model::{Building, Facility, FeatureError, LayerId, Taxonomy, Walkway};
use crate::store::Dataset;
use crate::walk::{DEFAULT_MAX_SNAP_M, Population, Profile, Snap, SnappedPoints, WalkGraph};

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
    pub facilities: Vec<Facility>,
    /// Facilities snapped; tag = index of the category in `category_ids`.
    pub facility_snaps: SnappedPoints,
    pub category_ids: Vec<String>,
    pub buildings: Vec<Building>,
    pub building_snaps: SnappedPoints,
    pub population: Vec<Population>,
    pub taxonomy: Option<Taxonomy>,
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
        let facilities: Vec<Facility> = indexes.facilities().to_vec();
        let mut category_ids: Vec<String> = facilities.iter().map(|f| f.category.clone()).collect();
        category_ids.sort();
        category_ids.dedup();
        let tags: Vec<u32> = facilities
            .iter()
            .map(|f| {
                category_ids
                    .binary_search(&f.category)
                    .map_or(0, |i| i as u32)
            })
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
        Ok(WalkWorld {
            graph,
            facilities,
            facility_snaps,
            category_ids,
            buildings,
            building_snaps,
            population,
            taxonomy: ds.taxonomy.clone(),
        })
    }

    /// Index `ds` and build with the default snapping distance (tests and tools that need
    /// only the walking view; the service builds it from its own indexes).
    pub fn from_dataset(ds: &Dataset) -> Result<WalkWorld, WorldError> {
        let indexes = Indexes::build(ds)?;
        Self::build(ds, &indexes, DEFAULT_MAX_SNAP_M)
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
