//! Mapbox Vector Tiles (MVT 2.1) of every layer, of all layers at once (the base map) and of
//! live coverage, in WebMercatorQuad at zoom [`ZOOM_MIN`]–[`ZOOM_MAX`]. No HTTP here: the
//! API asks a [`Tiler`] for a tile's bytes and serves them.
//!
//! Per layer the tiler keeps an R-tree of the features' envelopes in world coordinates; each
//! feature is simplified, snapped to a zoom's pixel grid and MVT-encoded the first time a
//! tile of that zoom touches it ([`prepare`]), and its tile properties are interned once per
//! layer. A tile is then an R-tree query, a translated copy of the commands of every feature
//! inside its buffered square, a clip of the few crossing its edge, and the protobuf
//! encoding by geozero's (prost) types.

pub mod glyphs;
pub mod matrix;
pub mod prepare;

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use geo::{BoundingRect, Geometry, MapCoords};
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::analysis::{Level, PlanError, Planner, UnitCoverage};
use crate::model::{Bbox, Feature, LayerId, PropValue};
use crate::store::Dataset;
use crate::walk::Profile;

pub use matrix::{BUFFER, EXTENT, TileId, TileIdError, ZOOM_MAX, ZOOM_MIN};
pub use prepare::{Encoded, PixelGeom, Prepared};

/// Zooms served, as a count (for per-zoom arrays).
const ZOOMS: usize = (ZOOM_MAX - ZOOM_MIN + 1) as usize;
/// Default byte budget of the tile cache ([`Tiler::with_cache_budget`]); past it the cache
/// starts over (tiles are cheap to redo). `serve --tile-cache-mb` sets it ([`crate::budgets`]).
pub const TILE_CACHE_BYTES: usize = crate::budgets::TILE_CACHE_BYTES;
/// Bytes charged per cached tile beyond its MVT bytes (key, `Arc`, map slot).
const TILE_ENTRY_OVERHEAD: usize = 256;
/// Coverage results kept (one per category × minutes × profile × level asked).
const COVERAGE_CACHE_ENTRIES: usize = 64;

/// The layers of the composite base-map source and the zoom from which each is in it: the
/// small and numerous layers only once a tile is small enough to draw them.
pub const COMPOSITE: [(LayerId, u8); 9] = [
    (LayerId::Water, 10),
    (LayerId::Boundary, 10),
    (LayerId::Communities, 10),
    (LayerId::Grids, 12),
    (LayerId::Compounds, 13),
    (LayerId::Walkways, 13),
    (LayerId::Facilities, 13),
    (LayerId::Microgrids, 14),
    (LayerId::Buildings, 15),
];

/// Name of the layer inside a coverage tile.
pub const COVERAGE_LAYER: &str = "coverage";

/// The properties of a coverage tile's features and their TileJSON types.
pub const COVERAGE_FIELDS: [(&str, &str); 9] = [
    ("id", "String"),
    ("name", "String"),
    ("households", "Number"),
    ("households_covered", "Number"),
    ("share", "Number"),
    ("residents_60plus", "Number"),
    ("residents_60plus_covered", "Number"),
    ("median_walk_min", "Number"),
    ("p90_walk_min", "Number"),
];

/// The properties each layer carries into its tiles (beside `id`, the feature's own id):
/// what a map styles or labels by.
#[must_use]
pub fn tile_properties(layer: LayerId) -> &'static [&'static str] {
    match layer {
        LayerId::Boundary => &["name", "code", "households", "residents"],
        LayerId::Communities => &[
            "name",
            "kind",
            "households",
            "residents",
            "residents_60plus",
        ],
        LayerId::Grids => &["name", "community", "households"],
        LayerId::Microgrids => &["name", "grid", "community", "households"],
        LayerId::Compounds => &["name", "community", "old", "open", "households"],
        // Height for 3-D extrusion (MapLibre `fill-extrusion-height`).
        LayerId::Buildings => &["households", "floors", "height_m", "compound", "microgrid"],
        LayerId::Facilities => &["name", "category", "level", "community"],
        LayerId::Walkways => &["kind", "name", "stairs"],
        LayerId::Water => &["name"],
    }
}

/// Why a tile cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("the data directory has no {0} layer")]
    NoLayer(LayerId),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("MVT encoding failed: {0}")]
    Encode(String),
}

