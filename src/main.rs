//! The `baton` binary: a scheduler node, the embedded development cluster, the command-line
//! client and the benchmarks, as subcommands.

use anyhow::Context;
use baton::cli::{self, AppCommand, ClusterCommand};
use baton::config::{Config, LogFormat, Overrides};
use baton::node::{self, Bootstrap};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// glibc's allocator spends much of a busy node's time consolidating and unlinking chunks
/// across threads; mimalloc does not.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about = "A highly available scheduler for Apache Mesos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(f: LogFormatArg) -> LogFormat {
        match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

/// Where the client commands find the cluster.
#[derive(Debug, clap::Args)]
struct ClientArgs {
    /// Comma-separated gRPC addresses of the cluster's nodes; the next one is tried when one is down.
    #[arg(
        long,
        global = true,
        env = "BATON_ENDPOINTS",
        default_value = "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
    )]
    endpoints: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs one scheduler node of a cluster.
    Node {
        #[arg(long)]
        config: PathBuf,
        /// Overrides `node.data_dir`.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Overrides `mesos.master`: comma-separated master URLs.
        #[arg(long)]
        mesos_master: Option<String>,
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
        /// Do not initialise the cluster: wait to be added with `baton cluster add`.
        #[arg(long)]
        join: bool,
    },
    /// Runs a single-node cluster in this process, with data in a local folder.
    Dev {
        #[arg(long, default_value = "data/dev")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:9090")]
        grpc: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:7100")]
        peer: SocketAddr,
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormatArg,
        /// Where the embedded mesos-local listens.
        #[arg(long, default_value = "127.0.0.1:5050")]
        mesos_listen: SocketAddr,
        /// How many local agents the embedded mesos-local runs.
        #[arg(long, default_value_t = 1)]
        agents: u32,
        /// Use these Mesos masters (comma-separated URLs) instead of an embedded mesos-local.
        #[arg(long)]
        mesos_master: Option<String>,
    },
    /// Cluster membership and leadership.
    Cluster {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// App definitions.
    App {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Groups: list, show, delete, scale.
    Group {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: cli::GroupCommand,
    },
    /// Deployments: list, cancel, roll back.
    Deploy {
        #[command(flatten)]
        client: ClientArgs,
        #[command(subcommand)]
        command: cli::DeployCommand,
    },
    /// The launch queue: apps waiting to launch, and why the last offers did not fit them.
    Queue {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Follows the event stream (Marathon's event shapes), one JSON line per event.
    Events {
        #[command(flatten)]
        client: ClientArgs,
        /// Start from this log index (inclusive); 0 prints only new events.
        #[arg(long, default_value_t = 0)]
        from_index: u64,
        /// Only these Marathon event types (comma-separated).
        #[arg(long = "type", value_delimiter = ',')]
        types: Vec<String>,
    },
    /// An embedded Mesos master with local agents that run command tasks as processes.
    MesosLocal {
        #[command(flatten)]
        args: baton::mesos_local::Args,
    },
    /// Benchmarks that start real clusters and print their figures.
    Bench {
        #[command(subcommand)]
        command: baton::bench::BenchCommand,
    },
}

fn init_logging(format: LogFormat, filter: Option<&str>) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or(filter.map(String::from))
        .unwrap_or_else(|| "info,openraft=warn".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Cancels the token on SIGTERM or SIGINT.
fn stop_on_signal(token: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
        }
        token.cancel();
    });
    Ok(())
}

async fn run_node(config: Config, bootstrap: Bootstrap) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone())?;
    node::run(config, bootstrap, shutdown, None).await
}

/// Starts mesos-local inside this process for `baton dev`, with its sandboxes under the dev
/// data folder; it stops (killing its tasks) when `shutdown` is cancelled.
fn embedded_mesos(
    listen: SocketAddr,
    agents: u32,
    data_dir: &std::path::Path,
    shutdown: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    #[derive(Parser)]
    struct MesosLocalFlags {
        #[command(flatten)]
        args: baton::mesos_local::Args,
    }
    let sandboxes = data_dir.join("mesos");
    let flags = MesosLocalFlags::try_parse_from([
        "mesos-local".into(),
        "--listen".into(),
        listen.to_string(),
        "--agents".into(),
        agents.to_string(),
        "--data-dir".into(),
        sandboxes.display().to_string(),
    ])
    .context("mesos-local settings")?;
    let shutdown = shutdown.clone();
    Ok(tokio::spawn(async move {
        baton::mesos_local::run(flags.args, shutdown)
            .await
            .context("embedded mesos-local")
    }))
}

fn main() {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Node { .. } | Command::Dev { .. }) {
        return_memory_promptly();
    }
    keep_small_pages();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // A task woken by another runs next on that worker by default (the "LIFO slot"). When a
    // Raft batch commits, its replies wake one gRPC handler after another; each handler's
    // response then woke its HTTP/2 connection into that slot, which wrote (one `writev`) and
    // flushed one response at a time. Without the slot the connection runs after the handlers
    // woken before it and writes their responses together: 256 clients, 10,900–11,600 →
    // 12,200–12,300 writes/s (three A/B pairs; ARCHITECTURE.md).
    #[cfg(tokio_unstable)]
    builder.disable_lifo_slot();
    let runtime = builder.build().expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("baton: {e:#}");
        std::process::exit(1);
    }
}

