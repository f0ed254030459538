//! `POST /nearest/batch?category=&k=&mode=&profile=&…`: `/nearest` for up to
//! [`ORIGINS_MAX`] origins at once, the body a GeoJSON FeatureCollection of Points or a CSV
//! (`lon,lat[,id]` header), the answer in the same format, streamed chunk by chunk while
//! later chunks are still being computed on every core.
//!
//! Each origin's answer is exactly `/nearest`'s for that point with the same parameters:
//! GeoJSON gives the same Features with an `origin` property (the origin's feature id, else
//! its 0-based position); CSV gives one row per facility found. An origin that cannot join
//! the walking network gets a record with an `error` instead of failing the batch.

use std::sync::Arc;

use super::snapshot::Snap;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::model::geojson::DIGIT_PAIRS;
use crate::model::{Crs, Extra, Facilities, LonLat};
use crate::query::{NearestAnswer, NearestMode, QueryError, exec};
use crate::service::Service;
use crate::walk::NearestTable;

use super::error::{ApiError, ProblemKind};
use super::features::GEO_JSON;
use super::nearest::{NearestParams, parse_options, write_hits};
use super::walk::query_problem;

/// Most origins in one request: a 15-minute-city study of a whole district's buildings.
pub const ORIGINS_MAX: usize = 100_000;
/// Largest body: 100,000 GeoJSON origins with ids and a few properties each.
pub const BODY_MAX_BYTES: usize = 64 << 20;
/// Origins per computed and streamed chunk: big enough to keep every core busy, small
/// enough that the first bytes leave early and memory stays flat (two chunks of answers,
/// ~1.7 MB of CSV). Each chunk is a hand-off to a heavy thread and a fork over every core, and
/// both sleep again between chunks: 2,048 made eleven of those a 21,978-origin batch (issue
/// 15: 5 pairs alternating, 3 rounds x 11 categories of the peer batch each, server CPU
/// 0.707 -> 0.669 us a (origin, category) and wall 1.62 -> 1.13 us median at 8,192; 16,384
/// measured the same as 8,192).
const CHUNK: usize = 8192;
/// Chunks computed at once: the one being sent and the next.
const PREFETCH_CHUNKS: usize = 2;

const CSV: &str = "text/csv";

/// The body's format, which is also the answer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    GeoJson,
    Csv,
}

/// How an origin is named in the answer: its id from the body, else its position.
#[derive(Debug, Clone)]
enum Label {
    Index(usize),
    Id(Value),
    Text(String),
}

impl Label {
    fn extra(&self) -> Extra<'_> {
        match self {
            Label::Index(i) => Extra::Int(*i),
            Label::Id(v) => Extra::Json(v),
            Label::Text(s) => Extra::Str(s),
        }
    }
}

struct Batch {
    format: Format,
    params: NearestParams,
    origins: Vec<LonLat>,
    /// Each origin's label; empty when every origin is named by its position (a CSV body
    /// without ids, a GeoJSON body without feature ids), which is not stored: 100,000
    /// `Label`s of 72 bytes were two fresh mappings of 7 MB to fault in and copy per request.
    labels: Vec<Label>,
    /// The CSV answer's columns (all of them unless `columns=` chose).
    layout: CsvLayout,
    /// Per facility, its CSV cells made on its first hit in this batch (they depend on the
    /// batch's `coords`) and spliced into every later row.
    csv_facility: Vec<std::sync::OnceLock<FacilityCells>>,
    /// The walking tables of the whole batch, looked up (or, over the memory budget, built)
    /// by the first chunk and read by every later one: a table built per chunk would be one
    /// multi-source search per chunk of origins instead of one per batch.
    walk_tables: std::sync::OnceLock<Option<Vec<Arc<NearestTable>>>>,
}

impl Batch {
    /// The label of origin `i` ([`Batch::labels`]).
    fn label(&self, i: usize) -> std::borrow::Cow<'_, Label> {
        match self.labels.get(i) {
            Some(label) => std::borrow::Cow::Borrowed(label),
            None => std::borrow::Cow::Owned(Label::Index(i)),
        }
    }

    /// The batch's walking tables ([`Service::walk_tables`]); `None` in straight mode or
    /// where the search answers.
    fn walk_tables(&self, svc: &Service) -> Option<Vec<&NearestTable>> {
        self.walk_tables
            .get_or_init(|| {
                let NearestMode::Walk(w) = self.params.req.mode else {
                    return None;
                };
                let world = svc.walk.as_deref()?;
                let tags = svc.walk_tags(&self.params.req);
                Service::walk_tables(world, &self.params.req, w, tags.as_deref())
            })
            .as_ref()
            .map(|ts| ts.iter().map(AsRef::as_ref).collect())
    }
}

fn bad_row(row: usize, detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(ProblemKind::BadBody, format!("origin {row}: {detail}"))
}

fn too_many(n: usize) -> ApiError {
    ApiError::new(
        ProblemKind::PayloadTooLarge,
        format!(
            "{n} origins is over the limit of {ORIGINS_MAX}; split the batch into several requests"
        ),
    )
}