/// A property value in a tile.
fn tile_value(v: &PropValue) -> Option<TileValue> {
    match v {
        PropValue::String(s) => Some(TileValue::Str(s.to_string())),
        PropValue::Bool(b) => Some(TileValue::Bool(*b)),
        PropValue::Number(n) => n
            .as_u64()
            .map(TileValue::Uint)
            .or_else(|| n.as_i64().map(TileValue::Sint))
            .or_else(|| n.as_f64().map(TileValue::Double)),
        _ => None,
    }
}

fn feature_props(layer: LayerId, f: &Feature) -> Vec<(&'static str, TileValue)> {
    let mut out = vec![("id", TileValue::Str(f.id.clone()))];
    for &key in tile_properties(layer) {
        if layer == LayerId::Walkways && key == "stairs" {
            // A boolean of its own so a style filters on it without string matching.
            out.push((
                "stairs",
                TileValue::Bool(f.str_prop("kind") == Some("stairs")),
            ));
            continue;
        }
        if let Some(v) = f.properties.get(key).and_then(tile_value) {
            out.push((key, v));
        }
    }
    out
}

type Envelope = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// One zoom's prepared (encoded) geometries of a layer, one lazily made slot per feature.
#[derive(Debug)]
struct ZoomTable {
    slots: Box<[OnceLock<Option<Box<Encoded>>>]>,
    /// Heap bytes of the slots and of the geometries made so far.
    bytes: AtomicUsize,
}

/// A layer's zoom table, made on the zoom's first tile and dropped when the tiler's geometry
/// budget needs room ([`Tiler::bound_geometry`]). Renders in flight keep their `Arc`.
type ZoomSlot = RwLock<Option<Arc<ZoomTable>>>;

/// A layer's tile properties made once: every distinct value interned, and each feature's
/// tags as (key, value) positions in the layer's tables. A tile maps the positions it uses
/// onto its own tables in first-use order — what geozero's `TagsBuilder` did per tile from
/// the properties, without hashing a value or cloning a string per feature.
#[derive(Debug)]
struct LayerTags {
    /// Key names; position = key number in `pairs`.
    keys: Vec<&'static str>,
    values: Vec<TileValue>,
    /// Feature `i`'s (key, value) numbers are `pairs[starts[i]..starts[i + 1]]`.
    pairs: Vec<(u32, u32)>,
    starts: Vec<u32>,
}

impl LayerTags {
    fn build(layer: LayerId, features: &[Feature]) -> LayerTags {
        let keys: Vec<&'static str> = std::iter::once("id")
            .chain(tile_properties(layer).iter().copied())
            .collect();
        let mut values = Vec::new();
        let mut index: HashMap<ValueKey, u32> = HashMap::new();
        let mut pairs = Vec::new();
        let mut starts = Vec::with_capacity(features.len() + 1);
        for f in features {
            starts.push(u32::try_from(pairs.len()).unwrap_or(u32::MAX));
            for (k, v) in feature_props(layer, f) {
                let Some(ki) = keys.iter().position(|&name| name == k) else {
                    continue;
                };
                let vi = *index.entry(ValueKey::of(&v)).or_insert_with(|| {
                    values.push(v);
                    u32::try_from(values.len() - 1).unwrap_or(u32::MAX)
                });
                pairs.push((u32::try_from(ki).unwrap_or(u32::MAX), vi));
            }
        }
        starts.push(u32::try_from(pairs.len()).unwrap_or(u32::MAX));
        LayerTags {
            keys,
            values,
            pairs,
            starts,
        }
    }

