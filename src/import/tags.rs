//! What OSM tags mean for the layers: who may walk a way and as what kind, which areas are
//! residential buildings or water, and which facility category a feature belongs to (the
//! data-driven table in `osm_categories.json`). Documented in `docs/osm-import.md`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::source::tag;
use crate::model::{Taxonomy, WalkwayKind};

type Tags<'a, 'b> = &'b [(&'a str, &'a str)];

/// Highway values a pedestrian may use, with the walkway kind they give. Motorways, trunks
/// without a sidewalk, and ways under construction are absent on purpose.
const WALKABLE_HIGHWAYS: &[(&str, WalkwayKind)] = &[
    ("footway", WalkwayKind::Footway),
    ("path", WalkwayKind::Footway),
    ("pedestrian", WalkwayKind::Footway),
    ("corridor", WalkwayKind::Footway),
    ("track", WalkwayKind::Footway),
    ("bridleway", WalkwayKind::Footway),
    ("steps", WalkwayKind::Stairs),
    ("living_street", WalkwayKind::Street),
    ("residential", WalkwayKind::Street),
    ("service", WalkwayKind::Street),
    ("unclassified", WalkwayKind::Street),
    ("road", WalkwayKind::Street),
    ("tertiary", WalkwayKind::Street),
    ("tertiary_link", WalkwayKind::Street),
    ("secondary", WalkwayKind::Street),
    ("secondary_link", WalkwayKind::Street),
    ("primary", WalkwayKind::Street),
    ("primary_link", WalkwayKind::Street),
];

/// Roads a pedestrian may use only where a sidewalk is tagged (or `foot=yes`).
const SIDEWALK_ONLY_HIGHWAYS: &[&str] = &["trunk", "trunk_link"];

/// Roads where `sidewalk=no` means there is nowhere to walk (on smaller streets people walk on
/// the carriageway).
const NEEDS_SIDEWALK_WHEN_TAGGED: &[&str] = &["primary", "primary_link", "trunk", "trunk_link"];

/// `cycleway` is walkable only with explicit foot access; the Chinese default forbids it.
const FOOT_EXPLICIT_HIGHWAYS: &[(&str, WalkwayKind)] = &[("cycleway", WalkwayKind::Footway)];

fn foot_allowed_explicitly(tags: Tags<'_, '_>) -> bool {
    matches!(tag(tags, "foot"), Some("yes" | "designated" | "permissive"))
}

fn has_sidewalk(tags: Tags<'_, '_>) -> bool {
    matches!(
        tag(tags, "sidewalk"),
        Some("both" | "left" | "right" | "yes")
    ) || ["sidewalk:both", "sidewalk:left", "sidewalk:right"]
        .iter()
        .any(|k| tag(tags, k) == Some("yes"))
}

/// Why a highway was not taken as a walkway (counted in the summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Excluded {
    /// `foot=no`, `foot=private`, `foot=use_sidepath`.
    FootNo,
    /// `access=private|no` without a foot permission.
    Private,
    /// motorway, or trunk without a sidewalk, or `sidewalk=no` on a primary road.
    MotorRoad,
    /// A highway value nobody walks (construction, proposed, raceway, bus_guideway, ...).
    Other,
}

