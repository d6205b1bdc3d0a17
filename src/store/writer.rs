//! The state machine's table writer: a thread that writes the rows applies touched into
//! `state.redb`, off the apply path.
//!
//! `apply` changes only the in-memory [`State`](crate::state::State) and hands the writer the
//! new view and the keys it touched. The writer gathers what arrives for up to
//! [`WRITE_INTERVAL`] after its last commit, then writes the newest image of every touched row
//! together with the newest view's last-applied log id and membership in one durable
//! transaction. A row written a hundred times meanwhile costs one encode and one insert, and a
//! deployment created and finished within the interval costs nothing.
//!
//! So the tables always hold the state as of exactly their last-applied log id (the invariant
//! of DESIGN.md), possibly behind the newest applied entry. The Raft log holds every entry after
//! it: a restarted node re-applies them up to the committed id the log store kept (openraft's
//! start-up does this), or as the leader sends its commit index. The log is purged only behind a
//! snapshot, and building a snapshot first [`flush`](Writer::flush)es the writer, so the entries
//! the tables miss are never purged.

use super::codec;
use super::state_machine::{LAST_APPLIED_KEY, MEMBERSHIP_KEY, META, StateView, table};
use crate::state::RowKey;
use redb::{Database, Durability};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest the writer gathers applies before a commit: longer spares more rewrites of rows
/// written again meanwhile; shorter leaves fewer entries to re-apply after a crash.
pub(super) const WRITE_INTERVAL: Duration = Duration::from_millis(250);

/// The rows applies touched, in the order they touched them, repeats included: the writer sorts
/// and deduplicates them once per commit, cheaper than keeping a set through every apply.
pub(super) type RowKeys = Vec<RowKey>;

enum Job {
    Rows(Arc<StateView>, RowKeys),
    /// Answered once everything sent before it is durable.
    Flush(tokio::sync::oneshot::Sender<()>),
}

pub(super) struct Writer {
    jobs: Option<Sender<Job>>,
    /// The first failed write; every later `write` and `flush` reports it.
    failure: Arc<Mutex<Option<String>>>,
    /// Tests: while set, the writer gathers but does not write.
    #[cfg_attr(not(test), allow(dead_code))]
    held: Arc<AtomicBool>,
    /// Tests: when set, the writer exits without writing what it gathered (a crash).
    #[cfg_attr(not(test), allow(dead_code))]
    abandoned: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(db: Arc<Database>) -> std::io::Result<Writer> {
        let (jobs, rx) = channel();
        let failure = Arc::new(Mutex::new(None));
        let held = Arc::new(AtomicBool::new(false));
        let abandoned = Arc::new(AtomicBool::new(false));
        let thread = {
            let (failure, held, abandoned) = (
                Arc::clone(&failure),
                Arc::clone(&held),
                Arc::clone(&abandoned),
            );
            std::thread::Builder::new()
                .name("state-writer".into())
                .spawn(move || run(&db, &rx, &failure, &held, &abandoned))?
        };
        Ok(Writer {
            jobs: Some(jobs),
            failure,
            held,
            abandoned,
            thread: Some(thread),
        })
    }

    /// A handle that can flush the writer from elsewhere (the snapshot builder).
    pub(super) fn flusher(&self) -> Flusher {
        Flusher {
            jobs: self.jobs.clone(),
            failure: Arc::clone(&self.failure),
        }
    }

    /// Queues the rows `keys` as they are in `view`, and `view`'s last-applied id.
    pub(super) fn write(&self, view: Arc<StateView>, keys: RowKeys) -> Result<(), String> {
        send(&self.jobs, &self.failure, Job::Rows(view, keys))
    }

    /// Returns once everything queued before is durable in the tables.
    pub(super) async fn flush(&self) -> Result<(), String> {
        self.flusher().flush().await
    }

    /// Tests: stop writing until released (`false`).
    #[cfg(test)]
    pub(super) fn hold(&self, held: bool) {
        self.held.store(held, Ordering::SeqCst);
    }

    /// Tests: exit like a crash, leaving unwritten whatever was not written yet.
    #[cfg(test)]
    pub(super) fn crash(mut self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.stop();
    }