    /// Feature `i`'s (key, value) numbers.
    fn of(&self, i: usize) -> &[(u32, u32)] {
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.pairs[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A tile value as a hash key: floats by their bits, as geozero's `TagsBuilder` compares them.
#[derive(Debug, PartialEq, Eq, Hash)]
enum ValueKey {
    Str(String),
    Float(u32),
    Double(u64),
    Int(i64),
    Uint(u64),
    Sint(i64),
    Bool(bool),
}

impl ValueKey {
    fn of(v: &TileValue) -> ValueKey {
        match v {
            TileValue::Str(s) => ValueKey::Str(s.clone()),
            TileValue::Float(f) => ValueKey::Float(f.to_bits()),
            TileValue::Double(d) => ValueKey::Double(d.to_bits()),
            TileValue::Int(i) => ValueKey::Int(*i),
            TileValue::Uint(u) => ValueKey::Uint(*u),
            TileValue::Sint(i) => ValueKey::Sint(*i),
            TileValue::Bool(b) => ValueKey::Bool(*b),
        }
    }
}

/// Maps a layer's key or value numbers onto one tile's tables, in first-use order.
struct TileTable<'a, T> {
    all: &'a [T],
    /// Per layer number, its number in the tile (`u32::MAX`: not yet used).
    slot: Vec<u32>,
    used: Vec<T>,
}

impl<'a, T: Clone> TileTable<'a, T> {
    fn new(all: &'a [T]) -> TileTable<'a, T> {
        TileTable {
            all,
            slot: vec![u32::MAX; all.len()],
            used: Vec::new(),
        }
    }

    fn number(&mut self, n: u32) -> u32 {
        let slot = &mut self.slot[n as usize];
        if *slot == u32::MAX {
            *slot = u32::try_from(self.used.len()).unwrap_or(u32::MAX);
            self.used.push(self.all[n as usize].clone());
        }
        *slot
    }
}

/// One layer ready for tiling. It shares the served features (`Arc`) and keeps no copy of
/// their geometries: world coordinates are made from the feature when a zoom first needs it,
/// and the envelope tree and the interned tile properties on the layer's first tile, so a
/// server that is never asked for tiles spends neither memory nor start-up time on them.
#[derive(Debug)]
pub struct TileLayer {
    pub id: LayerId,
    features: Arc<Vec<Feature>>,
    /// Envelopes in world coordinates (see [`matrix`]), made on the first tile.
    tree: OnceLock<RTree<Envelope>>,
    /// Tile properties, made on the first tile.
    tags: OnceLock<LayerTags>,
    /// Per zoom, per feature: the prepared geometry, made on first use. A zoom's table is
    /// made on the first tile of that zoom and each entry is boxed: eagerly, nine zooms of
    /// inline 72-byte slots for every feature were ~10 MB of the default data's start-up
    /// memory, almost all of it never used. An entry keeps the MVT commands (two `u32` a
    /// vertex), not the vertices as `f64` pairs.
    prepared: Vec<ZoomSlot>,
    /// `[west, south, east, north]` in WGS84 degrees; `None` for an empty layer.
    pub bounds: Option<[f64; 4]>,
    /// The properties its tiles carry and their TileJSON type (`String`, `Number`,
    /// `Boolean`), as found in the data.
    pub fields: Vec<(&'static str, &'static str)>,
}

/// A WGS84 geometry in world coordinates.
fn to_world(g: &Geometry<f64>) -> Geometry<f64> {
    g.map_coords(|c| {
        let (x, y) = matrix::lonlat_to_world(c.x, c.y);
        geo::Coord { x, y }
    })
}

/// TileJSON's name of a tile value's type.
#[must_use]
pub fn field_type(v: &TileValue) -> &'static str {
    match v {
        TileValue::Str(_) => "String",
        TileValue::Bool(_) => "Boolean",
        _ => "Number",
    }
}

impl TileLayer {
    fn build(id: LayerId, features: Arc<Vec<Feature>>) -> TileLayer {
        let mut bounds: Option<[f64; 4]> = None;
        for f in features.iter() {
            if let Some(r) = f.geometry.bounding_rect() {
                let b = bounds.get_or_insert([r.min().x, r.min().y, r.max().x, r.max().y]);
                *b = [
                    b[0].min(r.min().x),
                    b[1].min(r.min().y),
                    b[2].max(r.max().x),
                    b[3].max(r.max().y),
                ];
            }
        }
        // The type of each tile property as its first feature holding one has it.
        let mut fields: Vec<(&'static str, &'static str)> = Vec::new();
        for key in std::iter::once("id").chain(tile_properties(id).iter().copied()) {
            let found = features.iter().find_map(|f| {
                feature_props(id, f)
                    .into_iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v)
            });
            if let Some(v) = found {
                fields.push((key, field_type(&v)));
            }
        }
        TileLayer {
            id,
            fields,
            prepared: (0..ZOOMS).map(|_| RwLock::new(None)).collect(),
            tree: OnceLock::new(),
            tags: OnceLock::new(),
            features,
            bounds,
        }
    }

    fn tree(&self) -> &RTree<Envelope> {
        self.tree.get_or_init(|| {
            let entries = self
                .features
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let r = to_world(&f.geometry).bounding_rect()?;
                    Some(GeomWithData::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i,
                    ))
                })
                .collect();
            RTree::bulk_load(entries)
        })
    }

    fn tags(&self) -> &LayerTags {
        self.tags
            .get_or_init(|| LayerTags::build(self.id, &self.features))
    }

    /// The properties feature `i` carries in tiles.
    fn props(&self, i: usize) -> Vec<(&'static str, TileValue)> {
        self.features
            .get(i)
            .map(|f| feature_props(self.id, f))
            .unwrap_or_default()
    }

    /// The zoom table of `z`, made now (empty) if the zoom has none.
    fn zoom_table(&self, z: u8) -> Arc<ZoomTable> {
        let slot = &self.prepared[usize::from(z - ZOOM_MIN)];
        if let Some(t) = slot.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
            return Arc::clone(t);
        }
        let mut w = slot.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(w.get_or_insert_with(|| {
            let slots: Box<[_]> = (0..self.features.len()).map(|_| OnceLock::new()).collect();
            let bytes = AtomicUsize::new(std::mem::size_of_val(&*slots));
            Arc::new(ZoomTable { slots, bytes })
        }))
    }

    /// Feature `i` of `table` (this layer's table of zoom `z`), prepared now if this is its
    /// first use there.
    fn prepared_in<'t>(&self, table: &'t ZoomTable, i: usize, z: u8) -> Option<&'t Encoded> {
        table.slots[i]
            .get_or_init(|| {
                let e = prepare::prepare(&to_world(&self.features[i].geometry), z)
                    .and_then(|p| Encoded::new(&p))
                    .map(Box::new);
                let bytes = e.as_deref().map_or(0, Encoded::heap_bytes);
                table.bytes.fetch_add(bytes, Ordering::Relaxed);
                e
            })
            .as_deref()
    }

    /// Whether feature `i` is prepared for zoom `z` now (for memory accounting).
    #[must_use]
    pub fn is_prepared(&self, i: usize, z: u8) -> bool {
        self.prepared[usize::from(z - ZOOM_MIN)]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|t| t.slots.get(i))
            .is_some_and(|slot| slot.get().is_some())
    }

    /// Heap bytes of the zoom table of `z` (0 when it has none).
    fn zoom_bytes(&self, z: u8) -> usize {
        self.prepared[usize::from(z - ZOOM_MIN)]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |t| t.bytes.load(Ordering::Relaxed))
    }

    /// Drop the prepared geometry of zoom `z` (made again when next drawn).
    fn drop_zoom(&self, z: u8) {
        let old = self.prepared[usize::from(z - ZOOM_MIN)]
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Freed outside the lock (or by the last render still holding it).
        drop(old);
    }

    /// Heap bytes kept for tiles beyond the features themselves: the per-zoom slot tables,
    /// the encoded geometries and the interned properties (the envelope tree aside).
    #[must_use]
    pub fn prepared_bytes(&self) -> usize {
        let zooms: usize = (ZOOM_MIN..=ZOOM_MAX).map(|z| self.zoom_bytes(z)).sum();
        let tags = self.tags.get().map_or(0, |t| {
            t.pairs.len() * 8
                + t.starts.len() * 4
                + t.values
                    .iter()
                    .map(|v| {
                        std::mem::size_of::<TileValue>()
                            + if let TileValue::Str(s) = v {
                                s.len()
                            } else {
                                0
                            }
                    })
                    .sum::<usize>()
        });
        zooms + tags
    }

    /// Positions of the features whose envelope meets `tile`'s buffered square.
    fn candidates(&self, tile: TileId) -> Vec<usize> {
        // One pixel more than the buffer: snapping moves a vertex by up to half a pixel.
        let px = 1.0 / matrix::pixels_per_world(tile.z);
        let b = tile.buffered_world_bounds();
        let aabb = AABB::from_corners([b[0] - px, b[1] - px], [b[2] + px, b[3] + px]);
        let mut out: Vec<usize> = self
            .tree()
            .locate_in_envelope_intersecting(&aabb)
            .map(|e| e.data)
            .collect();
        out.sort_unstable();
        out
    }

    /// The features of this layer in `tile`, clipped and on the tile's grid: (position,
    /// MVT geometry).
    #[must_use]
    pub fn features_in(&self, tile: TileId) -> Vec<(usize, prepare::TileGeometry)> {
        let table = self.zoom_table(tile.z);
        self.candidates(tile)
            .into_iter()
            .filter_map(|i| {
                let e = self.prepared_in(&table, i, tile.z)?;
                Some((i, prepare::tile_geometry(e, tile)?))
            })
            .collect()
    }
}

