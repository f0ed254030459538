//! The next snapshot after a batch of edits.

use crate::model::LayerId;
use crate::service::Service;
use crate::store::Dataset;

use super::EditError;

/// The [`Service`] serving `next`, the data `prev` serves with the `changed` layers edited;
/// see [`Service::next_after_edit`].
pub fn next_snapshot(
    prev: &Service,
    next: &Dataset,
    changed: &[LayerId],
) -> Result<Service, EditError> {
    let next = Service::next_after_edit(prev, next.clone(), changed)
        .map_err(|e| EditError::Io(e.to_string()))?;
    if let (Some(before), Some(world)) = (prev.walk.as_deref(), next.walk.as_deref()) {
        world.rebuild_tables_of(before);
    }
    Ok(next)
}
