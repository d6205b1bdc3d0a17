//! The only code that knows redb: the Raft log (`log.rs`, file `raft-log.redb`) and the state
//! machine (`state_machine.rs`, file `state.redb`, plus `snapshot.bin`).
//!
//! Two files, because redb has one writer per file: with the log and the state machine apart,
//! openraft's log appends and its state-machine applies fsync in parallel.

// openraft's storage traits prescribe `StorageError`, a large type; boxing it here would only
// move the allocation, not remove it.
#![allow(clippy::result_large_err)]

mod codec;
mod log;
mod state_machine;

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
            app: Box::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: Deploy {
                id: DeploymentId(format!("d{index}")),
                force: true,
            },
        };
        let time = crate::state::time::Timestamp(1_000 + index as i64);
        openraft::Entry {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(1, 1), index),
            payload: openraft::EntryPayload::Normal(Batch(std::sync::Arc::new(vec![
                Request::new(time, None, command),
            ]))),
        }
    }

    /// Applies written to the journal (folded or not) are all there after a restart, and a
    /// reopened store neither loses nor replays one: its last-applied id is the last applied.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reopened_state_machine_has_every_applied_row_folded_or_journalled() {
        use openraft::storage::RaftStateMachine;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let applies = super::state_machine::FOLD_EVERY as u64 * 2 + 5;
        let expected = {
            let (_, mut sm) = open(dir.path()).expect("the store opens");
            for index in 1..=applies {
                // Twelve apps written over and over: folds keep only the newest image.
                let id = format!("/journal/a{}", index % 12);
                sm.apply(vec![put_app(index, &id, index as u32 % 7)])
                    .await
                    .expect("applied");
            }
            sm.subscribe_view().borrow().clone()
        };
        let (_, mut reopened) = open(dir.path()).expect("the store reopens");
        let (applied, _) = reopened.applied_state().await.expect("applied state");
        assert_eq!(applied.map(|id| id.index), Some(applies));
        let view = reopened.subscribe_view().borrow().clone();
        assert_eq!(
            view.state.rows().expect("rows"),
            expected.state.rows().expect("rows"),
            "every row as it was before the restart"
        );
        assert_eq!(view.state.apps().count(), 12);
    }
}