/// Builds one MVT layer.
struct LayerBuilder {
    name: String,
    features: Vec<tile::Feature>,
    tags: TagsBuilder,
}

impl LayerBuilder {
    fn new(name: &str) -> LayerBuilder {
        LayerBuilder {
            name: name.to_string(),
            features: Vec::new(),
            tags: TagsBuilder::new(),
        }
    }

    fn add(
        &mut self,
        id: u64,
        (kind, geometry): prepare::TileGeometry,
        props: impl IntoIterator<Item = (&'static str, TileValue)>,
    ) {
        let mut tags = Vec::new();
        for (k, v) in props {
            let (ki, vi) = self.tags.insert_ref(k, v);
            tags.push(ki);
            tags.push(vi);
        }
        self.features.push(tile::Feature {
            id: Some(id),
            tags,
            r#type: Some(kind),
            geometry,
        });
    }

    fn finish(self) -> Option<tile::Layer> {
        if self.features.is_empty() {
            return None;
        }
        let (keys, values) = self.tags.into_tags();
        Some(tile::Layer {
            version: 2,
            name: self.name,
            features: self.features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        })
    }
}

/// Which coverage a coverage tile draws.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageKey {
    pub category: String,
    pub minutes: f64,
    pub profile: Profile,
    pub level: Level,
}

