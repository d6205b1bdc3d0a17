//! The harness's CLI. A run: make the run folder and a private network namespace, run this
//! binary again inside the namespace (`--inside`, where the cluster, clients and nemesis live),
//! then tear the namespace down, check the history and write the report. Exit status: 0 when
//! every checker says valid, 1 on a violation, 2 when something could not be decided (or the run
//! itself failed), 130 when interrupted.

use anyhow::Context;
use clap::Parser;
use jepsen::checker::{self, CheckResult, SetOptions, Validity};
use jepsen::spec::{FaultKind, RunSpec, WorkloadKind};
use jepsen::{history, host, net, report, run};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "jepsen",
    about = "baton's Jepsen: a real cluster in a private network namespace, concurrent clients, \
             faults, a history, and checkers"
)]
struct Cli {
    /// Cluster size.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=9))]
    nodes: u64,
    /// Workloads, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "register,set")]
    workload: Vec<WorkloadKind>,
    /// Faults, comma-separated; `none` for a fault-free run.
    #[arg(long, value_delimiter = ',', default_value = "partition,kill,pause")]
    nemesis: Vec<NemesisArg>,
    /// Seconds of clients and faults, before the final heal.
    #[arg(long, default_value_t = 60)]
    time_limit: u64,
    /// Seeds the fault schedule and the clients' choices (random when not given; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Where run folders go (one per run, named by time and seed).
    #[arg(long, default_value = "store")]
    out: PathBuf,
    /// The baton binary to test (default: the one next to this binary, i.e. target/release/baton).
    #[arg(long, env = "BATON")]
    baton: Option<PathBuf>,
    /// Mean seconds between fault changes.
    #[arg(long, default_value_t = 8.0)]
    interval: f64,
    /// Client processes at once (default: twice the nodes, at least 5).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Client operations per second, all clients together.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Milliseconds one client call may take before its outcome counts as unknown.
    #[arg(long, default_value_t = 2500)]
    op_timeout_ms: u64,
    /// Seconds between the final heal and the final reads.
    #[arg(long, default_value_t = 5)]
    recovery: u64,
    /// Operations per register key before clients move on to a fresh key.
    #[arg(long, default_value_t = 150)]
    ops_per_key: u64,
    /// Seconds the linearizability checker may search before it answers "unknown".
    #[arg(long, default_value_t = 60)]
    check_budget: u64,
    /// Only check (again) the run in this folder, and rewrite its report.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "inside")]
    check: Option<PathBuf>,
    /// Internal: run the test described by RUN_DIR/spec.json (inside the network namespace).
    #[arg(long, value_name = "RUN_DIR", hide = true)]
    inside: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NemesisArg {
    Partition,
    Kill,
    Pause,
    Clock,
    Membership,
    None,
}

impl Cli {
    fn faults(&self) -> Vec<FaultKind> {
        let mut faults: Vec<FaultKind> = self
            .nemesis
            .iter()
            .filter_map(|n| match n {
                NemesisArg::Partition => Some(FaultKind::Partition),
                NemesisArg::Kill => Some(FaultKind::Kill),
                NemesisArg::Pause => Some(FaultKind::Pause),
                NemesisArg::Clock => Some(FaultKind::Clock),
                NemesisArg::Membership => Some(FaultKind::Membership),
                NemesisArg::None => None,
            })
            .collect();
        faults.sort_unstable();
        faults.dedup();
        faults
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = if let Some(dir) = &cli.inside {
        inside(dir)
    } else if let Some(dir) = &cli.check {
        check(dir, Duration::from_secs(cli.check_budget))
    } else {
        outside(&cli)
    };
    result.unwrap_or_else(|e| {
        eprintln!("jepsen: {e:#}");
        ExitCode::from(2)
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Inside the namespace: the run itself.
fn inside(dir: &Path) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run::run_inside(dir))?;
    Ok(ExitCode::SUCCESS)
}

/// Outside: prepare, run inside a fresh namespace, clean up, check.
fn outside(cli: &Cli) -> anyhow::Result<ExitCode> {
    let faults = cli.faults();
    anyhow::ensure!(!cli.workload.is_empty(), "no workload given");
    let faketime_lib = host::ensure_tools(faults.contains(&FaultKind::Clock))?;
    let baton = host::baton_binary(cli.baton.as_deref())?;
    let seed = cli.seed.unwrap_or_else(rand::random);
    let nodes = cli.nodes as usize;
    let spec = RunSpec {
        nodes,
        workloads: cli.workload.clone(),
        faults,
        seed,
        baton,
        time_limit_secs: cli.time_limit,
        interval_secs: cli.interval,
        concurrency: cli.concurrency.unwrap_or((2 * nodes).max(5)),
        rate: cli.rate,
        op_timeout_ms: cli.op_timeout_ms,
        recovery_secs: cli.recovery,
        ops_per_key: cli.ops_per_key,
        faketime_lib,
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let dir = cli.out.join(format!("{stamp}-seed{seed}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    spec.save(&dir)?;
    std::fs::write(dir.join("seed"), format!("{seed}\n"))?;
    std::fs::write(dir.join("commit"), host::git_commit() + "\n")?;
    eprintln!(
        "jepsen: seed {seed}; {} nodes; workloads {:?}; faults {:?}; run folder {}",
        spec.nodes,
        spec.workloads,
        spec.faults,
        dir.display()
    );

    let netns = net::Netns::create(&format!("baton-jepsen-{}", std::process::id()))?;
    let exe = std::env::current_exe()?;
    let mut command = netns.command(&exe);
    command.arg("--inside").arg(&dir);
    let outcome = runtime()?.block_on(wait_inside(command))?;
    drop(netns);
    match outcome {
        Inside::Interrupted => {
            eprintln!("jepsen: interrupted; the run folder keeps what was recorded");
            Ok(ExitCode::from(130))
        }
        Inside::Finished(success) => {
            if !success {
                eprintln!("jepsen: the run did not complete; checking what it recorded");
            }
            check(&dir, Duration::from_secs(cli.check_budget))
        }
    }
}

enum Inside {
    Finished(bool),
    Interrupted,
}

/// Runs the inner harness, passing SIGINT/SIGTERM on to it (it stops its cluster and exits).
async fn wait_inside(command: std::process::Command) -> anyhow::Result<Inside> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut child = tokio::process::Command::from(command)
        .spawn()
        .context("cannot start the harness inside the namespace")?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        status = child.wait() => Ok(Inside::Finished(status?.success())),
        _ = int.recv() => stop(child).await,
        _ = term.recv() => stop(child).await,
    }
}

async fn stop(mut child: tokio::process::Child) -> anyhow::Result<Inside> {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    Ok(Inside::Interrupted)
}

/// Checks the run in `dir` and writes its report; the exit status follows the verdict.
fn check(dir: &Path, budget: Duration) -> anyhow::Result<ExitCode> {
    let spec = RunSpec::load(dir)?;
    let history = history::load(&dir.join(run::HISTORY))?;
    let mut results = Vec::new();
    if spec.workloads.contains(&WorkloadKind::Register) {
        results.push(checker::register(&history, budget));
    }
    if spec.workloads.contains(&WorkloadKind::Set) {
        // Set reads are linearizable: an element missing from a read after it was known is a
        // violation, not merely slow visibility.
        let options = SetOptions {
            stale_is_invalid: true,
        };
        results.push(checker::set_with(&history, options));
    }
    if spec.workloads.contains(&WorkloadKind::Scheduling) {
        results.push(checker::scheduling(&history));
    }
    results.push(checker::availability(&history));
    results.push(recovery(dir));
    report::write_report(dir, &history, &results)?;

    let verdict = checker::overall(&results);
    for r in &results {
        eprintln!("jepsen: {:<24} {:?}: {}", r.name, r.validity, r.summary);
    }
    let ok = history
        .iter()
        .filter(|op| op.kind == history::OpType::Ok)
        .count();
    let faults = history
        .iter()
        .filter(|op| op.process == history::Process::Nemesis)
        .count();
    println!(
        "jepsen: {verdict:?} (seed {}, {ok} ok ops, {faults} nemesis events) {}",
        spec.seed,
        dir.join("report.html").display()
    );
    Ok(match verdict {
        Validity::Valid => ExitCode::SUCCESS,
        Validity::Invalid => ExitCode::from(1),
        Validity::Unknown => ExitCode::from(2),
    })
}

/// Whether the run completed and the cluster settled after the final heal (a liveness
/// property: every fault healed, one leader, every node a voter, within a minute).
fn recovery(dir: &Path) -> CheckResult {
    let notes: Option<serde_json::Value> = std::fs::read_to_string(dir.join(run::NOTES))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let (validity, summary) = match &notes {
        None => (
            Validity::Unknown,
            "the run did not complete (no run.json)".to_string(),
        ),
        Some(n) => match n["healed"]["leader"].as_str() {
            Some(leader) => (
                Validity::Valid,
                format!(
                    "settled on leader {leader} {} ms after the final heal began",
                    n["heal_and_settle_ms"]
                ),
            ),
            None => (
                Validity::Invalid,
                format!(
                    "did not settle after the final heal: {}",
                    n["healed"]["error"]
                ),
            ),
        },
    };
    CheckResult {
        name: "recovery".into(),
        validity,
        summary,
        details: notes.unwrap_or(json!({})),
        window: None,
    }
}
