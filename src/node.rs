//! Wiring only: builds a node from its configuration (stores, Raft, leadership watch, the peer,
//! gRPC and REST servers), runs it until it is told to stop, then drains and shuts down.

use crate::api::{self, Api};
use crate::config::Config;
use crate::raft::network::PeerNetwork;
use crate::raft::server::PeerService;
use crate::raft::{LeadershipWatch, Member, Raft, raft_config};
use crate::store;
use anyhow::Context;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long in-flight requests get to finish after a stop signal.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// How a node joins its cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// First start of a configured cluster: initialise it with the configured members (a no-op
    /// when this node's store already holds a cluster; safe when several members do it at once).
    Members,
    /// Wait to be added by the leader (`baton cluster add`); never initialise.
    Join,
}

/// The addresses a running node actually listens on (useful when a test asked for port 0).
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub peer: SocketAddr,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
}

/// Accepted connections with Nagle's algorithm off: small RPCs must not wait for delayed ACKs.
fn incoming(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|tcp| {
            let _ = tcp.set_nodelay(true);
        })
    })
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for {what} on {addr}"))
}

/// Runs a node until `shutdown` is cancelled (or Raft fails fatally). `ready` learns the bound
/// addresses once every listener is up.
pub async fn run(
    config: Config,
    bootstrap: Bootstrap,
    shutdown: CancellationToken,
    ready: Option<tokio::sync::oneshot::Sender<Bound>>,
) -> anyhow::Result<()> {
    let id = config.node.id;
    std::fs::create_dir_all(&config.node.data_dir)
        .with_context(|| format!("cannot create {}", config.node.data_dir.display()))?;
    let peer_listener = bind(config.node.peer_listen, "peers").await?;
    let grpc_listener = bind(config.node.grpc_listen, "gRPC").await?;
    let http_listener = bind(config.node.http_listen, "HTTP").await?;
    let bound = Bound {
        peer: peer_listener.local_addr()?,
        grpc: grpc_listener.local_addr()?,
        http: http_listener.local_addr()?,
    };

    let started = std::time::Instant::now();
    let (log, sm) = store::open(&config.node.data_dir).context("cannot open the node's stores")?;
    let view = sm.subscribe_view();
    let events = sm.events();
    tracing::info!(
        node = id,
        applied = ?view.borrow().applied,
        apps = view.borrow().state.app_count(),
        ms = started.elapsed().as_millis() as u64,
        "stores opened"
    );
    // Every outgoing connection (peers, forwarding to the leader, Mesos) leaves from this
    // node's own host, so that a chaos harness can cut links with address-based rules.
    let peer_ip = config.node.peer_listen.ip();
    let bind = (!peer_ip.is_unspecified()).then_some(peer_ip);
    let network = PeerNetwork { bind };
    let raft_cfg = Arc::new(raft_config(&config.raft).context("invalid [raft] settings")?);
    let raft = Raft::new(id, raft_cfg, network, log, sm)
        .await
        .context("cannot start raft")?;

    if bootstrap == Bootstrap::Members && !raft.is_initialized().await? {
        let members: BTreeMap<u64, Member> = config
            .members
            .iter()
            .map(|m| {
                let addrs = Member {
                    peer: m.peer.clone(),
                    grpc: m.grpc.clone(),
                    http: m.http.clone(),
                };
                (m.id, addrs)
            })
            .collect();
        match raft.initialize(members).await {
            Ok(()) => tracing::info!(node = id, "initialised the cluster"),
            // Another member's initialisation reached us first: the same cluster.
            Err(e) if e.api_error().is_some() => tracing::info!(%e, "cluster already initialised"),
            Err(e) => return Err(e).context("cannot initialise the cluster"),
        }
    }

    let tasks = TaskTracker::new();
    let (watch, leadership) = LeadershipWatch::new(
        id,
        raft.clone(),
        Duration::from_millis(config.raft.lease_ms),
    );
    tasks.spawn(watch.run(shutdown.child_token()));
    let leadership_rx = leadership.published.clone();

    let quorum_timeout = Duration::from_millis(config.raft.election_timeout_max_ms * 2);
    let api = Api::new(
        id,
        raft.clone(),
        view,
        leadership,
        events,
        quorum_timeout,
        shutdown.child_token(),
    );
    let scheduler = crate::scheduler::Scheduler::new(
        api.clone(),
        crate::scheduler::Settings::from_config(
            &config.mesos,
            Some(format!("http://{}", config.me().http)),
        ),
        crate::mesos::client::Client::new(crate::mesos::client::ClientConfig {
            bind,
            ..crate::scheduler::client_config(&config.mesos)
        }),
    );
    tasks.spawn(scheduler.run(leadership_rx, shutdown.child_token()));
    let info = api::rest::NodeInfo {
        http: config.me().http.clone(),
        mesos_masters: config.mesos.masters.clone(),
        framework_name: config.mesos.framework_name.clone(),
        failover_timeout_secs: config.mesos.failover_timeout_secs,
        mesos_role: config.mesos.role.clone(),
        mesos_user: config.mesos.user.clone(),
    };

    // Requests drain on `stop`; Raft keeps running meanwhile so that they can commit.
    let stop = CancellationToken::new();
    let peer_stop = CancellationToken::new();
    let peer = tonic::transport::Server::builder()
        .initial_stream_window_size(crate::raft::network::PEER_STREAM_WINDOW)
        .initial_connection_window_size(crate::raft::network::PEER_CONNECTION_WINDOW)
        .add_service(PeerService::server(id, raft.clone()))
        .serve_with_incoming_shutdown(incoming(peer_listener), peer_stop.clone().cancelled_owned());
    let grpc = tonic::transport::Server::builder()
        .add_routes(api::grpc::services(api.clone(), bind).map_err(|e| anyhow::anyhow!(e))?)
        .serve_with_incoming_shutdown(
            futures::StreamExt::map(incoming(grpc_listener), |conn| {
                conn.map(api::grpc::cork::Corked::new)
            }),
            stop.clone().cancelled_owned(),
        );
    let http_listener = axum::serve::ListenerExt::tap_io(http_listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let http = axum::serve(http_listener, api::rest::router(api.clone(), info, bind))
        .with_graceful_shutdown(stop.clone().cancelled_owned());
    let peer_task = tokio::spawn(peer);
    let grpc_task = tokio::spawn(grpc);
    let http_task = tokio::spawn(async move { http.await });
    tracing::info!(node = id, peer = %bound.peer, grpc = %bound.grpc, http = %bound.http, "serving");
    if let Some(ready) = ready {
        let _ = ready.send(bound);
    }

    let mut metrics = raft.metrics();
    let fatal = tokio::select! {
        _ = shutdown.cancelled() => None,
        failed = metrics.wait_for(|m| m.running_state.is_err()) => {
            failed.ok().and_then(|m| m.running_state.clone().err())
        }
    };
    if let Some(e) = &fatal {
        tracing::error!(%e, "raft stopped with a fatal error; shutting down");
    }
    tracing::info!(node = id, "draining");
    stop.cancel();
    let drained = tokio::time::timeout(DRAIN_GRACE, async {
        let _ = grpc_task.await;
        let _ = http_task.await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
    peer_stop.cancel();
    let _ = peer_task.await;
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;
    if let Err(e) = raft.shutdown().await {
        tracing::warn!(%e, "raft did not shut down cleanly");
    }
    tracing::info!(node = id, "stopped");
    match fatal {
        Some(e) => Err(anyhow::anyhow!("raft failed: {e}")),
        None => Ok(()),
    }
}
