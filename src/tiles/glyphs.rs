//! Glyph sets in the PBF format MapLibre fetches for labels (`glyphs` of a style), as empty
//! sets: the style labels only names written in CJK ideographs, which MapLibre draws with the
//! browser's own fonts, so no font file is shipped or fetched from anywhere else.

use prost::Message;

/// One font stack's glyphs for a range of 256 code points (`glyphs.proto`'s `fontstack`).
#[derive(Clone, PartialEq, Message)]
struct Fontstack {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    range: String,
}

/// The file (`glyphs.proto`'s `glyphs`).
#[derive(Clone, PartialEq, Message)]
struct Glyphs {
    #[prost(message, repeated, tag = "1")]
    stacks: Vec<Fontstack>,
}

/// An empty glyph set for `fontstack` and `range` (e.g. `0-255`).
#[must_use]
pub fn empty_glyphs(fontstack: &str, range: &str) -> Vec<u8> {
    Glyphs {
        stacks: vec![Fontstack {
            name: fontstack.to_string(),
            range: range.to_string(),
        }],
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let bytes = empty_glyphs("Noto Sans CJK SC Regular", "0-255");
        let g = Glyphs::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(g.stacks[0].range, "0-255");
        assert_eq!(g.stacks[0].name, "Noto Sans CJK SC Regular");
    }
}
