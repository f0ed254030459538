//! The planner's questions as typed requests: coverage, gaps, the audit against a standard,
//! what-if scenarios and siting. Each runs on the loaded [`Planner`].

use crate::analysis::audit::{Standard, UnitAudit};
use crate::analysis::planner::{CoverageReport, GapReport, ScenarioResult, Site};
use crate::analysis::{Change, Level, Planner};
use crate::model::{CategoryId, LayerId, LonLat, Minutes, Profile, Scope, SiteCount};
use crate::service::Service;

use super::QueryError;

/// Default share of households a category must reach in a unit to count as met.
pub const TARGET_SHARE_DEFAULT: f64 = 0.85;

/// Who is within `minutes` of the nearest facility of `category`, per unit of `scope`.
#[derive(Debug, Clone)]
pub struct CoverageRequest {
    pub category: CategoryId,
    pub minutes: Minutes,
    pub profile: Profile,
    pub scope: Scope,
}

/// The buildings left outside the threshold, optionally in one community.
#[derive(Debug, Clone)]
pub struct GapsRequest {
    pub category: CategoryId,
    pub minutes: Minutes,
    pub profile: Profile,
    pub community: Option<String>,
}

/// Every category a standard requires, met or not per unit.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    pub standard: Standard,
    pub scope: Scope,
    pub profile: Profile,
    /// Share of households a category must reach to count as met, in (0, 1].
    pub target_share: f64,
}

/// The audit per unit, and of the whole area asked about.
#[derive(Debug, Clone)]
pub struct AuditAnswer {
    pub units: Vec<UnitAudit>,
    pub summary: UnitAudit,
}

/// Coverage before and after adding, removing and moving facilities.
#[derive(Debug, Clone)]
pub struct ScenarioRequest {
    pub changes: Vec<Change>,
    pub minutes: Minutes,
    pub profile: Profile,
    pub scope: Scope,
}

/// Where `count` new facilities would newly cover the most weight.
#[derive(Debug, Clone)]
pub struct SitingRequest {
    pub category: CategoryId,
    pub count: SiteCount,
    pub minutes: Minutes,
    pub profile: Profile,
    /// Points to choose from (WGS84); `None` means every walkway node.
    pub candidates: Option<Vec<LonLat>>,
    pub community: Option<String>,
}

impl Service {
    /// The planner, or the layer-unavailable error when the directory has no walkways.
    pub fn planner(&self, what_for: &str) -> Result<&Planner, QueryError> {
        self.planner
            .as_ref()
            .ok_or_else(|| QueryError::layer(LayerId::Walkways, what_for))
    }

    pub fn coverage(&self, req: &CoverageRequest) -> Result<CoverageReport, QueryError> {
        Ok(self.planner("coverage by walking time")?.coverage(
            req.category.as_str(),
            req.minutes.get(),
            req.profile,
            req.scope.level,
            req.scope.community(),
        )?)
    }

    pub fn gaps(&self, req: &GapsRequest) -> Result<GapReport, QueryError> {
        Ok(self.planner("coverage gaps by walking time")?.gaps(
            req.category.as_str(),
            req.minutes.get(),
            req.profile,
            req.community.as_deref(),
        )?)
    }

    pub fn audit(&self, req: &AuditRequest) -> Result<AuditAnswer, QueryError> {
        let pl = self.planner("the living-circle audit")?;
        let c = req.scope.community();
        let units = pl.audit(
            req.standard,
            req.scope.level,
            req.profile,
            req.target_share,
            c,
        )?;
        let whole = pl.audit(
            req.standard,
            Level::Subdistrict,
            req.profile,
            req.target_share,
            c,
        )?;
        let summary = whole
            .into_iter()
            .next()
            .ok_or_else(|| QueryError::layer(LayerId::Buildings, "auditing who is covered"))?;
        Ok(AuditAnswer { units, summary })
    }

    pub fn scenario(&self, req: &ScenarioRequest) -> Result<Vec<ScenarioResult>, QueryError> {
        Ok(self.planner("what-if scenarios")?.scenario(
            &req.changes,
            req.minutes.get(),
            req.profile,
            req.scope.level,
            req.scope.community(),
        )?)
    }

    pub fn siting(&self, req: &SitingRequest) -> Result<Vec<Site>, QueryError> {
        let candidates: Option<Vec<(f64, f64)>> = req
            .candidates
            .as_ref()
            .map(|c| c.iter().map(|p| (p.lon, p.lat)).collect());
        Ok(self.planner("siting by walking time")?.siting(
            req.category.as_str(),
            req.count.get(),
            req.minutes.get(),
            req.profile,
            candidates.as_deref(),
            req.community.as_deref(),
        )?)
    }
}
