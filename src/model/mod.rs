//! The data model: layers, features, typed views, categories, coordinate systems. No I/O.

pub mod bbox;
pub mod category;
pub mod crs;
pub mod entities;
pub mod facilities;
pub mod feature;
pub mod geojson;
mod interior;
pub mod layer;
pub mod params;
pub mod proj;
pub mod props;

pub use bbox::{Bbox, BboxError};
pub use category::{Category, Taxonomy, Threshold};
pub use crs::Crs;
pub use entities::{
    Area, Building, Facility, FeatureError, Walkway, WalkwayKind, building_position,
};
pub use facilities::{Extra, Facilities, FacilityId, FacilityRef, Selection};
pub use feature::Feature;
pub use layer::{GeometryKind, LayerId};
pub use params::{
    CategoryId, Contours, K, Level, Limit, LonLat, Minutes, ParamError, Profile, Scope, SiteCount,
    UnknownProfile,
};
pub use proj::LocalProj;
pub use props::{Interner, PropValue, Props};
