//! Streaming readers for OSM files: PBF (`osmpbf`, blobs decoded in parallel) and XML
//! (`quick-xml`). Both feed the same [`Visitor`], so every pass of the importer is written
//! once and the two formats give identical results.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal as _, Read};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use osmpbf::{BlobDecode, BlobReader, Element, RelMemberType};
use quick_xml::events::{BytesStart, Event};
use rayon::prelude::*;

use super::ImportError;

/// The two encodings of OSM data the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pbf,
    Xml,
}

impl Format {
    /// Guess the format from the file name: `.pbf` is PBF, `.osm` / `.xml` is XML.
    // The name is lower-cased first, so the comparisons are case-insensitive.
    #[allow(clippy::case_sensitive_file_extension_comparisons)]
    pub fn from_path(path: &Path) -> Result<Format, ImportError> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name.ends_with(".pbf") {
            Ok(Format::Pbf)
        } else if name.ends_with(".osm") || name.ends_with(".xml") {
            Ok(Format::Xml)
        } else {
            Err(ImportError::UnknownFormat(path.to_path_buf()))
        }
    }
}

/// What kind of element a relation member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    Node,
    Way,
    Relation,
}

/// A relation member as the visitor sees it.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub kind: MemberKind,
    pub id: i64,
    pub role: &'a str,
}

/// Which element types a pass looks at; the PBF reader skips building tag lists for the rest.
#[derive(Debug, Clone, Copy)]
pub struct Wants {
    pub nodes: bool,
    pub ways: bool,
    pub relations: bool,
}