impl Eq for CoverageKey {}

impl Hash for CoverageKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.category.hash(state);
        self.minutes.to_bits().hash(state);
        self.profile.hash(state);
        self.level.hash(state);
    }
}

impl CoverageKey {
    /// The polygon layer whose units this level aggregates to.
    #[must_use]
    pub fn layer(&self) -> LayerId {
        match self.level {
            Level::Microgrid => LayerId::Microgrids,
            Level::Grid => LayerId::Grids,
            Level::Community => LayerId::Communities,
            Level::Subdistrict => LayerId::Boundary,
        }
    }
}

/// A tile source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Layer(LayerId),
    /// Every layer, each from its [`COMPOSITE`] zoom.
    Composite,
    Coverage(CoverageKey),
}

/// A finished tile: MVT bytes (empty when nothing is in the tile — a valid tile with no
/// layers) and, made on first request, their gzip.
#[derive(Debug)]
pub struct TileBytes {
    pub mvt: Vec<u8>,
    /// Hash of `mvt`: the tile's strong validator. From the content, not from a version of
    /// the whole data, so a tile an edit did not touch keeps its ETag (and clients their
    /// cached copy) across the snapshot swap.
    pub content_hash: u64,
    gzip: OnceLock<Vec<u8>>,
}

impl TileBytes {
    fn new(mvt: Vec<u8>) -> TileBytes {
        let mut h = std::hash::DefaultHasher::new();
        mvt.hash(&mut h);
        TileBytes {
            content_hash: h.finish(),
            mvt,
            gzip: OnceLock::new(),
        }
    }

    /// The tile gzip-compressed (what `Content-Encoding: gzip` sends; also what MBTiles
    /// stores).
    pub fn gzip(&self) -> &[u8] {
        self.gzip.get_or_init(|| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing to a Vec cannot fail.
            let _ = enc.write_all(&self.mvt);
            enc.finish().unwrap_or_default()
        })
    }
}

type CoverageUnits = Arc<HashMap<String, UnitCoverage>>;

#[derive(Debug, Default)]
struct TileCache {
    tiles: HashMap<(Source, TileId), Arc<TileBytes>>,
    bytes: usize,
}

/// Every layer ready for tiling, plus the caches of finished tiles and of coverage.
#[derive(Debug)]
pub struct Tiler {
    /// Shared with the next snapshot's tiler when an edit leaves the layer be.
    layers: BTreeMap<LayerId, Arc<TileLayer>>,
    cache: RwLock<TileCache>,
    /// Most bytes of finished tiles kept ([`crate::budgets`] unless set).
    cache_bytes_max: usize,
    /// Most bytes of prepared geometry the layers keep over all zooms ([`crate::budgets`]
    /// unless set); past it the least recently drawn zooms are dropped.
    geometry_bytes_max: usize,
    /// A clock of renders, and the tick at which each zoom was last drawn.
    renders: AtomicU64,
    zoom_drawn: [AtomicU64; ZOOMS],
    coverage: Mutex<HashMap<CoverageKey, CoverageUnits>>,
}

impl Tiler {
    /// Index every layer of a dataset for tiling (geometry is prepared lazily per zoom).
    #[must_use]
    pub fn build(ds: &Dataset) -> Tiler {
        Self::build_reusing(ds, None)
    }

