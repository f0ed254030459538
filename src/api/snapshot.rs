//! The snapshot a request reads: loaded once per request from the live [`ArcSwap`], so a
//! write swapping in the next world never waits for readers and a reader never sees half a
//! change.

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use arc_swap::ArcSwap;

use crate::service::Service;

use super::ApiError;

/// The live world: the writer stores the next snapshot, readers load the current one.
pub type Live = ArcSwap<Service>;

/// Extractor: the service snapshot current when the request started.
#[derive(Clone)]
pub struct Snap(Arc<Service>);

impl Snap {
    /// The snapshot itself, to move into a blocking job.
    #[must_use]
    pub fn into_inner(self) -> Arc<Service> {
        self.0
    }
}

impl Deref for Snap {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.0
    }
}

impl FromRequest for Snap {
    type Error = ApiError;
    type Future = Ready<Result<Snap, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.app_data::<web::Data<Live>>()
                .map(|live| Snap(live.load_full()))
                .ok_or_else(|| ApiError::internal("the app has no service snapshot")),
        )
    }
}
