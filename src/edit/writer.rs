//! The one writer: a thread that takes every pending write at once (group commit), checks each
//! against the current snapshot (existence, `If-Match`, role), applies them to the next
//! dataset, validates it with the rules of `servicemap validate`, builds the next [`Service`],
//! makes the changes durable in one [`EditStore::append`], swaps the snapshot in and only then
//! acknowledges. Readers keep the snapshot they loaded; nobody waits on a lock.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use arc_swap::ArcSwap;
use geo::BoundingRect;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::model::geojson::feature_json;
use crate::model::{Bbox, Feature, LayerId, LocalProj};
use crate::service::Service;
use crate::store::{self, Dataset};

use super::{
    Change, EDITABLE, EditError, EditStore, Op, Principal, Role, Undo, apply_change,
    apply_undoable, etag, feature_from_value, merge_patch, now_unix_ms, undo,
};

/// At most this many writes share one fsync and one snapshot build.
const BATCH_MAX: usize = 512;
/// How often the writer, idle, looks whether readers let go of retired snapshots.
const RETIRED_POLL: std::time::Duration = std::time::Duration::from_millis(20);
/// Compact the journal into the layer files once it holds this much.
const COMPACT_BYTES: u64 = 8 << 20;

/// What to do to which feature.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// A new feature (a GeoJSON Feature; the id is made when the body has none).
    Create(Value),
    /// Replace feature `id` with the body.
    Replace(String, Value),
    /// Merge-patch feature `id` (RFC 7396).
    Patch(String, Value),
    Delete(String),
}

/// One write as the API hands it over.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub who: Principal,
    pub collection: String,
    pub op: WriteOp,
    /// The `If-Match` entity tags (`*` matches any current version).
    pub if_match: Option<Vec<String>>,
}

/// An acknowledged write: durable and visible in the snapshot readers now load.
#[derive(Debug, Clone)]
pub struct Committed {
    pub change: Change,
    /// The ETag of the feature as now served (`None` after a delete).
    pub etag: Option<String>,
    /// The feature as now served.
    pub feature: Option<Value>,
}

enum Job {
    Write(WriteRequest, oneshot::Sender<Result<Committed, EditError>>),
    Reload(oneshot::Sender<Result<(), EditError>>),
}

/// The handle the API holds: submit writes, reload, read the history.
#[derive(Debug)]
pub struct Editor {
    jobs: Sender<Job>,
    history: Arc<RwLock<Vec<Change>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Write(..) => "Write",
            Job::Reload(..) => "Reload",
        })
    }
}

/// Read `dir` and apply the store's pending changes: the world as last acknowledged.
/// Read `dir`, replay the journal over it, check every rule and build the service. Checking
/// and building run side by side (start-up time, issue 15: the rules and the indexes and
/// walking graph each take a share of the 2 cores' work, and neither needs the other's
/// result); a directory that breaks a rule is refused with every violation, whatever the
/// build did. The build may meet data the rules are about to refuse: it returns an error
/// there, and if it panics the panic is caught and the violations are what is reported.
fn load_and_build(dir: &Path, store: &dyn EditStore) -> Result<(Dataset, Service), EditError> {
    let mut stages = crate::stages::Stages::start("load");
    let mut ds = store::read_dir(dir).map_err(|e| EditError::Io(e.to_string()))?;
    stages.lap("read");
    for c in store.replay()? {
        apply_change(&mut ds, &c)?;
    }
    stages.lap("replay");
    let (report, built) = rayon::join(
        || store::validate(&ds),
        || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(&ds))),
    );
    stages.lap("validate beside build");
    if !report.violations.is_empty() {
        return Err(EditError::Invalid(report.violations));
    }
    let service = built.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok((ds, service))
}

fn build(ds: &Dataset) -> Result<Service, EditError> {
    Service::from_dataset(ds.clone()).map_err(|e| EditError::Io(e.to_string()))
}

