//! `baton cluster …` and `baton app …`: argument shapes and what each prints.
//!
//! `mod.rs` holds the argument shapes; `cluster.rs` and `app.rs` run the commands, and
//! `print.rs` prints apps and tasks.

use clap::Subcommand;
use std::path::PathBuf;

/// Calls `$method` of `$service` with `$request` on whichever node of the cluster answers.
macro_rules! call {
    ($client:expr, $service:ident, $method:ident, $request:expr) => {{
        let request = $request;
        $client
            .call(|c| {
                let request = request.clone();
                async move { $service::new(c).$method(request).await }
            })
            .await
    }};
}

// The modules come after `call!`, which they use.
mod app;
mod cluster;
mod print;

pub use app::run_app;
pub use cluster::run_cluster;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// This node's view: role, term, leader, members, applied index.
    Status,
    /// Adds a node (as a learner, then a voter unless --learner).
    Add {
        #[arg(long)]
        id: u64,
        /// Its peer (Raft) address, host:port.
        #[arg(long)]
        peer: String,
        #[arg(long)]
        grpc: String,
        #[arg(long)]
        http: String,
        /// Keep it a non-voting learner.
        #[arg(long)]
        learner: bool,
    },
    /// Removes a node from the cluster.
    Remove {
        #[arg(long)]
        id: u64,
    },
    /// Asks the leader to give up leadership.
    Abdicate,
    /// Tears the Mesos framework down: Mesos kills every task of it; baton forgets its
    /// instances and registers anew (apps still defined are relaunched). Needs the framework
    /// id (see `cluster status`) as confirmation.
    TeardownFramework {
        #[arg(long)]
        framework_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Creates an app from a Marathon app definition (JSON file, or - for stdin).
    Create {
        file: PathBuf,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Creates or replaces an app from a Marathon app definition (JSON file, or - for stdin)
    /// and follows its deployment step by step until it succeeds or fails.
    Deploy {
        file: PathBuf,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
        /// Print the deployment id and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Shows one app: its definition as JSON with --json, else a summary with each task's
    /// state and health.
    Show {
        id: String,
        /// Read this node's own state instead of asking the leader.
        #[arg(long)]
        stale: bool,
    },
    /// Lists apps (optionally those under a group).
    List {
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long)]
        stale: bool,
    },
    /// Replaces an app's definition (creates it when missing).
    Update {
        id: String,
        file: PathBuf,
        /// Refuse unless the stored revision is this one.
        #[arg(long)]
        expected_revision: Option<u64>,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Deletes an app.
    Delete {
        id: String,
        #[arg(long)]
        expected_revision: Option<u64>,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Replaces every task of an app, rolling, without changing its definition.
    Restart {
        id: String,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Sets how many instances an app runs.
    Scale {
        id: String,
        instances: u32,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Lists an app's tasks.
    Tasks {
        id: String,
        #[arg(long)]
        stale: bool,
    },
    /// Kills an app's tasks (all, those on --host, or the --task ones); they are replaced
    /// unless --scale.
    Kill {
        id: String,
        /// A task id to kill (repeatable); none: every task of the app.
        #[arg(long)]
        task: Vec<String>,
        /// Only the tasks on this agent host.
        #[arg(long)]
        host: Option<String>,
        /// Scale the app down by the number killed instead of replacing them.
        #[arg(long)]
        scale: bool,
        /// Forget resident tasks' reservations too.
        #[arg(long)]
        wipe: bool,
        /// With --scale: cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
}