/// A GeoJSON FeatureCollection of Point features (coordinates in `crs`).
fn parse_geojson(body: &[u8], crs: Crs) -> Result<(Vec<LonLat>, Vec<Label>), ApiError> {
    // Only what an origin needs is kept while parsing (its id and geometry); properties and
    // any other member are skipped unparsed, so a 100,000-origin body with attributes does
    // not become a tree of 100,000 property maps.
    /// A present `id` as `Some` even when it is `null` (an id that is neither a string nor a
    /// number is refused; only a missing one falls back to the origin's index).
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        <Value as serde::Deserialize>::deserialize(d).map(Some)
    }
    #[derive(serde::Deserialize)]
    struct Origin {
        #[serde(default, deserialize_with = "present")]
        id: Option<Value>,
        #[serde(default)]
        geometry: Value,
    }
    #[derive(serde::Deserialize)]
    struct Collection {
        #[serde(rename = "type")]
        kind: String,
        features: Vec<Origin>,
    }
    let fc: Collection = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ProblemKind::BadBody,
            format!("the body is not a GeoJSON FeatureCollection: {e}"),
        )
    })?;
    if fc.kind != "FeatureCollection" {
        return Err(ApiError::new(
            ProblemKind::BadBody,
            format!("type is '{}'; send a FeatureCollection", fc.kind),
        ));
    }
    if fc.features.len() > ORIGINS_MAX {
        return Err(too_many(fc.features.len()));
    }
    let mut origins = Vec::with_capacity(fc.features.len());
    let mut labels = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.into_iter().enumerate() {
        let g = &f.geometry;
        if g["type"] != "Point" {
            return Err(bad_row(
                i,
                "geometry must be a Point with [lon, lat] coordinates",
            ));
        }
        let c = &g["coordinates"];
        // A GeoJSON position: [lon, lat] or [lon, lat, elevation] (the elevation is not used).
        let numbers = c
            .as_array()
            .filter(|a| (2..=3).contains(&a.len()) && a.iter().all(serde_json::Value::is_number));
        let (Some(lon), Some(lat)) = (
            numbers.and_then(|a| a[0].as_f64()),
            numbers.and_then(|a| a[1].as_f64()),
        ) else {
            return Err(bad_row(
                i,
                "coordinates must be [lon, lat] or [lon, lat, elevation] numbers",
            ));
        };
        origins
            .push(LonLat::from_numbers("coordinates", lon, lat, crs).map_err(|e| bad_row(i, e))?);
        labels.push(match f.id {
            Some(id @ (Value::String(_) | Value::Number(_))) => Label::Id(id),
            None => Label::Index(i),
            Some(_) => return Err(bad_row(i, "id must be a string or a number")),
        });
    }
    // Positions only: not stored ([`Batch::labels`]).
    if labels.iter().all(|l| matches!(l, Label::Index(_))) {
        labels = Vec::new();
    }
    Ok((origins, labels))
}

/// One CSV field: unquoted, or `"…"` with `""` for a quote. Borrowed unless a doubled quote
/// has to be undone, so 100,000 rows of plain numbers allocate nothing per field.
fn unquote(field: &str) -> std::borrow::Cow<'_, str> {
    let f = field.trim();
    match f.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) if inner.contains('"') => inner.replace("\"\"", "\"").into(),
        Some(inner) => inner.into(),
        None => f.into(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Bytes of CSV rows parsed per task: enough to amortise a task, small enough that both
/// cores share a 20,000-row body evenly.
const PARSE_PIECE_BYTES: usize = 32 << 10;

/// Whether a CSV header names the `id` column (`lon,lat,id`) or not (`lon,lat`).
fn csv_header(line: &str) -> Result<bool, ApiError> {
    let header: Vec<String> = line
        .split(',')
        .map(|h| unquote(h).to_ascii_lowercase())
        .collect();
    match header.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["lon", "lat"] => Ok(false),
        ["lon", "lat", "id"] => Ok(true),
        _ => Err(ApiError::new(
            ProblemKind::BadBody,
            format!(
                "the CSV header is '{}'; it must be lon,lat or lon,lat,id",
                header.join(",")
            ),
        )),
    }
}

/// Row `i` (0-based, blank lines not counted) of a CSV body: its origin, and its label when
/// the body has ids (else the origin is named by its position, [`Batch::labels`]).
fn csv_row(
    line: &str,
    i: usize,
    with_id: bool,
    crs: Crs,
) -> Result<(LonLat, Option<Label>), ApiError> {
    let mut parts = line.splitn(3, ',');
    let (lon, lat, rest) = (parts.next(), parts.next(), parts.next());
    let (Some(lon), Some(lat)) = (lon, lat) else {
        return Err(bad_row(i, format!("'{line}' needs lon,lat")));
    };
    let origin = LonLat::parse(&unquote(lon), &unquote(lat), crs).map_err(|e| bad_row(i, e))?;
    let label = match (with_id, rest) {
        (true, Some(id)) => Some(Label::Text(unquote(id).into_owned())),
        (true, None) => return Err(bad_row(i, format!("'{line}' needs lon,lat,id"))),
        (false, Some(_)) => {
            return Err(bad_row(i, format!("'{line}' has more than lon,lat")));
        }
        (false, None) => None,
    };
    Ok((origin, label))
}

/// A `lon,lat` row of two plain numbers (no quotes, spaces or third cell) that parse and are in
/// range: the origin [`csv_row`] gives it, without its field splitting and unquoting. `None`
/// for any other row, which [`csv_row`] then parses or names the error of.
fn plain_row(line: &str, crs: Crs) -> Option<LonLat> {
    let (lon, lat) = line.split_once(',')?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    };
    if !plain(lon) || !plain(lat) {
        return None;
    }
    LonLat::parse(lon, lat, crs).ok()
}

