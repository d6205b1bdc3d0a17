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
}