/// The walkway kind of a way, `Ok(None)` if it is no highway at all, `Err` if it is a highway
/// a pedestrian may not use.
pub fn walkway_kind(tags: Tags<'_, '_>) -> Result<Option<WalkwayKind>, Excluded> {
    let Some(highway) = tag(tags, "highway") else {
        return Ok(None);
    };
    // A highway area (a pedestrian square drawn as a polygon) is no line to walk along.
    if tag(tags, "area") == Some("yes") {
        return Ok(None);
    }
    if matches!(tag(tags, "foot"), Some("no" | "private" | "use_sidepath")) {
        return Err(Excluded::FootNo);
    }
    if matches!(tag(tags, "access"), Some("private" | "no")) && !foot_allowed_explicitly(tags) {
        return Err(Excluded::Private);
    }
    let base = if let Some((_, k)) = WALKABLE_HIGHWAYS.iter().find(|(h, _)| *h == highway) {
        *k
    } else if SIDEWALK_ONLY_HIGHWAYS.contains(&highway) {
        if has_sidewalk(tags) || foot_allowed_explicitly(tags) {
            WalkwayKind::Street
        } else {
            return Err(Excluded::MotorRoad);
        }
    } else if let Some((_, k)) = FOOT_EXPLICIT_HIGHWAYS.iter().find(|(h, _)| *h == highway) {
        if foot_allowed_explicitly(tags) {
            *k
        } else {
            return Err(Excluded::Other);
        }
    } else if highway == "motorway" || highway == "motorway_link" {
        return Err(Excluded::MotorRoad);
    } else {
        return Err(Excluded::Other);
    };
    if NEEDS_SIDEWALK_WHEN_TAGGED.contains(&highway)
        && matches!(tag(tags, "sidewalk"), Some("no" | "none"))
        && !foot_allowed_explicitly(tags)
    {
        return Err(Excluded::MotorRoad);
    }
    // A bridge must say so even when it is a flight of steps: the data format lets only
    // bridges cross water.
    let is_bridge = tag(tags, "bridge").is_some_and(|b| b != "no");
    Ok(Some(if is_bridge { WalkwayKind::Bridge } else { base }))
}

/// Grade separation of a way, carried into its walkways as properties so that a reader (and
/// the validator) can tell a tunnel passing under a street from a missing junction. Values are
/// OSM's (`yes`, `building_passage`, `arcade`, ...); `no` counts as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grade {
    pub bridge: Option<String>,
    pub tunnel: Option<String>,
    pub covered: Option<String>,
    /// `layer`, an integer (OSM allows -5..5); unparsable values are left out.
    pub layer: Option<i64>,
    /// `level` as tagged (`0`, `-1;0`, ...): indoor levels are not numbers in general.
    pub level: Option<String>,
}

impl Grade {
    #[must_use]
    pub fn parse(tags: Tags<'_, '_>) -> Grade {
        let yes = |k: &str| {
            tag(tags, k)
                .map(str::trim)
                .filter(|v| !v.is_empty() && *v != "no")
                .map(str::to_string)
        };
        Grade {
            bridge: yes("bridge"),
            tunnel: yes("tunnel"),
            covered: yes("covered"),
            layer: tag(tags, "layer").and_then(|v| v.trim().parse().ok()),
            level: tag(tags, "level")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        }
    }

    /// The properties written on a walkway, in a fixed order; absent ones are left out.
    #[must_use]
    pub fn properties(&self) -> Vec<(&'static str, serde_json::Value)> {
        let mut out = Vec::new();
        for (k, v) in [
            ("bridge", &self.bridge),
            ("tunnel", &self.tunnel),
            ("covered", &self.covered),
        ] {
            if let Some(v) = v {
                out.push((k, serde_json::Value::from(v.as_str())));
            }
        }
        if let Some(l) = self.layer {
            out.push(("layer", serde_json::Value::from(l)));
        }
        if let Some(l) = &self.level {
            out.push(("level", serde_json::Value::from(l.as_str())));
        }
        out
    }
}

/// The display name: `name:zh` where present (Chinese users read it), else `name`.
#[must_use]
pub fn name<'a>(tags: Tags<'a, '_>) -> Option<&'a str> {
    tag(tags, "name:zh")
        .or_else(|| tag(tags, "name"))
        .filter(|s| !s.trim().is_empty())
}

/// `ele` in metres: a number, optionally followed by `m`; anything else is ignored.
#[must_use]
pub fn ele_m(tags: Tags<'_, '_>) -> Option<f64> {
    let s = tag(tags, "ele")?.trim();
    let s = s.strip_suffix('m').unwrap_or(s).trim();
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() < 10_000.0)
}

/// Whether an area is water (lakes, ponds, reservoirs, river areas).
#[must_use]
pub fn is_water(tags: Tags<'_, '_>) -> bool {
    tag(tags, "natural") == Some("water")
        || tag(tags, "waterway") == Some("riverbank")
        || matches!(
            tag(tags, "water"),
            Some("river" | "lake" | "reservoir" | "pond")
        )
        || matches!(tag(tags, "landuse"), Some("reservoir" | "basin"))
}

/// Building values taken as housing. `yes` is in: most Chinese residential blocks are mapped
/// with nothing more.
const RESIDENTIAL_BUILDINGS: &[&str] = &[
    "yes",
    "residential",
    "apartments",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
    "bungalow",
];