/// CSV with a `lon,lat` or `lon,lat,id` header (coordinates in `crs`).
///
/// The rows are parsed on every core, in pieces cut at line ends (issue 15: parsing a
/// 20,000-row body on one thread was an eighth of a batch's time, the other core idle).
/// A body with more lines than [`ORIGINS_MAX`] goes through [`parse_csv_rows`], which stops
/// at the limit instead of holding every row.
fn parse_csv(body: &[u8], crs: Crs) -> Result<(Vec<LonLat>, Vec<Label>), ApiError> {
    use rayon::prelude::*;
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::new(ProblemKind::BadBody, format!("the CSV is not UTF-8: {e}")))?;
    if text.bytes().filter(|&b| b == b'\n').count() >= ORIGINS_MAX {
        return parse_csv_rows(text, crs);
    }
    // The header is the first line that is not blank (lines as `str::lines` cuts them).
    let (mut header, mut rows) = ("", text);
    while !rows.is_empty() {
        let (line, tail) = rows.split_once('\n').unwrap_or((rows, ""));
        rows = tail;
        if !line.trim().is_empty() {
            header = line.strip_suffix('\r').unwrap_or(line);
            break;
        }
    }
    let with_id = csv_header(header)?;
    let mut pieces = Vec::with_capacity(rows.len() / PARSE_PIECE_BYTES + 1);
    while !rows.is_empty() {
        let cut = rows.as_bytes()[PARSE_PIECE_BYTES.min(rows.len())..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rows.len(), |i| PARSE_PIECE_BYTES + i + 1);
        let (piece, tail) = rows.split_at(cut);
        pieces.push(piece);
        rows = tail;
    }
    type Piece<'a> = Result<(Vec<LonLat>, Vec<Label>), (usize, &'a str)>;
    // Each piece's rows numbered within the piece, or its first bad row and that number.
    let parsed: Vec<Piece<'_>> = pieces
        .par_iter()
        .map(|piece| {
            let mut origins = Vec::with_capacity(piece.len() / 32);
            let mut labels = Vec::new();
            for (i, line) in piece.lines().filter(|l| !l.trim().is_empty()).enumerate() {
                if !with_id && let Some(origin) = plain_row(line, crs) {
                    origins.push(origin);
                    continue;
                }
                let (origin, label) = csv_row(line, i, with_id, crs).map_err(|_| (i, line))?;
                origins.push(origin);
                labels.extend(label);
            }
            Ok((origins, labels))
        })
        .collect();
    let total = parsed
        .iter()
        .map(|p| p.as_ref().map_or(0, |(o, _)| o.len()))
        .sum();
    let mut origins = Vec::with_capacity(total);
    let mut labels = Vec::with_capacity(if with_id { total } else { 0 });
    for piece in parsed {
        let first = origins.len();
        match piece {
            Ok((o, l)) => {
                origins.extend(o);
                labels.extend(l);
            }
            // The first bad row of the body: its error made again with its number in the body.
            Err((i, line)) => {
                return Err(csv_row(line, first + i, with_id, crs)
                    .err()
                    .unwrap_or_else(|| bad_row(first + i, "unreadable row")));
            }
        }
    }
    Ok((origins, labels))
}

/// [`parse_csv`] on one thread, row by row, stopping at the row past [`ORIGINS_MAX`].
fn parse_csv_rows(text: &str, crs: Crs) -> Result<(Vec<LonLat>, Vec<Label>), ApiError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let with_id = csv_header(lines.next().unwrap_or(""))?;
    // Rows are about 40 bytes: reserve once instead of doubling through 100,000 pushes.
    let rows_guess = (text.len() / 32).min(ORIGINS_MAX);
    let mut origins = Vec::with_capacity(rows_guess);
    let mut labels = Vec::with_capacity(if with_id { rows_guess } else { 0 });
    for (i, line) in lines.enumerate() {
        if i >= ORIGINS_MAX {
            return Err(too_many(i + 1 + text.lines().skip(i + 2).count()));
        }
        let (origin, label) = csv_row(line, i, with_id, crs)?;
        origins.push(origin);
        labels.extend(label);
    }
    Ok((origins, labels))
}

/// The CSV answer's columns, in the order of the default answer.
const COLUMNS: [&str; 11] = [
    "origin",
    "rank",
    "id",
    "name",
    "category",
    "lon",
    "lat",
    "distance_m",
    "walk_min",
    "walk_m",
    "error",
];

/// Index in [`COLUMNS`] of the first of the facility's own columns (id, name, category, lon,
/// lat), which [`FacilityCells`] holds.
const FACILITY_FIRST: usize = 2;

/// What a CSV row is written from, piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Origin,
    Rank,
    /// The facility's cells `first..=last` (0 = id … 4 = lat) with their commas: adjacent
    /// ones are one splice.
    Facility(u8, u8),
    DistanceM,
    WalkMin,
    WalkM,
    Error,
}

/// The CSV answer's columns: its header and how each row is written.
#[derive(Debug, Clone)]
struct CsvLayout {
    header: String,
    pieces: Vec<Piece>,
    /// Whether `distance_m` is asked for (the straight-line distance of every hit is then
    /// computed).
    distance: bool,
}

impl CsvLayout {
    /// `columns=a,b,…` (names of [`COLUMNS`], each at most once, in the order wanted); every
    /// column in the default order when absent.
    fn parse(columns: Option<&str>) -> Result<CsvLayout, ApiError> {
        let chosen: Vec<usize> = match columns {
            None => (0..COLUMNS.len()).collect(),
            Some(raw) => {
                let mut chosen = Vec::new();
                for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let Some(i) = COLUMNS.iter().position(|c| *c == name) else {
                        return Err(ApiError::bad_param(
                            "columns",
                            format!(
                                "unknown column '{name}'; CSV answers have {}",
                                COLUMNS.join(", ")
                            ),
                        ));
                    };
                    if chosen.contains(&i) {
                        return Err(ApiError::bad_param(
                            "columns",
                            format!("'{name}' is listed twice; name each column once"),
                        ));
                    }
                    chosen.push(i);
                }
                if chosen.is_empty() {
                    return Err(ApiError::bad_param(
                        "columns",
                        format!("name at least one of {}", COLUMNS.join(", ")),
                    ));
                }
                chosen
            }
        };
        let mut pieces: Vec<Piece> = Vec::with_capacity(chosen.len());
        for &i in &chosen {
            let piece = match i {
                0 => Piece::Origin,
                1 => Piece::Rank,
                2..=6 => {
                    let cell = (i - FACILITY_FIRST) as u8;
                    // The next cell of the facility right after the previous one: one splice.
                    if let Some(Piece::Facility(_, last)) = pieces.last_mut()
                        && *last + 1 == cell
                    {
                        *last = cell;
                        continue;
                    }
                    Piece::Facility(cell, cell)
                }
                7 => Piece::DistanceM,
                8 => Piece::WalkMin,
                9 => Piece::WalkM,
                _ => Piece::Error,
            };
            pieces.push(piece);
        }
        let mut header = chosen
            .iter()
            .map(|&i| COLUMNS[i])
            .collect::<Vec<_>>()
            .join(",");
        header.push('\n');
        Ok(CsvLayout {
            header,
            distance: pieces.contains(&Piece::DistanceM),
            pieces,
        })
    }
}

