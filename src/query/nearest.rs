//! The k nearest facilities of some categories: by geodesic (WGS84) distance, or by walking time
//! over the network for a profile (one bounded search answers all k).

use std::sync::Arc;

use geo::{LineString, Point};

use crate::analysis::WalkWorld;
use crate::index::distance_m;
use crate::model::{CategoryId, FacilityId, K, LayerId, LonLat, ParamError, Profile};
use crate::service::Service;
use crate::walk::{
    Nearest, NearestQuery, NearestTable, Origin, Searcher, TABLE_K, TableScratch, nearest,
};

thread_local! {
    // Candidate scratch of the table lookups, one per thread like the searcher.
    static TABLE_SCRATCH: std::cell::RefCell<TableScratch> =
        std::cell::RefCell::new(TableScratch::default());
}

use super::{QueryError, exec};

/// Largest `max_min`: two hours bounds the search far beyond any living circle.
pub const MAX_MIN_MAX: f64 = 120.0;

/// Options of a walking-time search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkOptions {
    pub profile: Profile,
    /// Walking-time cut-off in minutes, if limited (else [`MAX_MIN_MAX`]).
    pub max_min: Option<f64>,
    /// Return each route as a LineString.
    pub route: bool,
    /// Farthest the query point may be from the walkway it joins, metres.
    pub max_snap_m: f64,
}

/// How distance is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NearestMode {
    /// Geodesic distance on the WGS84 ellipsoid.
    Straight,
    /// Walking time over the network.
    Walk(WalkOptions),
}

impl NearestMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NearestMode::Straight => "straight",
            NearestMode::Walk(_) => "walk",
        }
    }
}

/// What to find.
#[derive(Debug, Clone)]
pub struct NearestRequest {
    /// The query point in WGS84.
    pub at: LonLat,
    /// Category ids; `None` means every category.
    pub categories: Option<Vec<CategoryId>>,
    pub k: K,
    /// Farthest distance in metres, if limited (walk mode: metres walked).
    pub max_m: Option<f64>,
    pub mode: NearestMode,
}

/// One walked route to a facility.
#[derive(Debug, Clone)]
pub struct WalkLeg {
    pub walk_s: f64,
    pub walk_m: f64,
    /// WGS84 polyline, when asked for.
    pub route: Option<LineString<f64>>,
}

/// One facility found, in rank order.
#[derive(Debug, Clone)]
pub struct NearestHit {
    /// The facility (its position in the facilities layer).
    pub facility: FacilityId,
    /// Geodesic (WGS84) distance from the query point, metres.
    pub distance_m: f64,
    /// Walk mode only.
    pub walk: Option<WalkLeg>,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct NearestAnswer {
    pub hits: Vec<NearestHit>,
    /// Walk mode: metres from the query point to the walkway it joined.
    pub snap_m: Option<f64>,
    /// The categories searched (every category when none was asked for).
    pub categories: Vec<String>,
}

impl Service {
    /// Fail with the known ids when a category does not exist.
    pub fn check_categories<'a>(
        &self,
        name: &str,
        ids: impl IntoIterator<Item = &'a CategoryId>,
    ) -> Result<(), QueryError> {
        match ids.into_iter().find(|c| !self.is_category(c.as_str())) {
            None => Ok(()),
            Some(bad) => Err(ParamError::new(
                name,
                format!(
                    "unknown category '{bad}'; known: {}",
                    self.category_ids().join(", ")
                ),
            )
            .into()),
        }
    }

    /// The k nearest facilities; walk mode runs on `searcher`.
    pub fn nearest(
        &self,
        req: &NearestRequest,
        searcher: &mut Searcher,
    ) -> Result<NearestAnswer, QueryError> {
        self.nearest_checks(req)?;
        match req.mode {
            NearestMode::Straight => Ok(self.nearest_straight(req)),
            NearestMode::Walk(w) => self.nearest_walk(req, w, None, searcher),
        }
    }

