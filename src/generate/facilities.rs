//! Facilities of the model: the 55 party-mass service points ("centre + stations"), the
//! "一老一小" services, schools, clinics, shops and the places the article names. Each sits
//! beside a walkway, inside its community.

use std::collections::BTreeSet;

use rand::Rng;
use serde_json::json;

use crate::model::Feature;

use super::lattice::CellIx;
use super::places::UNITS;
use super::{GenResult, ModelBuilder, SERVICE_POINTS_TOTAL, point_feature, props, share_60plus};
use rand_chacha::ChaCha8Rng;

/// Where a category's facilities go.
#[derive(Clone, Copy)]
enum Place {
    /// Weighted by households.
    Households,
    /// Weighted by residents aged 60+, drawn to the community's centre (its party-mass
    /// service centre), where canteens and day care sit in Chongqing.
    Elder,
    /// Weighted by households, four times as likely on a block facing a street and then on
    /// the street side, three times more on a compound's edge block facing a street (its
    /// gate): shops and eateries line the main streets and the compound gates.
    Commerce,
    /// Larger plots: blocks with room (few households on them) among inhabited ones.
    School,
    /// Evenly over inhabited and open land.
    Even,
}

/// (category, count, placement, name pattern, opening_hours). `{u}` is the unit's short name,
/// `{n}` a running number.
const PLAN: [(&str, usize, Place, &str, &str); 22] = [
    (
        "elder_canteen",
        18,
        Place::Elder,
        "{u}社区老年食堂{n}",
        "Mo-Su 11:00-13:00,17:00-18:30",
    ),
    (
        "elder_day_care",
        12,
        Place::Elder,
        "{u}老年人日间照料中心{n}",
        "Mo-Fr 08:30-17:30",
    ),
    (
        "wenxin_home",
        8,
        Place::Households,
        "{u}温馨家园{n}",
        "Mo-Fr 09:00-17:00",
    ),
    (
        "counselling_station",
        6,
        Place::Households,
        "{u}心灵驿站{n}",
        "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
    ),
    (
        "kindergarten",
        26,
        Place::Households,
        "{u}幼儿园{n}",
        "Mo-Fr 07:30-17:30",
    ),
    (
        "primary_school",
        7,
        Place::School,
        "{u}小学{n}",
        "Mo-Fr 07:30-17:00",
    ),
    (
        "middle_school",
        4,
        Place::School,
        "{u}中学{n}",
        "Mo-Fr 07:00-18:00",
    ),
    (
        "community_health_station",
        14,
        Place::Households,
        "{u}社区卫生服务站{n}",
        "Mo-Su 08:00-17:30",
    ),
    (
        "pharmacy",
        45,
        Place::Commerce,
        "{u}大药房{n}",
        "Mo-Su 08:00-22:00",
    ),
    (
        "convenience_store",
        150,
        Place::Commerce,
        "{u}便利店{n}",
        "Mo-Su 07:00-23:00",
    ),
    (
        "supermarket",
        20,
        Place::Commerce,
        "{u}超市{n}",
        "Mo-Su 08:00-22:00",
    ),
    (
        "fresh_market",
        9,
        Place::Households,
        "{u}菜市场{n}",
        "Mo-Su 06:30-19:00",
    ),
    (
        "eatery",
        220,
        Place::Commerce,
        "{u}小面馆{n}",
        "Mo-Su 07:00-21:30",
    ),
    (
        "barber",
        40,
        Place::Commerce,
        "{u}理发店{n}",
        "Mo-Su 09:00-21:00",
    ),
    (
        "laundry",
        15,
        Place::Commerce,
        "{u}洗衣店{n}",
        "Mo-Su 08:30-20:30",
    ),
    (
        "repair",
        10,
        Place::Commerce,
        "{u}家电维修{n}",
        "Mo-Sa 09:00-18:00",
    ),
    (
        "fitness",
        30,
        Place::Even,
        "{u}健身点{n}",
        "Mo-Su 06:00-22:00",
    ),
    (
        "culture",
        15,
        Place::Households,
        "{u}文化活动室{n}",
        "Tu-Su 09:00-21:00",
    ),
    (
        "park",
        8,
        Place::Even,
        "{u}社区公园{n}",
        "Mo-Su 06:00-22:00",
    ),
    (
        "public_car_park",
        11,
        Place::Commerce,
        "{u}公共停车场{n}",
        "24/7",
    ),
    (
        "party_mass_service_point",
        31,
        Place::Households,
        "{u}党群服务站{n}",
        "Mo-Fr 09:00-12:00,14:00-17:30",
    ),
    ("community_school", 0, Place::Households, "", ""),
];

/// Facilities placed at named places of the article and facts file:
/// (category, name, lon, lat, community code to stay in, hours, note).
/// (category, name, lon, lat, community code, opening hours, note).
type Fixed = (
    &'static str,
    &'static str,
    f64,
    f64,
    Option<&'static str>,
    &'static str,
    &'static str,
);