/// A facility's own CSV cells `id,name,category,lon,lat` (quoted as needed, coordinates in
/// the batch's `coords`) and where each starts.
#[derive(Debug)]
struct FacilityCells {
    text: Box<[u8]>,
    /// Cell `i` is `text[start[i]..start[i + 1] - 1]` (`start[5]` is one past the end).
    start: [u32; 6],
}

impl FacilityCells {
    fn new(f: &crate::model::FacilityRef<'_>, coords: Crs) -> FacilityCells {
        let mut text = Vec::with_capacity(64);
        let mut start = [0_u32; 6];
        let (lon, lat) = coords.from_wgs84(f.position.x(), f.position.y());
        for (i, s) in start.iter_mut().take(5).enumerate() {
            if i > 0 {
                text.push(b',');
            }
            *s = text.len() as u32;
            match i {
                0 => write_csv_field(&mut text, f.id),
                1 => write_csv_field(&mut text, f.name),
                2 => write_csv_field(&mut text, f.category),
                3 => write_rounded(&mut text, lon, 7),
                _ => write_rounded(&mut text, lat, 7),
            }
        }
        start[5] = text.len() as u32 + 1;
        // Padding, so that every span can be copied as a fixed block ([`append_short`]).
        text.resize(text.len() + PAD, 0);
        FacilityCells {
            text: text.into_boxed_slice(),
            start,
        }
    }

    /// Cells `first..=last` with the commas between them, as a [`Short`] (the text after
    /// them is more cells or padding).
    fn span_short(&self, first: u8, last: u8) -> Short<'_> {
        let a = self.start[usize::from(first)] as usize;
        let z = self.start[usize::from(last) + 1] as usize - 1;
        Short {
            padded: self.text.get(a..).unwrap_or_default(),
            len: z.saturating_sub(a),
        }
    }
}

/// A CSV cell `padded[..len]` whose slice may run on past its end ([`append_short`]).
#[derive(Debug, Clone, Copy)]
struct Short<'a> {
    padded: &'a [u8],
    len: usize,
}

impl<'a> Short<'a> {
    /// A cell with nothing readable after it.
    fn exact(cell: &'a [u8]) -> Short<'a> {
        Short {
            padded: cell,
            len: cell.len(),
        }
    }

    fn append_to(self, out: &mut Vec<u8>) {
        append_short(out, self.padded, self.len);
    }
}

/// One row of a CSV answer: a facility found for an origin, or the origin's error.
enum Row<'a> {
    Hit {
        /// 1-based.
        rank: usize,
        cells: &'a FacilityCells,
        /// Only read when the layout has `distance_m`.
        distance_m: f64,
        /// Walk mode: (seconds, metres) walked.
        walk: Option<(f64, f64)>,
    },
    Error(&'a str),
}

/// Write `row` of the origin labelled `label` (its CSV cell) as `layout` says.
fn write_row(layout: &CsvLayout, label: Short<'_>, row: &Row<'_>, out: &mut Vec<u8>) {
    for (i, piece) in layout.pieces.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match (piece, row) {
            (Piece::Origin, _) => label.append_to(out),
            (Piece::Rank, Row::Hit { rank, .. }) => {
                out.extend_from_slice(itoa::Buffer::new().format(*rank).as_bytes());
            }
            (Piece::Facility(a, z), Row::Hit { cells, .. }) => {
                cells.span_short(*a, *z).append_to(out);
            }
            // The empty cells keep their commas.
            (Piece::Facility(a, z), Row::Error(_)) => {
                out.extend(std::iter::repeat_n(b',', usize::from(z - a)));
            }
            (Piece::DistanceM, Row::Hit { distance_m, .. }) => {
                write_rounded(out, *distance_m, 2);
            }
            (
                Piece::WalkMin,
                Row::Hit {
                    walk: Some((walk_s, _)),
                    ..
                },
            ) => write_rounded(out, walk_s / 60.0, 6),
            (
                Piece::WalkM,
                Row::Hit {
                    walk: Some((_, walk_m)),
                    ..
                },
            ) => write_rounded(out, *walk_m, 2),
            (Piece::Error, Row::Error(detail)) => write_csv_field(out, detail),
            _ => {}
        }
    }
    out.push(b'\n');
}

