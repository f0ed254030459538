//! The walk engine: a walking network with true walking times over hills, stairs and one
//! bridge; snapping; bounded shortest paths; walking-nearest; isochrones. No HTTP here.
//!
//! # Model
//! * **Graph** ([`WalkGraph`]): every walkway vertex is a node (vertices at identical WGS84
//!   positions merge); every straight piece between consecutive vertices is an edge with its
//!   horizontal `run_m`, slope `length_m`, `climb_m` and a cost in seconds per profile and
//!   per direction. Geometry is kept in local metres ([`LocalProj`](crate::model::LocalProj)).
//! * **Profiles** ([`Profile`]): `standard` 4.0 km/h, `elder` 3.2 km/h, `wheelchair` 3.3 km/h
//!   and no stairs; slopes by Tobler's hiking function relative to the flat; stairs by a
//!   vertical speed up and down. Numbers and sources: [`profile`].
//! * **Snapping** ([`WalkGraph::snap`]): to the nearest edge within `max_snap_m`
//!   ([`DEFAULT_MAX_SNAP_M`] = 300 m) whose straight connector does not cross water. The
//!   connector is walked at the profile's flat speed and counted in times and distances.
//! * **Search** ([`Searcher`]): multi-source bounded Dijkstra; O(1) reset by generation
//!   stamps. The time to a snapped position is the best of reaching either end of its edge
//!   and walking the partial edge (with that direction's cost), or walking straight from an
//!   origin on the same edge.
//!   [`Searcher::run_folded`] gives the same labels with the heap holding only the core nodes
//!   (degree ≠ 2) and the chains between them walked node by node (used by isochrones).
//! * **Walking-nearest** ([`nearest()`]): targets snapped once into [`SnappedPoints`]; one
//!   search stops when the frontier passes the k-th best target.
//! * **Nearest tables** ([`NearestTable`]): per (facility subset, profile), every node's
//!   [`TABLE_K`] nearest facilities by walking time, built lazily by a backward k-label
//!   Dijkstra; [`nearest_by_table`] answers `k ≤ TABLE_K` exactly by a lookup at the two ends
//!   of the origin's edge.
//! * **Isochrones** ([`isochrones()`]): network-following raster polygons with holes, water
//!   cut out, plus the households and residents of buildings whose snapped position is reached.
//!
//! # Use from the API
//! ```text
//! // start-up
//! let proj = LocalProj::new(lon0, lat0);                       // centre of the data
//! let graph = WalkGraph::build(&walkways, &water_polygons_wgs84, &proj);
//! let facilities = SnappedPoints::build(&graph, &facility_lonlat, &category_index, DEFAULT_MAX_SNAP_M);
//! let buildings = SnappedPoints::build(&graph, &building_lonlat, &[], DEFAULT_MAX_SNAP_M);
//! let population: Vec<Population> = /* households, residents, residents_60plus per building */;
//! // per request (inside web::block), with this thread's Searcher
//! let snap = graph.snap_lonlat(lon, lat, max_snap_m, profile)?;          // SnapError → 422
//! let origins = [Origin::new(snap, profile)];
//! let found = nearest(&graph, &facilities, &mut searcher, &origins,
//!                     &NearestQuery { profile, k, max_s, tags: Some(&wanted), with_route });
//! let contours = isochrones(&graph, &mut searcher, &origins, profile, &buildings, &population, &[5.0, 10.0, 15.0]);
//! ```
//! Build once at start-up and share `Arc<WalkGraph>`, `Arc<SnappedPoints>` (facilities, with
//! tags = category indices) and `Arc<SnappedPoints>` (buildings) plus `Vec<Population>`; all
//! are `Send + Sync` and used immutably. Each worker thread keeps its own [`Searcher`]
//! (e.g. in a `thread_local!`), which is the only mutable per-query state.

pub mod chains;
mod contour;
pub mod graph;
pub mod isochrone;
pub mod nearest;
pub mod profile;
pub mod search;
pub mod snap;
mod snapgrid;
pub mod synthetic;
pub mod table;
pub mod water;

pub use graph::{Adjacent, Edge, EdgeId, GraphOptions, NodeId, WalkGraph};
pub use isochrone::{Contour, Population, contours, isochrones};
pub use nearest::{Nearest, NearestQuery, nearest};
pub use profile::{PROFILE_COUNT, Profile, ProfileInfo, UnknownProfile, tobler_factor};
pub use search::{Origin, Reach, Searcher, Via};
pub use snap::{DEFAULT_MAX_SNAP_M, Snap, SnapError, SnappedPoints};
pub use table::{NearestTable, TABLE_K, TableMiss, TableScratch, nearest_by_table};
pub use water::{GridSpec, Water};