    /// Answers for many origins with the options of `template` (its `at` is ignored), in
    /// origin order, computed on every core (rayon; each thread keeps its own searcher). The
    /// request-wide checks fail the whole call; an origin that cannot join the network fails
    /// only its own answer.
    /// `tables`: the walking tables of [`Service::walk_tables`], looked up once for all the
    /// origins (`None`: each origin looks them up, or searches).
    pub fn nearest_many(
        &self,
        origins: &[LonLat],
        template: &NearestRequest,
        tables: Option<&[&NearestTable]>,
    ) -> Result<Vec<Result<NearestAnswer, QueryError>>, QueryError> {
        use rayon::prelude::*;
        self.nearest_checks(template)?;
        Ok(origins
            .par_iter()
            .map(|&at| {
                let req = NearestRequest {
                    at,
                    categories: template.categories.clone(),
                    ..*template
                };
                match req.mode {
                    NearestMode::Straight => Ok(self.nearest_straight(&req)),
                    NearestMode::Walk(w) => {
                        exec::with_searcher(|s| self.nearest_walk(&req, w, tables, s))
                    }
                }
            })
            .collect())
    }

    /// The checks that do not depend on the query point: the layers exist, the categories
    /// are known.
    pub fn nearest_checks(&self, req: &NearestRequest) -> Result<(), QueryError> {
        if self.dataset.layer(LayerId::Facilities).is_none() {
            return Err(QueryError::layer(
                LayerId::Facilities,
                "finding the nearest facilities",
            ));
        }
        self.check_categories("category", req.categories.iter().flatten())?;
        if matches!(req.mode, NearestMode::Walk(_)) && self.walk.is_none() {
            return Err(QueryError::layer(LayerId::Walkways, "mode=walk"));
        }
        Ok(())
    }

    fn categories_of(&self, req: &NearestRequest) -> Vec<String> {
        match &req.categories {
            Some(cs) => cs.iter().map(|c| c.as_str().to_string()).collect(),
            None => self.category_ids(),
        }
    }

    fn nearest_straight(&self, req: &NearestRequest) -> NearestAnswer {
        let hits = self
            .indexes
            .nearest_straight(
                req.at.lon,
                req.at.lat,
                req.categories.as_deref(),
                req.k.get(),
                req.max_m,
            )
            .into_iter()
            .map(|h| NearestHit {
                facility: h.facility,
                distance_m: h.distance_m,
                walk: None,
            })
            .collect();
        NearestAnswer {
            hits,
            snap_m: None,
            categories: self.categories_of(req),
        }
    }

