//! Spatial indexes over a loaded [`Dataset`]: R-trees bulk-loaded once at start-up, and the
//! pure queries the service answers from them (point-in-polygon `locate`, straight-line
//! `nearest_straight`, bbox `features_in_bbox`). No HTTP here.
//!
//! Points are indexed in local metres (the dataset's one [`LocalProj`]) so the
//! R-tree's Euclidean metric is a good proxy of ground distance; reported distances are then
//! recomputed on the ellipsoid. Polygons are indexed by their lon/lat envelope and tested
//! exactly.

mod line_entry;
mod locate;
mod nearest;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use geo::{BoundingRect, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::model::{Area, Building, Facilities, FacilityId, FeatureError, LayerId, LocalProj};
use crate::store::Dataset;

pub use line_entry::LineEntry;
pub use locate::Located;
pub use nearest::{Hit, distance_m};

/// An R-tree entry of a point in local metres, carrying its position in the layer's vector.
pub type PointEntry = GeomWithData<[f64; 2], usize>;
/// An R-tree entry of a facility in local metres.
pub type FacilityEntry = GeomWithData<[f64; 2], FacilityId>;
/// An R-tree entry of a feature's lon/lat envelope, carrying its position in the layer.
pub type EnvelopeEntry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// The polygon layers `locate` answers from, innermost last.
pub const AREA_LAYERS: [LayerId; 5] = [
    LayerId::Boundary,
    LayerId::Communities,
    LayerId::Grids,
    LayerId::Microgrids,
    LayerId::Compounds,
];

/// Why indexes cannot be built from a dataset.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Feature(#[from] FeatureError),
    #[error("{layer} feature '{id}': geometry has no extent (empty geometry)")]
    EmptyGeometry { layer: LayerId, id: String },
}

/// Per-layer lookup structures used by every layer (OGC items, feature by id).
#[derive(Debug)]
pub struct LayerIndex {
    /// Feature envelopes in lon/lat degrees.
    envelopes: RTree<EnvelopeEntry>,
    by_id: HashMap<String, usize>,
    /// `[min_lon, min_lat, max_lon, max_lat]` of the whole layer, `None` when it is empty.
    pub extent: Option<[f64; 4]>,
    /// Every property name some feature of the layer has (what items can be filtered on).
    pub properties: BTreeSet<String>,
}

impl LayerIndex {
    /// Position of the feature with this id in the layer, if any.
    #[must_use]
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }
}

/// Every index of a dataset. Positions (`usize`) refer to the order of the dataset's layer
/// vectors, so callers read properties and geometry from the [`Dataset`] they built this from.
#[derive(Debug)]
pub struct Indexes {
    /// Projection to local metres: the dataset's one projection ([`Dataset::projection`]).
    pub proj: LocalProj,
    /// Per layer, shared with the next snapshot's indexes when an edit leaves the layer be.
    layers: BTreeMap<LayerId, Arc<LayerIndex>>,
    /// Typed polygon layers for point-in-polygon, same order as the dataset's layer.
    areas: BTreeMap<LayerId, Arc<Vec<Area>>>,
    /// Facilities with `community`/`grid` filled in by point-in-polygon where the file had none;
    /// shared with the walking world.
    facilities: Arc<Facilities>,
    /// Facility points (local metres) per category id.
    facility_trees: Arc<BTreeMap<String, RTree<FacilityEntry>>>,
    /// Every facility point (local metres), for queries over all categories.
    all_facilities: Arc<RTree<FacilityEntry>>,
    buildings: Arc<Vec<Building>>,
    building_tree: Arc<RTree<PointEntry>>,
}

fn rect_of(layer: LayerId, f: &crate::model::Feature) -> Result<Rect<f64>, IndexError> {
    f.geometry
        .bounding_rect()
        .ok_or_else(|| IndexError::EmptyGeometry {
            layer,
            id: f.id.clone(),
        })
}

fn envelope_entry(r: Rect<f64>, pos: usize) -> EnvelopeEntry {
    GeomWithData::new(
        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
        pos,
    )
}

impl Indexes {
    /// Build every index. Fails on the first feature that cannot be read as its typed view
    /// (a facility without `category`, a polygon layer holding a point, ...).
    pub fn build(ds: &Dataset) -> Result<Indexes, IndexError> {
        Self::build_reusing(ds, None)
    }

