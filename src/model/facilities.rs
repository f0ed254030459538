//! The facilities layer as one struct of arrays, addressed by a typed [`FacilityId`].
//!
//! Built once at load from the layer's features; afterwards no `serde_json::Value` is kept for
//! facilities. Each facility's GeoJSON Feature is serialised once, here, into one byte arena
//! (its head with the geometry, and one `"key":value` fragment per property), so answers that
//! list facilities (`/nearest`, `/nearest/batch`) splice bytes instead of building and
//! printing a JSON tree per request.

use geo::Point;
use serde_json::Value;
use std::collections::HashMap;

use super::crs::Crs;
use super::entities::{Facility, FeatureError};
use super::feature::Feature;
use super::geojson::geometry_json;

/// A facility: its position in the facilities layer, which is also its row in every column of
/// [`Facilities`] and its index in the snapped facilities of the walking world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FacilityId(u32);

impl FacilityId {
    /// The id of row `i`. A layer holds far fewer than 2³² facilities (the loader reads it
    /// into memory), so the narrowing cannot lose a row that exists.
    #[must_use]
    pub fn new(i: usize) -> FacilityId {
        FacilityId(i as u32)
    }

    /// The row.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One facility read from the columns (borrowed, cheap to make).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FacilityRef<'a> {
    pub facility: FacilityId,
    pub id: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    /// WGS84 position.
    pub position: Point<f64>,
    /// Community / grid ids, from the file or linked by point-in-polygon.
    pub community: Option<&'a str>,
    pub grid: Option<&'a str>,
}

/// A computed property appended to a facility's own properties in an answer.
#[derive(Debug, Clone, Copy)]
pub enum Extra<'a> {
    /// Written as serde_json writes an `f64` (non-finite as `null`).
    Num(f64),
    Int(usize),
    Str(&'a str),
    Json(&'a Value),
}

/// No unit (community, grid) in a unit column.
const NONE: u32 = u32::MAX;

/// The facilities layer, column by column. Rows are in file order.
#[derive(Debug, Default, Clone)]
pub struct Facilities {
    ids: Vec<Box<str>>,
    names: Vec<Box<str>>,
    /// Index into `category_names`.
    category: Vec<u32>,
    /// Category ids that have a facility, sorted (the walking world's tags are these indices).
    category_names: Vec<String>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    /// Index into `units`, or [`NONE`].
    community: Vec<u32>,
    grid: Vec<u32>,
    /// Whether the row's community and grid were both linked by point-in-polygon (the file
    /// named neither): such a row's pair depends only on its position and the areal layers,
    /// so the next build may take it over (the writer's next snapshot, issue 12).
    linked_both: Vec<bool>,
    /// Community and grid ids, interned: a few dozen strings for thousands of facilities.
    units: Vec<Box<str>>,
    /// Rows sorted by id, for lookups by id.
    by_id: Vec<u32>,
    /// The serialised Features: for row i, `json[start[i]..head_end[i]]` is
    /// `{"type":"Feature","id":…,"geometry":` and `json[head_end[i]..geometry_end[i]]` is
    /// the WGS84 geometry, then the property fragments of `frags[frag_start[i]..frag_start[i + 1]]`.
    json: Vec<u8>,
    start: Vec<u32>,
    head_end: Vec<u32>,
    geometry_end: Vec<u32>,
    frag_start: Vec<u32>,
    /// One `"key":value` fragment: the property name (index into `keys`) and its byte range.
    frags: Vec<Frag>,
    /// Every property name some facility has, in order of first appearance.
    keys: Vec<Box<str>>,
}

#[derive(Debug, Clone, Copy)]
struct Frag {
    key: u32,
    start: u32,
    end: u32,
}

/// Index of `s` in `table`, appending it if new; `seen` maps the table's strings to their
/// index while a layer is built (a linear search here was most of the writer's time once a
/// burst had added thousands of facilities: every row looked up its community and grid
/// among ~240 unit ids, issue 12).
fn intern(table: &mut Vec<Box<str>>, seen: &mut HashMap<Box<str>, u32>, s: &str) -> u32 {
    if let Some(&i) = seen.get(s) {
        return i;
    }
    let i = table.len() as u32;
    table.push(s.into());
    seen.insert(s.into(), i);
    i
}

/// The interning maps of [`Facilities::units`] and [`Facilities::keys`] while building.
#[derive(Default)]
struct Seen {
    units: HashMap<Box<str>, u32>,
    keys: HashMap<Box<str>, u32>,
}

/// Writing into a `Vec<u8>` cannot fail; serde_json's writer API still returns a `Result`.
fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    if serde_json::to_writer(&mut *out, v).is_err() {
        // Unreachable for in-memory writes of plain data; write a JSON null rather than panic.
        out.extend_from_slice(b"null");
    }
}

