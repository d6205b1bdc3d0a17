//! `baton bench …`: benchmarks that start real clusters on loopback and print their figures.
//! Figures are medians over repeated runs where the machine's noise matters.

mod apply;
mod apps;
mod cluster;
mod core;
mod health;
mod mesos;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The replicated core on a three-node cluster: durable writes/s and latency at several
    /// client counts, spurious elections under load, failover time over repeated leader kills,
    /// and restart time and memory of a node holding many apps.
    Core(core::CoreArgs),
    /// mesos-local with 1,000 simulated agents and a framework over real HTTP: tasks launched
    /// and RUNNING per second, and offers per second.
    Mesos(mesos::MesosArgs),
    /// The leader's health check engine: 20,000 simulated tasks every 5 s and 50,000 every
    /// 10 s over HTTP against local servers: checks/s, lateness behind schedule, CPU.
    Health(health::HealthArgs),
    /// Apps at scale on 1,000 simulated agents: one app of 100,000 instances and 10,000
    /// one-instance apps, launches/s to RUNNING in the replicated state; the latency of
    /// `/v2/apps?embed=apps.tasks` with every task; each node's resident memory.
    Apps(apps::AppsArgs),
    /// The state machine alone, in one process: CPU per app write of decoding its entry,
    /// applying it and the writer's durable rows, as a follower of a 256-client core run pays
    /// them; steady enough to compare builds on a noisy machine.
    Apply(apply::ApplyArgs),
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Core(args) => core::run(args).await,
        BenchCommand::Mesos(args) => mesos::run(args).await,
        BenchCommand::Health(args) => health::run(args).await,
        BenchCommand::Apps(args) => apps::run(args).await,
        BenchCommand::Apply(args) => apply::run(args).await,
    }
}