/// Render the answers of origins `first..` into `out`; `any` says whether a GeoJSON feature
/// was already written (for the separating comma).
fn render_chunk(
    svc: &Service,
    b: &Batch,
    first: usize,
    answers: &[Result<NearestAnswer, QueryError>],
    any: &mut bool,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let facilities = svc.indexes.facilities();
    for (j, answer) in answers.iter().enumerate() {
        let label = &*b.label(first + j);
        match (b.format, answer) {
            (Format::GeoJson, Ok(a)) => {
                write_hits(svc, &b.params, a, Some(label.extra()), any, out)?;
            }
            (Format::GeoJson, Err(e)) => {
                if std::mem::replace(any, true) {
                    out.push(b',');
                }
                let detail = query_problem(clone_error(e), b.params.coords).detail;
                out.extend_from_slice(
                    br#"{"type":"Feature","geometry":null,"properties":{"origin":"#,
                );
                serde_json::to_writer(&mut *out, &label.extra_value())
                    .map_err(ApiError::internal)?;
                out.extend_from_slice(br#","error":"#);
                serde_json::to_writer(&mut *out, &detail).map_err(ApiError::internal)?;
                out.extend_from_slice(b"}}");
            }
            (Format::Csv, Ok(a)) => {
                let mut label_cell = Vec::new();
                label.write_csv(&mut label_cell);
                for (rank, h) in a.hits.iter().enumerate() {
                    let row = Row::Hit {
                        rank: rank + 1,
                        cells: b.facility_cells(facilities, h.facility.index())?,
                        distance_m: h.distance_m,
                        walk: h.walk.as_ref().map(|w| (w.walk_s, w.walk_m)),
                    };
                    write_row(&b.layout, Short::exact(&label_cell), &row, out);
                }
            }
            (Format::Csv, Err(e)) => {
                let detail = query_problem(clone_error(e), b.params.coords).detail;
                let mut label_cell = Vec::new();
                label.write_csv(&mut label_cell);
                write_row(
                    &b.layout,
                    Short::exact(&label_cell),
                    &Row::Error(&detail),
                    out,
                );
            }
        }
    }
    Ok(())
}

/// Origins rendered by one task of [`csv_walk_chunk`]: enough to amortise the task, few
/// enough that both cores share a chunk evenly.
const CSV_TASK: usize = 64;

/// CSV answers of walking origins `a..z`, rendered straight from each origin's hits on every
/// core (per-thread searcher and table scratch, one output buffer per task): the rows
/// [`render_chunk`] writes from [`NearestAnswer`]s, without building those (a per-origin
/// answer with its category list and row strings was most of a table-answered batch).
/// `None` for other formats and modes.
fn csv_walk_chunk(
    svc: &Service,
    b: &Batch,
    a: usize,
    z: usize,
) -> Option<Result<Vec<Bytes>, ApiError>> {
    use rayon::prelude::*;
    let NearestMode::Walk(w) = b.params.req.mode else {
        return None;
    };
    if b.format != Format::Csv {
        return None;
    }
    let world = svc.walk.as_deref()?;
    let template = &b.params.req;
    let tags = svc.walk_tags(template);
    let tables = b.walk_tables(svc);
    let parts: Vec<Result<Vec<u8>, ApiError>> = (a..z)
        .step_by(CSV_TASK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|from| {
            let to = (from + CSV_TASK).min(z);
            let mut out = Vec::with_capacity(CSV_TASK * 5 * 96);
            crate::query::with_walk_scratch(|searcher, table| {
                let mut hits = Vec::with_capacity(template.k.get());
                for i in from..to {
                    let at = b.origins[i];
                    let req = crate::query::NearestRequest {
                        at,
                        categories: None,
                        ..*template
                    };
                    let label = &*b.label(i);
                    match svc.walk_hits(
                        world,
                        &req,
                        w,
                        tags.as_deref(),
                        tables.as_deref(),
                        searcher,
                        table,
                        &mut hits,
                    ) {
                        Ok(_) => write_csv_rows(b, world, at, label, &hits, &mut out)?,
                        Err(e) => {
                            let detail = query_problem(e, b.params.coords).detail;
                            let mut label_cell = Vec::new();
                            label.write_csv(&mut label_cell);
                            write_row(
                                &b.layout,
                                Short::exact(&label_cell),
                                &Row::Error(&detail),
                                &mut out,
                            );
                        }
                    }
                }
                Ok(out)
            })
        })
        .collect();
    Some(frames(parts))
}

/// Body frames of about this many bytes: a chunked frame costs every client a header to
/// parse and often a buffer operation (issue 15: the peer benchmark's Python client spent
/// more time on the 344 frames of a 20,000-origin answer, one per 64-origin task, than on
/// their bytes), while one frame of megabytes makes clients that grow a buffer per read
/// copy it over and over.
const FRAME_BYTES: usize = 128 << 10;

/// The task buffers of a chunk glued into frames of at least [`FRAME_BYTES`] (the last one
/// shorter); the first error instead, if a task failed. Copying the bytes once more here
/// (~0.1 ms a request) is cheaper than the frames it saves.
fn frames(parts: Vec<Result<Vec<u8>, ApiError>>) -> Result<Vec<Bytes>, ApiError> {
    let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        // Parts `i..j` make the next frame.
        let (mut j, mut len) = (i, 0);
        while j < parts.len() && len < FRAME_BYTES {
            len += parts[j].len();
            j += 1;
        }
        let mut frame = Vec::with_capacity(len);
        for p in &parts[i..j] {
            frame.extend_from_slice(p);
        }
        out.push(Bytes::from(frame));
        i = j;
    }
    Ok(out)
}

/// The CSV rows of one walking origin's hits, as [`render_chunk`] writes them (the same
/// bytes: `tests/nearest_batch.rs` compares the two paths).
fn write_csv_rows(
    b: &Batch,
    world: &crate::analysis::WalkWorld,
    at: LonLat,
    label: &Label,
    hits: &[crate::walk::Nearest],
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let origin = geo::Point::new(at.lon, at.lat);
    // The label written once per origin, with room for [`append_short`]'s block.
    let mut label_bytes = [0_u8; 24 + PAD];
    let mut label_text = Vec::new();
    let label_cell = if let Label::Index(i) = label {
        let mut buf = itoa::Buffer::new();
        let s = buf.format(*i).as_bytes();
        label_bytes[..s.len()].copy_from_slice(s);
        Short {
            padded: &label_bytes,
            len: s.len(),
        }
    } else {
        label.write_csv(&mut label_text);
        Short::exact(&label_text)
    };

    for (rank, h) in hits.iter().enumerate() {
        let cells = b.facility_cells(&world.facilities, h.target)?;
        // The straight-line distance only when asked for: one WGS84 distance a row.
        let distance_m = if b.layout.distance {
            world
                .facilities
                .at(h.target)
                .map_or(f64::NAN, |f| crate::index::distance_m(origin, f.position))
        } else {
            f64::NAN
        };
        let row = Row::Hit {
            rank: rank + 1,
            cells,
            distance_m,
            walk: Some((h.walk_s, h.walk_m)),
        };
        write_row(&b.layout, label_cell, &row, out);
    }
    Ok(())
}

