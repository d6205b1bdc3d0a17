//! The Raft log, vote and purge point in their own redb file (`raft-log.redb`), so log fsyncs do
//! not queue behind state-machine commits on redb's single writer.
//!
//! Every write is an `Immediate` (fsynced) commit before it is acknowledged: `append` calls the
//! flush callback only after its one commit for the whole batch.
//!
//! The committed log id is written with the next append rather than in a commit of its own
//! (openraft reports it after every replication round). It only tells a restarted node how far
//! it may re-apply before it hears from a leader, so a value one append old is as safe as a
//! fresh one: it never names an entry that was not committed.

use super::{block, codec, redb_err};
use crate::raft::TypeConfig;
use crate::raft::types::{Entry, LogId, StorageError, Vote};
use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::VecDeque;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_meta");
/// redb's page cache for the log. Replication and the state machine read the recent entries
/// from `Tail`; the cache spares appends and purges re-reading B-tree pages.
const LOG_CACHE_BYTES: usize = 8 * 1024 * 1024;
/// Newest entries kept decoded in memory: replication and the state machine read the entries
/// just appended, and serving them from here spares decoding them back out of redb. Bounded by
/// count and by their encoded size (a batch of launches can hold thousands of instances);
/// decoded, an entry takes several times its encoded size.
const TAIL_ENTRIES: usize = 8192;
const TAIL_BYTES: usize = 4 * 1024 * 1024;
/// The encoded bytes of entries one AppendEntries carries (always at least one entry).
/// openraft gives that RPC one heartbeat interval (50 ms by default) and would otherwise send up
/// to 300 entries, each a batch of up to 512 commands (hundreds of KB for launches): a follower
/// a few dozen entries behind was sent tens of MB per try, which never arrived in time, so it
/// never caught up, and a leader whose followers both fell behind lost its quorum for good.
const REPLICATION_BYTES: usize = 1024 * 1024;
const VOTE_KEY: &str = "vote";
const PURGED_KEY: &str = "last_purged";
const COMMITTED_KEY: &str = "committed";

/// A cheap handle to the log file; clones share the database (readers are MVCC snapshots) and
/// the in-memory tail.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    tail: Arc<Mutex<Tail>>,
    /// The newest committed log id openraft reported, written with the next append.
    committed: Arc<Mutex<Option<LogId>>>,
}

/// A copy of the last durable entries, contiguous from `first`. Changed only after the redb
/// commit that made the same change, so it never holds an entry the file does not.
#[derive(Default)]
struct Tail {
    first: u64,
    /// Each entry with its encoded size.
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl Tail {
    fn end(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    fn push(&mut self, entry: Entry, size: usize) {
        if self.entries.is_empty() || entry.log_id.index != self.end() {
            self.entries.clear();
            self.bytes = 0;
            self.first = entry.log_id.index;
        }
        self.entries.push_back((entry, size));
        self.bytes += size;
        while self.entries.len() > TAIL_ENTRIES || self.bytes > TAIL_BYTES {
            let Some((_, size)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= size;
            self.first += 1;
        }
    }

    /// Forgets entries from `index` on.
    fn truncate(&mut self, index: u64) {
        let keep = index
            .saturating_sub(self.first)
            .min(self.entries.len() as u64);
        for (_, size) in self.entries.drain(keep as usize..) {
            self.bytes -= size;
        }
    }

    /// Forgets entries up to and including `index`.
    fn purge(&mut self, index: u64) {
        while self.first <= index {
            let Some((_, size)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= size;
            self.first += 1;
        }
    }

    /// The first entries of `start..end` within `budget` encoded bytes (at least one), when
    /// they are here: `None` when `start` is not, or when the tail ends before the budget or
    /// `end` does.
    fn prefix(&self, start: u64, end: u64, budget: usize) -> Option<Vec<Entry>> {
        if start < self.first || start >= end || start >= self.end() {
            return None;
        }
        let mut out = Vec::new();
        let mut bytes = 0;
        for (entry, size) in self.entries.range((start - self.first) as usize..) {
            if entry.log_id.index >= end || (!out.is_empty() && bytes + size > budget) {
                return Some(out);
            }
            bytes += size;
            out.push(entry.clone());
        }
        (out.len() as u64 == end - start).then_some(out)
    }

    /// The entries `start..end`, when all of them are here.
    fn get(&self, start: u64, end: u64) -> Option<Vec<Entry>> {
        if self.entries.is_empty() || start < self.first || start > end || end > self.end() {
            return None;
        }
        let from = (start - self.first) as usize;
        let to = (end - self.first) as usize;
        Some(
            self.entries
                .range(from..to)
                .map(|(entry, _)| entry.clone())
                .collect(),
        )
    }
}

impl LogStore {
    pub fn open(path: &Path) -> Result<LogStore, StorageError> {
        let db = Database::builder()
            .set_cache_size(LOG_CACHE_BYTES)
            .create(path)
            .map_err(|e| {
                StorageError::from_io_error(
                    ErrorSubject::Logs,
                    ErrorVerb::Read,
                    std::io::Error::other(format!("{}: {e}", path.display())),
                )
            })?;
        let store = LogStore {
            db: Arc::new(db),
            tail: Arc::default(),
            committed: Arc::default(),
        };
        store.write(ErrorSubject::Logs, |txn| {
            txn.open_table(LOG)?;
            txn.open_table(META)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// One durable write transaction.
    fn write(
        &self,
        subject: ErrorSubject<u64>,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), StorageError> {
        block(|| {
            let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
            txn.set_durability(Durability::Immediate)
                .map_err(redb::Error::from)?;
            f(&txn)?;
            txn.commit().map_err(redb::Error::from)
        })
        .map_err(|e| redb_err(subject, ErrorVerb::Write, e))
    }

    fn read_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StorageError> {
        let subject = ErrorSubject::Store;
        let bytes = block(|| -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(META)?;
            Ok(table.get(key)?.map(|v| v.value().to_vec()))
        })
        .map_err(|e| redb_err(subject.clone(), ErrorVerb::Read, e))?;
        bytes
            .map(|b| codec::decode(&b).map_err(|e| redb_err(subject, ErrorVerb::Read, e)))
            .transpose()
    }

    fn last_entry_id(&self) -> Result<Option<LogId>, StorageError> {
        let bytes = block(|| -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(LOG)?;
            Ok(table.last()?.map(|(_, v)| v.value().to_vec()))
        })
        .map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        let Some(bytes) = bytes else { return Ok(None) };
        let entry: Entry =
            codec::decode(&bytes).map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        Ok(Some(entry.log_id))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) => Bound::Included(e),
            Bound::Excluded(&e) => Bound::Excluded(e),
            Bound::Unbounded => Bound::Unbounded,
        };
        {
            let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
            let stop = match end {
                Bound::Included(e) => e.saturating_add(1),
                Bound::Excluded(e) => e,
                Bound::Unbounded => tail.end(),
            };
            if let Some(entries) = tail.get(start, stop) {
                return Ok(entries);
            }
        }
        let raw = block(|| -> Result<Vec<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(LOG)?;
            let mut out = Vec::new();
            for item in table.range::<u64>((Bound::Included(start), end))? {
                let (_, v) = item?;
                out.push(v.value().to_vec());
            }
            Ok(out)
        })
        .map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        raw.iter()
            .map(|b| codec::decode(b).map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Read, e)))
            .collect()
    }

