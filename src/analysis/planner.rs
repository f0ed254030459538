//! The planner's questions, answered from network walking times: coverage per unit, gaps,
//! audits against the standards, what-if scenarios and siting. Per-building times are cached
//! per (category, profile) — every threshold in minutes reads the same times — so asking
//! again is cheap. The cache lives with the [`WalkWorld`] it was computed from: new data
//! means a new planner and an empty cache.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::model::{Building, Category, FacilityId};
use crate::walk::{Profile, Searcher, Snap, SnappedPoints};

use super::audit::{self, Standard, UnitAudit};
use super::coverage::{self, Level, UnitCoverage};
use super::gaps::{self, GapUnit};
use super::reach::{candidates_within, times_to_nearest_at_s};
use super::siting;
use super::world::WalkWorld;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown category '{0}'")]
    UnknownCategory(String),
    #[error("the data directory has no buildings, so nobody can be counted as covered")]
    NoBuildings,
    #[error("the data directory has no categories.json, so no standard can be audited")]
    NoTaxonomy,
    #[error("no building lies in community '{0}': give a community id such as 500113006006")]
    UnknownCommunity(String),
    #[error("no facility with id '{0}'")]
    UnknownFacility(String),
    #[error("facility '{id}' is a {actual}, not a {expected}")]
    WrongCategory {
        id: String,
        actual: String,
        expected: String,
    },
    #[error("point {index} ({lon}, {lat}) cannot join the walking network: {reason}")]
    Unsnappable {
        index: usize,
        lon: f64,
        lat: f64,
        reason: String,
    },
}

/// Who counts as covered, weighted by what: households in general, residents 60+ for elder
/// services, children 0–6 for kindergartens.
#[must_use]
pub fn weight_of(category: Option<&Category>, b: &Building) -> u64 {
    match category.map(|c| (c.id.as_str(), c.domain.as_str())) {
        Some((_, "elderly")) => b.residents_60plus,
        Some(("kindergarten", _)) => b.children_0_6,
        _ => b.households,
    }
}

/// Name of the weight `weight_of` uses, for reports.
#[must_use]
pub fn weight_name(category: Option<&Category>) -> &'static str {
    match category.map(|c| (c.id.as_str(), c.domain.as_str())) {
        Some((_, "elderly")) => "residents_60plus",
        Some(("kindergarten", _)) => "children_0_6",
        _ => "households",
    }
}

/// Coverage of one category at one level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    pub category: String,
    pub minutes: f64,
    pub profile: &'static str,
    pub level: Level,
    /// The community the report is limited to, if any.
    pub community: Option<String>,
    pub units: Vec<UnitCoverage>,
    /// Figures of the whole area asked about: the subdistrict, or `community` when given.
    pub total: UnitCoverage,
}

/// Households left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapReport {
    pub category: String,
    pub minutes: f64,
    pub profile: &'static str,
    /// The community the report is limited to, if any.
    pub community: Option<String>,
    /// Indices into `WalkWorld::buildings` of uncovered buildings, with their walking time
    /// (minutes; `None` = no facility reachable at all).
    pub buildings: Vec<(usize, Option<f64>)>,
    pub microgrids: Vec<GapUnit>,
}

/// A change of a what-if scenario. Positions are WGS84.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Add {
        category: String,
        lon: f64,
        lat: f64,
    },
    Remove {
        id: String,
    },
    Move {
        id: String,
        lon: f64,
        lat: f64,
    },
}

/// Before and after of one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    pub category: String,
    pub before: CoverageReport,
    pub after: CoverageReport,
    pub households_covered_delta: i64,
    pub residents_covered_delta: i64,
    pub residents_60plus_covered_delta: i64,
}

/// One suggested site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub rank: usize,
    pub lon: f64,
    pub lat: f64,
    /// Index of the chosen candidate in `candidates=` (absent when sites are network nodes).
    pub candidate: Option<usize>,
    /// What the site newly covers, in the category's weight (households, residents 60+ or children).
    pub added_weight: u64,
    pub weight: &'static str,
    pub added_households: u64,
    pub added_residents: u64,
    pub buildings: usize,
}