impl Batch {
    /// The CSV cells of facility `i` (made on its first hit).
    fn facility_cells(
        &self,
        facilities: &Facilities,
        i: usize,
    ) -> Result<&FacilityCells, ApiError> {
        // Made already (every hit but a facility's first): no facility record to read.
        if let Some(cells) = self.csv_facility.get(i).and_then(std::sync::OnceLock::get) {
            return Ok(cells);
        }
        let (Some(cell), Some(f)) = (self.csv_facility.get(i), facilities.at(i)) else {
            return Err(ApiError::internal(format!(
                "facility index {i} out of range"
            )));
        };
        Ok(cell.get_or_init(|| FacilityCells::new(&f, self.params.coords)))
    }
}

/// Powers of ten for [`write_rounded`].
const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Write `v` rounded to `decimals` places (at most 7) exactly as `{}` prints
/// `(v * 10^decimals).round() / 10^decimals` (the form of [`cm`], `round7` and the minutes),
/// from the digits of the rounded integer instead of the float formatter (issue 15: float
/// formatting was a large part of the batch's CSV). The rounded integer `n` is exact, and the
/// quotient is the float nearest `n / 10^decimals`; while `|n| < 2^52` floats are closer
/// together than `10^-decimals`, so no other decimal of at most `decimals` places (nor any
/// shorter one) reads back as that float, and the shortest round-trip form `{}` prints is
/// `n / 10^decimals` written out. Zero (whose sign `{}` keeps) and larger values go through
/// `{}` itself. `tests` below checks it against `{}` on random and edge values.
fn write_rounded(out: &mut Vec<u8>, v: f64, decimals: usize) {
    let scale = POW10[decimals] as f64;
    let x = v * scale;
    // `x.round()` (half away from zero) without libm's `round` call (a batch rounds a number
    // per row): for `0 ≤ a < 2^52` the truncation `t` is exact, `a - t` (the fraction) is
    // exact, and `t + 1` is the rounded value exactly when that fraction is at least one half.
    let a = x.abs();
    let m = if a < 4.0e15 {
        let t = a as u64;
        t + u64::from(a - t as f64 >= 0.5)
    } else {
        0
    };
    if m == 0 || m >= 4_000_000_000_000_000 {
        use std::io::Write as _;
        let _ = write!(out, "{}", x.round() / scale);
        return;
    }
    // The number of places as a constant, so the divisions by 10^places are multiplications.
    let negative = x < 0.0;
    match decimals {
        2 => write_scaled::<2>(out, m, negative),
        6 => write_scaled::<6>(out, m, negative),
        7 => write_scaled::<7>(out, m, negative),
        0 => write_scaled::<0>(out, m, negative),
        1 => write_scaled::<1>(out, m, negative),
        3 => write_scaled::<3>(out, m, negative),
        4 => write_scaled::<4>(out, m, negative),
        _ => write_scaled::<5>(out, m, negative),
    }
}

