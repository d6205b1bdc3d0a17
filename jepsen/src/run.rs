//! One run, from inside the network namespace: start the cluster, run the clients and the
//! nemesis until the time limit, heal everything, let the cluster recover, read everything back,
//! stop. Everything lands in the run folder; checking happens afterwards, on the history alone.

use crate::cluster::{Cluster, ClusterOptions, NodeId, channel, grpc_addr};
use crate::history::Recorder;
use crate::nemesis::{Nemesis, plan};
use crate::net::Firewall;
use crate::spec::{RunSpec, WorkloadKind};
use crate::workload::client::Apps;
use crate::workload::{Worker, Workload, register, scheduling, set};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub const HISTORY: &str = "history.jsonl";
pub const SCHEDULE: &str = "schedule.json";
/// What happened besides the history: the final heal, problems, timings.
pub const NOTES: &str = "run.json";

/// How long the cluster may take to settle after the final heal.
const SETTLE: Duration = Duration::from_secs(60);
/// How long the final reads keep trying.
const FINAL_READS: Duration = Duration::from_secs(60);
/// How long the scheduling workload's final scale keeps trying, and then how long the tasks may
/// take to match it.
const CONVERGE: Duration = Duration::from_secs(60);
/// A client gives up connecting to a node after this long (definitely never sent).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// How many workers each workload gets: scheduling a sixth (at least one) when it runs beside
/// others; of the rest, a third (at least one) for the set when both registers and set run.
fn split(concurrency: usize, workloads: &[WorkloadKind]) -> Vec<(WorkloadKind, usize)> {
    let has = |w| workloads.contains(&w);
    let others = has(WorkloadKind::Register) || has(WorkloadKind::Set);
    let scheduling = match (has(WorkloadKind::Scheduling), others) {
        (false, _) => 0,
        (true, true) => (concurrency / 6).max(1),
        (true, false) => concurrency.max(1),
    };
    let concurrency = concurrency.saturating_sub(scheduling);
    let mut out = match (has(WorkloadKind::Register), has(WorkloadKind::Set)) {
        (true, true) => {
            let set = (concurrency / 3).max(1);
            vec![
                (
                    WorkloadKind::Register,
                    concurrency.saturating_sub(set).max(1),
                ),
                (WorkloadKind::Set, set),
            ]
        }
        (true, false) => vec![(WorkloadKind::Register, concurrency.max(1))],
        (false, true) => vec![(WorkloadKind::Set, concurrency.max(1))],
        (false, false) => Vec::new(),
    };
    if scheduling > 0 {
        out.push((WorkloadKind::Scheduling, scheduling));
    }
    out
}

/// Cancels `cancel` on SIGINT or SIGTERM.
fn cancel_on_signal(cancel: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!("jepsen: interrupted; stopping the cluster");
        cancel.cancel();
    });
    Ok(())
}