/// Per-building seconds to the nearest facility, per (category, profile).
type TimesCache = HashMap<(String, Profile), Arc<Vec<f64>>>;

/// The planner over one world.
#[derive(Debug)]
pub struct Planner {
    pub world: Arc<WalkWorld>,
    cache: Mutex<TimesCache>,
}

impl Planner {
    #[must_use]
    pub fn new(world: Arc<WalkWorld>) -> Planner {
        Planner {
            world,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Take over the cached walking times of `before` (the planner of the previous
    /// snapshot) that this world gives alike: same graph and building snaps (shared, not
    /// rebuilt) and the same snapped facilities of the category. A facility edit then
    /// recomputes only its categories' times.
    pub fn keep_unchanged(&self, before: &Planner) {
        let (old, new) = (&before.world, &self.world);
        if !Arc::ptr_eq(&old.graph, &new.graph)
            || !Arc::ptr_eq(&old.building_snaps, &new.building_snaps)
        {
            return;
        }
        let Ok(cached) = before.cache.lock().map(|c| c.clone()) else {
            return;
        };
        let kept: TimesCache = cached
            .into_iter()
            .filter(|((category, p), _)| {
                old.category_snaps(category, *p) == new.category_snaps(category, *p)
            })
            .collect();
        if let Ok(mut c) = self.cache.lock() {
            c.extend(kept);
        }
    }

    fn category(&self, id: &str) -> Result<Option<&Category>, PlanError> {
        let known_in_taxonomy = self.world.taxonomy.as_ref().and_then(|t| t.get(id));
        if known_in_taxonomy.is_none() && self.world.category_tag(id).is_none() {
            return Err(PlanError::UnknownCategory(id.to_string()));
        }
        Ok(known_in_taxonomy)
    }

    /// Per-building walking seconds to the nearest facility of `category` (cached).
    pub fn times(&self, category: &str, p: Profile) -> Result<Arc<Vec<f64>>, PlanError> {
        self.category(category)?;
        if self.world.buildings.is_empty() {
            return Err(PlanError::NoBuildings);
        }
        let key = (category.to_string(), p);
        if let Some(t) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(t);
        }
        let w = &self.world;
        let t = Arc::new(times_to_nearest_at_s(
            &w.graph,
            &w.building_snaps,
            &w.building_ends[p.index()],
            &w.category_snaps(category, p),
            p,
            f64::INFINITY,
        ));
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, Arc::clone(&t));
        }
        Ok(t)
    }

    /// Indices of the buildings of `community` (`None`: every building counts). A community
    /// without buildings is an error, so a typo never reads as "nobody lacks anything".
    pub fn scope(&self, community: Option<&str>) -> Result<Option<Vec<usize>>, PlanError> {
        let Some(c) = community else {
            return Ok(None);
        };
        let idx: Vec<usize> = (0..self.world.buildings.len())
            .filter(|&i| self.world.buildings[i].community.as_deref() == Some(c))
            .collect();
        if idx.is_empty() {
            return Err(PlanError::UnknownCommunity(c.to_string()));
        }
        Ok(Some(idx))
    }