/// Single-family building types: one household whatever the footprint.
const ONE_HOUSEHOLD_BUILDINGS: &[&str] = &["house", "detached", "semidetached_house", "bungalow"];

/// What a `building=*` area is to the importer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildingUse {
    NotABuilding,
    /// Housing; the payload says whether it is a single-family house.
    Residential {
        single_family: bool,
    },
    /// Offices, shops, schools, factories... and `building=yes` carrying a shop/amenity/office.
    NonResidential,
}

#[must_use]
pub fn building_use(tags: Tags<'_, '_>) -> BuildingUse {
    let Some(b) = tag(tags, "building") else {
        return BuildingUse::NotABuilding;
    };
    if b == "no" {
        return BuildingUse::NotABuilding;
    }
    if !RESIDENTIAL_BUILDINGS.contains(&b) {
        return BuildingUse::NonResidential;
    }
    if b == "yes"
        && ["shop", "amenity", "office", "industrial", "leisure"]
            .iter()
            .any(|k| tag(tags, k).is_some())
    {
        return BuildingUse::NonResidential;
    }
    BuildingUse::Residential {
        single_family: ONE_HOUSEHOLD_BUILDINGS.contains(&b),
    }
}

/// Floor area per household, in m² of gross floor area (GFA). Chinese urban housing averages
/// ~40 m² per person (7th census, 2020) at 2.62 persons per household, ~105 m²; with ~15% of
/// the GFA in stairs, walls and lobbies that is ~90 m² of net area per home.
pub const GFA_PER_HOUSEHOLD_M2: f64 = 105.0;
/// Persons per household (7th national census, 2020).
pub const PERSONS_PER_HOUSEHOLD: f64 = 2.62;
/// Storeys assumed for a multi-family building without `building:levels`: the common 6-storey
/// walk-up of Chinese estates from the 1980s–2000s.
pub const DEFAULT_LEVELS: u32 = 6;

/// What a residential building's tags say about its homes, parsed while streaming so the
/// tags need not be kept (a city has hundreds of thousands of buildings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildingTags {
    pub single_family: bool,
    /// `building:levels`, when a number between 1 and 200.
    pub levels: Option<u32>,
    /// `building:flats`, when a non-negative integer.
    pub flats: Option<u64>,
}

impl BuildingTags {
    #[must_use]
    pub fn parse(tags: Tags<'_, '_>, single_family: bool) -> BuildingTags {
        let levels = tag(tags, "building:levels")
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|l| l.is_finite() && *l >= 1.0 && *l < 200.0)
            .map(|l| l.round() as u32);
        let flats = tag(tags, "building:flats").and_then(|s| s.trim().parse::<u64>().ok());
        BuildingTags {
            single_family,
            levels,
            flats,
        }
    }
}

/// Households and how they were found, for a residential building.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Households {
    pub households: u64,
    pub levels: Option<u32>,
    /// `building:flats`, `single_family` or `estimate`.
    pub source: &'static str,
}

/// Households of a residential building: `building:flats` where tagged; one for a
/// single-family house; otherwise footprint × storeys ÷ [`GFA_PER_HOUSEHOLD_M2`], at least one.
#[must_use]
pub fn households(b: &BuildingTags, footprint_m2: f64) -> Households {
    let levels = b.levels;
    if let Some(flats) = b.flats {
        return Households {
            households: flats,
            levels,
            source: "building:flats",
        };
    }
    if b.single_family {
        return Households {
            households: 1,
            levels,
            source: "single_family",
        };
    }
    let storeys = f64::from(levels.unwrap_or(DEFAULT_LEVELS));
    let est = (footprint_m2.max(0.0) * storeys / GFA_PER_HOUSEHOLD_M2).round();
    Households {
        households: (est as u64).max(1),
        levels,
        source: "estimate",
    }
}

/// Residents of `households` homes at [`PERSONS_PER_HOUSEHOLD`].
#[must_use]
pub fn residents(households: u64) -> u64 {
    (households as f64 * PERSONS_PER_HOUSEHOLD).round() as u64
}

