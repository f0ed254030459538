//! The walking view of a data directory, built once: the graph, the facilities and buildings
//! snapped onto it, and the typed layers the analysis needs. Shared read-only by the API, the
//! CLI reports and the benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use geo::Polygon;

use crate::index::{IndexError, Indexes};
use crate::model::{Building, Facilities, FeatureError, LayerId, Taxonomy, Walkway};
use crate::store::Dataset;
use crate::walk::chains::PointEnds;
use crate::walk::{
    DEFAULT_MAX_SNAP_M, GraphOptions, Nearest, NearestQuery, NearestTable, Origin, PROFILE_COUNT,
    Population, Profile, Snap, SnappedPoints, TABLE_K, TableScratch, WalkGraph, nearest_by_table,
};

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
    /// Shared with the next snapshot's world when an edit leaves the walkways as walked.
    pub graph: Arc<WalkGraph>,
    /// The facilities layer (shared with the indexes); row i is snapped point i.
    pub facilities: Arc<Facilities>,
    /// Facilities snapped; tag = index of the category in `category_ids`.
    pub facility_snaps: Arc<SnappedPoints>,
    pub category_ids: Vec<String>,
    /// The indexes' list, shared (issue 15: a copy was 0.3 MB of start-up memory).
    pub buildings: Arc<Vec<Building>>,
    pub building_snaps: Arc<SnappedPoints>,
    /// Where each building meets the folded graph, per profile (by [`Profile::index`]):
    /// coverage reads two core labels a building (built with the snaps, kept with them).
    pub building_ends: Arc<[PointEnds; PROFILE_COUNT]>,
    pub population: Vec<Population>,
    pub taxonomy: Option<Taxonomy>,
    /// The units of the micro-grid, grid and community layers (those present), in layer
    /// order, so reports list units nobody lives in too.
    pub units: BTreeMap<Level, Vec<UnitRef>>,
    /// Walking-nearest tables, built on first use (never at start-up: issue 15's memory
    /// budget) and carried to the next snapshot when an edit leaves them valid.
    pub nearest_tables: NearestTables,
}

/// Most bytes the nearest tables of one world may hold unless `serve --nearest-tables-mb`
/// says otherwise ([`crate::budgets`]). A table that would go over is not built; its queries
/// run the search (exact too, only slower), so memory stays bounded under any query mix.
pub const NEAREST_TABLES_BYTES_MAX: usize = crate::budgets::NEAREST_TABLES_BYTES;

/// Key of a table: the category tag (`None`: every facility) and the profile.
type TableKey = (Option<u32>, Profile);

/// The lazily built [`NearestTable`]s of a world. A slot is reserved (under the lock, with the
/// table's largest size counted against [`NEAREST_TABLES_BYTES_MAX`]) and then filled outside
/// it; concurrent first queries of one key wait for the one build instead of each building.
#[derive(Debug, Default)]
pub struct NearestTables {
    slots: RwLock<HashMap<TableKey, Arc<OnceLock<Arc<NearestTable>>>>>,
    reserved_bytes: std::sync::atomic::AtomicUsize,
}

