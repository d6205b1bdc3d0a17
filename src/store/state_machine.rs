//! The state machine on redb (`state.redb`): applies committed entries to the in-memory
//! [`State`], publishes the new state to readers and its events to subscribers, and has the
//! [`writer`](super::writer) write the rows they touched into the tables, together with the
//! last-applied log id in the same transaction, off the apply path.
//!
//! Older data directories may hold a journal (`sm_journal`) of rows not yet in their tables:
//! opening the store folds it in before loading the tables.

use super::writer::{Flusher, RowKeys, Writer};
use super::{SNAPSHOT_FILE, STATE_FILE, block, codec, redb_err};
use crate::raft::TypeConfig;
use crate::raft::types::{Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership};
use crate::state::{AppliedEvent, Response, Row, State, Table};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, OptionalSend};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("sm_meta");
/// Row images written by older versions before they folded them into their tables.
const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("sm_journal");
pub(super) const LAST_APPLIED_KEY: &str = "last_applied";
pub(super) const MEMBERSHIP_KEY: &str = "membership";
/// redb's page cache for the state machine. Reads are served from the in-memory `State`; the
/// cache only spares inserts re-reading B-tree pages (a miss is a read from the OS page
/// cache), so it need not hold the whole file; it counts in the node's resident memory.
const STATE_CACHE_BYTES: usize = 16 * 1024 * 1024;
/// Events buffered for slow subscribers; one that falls further behind is told it lagged.
const EVENT_BUFFER: usize = 8192;

pub(super) fn table(t: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(t.name())
}

/// What readers see: the state as of one applied log id.
#[derive(Clone, Debug, Default)]
pub struct StateView {
    pub state: State,
    pub applied: Option<LogId>,
    pub membership: StoredMembership,
}

/// A snapshot as kept on disk: its meta and the encoded rows.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

/// One journalled row image (older versions): its table, key, and value (`None`: removed).
type RowImage = (Table, String, Option<serde_bytes::ByteBuf>);

pub struct StateMachineStore {
    db: Arc<Database>,
    dir: PathBuf,
    current: Arc<StateView>,
    view: watch::Sender<Arc<StateView>>,
    events: broadcast::Sender<Arc<AppliedEvent>>,
    writer: Writer,
}

fn sm_err(verb: ErrorVerb, e: impl std::error::Error + 'static) -> StorageError {
    redb_err(ErrorSubject::StateMachine, verb, e)
}

fn writer_err(e: String) -> StorageError {
    sm_err(ErrorVerb::Write, std::io::Error::other(e))
}

impl StateMachineStore {
    /// Opens `state.redb` in `dir` and loads every row into memory.
    pub fn open(dir: &Path) -> Result<StateMachineStore, StorageError> {
        let path = dir.join(STATE_FILE);
        let db = Database::builder()
            .set_cache_size(STATE_CACHE_BYTES)
            .create(&path)
            .map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let current = block(|| fold_journal(&db).and_then(|()| load(&db)))
            .map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let current = Arc::new(current);
        let (view, _) = watch::channel(Arc::clone(&current));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let db = Arc::new(db);
        let writer = Writer::start(Arc::clone(&db)).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        Ok(StateMachineStore {
            db,
            dir: dir.to_path_buf(),
            current,
            view,
            events,
            writer,
        })
    }

    /// The state as of the last applied entry, updated after every applied batch.
    pub fn subscribe_view(&self) -> watch::Receiver<Arc<StateView>> {
        self.view.subscribe()
    }

    /// The sender of applied events; subscribe to it for the event stream.
    pub fn events(&self) -> broadcast::Sender<Arc<AppliedEvent>> {
        self.events.clone()
    }

    fn publish(&mut self, next: StateView) {
        self.current = Arc::new(next);
        self.view.send_replace(Arc::clone(&self.current));
    }

    /// Waits until the tables hold everything applied so far.
    pub async fn flush(&self) -> Result<(), StorageError> {
        self.writer.flush().await.map_err(writer_err)
    }

    /// Tests: stop writing the tables, so that they fall behind the applied state.
    #[cfg(test)]
    pub(super) fn hold_writes(&self) {
        self.writer.hold(true);
    }

    /// Tests: drop the store like a crash, leaving unwritten whatever the writer still held.
    #[cfg(test)]
    pub(super) fn crash(self) {
        self.writer.crash();
    }