    /// What replication sends in one AppendEntries: at most [`REPLICATION_BYTES`] of entries.
    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, StorageError> {
        self.bounded_entries(start, end, REPLICATION_BYTES)
    }
}

impl LogStore {
    /// The first entries of `start..end` within `budget` encoded bytes (at least one entry when
    /// the range is not empty), from the tail when it holds them, else from redb.
    fn bounded_entries(
        &self,
        start: u64,
        end: u64,
        budget: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        if start >= end {
            return Ok(Vec::new());
        }
        {
            let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(entries) = tail.prefix(start, end, budget) {
                return Ok(entries);
            }
        }
        let raw = block(|| -> Result<Vec<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(LOG)?;
            let mut out: Vec<Vec<u8>> = Vec::new();
            let mut bytes = 0;
            for item in table.range::<u64>(start..end)? {
                let (_, v) = item?;
                let v = v.value();
                if !out.is_empty() && bytes + v.len() > budget {
                    break;
                }
                bytes += v.len();
                out.push(v.to_vec());
            }
            Ok(out)
        })
        .map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
        raw.iter()
            .map(|b| codec::decode(b).map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Read, e)))
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.read_meta(PURGED_KEY)?;
        let last_log_id = self.last_entry_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let bytes =
            codec::encode(vote).map_err(|e| redb_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.write(ErrorSubject::Vote, |txn| {
            txn.open_table(META)?.insert(VOTE_KEY, bytes.as_slice())?;
            Ok(())
        })
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.read_meta(VOTE_KEY)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        *self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        self.read_meta(COMMITTED_KEY)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut encoded = Vec::with_capacity(entries.len());
        for entry in &entries {
            let bytes = codec::encode(entry)
                .map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
            encoded.push((entry.log_id.index, bytes));
        }
        let committed = *self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let committed = committed
            .map(|id| codec::encode(&id))
            .transpose()
            .map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        let result = self.write(ErrorSubject::Logs, |txn| {
            let mut table = txn.open_table(LOG)?;
            for (index, bytes) in &encoded {
                table.insert(*index, bytes.as_slice())?;
            }
            if let Some(bytes) = &committed {
                txn.open_table(META)?
                    .insert(COMMITTED_KEY, bytes.as_slice())?;
            }
            Ok(())
        });
        if result.is_ok() {
            let mut tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
            for (entry, (_, bytes)) in entries.into_iter().zip(&encoded) {
                tail.push(entry, bytes.len());
            }
        }
        match &result {
            Ok(()) => callback.log_io_completed(Ok(())),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        result
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write(ErrorSubject::Logs, |txn| {
            let mut table = txn.open_table(LOG)?;
            table.retain_in(log_id.index.., |_, _| false)?;
            Ok(())
        })?;
        self.tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .truncate(log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let bytes = codec::encode(&log_id)
            .map_err(|e| redb_err(ErrorSubject::Logs, ErrorVerb::Delete, e))?;
        self.write(ErrorSubject::Logs, |txn| {
            txn.open_table(META)?.insert(PURGED_KEY, bytes.as_slice())?;
            let mut table = txn.open_table(LOG)?;
            table.retain_in(..=log_id.index, |_, _| false)?;
            Ok(())
        })?;
        self.tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .purge(log_id.index);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(index: u64) -> Entry {
        Entry {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(1, 1), index),
            payload: openraft::EntryPayload::Blank,
        }
    }

    fn indices(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.log_id.index).collect()
    }

    /// A store whose file holds blank entries `1..=n`; its tail holds none of them.
    fn store_with(dir: &tempfile::TempDir, n: u64) -> (LogStore, usize) {
        let store = LogStore::open(&dir.path().join("log.redb")).expect("a log store");
        let size = codec::encode(&blank(1)).expect("encoded").len();
        store
            .write(ErrorSubject::Logs, |txn| {
                let mut table = txn.open_table(LOG)?;
                for index in 1..=n {
                    let bytes = codec::encode(&blank(index)).expect("encoded");
                    table.insert(index, bytes.as_slice())?;
                }
                Ok(())
            })
            .expect("written");
        (store, size)
    }

    #[test]
    fn one_append_entries_carries_at_most_its_byte_budget_and_at_least_one_entry() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (mut store, size) = store_with(&dir, 10);
        let two_and_a_half = 2 * size + size / 2;
        // From redb (the tail is empty).
        let got = store.bounded_entries(1, 11, two_and_a_half).expect("read");
        assert_eq!(indices(&got), [1, 2]);
        let got = store.bounded_entries(4, 11, 0).expect("read");
        assert_eq!(indices(&got), [4], "one entry even over the budget");
        let got = store.bounded_entries(9, 11, usize::MAX).expect("read");
        assert_eq!(indices(&got), [9, 10]);
        assert!(store.bounded_entries(5, 5, size).expect("read").is_empty());
        // From the tail, once it holds them: the sizes it recorded count.
        {
            let mut tail = store.tail.lock().unwrap_or_else(PoisonError::into_inner);
            for index in 5..=10 {
                tail.push(blank(index), REPLICATION_BYTES / 3);
            }
        }
        let got = futures::executor::block_on(store.limited_get_log_entries(5, 11)).expect("read");
        assert_eq!(
            indices(&got),
            [5, 6, 7],
            "three thirds of the replication budget"
        );
        // Entries before the tail come from redb, with the same bound.
        let got = store.bounded_entries(3, 11, two_and_a_half).expect("read");
        assert_eq!(indices(&got), [3, 4]);
    }

    #[test]
    fn a_tail_prefix_stops_at_the_budget_or_the_end_and_defers_to_redb_otherwise() {
        let mut tail = Tail::default();
        for index in 3..=8 {
            tail.push(blank(index), 10);
        }
        let prefix = |start, end, budget| tail.prefix(start, end, budget).map(|e| indices(&e));
        assert_eq!(prefix(3, 9, 25), Some(vec![3, 4]));
        assert_eq!(prefix(4, 6, 1000), Some(vec![4, 5]));
        assert_eq!(prefix(7, 9, 5), Some(vec![7]), "one entry over the budget");
        assert_eq!(prefix(2, 9, 1000), None, "entry 2 is not held");
        assert_eq!(prefix(6, 12, 1000), None, "entries 9.. are not held");
        assert_eq!(prefix(9, 12, 1000), None);
        assert_eq!(prefix(5, 5, 1000), None);
    }

    #[test]
    fn the_tail_keeps_the_newest_entries_within_its_byte_bound_and_follows_truncate_and_purge() {
        let mut tail = Tail::default();
        let size = TAIL_BYTES / 4;
        for index in 1..=6 {
            tail.push(blank(index), size);
        }
        // Only the newest four fit: 3..=6.
        assert_eq!((tail.first, tail.end(), tail.bytes), (3, 7, 4 * size));
        assert!(
            tail.get(2, 4).is_none(),
            "an evicted entry is read from redb"
        );
        let got = tail.get(3, 7).expect("all held");
        assert_eq!(
            got.iter().map(|e| e.log_id.index).collect::<Vec<_>>(),
            [3, 4, 5, 6]
        );
        tail.truncate(5);
        assert_eq!((tail.end(), tail.bytes), (5, 2 * size));
        assert!(tail.get(3, 6).is_none(), "a truncated entry is not served");
        tail.purge(3);
        assert_eq!((tail.first, tail.bytes), (4, size));
        // A gap (after a snapshot) starts the tail afresh.
        tail.push(blank(9), 1);
        assert_eq!((tail.first, tail.end(), tail.bytes), (9, 10, 1));
    }
}
