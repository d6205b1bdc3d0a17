//! The only code that knows redb: the Raft log (`log.rs`, file `raft-log.redb`) and the state
//! machine (`state_machine.rs`, file `state.redb`, plus `snapshot.bin`).
//!
//! Two files, because redb has one writer per file: with the log and the state machine apart,
//! openraft's log appends and its state-machine applies fsync in parallel.

// openraft's storage traits prescribe `StorageError`, a large type; boxing it here would only
// move the allocation, not remove it.
#![allow(clippy::result_large_err)]

pub mod codec;
mod log;
mod state_machine;
mod writer;

pub use log::LogStore;
pub use state_machine::{StateMachineStore, StateView};

use crate::raft::types::StorageError;
use openraft::{AnyError, ErrorSubject, ErrorVerb, StorageIOError};
use std::path::Path;

/// File names inside a node's data directory.
pub const LOG_FILE: &str = "raft-log.redb";
pub const STATE_FILE: &str = "state.redb";
pub const SNAPSHOT_FILE: &str = "snapshot.bin";

/// Opens (or creates) both stores of a node's data directory.
pub fn open(data_dir: &Path) -> Result<(LogStore, StateMachineStore), StorageError> {
    let log = LogStore::open(&data_dir.join(LOG_FILE))?;
    let sm = StateMachineStore::open(data_dir)?;
    Ok((log, sm))
}

/// Runs blocking redb work without stalling the other tasks of this runtime worker.
fn block<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn redb_err(
    subject: ErrorSubject<u64>,
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::new(&e)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::TypeConfig;
    use openraft::testing::{StoreBuilder, Suite};

    struct Builder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for Builder {
        async fn build(
            &self,
        ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let (log, sm) = open(dir.path())?;
            Ok((dir, log, sm))
        }
    }

    /// openraft's own conformance suite for log and state-machine storage.
    #[test]
    fn openraft_storage_suite() -> Result<(), StorageError> {
        Suite::test_all(Builder)
    }

    fn put_app(index: u64, id: &str, instances: u32) -> crate::raft::types::Entry {
        use crate::state::app::{AppInput, parse_app};
        use crate::state::{Batch, Command, Deploy, PutMode, Request, ids::DeploymentId};
        let body = format!(r#"{{"id": "{id}", "cmd": "sleep 1", "instances": {instances}}}"#);
        let app = parse_app(body.as_bytes(), AppInput::Create).expect("a valid app");
        let command = Command::PutApp {
            app: std::sync::Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: Deploy {
                id: DeploymentId(format!("d{index}").into()),
                force: true,
            },
        };
        let time = crate::state::time::Timestamp(1_000 + index as i64);
        openraft::Entry {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(1, 1), index),
            payload: openraft::EntryPayload::Normal(Batch::new(vec![Request::new(
                time, None, command,
            )])),
        }
    }

    /// The state after applying `entries` to an empty state, as rows.
    fn replayed(entries: &[crate::raft::types::Entry]) -> Vec<crate::state::Row> {
        let mut state = crate::state::State::default();
        for entry in entries {
            if let openraft::EntryPayload::Normal(batch) = &entry.payload {
                for (slot, request) in batch.requests().iter().enumerate() {
                    let _answer = state.apply((entry.log_id.index, slot as u32), request);
                }
            }
        }
        state.rows().expect("rows")
    }

    /// Twelve apps written over and over, so that writes of one row coalesce.
    fn entries(n: u64) -> Vec<crate::raft::types::Entry> {
        (1..=n)
            .map(|index| put_app(index, &format!("/sm/a{}", index % 12), index as u32 % 7))
            .collect()
    }

    /// A store dropped (a clean shutdown) has written every applied row and its last-applied
    /// id: the reopened store neither loses nor re-applies an entry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reopened_state_machine_holds_every_applied_row() {
        use openraft::storage::RaftStateMachine;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let entries = entries(150);
        {
            let (_, mut sm) = open(dir.path()).expect("the store opens");
            for chunk in entries.chunks(7) {
                sm.apply(chunk.to_vec()).await.expect("applied");
            }
        }
        let (_, mut reopened) = open(dir.path()).expect("the store reopens");
        let (applied, _) = reopened.applied_state().await.expect("applied state");
        assert_eq!(applied.map(|id| id.index), Some(150));
        let view = reopened.subscribe_view().borrow().clone();
        assert_eq!(view.state.rows().expect("rows"), replayed(&entries));
        assert_eq!(view.state.apps().count(), 12);
    }

    /// After a crash the tables hold the state as of their own last-applied id, older than the
    /// newest applied entry; openraft's start-up re-applies the rest from the log, up to the
    /// committed id the log store kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crashed_state_machine_is_completed_from_the_log_at_start_up() {
        use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
        let dir = tempfile::tempdir().expect("a temporary directory");
        let entries = entries(120);
        {
            let (mut log, mut sm) = open(dir.path()).expect("the store opens");
            // A real log starts at index 0 (the initial membership).
            let first = openraft::Entry {
                log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(1, 1), 0),
                payload: openraft::EntryPayload::Blank,
            };
            log.blocking_append([first].into_iter().chain(entries.clone()))
                .await
                .expect("appended");
            sm.apply(entries[..80].to_vec()).await.expect("applied");
            sm.flush().await.expect("flushed");
            // The tables stop at 80; applies go on in memory up to 120.
            sm.hold_writes();
            sm.apply(entries[80..].to_vec()).await.expect("applied");
            log.save_committed(Some(entries[119].log_id))
                .await
                .expect("committed saved");
            // The committed id is written with the next append.
            log.blocking_append(vec![put_app(121, "/sm/uncommitted", 1)])
                .await
                .expect("appended");
            sm.crash();
        }
        let (mut log, mut sm) = open(dir.path()).expect("the store reopens");
        let (applied, _) = sm.applied_state().await.expect("applied state");
        assert_eq!(
            applied.map(|id| id.index),
            Some(80),
            "the tables as flushed"
        );
        assert_eq!(
            sm.subscribe_view().borrow().state.rows().expect("rows"),
            replayed(&entries[..80])
        );
        openraft::storage::StorageHelper::new(&mut log, &mut sm)
            .get_initial_state()
            .await
            .expect("the initial state");
        let (applied, _) = sm.applied_state().await.expect("applied state");
        assert_eq!(
            applied.map(|id| id.index),
            Some(120),
            "re-applied to the committed id"
        );
        assert_eq!(
            sm.subscribe_view().borrow().state.rows().expect("rows"),
            replayed(&entries),
            "every committed entry, and not the uncommitted one"
        );
    }
}