/// Runs the test described by `dir/spec.json`, writing the history and notes into `dir`.
pub async fn run_inside(dir: &Path) -> anyhow::Result<()> {
    let spec = RunSpec::load(dir)?;
    let cancel = CancellationToken::new();
    cancel_on_signal(cancel.clone())?;
    let firewall = Firewall::install()?;
    let ids: Vec<NodeId> = (1..=spec.nodes as NodeId).collect();
    let steps = plan::plan(
        spec.seed,
        &spec.faults,
        &ids,
        spec.time_limit(),
        spec.interval(),
    );
    std::fs::write(
        dir.join(SCHEDULE),
        serde_json::to_string_pretty(&steps)? + "\n",
    )?;

    // Created first, so that even a run that fails to start leaves a (short) history.
    let recorder = Recorder::create(&dir.join(HISTORY))?;
    eprintln!("jepsen: starting {} nodes and mesos-local", spec.nodes);
    let cluster = Cluster::start(ClusterOptions {
        baton: spec.baton.clone(),
        dir: dir.to_path_buf(),
        nodes: spec.nodes,
        faketime_lib: spec.faketime_lib.clone(),
    })
    .await?;

    let mut workers = Vec::new();
    let concurrency: usize = split(spec.concurrency, &spec.workloads)
        .iter()
        .map(|(_, n)| n)
        .sum();
    for (kind, count) in split(spec.concurrency, &spec.workloads) {
        let workload = match kind {
            WorkloadKind::Register => {
                Workload::Register(Arc::new(register::Registers::new(spec.ops_per_key)))
            }
            WorkloadKind::Set => Workload::Set(Arc::new(set::Elements::default())),
            WorkloadKind::Scheduling => Workload::Scheduling,
        };
        for _ in 0..count {
            let channels = ids
                .iter()
                .map(|&id| channel(&grpc_addr(id), CONNECT_TIMEOUT))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let apps = Apps::new(channels, spec.op_timeout());
            let worker = Worker::new(
                workers.len(),
                concurrency,
                spec.seed,
                apps,
                recorder.clone(),
            );
            workers.push((worker, workload.clone()));
        }
    }

    eprintln!(
        "jepsen: {} clients and {} faults for {} s",
        workers.len(),
        steps.len(),
        spec.time_limit_secs
    );
    let start = Instant::now();
    let until = start + spec.time_limit();
    let mean_pause = Duration::from_secs_f64(concurrency as f64 / spec.rate.max(0.1));
    let handles: Vec<_> = workers
        .into_iter()
        .map(|(worker, workload)| {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                let worker = worker
                    .drive(workload.clone(), mean_pause, until, cancel)
                    .await;
                (worker, workload)
            })
        })
        .collect();
    let sampling = cancel.child_token();
    let sampler = if spec.workloads.contains(&WorkloadKind::Scheduling) {
        let channels = ids
            .iter()
            .map(|&id| Ok((id, channel(&grpc_addr(id), CONNECT_TIMEOUT)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let sampler = scheduling::Sampler::new(channels, recorder.clone())?;
        Some(tokio::spawn(sampler.run(sampling.clone())))
    } else {
        None
    };
    let mut nemesis = Nemesis::new(cluster, firewall, recorder.clone(), spec.seed);
    nemesis.run(&steps, start, &cancel).await;
    let mut workers = Vec::new();
    for handle in handles {
        workers.push(handle.await?);
    }
    anyhow::ensure!(!cancel.is_cancelled(), "interrupted");
    let main_phase = start.elapsed();

    eprintln!("jepsen: final heal");
    let healed = nemesis.heal_all(SETTLE).await;
    let settled_after = start.elapsed() - main_phase;
    if let Err(e) = &healed {
        eprintln!("jepsen: {e:#}");
    }
    tokio::select! {
        _ = cancel.cancelled() => anyhow::bail!("interrupted"),
        _ = tokio::time::sleep(Duration::from_secs(spec.recovery_secs)) => {}
    }

    eprintln!("jepsen: final reads");
    let reads_until = Instant::now() + FINAL_READS;
    let mut done = std::collections::HashSet::new();
    for (worker, workload) in &mut workers {
        match workload {
            Workload::Register(r) if done.insert("register") => {
                register::final_reads(worker, r, reads_until).await
            }
            Workload::Set(_) if done.insert("set") => set::final_read(worker, reads_until).await,
            _ => {}
        }
    }
    if let Some(sampler) = sampler {
        sampling.cancel();
        let mut sampler = sampler.await?;
        let scaler = workers
            .iter_mut()
            .find(|(_, w)| matches!(w, Workload::Scheduling))
            .map(|(worker, _)| worker)
            .expect("the scheduling workload has a worker");
        eprintln!("jepsen: final scale; waiting for the tasks to match");
        let targets = scheduling::final_scale(scaler, Instant::now() + CONVERGE).await;
        if !sampler.settle(&targets, Instant::now() + CONVERGE).await {
            eprintln!("jepsen: the tasks did not match {targets:?} within {CONVERGE:?}");
        }
        sampler.launches(dir).await;
    }

    let (mut cluster, problems) = nemesis.into_parts();
    cluster.reap_exited();
    let notes = cluster.notes().to_vec();
    cluster.stop();
    recorder.finish()?;
    let run_notes = json!({
        "completed": true,
        "main_phase_ms": main_phase.as_millis() as u64,
        "healed": healed.as_ref().map_or_else(|e| json!({"error": format!("{e:#}")}), |leader| json!({"leader": crate::cluster::node_name(*leader)})),
        "heal_and_settle_ms": settled_after.as_millis() as u64,
        "faults_planned": steps.len(),
        "nemesis_problems": problems,
        "cluster_notes": notes,
    });
    std::fs::write(
        dir.join(NOTES),
        serde_json::to_string_pretty(&run_notes)? + "\n",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_workloads_share_the_clients_with_the_set_taking_a_third() {
        let both = [WorkloadKind::Register, WorkloadKind::Set];
        assert_eq!(
            split(6, &both),
            vec![(WorkloadKind::Register, 4), (WorkloadKind::Set, 2)]
        );
        assert_eq!(
            split(2, &both),
            vec![(WorkloadKind::Register, 1), (WorkloadKind::Set, 1)]
        );
        assert_eq!(split(5, &[WorkloadKind::Set]), vec![(WorkloadKind::Set, 5)]);
        assert!(split(5, &[]).is_empty());
    }

    #[test]
    fn scheduling_takes_a_sixth_beside_others_and_everything_alone() {
        use WorkloadKind::*;
        assert_eq!(
            split(6, &[Register, Set, Scheduling]),
            vec![(Register, 4), (Set, 1), (Scheduling, 1)]
        );
        assert_eq!(
            split(12, &[Register, Scheduling]),
            vec![(Register, 10), (Scheduling, 2)]
        );
        assert_eq!(split(6, &[Scheduling]), vec![(Scheduling, 6)]);
    }
}
