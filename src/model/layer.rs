//! The layers a data directory may hold, and what each one must look like.

use std::fmt;

/// A layer of a data directory. Each layer is one RFC 7946 GeoJSON file named `<id>.geojson`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LayerId {
    Boundary,
    Communities,
    Grids,
    Microgrids,
    Buildings,
    Compounds,
    Facilities,
    Water,
    Walkways,
}

/// The geometry type every feature of a layer must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryKind {
    Point,
    /// `Polygon`; `MultiPolygon` is accepted only for water.
    Polygon,
    LineString,
}

impl LayerId {
    pub const ALL: [LayerId; 9] = [
        LayerId::Boundary,
        LayerId::Communities,
        LayerId::Grids,
        LayerId::Microgrids,
        LayerId::Buildings,
        LayerId::Compounds,
        LayerId::Facilities,
        LayerId::Water,
        LayerId::Walkways,
    ];

    /// What a served facility is made of: its own layer and the areas its community, grid,
    /// micro-grid and compound are found in by point-in-polygon. Whatever is derived from
    /// facilities (indexes, tiles) can be kept across an edit only when none of these changed.
    pub const FACILITY_INPUTS: [LayerId; 6] = [
        LayerId::Facilities,
        LayerId::Boundary,
        LayerId::Communities,
        LayerId::Grids,
        LayerId::Microgrids,
        LayerId::Compounds,
    ];

    /// The collection id used in file names and in the OGC API (`/collections/{id}`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LayerId::Boundary => "boundary",
            LayerId::Communities => "communities",
            LayerId::Grids => "grids",
            LayerId::Microgrids => "microgrids",
            LayerId::Buildings => "buildings",
            LayerId::Compounds => "compounds",
            LayerId::Facilities => "facilities",
            LayerId::Water => "water",
            LayerId::Walkways => "walkways",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<LayerId> {
        LayerId::ALL.into_iter().find(|l| l.as_str() == s)
    }

    #[must_use]
    pub fn file_name(self) -> String {
        format!("{}.geojson", self.as_str())
    }

    #[must_use]
    pub fn geometry_kind(self) -> GeometryKind {
        match self {
            LayerId::Buildings | LayerId::Facilities => GeometryKind::Point,
            LayerId::Walkways => GeometryKind::LineString,
            _ => GeometryKind::Polygon,
        }
    }

    /// Human title for the OGC API collection list.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            LayerId::Boundary => "Subdistrict boundary (街道边界)",
            LayerId::Communities => "Communities and villages (社区/村)",
            LayerId::Grids => "Community grids (网格)",
            LayerId::Microgrids => "Micro-grids (微网格)",
            LayerId::Buildings => "Residential buildings (楼栋)",
            LayerId::Compounds => "Residential compounds (小区)",
            LayerId::Facilities => "Service facilities (便民设施)",
            LayerId::Water => "Water (江河)",
            LayerId::Walkways => "Walking network (步行网络)",
        }
    }
}

impl fmt::Display for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
