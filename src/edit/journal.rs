//! The embedded edit store: an append-only journal file in the data directory, compacted into
//! the layer files. The format is documented in `docs/data-format.md` ("Edit journal").
//!
//! Record: `u32` little-endian payload length, `u32` little-endian CRC-32 (IEEE) of the
//! payload, then the payload: one [`Change`] as JSON. A record is acknowledged only after the
//! file is `fdatasync`ed; a record cut short by a crash (its length or checksum does not match
//! and nothing follows it) is dropped at start-up by truncating the file, never half-applied.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::model::LayerId;
use crate::store::Dataset;
use crate::store::write::layer_text;

use super::{Change, EditError, EditStore};

/// The journal of not yet compacted changes.
pub const JOURNAL_FILE: &str = "edits.journal";
/// Every compacted change, same record format: what `GET …/history` and `/changes` read after
/// a restart.
pub const HISTORY_FILE: &str = "edits.history";
/// Bytes of record header: length and checksum.
const HEADER_BYTES: usize = 8;
/// A record larger than this is corruption, not a change (bodies are limited far below).
const RECORD_MAX_BYTES: usize = 64 << 20;

/// The journal store of one data directory.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// The open journal (`None` until the first append), appended to by the one writer; the
    /// mutex only makes `&self` methods safe, there is no contention.
    file: Mutex<Option<File>>,
}

fn io(path: &Path, e: std::io::Error) -> EditError {
    EditError::Io(format!("{}: {e}", path.display()))
}

/// Frame one change as a record.
pub fn encode(change: &Change, out: &mut Vec<u8>) -> Result<(), EditError> {
    let payload = serde_json::to_vec(change).map_err(|e| EditError::Io(e.to_string()))?;
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

/// How a byte string of records ends.
#[derive(Debug, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to a whole, checked record.
    Clean,
    /// The last record is cut short or fails its checksum, and nothing follows it: a write the
    /// crash interrupted, never acknowledged. `good_len` bytes are whole records.
    Torn { good_len: usize },
    /// A bad record with more bytes after it: damage, not a torn write; refusing is the only
    /// way not to lose acknowledged changes silently.
    Corrupt { offset: usize },
}

/// Decode every whole record of `bytes`.
#[must_use]
pub fn decode(bytes: &[u8]) -> (Vec<Change>, Tail) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < HEADER_BYTES {
            return (out, Tail::Torn { good_len: at });
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > RECORD_MAX_BYTES {
            return (out, Tail::Corrupt { offset: at });
        }
        let end = HEADER_BYTES + len;
        if rest.len() < end {
            return (out, Tail::Torn { good_len: at });
        }
        let payload = &rest[HEADER_BYTES..end];
        let parsed = (crc32fast::hash(payload) == crc)
            .then(|| serde_json::from_slice::<Change>(payload).ok())
            .flatten();
        match parsed {
            Some(c) => out.push(c),
            None if rest.len() == end => return (out, Tail::Torn { good_len: at }),
            None => return (out, Tail::Corrupt { offset: at }),
        }
        at += end;
    }
    (out, Tail::Clean)
}

impl Journal {
    /// Open (creating when absent) the journal of `dir`. A torn last record is dropped here,
    /// by truncating the file to its whole records; damage before the end is an error.
    ///
    /// The file is created by the first append, not here: a server nobody writes to leaves
    /// its data directory (possibly read-only, possibly `geodata/` itself) untouched.
    pub fn open(dir: &Path) -> Result<Journal, EditError> {
        let path = dir.join(JOURNAL_FILE);
        if !path.exists() {
            return Ok(Journal {
                dir: dir.to_path_buf(),
                file: Mutex::new(None),
            });
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io(&path, e))?;
        match decode(&bytes).1 {
            Tail::Clean => {}
            Tail::Torn { good_len } => {
                tracing::warn!(
                    dropped_bytes = bytes.len() - good_len,
                    "the journal's last record is torn (a write cut by a crash, never acknowledged); dropping it"
                );
                file.set_len(good_len as u64).map_err(|e| io(&path, e))?;
                file.sync_all().map_err(|e| io(&path, e))?;
            }
            Tail::Corrupt { offset } => {
                return Err(EditError::Io(format!(
                    "{}: record at byte {offset} is damaged and more records follow it; \
                     restore the file from a backup or move it aside to start without these edits",
                    path.display()
                )));
            }
        }
        Ok(Journal {
            dir: dir.to_path_buf(),
            file: Mutex::new(Some(file)),
        })
    }

    fn read(&self, name: &str) -> Result<Vec<Change>, EditError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(decode(&bytes).0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io(&path, e)),
        }
    }
}

/// fsync a directory, so a created or renamed entry survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), EditError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