    /// [`Indexes::build`] for the next snapshot after an edit (issue 12): `prev` = (the
    /// indexes of the data before, the layers that differ in `ds`). The index of every layer
    /// the edit left alone is shared; the linked facilities when neither they nor the areas
    /// changed, the buildings when they did not change. Everything when the projection moved.
    pub fn build_reusing(
        ds: &Dataset,
        prev: Option<(&Indexes, &[LayerId])>,
    ) -> Result<Indexes, IndexError> {
        let mut stages = crate::stages::Stages::start("indexes");
        let proj = ds.projection();
        let prev = prev.filter(|(p, _)| p.proj == proj);
        let kept = |layers: &[LayerId]| {
            prev.filter(|(_, changed)| !layers.iter().any(|l| changed.contains(l)))
                .map(|(p, _)| p)
        };
        let facilities_kept = kept(&LayerId::FACILITY_INPUTS);
        let mut layers = BTreeMap::new();
        for (&layer, features) in &ds.layers {
            let reusable = if layer == LayerId::Facilities {
                facilities_kept
            } else {
                kept(&[layer])
            };
            if let Some(li) = reusable.and_then(|p| p.layers.get(&layer)) {
                layers.insert(layer, Arc::clone(li));
                continue;
            }
            let mut entries = Vec::with_capacity(features.len());
            let mut by_id = HashMap::with_capacity(features.len());
            let mut layer_extent: Option<[f64; 4]> = None;
            let mut properties = BTreeSet::new();
            for (i, f) in features.iter().enumerate() {
                for k in f.properties.keys() {
                    if !properties.contains(k) {
                        properties.insert(k.to_string());
                    }
                }
                let r = rect_of(layer, f)?;
                layer_extent = Some(grow(layer_extent, r));
                entries.push(envelope_entry(r, i));
                by_id.insert(f.id.clone(), i);
            }
            layers.insert(
                layer,
                Arc::new(LayerIndex {
                    envelopes: RTree::bulk_load(entries),
                    by_id,
                    extent: layer_extent,
                    properties,
                }),
            );
        }

        let mut areas = BTreeMap::new();
        for layer in AREA_LAYERS {
            let Some(features) = ds.layer(layer) else {
                continue;
            };
            if let Some(list) = kept(&[layer]).and_then(|p| p.areas.get(&layer)) {
                areas.insert(layer, Arc::clone(list));
                continue;
            }
            let parent_key = match layer {
                LayerId::Grids | LayerId::Compounds => Some("community"),
                LayerId::Microgrids => Some("grid"),
                _ => None,
            };
            let list = features
                .iter()
                .map(|f| Area::from_feature(layer, f, parent_key))
                .collect::<Result<Vec<_>, _>>()?;
            areas.insert(layer, Arc::new(list));
        }
        stages.lap("layers, areas");

        let mut idx = Indexes {
            proj,
            layers,
            areas,
            facilities: Arc::default(),
            facility_trees: Arc::default(),
            all_facilities: Arc::default(),
            buildings: Arc::default(),
            building_tree: Arc::default(),
        };
        if let Some(p) = facilities_kept {
            idx.facilities = Arc::clone(&p.facilities);
            idx.facility_trees = Arc::clone(&p.facility_trees);
            idx.all_facilities = Arc::clone(&p.all_facilities);
        } else {
            // The previous facilities' links stand where the areal layers did not change: a
            // burst of new facilities then links only the new ones (issue 12).
            let prev_links = kept(&[LayerId::Boundary, LayerId::Communities, LayerId::Grids])
                .map(|p| Arc::clone(&p.facilities));
            idx.link_facilities(ds, prev_links.as_deref())?;
        }
        stages.lap("facilities");
        if let Some(p) = kept(&[LayerId::Buildings]) {
            idx.buildings = Arc::clone(&p.buildings);
            idx.building_tree = Arc::clone(&p.building_tree);
        } else {
            idx.index_buildings(ds)?;
        }
        stages.lap("buildings");
        Ok(idx)
    }

    /// Facilities linked to their community and grid, and their R-trees.
    fn link_facilities(
        &mut self,
        ds: &Dataset,
        prev_links: Option<&Facilities>,
    ) -> Result<(), IndexError> {
        let idx = self;
        let proj = idx.proj;

        // Link by point-in-polygon only where the file says nothing, so a deliberate
        // assignment in the data (a facility serving a neighbouring grid) is kept.
        let facilities =
            Facilities::build(ds.layer(LayerId::Facilities).unwrap_or_default(), |fac| {
                if let Some(pair) = prev_links.and_then(|p| p.linked_at(&fac.id, fac.position)) {
                    return pair;
                }
                let (lon, lat) = (fac.position.x(), fac.position.y());
                // Only the two layers linked, not all five `locate` looks up.
                let id_at = |layer: LayerId| {
                    idx.area_at(layer, lon, lat)
                        .map(|i| idx.areas[&layer][i].id.clone())
                };
                (id_at(LayerId::Communities), id_at(LayerId::Grids))
            })?;
        // Linked ids are served as properties (see `Service`), so they can be filtered on.
        // (The facilities' layer index was just built, so nothing else holds it yet.)
        if let Some(li) = idx
            .layers
            .get_mut(&LayerId::Facilities)
            .and_then(Arc::get_mut)
        {
            if facilities.iter().any(|f| f.community.is_some()) {
                li.properties.insert("community".into());
            }
            if facilities.iter().any(|f| f.grid.is_some()) {
                li.properties.insert("grid".into());
            }
        }
        let mut per_cat: BTreeMap<String, Vec<FacilityEntry>> = BTreeMap::new();
        let mut all = Vec::with_capacity(facilities.len());
        for fac in facilities.iter() {
            let (x, y) = proj.to_xy(fac.position.x(), fac.position.y());
            all.push(GeomWithData::new([x, y], fac.facility));
            per_cat
                .entry(fac.category.to_string())
                .or_default()
                .push(GeomWithData::new([x, y], fac.facility));
        }
        idx.facility_trees = Arc::new(
            per_cat
                .into_iter()
                .map(|(c, v)| (c, RTree::bulk_load(v)))
                .collect(),
        );
        idx.all_facilities = Arc::new(RTree::bulk_load(all));
        idx.facilities = Arc::new(facilities);
        Ok(())
    }