impl Facilities {
    /// Read the layer's features. `link` gives (community, grid) for a facility whose file
    /// names none (point-in-polygon); what it gives is served as a property appended after
    /// the file's own, exactly as the items endpoint serves it.
    pub fn build(
        features: &[Feature],
        mut link: impl FnMut(&Facility) -> (Option<String>, Option<String>),
    ) -> Result<Facilities, FeatureError> {
        let rows = features
            .iter()
            .map(Facility::from_feature)
            .collect::<Result<Vec<_>, _>>()?;
        let mut category_names: Vec<String> = rows.iter().map(|f| f.category.clone()).collect();
        category_names.sort();
        category_names.dedup();
        let n = rows.len();
        let mut s = Facilities {
            category_names,
            ids: Vec::with_capacity(n),
            names: Vec::with_capacity(n),
            category: Vec::with_capacity(n),
            lon: Vec::with_capacity(n),
            lat: Vec::with_capacity(n),
            community: Vec::with_capacity(n),
            grid: Vec::with_capacity(n),
            linked_both: Vec::with_capacity(n),
            start: Vec::with_capacity(n),
            head_end: Vec::with_capacity(n),
            geometry_end: Vec::with_capacity(n),
            frag_start: Vec::with_capacity(n + 1),
            ..Facilities::default()
        };
        s.frag_start.push(0);
        let mut seen = Seen::default();
        for (f, mut fac) in features.iter().zip(rows) {
            let mut linked: Vec<(&str, String)> = Vec::new();
            s.linked_both
                .push(fac.community.is_none() && fac.grid.is_none());
            if fac.community.is_none() || fac.grid.is_none() {
                let (c, g) = link(&fac);
                if let (None, Some(c)) = (&fac.community, c) {
                    linked.push(("community", c.clone()));
                    fac.community = Some(c);
                }
                if let (None, Some(g)) = (&fac.grid, g) {
                    linked.push(("grid", g.clone()));
                    fac.grid = Some(g);
                }
            }
            s.push_row(&mut seen, f, &fac, &linked);
        }
        s.json.shrink_to_fit();
        s.frags.shrink_to_fit();
        let mut by_id: Vec<u32> = (0..n as u32).collect();
        by_id.sort_by(|&a, &b| s.ids[a as usize].cmp(&s.ids[b as usize]));
        s.by_id = by_id;
        Ok(s)
    }

    fn push_row(
        &mut self,
        seen: &mut Seen,
        f: &Feature,
        fac: &Facility,
        linked: &[(&str, String)],
    ) {
        self.ids.push(fac.id.as_str().into());
        self.names.push(fac.name.as_str().into());
        let cat = self
            .category_names
            .binary_search(&fac.category)
            .map_or(0, |i| i as u32);
        self.category.push(cat);
        self.lon.push(fac.position.x());
        self.lat.push(fac.position.y());
        let mut unit = |v: &Option<String>| {
            v.as_deref()
                .map_or(NONE, |s| intern(&mut self.units, &mut seen.units, s))
        };
        let c = unit(&fac.community);
        let g = unit(&fac.grid);
        self.community.push(c);
        self.grid.push(g);

        self.start.push(self.json.len() as u32);
        self.json.extend_from_slice(br#"{"type":"Feature","id":"#);
        put(&mut self.json, &f.id);
        self.json.extend_from_slice(br#","geometry":"#);
        self.head_end.push(self.json.len() as u32);
        put(
            &mut self.json,
            &geometry_json(&geo::Geometry::Point(fac.position), None),
        );
        self.geometry_end.push(self.json.len() as u32);
        for (k, v) in &f.properties {
            self.push_frag(&mut seen.keys, k, v);
        }
        for (k, v) in linked {
            self.push_frag(&mut seen.keys, k, v);
        }
        self.frag_start.push(self.frags.len() as u32);
    }

    fn push_frag<V: serde::Serialize + ?Sized>(
        &mut self,
        seen_keys: &mut HashMap<Box<str>, u32>,
        k: &str,
        v: &V,
    ) {
        let key = intern(&mut self.keys, seen_keys, k);
        let start = self.json.len() as u32;
        put(&mut self.json, k);
        self.json.push(b':');
        put(&mut self.json, v);
        self.frags.push(Frag {
            key,
            start,
            end: self.json.len() as u32,
        });
    }

    /// Number of facilities.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The facility of row `i`, if the layer has that many.
    #[must_use]
    pub fn at(&self, i: usize) -> Option<FacilityRef<'_>> {
        (i < self.len()).then(|| self.get(FacilityId::new(i)))
    }

    /// The facility `f` (an id made by this store; another store's id may panic on a row
    /// that does not exist, like a slice index).
    #[must_use]
    pub fn get(&self, f: FacilityId) -> FacilityRef<'_> {
        let i = f.index();
        FacilityRef {
            facility: f,
            id: &self.ids[i],
            name: &self.names[i],
            category: &self.category_names[self.category[i] as usize],
            position: Point::new(self.lon[i], self.lat[i]),
            community: self.unit(self.community[i]),
            grid: self.unit(self.grid[i]),
        }
    }

    fn unit(&self, u: u32) -> Option<&str> {
        (u != NONE).then(|| &*self.units[u as usize])
    }