    fn stop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Flushes a [`Writer`] without owning it.
pub(super) struct Flusher {
    jobs: Option<Sender<Job>>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Flusher {
    /// Returns once everything queued before is durable in the tables.
    pub(super) async fn flush(&self) -> Result<(), String> {
        let (done, wait) = tokio::sync::oneshot::channel();
        send(&self.jobs, &self.failure, Job::Flush(done))?;
        wait.await
            .map_err(|_| "the state writer stopped before it flushed".to_string())?;
        failed(&self.failure)
    }
}

fn failed(failure: &Mutex<Option<String>>) -> Result<(), String> {
    match &*failure.lock().unwrap_or_else(PoisonError::into_inner) {
        Some(e) => Err(e.clone()),
        None => Ok(()),
    }
}

fn send(
    jobs: &Option<Sender<Job>>,
    failure: &Mutex<Option<String>>,
    job: Job,
) -> Result<(), String> {
    failed(failure)?;
    jobs.as_ref()
        .and_then(|jobs| jobs.send(job).ok())
        .ok_or_else(|| "the state writer has stopped".to_string())
}

impl Drop for Writer {
    /// Writes what is queued, then ends the thread.
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    db: &Database,
    jobs: &Receiver<Job>,
    failure: &Mutex<Option<String>>,
    held: &AtomicBool,
    abandoned: &AtomicBool,
) {
    let mut last_write = Instant::now();
    let mut view: Option<Arc<StateView>> = None;
    let mut keys = RowKeys::new();
    let mut flushes = Vec::new();
    loop {
        let mut open = true;
        let deadline = last_write + WRITE_INTERVAL;
        // Gather until the interval is up, a flush is asked for, or the store is dropped.
        while flushes.is_empty() || held.load(Ordering::SeqCst) {
            let job = if held.load(Ordering::SeqCst) {
                jobs.recv_timeout(Duration::from_millis(10))
            } else if view.is_none() && flushes.is_empty() {
                jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                jobs.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            };
            match job {
                Ok(Job::Rows(v, k)) => {
                    view = Some(v);
                    keys.extend(k);
                }
                Ok(Job::Flush(done)) => flushes.push(done),
                Err(RecvTimeoutError::Timeout) if held.load(Ordering::SeqCst) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if abandoned.load(Ordering::SeqCst) {
            return;
        }
        if let Some(v) = view.take() {
            let mut rows = std::mem::take(&mut keys);
            rows.sort_unstable();
            rows.dedup();
            if let Err(e) = write(db, &v, &rows) {
                tracing::error!(error = %e, "writing the state machine's tables failed");
                failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e.to_string());
            }
            last_write = Instant::now();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if !open {
            return;
        }
    }
}

/// One durable transaction: the newest image of each row in `keys` and `view`'s meta.
fn write(db: &Database, view: &StateView, keys: &RowKeys) -> Result<(), redb::Error> {
    let Some(applied) = view.applied else {
        return Ok(());
    };
    let corrupt = |e: &dyn std::fmt::Display| redb::Error::Corrupted(e.to_string());
    let applied = codec::encode(&Some(applied)).map_err(|e| corrupt(&e))?;
    let membership = codec::encode(&view.membership).map_err(|e| corrupt(&e))?;
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut rows = keys.iter().peekable();
        let mut text = String::new();
        while let Some(first) = rows.peek() {
            let t = first.table();
            let mut tbl = txn.open_table(table(t))?;
            while let Some(key) = rows.next_if(|k| k.table() == t) {
                key.write_text(&mut text);
                match view.state.row(key).map_err(|e| corrupt(&e))? {
                    Some(bytes) => drop(tbl.insert(text.as_str(), bytes.as_slice())?),
                    None => drop(tbl.remove(text.as_str())?),
                }
            }
        }
        let mut meta = txn.open_table(META)?;
        meta.insert(LAST_APPLIED_KEY, applied.as_slice())?;
        meta.insert(MEMBERSHIP_KEY, membership.as_slice())?;
    }
    txn.commit()?;
    Ok(())
}