/// One row of the category table: all of `tags` must match (a value list, `*` for any value),
/// none of `not`, and when `name_contains` is given the name must contain one of its strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub category: String,
    pub tags: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub not: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub name_contains: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The mapping table file: rules in order, the first that matches wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryTable {
    pub note: String,
    /// Keys whose presence makes a feature a candidate facility; one with such a key that no
    /// rule maps is counted as skipped.
    pub facility_keys: Vec<String>,
    pub rules: Vec<Rule>,
}

/// The mapping table, embedded so the binary needs no data files.
pub const CATEGORY_TABLE_JSON: &str = include_str!("osm_categories.json");
/// The taxonomy an import writes as `categories.json`.
pub const TAXONOMY_JSON: &str = include_str!("osm_taxonomy.json");

/// `*` matches any value, `*text*` any value containing `text` (`shop=*repair*`), anything
/// else only itself.
fn value_matches(actual: Option<&str>, wanted: &[String]) -> bool {
    actual.is_some_and(|a| {
        wanted.iter().any(|w| {
            w == "*"
                || w == a
                || (w.len() > 2
                    && w.starts_with('*')
                    && w.ends_with('*')
                    && a.contains(&w[1..w.len() - 1]))
        })
    })
}

impl Rule {
    fn matches(&self, tags: Tags<'_, '_>) -> bool {
        self.tags
            .iter()
            .all(|(k, vs)| value_matches(tag(tags, k), vs))
            && !self
                .not
                .iter()
                .any(|(k, vs)| value_matches(tag(tags, k), vs))
            && (self.name_contains.is_empty()
                || [tag(tags, "name:zh"), tag(tags, "name")]
                    .into_iter()
                    .flatten()
                    .any(|n| self.name_contains.iter().any(|s| n.contains(s.as_str()))))
    }
}

/// The outcome of looking a feature up in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped<'t> {
    /// A category id.
    Category(&'t str),
    /// A candidate facility no rule maps, as `key=value` of its first facility key.
    Unmapped(String),
    /// Not a facility candidate at all.
    None,
}