    fn nearest_walk(
        &self,
        req: &NearestRequest,
        w: WalkOptions,
        tables: Option<&[&NearestTable]>,
        searcher: &mut Searcher,
    ) -> Result<NearestAnswer, QueryError> {
        let world = self.walk_world("mode=walk")?;
        let tags = self.walk_tags(req);
        let mut found = Vec::new();
        let snap_m = TABLE_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut table) => self.walk_hits(
                world,
                req,
                w,
                tags.as_deref(),
                tables,
                searcher,
                &mut table,
                &mut found,
            ),
            Err(_) => self.walk_hits(
                world,
                req,
                w,
                tags.as_deref(),
                tables,
                searcher,
                &mut TableScratch::default(),
                &mut found,
            ),
        })?;
        let origin = Point::new(req.at.lon, req.at.lat);
        let hits = found
            .into_iter()
            .filter_map(|h| {
                let fac = world.facilities.at(h.target)?;
                Some(NearestHit {
                    facility: fac.facility,
                    distance_m: distance_m(origin, fac.position),
                    walk: Some(WalkLeg {
                        walk_s: h.walk_s,
                        walk_m: h.walk_m,
                        route: h.route,
                    }),
                })
            })
            .collect();
        Ok(NearestAnswer {
            hits,
            snap_m: Some(snap_m),
            categories: self.categories_of(req),
        })
    }

    /// The category tags of a walking request (`None`: every category). Categories the
    /// taxonomy knows but no facility has get no tag: nothing to find.
    #[must_use]
    pub fn walk_tags(&self, req: &NearestRequest) -> Option<Vec<u32>> {
        let world = self.walk.as_deref()?;
        req.categories.as_ref().map(|cs| {
            cs.iter()
                .filter_map(|c| world.category_tag(c.as_str()))
                .collect()
        })
    }

    /// The tables [`Service::walk_hits`] answers `req` from, looked up once for a whole batch
    /// of origins; a table over the memory budget is built for the batch alone
    /// ([`WalkWorld::tables_for_batch`]). `None`: the search answers (k or routes).
    #[must_use]
    pub fn walk_tables(
        world: &WalkWorld,
        req: &NearestRequest,
        w: WalkOptions,
        tags: Option<&[u32]>,
    ) -> Option<Vec<Arc<NearestTable>>> {
        world.tables_for_batch(&walk_query(req, w, tags))
    }

    /// Walking nearest of `req.at` into `out` (facility rows with seconds and metres, routes
    /// when asked, `max_m` applied), `tags` from [`Service::walk_tags`], `tables` from
    /// [`Service::walk_tables`] when a batch looked them up once (`None`: looked up here);
    /// returns the metres from the point to the walkway it joined. Allocates nothing once the
    /// scratch is warm when the nearest tables answer (`k ≤ TABLE_K`, no route): the
    /// per-origin path of `POST /nearest/batch`.
    #[allow(clippy::too_many_arguments)]
    pub fn walk_hits(
        &self,
        world: &WalkWorld,
        req: &NearestRequest,
        w: WalkOptions,
        tags: Option<&[u32]>,
        tables: Option<&[&NearestTable]>,
        searcher: &mut Searcher,
        table: &mut TableScratch,
        out: &mut Vec<Nearest>,
    ) -> Result<f64, QueryError> {
        let snap = world
            .graph
            .snap_lonlat(req.at.lon, req.at.lat, w.max_snap_m, w.profile)
            .map_err(|error| QueryError::OffNetwork {
                what: format!("the point ({:.6}, {:.6}) (WGS84)", req.at.lon, req.at.lat),
                error,
                profile: w.profile,
            })?;
        out.clear();
        if tags.is_some_and(<[u32]>::is_empty) {
            return Ok(snap.offset_m);
        }
        let origin = Origin::new(snap, w.profile);
        let q = walk_query(req, w, tags);
        // The tables answer exactly what the search would (walk::table); the search remains
        // for routes, k above the tables' depth and tables over the memory budget.
        let answered = match tables {
            Some(tables) => world.nearest_from(tables, &origin, &q, table, out),
            None => world.nearest_from_tables(&origin, &q, table, out),
        };
        if !answered {
            *out = nearest(&world.graph, &world.facility_snaps, searcher, &[origin], &q);
        }
        // `max_m` bounds the walked metres of the routes found (the fastest ones).
        if let Some(m) = req.max_m {
            out.retain(|h| h.walk_m <= m);
        }
        Ok(snap.offset_m)
    }
}

/// The walking query of `req` in `w` over the facilities tagged `tags`.
fn walk_query<'a>(
    req: &NearestRequest,
    w: WalkOptions,
    tags: Option<&'a [u32]>,
) -> NearestQuery<'a> {
    NearestQuery {
        profile: w.profile,
        k: req.k.get(),
        max_s: w.max_min.unwrap_or(MAX_MIN_MAX) * 60.0,
        tags,
        with_route: w.route,
    }
}

/// Run `f` with this thread's searcher and table scratch (the batch endpoint's per-origin
/// state).
pub fn with_walk_scratch<R>(f: impl FnOnce(&mut Searcher, &mut TableScratch) -> R) -> R {
    exec::with_searcher(|searcher| {
        TABLE_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut table) => f(searcher, &mut table),
            Err(_) => f(searcher, &mut TableScratch::default()),
        })
    })
}

/// [`Service::nearest`] off the event loop when the network is large.
pub async fn nearest_async(
    svc: Arc<Service>,
    req: NearestRequest,
) -> Result<NearestAnswer, QueryError> {
    svc.nearest_checks(&req)?;
    match req.mode {
        NearestMode::Straight => Ok(svc.nearest_straight(&req)),
        NearestMode::Walk(w) => {
            // A table lookup is inline-cheap on any network; a table still to be built (tens
            // of milliseconds, once per category and profile) is heavy work like a search.
            let tables = match svc.walk.as_deref() {
                Some(world) if req.k.get() <= TABLE_K && !w.route => {
                    world.tables_built(svc.walk_tags(&req).as_deref(), w.profile)
                }
                _ => None,
            };
            match tables {
                Some(true) => Ok(exec::with_searcher(|s| svc.nearest(&req, s))?),
                Some(false) => exec::offload(move |s| svc.nearest(&req, s)).await?,
                None => {
                    let nodes = svc.walk.as_ref().map_or(0, |w| w.graph.node_count());
                    exec::small_or_offload(nodes, move |s| svc.nearest(&req, s)).await?
                }
            }
        }
    }
}