impl Editor {
    /// Open the journal of `dir`, replay it over the layer files, compact, and start the
    /// writer. Returns the editor and the live snapshot it swaps.
    pub fn open(dir: &Path) -> Result<(Editor, Arc<ArcSwap<Service>>), EditError> {
        let mut stages = crate::stages::Stages::start("open");
        let store: Box<dyn EditStore> = Box::new(super::Journal::open(dir)?);
        stages.lap("journal");
        let (ds, service) = load_and_build(dir, store.as_ref())?;
        stages.lap("load and build");
        store.compact(&ds)?;
        stages.lap("compact");
        let history = store.history()?;
        let next_seq = history.last().map_or(1, |c| c.seq + 1);
        let live = Arc::new(ArcSwap::from_pointee(service));
        let history = Arc::new(RwLock::new(history));
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = Writer {
            dir: dir.to_path_buf(),
            store,
            base_proj: ds.projection(),
            base: ds,
            live: Arc::clone(&live),
            history: Arc::clone(&history),
            next_seq,
            deferred: VecDeque::new(),
            retired: Vec::new(),
        };
        std::thread::Builder::new()
            .name("servicemap-writer".into())
            .spawn(move || {
                lower_priority();
                // The writer's own parallel work (validation, snapping buildings) runs on a
                // pool of the same low priority: on rayon's global pool it would compete with
                // the readers at full priority, which is most of what a write burst took
                // from /nearest.
                let pool = rayon::ThreadPoolBuilder::new()
                    .thread_name(|i| format!("servicemap-writer-{i}"))
                    .start_handler(|_| lower_priority())
                    .build();
                match pool {
                    Ok(pool) => pool.install(move || writer.run(&rx)),
                    Err(e) => {
                        tracing::warn!(
                            "no low-priority pool for the writer ({e}): it shares the global one"
                        );
                        writer.run(&rx);
                    }
                }
            })
            .map_err(|e| EditError::Io(format!("cannot start the writer: {e}")))?;
        Ok((Editor { jobs: tx, history }, live))
    }

    /// Submit a write; resolves once it is durable and visible, or refused.
    pub async fn write(&self, req: WriteRequest) -> Result<Committed, EditError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Write(req, tx))
            .map_err(|_| EditError::Stopped)?;
        rx.await.map_err(|_| EditError::Stopped)?
    }

    /// Re-read the data directory (edited by hand) plus the journal. A directory that breaks
    /// rules keeps the old snapshot serving; the error lists every violation.
    pub async fn reload(&self) -> Result<(), EditError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Job::Reload(tx))
            .map_err(|_| EditError::Stopped)?;
        rx.await.map_err(|_| EditError::Stopped)?
    }

    /// Changes with `seq > since`, at most `limit`, oldest first.
    #[must_use]
    pub fn changes_since(&self, since: u64, limit: usize) -> (Vec<Change>, u64) {
        let h = self.history.read().unwrap_or_else(PoisonError::into_inner);
        let start = h.partition_point(|c| c.seq <= since);
        let latest = h.last().map_or(0, |c| c.seq);
        (h[start..].iter().take(limit).cloned().collect(), latest)
    }

    /// Every change of one feature, oldest first.
    #[must_use]
    pub fn feature_history(&self, collection: &str, id: &str) -> Vec<Change> {
        let h = self.history.read().unwrap_or_else(PoisonError::into_inner);
        h.iter()
            .filter(|c| c.collection == collection && c.feature_id == id)
            .cloned()
            .collect()
    }
}

/// A write checked against the snapshot, ready to apply.
struct Prepared {
    layer: LayerId,
    id: String,
    op: Op,
    who: String,
    before: Option<Feature>,
    after: Option<Feature>,
}

