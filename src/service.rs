//! The loaded service: dataset, indexes and taxonomy, built once at start-up and shared by
//! every HTTP worker (and by benchmarks) read-only. No HTTP here.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::analysis::world::WorldError;
use crate::analysis::{Planner, WalkWorld};
use crate::index::{IndexError, Indexes};
use crate::model::{LayerId, PropValue, Taxonomy};
use crate::store::{self, Dataset, StoreError};
use crate::tiles::Tiler;
use crate::walk::DEFAULT_MAX_SNAP_M;

/// Why a data directory cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{dir}: {source}")]
    Index { dir: PathBuf, source: IndexError },
    #[error("{dir}: {source}")]
    Walk { dir: PathBuf, source: WorldError },
}

/// Everything a request needs, immutable after [`Service::load`] — the one way the server, the
/// CLI and the benchmarks build the world. The queries on it live in [`crate::query`].
///
/// To add a component: add a field here, build it in [`Service::from_dataset`] from
/// `dataset`/`indexes`, and answer from it in a `query` method.
#[derive(Debug)]
pub struct Service {
    /// The layers as served. Facilities carry `community`/`grid` linked by point-in-polygon
    /// where the file had none, so property filters on them work.
    pub dataset: Dataset,
    pub indexes: Indexes,
    /// `None` when the directory has no `categories.json`.
    pub taxonomy: Option<Taxonomy>,
    /// The walking network with facilities and buildings snapped; `None` without walkways.
    pub walk: Option<Arc<WalkWorld>>,
    /// Coverage, gaps, audit, scenarios and siting over `walk`; `None` without walkways.
    pub planner: Option<Planner>,
    /// Every layer ready for vector tiles, with the tile and coverage caches.
    pub tiles: Tiler,
}

impl Service {
    /// Read, validate and index a data directory. A broken directory fails with the file and
    /// feature named.
    pub fn load(dir: &Path) -> Result<Service, ServiceError> {
        let (ds, _report) = store::load_valid(dir)?;
        Service::from_dataset(ds)
    }

    /// Index an already read (and validated) dataset.
    pub fn from_dataset(dataset: Dataset) -> Result<Service, ServiceError> {
        Self::build(dataset, None)
    }

    /// The service of `dataset`, the data `prev` serves with the `changed` layers edited
    /// (features created, replaced or deleted): what `prev` has that those layers do not feed
    /// is shared, not rebuilt (the writer's next snapshot, issue 12). Answers exactly as
    /// [`Service::from_dataset`] of the same data (tests/edits_swap.rs).
    pub fn next_after_edit(
        prev: &Service,
        dataset: Dataset,
        changed: &[LayerId],
    ) -> Result<Service, ServiceError> {
        Self::build(dataset, Some((prev, changed)))
    }

    fn build(
        mut dataset: Dataset,
        prev: Option<(&Service, &[LayerId])>,
    ) -> Result<Service, ServiceError> {
        let mut stages = crate::stages::Stages::start("service");
        let indexes = Indexes::build_reusing(
            &dataset,
            prev.map(|(service, changed)| (&service.indexes, changed)),
        )
        .map_err(|source| ServiceError::Index {
            dir: dataset.dir.clone(),
            source,
        })?;
        if let Some(features) = dataset.layers.get_mut(&LayerId::Facilities) {
            for (f, fac) in Arc::make_mut(features)
                .iter_mut()
                .zip(indexes.facilities().iter())
            {
                for (key, value) in [("community", fac.community), ("grid", fac.grid)] {
                    if let (false, Some(v)) = (f.properties.contains_key(key), value) {
                        f.properties.insert(key, PropValue::from(v));
                    }
                }
            }
        }
        stages.lap("indexes");
        let taxonomy = dataset.taxonomy.clone();
        let walk = if dataset.layer(LayerId::Walkways).is_some() {
            // The served walkways are the stored ones (only facilities get derived
            // properties), so the previous snapshot's data tells what they were.
            let reuse = prev.and_then(|(service, changed)| {
                service
                    .walk
                    .as_deref()
                    .map(|world| (&service.dataset, world, changed))
            });
            let world = WalkWorld::build_reusing(&dataset, &indexes, DEFAULT_MAX_SNAP_M, reuse)
                .map_err(|source| ServiceError::Walk {
                    dir: dataset.dir.clone(),
                    source,
                })?;
            Some(Arc::new(world))
        } else {
            None
        };
        stages.lap("walk world");
        let planner = walk.as_ref().map(|w| {
            let planner = Planner::new(Arc::clone(w));
            if let Some(before) = prev.and_then(|(service, _)| service.planner.as_ref()) {
                planner.keep_unchanged(before);
            }
            planner
        });
        let tiles = Tiler::build_reusing(
            &dataset,
            prev.map(|(service, changed)| (&service.tiles, changed)),
        );
        stages.lap("tiler");
        Ok(Service {
            dataset,
            indexes,
            taxonomy,
            walk,
            planner,
            tiles,
        })
    }

    /// Whether `id` names a category: in the taxonomy, or (without `categories.json`) used by a
    /// facility.
    #[must_use]
    pub fn is_category(&self, id: &str) -> bool {
        match &self.taxonomy {
            Some(t) => t.get(id).is_some(),
            None => self.indexes.facility_count(id) > 0,
        }
    }

    /// Every category id, in taxonomy order (or sorted when there is no taxonomy).
    #[must_use]
    pub fn category_ids(&self) -> Vec<String> {
        match &self.taxonomy {
            Some(t) => t.categories.iter().map(|c| c.id.clone()).collect(),
            None => self
                .indexes
                .facility_categories()
                .map(str::to_string)
                .collect(),
        }
    }
}
