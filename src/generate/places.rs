//! The 23 units (real names and NBS codes, facts.md) with modelled anchor positions and
//! grid counts, and the facility taxonomy under GB 50180-2018 and the MOFCOM list.

use crate::analysis::stats::NamedPlace;
use crate::model::{Category, Taxonomy, Threshold};

/// One community (社区) or administrative village (村).
pub struct Unit {
    pub code: &'static str,
    pub name: &'static str,
    pub village: bool,
    /// Modelled anchor (WGS84): the unit grows around it.
    pub anchor: (f64, f64),
    /// Number of grids (网格): 214 in all; households ≈ 375 × grids.
    pub grids: usize,
}

/// NBS codes 500113006001–020 and 500113006200–202 (2023), names from facts.md; anchors and
/// grid counts are modelled (placed by the named places of the facts file).
pub const UNITS: [Unit; 23] = [
    Unit {
        code: "500113006001",
        name: "林荫社区",
        village: false,
        anchor: (106.521, 29.466),
        grids: 11,
    },
    Unit {
        code: "500113006002",
        name: "滨江社区",
        village: false,
        anchor: (106.536, 29.4745),
        grids: 10,
    },
    Unit {
        code: "500113006003",
        name: "李家沱正街社区",
        village: false,
        anchor: (106.529, 29.4715),
        grids: 12,
    },
    Unit {
        code: "500113006004",
        name: "马王坪正街一社区",
        village: false,
        anchor: (106.533, 29.470),
        grids: 13,
    },
    Unit {
        code: "500113006005",
        name: "马王坪正街二社区",
        village: false,
        anchor: (106.537, 29.4675),
        grids: 11,
    },
    Unit {
        code: "500113006006",
        name: "合建村社区",
        village: false,
        anchor: (106.531, 29.4655),
        grids: 10,
    },
    Unit {
        code: "500113006007",
        name: "渝纱社区",
        village: false,
        anchor: (106.540, 29.4715),
        grids: 10,
    },
    Unit {
        code: "500113006008",
        name: "桥南社区",
        village: false,
        anchor: (106.525, 29.470),
        grids: 11,
    },
    Unit {
        code: "500113006009",
        name: "西流沱社区",
        village: false,
        anchor: (106.502, 29.474),
        grids: 8,
    },
    Unit {
        code: "500113006010",
        name: "其龙社区",
        village: false,
        anchor: (106.557, 29.468),
        grids: 8,
    },
    Unit {
        code: "500113006011",
        name: "恒大城社区",
        village: false,
        anchor: (106.509, 29.4705),
        grids: 14,
    },
    Unit {
        code: "500113006012",
        name: "青年塘社区",
        village: false,
        anchor: (106.522, 29.460),
        grids: 10,
    },
    Unit {
        code: "500113006013",
        name: "五园湾社区",
        village: false,
        anchor: (106.514, 29.476),
        grids: 13,
    },
    Unit {
        code: "500113006014",
        name: "茶花社区",
        village: false,
        anchor: (106.5145, 29.4635),
        grids: 14,
    },
    Unit {
        code: "500113006015",
        name: "八公里社区",
        village: false,
        anchor: (106.564, 29.482),
        grids: 7,
    },
    Unit {
        code: "500113006016",
        name: "青岩社区",
        village: false,
        anchor: (106.554, 29.479),
        grids: 8,
    },
    Unit {
        code: "500113006017",
        name: "松柏林社区",
        village: false,
        anchor: (106.529, 29.458),
        grids: 8,
    },
    Unit {
        code: "500113006018",
        name: "光明社区",
        village: false,
        anchor: (106.549, 29.4625),
        grids: 8,
    },
    Unit {
        code: "500113006019",
        name: "龙家湾社区",
        village: false,
        anchor: (106.517, 29.470),
        grids: 10,
    },
    Unit {
        code: "500113006020",
        name: "宝盖寺社区",
        village: false,
        anchor: (106.540, 29.466),
        grids: 9,
    },
    Unit {
        code: "500113006200",
        name: "其龙村",
        village: true,
        anchor: (106.566, 29.463),
        grids: 3,
    },
    Unit {
        code: "500113006201",
        name: "群乐村",
        village: true,
        anchor: (106.552, 29.472),
        grids: 3,
    },
    Unit {
        code: "500113006202",
        name: "光明村",
        village: true,
        anchor: (106.536, 29.456),
        grids: 3,
    },
];

// `Some` always: the category table below mixes these with `None` (no threshold at a tier).
#[allow(clippy::unnecessary_wraps)]
fn t(tier_min: u32, max_m: Option<f64>, max_walk_min: Option<f64>) -> Option<Threshold> {
    Some(Threshold {
        tier_min,
        max_m,
        max_walk_min,
    })
}

fn cat(
    id: &str,
    zh: &str,
    en: &str,
    domain: &str,
    gb: Option<Threshold>,
    mofcom: Option<Threshold>,
) -> Category {
    Category {
        id: id.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        domain: domain.into(),
        gb50180: gb,
        mofcom,
    }
}