struct Writer {
    dir: PathBuf,
    store: Box<dyn EditStore>,
    /// The dataset as stored (without the service's derived properties), base of the next.
    base: Dataset,
    /// `base.projection()`, kept (it reads every walkway).
    base_proj: LocalProj,
    live: Arc<ArcSwap<Service>>,
    history: Arc<RwLock<Vec<Change>>>,
    next_seq: u64,
    /// Jobs held back to the next batch (a second write to a feature already in the batch is
    /// checked against the snapshot that holds the first).
    deferred: VecDeque<Job>,
    /// Snapshots swapped out that readers still hold. The writer drops each once it holds
    /// the last reference: freeing a whole snapshot (every feature of the data) on a reader
    /// thread, the last to let go, took milliseconds from `/nearest` during a write burst.
    retired: Vec<Arc<Service>>,
}

type Reply = oneshot::Sender<Result<Committed, EditError>>;

fn key_of(req: &WriteRequest) -> Option<(String, String)> {
    let id = match &req.op {
        WriteOp::Create(v) => v.get("id").and_then(Value::as_str)?,
        WriteOp::Replace(id, _) | WriteOp::Patch(id, _) | WriteOp::Delete(id) => id,
    };
    Some((req.collection.clone(), id.to_string()))
}

/// Where a facility or building stands for a grid token's scope: the point, or a
/// footprint's interior point (where walking and coverage place the building too).
fn point_of(f: &Feature) -> Option<(f64, f64)> {
    crate::model::building_position(&f.geometry).map(|p| (p.x(), p.y()))
}

impl Writer {
    fn run(mut self, rx: &Receiver<Job>) {
        let mut trim_when_idle = false;
        loop {
            let had_retired = !self.retired.is_empty();
            self.retired.retain(|s| Arc::strong_count(s) > 1);
            // The last old snapshot is gone: once the writer is idle, hand the pages back
            // (flat memory, issue 15); not between the batches of a burst.
            trim_when_idle |= had_retired && self.retired.is_empty();
            let first = match self.deferred.pop_front() {
                Some(j) => j,
                None if self.retired.is_empty() && trim_when_idle => {
                    match rx.recv_timeout(RETIRED_POLL) {
                        Ok(j) => j,
                        Err(RecvTimeoutError::Timeout) => {
                            trim_when_idle = false;
                            crate::sys::release_free_memory();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None if self.retired.is_empty() => match rx.recv() {
                    Ok(j) => j,
                    Err(_) => return,
                },
                // Look again soon whether the readers have let go of the retired snapshots.
                None => match rx.recv_timeout(RETIRED_POLL) {
                    Ok(j) => j,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
            };
            let mut batch: Vec<(WriteRequest, Reply)> = Vec::new();
            let mut keys = HashSet::new();
            let mut next = Some(first);
            let mut held = VecDeque::new();
            while let Some(job) = next.take() {
                match job {
                    Job::Reload(reply) if batch.is_empty() => {
                        let _ = reply.send(self.reload());
                        break;
                    }
                    Job::Reload(reply) => {
                        held.push_back(Job::Reload(reply));
                        break;
                    }
                    Job::Write(req, reply) => {
                        let key = key_of(&req);
                        if key.as_ref().is_some_and(|k| keys.contains(k)) {
                            held.push_back(Job::Write(req, reply));
                        } else {
                            keys.extend(key);
                            batch.push((req, reply));
                        }
                    }
                }
                if batch.len() >= BATCH_MAX {
                    break;
                }
                next = self.deferred.pop_front().or_else(|| rx.try_recv().ok());
            }
            // Held jobs go first next time, in their order.
            while let Some(j) = held.pop_back() {
                self.deferred.push_front(j);
            }
            if !batch.is_empty() {
                // A bug in checking one write must not stop every later one: the batch's
                // callers see the writer fail (500), nothing was made durable or swapped in,
                // and the writer goes on.
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.commit_batch(batch);
                }));
                if run.is_err() {
                    tracing::error!(
                        "a write batch panicked; it was refused and the writer goes on"
                    );
                }
            }
        }
    }

    fn reload(&mut self) -> Result<(), EditError> {
        let started = Instant::now();
        let (ds, service) = load_and_build(&self.dir, self.store.as_ref())?;
        self.live.store(Arc::new(service));
        self.base_proj = ds.projection();
        self.base = ds;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "data directory reloaded"
        );
        Ok(())
    }