    fn read_snapshot_file(&self) -> Result<Option<StoredSnapshot>, StorageError> {
        let path = self.dir.join(SNAPSHOT_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(redb_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e)),
        };
        codec::decode(&bytes)
            .map(Some)
            .map_err(|e| redb_err(ErrorSubject::Snapshot(None), ErrorVerb::Read, e))
    }
}

/// Writes row images into their tables, opening each table once for a run of its rows
/// (opening one per row costs more than the inserts).
fn write_rows<'a>(
    txn: &redb::WriteTransaction,
    rows: impl IntoIterator<Item = (Table, &'a str, Option<&'a [u8]>)>,
) -> Result<(), redb::Error> {
    let mut rows = rows.into_iter().peekable();
    while let Some((t, _, _)) = rows.peek() {
        let t = *t;
        let mut tbl = txn.open_table(table(t))?;
        while let Some((_, key, value)) = rows.next_if(|(rt, _, _)| *rt == t) {
            match value {
                Some(bytes) => drop(tbl.insert(key, bytes)?),
                None => drop(tbl.remove(key)?),
            }
        }
    }
    Ok(())
}

/// Folds a journal left by the last run into the tables, oldest record first, durably.
fn fold_journal(db: &Database) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    let records: Vec<Vec<RowImage>> = {
        let journal = txn.open_table(JOURNAL)?;
        let mut records = Vec::new();
        for item in journal.iter()? {
            let (_, v) = item?;
            records
                .push(codec::decode(v.value()).map_err(|e| redb::Error::Corrupted(e.to_string()))?);
        }
        records
    };
    if records.is_empty() {
        return Ok(txn.abort()?);
    }
    let mut latest: BTreeMap<(Table, String), Option<serde_bytes::ByteBuf>> = BTreeMap::new();
    for (t, key, value) in records.into_iter().flatten() {
        latest.insert((t, key), value);
    }
    write_rows(
        &txn,
        latest
            .iter()
            .map(|((t, k), v)| (*t, k.as_str(), v.as_ref().map(|b| b.as_slice()))),
    )?;
    txn.delete_table(JOURNAL)?;
    txn.open_table(JOURNAL)?;
    txn.commit()?;
    Ok(())
}

/// Reads every table of `state.redb` back into a state view.
fn load(db: &Database) -> Result<StateView, redb::Error> {
    let mut view = StateView::default();
    {
        let txn = db.begin_write()?;
        for t in Table::ALL {
            txn.open_table(table(t))?;
        }
        txn.open_table(META)?;
        txn.commit()?;
    }
    let txn = db.begin_read()?;
    for t in Table::ALL {
        let tbl = txn.open_table(table(t))?;
        for item in tbl.iter()? {
            let (k, v) = item?;
            view.state
                .load_row(t, k.value(), v.value())
                .map_err(|e| redb::Error::Corrupted(e.to_string()))?;
        }
    }
    let meta = txn.open_table(META)?;
    if let Some(v) = meta.get(LAST_APPLIED_KEY)? {
        view.applied =
            codec::decode(v.value()).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
    }
    if let Some(v) = meta.get(MEMBERSHIP_KEY)? {
        view.membership =
            codec::decode(v.value()).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
    }
    Ok(view)
}