    /// Every facility in file order.
    #[must_use]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = FacilityRef<'_>> + '_ {
        (0..self.len()).map(|i| self.get(FacilityId::new(i)))
    }

    /// The facility whose feature id is `id`.
    #[must_use]
    pub fn find(&self, id: &str) -> Option<FacilityId> {
        self.by_id
            .binary_search_by(|&r| (*self.ids[r as usize]).cmp(id))
            .ok()
            .map(|at| FacilityId(self.by_id[at]))
    }

    /// The community and grid of facility `id` when both were linked by point-in-polygon
    /// and it stands exactly at `position`: what linking it again would give, as long as
    /// the areal layers are the same.
    #[must_use]
    pub fn linked_at(
        &self,
        id: &str,
        position: Point<f64>,
    ) -> Option<(Option<String>, Option<String>)> {
        let f = self.find(id)?;
        let i = f.index();
        (self.linked_both[i]
            && self.lon[i].to_bits() == position.x().to_bits()
            && self.lat[i].to_bits() == position.y().to_bits())
        .then(|| {
            (
                self.unit(self.community[i]).map(str::to_string),
                self.unit(self.grid[i]).map(str::to_string),
            )
        })
    }

    /// Feature id of `f`.
    #[must_use]
    pub fn id(&self, f: FacilityId) -> &str {
        &self.ids[f.index()]
    }

    /// WGS84 position of `f`.
    #[must_use]
    pub fn position(&self, f: FacilityId) -> Point<f64> {
        Point::new(self.lon[f.index()], self.lat[f.index()])
    }

    /// Index of `f`'s category in [`Facilities::category_names`].
    #[must_use]
    pub fn category_index(&self, f: FacilityId) -> u32 {
        self.category[f.index()]
    }

    /// Category ids that have at least one facility, sorted.
    #[must_use]
    pub fn category_names(&self) -> &[String] {
        &self.category_names
    }

    /// Every property name some facility has (what `properties=` may choose).
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| &**k)
    }

    /// Which properties to write, from a list of names: `Err(name)` names the first unknown.
    pub fn select<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<Selection, &'n str> {
        let mut keep = vec![false; self.keys.len()];
        for n in names {
            match self.keys.iter().position(|k| &**k == n) {
                Some(i) => keep[i] = true,
                None => return Err(n),
            }
        }
        Ok(Selection(keep))
    }

    /// Append facility `f`'s GeoJSON Feature to `out`: its geometry in `crs` (`null` when
    /// `crs` is `None`: the client asked to skip geometries), its properties (all, or those
    /// `select`ed) in file order, then `extras` in order — byte for byte what serde_json
    /// prints for the feature's properties map extended with `extras` (a property named like
    /// an extra takes the extra's value in place).
    pub fn write_feature(
        &self,
        f: FacilityId,
        crs: Option<Crs>,
        select: Option<&Selection>,
        extras: &[(&str, Extra<'_>)],
        out: &mut Vec<u8>,
    ) {
        let i = f.index();
        let (h0, h1, g1) = (
            self.start[i] as usize,
            self.head_end[i] as usize,
            self.geometry_end[i] as usize,
        );
        out.extend_from_slice(&self.json[h0..h1]);
        match crs {
            None => out.extend_from_slice(b"null"),
            Some(Crs::Wgs84) => out.extend_from_slice(&self.json[h1..g1]),
            Some(crs) => {
                let p = crs.geometry_from_wgs84(&self.position(f));
                put(out, &geometry_json(&geo::Geometry::Point(p), None));
            }
        }
        out.extend_from_slice(br#","properties":{"#);
        let mut first = true;
        let mut sep = |out: &mut Vec<u8>| {
            if !std::mem::replace(&mut first, false) {
                out.push(b',');
            }
        };
        // Bit j set: extra j was written in place of a property of the same name.
        let mut placed = 0_u64;
        let frags = &self.frags[self.frag_start[i] as usize..self.frag_start[i + 1] as usize];
        for fr in frags {
            let key = &*self.keys[fr.key as usize];
            if let Some(j) = extras.iter().position(|(k, _)| *k == key) {
                sep(out);
                put(out, key);
                out.push(b':');
                write_extra(out, extras[j].1);
                placed |= 1 << j;
            } else if select.is_none_or(|s| s.0[fr.key as usize]) {
                sep(out);
                out.extend_from_slice(&self.json[fr.start as usize..fr.end as usize]);
            }
        }
        for (j, (k, v)) in extras.iter().enumerate() {
            if placed & (1 << j) == 0 {
                sep(out);
                put(out, *k);
                out.push(b':');
                write_extra(out, *v);
            }
        }
        out.extend_from_slice(b"}}");
    }
}

fn write_extra(out: &mut Vec<u8>, v: Extra<'_>) {
    match v {
        Extra::Num(x) => put(out, &x),
        Extra::Int(n) => put(out, &n),
        Extra::Str(s) => put(out, s),
        Extra::Json(v) => put(out, v),
    }
}

/// The properties `properties=` chose, by position in the facilities' property names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(Vec<bool>);