    /// Take back writes applied to the base, last first.
    fn take_back(&mut self, undos: Vec<Undo>) {
        for u in undos.into_iter().rev() {
            undo(&mut self.base, u);
        }
    }

    fn prepare(
        &self,
        snap: &Service,
        req: WriteRequest,
        fresh: u64,
    ) -> Result<Prepared, EditError> {
        let layer = LayerId::parse(&req.collection)
            .ok_or_else(|| EditError::NotFound(format!("no collection '{}'", req.collection)))?;
        if !EDITABLE.contains(&layer) {
            return Err(EditError::ReadOnly(req.collection));
        }
        let stored = self.base.layer(layer).unwrap_or(&[]);
        let find = |id: &str| stored.iter().find(|f| f.id == id);
        let (op, id, before, body) = match req.op {
            WriteOp::Create(mut v) => {
                let id = match v.get("id") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => {
                        return Err(EditError::BadBody(format!(
                            "id must be a string, not {other}"
                        )));
                    }
                    None => {
                        let prefix = &layer.as_str()[..1];
                        let mut n = fresh;
                        while find(&format!("{prefix}-e{n}")).is_some() {
                            n += 1;
                        }
                        format!("{prefix}-e{n}")
                    }
                };
                if find(&id).is_some() {
                    return Err(EditError::Conflict(format!(
                        "{layer} already has a feature '{id}'; PUT /collections/{layer}/items/{id} replaces it"
                    )));
                }
                if let Some(m) = v.as_object_mut() {
                    m.insert("id".into(), Value::String(id.clone()));
                }
                (Op::Create, id, None, Some(v))
            }
            WriteOp::Replace(id, mut v) => {
                let before = find(&id).cloned().ok_or_else(|| not_found(layer, &id))?;
                match v.get("id") {
                    None => {
                        if let Some(m) = v.as_object_mut() {
                            m.insert("id".into(), Value::String(id.clone()));
                        }
                    }
                    Some(Value::String(s)) if *s == id => {}
                    Some(other) => {
                        return Err(EditError::BadBody(format!(
                            "the body's id {other} differs from the path's '{id}'; ids do not change (DELETE and POST instead)"
                        )));
                    }
                }
                (Op::Replace, id, Some(before), Some(v))
            }
            WriteOp::Patch(id, patch) => {
                let before = find(&id).cloned().ok_or_else(|| not_found(layer, &id))?;
                let mut v = feature_json(&before);
                merge_patch(&mut v, &patch);
                if v.get("id").and_then(Value::as_str) != Some(id.as_str()) {
                    return Err(EditError::BadBody(
                        "a patch may not change or remove the id".into(),
                    ));
                }
                (Op::Patch, id, Some(before), Some(v))
            }
            WriteOp::Delete(id) => {
                let before = find(&id).cloned().ok_or_else(|| not_found(layer, &id))?;
                (Op::Delete, id, Some(before), None)
            }
        };
        if let Some(tags) = &req.if_match {
            let current = snap.feature(layer.as_str(), &id).ok().map(|(_, f)| etag(f));
            let ok = match &current {
                Some(cur) => tags.iter().any(|t| t == "*" || t == cur),
                None => false,
            };
            if !ok {
                return Err(EditError::PreconditionFailed {
                    given: tags.join(", "),
                    current: current.unwrap_or_else(|| "(none)".into()),
                });
            }
        }
        let after = body.map(|v| feature_from_value(layer, &v)).transpose()?;
        if let Role::Grid(grids) = &req.who.role {
            check_grid_role(snap, layer, grids, before.as_ref(), after.as_ref())?;
        }
        Ok(Prepared {
            layer,
            id,
            op,
            who: req.who.name,
            before,
            after,
        })
    }

    fn commit_batch(&mut self, batch: Vec<(WriteRequest, Reply)>) {
        let started = Instant::now();
        let snap = self.live.load_full();
        let mut ready: Vec<(Prepared, Reply)> = Vec::new();
        for (i, (req, reply)) in batch.into_iter().enumerate() {
            match self.prepare(&snap, req, self.next_seq + i as u64) {
                Ok(p) => ready.push((p, reply)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if ready.is_empty() {
            return;
        }
        // The whole batch at once, applied to the base in place (taken back on refusal: a
        // clone of the whole data per batch cost as much as the rest of a small edit); when
        // it breaks a rule, one write at a time so that only the writes that break rules are
        // refused.
        let mut changed: Vec<LayerId> = ready.iter().map(|(p, _)| p.layer).collect();
        changed.sort_unstable();
        changed.dedup();
        let validate_started = Instant::now();
        let mut undos: Vec<Undo> = ready
            .iter()
            .map(|(p, _)| apply_undoable(&mut self.base, p.layer, &p.id, p.after.clone()))
            .collect();
        // Only the rules the edited layers can break, on the edited features where the
        // rule allows: the base passes every rule (`validate_edit` gives exactly the full
        // list).
        let edited: Vec<(LayerId, &str)> = ready
            .iter()
            .map(|(p, _)| (p.layer, p.id.as_str()))
            .collect();
        let violations = store::validate_edit(&self.base, &self.base_proj, &changed, &edited);
        let validate_ms = validate_started.elapsed().as_secs_f64() * 1e3;
        let accepted: Vec<(Prepared, Reply)> = if violations.is_empty() {
            ready
        } else if ready.len() == 1 {
            self.take_back(undos);
            for (_, reply) in ready {
                let _ = reply.send(Err(EditError::Invalid(violations.clone())));
            }
            return;
        } else {
            self.take_back(std::mem::take(&mut undos));
            let mut ok = Vec::new();
            for (p, reply) in ready {
                // The base holds only accepted writes, so it passes every rule too.
                let proj = self.base.projection();
                let u = apply_undoable(&mut self.base, p.layer, &p.id, p.after.clone());
                let r = store::validate_edit(&self.base, &proj, &[p.layer], &[(p.layer, &p.id)]);
                if r.is_empty() {
                    undos.push(u);
                    ok.push((p, reply));
                } else {
                    undo(&mut self.base, u);
                    let _ = reply.send(Err(EditError::Invalid(r)));
                }
            }
            ok
        };
        if accepted.is_empty() {
            return;
        }
        let build_started = Instant::now();
        // Only what the edited layers feed is rebuilt; the rest is shared with `snap`.
        let service = match super::next_snapshot(&snap, &self.base, &changed) {
            Ok(s) => s,
            Err(e) => {
                self.take_back(undos);
                for (_, reply) in accepted {
                    let _ = reply.send(Err(e.clone()));
                }
                return;
            }
        };
        // Tiles the batch cannot have changed carry over, with their ETags.
        let touched: Vec<Bbox> = accepted
            .iter()
            .flat_map(|(p, _)| [p.before.as_ref(), p.after.as_ref()])
            .flatten()
            .filter_map(|f| f.geometry.bounding_rect())
            .map(|r| Bbox {
                min_lon: r.min().x,
                min_lat: r.min().y,
                max_lon: r.max().x,
                max_lat: r.max().y,
            })
            .collect();
        service.tiles.keep_untouched(&snap.tiles, &touched);
        let at = now_unix_ms();
        let changes: Vec<Change> = accepted
            .iter()
            .enumerate()
            .map(|(i, (p, _))| Change {
                seq: self.next_seq + i as u64,
                at_unix_ms: at,
                who: p.who.clone(),
                op: p.op,
                collection: p.layer.as_str().to_string(),
                feature_id: p.id.clone(),
                before: p.before.as_ref().map(feature_json),
                after: p.after.as_ref().map(feature_json),
            })
            .collect();
        let build_ms = build_started.elapsed().as_secs_f64() * 1e3;
        let append_started = Instant::now();
        if let Err(e) = self.store.append(&changes) {
            tracing::error!(
                "journal append failed, {} write(s) refused: {e}",
                changes.len()
            );
            self.take_back(undos);
            for (_, reply) in accepted {
                let _ = reply.send(Err(e.clone()));
            }
            return;
        }
        let append_ms = append_started.elapsed().as_secs_f64() * 1e3;
        self.next_seq += changes.len() as u64;
        let service = Arc::new(service);
        self.retired.push(self.live.swap(Arc::clone(&service)));
        self.base_proj = self.base.projection();
        self.history
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(changes.iter().cloned());
        // Where a batch's time goes: validation of the would-be data, the next snapshot
        // (indexes, walking world, tiles), the journal fsync. BENCHMARKS.md reads these.
        tracing::info!(
            writes = changes.len(),
            validate_ms,
            build_ms,
            append_ms,
            ms = started.elapsed().as_millis() as u64,
            "writes committed"
        );
        for ((p, reply), change) in accepted.into_iter().zip(changes) {
            let served = service
                .feature(p.layer.as_str(), &p.id)
                .ok()
                .map(|(_, f)| f);
            let _ = reply.send(Ok(Committed {
                change,
                etag: served.map(etag),
                feature: served.map(feature_json),
            }));
        }
        if self.store.pending_bytes() > COMPACT_BYTES
            && let Err(e) = self.store.compact(&self.base)
        {
            // The journal still holds every change; compaction is retried after the next batch.
            tracing::error!("journal compaction failed: {e}");
        }
    }
}

/// Priority of the writer's threads. Readers first (issue 12: `/nearest` within 10 % of idle
/// during a write burst): on 2 cores the writer's validation and snapshot build took a whole
/// core from the HTTP workers. The threads run under `SCHED_IDLE` ([`crate::sys::run_only_when_idle`]:
/// a reader that wakes takes the core at once), or at nice 19 where that is refused. Writes
/// stay durable and in order; only their latency grows while reads are heavy (never
/// starved: the scheduler still gives the writer a small weighted share of a busy core),
/// and the batches grow, which costs less per write.
/// Nice 19 against nice 10, measured earlier with `bench/edits/nearest_during_writes.sh`:
/// readers kept 77–79 % of idle against 70–74 %.
const WRITER_NICE: i32 = 19;

fn lower_priority() {
    if crate::sys::run_only_when_idle() {
        return;
    }
    crate::sys::set_own_niceness(WRITER_NICE, "writer thread (it competes with readers)");
}

fn not_found(layer: LayerId, id: &str) -> EditError {
    EditError::NotFound(format!(
        "{layer} has no feature '{id}'; GET /collections/{layer}/items lists them"
    ))
}

/// A grid worker keeps facilities and buildings inside their own grids: the feature before
/// and after the change must both lie in one of them.
fn check_grid_role(
    snap: &Service,
    layer: LayerId,
    grids: &[String],
    before: Option<&Feature>,
    after: Option<&Feature>,
) -> Result<(), EditError> {
    if !matches!(layer, LayerId::Facilities | LayerId::Buildings) {
        return Err(EditError::Forbidden(format!(
            "a grid token may change facilities and buildings only, not {layer}"
        )));
    }
    let areas = snap.indexes.areas(LayerId::Grids).unwrap_or(&[]);
    for (what, f) in [("the feature", before), ("the new position", after)] {
        let Some(f) = f else { continue };
        let grid = point_of(f)
            .and_then(|(lon, lat)| snap.indexes.area_at(LayerId::Grids, lon, lat))
            .map(|i| areas[i].id.as_str());
        if !grid.is_some_and(|g| grids.iter().any(|x| x == g)) {
            return Err(EditError::Forbidden(format!(
                "{what} lies in grid {}, outside this token's grids ({})",
                grid.unwrap_or("(none)"),
                grids.join(", ")
            )));
        }
    }
    Ok(())
}