/// How long mimalloc keeps memory the process freed before it gives it back to the OS.
const PURGE_DELAY_VAR: &str = "MIMALLOC_PURGE_DELAY";
const PURGE_DELAY_MS: &str = "10";

/// A node frees large transient buffers (responses of tens of MB, bursts of status updates and
/// log entries) between long idle stretches. mimalloc's default keeps freed memory for a second
/// and gives it back only while the process allocates, so a leader that had just launched
/// 100,000 instances or served a large app list held well over 100 MiB it no longer used.
/// mimalloc reads its options from the environment when the process loads, before `main`:
/// a node re-executes itself once with a short delay set (unless the variable is already
/// set, by the operator or by this). Safe code cannot set the option otherwise.
fn return_memory_promptly() {
    #[cfg(all(unix, not(feature = "system-allocator")))]
    if std::env::var_os(PURGE_DELAY_VAR).is_none() {
        use std::os::unix::process::CommandExt;
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        let e = command
            .args(args)
            .env(PURGE_DELAY_VAR, PURGE_DELAY_MS)
            .exec();
        eprintln!("baton: cannot re-execute with {PURGE_DELAY_VAR} set ({e}); going on without");
    }
}

/// Opts this process out of transparent huge pages (most distributions enable them for every
/// process). A node's heap is millions of small, long-lived objects plus bursts of large
/// buffers: with huge pages, a 2 MiB page stays resident while any object on it lives, and the
/// kernel spent much of a restart zeroing fresh huge pages.
fn keep_small_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("baton: cannot opt out of transparent huge pages: {e}");
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Node {
            config,
            data_dir,
            mesos_master,
            log_format,
            join,
        } => {
            let overrides = Overrides {
                data_dir,
                mesos_master,
                log_format: log_format.map(Into::into),
            };
            let config = match Config::load(&config, overrides) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("baton: {e}");
                    std::process::exit(2);
                }
            };
            init_logging(config.log.format, config.log.filter.as_deref());
            let bootstrap = if join {
                Bootstrap::Join
            } else {
                Bootstrap::Members
            };
            run_node(config, bootstrap).await
        }
        Command::Dev {
            data_dir,
            http,
            grpc,
            peer,
            log_format,
            mesos_listen,
            agents,
            mesos_master,
        } => {
            init_logging(log_format.into(), None);
            let mut config = Config::single_node(data_dir.clone(), peer, grpc, http);
            let shutdown = CancellationToken::new();
            stop_on_signal(shutdown.clone())?;
            let embedded = match mesos_master {
                Some(list) => {
                    config.mesos.masters = list.split(',').map(|m| m.trim().to_string()).collect();
                    None
                }
                None => {
                    config.mesos.masters = vec![format!("http://{mesos_listen}")];
                    Some(embedded_mesos(mesos_listen, agents, &data_dir, &shutdown)?)
                }
            };
            println!(
                "baton dev: REST on http://{http}, gRPC on {grpc}, Mesos at {}, data in {}",
                config.mesos.masters.join(","),
                config.node.data_dir.display()
            );
            let node = node::run(config, Bootstrap::Members, shutdown.clone(), None);
            let Some(mut mesos) = embedded else {
                return node.await;
            };
            tokio::pin!(node);
            tokio::select! {
                result = &mut node => {
                    shutdown.cancel();
                    mesos.await??;
                    result
                }
                // mesos-local stops early only when it could not start (e.g. its port is taken).
                stopped = &mut mesos => {
                    let asked = shutdown.is_cancelled();
                    shutdown.cancel();
                    let result = node.await;
                    stopped??;
                    if asked {
                        result
                    } else {
                        Err(anyhow::anyhow!("the embedded mesos-local stopped"))
                    }
                }
            }
        }
        Command::Cluster { client, command } => {
            let c = cli::Client::new(&client.endpoints).context("bad --endpoints")?;
            cli::run_cluster(&c, command, client.json).await
        }
        Command::App { client, command } => {
            let c = cli::Client::new(&client.endpoints).context("bad --endpoints")?;
            cli::run_app(&c, command, client.json).await
        }
        Command::Group { client, command } => {
            let c = cli::Client::new(&client.endpoints).context("bad --endpoints")?;
            cli::run_group(&c, command, client.json).await
        }
        Command::Deploy { client, command } => {
            let c = cli::Client::new(&client.endpoints).context("bad --endpoints")?;
            cli::run_deploy(&c, command, client.json).await
        }
        Command::Queue { client } => {
            let c = cli::Client::new(&client.endpoints).context("bad --endpoints")?;
            cli::run_queue(&c, client.json).await
        }
        Command::Events {
            client,
            from_index,
            types,
        } => {
            let c = cli::Client::new(&client.endpoints).context("bad --endpoints")?;
            cli::run_events(&c, from_index, types).await
        }
        Command::MesosLocal { args } => {
            init_logging(LogFormat::Text, None);
            let shutdown = CancellationToken::new();
            stop_on_signal(shutdown.clone())?;
            Ok(baton::mesos_local::run(args, shutdown).await?)
        }
        Command::Bench { command } => baton::bench::run(command).await,
    }
}