    /// Buildings and their times restricted to `scope` (borrowed when unrestricted).
    fn scoped<'a>(
        &'a self,
        times: &'a [f64],
        scope: Option<&[usize]>,
    ) -> (Cow<'a, [Building]>, Cow<'a, [f64]>) {
        match scope {
            None => (Cow::Borrowed(&self.world.buildings), Cow::Borrowed(times)),
            Some(idx) => (
                Cow::Owned(
                    idx.iter()
                        .map(|&i| self.world.buildings[i].clone())
                        .collect(),
                ),
                Cow::Owned(idx.iter().map(|&i| times[i]).collect()),
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        category: &str,
        minutes: f64,
        p: Profile,
        level: Level,
        times: &[f64],
        community: Option<&str>,
        scope: Option<&[usize]>,
    ) -> CoverageReport {
        let (buildings, times) = self.scoped(times, scope);
        let listed = self.world.unit_ids(level, community);
        let units = coverage::by_unit_with(&buildings, &times, minutes * 60.0, level, &listed);
        // At the subdistrict level the one unit is the total: no second pass and sort.
        let whole = match (level, units.as_slice()) {
            (Level::Subdistrict, [only]) if only.unit == coverage::SUBDISTRICT => {
                Some(only.clone())
            }
            _ => None,
        };
        let total = whole
            .or_else(|| {
                coverage::by_unit(&buildings, &times, minutes * 60.0, Level::Subdistrict).pop()
            })
            .unwrap_or_else(|| UnitCoverage::empty(coverage::SUBDISTRICT));
        CoverageReport {
            category: category.to_string(),
            minutes,
            profile: p.as_str(),
            level,
            community: community.map(str::to_string),
            units,
            total,
        }
    }

    /// Coverage of `category` within `minutes` for profile `p`, per unit at `level`; with
    /// `community`, limited to its buildings (and so its units).
    pub fn coverage(
        &self,
        category: &str,
        minutes: f64,
        p: Profile,
        level: Level,
        community: Option<&str>,
    ) -> Result<CoverageReport, PlanError> {
        let times = self.times(category, p)?;
        let scope = self.scope(community)?;
        Ok(self.report(
            category,
            minutes,
            p,
            level,
            &times,
            community,
            scope.as_deref(),
        ))
    }

    /// Uncovered buildings and the micro-grids holding them, ranked by uncovered households;
    /// with `community`, limited to its buildings.
    pub fn gaps(
        &self,
        category: &str,
        minutes: f64,
        p: Profile,
        community: Option<&str>,
    ) -> Result<GapReport, PlanError> {
        let times = self.times(category, p)?;
        self.scope(community)?;
        let in_scope = |b: &Building| community.is_none_or(|c| b.community.as_deref() == Some(c));
        // Out-of-scope buildings count as covered, so they are neither listed nor ranked.
        let scoped_times: Vec<f64> = self
            .world
            .buildings
            .iter()
            .zip(times.iter())
            .map(|(b, &t)| if in_scope(b) { t } else { f64::NEG_INFINITY })
            .collect();
        let listed = self.world.unit_ids(Level::Microgrid, community);
        let (idx, microgrids) = gaps::gaps(
            &self.world.buildings,
            &scoped_times,
            minutes * 60.0,
            |b| b.microgrid.as_deref(),
            &listed,
        );
        let buildings = idx
            .into_iter()
            .map(|i| (i, times[i].is_finite().then(|| times[i] / 60.0)))
            .collect();
        Ok(GapReport {
            category: category.to_string(),
            minutes,
            profile: p.as_str(),
            community: community.map(str::to_string),
            buildings,
            microgrids,
        })
    }

    /// Audit every unit at `level` against `standard`: a category is met where at least
    /// `target_share` of households walk to it within the standard's threshold. With
    /// `community`, limited to its buildings (and so its units).
    pub fn audit(
        &self,
        standard: Standard,
        level: Level,
        p: Profile,
        target_share: f64,
        community: Option<&str>,
    ) -> Result<Vec<UnitAudit>, PlanError> {
        let scope = self.scope(community)?;
        let tax = self.world.taxonomy.as_ref().ok_or(PlanError::NoTaxonomy)?;
        let flat = Profile::Standard.flat_speed_m_per_s();
        let required: Vec<(&Category, &crate::model::Threshold, f64)> = tax
            .categories
            .iter()
            .filter_map(|c| {
                standard
                    .threshold(c)
                    .map(|t| (c, t, audit::threshold_s(t, flat)))
            })
            .collect();
        let mut times = BTreeMap::new();
        for (c, _, _) in &required {
            let t = if self.world.category_tag(&c.id).is_some() {
                self.times(&c.id, p)?.as_ref().clone()
            } else {
                // No facility of the category at all: nobody is covered.
                vec![f64::INFINITY; self.world.buildings.len()]
            };
            let t = match &scope {
                None => t,
                Some(idx) => idx.iter().map(|&i| t[i]).collect(),
            };
            times.insert(c.id.clone(), t);
        }
        let buildings: Cow<'_, [Building]> = match &scope {
            None => Cow::Borrowed(&self.world.buildings),
            Some(idx) => Cow::Owned(
                idx.iter()
                    .map(|&i| self.world.buildings[i].clone())
                    .collect(),
            ),
        };
        Ok(audit::audit(
            &buildings,
            &required,
            &times,
            level,
            target_share,
            &self.world.unit_ids(level, community),
        ))
    }

    fn snap_new(&self, points: &[(f64, f64)]) -> Result<SnappedPoints, PlanError> {
        let snapped = SnappedPoints::build(
            &self.world.graph,
            points,
            &[],
            crate::walk::DEFAULT_MAX_SNAP_M,
        );
        if let Some((i, e)) = snapped.errors().first() {
            return Err(PlanError::Unsnappable {
                index: *i,
                lon: points[*i].0,
                lat: points[*i].1,
                reason: e.to_string(),
            });
        }
        Ok(snapped)
    }

    /// A what-if: apply `changes` to the facilities (nothing stored changes) and report
    /// coverage before and after for every category the changes touch. With `community`,
    /// reported for its buildings (and units) only; the changes themselves may lie anywhere.
    pub fn scenario(
        &self,
        changes: &[Change],
        minutes: f64,
        p: Profile,
        level: Level,
        community: Option<&str>,
    ) -> Result<Vec<ScenarioResult>, PlanError> {
        let scope = self.scope(community)?;
        let w = &self.world;
        let find = |id: &str| {
            w.facilities
                .find(id)
                .map(FacilityId::index)
                .ok_or_else(|| PlanError::UnknownFacility(id.into()))
        };
        // Per category: removed facility indices and added/moved points.
        let mut removed: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut added: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for ch in changes {
            match ch {
                Change::Add { category, lon, lat } => {
                    self.category(category)?;
                    added
                        .entry(category.clone())
                        .or_default()
                        .push((*lon, *lat));
                }
                Change::Remove { id } => {
                    let i = find(id)?;
                    removed
                        .entry(w.facilities.get(FacilityId::new(i)).category.to_string())
                        .or_default()
                        .push(i);
                }
                Change::Move { id, lon, lat } => {
                    let i = find(id)?;
                    let c = w.facilities.get(FacilityId::new(i)).category.to_string();
                    removed.entry(c.clone()).or_default().push(i);
                    added.entry(c).or_default().push((*lon, *lat));
                }
            }
        }
        let mut cats: Vec<String> = removed.keys().chain(added.keys()).cloned().collect();
        cats.sort();
        cats.dedup();
        let mut out = Vec::new();
        for cat in cats {
            let before_t = self.times(&cat, p)?;
            let gone = removed.get(&cat).cloned().unwrap_or_default();
            let tag = w.category_tag(&cat);
            let mut targets: Vec<Snap> = (0..w.facility_snaps.len())
                .filter(|&i| {
                    tag.is_some_and(|t| w.facility_snaps.tag(i) == t) && !gone.contains(&i)
                })
                .filter_map(|i| w.facility_snaps.snap(i, p).copied())
                .collect();
            if let Some(pts) = added.get(&cat) {
                let s = self.snap_new(pts)?;
                targets.extend((0..s.len()).filter_map(|i| s.snap(i, p).copied()));
            }
            let after_t = times_to_nearest_at_s(
                &w.graph,
                &w.building_snaps,
                &w.building_ends[p.index()],
                &targets,
                p,
                f64::INFINITY,
            );
            let before = self.report(
                &cat,
                minutes,
                p,
                level,
                &before_t,
                community,
                scope.as_deref(),
            );
            let after = self.report(
                &cat,
                minutes,
                p,
                level,
                &after_t,
                community,
                scope.as_deref(),
            );
            let d = |a: u64, b: u64| a as i64 - b as i64;
            out.push(ScenarioResult {
                category: cat,
                households_covered_delta: d(
                    after.total.households_covered,
                    before.total.households_covered,
                ),
                residents_covered_delta: d(
                    after.total.residents_covered,
                    before.total.residents_covered,
                ),
                residents_60plus_covered_delta: d(
                    after.total.residents_60plus_covered,
                    before.total.residents_60plus_covered,
                ),
                before,
                after,
            });
        }
        Ok(out)
    }

    /// Suggest `count` new sites for `category`: points on walkways (network nodes) or the
    /// given `candidates` (WGS84), chosen greedily, each covering the most still-uncovered
    /// weight within `minutes`. With `community`, only its uncovered buildings count (sites
    /// may lie outside it: a canteen across the street serves it as well).
    pub fn siting(
        &self,
        category: &str,
        count: usize,
        minutes: f64,
        p: Profile,
        candidates: Option<&[(f64, f64)]>,
        community: Option<&str>,
    ) -> Result<Vec<Site>, PlanError> {
        let cat = self.category(category)?;
        let times = self.times(category, p)?;
        self.scope(community)?;
        let w = &self.world;
        let limit_s = minutes * 60.0;
        let uncovered: Vec<usize> = (0..w.buildings.len())
            .filter(|&i| times[i] > limit_s)
            .filter(|&i| community.is_none_or(|c| w.buildings[i].community.as_deref() == Some(c)))
            .collect();
        let weights: Vec<u64> = uncovered
            .iter()
            .map(|&i| weight_of(cat, &w.buildings[i]))
            .collect();
        let cand_snaps: Option<Vec<Snap>> = match candidates {
            None => None,
            Some(pts) => {
                let s = self.snap_new(pts)?;
                Some(
                    (0..s.len())
                        .map(|i| {
                            s.snap(i, p).copied().ok_or_else(|| PlanError::Unsnappable {
                                index: i,
                                lon: pts[i].0,
                                lat: pts[i].1,
                                reason: format!("no walkway the {} profile may use", p.as_str()),
                            })
                        })
                        .collect::<Result<_, _>>()?,
                )
            }
        };
        let mut searcher = Searcher::new();
        let reach = candidates_within(
            &w.graph,
            &mut searcher,
            &w.building_snaps,
            &uncovered,
            cand_snaps.as_deref(),
            p,
            limit_s,
        );
        let n_cand = cand_snaps.as_ref().map_or(w.graph.node_count(), Vec::len);
        let picks = siting::greedy(&weights, &reach, n_cand, count);
        Ok(picks
            .into_iter()
            .enumerate()
            .map(|(rank, pk)| {
                let (lon, lat) = match (candidates, &cand_snaps) {
                    (Some(pts), Some(_)) => pts[pk.candidate],
                    _ => w
                        .graph
                        .to_lonlat(w.graph.node_xy(crate::walk::NodeId(pk.candidate as u32))),
                };
                let bs: Vec<&Building> = pk
                    .buildings
                    .iter()
                    .map(|&k| &w.buildings[uncovered[k]])
                    .collect();
                Site {
                    rank: rank + 1,
                    lon,
                    lat,
                    candidate: candidates.map(|_| pk.candidate),
                    added_weight: pk.added_weight,
                    weight: weight_name(cat),
                    added_households: bs.iter().map(|b| b.households).sum(),
                    added_residents: bs.iter().map(|b| b.residents).sum(),
                    buildings: bs.len(),
                }
            })
            .collect())
    }
}