impl NearestTables {
    /// The tables built so far, by key (for tests and the next snapshot).
    #[must_use]
    pub fn built(&self) -> Vec<(Option<u32>, Profile, Arc<NearestTable>)> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<_> = slots
            .iter()
            .filter_map(|(&(tag, p), slot)| slot.get().map(|t| (tag, p, Arc::clone(t))))
            .collect();
        out.sort_by_key(|(tag, p, _)| (*tag, p.index()));
        out
    }

    /// Bytes held by the built tables.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.built().iter().map(|(_, _, t)| t.bytes()).sum()
    }

    fn insert_built(&self, key: TableKey, table: Arc<NearestTable>) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        self.reserved_bytes
            .fetch_add(table.bytes(), std::sync::atomic::Ordering::Relaxed);
        slots.insert(key, Arc::new(OnceLock::from(table)));
    }
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
        Self::build_reusing(ds, indexes, max_snap_m, None)
    }

    /// [`WalkWorld::build`] for the next snapshot after an edit (issue 12: the swap after an
    /// edit must be cheap): the parts of `prev` = (data before the edit, its world, the layers
    /// that differ in `ds`) that the edit did not change are shared, not rebuilt. The graph is kept when
    /// the walkways walk the same (same order, positions, elevations and kinds: a name or a
    /// note does not matter) and the water is the same; the snapped facilities and buildings
    /// when also their layer is the same. The result equals a fresh build (tests/edits_swap.rs).
    pub fn build_reusing(
        ds: &Dataset,
        indexes: &Indexes,
        max_snap_m: f64,
        prev: Option<(&Dataset, &WalkWorld, &[LayerId])>,
    ) -> Result<WalkWorld, WorldError> {
        let mut stages = crate::stages::Stages::start("walk world");
        let features = ds.layer(LayerId::Walkways).ok_or(WorldError::NoWalkways)?;
        let same_layer =
            |layer: LayerId| prev.is_some_and(|(_, _, changed)| !changed.contains(&layer));
        let same_water = same_layer(LayerId::Water);
        let walks_same = |before: &Dataset| -> Result<bool, WorldError> {
            if same_layer(LayerId::Walkways) {
                return Ok(true);
            }
            let old = before.layer(LayerId::Walkways).unwrap_or_default();
            if old.len() != features.len() {
                return Ok(false);
            }
            for (a, b) in old.iter().zip(features) {
                if a == b {
                    continue;
                }
                let (a, b) = (Walkway::from_feature(a)?, Walkway::from_feature(b)?);
                if (a.kind, &a.lonlat, &a.elevation_m) != (b.kind, &b.lonlat, &b.elevation_m) {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let kept_graph = match prev {
            Some((before, world, _))
                if same_water && ds.projection() == *world.graph.proj() && walks_same(before)? =>
            {
                Some(Arc::clone(&world.graph))
            }
            _ => None,
        };
        let graph = if let Some(g) = kept_graph.clone() {
            g
        } else {
            let walkways: Vec<Walkway> = features
                .iter()
                .map(Walkway::from_feature)
                .collect::<Result<_, _>>()?;
            stages.lap("parse walkways");
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
            let same_water_graph = prev
                .filter(|_| same_water)
                .map(|(_, w, _)| w.graph.as_ref());
            Arc::new(WalkGraph::build_reusing(
                &walkways,
                &water,
                &proj,
                GraphOptions::default(),
                same_water_graph,
            ))
        };
        stages.lap("graph");
        // Snaps are kept only with the very graph they index edges of.
        let keep_snaps = |layer: LayerId| match (prev, &kept_graph) {
            (Some((_, world, _)), Some(_)) if same_layer(layer) => Some(world),
            _ => None,
        };
        let facilities = Arc::clone(indexes.facilities());
        let category_ids: Vec<String> = facilities.category_names().to_vec();
        let facility_snaps = match keep_snaps(LayerId::Facilities) {
            Some(world) if world.category_ids == category_ids => Arc::clone(&world.facility_snaps),
            _ => {
                let tags: Vec<u32> = facilities
                    .iter()
                    .map(|f| facilities.category_index(f.facility))
                    .collect();
                let f_lonlat: Vec<(f64, f64)> = facilities
                    .iter()
                    .map(|f| (f.position.x(), f.position.y()))
                    .collect();
                Arc::new(SnappedPoints::build(&graph, &f_lonlat, &tags, max_snap_m))
            }
        };
        stages.lap("snap facilities");
        let buildings = Arc::clone(indexes.buildings_shared());
        let building_snaps = if let Some(world) = keep_snaps(LayerId::Buildings) {
            Arc::clone(&world.building_snaps)
        } else {
            let b_lonlat: Vec<(f64, f64)> = buildings
                .iter()
                .map(|b| (b.position.x(), b.position.y()))
                .collect();
            Arc::new(SnappedPoints::build(&graph, &b_lonlat, &[], max_snap_m))
        };
        let building_ends = match keep_snaps(LayerId::Buildings) {
            Some(world) => Arc::clone(&world.building_ends),
            None => Arc::new(Profile::ALL.map(|p| PointEnds::build(&graph, &building_snaps, p))),
        };
        stages.lap("snap buildings");
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
            building_ends,
            population,
            taxonomy: ds.taxonomy.clone(),
            units,
            nearest_tables: NearestTables::default(),
        })
        .inspect(|world| {
            if let Some((_, before, _)) = prev.filter(|_| kept_graph.is_some()) {
                world.keep_tables(before);
            }
        })
    }

    /// Take over the nearest tables of `before` (on the same graph) whose facilities did not
    /// change: the same facility indices of the category with the same snaps for the profile.
    /// Facility indices shift when one is added or removed before them, so positions alone
    /// would not do.
    fn keep_tables(&self, before: &WalkWorld) {
        if !Arc::ptr_eq(&before.graph, &self.graph) {
            return;
        }
        for (old_tag, p, table) in before.nearest_tables.built() {
            let Some(new_tag) = self.same_key(before, old_tag) else {
                continue;
            };
            let same = (Arc::ptr_eq(&before.facility_snaps, &self.facility_snaps)
                && old_tag == new_tag)
                || before.table_members(old_tag, p) == self.table_members(new_tag, p);
            if same {
                self.nearest_tables.insert_built((new_tag, p), table);
            }
        }
    }

    /// Build the nearest tables `before` had and this world could not take over (their
    /// facilities changed): the writer calls it on its low-priority pool before the swap,
    /// so that readers of a category being edited keep answering by lookup instead of the
    /// first of them building the table (or all of them searching) after every batch of a
    /// write burst (issue 12: `/nearest` within 10 % of idle during writes). Tables over
    /// the memory budget are left to the search, as on first use.
    pub fn rebuild_tables_of(&self, before: &WalkWorld) {
        for (old_tag, p, _) in before.nearest_tables.built() {
            let Some(tag) = self.same_key(before, old_tag) else {
                continue;
            };
            // Built already (taken over) or built now; `None` (over budget) needs nothing.
            let _ = self.nearest_table(tag, p);
        }
    }

    /// The tag here of `before`'s table key `old_tag` (the same category by name; `None`,
    /// every facility, stays `None`); `None` when this world has no such category.
    #[allow(clippy::option_option)]
    fn same_key(&self, before: &WalkWorld, old_tag: Option<u32>) -> Option<Option<u32>> {
        match old_tag {
            None => Some(None),
            Some(t) => before
                .category_ids
                .get(t as usize)
                .and_then(|name| self.category_tag(name))
                .map(Some),
        }
    }

    /// What a table of `tag` and `p` is built from: (facility index, snap) of its facilities.
    fn table_members(&self, tag: Option<u32>, p: Profile) -> Vec<(usize, Option<Snap>)> {
        let s = &self.facility_snaps;
        (0..s.len())
            .filter(|&j| tag.is_none_or(|t| s.tag(j) == t))
            .map(|j| (j, s.snap(j, p).copied()))
            .collect()
    }

    /// Walking-nearest of one origin from the nearest tables, into `out`, when they can answer
    /// exactly what [`crate::walk::nearest()`] would: `k ≤ TABLE_K`, no routes, every table
    /// needed within the memory budget. `false` (and `out` unspecified) when the caller must
    /// run the search.
    pub fn nearest_from_tables(
        &self,
        origin: &Origin,
        q: &NearestQuery<'_>,
        scratch: &mut TableScratch,
        out: &mut Vec<Nearest>,
    ) -> bool {
        if q.k > TABLE_K || q.with_route {
            return false;
        }
        let p = q.profile;
        let answer =
            |tables: &[&NearestTable], scratch: &mut TableScratch, out: &mut Vec<Nearest>| {
                self.nearest_from(tables, origin, q, scratch, out)
            };
        match q.tags {
            None => self
                .nearest_table(None, p)
                .is_some_and(|t| answer(&[&t], scratch, out)),
            Some(&[tag]) => self
                .nearest_table(Some(tag), p)
                .is_some_and(|t| answer(&[&t], scratch, out)),
            Some(tags) => {
                let Some(tables) = tags
                    .iter()
                    .map(|&tag| self.nearest_table(Some(tag), p))
                    .collect::<Option<Vec<_>>>()
                else {
                    return false;
                };
                let refs: Vec<&NearestTable> = tables.iter().map(AsRef::as_ref).collect();
                answer(&refs, scratch, out)
            }
        }
    }

    /// [`WalkWorld::nearest_from_tables`] from tables looked up by [`WalkWorld::tables_for_batch`].
    pub fn nearest_from(
        &self,
        tables: &[&NearestTable],
        origin: &Origin,
        q: &NearestQuery<'_>,
        scratch: &mut TableScratch,
        out: &mut Vec<Nearest>,
    ) -> bool {
        nearest_by_table(
            &self.graph,
            &self.facility_snaps,
            tables,
            origin,
            q,
            scratch,
            out,
        )
        .is_ok()
    }

    /// Whether every table a walking-nearest of `tags` (`None`: every category) in `p` needs
    /// is built already (`Some(true)`: answering is a lookup), still to be built
    /// (`Some(false)`), or `None` when one would be over the memory budget (the search answers).
    #[must_use]
    pub fn tables_built(&self, tags: Option<&[u32]>, p: Profile) -> Option<bool> {
        let tables = &self.nearest_tables;
        let slots = tables.slots.read().unwrap_or_else(PoisonError::into_inner);
        let mut extra = 0;
        let mut all_built = true;
        let mut check = |tag: Option<u32>| {
            if let Some(slot) = slots.get(&(tag, p)) {
                all_built &= slot.get().is_some();
            } else {
                all_built = false;
                extra += NearestTable::bytes_max(self.graph.node_count(), self.members(tag));
            }
        };
        match tags {
            None => check(None),
            Some(tags) => tags.iter().for_each(|&t| check(Some(t))),
        }
        let used = tables
            .reserved_bytes
            .load(std::sync::atomic::Ordering::Relaxed);
        (used + extra <= crate::budgets::get().nearest_tables_bytes).then_some(all_built)
    }

    /// How many facilities a table of `tag` is built over.
    fn members(&self, tag: Option<u32>) -> usize {
        let s = &self.facility_snaps;
        (0..s.len())
            .filter(|&j| tag.is_none_or(|t| s.tag(j) == t))
            .count()
    }

    /// The nearest table of the facilities tagged `tag` (`None`: every facility) for `p`,
    /// built on first use; `None` when building it would go over
    /// the tables' budget ([`crate::budgets`]; the caller runs the search).
    #[must_use]
    pub fn nearest_table(&self, tag: Option<u32>, p: Profile) -> Option<Arc<NearestTable>> {
        let tables = &self.nearest_tables;
        let found = tables
            .slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(tag, p))
            .cloned();
        let slot = if let Some(slot) = found {
            slot
        } else {
            let mut slots = tables.slots.write().unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = slots.get(&(tag, p)) {
                Arc::clone(slot)
            } else {
                let need = NearestTable::bytes_max(self.graph.node_count(), self.members(tag));
                let used = tables
                    .reserved_bytes
                    .load(std::sync::atomic::Ordering::Relaxed);
                if used + need > crate::budgets::get().nearest_tables_bytes {
                    return None;
                }
                tables
                    .reserved_bytes
                    .store(used + need, std::sync::atomic::Ordering::Relaxed);
                let slot = Arc::new(OnceLock::new());
                slots.insert((tag, p), Arc::clone(&slot));
                slot
            }
        };
        Some(Arc::clone(
            slot.get_or_init(|| Arc::new(self.build_table(tag, p))),
        ))
    }

    fn build_table(&self, tag: Option<u32>, p: Profile) -> NearestTable {
        let s = &self.facility_snaps;
        NearestTable::build(&self.graph, s, p, |j| tag.is_none_or(|t| s.tag(j) == t))
    }

    /// The tables [`WalkWorld::nearest_from_tables`] reads for `q`, looked up once for a batch
    /// of many origins (issue 15: the per-origin lookup, a lock, a hash and two atomic counts
    /// on an `Arc` both cores share, was a few percent of a batch); `None` when the search
    /// answers (routes, or k beyond the tables' depth). A table over the memory budget is
    /// built for this batch alone and dropped with it: one multi-source search per table
    /// instead of one search per origin: once the budget was spent on other categories, a
    /// batch of the 22,069 nodes of the default data took 5–34 s for a rare category (far
    /// facilities, long searches) against ~0.05 s from a table.
    #[must_use]
    pub fn tables_for_batch(&self, q: &NearestQuery<'_>) -> Option<Vec<Arc<NearestTable>>> {
        if q.k > TABLE_K || q.with_route {
            return None;
        }
        let table = |tag: Option<u32>| {
            self.nearest_table(tag, q.profile)
                .unwrap_or_else(|| Arc::new(self.build_table(tag, q.profile)))
        };
        Some(match q.tags {
            None => vec![table(None)],
            Some(tags) => tags.iter().map(|&tag| table(Some(tag))).collect(),
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