/// `m / 10^D` written out with at most `D` places, trailing zeros dropped (`m > 0`,
/// `m < 4e15`): digits two at a time from a table, right to left into a buffer, then one
/// fixed-size copy ([`append_short`]) instead of a copy per digit group.
fn write_scaled<const D: usize>(out: &mut Vec<u8>, m: u64, negative: bool) {
    const END: usize = 32;
    // At most 16 integer digits, the point, 7 places and a sign end at END; the PAD bytes
    // after END are copied along and cut off.
    let mut buf = [b'0'; END + PAD];
    let (mut int, mut frac) = (m / POW10[D], m % POW10[D]);
    let mut at = END;
    let mut stop = END;
    if frac != 0 {
        let mut places = D;
        while places >= 2 {
            let p = (frac % 100) as usize * 2;
            frac /= 100;
            at -= 2;
            buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
            places -= 2;
        }
        if places == 1 {
            at -= 1;
            buf[at] = b'0' + frac as u8;
        }
        // A nonzero fraction has a nonzero digit, so this stops there.
        while buf[stop - 1] == b'0' {
            stop -= 1;
        }
        at -= 1;
        buf[at] = b'.';
    }
    while int >= 100 {
        let p = (int % 100) as usize * 2;
        int /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
    }
    if int >= 10 {
        let p = int as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + int as u8;
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    append_short(out, &buf[at..], stop - at);
}

/// Bytes readable past a short cell's end, so that [`append_short`] copies a fixed block.
const PAD: usize = 32;

/// Append `padded[..len]`. When `len ≤ PAD` and `padded` holds `PAD` bytes, the whole block
/// is copied (a couple of vector moves) and the surplus cut off: a row is a few short cells,
/// and a `memcpy` call for each was a visible part of writing a batch (issue 15).
#[inline]
fn append_short(out: &mut Vec<u8>, padded: &[u8], len: usize) {
    match padded.get(..PAD) {
        Some(block) if len <= PAD => {
            let end = out.len() + len;
            out.extend_from_slice(block);
            out.truncate(end);
        }
        _ => out.extend_from_slice(padded.get(..len).unwrap_or(padded)),
    }
}

/// [`csv_field`] written into `out`.
fn write_csv_field(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.extend_from_slice(csv_field(s).as_bytes());
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

impl Label {
    /// [`Label::csv`] written into `out`.
    fn write_csv(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        match self {
            Label::Index(i) => {
                let _ = write!(out, "{i}");
            }
            Label::Id(Value::String(s)) | Label::Text(s) => write_csv_field(out, s),
            Label::Id(v) => write_csv_field(out, &v.to_string()),
        }
    }

    fn extra_value(&self) -> Value {
        match self {
            Label::Index(i) => Value::from(*i),
            Label::Id(v) => v.clone(),
            Label::Text(s) => Value::String(s.clone()),
        }
    }
}

/// A per-origin error, re-made to be rendered (the problem takes it by value).
fn clone_error(e: &QueryError) -> QueryError {
    match e {
        QueryError::OffNetwork {
            what,
            error,
            profile,
        } => QueryError::OffNetwork {
            what: what.clone(),
            error: error.clone(),
            profile: *profile,
        },
        QueryError::OutsideArea { at } => QueryError::OutsideArea { at: *at },
        other => QueryError::Internal(other.to_string()),
    }
}

/// The `query` member of a GeoJSON answer: the options used and the number of origins.
fn options_json(svc: &Service, b: &Batch) -> Value {
    let req = &b.params.req;
    let categories: Vec<String> = match &req.categories {
        Some(cs) => cs.iter().map(|c| c.as_str().to_string()).collect(),
        None => svc.category_ids(),
    };
    let mut q = serde_json::json!({
        "coords": b.params.coords.as_str(),
        "categories": categories,
        "k": req.k.get(),
        "max_m": req.max_m,
        "mode": req.mode.as_str(),
    });
    if let Some(m) = q.as_object_mut() {
        if let NearestMode::Walk(w) = req.mode {
            m.insert("profile".into(), w.profile.as_str().into());
            m.insert("max_min".into(), w.max_min.into());
            m.insert("route".into(), w.route.into());
            m.insert("max_snap_m".into(), w.max_snap_m.into());
        }
        if let Some((_, names)) = &b.params.properties {
            m.insert("properties".into(), names.clone().into());
        }
        if b.params.skip_geometry {
            m.insert("skipGeometry".into(), true.into());
        }
        m.insert("origins".into(), b.origins.len().into());
    }
    q
}

/// The bytes before the first chunk.
fn head(svc: &Service, b: &Batch) -> Result<Vec<u8>, ApiError> {
    match b.format {
        Format::Csv => Ok(b.layout.header.as_bytes().to_vec()),
        Format::GeoJson => {
            let mut out = br#"{"type":"FeatureCollection","query":"#.to_vec();
            serde_json::to_writer(&mut out, &options_json(svc, b)).map_err(ApiError::internal)?;
            out.extend_from_slice(br#","features":["#);
            Ok(out)
        }
    }
}

/// `POST /nearest/batch`.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    svc: Snap,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match content_type.as_str() {
        "text/csv" => Format::Csv,
        "application/geo+json" | "application/json" => Format::GeoJson,
        other => {
            return Err(ApiError::new(
                ProblemKind::BadBody,
                format!(
                    "Content-Type '{other}' is not accepted; send application/geo+json (a FeatureCollection of Points) or text/csv (lon,lat[,id] header)"
                ),
            ));
        }
    };
    let (params, columns) = parse_options(req.query_string(), &svc)?;
    let layout = CsvLayout::parse(columns.as_deref())?;
    if format == Format::GeoJson && columns.is_some() {
        return Err(ApiError::bad_param(
            "columns",
            "applies to CSV bodies only; GeoJSON answers choose facility properties with 'properties'",
        ));
    }
    if format == Format::Csv {
        if params.properties.is_some() {
            return Err(ApiError::bad_param(
                "properties",
                "applies to GeoJSON bodies only; CSV answers have fixed columns",
            ));
        }
        if params.skip_geometry {
            return Err(ApiError::bad_param(
                "skipGeometry",
                "applies to GeoJSON bodies only; CSV answers have lon and lat columns, not geometries",
            ));
        }
        if matches!(params.req.mode, NearestMode::Walk(w) if w.route) {
            return Err(ApiError::bad_param(
                "route",
                "applies to GeoJSON bodies only; CSV has no geometry column",
            ));
        }
    }
    svc.nearest_checks(&params.req)
        .map_err(|e| query_problem(e, params.coords))?;
    let advice = format!("split the batch (at most {ORIGINS_MAX} origins)");
    let bytes = super::params::body_limited(payload, BODY_MAX_BYTES, &advice).await?;
    // Parsing 100,000 origins takes tens of milliseconds: off the event loop, like the work.
    let coords = params.coords;
    let (origins, labels) = exec::offload(move |_| match format {
        Format::GeoJson => parse_geojson(&bytes, coords),
        Format::Csv => parse_csv(&bytes, coords),
    })
    .await
    .map_err(|e| query_problem(e, coords))??;
    let csv_facility = match format {
        Format::Csv => (0..svc.indexes.facilities().len())
            .map(|_| std::sync::OnceLock::new())
            .collect(),
        Format::GeoJson => Vec::new(),
    };
    let batch = Arc::new(Batch {
        format,
        params,
        origins,
        labels,
        layout,
        csv_facility,
        walk_tables: std::sync::OnceLock::new(),
    });
    let first = head(&svc, &batch)?;
    let batch_format = batch.format;
    let svc = svc.into_inner();
    use futures_util::StreamExt as _;
    let chunks = batch.origins.len().div_ceil(CHUNK);
    // Every chunk is computed as if it came first (GeoJSON: no separating comma before its
    // first feature); the comma is added when it is sent, if a feature went before. So
    // chunks do not wait for each other: the next one is computed on the worker pool while
    // the current one is written to the socket (`buffered`), instead of computing and
    // sending in turn.
    let jobs = futures_util::stream::iter(0..chunks)
        .map(move |next| {
            let (svc, batch) = (Arc::clone(&svc), Arc::clone(&batch));
            let (a, z) = (next * CHUNK, ((next + 1) * CHUNK).min(batch.origins.len()));
            exec::offload(move |_| {
                if let Some(parts) = csv_walk_chunk(&svc, &batch, a, z) {
                    return parts.map(|p| (p, false));
                }
                let answers = svc
                    .nearest_many(
                        &batch.origins[a..z],
                        &batch.params.req,
                        batch.walk_tables(&svc).as_deref(),
                    )
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                let mut out = Vec::with_capacity(256 * (z - a));
                let mut any = false;
                render_chunk(&svc, &batch, a, &answers, &mut any, &mut out)?;
                Ok::<_, ApiError>((vec![Bytes::from(out)], any))
            })
        })
        .buffered(PREFETCH_CHUNKS);
    // State: whether a feature was written, whether the stream failed.
    let body = jobs
        .scan((false, false), |(any, failed), job| {
            let item = if *failed {
                None
            } else {
                let items: Vec<Result<Bytes, ApiError>> = match job {
                    Ok(Ok((mut parts, wrote))) => {
                        if wrote && std::mem::replace(any, true) {
                            parts.insert(0, Bytes::from_static(b","));
                        }
                        parts.into_iter().map(Ok).collect()
                    }
                    // The status is sent; ending the stream with an error aborts the body,
                    // so the client sees a truncated answer, never a wrong one.
                    Ok(Err(e)) => {
                        *failed = true;
                        vec![Err(e)]
                    }
                    Err(e) => {
                        *failed = true;
                        vec![Err(ApiError::internal(e.to_string()))]
                    }
                };
                Some(futures_util::stream::iter(items))
            };
            std::future::ready(item)
        })
        .flatten();
    let tail: &'static [u8] = match batch_format {
        Format::Csv => b"",
        Format::GeoJson => b"]}",
    };
    let content_type = match format {
        Format::Csv => CSV,
        Format::GeoJson => GEO_JSON,
    };
    let head_stream =
        futures_util::stream::once(async move { Ok::<_, ApiError>(Bytes::from(first)) });
    let tail_stream = futures_util::stream::once(async move { Ok(Bytes::from_static(tail)) });
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .streaming(head_stream.chain(body).chain(tail_stream)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CSV parsed in pieces on every core equals the row-by-row parse on a body of many
    /// pieces (blank lines, CRLF, ids), and a bad row far into it is named by its number in
    /// the body.
    #[test]
    fn csv_parsed_in_pieces_equals_row_by_row() {
        let crs = Crs::default();
        for with_id in [false, true] {
            let mut body = String::from(if with_id {
                "\r\nlon,lat,id\r\n"
            } else {
                "lon,lat\n"
            });
            for i in 0..6000 {
                let (lon, lat) = (106.5 + f64::from(i) * 1e-5, 29.5 - f64::from(i) * 1e-5);
                if with_id {
                    body.push_str(&format!("{lon},{lat},\"o{i}\"\r\n"));
                } else {
                    body.push_str(&format!("{lon},{lat}\n"));
                }
                if i % 1000 == 7 {
                    body.push_str("  \n");
                }
            }
            assert!(body.len() > 3 * PARSE_PIECE_BYTES, "{} bytes", body.len());
            let (o1, l1) = parse_csv(body.as_bytes(), crs).expect("parses");
            let (o2, l2) = parse_csv_rows(&body, crs).expect("parses");
            assert_eq!(o1.len(), 6000);
            assert_eq!(o1, o2);
            assert_eq!(format!("{l1:?}"), format!("{l2:?}"));
            let bad = body.replacen("106.5399", "x106.5399", 1);
            let row = (0..6000)
                .position(|i| format!("{}", 106.5 + f64::from(i) * 1e-5).starts_with("106.5399"))
                .expect("a row with that longitude");
            let e = parse_csv(bad.as_bytes(), crs).expect_err("bad row");
            assert!(e.detail.contains(&format!("origin {row}:")), "{}", e.detail);
        }
    }

    /// [`frames`] keeps every byte in order, makes frames of at least [`FRAME_BYTES`] but
    /// the last, and fails with a task's error.
    #[test]
    fn frames_glue_parts_in_order() {
        let parts: Vec<Vec<u8>> = (0..100_u32)
            .map(|i| vec![(i % 251) as u8; 1000 + (i as usize * 397) % 9000])
            .collect();
        let want: Vec<u8> = parts.concat();
        let got = frames(parts.into_iter().map(Ok).collect()).expect("no error");
        assert!(got.len() > 1);
        for f in &got[..got.len() - 1] {
            assert!(f.len() >= FRAME_BYTES && f.len() < FRAME_BYTES + 10_000);
        }
        assert_eq!(got.concat(), want);
        assert!(frames(Vec::new()).expect("empty").is_empty());
        let failed = frames(vec![
            Ok(vec![1]),
            Err(ApiError::internal("task")),
            Ok(vec![2]),
        ]);
        assert!(failed.is_err());
    }

    /// [`write_rounded`] prints what `{}` prints of the rounded float, on random values of
    /// every magnitude the batch writes and on the edges (ties at .5, zero of either sign,
    /// values just under a power of ten, huge and non-finite values).
    #[test]
    fn write_rounded_equals_display() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        let mut values: Vec<f64> = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            0.004,
            0.005,
            0.015,
            1.0,
            9.999_999_95,
            99.995,
            1e-9,
            -1e-9,
            1e15,
            4.1e13,
            1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            106.123_456_75,
            29.499_999_95,
            -179.999_999_99,
            123_456.785,
        ];
        for _ in 0..200_000 {
            let magnitude = 10_f64.powi(rng.random_range(-6..9));
            values.push(rng.random_range(-1.0..1.0) * magnitude);
        }
        for _ in 0..50_000 {
            // Exactly on the rounding ties of each number of places.
            let n = f64::from(rng.random_range(-2_000_000_i32..2_000_000));
            values.push((n + 0.5) / 100.0);
            values.push((n + 0.5) / 1e6);
            values.push((n + 0.5) / 1e7 + 106.0);
        }
        for v in values {
            for decimals in [2, 6, 7] {
                let scale = POW10[decimals] as f64;
                let mut out = Vec::new();
                write_rounded(&mut out, v, decimals);
                let want = format!("{}", (v * scale).round() / scale);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    want,
                    "{v:e} to {decimals} places"
                );
            }
        }
    }
}
