//! mesos-local: an embedded Mesos-compatible master with local agents that runs command tasks as
//! processes on this machine and speaks the real v1 scheduler HTTP API, reusing `mesos`' wire types.
//!
//! Layout: `spec` parses agent resources, attributes and domains, `agent` is an agent's record;
//! `resources` (with `resource_keys`: reservations and volumes), `allocation`, `launch`,
//! `groups`, `reservations` and `checks` are pure decisions (arithmetic, offers and refusals,
//! launch and task group checks, RESERVE/UNRESERVE/CREATE/DESTROY, health verdicts); `master`
//! owns all mutable state in one loop, `calls` is its handling of each call, `offers` its offers
//! and rescinds, `tasks` the agents' side of a task, `updates` its reliable status updates and
//! kills, `executors` the default executor of task groups, `volumes` the operations' effects and
//! persistent volume directories, `probing` the one scheduler of health checks and checks (each
//! probe run by `probe`), `simulated` the agents that run no process, and `operator` the admin
//! requests (agent reachability, removal, maintenance, ending simulated tasks); `fetch` copies a
//! task's URIs into its sandbox; `process` runs and kills task processes; `view` renders
//! `/state`; `http` and `admin` are the HTTP surface.

mod admin;
mod agent;
mod allocation;
mod calls;
mod checks;
mod executors;
mod fetch;
mod groups;
mod http;
mod launch;
mod master;
mod offers;
mod operator;
mod probe;
mod probing;
mod process;
mod reservations;
mod resource_keys;
mod resources;
mod simulated;
pub mod spec;
mod tasks;
mod updates;
mod view;
mod volumes;

pub use master::{CallRefused, MasterHandle, Settings, Subscription};
pub use spec::SpecError;

use master::{Agent, INPUT_QUEUE, Master};
use resources::Resources;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The Mesos version mesos-local claims; numeric, as pymesos parses it.
pub const VERSION: &str = "1.11.0";
/// How long open connections may take to finish once mesos-local is asked to stop.
const DRAIN: Duration = Duration::from_secs(5);
/// Agents that run processes share this machine's loopback addresses 127.0.1.1 … 127.0.1.254.
const MAX_AGENTS: u32 = 254;
/// Simulated agents cost a few hundred bytes each; the bound only catches typos.
const MAX_SIMULATED_AGENTS: u32 = 100_000;

/// `baton mesos-local`'s flags.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:5050")]
    pub listen: SocketAddr,
    /// How many agents to run.
    #[arg(long, default_value_t = 1)]
    pub agents: u32,
    /// Where sandboxes live.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Every agent's resources, e.g. 'cpus:4;mem:8192;disk:20000;ports:[31000-31999]'; by
    /// default agent N gets ports [P-P+999] with P = 31000 + 1000·(N−1).
    #[arg(long)]
    pub agent_resources: Option<String>,
    /// Every agent's attributes, e.g. 'rack:a;level:3'.
    #[arg(long)]
    pub agent_attributes: Option<String>,
    /// Fault domains, 'region/zone,region/zone,…': agent N gets the N-th (cycling through the
    /// list); without it agents have no domain.
    #[arg(long)]
    pub domains: Option<String>,
    /// Agents that run no process: a launched task turns TASK_RUNNING after a short delay and
    /// runs until killed (or finished or failed through `/admin`); allows thousands of agents.
    #[arg(long)]
    pub simulated: bool,
    /// Milliseconds a simulated task takes from launch to TASK_RUNNING.
    #[arg(long, hide = true, default_value_t = 100)]
    pub simulated_run_delay_ms: u64,
    /// Seconds after which an outstanding offer is rescinded (none by default, as Mesos).
    #[arg(long, hide = true)]
    pub offer_timeout_secs: Option<f64>,
    /// Seconds between HEARTBEAT events (tests shorten it).
    #[arg(long, hide = true, default_value_t = 15.0)]
    pub heartbeat_interval_secs: f64,
    /// Milliseconds between allocation cycles.
    #[arg(long, hide = true, default_value_t = 1000)]
    pub allocation_interval_ms: u64,
    /// Seconds before an unacknowledged status update is sent again.
    #[arg(long, hide = true, default_value_t = 10.0)]
    pub status_retry_secs: f64,
    /// Milliseconds the answer to a SUBSCRIBE is held after the framework is registered (tests:
    /// a scheduler whose term ends while its registration is in flight).
    #[arg(long, hide = true, default_value_t = 0)]
    pub subscribe_answer_delay_ms: u64,
}