/// Writes a file atomically: temporary file, fsync, rename, fsync of the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.current.applied, self.current.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<Response>>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // A batch can take long to apply (a group of thousands of apps): on a worker thread of
        // its own, so the runtime's other tasks (heartbeats, the leadership watch) run on.
        let (next, touched, events, responses) =
            on_blocking_thread(|| apply_entries(&self.current, entries));
        if responses.is_empty() {
            return Ok(responses);
        }
        self.publish(next);
        self.writer
            .write(Arc::clone(&self.current), touched)
            .map_err(writer_err)?;
        for event in events {
            // No subscriber is not an error: events are for whoever listens now.
            let _ = self.events.send(Arc::new(event));
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            view: Arc::clone(&self.current),
            dir: self.dir.clone(),
            writer: self.writer.flusher(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let snap_err = |e: &dyn std::fmt::Display| {
            redb_err(
                ErrorSubject::Snapshot(Some(meta.signature())),
                ErrorVerb::Read,
                std::io::Error::other(e.to_string()),
            )
        };
        // Nothing older may land in the tables after the snapshot's rows.
        self.flush().await?;
        let rows: Vec<Row> = codec::decode(&data).map_err(|e| snap_err(&e))?;
        let state = State::from_rows(&rows).map_err(|e| snap_err(&e))?;
        let next = StateView {
            state,
            applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        let applied = codec::encode(&next.applied).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let membership =
            codec::encode(&next.membership).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        block(|| -> Result<(), redb::Error> {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            for t in Table::ALL {
                txn.delete_table(table(t))?;
                txn.open_table(table(t))?;
            }
            txn.delete_table(JOURNAL)?;
            txn.open_table(JOURNAL)?;
            for row in &rows {
                txn.open_table(table(row.table))?
                    .insert(row.key.as_str(), row.value.as_slice())?;
            }
            {
                let mut m = txn.open_table(META)?;
                m.insert(LAST_APPLIED_KEY, applied.as_slice())?;
                m.insert(MEMBERSHIP_KEY, membership.as_slice())?;
            }
            txn.commit()?;
            Ok(())
        })
        .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let bytes = codec::encode(&stored).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        block(|| write_atomically(&self.dir.join(SNAPSHOT_FILE), &bytes)).map_err(|e| {
            redb_err(
                ErrorSubject::Snapshot(Some(meta.signature())),
                ErrorVerb::Write,
                e,
            )
        })?;
        self.publish(next);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.read_snapshot_file()?.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

/// Builds a snapshot from a point-in-time view (an O(1) clone), so `apply` goes on meanwhile.
pub struct SnapshotBuilder {
    view: Arc<StateView>,
    dir: PathBuf,
    writer: Flusher,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        // openraft purges the log behind a snapshot: the tables must not need those entries.
        self.writer.flush().await.map_err(writer_err)?;
        let view = Arc::clone(&self.view);
        let dir = self.dir.clone();
        let stored =
            tokio::task::spawn_blocking(move || -> Result<StoredSnapshot, StorageError> {
                let rows = view.state.rows().map_err(|e| sm_err(ErrorVerb::Read, e))?;
                let data = codec::encode(&rows).map_err(|e| sm_err(ErrorVerb::Read, e))?;
                let snapshot_id = match view.applied {
                    Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, rows.len()),
                    None => "empty".to_string(),
                };
                let stored = StoredSnapshot {
                    meta: SnapshotMeta {
                        last_log_id: view.applied,
                        last_membership: view.membership.clone(),
                        snapshot_id,
                    },
                    data,
                };
                let bytes = codec::encode(&stored).map_err(|e| sm_err(ErrorVerb::Write, e))?;
                write_atomically(&dir.join(SNAPSHOT_FILE), &bytes)
                    .map_err(|e| redb_err(ErrorSubject::Snapshot(None), ErrorVerb::Write, e))?;
                Ok(stored)
            })
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, e))??;
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

/// What applying `entries` to `current` makes: the new view, the rows it touched, its events
/// and each entry's responses.
fn apply_entries(
    current: &StateView,
    entries: impl IntoIterator<Item = Entry>,
) -> (StateView, RowKeys, Vec<AppliedEvent>, Vec<Vec<Response>>) {
    let mut next = current.clone();
    let mut touched = RowKeys::new();
    let mut events = Vec::new();
    let mut responses = Vec::new();
    for entry in entries {
        next.applied = Some(entry.log_id);
        match entry.payload {
            EntryPayload::Blank => responses.push(Vec::new()),
            EntryPayload::Normal(batch) => {
                let requests = batch.requests();
                let index = entry.log_id.index;
                let mut answers = Vec::with_capacity(requests.len());
                for (slot, request) in requests.iter().enumerate() {
                    let (response, applied) = next.state.apply((index, slot as u32), request);
                    touched.extend(applied.touched);
                    events.extend(applied.events.into_iter().map(|event| AppliedEvent {
                        index,
                        time: request.time,
                        event,
                    }));
                    answers.push(response);
                }
                responses.push(answers);
            }
            EntryPayload::Membership(m) => {
                next.membership = StoredMembership::new(Some(entry.log_id), m);
                responses.push(Vec::new());
            }
        }
    }
    (next, touched, events, responses)
}

/// Runs `f`, which may take long, without holding up the other tasks of this runtime worker
/// (a multi-threaded runtime hands them to another thread meanwhile).
fn on_blocking_thread<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