/// Write `text` to `path` so that after a crash the file is either the old or the new one:
/// temporary file, fsync, rename, fsync of the directory.
pub fn replace_file(path: &Path, text: &[u8]) -> Result<(), EditError> {
    let tmp = path.with_extension("tmp-edit");
    {
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(text).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    sync_dir(dir)
}

/// Top-level members of a layer file other than `type` and `features` (kept on rewrite).
fn collection_members(path: &Path) -> Option<serde_json::Map<String, Value>> {
    let text = std::fs::read_to_string(path).ok()?;
    let Value::Object(mut m) = serde_json::from_str(&text).ok()? else {
        return None;
    };
    m.remove("type");
    m.remove("features");
    (!m.is_empty()).then_some(m)
}

impl EditStore for Journal {
    fn append(&self, changes: &[Change]) -> Result<(), EditError> {
        let mut buf = Vec::new();
        for c in changes {
            encode(c, &mut buf)?;
        }
        let path = self.dir.join(JOURNAL_FILE);
        let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|e| io(&path, e))?;
            // The new directory entry must survive a crash too.
            sync_dir(&self.dir)?;
            *guard = Some(f);
        }
        let Some(f) = guard.as_mut() else {
            return Err(EditError::Io(format!("{}: not open", path.display())));
        };
        f.write_all(&buf).map_err(|e| io(&path, e))?;
        // One fdatasync for the whole batch: this is the group commit.
        f.sync_data().map_err(|e| io(&path, e))
    }

    fn replay(&self) -> Result<Vec<Change>, EditError> {
        self.read(JOURNAL_FILE)
    }

    fn history(&self) -> Result<Vec<Change>, EditError> {
        let mut all = self.read(HISTORY_FILE)?;
        // A crash between appending to the history and emptying the journal leaves a change
        // in both; sequence numbers tell them apart.
        for c in self.read(JOURNAL_FILE)? {
            if all.last().is_none_or(|l| c.seq > l.seq) {
                all.push(c);
            }
        }
        Ok(all)
    }

    fn compact(&self, dataset: &Dataset) -> Result<(), EditError> {
        let journal_path = self.dir.join(JOURNAL_FILE);
        let guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(f) = guard.as_ref() else {
            return Ok(());
        };
        let pending = self.read(JOURNAL_FILE)?;
        if pending.is_empty() {
            return Ok(());
        }
        let layers: BTreeSet<LayerId> = pending
            .iter()
            .filter_map(|c| LayerId::parse(&c.collection))
            .collect();
        // 1. The layer files, each replaced atomically. A crash part-way leaves some layers
        //    new and some old, with the journal intact: replay (idempotent) completes them.
        for layer in &layers {
            let path = self.dir.join(layer.file_name());
            let features = dataset.layer(*layer).unwrap_or(&[]);
            let members = collection_members(&path);
            replace_file(&path, layer_text(features, members.as_ref()).as_bytes())?;
        }
        // 2. The manifest's promised counts follow the edits.
        let manifest_path = self.dir.join("manifest.json");
        if let (Some(m), Ok(text)) = (&dataset.manifest, std::fs::read_to_string(&manifest_path))
            && let Ok(Value::Object(mut raw)) = serde_json::from_str::<Value>(&text)
        {
            raw.insert(
                "expected_counts".into(),
                serde_json::to_value(&m.expected_counts).unwrap_or(Value::Null),
            );
            let text = serde_json::to_string_pretty(&Value::Object(raw))
                .map_err(|e| EditError::Io(e.to_string()))?;
            replace_file(&manifest_path, format!("{text}\n").as_bytes())?;
        }
        // 3. The compacted changes join the history, then the journal starts empty.
        let mut buf = Vec::new();
        for c in &pending {
            encode(c, &mut buf)?;
        }
        let history_path = self.dir.join(HISTORY_FILE);
        let mut h = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&history_path)
            .map_err(|e| io(&history_path, e))?;
        h.write_all(&buf).map_err(|e| io(&history_path, e))?;
        h.sync_data().map_err(|e| io(&history_path, e))?;
        sync_dir(&self.dir)?;
        f.set_len(0).map_err(|e| io(&journal_path, e))?;
        f.sync_all().map_err(|e| io(&journal_path, e))?;
        tracing::info!(
            changes = pending.len(),
            layers = layers.len(),
            "journal compacted into the layer files"
        );
        Ok(())
    }

    fn pending_bytes(&self) -> u64 {
        let guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        guard
            .as_ref()
            .map_or(0, |f| f.metadata().map_or(0, |m| m.len()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::edit::Op;

    fn change(seq: u64) -> Change {
        Change {
            seq,
            at_unix_ms: 1_700_000_000_000 + seq,
            who: "t".into(),
            op: Op::Create,
            collection: "facilities".into(),
            feature_id: format!("x{seq}"),
            before: None,
            after: Some(serde_json::json!({"type": "Feature", "id": format!("x{seq}")})),
        }
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_detected() {
        let mut buf = Vec::new();
        for s in 1..=3 {
            encode(&change(s), &mut buf).unwrap();
        }
        let (all, tail) = decode(&buf);
        assert_eq!(all.len(), 3);
        assert_eq!(tail, Tail::Clean);
        let whole = buf.len();
        let mut two = Vec::new();
        encode(&change(1), &mut two).unwrap();
        encode(&change(2), &mut two).unwrap();
        // Every cut inside the third record drops exactly that record.
        for cut in two.len() + 1..whole {
            let (got, tail) = decode(&buf[..cut]);
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(
                tail,
                Tail::Torn {
                    good_len: two.len()
                }
            );
        }
        // A flipped byte in the last record's payload is torn; in the first, corruption.
        let mut bad = buf.clone();
        bad[whole - 2] ^= 0x55;
        assert_eq!(
            decode(&bad).1,
            Tail::Torn {
                good_len: two.len()
            }
        );
        let mut bad = buf;
        bad[HEADER_BYTES + 3] ^= 0x55;
        assert_eq!(decode(&bad).1, Tail::Corrupt { offset: 0 });
    }
}
