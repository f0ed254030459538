//! `GET /locate?lon=&lat=&coords=`: the community, grid, micro-grid and compound holding a
//! point, and the three-level service list (street office → community → grid).

use super::snapshot::Snap;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use crate::model::LayerId;
use crate::model::geojson::round7;
use crate::service::Service;

use super::error::ApiError;
use super::features::json_response;
use super::params::RawQuery;
use super::walk::query_problem;

const NAMES: [&str; 3] = ["lon", "lat", "coords"];

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
        if let Some(v) = f.properties.get(k) {
            m.insert((*k).to_string(), v.to_value());
        }
    }
    Some(Value::Object(m))
}

/// `GET /locate`.
pub async fn get(req: HttpRequest, svc: Snap) -> Result<HttpResponse, ApiError> {
    let mut q = RawQuery::parse(req.query_string())?;
    let coords = q.take_coords()?;
    let at_wgs84 = q.take_lonlat(coords)?;
    q.deny_rest(&NAMES)?;
    let answer = svc.locate(at_wgs84).map_err(|e| query_problem(e, coords))?;
    let at = answer.at;
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
    let missing: Vec<&str> = answer.missing_layers.iter().map(|l| l.as_str()).collect();
    // Echo the point in the caller's system, rounded like every output coordinate (the
    // conversion round trip leaves ~1e-10 noise).
    let (lon_out, lat_out) = coords.from_wgs84(at_wgs84.lon, at_wgs84.lat);
    let (lon_out, lat_out) = (round7(lon_out), round7(lat_out));
    Ok(json_response(&json!({
        "query": { "lon": lon_out, "lat": lat_out, "coords": coords.as_str(), "lon_wgs84": round7(at_wgs84.lon), "lat_wgs84": round7(at_wgs84.lat) },
        "subdistrict": unit(&svc, LayerId::Boundary, at.boundary),
        "community": unit(&svc, LayerId::Communities, at.community),
        "grid": unit(&svc, LayerId::Grids, at.grid),
        "microgrid": unit(&svc, LayerId::Microgrids, at.microgrid),
        "compound": unit(&svc, LayerId::Compounds, at.compound),
        "service_contacts": contacts,
        "missing_layers": missing,
    })))
}
