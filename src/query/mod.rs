//! The one door from the HTTP API, the CLI and the benchmarks to the engines. Each query
//! (`nearest`, `isochrone`, `locate`, `features`, `coverage`, `gaps`, `audit`, `scenario`,
//! `siting`) is a method on [`Service`](crate::service::Service) that takes domain types from
//! [`crate::model`] and returns a typed result; no HTTP here. Heavy calls leave the event
//! loop through one bounded policy, [`heavy`].
//!
//! To add an endpoint: add a request type and a `Service` method here; the handler in
//! `src/api/` parses into the request, calls, and renders.

pub mod exec;
mod features;
mod isochrone;
mod locate;
mod nearest;
mod plan;
pub mod tiles;

use std::sync::Arc;

use crate::analysis::{PlanError, WalkWorld};
use crate::model::{LayerId, LonLat, ParamError, Profile};
use crate::service::Service;
use crate::walk::Searcher;

pub use crate::walk::{Contour, DEFAULT_MAX_SNAP_M, SnapError};
pub use exec::{heavy_jobs_max, start_heavy_workers};
pub use features::{GEOMETRY_QUERYABLE, ItemsPage, ItemsRequest, Queryables};
pub use isochrone::{IsochroneAnswer, IsochroneRequest, ORIGINS_MAX};
pub use locate::LocateAnswer;
pub use nearest::{
    MAX_MIN_MAX, NearestAnswer, NearestHit, NearestMode, NearestRequest, WalkLeg, WalkOptions,
    nearest_async, with_walk_scratch,
};
pub use plan::{
    AuditAnswer, AuditRequest, CoverageRequest, GapsRequest, ScenarioRequest, SitingRequest,
    TARGET_SHARE_DEFAULT,
};

/// Why a query cannot be answered. Messages fit a terminal and an HTTP problem alike; the
/// API adds its route hints.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A value the caller gave is out of range or names nothing.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The data directory lacks a layer the query needs.
    #[error("this data directory has no '{layer}' layer, so {what} is not available")]
    LayerUnavailable { layer: LayerId, what: String },
    /// The point lies outside the mapped area.
    #[error("the point ({:.7}, {:.7}) (WGS84) lies outside the subdistrict", at.lon, at.lat)]
    OutsideArea { at: LonLat },
    /// A walking origin cannot join the network; `what` names the point.
    #[error("{what} cannot join the walking network: {error:?}")]
    OffNetwork {
        what: String,
        error: SnapError,
        profile: Profile,
    },
    /// The planner refused (unknown category, community, facility, …).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A feature or collection that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Too many heavy requests are waiting; try again after `retry_after_s` seconds.
    #[error("the service is busy with heavy requests; retry in {retry_after_s} s")]
    Busy { retry_after_s: u32 },
    /// A failure of ours; the message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl QueryError {
    pub fn layer(layer: LayerId, what: impl Into<String>) -> QueryError {
        QueryError::LayerUnavailable {
            layer,
            what: what.into(),
        }
    }
}

impl Service {
    /// The walking world, or the layer-unavailable error.
    pub fn walk_world(&self, what: &str) -> Result<&Arc<WalkWorld>, QueryError> {
        self.walk
            .as_ref()
            .ok_or_else(|| QueryError::layer(LayerId::Walkways, what))
    }
}

/// Run a heavy query off the event loop under the one bounded policy ([`exec::offload`]).
pub async fn heavy<R: Send + 'static>(
    svc: Arc<Service>,
    f: impl FnOnce(&Service, &mut Searcher) -> Result<R, QueryError> + Send + 'static,
) -> Result<R, QueryError> {
    exec::offload(move |s| f(&svc, s)).await?
}

/// [`heavy`] for a query known to be short: run on the calling thread when a heavy slot is
/// free and nothing waits ([`exec::inline_small`]).
pub async fn heavy_short<R: Send + 'static>(
    svc: Arc<Service>,
    f: impl FnOnce(&Service, &mut Searcher) -> Result<R, QueryError> + Send + 'static,
) -> Result<R, QueryError> {
    exec::inline_small(move |s| f(&svc, s)).await?
}