/// The facility taxonomy. GB 50180-2018: 5-minute facilities within ~300 m, 10-minute
/// within ~500 m, 15-minute within ~800–1000 m (kindergarten ≤ 300 m, primary ≤ 500 m,
/// middle school ≤ 1000 m). MOFCOM 一刻钟便民生活圈: 5 minutes (convenience store, small
/// supermarket), 8 minutes (snack food, pharmacy, laundry, barber, fresh market), 15 minutes
/// (large supermarket, repairs, community service platform, leisure and fitness).
#[must_use]
pub fn taxonomy() -> Taxonomy {
    let m5 = || t(5, None, Some(5.0));
    let m8 = || t(8, None, Some(8.0));
    let m15 = || t(15, None, Some(15.0));
    let g5 = || t(5, Some(300.0), None);
    let g10 = || t(10, Some(500.0), None);
    let g15 = || t(15, Some(1000.0), None);
    Taxonomy {
        note: "Tiers: GB 50180-2018 《城市居住区规划设计标准》 (5/10/15-minute living circles, \
               300/500/1000 m walking distance) and the MOFCOM 一刻钟便民生活圈 list (5/8/15 \
               minutes). null where a standard does not list the category."
            .into(),
        categories: vec![
            cat(
                "party_mass_service_point",
                "党群服务点",
                "Party-mass service point",
                "services",
                g5(),
                m15(),
            ),
            cat(
                "elder_canteen",
                "社区老年食堂",
                "Elder canteen",
                "elderly",
                g5(),
                None,
            ),
            cat(
                "elder_day_care",
                "老年人日间照料中心",
                "Elder day care",
                "elderly",
                g5(),
                None,
            ),
            cat(
                "wenxin_home",
                "温馨家园",
                "Wenxin home (disability support)",
                "services",
                None,
                None,
            ),
            cat(
                "counselling_station",
                "心灵驿站",
                "Counselling station",
                "services",
                None,
                None,
            ),
            cat(
                "community_school",
                "社区学校",
                "Community school",
                "education",
                None,
                None,
            ),
            cat(
                "kindergarten",
                "幼儿园",
                "Kindergarten",
                "education",
                g5(),
                None,
            ),
            cat(
                "primary_school",
                "小学",
                "Primary school",
                "education",
                g10(),
                None,
            ),
            cat(
                "middle_school",
                "初中",
                "Middle school",
                "education",
                g15(),
                None,
            ),
            cat(
                "community_health_centre",
                "社区卫生服务中心",
                "Community health centre",
                "medical",
                g15(),
                None,
            ),
            cat(
                "community_health_station",
                "社区卫生服务站",
                "Community health station",
                "medical",
                g5(),
                None,
            ),
            cat("hospital", "医院", "Hospital", "medical", g15(), None),
            cat("pharmacy", "药店", "Pharmacy", "medical", g5(), m8()),
            cat(
                "convenience_store",
                "便利店",
                "Convenience store",
                "shopping",
                g5(),
                m5(),
            ),
            cat(
                "supermarket",
                "超市",
                "Supermarket",
                "shopping",
                g10(),
                m15(),
            ),
            cat(
                "fresh_market",
                "菜市场",
                "Fresh market",
                "shopping",
                g10(),
                m8(),
            ),
            cat("eatery", "餐饮店", "Eatery", "dining", g10(), m8()),
            cat("barber", "理发店", "Barber", "services", g5(), m8()),
            cat("laundry", "洗衣店", "Laundry", "services", g5(), m8()),
            cat("repair", "维修点", "Repairs", "services", None, m15()),
            cat("fitness", "健身点", "Fitness spot", "culture", g5(), m15()),
            cat(
                "culture",
                "文化活动室",
                "Culture room",
                "culture",
                g5(),
                m15(),
            ),
            cat("park", "公园", "Park", "culture", g15(), m15()),
            cat(
                "public_car_park",
                "公共停车场",
                "Public car park",
                "transport",
                g5(),
                None,
            ),
            cat(
                "red_property_service_centre",
                "红色物业服务中心",
                "Red-property service centre",
                "services",
                None,
                None,
            ),
        ],
    }
}

/// NBS code of 李家沱街道: the id of the model's boundary.
pub const SUBDISTRICT_CODE: &str = "500113006";

const fn place(
    name: &'static str,
    lon: f64,
    lat: f64,
    community: &'static str,
    compound: Option<&'static str>,
) -> NamedPlace {
    NamedPlace {
        name,
        lon,
        lat,
        community,
        compound,
    }
}

/// The named places of facts.md ("Geography") and the unit each lies in. facts.md gives
/// positions (±150 m), not units: the unit is the one named after the place where there is
/// one, 茶花社区 for 融汇江山 (the article puts that compound in 茶花社区), and otherwise a
/// neighbour chosen by the model. `servicemap stats` checks each against the data.
pub const NAMED_PLACES: [NamedPlace; 17] = [
    place("马王坪", 106.533, 29.470, "500113006004", None),
    place("李家沱三角碑", 106.530, 29.469, "500113006003", None),
    place("李家沱南桥头", 106.524, 29.472, "500113006008", None),
    place("桥南村", 106.526, 29.470, "500113006008", None),
    place("都和广场", 106.537, 29.468, "500113006005", None),
    place("李家沱公交车场", 106.539, 29.466, "500113006020", None),
    place("五园湾", 106.514, 29.476, "500113006013", None),
    place("融汇茶花广场", 106.513, 29.480, "500113006013", None),
    place(
        "融汇半岛 / 融汇江山",
        106.515,
        29.464,
        "500113006014",
        Some("融汇江山"),
    ),
    place("融汇小学", 106.512, 29.471, "500113006011", None),
    place("外河坪", 106.518, 29.465, "500113006001", None),
    place("群乐", 106.552, 29.471, "500113006201", None),
    place(
        "群乐佳苑",
        106.546,
        29.471,
        "500113006201",
        Some("群乐佳苑"),
    ),
    place("麒龙 (其龙)", 106.559, 29.470, "500113006010", None),
    place("八公里", 106.565, 29.483, "500113006015", None),
    place("巴南大道 / 九公里", 106.552, 29.464, "500113006018", None),
    place("重庆理工大学", 106.527, 29.461, "500113006017", None),
];
