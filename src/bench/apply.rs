//! The state machine alone, in one process: the core benchmark's app writes applied in batches
//! to a node's store on a temporary folder, the way a follower applies them. It separates what
//! one write costs each node in CPU (decoding the entry, applying it, the writer thread's
//! durable rows) from the network, the log and the gRPC front end, which `bench core` measures
//! together; and, being single-process and deterministic, it is steady enough to compare builds
//! on a noisy machine.

use super::cluster::threads_named;
use super::core::app_json;
use crate::raft::types::{Entry, LogId};
use crate::state::app::{AppInput, parse_app};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Batch, Command, MAX_APP_VERSIONS, PutMode, Request};
use crate::store::{StateMachineStore, codec};
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// App writes applied in each run.
    #[arg(long, default_value_t = 50_000)]
    pub writes: usize,
    /// Writes per log entry (a 256-client `bench core` run applies ~47 at a time).
    #[arg(long, default_value_t = 47)]
    pub batch: usize,
    /// Distinct apps written in turn (`bench core`: 256 clients × 8).
    #[arg(long, default_value_t = 2048)]
    pub apps: usize,
    /// Runs; the figures are their medians.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Writes per second the entries are applied at (0: as fast as they go). The writer's
    /// cost per write depends on it: each of its commits writes a row once however often it
    /// changed since the last. The default is `bench core`'s 256-client target.
    #[arg(long, default_value_t = 20_000)]
    pub rate: u64,
}

/// CPU time this thread has run: exact, where another thread's `schedstat` lags by up to a
/// scheduler tick while the thread runs.
fn own_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU time another thread has run, from its `schedstat` (a `/proc/self/task/TID` folder): the
/// per-tick counts of `stat` are too coarse. Read once it has gone idle, it is exact.
fn thread_cpu(task: &Path) -> Duration {
    let ns = std::fs::read_to_string(task.join("schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// The batch of log entry `index`: `batch` writes of the apps in turn, as `bench core` sends
/// them (a replacement that creates a missing app, with a new instance count, forced).
fn entry(index: u64, args: &ApplyArgs) -> anyhow::Result<Entry> {
    let mut requests = Vec::with_capacity(args.batch);
    for slot in 0..args.batch {
        let n = (index as usize - 1) * args.batch + slot;
        let id = format!("/bench/c{}/a{}", (n / 8) % args.apps.div_ceil(8), n % 8);
        let body = app_json(&id, n as u64 % 5);
        let path = PathId::parse(&id, None).map_err(anyhow::Error::msg)?;
        let app = parse_app(body.as_bytes(), AppInput::Replace { id: &path })
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let command = Command::PutApp {
            app: Arc::new(app),
            expected_revision: None,
            mode: PutMode::Upsert,
            deploy: crate::api::apps::deploy(true),
        };
        requests.push(Request::new(
            Timestamp(1_700_000_000_000 + n as i64),
            None,
            command,
        ));
    }
    Ok(Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(Batch::new(requests)),
    })
}

struct Run {
    decode: Duration,
    apply: Duration,
    writer: Duration,
    bytes: usize,
}

async fn run_once(args: &ApplyArgs) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let mut sm = StateMachineStore::open(dir.path()).map_err(anyhow::Error::msg)?;
    // The writer names its thread once it runs.
    let mut writer = threads_named("state-writer");
    for _ in 0..100 {
        if !writer.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        writer = threads_named("state-writer");
    }
    anyhow::ensure!(
        writer.len() == 1,
        "expected one state writer, found {writer:?}"
    );
    // Unmeasured, as fast as it goes: every app gets its full version history, so that the
    // measured writes each trim the oldest version, as in a cluster that has run a while.
    let warm = (args.apps * MAX_APP_VERSIONS).div_ceil(args.batch) as u64;
    for index in 1..=warm {
        sm.apply([entry(index, args)?])
            .await
            .map_err(anyhow::Error::msg)?;
    }
    sm.flush().await.map_err(anyhow::Error::msg)?;
    let writer_cpu = || writer.iter().map(|t| thread_cpu(t)).sum::<Duration>();
    let writer_before = writer_cpu();
    let (mut decode, mut apply, mut bytes) = (Duration::ZERO, Duration::ZERO, 0);
    let entries = args.writes.div_ceil(args.batch) as u64;
    let start = tokio::time::Instant::now();
    for index in warm + 1..=warm + entries {
        if args.rate > 0 {
            let due = Duration::from_secs_f64(
                ((index - warm - 1) * args.batch as u64) as f64 / args.rate as f64,
            );
            tokio::time::sleep_until(start + due).await;
        }
        let encoded = codec::encode(&entry(index, args)?)?;
        bytes += encoded.len();
        // A follower decodes the entry from the leader's message and re-encodes it for its log.
        let t = own_cpu();
        let received: Entry = codec::decode(&encoded)?;
        let logged = codec::encode(&received)?;
        decode += own_cpu().saturating_sub(t);
        drop(logged);
        let t = own_cpu();
        sm.apply([received]).await.map_err(anyhow::Error::msg)?;
        apply += own_cpu().saturating_sub(t);
    }
    sm.flush().await.map_err(anyhow::Error::msg)?;
    Ok(Run {
        decode,
        apply,
        writer: writer_cpu().saturating_sub(writer_before),
        bytes,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

pub async fn run(args: ApplyArgs) -> anyhow::Result<()> {
    println!(
        "apply: {} writes of {} apps (each holding {MAX_APP_VERSIONS} versions already) in \
         entries of {} at {} writes/s, {} runs",
        args.writes, args.apps, args.batch, args.rate, args.runs
    );
    let per_write = |d: Duration| d.as_secs_f64() * 1e6 / args.writes as f64;
    let mut runs = Vec::new();
    for i in 0..args.runs {
        let r = run_once(&args).await?;
        println!(
            "run {} decode_us={:.1} apply_us={:.1} writer_us={:.1} entry_bytes_per_write={}",
            i + 1,
            per_write(r.decode),
            per_write(r.apply),
            per_write(r.writer),
            r.bytes / args.writes
        );
        runs.push(r);
    }
    let field = |f: fn(&Run) -> Duration| median(runs.iter().map(|r| per_write(f(r))).collect());
    let (decode, apply, writer) = (field(|r| r.decode), field(|r| r.apply), field(|r| r.writer));
    println!(
        "apply per write (CPU µs, median of {}): decode_and_relog={decode:.1} apply={apply:.1} writer={writer:.1} total={:.1}",
        args.runs,
        decode + apply + writer
    );
    Ok(())
}