    /// [`Tiler::build`] for the next snapshot after an edit: `prev` = (the tiler of the data
    /// before, the layers that differ in `ds`). Layers the edit left alone are shared (with
    /// the geometry they prepared); facilities also need the areas unchanged, as the
    /// community and grid they carry are linked by point-in-polygon.
    #[must_use]
    pub fn build_reusing(ds: &Dataset, prev: Option<(&Tiler, &[LayerId])>) -> Tiler {
        let kept = |id: LayerId| {
            let needs: &[LayerId] = if id == LayerId::Facilities {
                &LayerId::FACILITY_INPUTS
            } else {
                &[id]
            };
            prev.filter(|(_, changed)| !needs.iter().any(|l| changed.contains(l)))
                .and_then(|(t, _)| t.layers.get(&id))
        };
        Tiler {
            layers: ds
                .layers
                .iter()
                .map(|(&id, features)| {
                    let layer = match kept(id) {
                        Some(l) => Arc::clone(l),
                        None => Arc::new(TileLayer::build(id, Arc::clone(features))),
                    };
                    (id, layer)
                })
                .collect(),
            cache: RwLock::new(TileCache::default()),
            cache_bytes_max: prev.map_or(crate::budgets::get().tile_cache_bytes, |(t, _)| {
                t.cache_bytes_max
            }),
            geometry_bytes_max: prev.map_or(crate::budgets::get().tile_geometry_bytes, |(t, _)| {
                t.geometry_bytes_max
            }),
            renders: AtomicU64::new(0),
            zoom_drawn: std::array::from_fn(|_| AtomicU64::new(0)),
            coverage: Mutex::new(HashMap::new()),
        }
    }

    /// The same tiler with at most `bytes` of finished tiles cached (each charged its MVT
    /// bytes and a fixed overhead for its key and slot).
    #[must_use]
    pub fn with_cache_budget(mut self, bytes: usize) -> Tiler {
        self.cache_bytes_max = bytes;
        self
    }

    /// The same tiler keeping at most `bytes` of prepared geometry over all zooms (the zoom
    /// being drawn is always kept, whatever its size).
    #[must_use]
    pub fn with_geometry_budget(mut self, bytes: usize) -> Tiler {
        self.geometry_bytes_max = bytes;
        self
    }

    /// Keep the prepared geometry within its budget after a render of zoom `z`: drop whole
    /// zooms, least recently drawn first, never `z`. Whole zooms, because a map being
    /// browsed asks for the tiles of one or two zooms at a time, and a zoom's table is one
    /// allocation per layer that can be given back at once.
    fn bound_geometry(&self, z: u8) {
        let mut zooms: Vec<(u8, usize)> = (ZOOM_MIN..=ZOOM_MAX)
            .map(|zz| (zz, self.layers.values().map(|l| l.zoom_bytes(zz)).sum()))
            .filter(|&(_, bytes)| bytes > 0)
            .collect();
        let mut total: usize = zooms.iter().map(|&(_, bytes)| bytes).sum();
        if total <= self.geometry_bytes_max {
            return;
        }
        zooms.sort_by_key(|&(zz, _)| {
            self.zoom_drawn[usize::from(zz - ZOOM_MIN)].load(Ordering::Relaxed)
        });
        for (zz, bytes) in zooms {
            if total <= self.geometry_bytes_max {
                break;
            }
            if zz != z {
                self.layers.values().for_each(|l| l.drop_zoom(zz));
                total -= bytes;
            }
        }
    }

    /// Bytes the tile cache holds now, as charged against its budget.
    #[must_use]
    pub fn cache_bytes(&self) -> usize {
        self.cache.read().map_or(0, |c| c.bytes)
    }

    /// Heap bytes the layers keep for tiles ([`TileLayer::prepared_bytes`]).
    #[must_use]
    pub fn prepared_bytes(&self) -> usize {
        self.layers.values().map(|l| l.prepared_bytes()).sum()
    }

    /// Heap bytes of the prepared geometry of every zoom (what the geometry budget bounds;
    /// [`Tiler::prepared_bytes`] adds the interned properties).
    #[must_use]
    pub fn geometry_bytes(&self) -> usize {
        (ZOOM_MIN..=ZOOM_MAX)
            .map(|z| self.layers.values().map(|l| l.zoom_bytes(z)).sum::<usize>())
            .sum()
    }

    /// A layer, if the data directory has it.
    #[must_use]
    pub fn layer(&self, id: LayerId) -> Option<&TileLayer> {
        self.layers.get(&id).map(AsRef::as_ref)
    }

    /// The layers present, in [`LayerId`] order.
    pub fn layers(&self) -> impl Iterator<Item = &TileLayer> {
        self.layers.values().map(AsRef::as_ref)
    }

