//! `GET /locate?lon=&lat=&coords=`: the community, grid, micro-grid and compound holding a
//! point, and the three-level service list (street office → community → grid).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::model::{Crs, LayerId};
use crate::service::Service;
use crate::store::write::round7;

use super::error::{ApiError, ProblemKind};
use super::features::json_response;
use super::params::{LonLat, RawQuery};

/// Parsed parameters of `/locate`.
#[derive(Debug, Clone, Copy)]
pub struct LocateParams {
    /// The point in WGS84.
    pub at: LonLat,
    /// The system `lon`/`lat` were given in.
    pub coords: Crs,
}

impl LocateParams {
    pub const NAMES: [&'static str; 3] = ["lon", "lat", "coords"];

    pub fn parse(query_string: &str) -> Result<LocateParams, ApiError> {
        let mut q = RawQuery::parse(query_string)?;
        let coords = q.take_coords()?;
        let at = q.take_lonlat(coords)?;
        q.deny_rest(&Self::NAMES)?;
        Ok(LocateParams { at, coords })
    }
}

/// The contact properties each level of the service list shows, when the data has them.
const BOUNDARY_CONTACTS: [&str; 2] = ["office_address", "contact"];
const COMMUNITY_CONTACTS: [&str; 3] = ["office_address", "contact", "secretary"];
const GRID_CONTACTS: [&str; 4] = [
    "grid_worker",
    "grid_worker_phone",
    "part_time_workers",
    "volunteers",
];

fn unit(svc: &Service, layer: LayerId, pos: Option<usize>) -> Value {
    let Some(f) = pos.and_then(|i| svc.dataset.layer(layer).and_then(|fs| fs.get(i))) else {
        return Value::Null;
    };
    json!({
        "id": f.id,
        "name": f.str_prop("name").unwrap_or(&f.id),
        "properties": f.properties,
    })
}

fn contact_entry(
    svc: &Service,
    level: &str,
    layer: LayerId,
    pos: Option<usize>,
    keys: &[&str],
) -> Option<Value> {
    let f = svc.dataset.layer(layer)?.get(pos?)?;
    let mut m = Map::new();
    m.insert("level".into(), json!(level));
    m.insert("id".into(), json!(f.id));
    m.insert("name".into(), json!(f.str_prop("name").unwrap_or(&f.id)));
    for k in keys {
        if let Some(v) = f.properties.get(*k) {
            m.insert((*k).to_string(), v.clone());
        }
    }
    Some(Value::Object(m))
}

/// `GET /locate`.
pub async fn get(req: HttpRequest, svc: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    let p = LocateParams::parse(req.query_string())?;
    let idx = &svc.indexes;
    if !idx.has_layer(LayerId::Boundary) && !idx.has_layer(LayerId::Communities) {
        return Err(ApiError::layer_unavailable(
            LayerId::Communities,
            "locating a point",
        ));
    }
    let at = idx.locate(p.at.lon, p.at.lat);
    // The boundary decides "outside" when the data has one; otherwise being in no community.
    let outside = if idx.has_layer(LayerId::Boundary) {
        at.boundary.is_none()
    } else {
        at.community.is_none()
    };
    if outside {
        return Err(ApiError::new(
            ProblemKind::OutsideArea,
            format!(
                "the point ({:.7}, {:.7}) (WGS84) lies outside the subdistrict; GET /collections/boundary shows its extent{}",
                p.at.lon,
                p.at.lat,
                if p.coords == Crs::Wgs84 {
                    "; if your map uses GCJ-02 or BD-09, add coords=gcj02 or coords=bd09"
                } else {
                    ""
                }
            ),
        ));
    }
    let contacts: Vec<Value> = [
        contact_entry(
            &svc,
            "subdistrict",
            LayerId::Boundary,
            at.boundary,
            &BOUNDARY_CONTACTS,
        ),
        contact_entry(
            &svc,
            "community",
            LayerId::Communities,
            at.community,
            &COMMUNITY_CONTACTS,
        ),
        contact_entry(&svc, "grid", LayerId::Grids, at.grid, &GRID_CONTACTS),
    ]
    .into_iter()
    .flatten()
    .collect();
    let missing: Vec<&str> = crate::index::AREA_LAYERS
        .iter()
        .filter(|l| !idx.has_layer(**l))
        .map(|l| l.as_str())
        .collect();
    // Echo the point in the caller's system, rounded like every output coordinate (the
    // conversion round trip leaves ~1e-10 noise).
    let (lon_out, lat_out) = p.coords.from_wgs84(p.at.lon, p.at.lat);
    let (lon_out, lat_out) = (round7(lon_out), round7(lat_out));
    Ok(json_response(&json!({
        "query": { "lon": lon_out, "lat": lat_out, "coords": p.coords.as_str(), "lon_wgs84": round7(p.at.lon), "lat_wgs84": round7(p.at.lat) },
        "subdistrict": unit(&svc, LayerId::Boundary, at.boundary),
        "community": unit(&svc, LayerId::Communities, at.community),
        "grid": unit(&svc, LayerId::Grids, at.grid),
        "microgrid": unit(&svc, LayerId::Microgrids, at.microgrid),
        "compound": unit(&svc, LayerId::Compounds, at.compound),
        "service_contacts": contacts,
        "missing_layers": missing,
    })))
}
