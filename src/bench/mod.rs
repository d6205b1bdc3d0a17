//! `baton bench …`: benchmarks that start real clusters on loopback and print their figures.
//! Figures are medians over repeated runs where the machine's noise matters.

mod cluster;
mod core;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The replicated core on a three-node cluster: durable writes/s and latency at several
    /// client counts, spurious elections under load, failover time over repeated leader kills,
    /// and restart time and memory of a node holding many apps.
    Core(core::CoreArgs),
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Core(args) => core::run(args).await,
    }
}