impl CategoryTable {
    /// The embedded table. Its validity is checked by a unit test, so a failure here is a
    /// build defect; it still surfaces as an error rather than a panic.
    pub fn embedded() -> Result<&'static CategoryTable, String> {
        static TABLE: OnceLock<Result<CategoryTable, String>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                serde_json::from_str(CATEGORY_TABLE_JSON)
                    .map_err(|e| format!("osm_categories.json: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    #[must_use]
    pub fn classify(&self, tags: Tags<'_, '_>) -> Mapped<'_> {
        if let Some(r) = self.rules.iter().find(|r| r.matches(tags)) {
            return Mapped::Category(&r.category);
        }
        match self
            .facility_keys
            .iter()
            .find_map(|k| tag(tags, k).map(|v| (k, v)))
        {
            Some((k, v)) => Mapped::Unmapped(format!("{k}={v}")),
            None => Mapped::None,
        }
    }
}

/// The importer's taxonomy (written as `categories.json`).
pub fn taxonomy() -> Result<&'static Taxonomy, String> {
    static TAX: OnceLock<Result<Taxonomy, String>> = OnceLock::new();
    TAX.get_or_init(|| {
        serde_json::from_str(TAXONOMY_JSON).map_err(|e| format!("osm_taxonomy.json: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 22] = [
        "convenience_store",
        "supermarket",
        "fresh_market",
        "pharmacy",
        "community_health_station",
        "community_health_centre",
        "hospital",
        "kindergarten",
        "primary_school",
        "middle_school",
        "elder_canteen",
        "elder_day_care",
        "party_mass_service_point",
        "community_school",
        "eatery",
        "barber",
        "laundry",
        "repair",
        "fitness",
        "culture",
        "park",
        "public_car_park",
    ];

    #[test]
    fn table_and_taxonomy_agree() {
        let table = CategoryTable::embedded().expect("table parses");
        let tax = taxonomy().expect("taxonomy parses");
        let mut ids: Vec<&str> = tax.categories.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        let mut want = IDS;
        want.sort_unstable();
        assert_eq!(ids, want, "taxonomy ids");
        for r in &table.rules {
            assert!(
                tax.get(&r.category).is_some(),
                "rule maps to unknown category {}",
                r.category
            );
            for k in r.tags.keys() {
                assert!(
                    table.facility_keys.contains(k) || r.tags.len() > 1,
                    "rule key {k} not a facility key"
                );
            }
        }
        for id in IDS {
            assert!(
                table.rules.iter().any(|r| r.category == id),
                "no rule gives {id}"
            );
        }
    }

    /// The import's categories are the default dataset's, so analyses read both alike.
    #[test]
    fn taxonomy_entries_match_the_default_dataset() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata/categories.json");
        let text = std::fs::read_to_string(path).expect("geodata/categories.json");
        let default: Taxonomy = serde_json::from_str(&text).expect("parses");
        for c in &taxonomy().expect("taxonomy parses").categories {
            assert_eq!(
                Some(c),
                default.get(&c.id),
                "{} differs from geodata/categories.json",
                c.id
            );
        }
    }

    #[test]
    fn classifies_the_issue_examples() {
        let t = CategoryTable::embedded().expect("table parses");
        let c = |tags: &[(&str, &str)]| t.classify(tags);
        assert_eq!(
            c(&[("shop", "convenience")]),
            Mapped::Category("convenience_store")
        );
        assert_eq!(
            c(&[("shop", "supermarket")]),
            Mapped::Category("supermarket")
        );
        assert_eq!(
            c(&[("amenity", "marketplace")]),
            Mapped::Category("fresh_market")
        );
        assert_eq!(c(&[("amenity", "pharmacy")]), Mapped::Category("pharmacy"));
        assert_eq!(
            c(&[("amenity", "clinic")]),
            Mapped::Category("community_health_station")
        );
        assert_eq!(
            c(&[("amenity", "clinic"), ("name", "李家沱社区卫生服务中心")]),
            Mapped::Category("community_health_centre")
        );
        assert_eq!(c(&[("amenity", "hospital")]), Mapped::Category("hospital"));
        assert_eq!(
            c(&[("amenity", "school"), ("name", "马王乡中学")]),
            Mapped::Category("middle_school")
        );
        assert_eq!(
            c(&[("amenity", "school"), ("isced:level", "2")]),
            Mapped::Category("middle_school")
        );
        assert_eq!(
            c(&[("amenity", "school"), ("name", "李家沱小学")]),
            Mapped::Category("primary_school")
        );
        assert_eq!(
            c(&[
                ("amenity", "social_facility"),
                ("social_facility:for", "senior")
            ]),
            Mapped::Category("elder_day_care")
        );
        assert_eq!(
            c(&[
                ("amenity", "social_facility"),
                ("social_facility:for", "homeless")
            ]),
            Mapped::Unmapped("amenity=social_facility".into())
        );
        assert_eq!(
            c(&[("amenity", "restaurant"), ("name", "长者食堂")]),
            Mapped::Category("elder_canteen")
        );
        assert_eq!(c(&[("amenity", "cafe")]), Mapped::Category("eatery"));
        assert_eq!(
            c(&[("leisure", "fitness_centre")]),
            Mapped::Category("fitness")
        );
        assert_eq!(c(&[("leisure", "park")]), Mapped::Category("park"));
        assert_eq!(
            c(&[("amenity", "parking")]),
            Mapped::Category("public_car_park")
        );
        assert_eq!(
            c(&[("amenity", "parking"), ("access", "private")]),
            Mapped::Unmapped("amenity=parking".into())
        );
        assert_eq!(
            c(&[("amenity", "bench")]),
            Mapped::Unmapped("amenity=bench".into())
        );
        assert_eq!(c(&[("highway", "residential")]), Mapped::None);
        for (k, v, want) in [
            ("shop", "hairdresser", "barber"),
            ("shop", "beauty", "barber"),
            ("shop", "laundry", "laundry"),
            ("shop", "dry_cleaning", "laundry"),
            ("shop", "repair", "repair"),
            ("shop", "shoe_repair", "repair"),
            ("shop", "mobile_phone_repair", "repair"),
            ("craft", "key_cutter", "repair"),
            ("craft", "shoemaker", "repair"),
        ] {
            assert_eq!(c(&[(k, v)]), Mapped::Category(want), "{k}={v}");
        }
        assert_eq!(
            c(&[("shop", "car_repair")]),
            Mapped::Unmapped("shop=car_repair".into())
        );
        assert_eq!(
            c(&[("craft", "brewery")]),
            Mapped::Unmapped("craft=brewery".into())
        );
    }

    #[test]
    fn grade_tags() {
        let g = Grade::parse(&[
            ("tunnel", "yes"),
            ("layer", "-1"),
            ("bridge", "no"),
            ("level", "0"),
        ]);
        assert_eq!(
            g,
            Grade {
                bridge: None,
                tunnel: Some("yes".into()),
                covered: None,
                layer: Some(-1),
                level: Some("0".into()),
            }
        );
        let props: Vec<&str> = g.properties().iter().map(|p| p.0).collect();
        assert_eq!(props, ["tunnel", "layer", "level"]);
        assert_eq!(Grade::parse(&[("layer", "high")]), Grade::default());
    }

    #[test]
    fn walkway_rules() {
        use WalkwayKind::*;
        assert_eq!(
            walkway_kind(&[("highway", "residential")]),
            Ok(Some(Street))
        );
        assert_eq!(walkway_kind(&[("highway", "steps")]), Ok(Some(Stairs)));
        assert_eq!(
            walkway_kind(&[("highway", "steps"), ("bridge", "yes")]),
            Ok(Some(Bridge))
        );
        assert_eq!(
            walkway_kind(&[("highway", "footway"), ("bridge", "no")]),
            Ok(Some(Footway))
        );
        assert_eq!(
            walkway_kind(&[("highway", "footway"), ("foot", "no")]),
            Err(Excluded::FootNo)
        );
        assert_eq!(
            walkway_kind(&[("highway", "service"), ("access", "private")]),
            Err(Excluded::Private)
        );
        assert_eq!(
            walkway_kind(&[
                ("highway", "service"),
                ("access", "private"),
                ("foot", "yes")
            ]),
            Ok(Some(Street))
        );
        assert_eq!(
            walkway_kind(&[("highway", "motorway")]),
            Err(Excluded::MotorRoad)
        );
        assert_eq!(
            walkway_kind(&[("highway", "motorway"), ("foot", "yes")]),
            Err(Excluded::MotorRoad)
        );
        assert_eq!(
            walkway_kind(&[("highway", "trunk")]),
            Err(Excluded::MotorRoad)
        );
        assert_eq!(
            walkway_kind(&[("highway", "trunk"), ("sidewalk", "both")]),
            Ok(Some(Street))
        );
        assert_eq!(
            walkway_kind(&[("highway", "primary"), ("sidewalk", "no")]),
            Err(Excluded::MotorRoad)
        );
        assert_eq!(
            walkway_kind(&[("highway", "residential"), ("sidewalk", "no")]),
            Ok(Some(Street))
        );
        assert_eq!(
            walkway_kind(&[("highway", "cycleway")]),
            Err(Excluded::Other)
        );
        assert_eq!(
            walkway_kind(&[("highway", "construction")]),
            Err(Excluded::Other)
        );
        assert_eq!(
            walkway_kind(&[("highway", "pedestrian"), ("area", "yes")]),
            Ok(None)
        );
        assert_eq!(walkway_kind(&[("building", "yes")]), Ok(None));
    }

    #[test]
    fn household_estimate() {
        let h = |tags: &[(&str, &str)], single: bool, m2: f64| {
            households(&BuildingTags::parse(tags, single), m2)
        };
        let got = h(
            &[("building", "apartments"), ("building:levels", "10")],
            false,
            630.0,
        );
        assert_eq!(
            got,
            Households {
                households: 60,
                levels: Some(10),
                source: "estimate"
            }
        );
        assert_eq!(
            h(&[("building", "yes")], false, 210.0).households,
            12,
            "6 default storeys x 210 m2 / 105"
        );
        let got = h(
            &[("building:flats", "48"), ("building:levels", "x")],
            false,
            1.0,
        );
        assert_eq!(
            got,
            Households {
                households: 48,
                levels: None,
                source: "building:flats"
            }
        );
        assert_eq!(h(&[], true, 500.0).households, 1);
        assert_eq!(h(&[], false, 1.0).households, 1, "at least one");
        assert_eq!(residents(60), 157);
    }

    #[test]
    fn ele_parsing() {
        assert_eq!(ele_m(&[("ele", "245.5")]), Some(245.5));
        assert_eq!(ele_m(&[("ele", "245 m")]), Some(245.0));
        assert_eq!(ele_m(&[("ele", "about 200")]), None);
    }
}