const FIXED: [Fixed; 6] = [
    (
        "party_mass_service_point",
        "李家沱街道党群服务中心",
        106.532,
        29.4695,
        None,
        "Mo-Fr 09:00-12:00,14:00-17:30",
        "subdistrict centre (中心)",
    ),
    (
        "primary_school",
        "融汇小学",
        106.512,
        29.471,
        None,
        "Mo-Fr 07:30-17:00",
        "named in facts.md",
    ),
    (
        "community_health_centre",
        "李家沱街道社区卫生服务中心",
        106.537,
        29.468,
        None,
        "Mo-Su 08:00-17:30",
        "",
    ),
    (
        "hospital",
        "颐宁医院",
        106.517,
        29.470,
        Some("500113006019"),
        "24/7",
        "龙家湾社区 free clinic partner (the article)",
    ),
    (
        "public_car_park",
        "合建社区新建公共停车场",
        106.531,
        29.4655,
        Some("500113006006"),
        "24/7",
        "built on idle land for the old open compound (the article)",
    ),
    (
        "red_property_service_centre",
        "光明社区红色物业服务中心",
        106.541,
        29.461,
        Some("500113006018"),
        "Mo-Su 08:30-18:00",
        "serves 563 residents (the article)",
    ),
];

impl ModelBuilder {
    pub(super) fn facilities(
        &self,
        rng: &mut ChaCha8Rng,
        edge_set: &BTreeSet<(usize, usize)>,
        street_set: &BTreeSet<(usize, usize)>,
        gate: &[bool],
        cuts: &[Option<super::builder::Cut>],
    ) -> GenResult<Vec<Feature>> {
        // Blocks with a walkway on at least one side, and those sides; a block cut for a
        // unit's outline offers only the sides it kept (the others border the neighbour's
        // corner).
        let sides = |c: CellIx| -> Vec<(usize, usize)> {
            let k = self.lat.corners(c);
            (0..4)
                .filter(|&t| cuts[c].is_none_or(|x| t != x.corner && t != (x.corner + 3) % 4))
                .map(|t| (k[t].min(k[(t + 1) % 4]), k[t].max(k[(t + 1) % 4])))
                .filter(|e| edge_set.contains(e))
                .collect()
        };
        let on_street = |c: CellIx| sides(c).iter().any(|e| street_set.contains(e));
        let usable: Vec<CellIx> = self
            .land_cells
            .iter()
            .copied()
            .filter(|&c| !sides(c).is_empty())
            .collect();
        let mut out: Vec<Feature> = Vec::new();
        let mut counter = std::collections::BTreeMap::<(String, usize), usize>::new();
        let mut place = |b: &ModelBuilder,
                         rng: &mut ChaCha8Rng,
                         cat: &str,
                         cell: CellIx,
                         name: String,
                         hours: &str,
                         extra: serde_json::Value,
                         street_side: bool|
         -> GenResult<()> {
            let mut s = sides(cell);
            // A shop opens onto the street when its block faces one.
            if street_side && s.iter().any(|e| street_set.contains(e)) {
                s.retain(|e| street_set.contains(e));
            }
            let mut pos = b.lat.centre(cell);
            for _ in 0..8 {
                let (a, e) = s[rng.random_range(0..s.len())];
                let (pa, pe) = (b.lat.nodes[a], b.lat.nodes[e]);
                let f: f64 = rng.random_range(0.3..0.7);
                let m = (pa.0 + f * (pe.0 - pa.0), pa.1 + f * (pe.1 - pa.1));
                let ce = b.lat.centre(cell);
                let d = (ce.0 - m.0).hypot(ce.1 - m.1);
                let cand = (m.0 + (ce.0 - m.0) * 8.0 / d, m.1 + (ce.1 - m.1) * 8.0 / d);
                pos = cand;
                if !b.terrain.in_creek(cand.0, cand.1, 6.0) {
                    break;
                }
            }
            let u = b.community[cell] as usize;
            let g = b.grid_of[cell] as usize;
            let grid = super::builder::grid_id_pub(&b.grids, g);
            let k = out.len();
            let mut p = props(json!({
                "name": name,
                "category": cat,
                "community": UNITS[u].code,
                "grid": grid,
                "address": format!("{}·{}附近（模拟地址）", UNITS[u].name, grid),
                "opening_hours": hours,
                "contact": format!("023-0000-{:04}（示例号码）", 5000 + k),
            }));
            if let serde_json::Value::Object(m) = extra {
                p.extend(m);
            }
            out.push(point_feature(
                &b.proj,
                format!("F{:04}", k + 1),
                pos.0,
                pos.1,
                p,
            ));
            Ok(())
        };
        let short = |u: usize| {
            UNITS[u]
                .name
                .trim_end_matches("社区")
                .trim_end_matches('村')
                .to_string()
        };
        let nearest_usable =
            |b: &ModelBuilder, lon: f64, la: f64, unit: Option<usize>| -> Option<CellIx> {
                let (x, y) = b.proj.to_xy(lon, la);
                usable
                    .iter()
                    .copied()
                    .filter(|&c| unit.is_none_or(|u| b.community[c] as usize == u))
                    .min_by(|&a, &c| {
                        let pa = b.lat.centre(a);
                        let pc = b.lat.centre(c);
                        (pa.0 - x)
                            .hypot(pa.1 - y)
                            .total_cmp(&(pc.0 - x).hypot(pc.1 - y))
                            .then(a.cmp(&c))
                    })
            };

        for (cat, name, lon, la, code, hours, note) in FIXED {
            let unit = code.and_then(|c| UNITS.iter().position(|u| u.code == c));
            let cell =
                nearest_usable(self, lon, la, unit).ok_or("no block for a named facility")?;
            let extra = if cat == "party_mass_service_point" {
                json!({ "level": "subdistrict", "vacant_rooms": 2, "note": note })
            } else if cat == "red_property_service_centre" {
                json!({ "residents_served": 563, "note": note })
            } else {
                json!({ "note": note })
            };
            place(self, rng, cat, cell, name.to_string(), hours, extra, false)?;
        }
        // One party-mass service centre and one community school per unit, at its anchor.
        for (u, unit) in UNITS.iter().enumerate() {
            let cell = nearest_usable(self, unit.anchor.0, unit.anchor.1, Some(u))
                .ok_or("no block for a centre")?;
            let vacant = rng.random_range(0..=3);
            place(
                self,
                rng,
                "party_mass_service_point",
                cell,
                format!("{}党群服务中心", unit.name),
                "Mo-Fr 09:00-12:00,14:00-17:30",
                json!({ "level": "community", "vacant_rooms": vacant }),
                false,
            )?;
            place(
                self,
                rng,
                "community_school",
                cell,
                format!("{}社区学校", unit.name),
                "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
                json!({}),
                false,
            )?;
        }
        // Each community's centre (where its party-mass service centre stands), metres.
        let centre_xy: Vec<(f64, f64)> = UNITS
            .iter()
            .enumerate()
            .map(|(u, unit)| {
                nearest_usable(self, unit.anchor.0, unit.anchor.1, Some(u)).map_or_else(
                    || self.proj.to_xy(unit.anchor.0, unit.anchor.1),
                    |c| self.lat.centre(c),
                )
            })
            .collect();
        // Weighted placements.
        for (cat, count, how, pattern, hours) in PLAN {
            if count == 0 {
                continue;
            }
            let weights: Vec<f64> = usable
                .iter()
                .map(|&c| {
                    let h = self.hh[c] as f64;
                    let (x, y) = self.lat.centre(c);
                    let village = UNITS[self.community[c] as usize].village;
                    match how {
                        Place::Households => h + 0.5,
                        Place::Elder => {
                            let (cx, cy) = centre_xy[self.community[c] as usize];
                            // Within a few hundred metres of the centre; a little anywhere, so
                            // a large village still has a canteen where its people are (a
                            // hundredth; a twentieth once, but with fewer lanes inside micro-grids, fewer blocks
                            // near a centre front a walkway, and the median moved to 215 m).
                            let near = 0.01 + (-(x - cx).hypot(y - cy) / 150.0).exp();
                            (h * share_60plus(&self.terrain, x, y, village) + 0.1) * near
                        }
                        Place::Commerce => {
                            (h * h / 30.0 + 0.2)
                                * if on_street(c) { 4.0 } else { 1.0 }
                                * if gate[c] && on_street(c) { 3.0 } else { 1.0 }
                        }
                        Place::School => {
                            let around: f64 =
                                self.lat.neighbours(c).map(|nb| self.hh[nb] as f64).sum();
                            // Room on the block (few households), pupils around it.
                            self.lat.area_m2(c) / 2500.0 * (around + 1.0) / (h + 1.0).powi(2)
                        }
                        Place::Even => 1.0,
                    }
                })
                .collect();
            let total: f64 = weights.iter().sum();
            for _ in 0..count {
                let mut r = rng.random_range(0.0..total);
                let mut pick = usable[usable.len() - 1];
                for (k, w) in weights.iter().enumerate() {
                    if r < *w {
                        pick = usable[k];
                        break;
                    }
                    r -= w;
                }
                let u = self.community[pick] as usize;
                let n = counter.entry((cat.to_string(), u)).or_insert(0);
                *n += 1;
                let num = if *n == 1 {
                    String::new()
                } else {
                    format!("（{n}）")
                };
                let name = pattern.replace("{u}", &short(u)).replace("{n}", &num);
                let extra = if cat == "party_mass_service_point" {
                    json!({ "level": "station", "vacant_rooms": rng.random_range(0..=2) })
                } else {
                    json!({})
                };
                let street_side = matches!(how, Place::Commerce);
                place(self, rng, cat, pick, name, hours, extra, street_side)?;
            }
        }
        let points = out
            .iter()
            .filter(|f| f.str_prop("category") == Some("party_mass_service_point"))
            .count();
        if points != SERVICE_POINTS_TOTAL {
            return Err(format!(
                "{points} party-mass service points, the article says {SERVICE_POINTS_TOTAL}"
            ));
        }
        Ok(out)
    }
}