/// Why mesos-local cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("--agent-resources: {0}")]
    Resources(SpecError),
    #[error("--agent-resources: {0}")]
    UnusableResources(resources::ResourceError),
    #[error("--agent-attributes: {0}")]
    Attributes(SpecError),
    #[error("--domains: {0}")]
    Domains(SpecError),
    #[error(
        "--agents must be between 1 and 254 (agents are 127.0.1.1 … 127.0.1.254), or up to \
         {MAX_SIMULATED_AGENTS} with --simulated"
    )]
    AgentCount,
    #[error("{0} must be a positive number of seconds")]
    Interval(&'static str),
    #[error("cannot create the data directory {path}: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("http server: {0}")]
    Serve(std::io::Error),
}

fn positive(secs: f64, flag: &'static str) -> Result<Duration, StartError> {
    if secs.is_finite() && secs > 0.0 && secs < 1e9 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(StartError::Interval(flag))
    }
}

fn agents(args: &Args) -> Result<Vec<Agent>, StartError> {
    let max = if args.simulated {
        MAX_SIMULATED_AGENTS
    } else {
        MAX_AGENTS
    };
    if args.agents == 0 || args.agents > max {
        return Err(StartError::AgentCount);
    }
    let domains = match &args.domains {
        Some(s) => spec::parse_domains(s).map_err(StartError::Domains)?,
        None => Vec::new(),
    };
    let custom = match &args.agent_resources {
        Some(s) => Some(spec::parse_resources(s).map_err(StartError::Resources)?),
        None => None,
    };
    let attributes = match &args.agent_attributes {
        Some(s) => spec::parse_attributes(s).map_err(StartError::Attributes)?,
        None => Vec::new(),
    };
    let now = master::now_secs();
    let custom_total = match &custom {
        Some(list) => Some(Resources::from_wire(list).map_err(StartError::UnusableResources)?),
        None => None,
    };
    (1..=args.agents)
        .map(|n| {
            let total = match &custom_total {
                Some(t) => t.clone(),
                None => Resources::from_wire(&spec::default_agent_resources(n))
                    .map_err(StartError::UnusableResources)?,
            };
            let domain =
                (!domains.is_empty()).then(|| domains[(n as usize - 1) % domains.len()].clone());
            Ok(Agent::new(
                spec::agent_hostname(n),
                total,
                attributes.clone(),
                domain,
                now,
            ))
        })
        .collect()
}

/// Runs mesos-local until `shutdown`; then every task process it started is killed.
pub async fn run(args: Args, shutdown: CancellationToken) -> Result<(), StartError> {
    let settings = Settings {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        heartbeat_interval: positive(args.heartbeat_interval_secs, "--heartbeat-interval-secs")?,
        allocation_interval: positive(
            args.allocation_interval_ms as f64 / 1000.0,
            "--allocation-interval-ms",
        )?,
        status_retry_interval: positive(args.status_retry_secs, "--status-retry-secs")?,
        simulated: args
            .simulated
            .then(|| Duration::from_millis(args.simulated_run_delay_ms)),
        offer_timeout: args
            .offer_timeout_secs
            .map(|s| positive(s, "--offer-timeout-secs"))
            .transpose()?,
    };
    let agents = agents(&args)?;
    std::fs::create_dir_all(&settings.data_dir).map_err(|error| StartError::DataDir {
        path: settings.data_dir.clone(),
        error,
    })?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|error| StartError::Listen {
            addr: settings.listen,
            error,
        })?;
    let tracker = TaskTracker::new();
    let (tx, rx) = mpsc::channel(INPUT_QUEUE);
    let heartbeat = settings.heartbeat_interval;
    let master = Master::new(
        settings,
        agents,
        tx.clone(),
        tracker.clone(),
        shutdown.clone(),
    );
    tracing::info!(listen = %args.listen, agents = args.agents, simulated = args.simulated,
        data_dir = %args.data_dir.display(), "mesos-local serving");
    tracker.spawn(master::run(master, rx));
    let app = http::router(
        MasterHandle { tx },
        heartbeat,
        Duration::from_millis(args.subscribe_answer_delay_ms),
    );
    let stopping = shutdown.clone();
    let serve = axum::serve(listener, app).with_graceful_shutdown(stopping.cancelled_owned());
    let served = tokio::select! {
        r = serve => r.map_err(StartError::Serve),
        // Subscription streams end when the master stops; a client that keeps a connection
        // open past that is not waited for.
        () = async { shutdown.cancelled().await; tokio::time::sleep(DRAIN).await } => Ok(()),
    };
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!("mesos-local: some tasks did not stop in time");
    }
    served
}