    /// `[west, south, east, north]` of all layers together.
    #[must_use]
    pub fn bounds(&self) -> Option<[f64; 4]> {
        self.layers
            .values()
            .filter_map(|l| l.bounds)
            .reduce(|a, b| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            })
    }

    /// Take over from `old` (the tiler of the snapshot before an edit) every finished layer
    /// or composite tile whose buffered square meets none of the `touched` boxes (WGS84
    /// bounding boxes of the edited features, before and after). A touched box counts for
    /// every layer, not only the edited one: facilities carry the grid and community they lie
    /// in, so redrawing a grid changes facility tiles in its box. Coverage tiles are all
    /// dropped: a new canteen or walkway changes walking times far beyond its own box.
    /// Returns how many tiles were kept.
    pub fn keep_untouched(&self, old: &Tiler, touched: &[Bbox]) -> usize {
        let (Ok(old_cache), Ok(mut cache)) = (old.cache.read(), self.cache.write()) else {
            return 0;
        };
        let world: Vec<[f64; 4]> = touched
            .iter()
            .map(|b| {
                let (x0, y0) = matrix::lonlat_to_world(b.min_lon, b.max_lat);
                let (x1, y1) = matrix::lonlat_to_world(b.max_lon, b.min_lat);
                [x0, y0, x1, y1]
            })
            .collect();
        let meets = |t: TileId| {
            let [a, b, c, d] = t.buffered_world_bounds();
            world
                .iter()
                .any(|&[x0, y0, x1, y1]| x0 <= c && a <= x1 && y0 <= d && b <= y1)
        };
        let mut kept = 0;
        for ((source, tile), bytes) in &old_cache.tiles {
            if matches!(source, Source::Coverage(_)) || meets(*tile) {
                continue;
            }
            let cost = bytes.mvt.len() + TILE_ENTRY_OVERHEAD;
            if cache.bytes + cost > self.cache_bytes_max {
                continue;
            }
            cache.bytes += cost;
            cache
                .tiles
                .insert((source.clone(), *tile), Arc::clone(bytes));
            kept += 1;
        }
        kept
    }

    /// A tile if it is in the cache (the fast path: no thread hop, no work).
    #[must_use]
    pub fn cached(&self, source: &Source, tile: TileId) -> Option<Arc<TileBytes>> {
        let key = (source.clone(), tile);
        self.cache.read().ok()?.tiles.get(&key).cloned()
    }

    /// A tile, from the cache or made now. `planner` is needed for coverage sources only.
    pub fn tile(
        &self,
        source: &Source,
        tile: TileId,
        planner: Option<&Planner>,
    ) -> Result<Arc<TileBytes>, TileError> {
        let key = (source.clone(), tile);
        if let Some(t) = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.tiles.get(&key).cloned())
        {
            return Ok(t);
        }
        let made = Arc::new(TileBytes::new(self.render(source, tile, planner)?));
        if let Ok(mut c) = self.cache.write() {
            // Every entry costs its key and bookkeeping too, so a flood of empty tiles (any
            // z18 tile of the world is valid) cannot grow the map without bound.
            let cost = made.mvt.len() + TILE_ENTRY_OVERHEAD;
            if c.bytes + cost > self.cache_bytes_max {
                c.tiles.clear();
                c.bytes = 0;
            }
            // A tile larger than the whole budget is served, not kept.
            if cost <= self.cache_bytes_max {
                c.bytes += cost;
                c.tiles.insert(key, Arc::clone(&made));
            }
        }
        Ok(made)
    }

    /// Make a tile's MVT bytes (no tile cache; coverage results are cached).
    pub fn render(
        &self,
        source: &Source,
        tile: TileId,
        planner: Option<&Planner>,
    ) -> Result<Vec<u8>, TileError> {
        let tick = self.renders.fetch_add(1, Ordering::Relaxed) + 1;
        self.zoom_drawn[usize::from(tile.z - ZOOM_MIN)].store(tick, Ordering::Relaxed);
        let mvt = self.render_layers(source, tile, planner);
        self.bound_geometry(tile.z);
        mvt
    }

    fn render_layers(
        &self,
        source: &Source,
        tile: TileId,
        planner: Option<&Planner>,
    ) -> Result<Vec<u8>, TileError> {
        let mut layers = Vec::new();
        match source {
            Source::Layer(id) => {
                let l = self.layers.get(id).ok_or(TileError::NoLayer(*id))?;
                layers.extend(self.encode_layer(l, tile));
            }
            Source::Composite => {
                for (id, minzoom) in COMPOSITE {
                    if let (Some(l), true) = (self.layers.get(&id), tile.z >= minzoom) {
                        layers.extend(self.encode_layer(l, tile));
                    }
                }
            }
            Source::Coverage(key) => {
                let planner = planner.ok_or(TileError::NoLayer(LayerId::Walkways))?;
                let units = self.coverage_units(planner, key)?;
                let id = key.layer();
                let l = self.layers.get(&id).ok_or(TileError::NoLayer(id))?;
                layers.extend(self.encode_coverage(l, key.level, &units, tile));
            }
        }
        if layers.is_empty() {
            return Ok(Vec::new());
        }
        Ok(Tile { layers }.encode_to_vec())
    }

    /// One layer of a tile. Its keys and values tables hold what its features use, in the
    /// order they first use them.
    // A method of the tiler, like the others of its pipeline, though it needs no state of it.
    #[allow(clippy::unused_self)]
    fn encode_layer(&self, l: &TileLayer, tile: TileId) -> Option<tile::Layer> {
        let found = l.features_in(tile);
        if found.is_empty() {
            return None;
        }
        let tags = l.tags();
        let mut keys = TileTable::new(&tags.keys);
        let mut values = TileTable::new(&tags.values);
        let features = found
            .into_iter()
            .map(|(i, (kind, geometry))| {
                let pairs = tags.of(i);
                let mut t = Vec::with_capacity(2 * pairs.len());
                for &(k, v) in pairs {
                    t.push(keys.number(k));
                    t.push(values.number(v));
                }
                tile::Feature {
                    id: Some(i as u64 + 1),
                    tags: t,
                    r#type: Some(kind),
                    geometry,
                }
            })
            .collect();
        Some(tile::Layer {
            version: 2,
            name: l.id.as_str().to_string(),
            features,
            keys: keys.used.into_iter().map(str::to_string).collect(),
            values: values.used.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        })
    }

    #[allow(clippy::unused_self)]
    fn encode_coverage(
        &self,
        l: &TileLayer,
        level: Level,
        units: &HashMap<String, UnitCoverage>,
        tile: TileId,
    ) -> Option<tile::Layer> {
        let mut b = LayerBuilder::new(COVERAGE_LAYER);
        for (i, g) in l.features_in(tile) {
            let unit = if level == Level::Subdistrict {
                crate::analysis::coverage::SUBDISTRICT
            } else {
                l.features[i].id.as_str()
            };
            let mut props: Vec<(&'static str, TileValue)> = l
                .props(i)
                .into_iter()
                .filter(|(k, _)| matches!(*k, "id" | "name"))
                .collect();
            props.extend(coverage_props(units.get(unit)));
            b.add(i as u64 + 1, g, props);
        }
        b.finish()
    }

    /// Coverage per unit for `key`, computed once and kept.
    pub fn coverage_units(
        &self,
        planner: &Planner,
        key: &CoverageKey,
    ) -> Result<CoverageUnits, TileError> {
        if let Some(u) = self.coverage.lock().ok().and_then(|c| c.get(key).cloned()) {
            return Ok(u);
        }
        let r = planner.coverage(&key.category, key.minutes, key.profile, key.level, None)?;
        let units: CoverageUnits =
            Arc::new(r.units.into_iter().map(|u| (u.unit.clone(), u)).collect());
        if let Ok(mut c) = self.coverage.lock() {
            if c.len() >= COVERAGE_CACHE_ENTRIES {
                c.clear();
            }
            c.insert(key.clone(), Arc::clone(&units));
        }
        Ok(units)
    }
}

/// The coverage properties of a unit (households 0 and no share when nobody lives there).
fn coverage_props(u: Option<&UnitCoverage>) -> Vec<(&'static str, TileValue)> {
    let Some(u) = u else {
        return vec![("households", TileValue::Uint(0))];
    };
    let r = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let mut out = vec![
        ("households", TileValue::Uint(u.households)),
        ("households_covered", TileValue::Uint(u.households_covered)),
        ("residents_60plus", TileValue::Uint(u.residents_60plus)),
        (
            "residents_60plus_covered",
            TileValue::Uint(u.residents_60plus_covered),
        ),
    ];
    // No share where nobody lives: the property is absent, as a choropleth's "no data".
    if let Some(share) = u.share {
        out.push(("share", TileValue::Double(r(share))));
    }
    if let Some(m) = u.median_walk_min {
        out.push((
            "median_walk_min",
            TileValue::Double((m * 10.0).round() / 10.0),
        ));
    }
    if let Some(m) = u.p90_walk_min {
        out.push(("p90_walk_min", TileValue::Double((m * 10.0).round() / 10.0)));
    }
    out
}