/// One pass over the file. PBF blocks are visited by fresh visitors on several threads and the
/// results merged, so a visitor's result must not depend on the order of elements or merges.
pub trait Visitor: Send + Sized {
    fn wants(&self) -> Wants;
    /// A node; coordinates in units of 1e-7 degrees, as PBF stores them.
    fn node(&mut self, _id: i64, _lat_e7: i32, _lon_e7: i32, _tags: &[(&str, &str)]) {}
    fn way(&mut self, _id: i64, _refs: &[i64], _tags: &[(&str, &str)]) {}
    fn relation(&mut self, _id: i64, _members: &[Member<'_>], _tags: &[(&str, &str)]) {}
    fn merge(&mut self, other: Self);
}

/// The value of tag `key`, if the element has it.
#[must_use]
pub fn tag<'a>(tags: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn progress_bar(len_bytes: u64, label: &str, show: bool) -> ProgressBar {
    // A bar on a pipe or a log file is noise: draw it only on a terminal.
    if !show || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len_bytes);
    let style = ProgressStyle::with_template("{msg:>24} [{bar:40}] {bytes}/{total_bytes} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(label.to_string());
    pb
}

/// Run one pass of `make()`'s visitor over the file and return the merged visitor.
pub fn scan<V: Visitor>(
    path: &Path,
    format: Format,
    label: &str,
    show_progress: bool,
    make: impl Fn() -> V + Sync + Send,
) -> Result<V, ImportError> {
    let io_err = |e: std::io::Error| ImportError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let file = File::open(path).map_err(io_err)?;
    let len_bytes = file.metadata().map_err(io_err)?.len();
    let pb = progress_bar(len_bytes, label, show_progress);
    let reader = BufReader::with_capacity(1 << 20, pb.wrap_read(file));
    let out = match format {
        Format::Pbf => scan_pbf(path, reader, &make),
        Format::Xml => {
            let mut v = make();
            scan_xml(path, reader, &mut v)?;
            Ok(v)
        }
    };
    pb.finish_and_clear();
    out
}

fn scan_pbf<V: Visitor, R: Read + Send>(
    path: &Path,
    reader: R,
    make: &(impl Fn() -> V + Sync + Send),
) -> Result<V, ImportError> {
    let pbf_err = |e: osmpbf::Error| ImportError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    BlobReader::new(reader)
        .par_bridge()
        .map(|blob| {
            let mut v = make();
            if let BlobDecode::OsmData(block) = blob.map_err(pbf_err)?.decode().map_err(pbf_err)? {
                let wants = v.wants();
                let mut refs: Vec<i64> = Vec::new();
                let mut bad: Option<osmpbf::Error> = None;
                block.for_each_element(|e| match e {
                    Element::Node(n) if wants.nodes => {
                        let tags: Vec<(&str, &str)> = n.tags().collect();
                        v.node(n.id(), n.decimicro_lat(), n.decimicro_lon(), &tags);
                    }
                    Element::DenseNode(n) if wants.nodes => {
                        let tags: Vec<(&str, &str)> = n.tags().collect();
                        v.node(n.id(), n.decimicro_lat(), n.decimicro_lon(), &tags);
                    }
                    Element::Way(w) if wants.ways => {
                        let tags: Vec<(&str, &str)> = w.tags().collect();
                        refs.clear();
                        refs.extend(w.refs());
                        v.way(w.id(), &refs, &tags);
                    }
                    Element::Relation(r) if wants.relations => {
                        let tags: Vec<(&str, &str)> = r.tags().collect();
                        let mut members: Vec<(MemberKind, i64, &str)> = Vec::new();
                        for m in r.members() {
                            let kind = match m.member_type {
                                RelMemberType::Node => MemberKind::Node,
                                RelMemberType::Way => MemberKind::Way,
                                RelMemberType::Relation => MemberKind::Relation,
                            };
                            match m.role() {
                                Ok(role) => members.push((kind, m.member_id, role)),
                                Err(e) => bad = Some(e),
                            }
                        }
                        let view: Vec<Member<'_>> = members
                            .iter()
                            .map(|&(kind, id, role)| Member { kind, id, role })
                            .collect();
                        v.relation(r.id(), &view, &tags);
                    }
                    _ => {}
                });
                if let Some(e) = bad {
                    return Err(pbf_err(e));
                }
            }
            Ok(v)
        })
        .try_reduce(make, |mut a, b| {
            a.merge(b);
            Ok(a)
        })
}

/// An element of the XML file, owned while its child `<tag>`, `<nd>` and `<member>` elements
/// are read.
#[derive(Default)]
struct XmlElement {
    kind: Option<MemberKind>,
    id: i64,
    lat_e7: i32,
    lon_e7: i32,
    tags: Vec<(String, String)>,
    refs: Vec<i64>,
    members: Vec<(MemberKind, i64, String)>,
}

impl XmlElement {
    fn emit<V: Visitor>(&mut self, v: &mut V) {
        let tags: Vec<(&str, &str)> = self
            .tags
            .iter()
            .map(|(k, val)| (k.as_str(), val.as_str()))
            .collect();
        match self.kind {
            Some(MemberKind::Node) => v.node(self.id, self.lat_e7, self.lon_e7, &tags),
            Some(MemberKind::Way) => v.way(self.id, &self.refs, &tags),
            Some(MemberKind::Relation) => {
                let view: Vec<Member<'_>> = self
                    .members
                    .iter()
                    .map(|(kind, id, role)| Member {
                        kind: *kind,
                        id: *id,
                        role,
                    })
                    .collect();
                v.relation(self.id, &view, &tags);
            }
            None => {}
        }
        self.kind = None;
        self.tags.clear();
        self.refs.clear();
        self.members.clear();
    }
}

/// Degrees as written in OSM XML to 1e-7 degree units (rounded, as osmium does).
fn parse_e7(s: &str) -> Option<i32> {
    let deg: f64 = s.trim().parse().ok()?;
    let e7 = (deg * 1e7).round();
    (e7.abs() <= 1_800_000_000.0).then_some(e7 as i32)
}

fn scan_xml<V: Visitor, R: BufRead>(path: &Path, reader: R, v: &mut V) -> Result<(), ImportError> {
    let parse_err = |message: String| ImportError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let mut xml = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    let mut cur = XmlElement::default();
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| parse_err(format!("at byte {}: {e}", xml.buffer_position())))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let attrs = attributes(e)
                    .map_err(|m| parse_err(format!("at byte {}: {m}", xml.buffer_position())))?;
                let get = |k: &str| {
                    attrs
                        .iter()
                        .find(|(ak, _)| ak == k)
                        .map(|(_, val)| val.as_str())
                };
                let num = |k: &str| -> Result<i64, ImportError> {
                    get(k).and_then(|s| s.parse().ok()).ok_or_else(|| {
                        parse_err(format!("<{}> without a numeric '{k}'", name_of(e)))
                    })
                };
                match e.name().as_ref() {
                    "node" | "way" | "relation" => {
                        cur.kind = Some(match e.name().as_ref() {
                            "node" => MemberKind::Node,
                            "way" => MemberKind::Way,
                            _ => MemberKind::Relation,
                        });
                        cur.id = num("id")?;
                        if cur.kind == Some(MemberKind::Node) {
                            // Deleted or invisible nodes in change files have no position.
                            cur.lat_e7 = get("lat").and_then(parse_e7).unwrap_or(0);
                            cur.lon_e7 = get("lon").and_then(parse_e7).unwrap_or(0);
                        }
                        if empty {
                            cur.emit(v);
                        }
                    }
                    "tag" if cur.kind.is_some() => {
                        if let (Some(k), Some(val)) = (get("k"), get("v")) {
                            cur.tags.push((k.to_string(), val.to_string()));
                        }
                    }
                    "nd" if cur.kind == Some(MemberKind::Way) => cur.refs.push(num("ref")?),
                    "member" if cur.kind == Some(MemberKind::Relation) => {
                        let kind = match get("type") {
                            Some("node") => MemberKind::Node,
                            Some("way") => MemberKind::Way,
                            _ => MemberKind::Relation,
                        };
                        cur.members.push((
                            kind,
                            num("ref")?,
                            get("role").unwrap_or_default().to_string(),
                        ));
                    }
                    _ => {}
                }
            }
            Event::End(ref e) if matches!(e.name().as_ref(), "node" | "way" | "relation") => {
                cur.emit(v);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

fn name_of(e: &BytesStart<'_>) -> String {
    e.name().as_ref().to_string()
}

fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(4);
    for a in e.attributes() {
        let a = a.map_err(|err| err.to_string())?;
        let key = a.key.as_ref().to_string();
        let val = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| err.to_string())?;
        out.push((key, val.into_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_degrees_to_e7_exactly() {
        assert_eq!(parse_e7("29.4700001"), Some(294_700_001));
        assert_eq!(parse_e7("-106.5"), Some(-1_065_000_000));
        assert_eq!(parse_e7("181"), None);
        assert_eq!(parse_e7("x"), None);
    }

    /// Records what the XML reader hands to a visitor.
    #[derive(Default)]
    struct Record(Vec<String>);

    impl Visitor for Record {
        fn wants(&self) -> Wants {
            Wants {
                nodes: true,
                ways: true,
                relations: true,
            }
        }
        fn node(&mut self, id: i64, lat_e7: i32, lon_e7: i32, tags: &[(&str, &str)]) {
            self.0.push(format!("n{id} {lat_e7} {lon_e7} {tags:?}"));
        }
        fn way(&mut self, id: i64, refs: &[i64], tags: &[(&str, &str)]) {
            self.0.push(format!("w{id} {refs:?} {tags:?}"));
        }
        fn relation(&mut self, id: i64, members: &[Member<'_>], tags: &[(&str, &str)]) {
            let m: Vec<String> = members
                .iter()
                .map(|m| format!("{:?}{} {}", m.kind, m.id, m.role))
                .collect();
            self.0.push(format!("r{id} {m:?} {tags:?}"));
        }
        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
    }

    #[test]
    fn xml_elements_tags_and_escapes() {
        let xml = r#"<?xml version="1.0"?><osm version="0.6"><bounds minlat="29" minlon="106" maxlat="30" maxlon="107"/>
            <node id="1" lat="29.5" lon="106.5"/>
            <node id="2" lat="-29.5000001" lon="106.5"><tag k="name" v="A &amp; B &quot;x&quot;"/></node>
            <way id="3"><nd ref="1"/><nd ref="2"/><tag k="highway" v="path"/></way>
            <relation id="4"><member type="way" ref="3" role="outer"/><member type="node" ref="1" role=""/>
            <tag k="type" v="multipolygon"/></relation></osm>"#;
        let mut v = Record::default();
        scan_xml(Path::new("t.osm"), xml.as_bytes(), &mut v).expect("parses");
        assert_eq!(
            v.0,
            vec![
                "n1 295000000 1065000000 []".to_string(),
                r#"n2 -295000001 1065000000 [("name", "A & B \"x\"")]"#.to_string(),
                r#"w3 [1, 2] [("highway", "path")]"#.to_string(),
                r#"r4 ["Way3 outer", "Node1 "] [("type", "multipolygon")]"#.to_string(),
            ]
        );
        let mut v = Record::default();
        assert!(
            scan_xml(
                Path::new("t.osm"),
                &b"<osm><way id=\"x\"></way></osm>"[..],
                &mut v
            )
            .is_err()
        );
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/city.osm.pbf")).ok(),
            Some(Format::Pbf)
        );
        assert_eq!(
            Format::from_path(Path::new("city.OSM")).ok(),
            Some(Format::Xml)
        );
        assert!(Format::from_path(Path::new("city.geojson")).is_err());
    }
}