    /// Buildings and their R-tree.
    fn index_buildings(&mut self, ds: &Dataset) -> Result<(), IndexError> {
        let proj = self.proj;

        let buildings = ds
            .layer(LayerId::Buildings)
            .unwrap_or_default()
            .iter()
            .map(Building::from_feature)
            .collect::<Result<Vec<_>, _>>()?;
        let entries = buildings
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let (x, y) = proj.to_xy(b.position.x(), b.position.y());
                GeomWithData::new([x, y], i)
            })
            .collect();
        self.building_tree = Arc::new(RTree::bulk_load(entries));
        self.buildings = Arc::new(buildings);
        Ok(())
    }

    /// The index of a layer, `None` when the data directory has no such layer.
    #[must_use]
    pub fn layer(&self, layer: LayerId) -> Option<&LayerIndex> {
        self.layers.get(&layer).map(AsRef::as_ref)
    }

    /// Whether the data directory has this layer.
    #[must_use]
    pub fn has_layer(&self, layer: LayerId) -> bool {
        self.layers.contains_key(&layer)
    }

    /// The typed areas of a polygon layer (same order as the dataset's layer).
    #[must_use]
    pub fn areas(&self, layer: LayerId) -> Option<&[Area]> {
        self.areas.get(&layer).map(|a| a.as_slice())
    }

    /// Facilities in file order, with `community`/`grid` linked by point-in-polygon where the
    /// file had none (still `None` outside every community/grid or without those layers).
    #[must_use]
    pub fn facilities(&self) -> &Arc<Facilities> {
        &self.facilities
    }

    /// Buildings in file order.
    #[must_use]
    pub fn buildings(&self) -> &[Building] {
        &self.buildings
    }

    /// The buildings, to share (the walking world holds the same list).
    #[must_use]
    pub fn buildings_shared(&self) -> &Arc<Vec<Building>> {
        &self.buildings
    }

    /// Category ids that have at least one facility, sorted.
    pub fn facility_categories(&self) -> impl Iterator<Item = &str> {
        self.facility_trees.keys().map(String::as_str)
    }

    /// Number of facilities of a category (0 for an unknown one).
    #[must_use]
    pub fn facility_count(&self, category: &str) -> usize {
        self.facility_trees.get(category).map_or(0, RTree::size)
    }

    /// Positions (in the layer) of the features whose envelope intersects the lon/lat box
    /// `[min_lon, min_lat, max_lon, max_lat]`, ascending (file order). Envelope-only: callers
    /// that need exact intersection test the geometry (see [`geometry_intersects_bbox`]).
    #[must_use]
    pub fn envelope_candidates(&self, layer: LayerId, bbox: [f64; 4]) -> Vec<usize> {
        let Some(li) = self.layers.get(&layer) else {
            return Vec::new();
        };
        let aabb = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        let mut v: Vec<usize> = li
            .envelopes
            .locate_in_envelope_intersecting(&aabb)
            .map(|e| e.data)
            .collect();
        v.sort_unstable();
        v
    }

    /// Positions of buildings within `radius_m` (straight line, local metres) of a WGS84 point,
    /// ascending.
    #[must_use]
    pub fn buildings_within_m(&self, lon: f64, lat: f64, radius_m: f64) -> Vec<usize> {
        let (x, y) = self.proj.to_xy(lon, lat);
        let mut v: Vec<usize> = self
            .building_tree
            .locate_within_distance([x, y], radius_m * radius_m)
            .map(|e| e.data)
            .collect();
        v.sort_unstable();
        v
    }
}

fn grow(e: Option<[f64; 4]>, r: Rect<f64>) -> [f64; 4] {
    let (a, b) = (r.min(), r.max());
    match e {
        None => [a.x, a.y, b.x, b.y],
        Some(x) => [x[0].min(a.x), x[1].min(a.y), x[2].max(b.x), x[3].max(b.y)],
    }
}

/// Exact test: does a WGS84 geometry intersect the lon/lat box `[min_lon, min_lat, max_lon,
/// max_lat]` (boundary contact counts)?
#[must_use]
pub fn geometry_intersects_bbox(g: &geo::Geometry<f64>, bbox: [f64; 4]) -> bool {
    use geo::Intersects;
    let r = Rect::new(
        geo::coord! { x: bbox[0], y: bbox[1] },
        geo::coord! { x: bbox[2], y: bbox[3] },
    );
    g.intersects(&r)
}
