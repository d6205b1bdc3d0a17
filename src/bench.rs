//! `baton bench …`: benchmarks that start real clusters and print their figures.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Placeholder until the core benchmark lands.
    Core,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Core => anyhow::bail!("not built yet"),
    }
}
