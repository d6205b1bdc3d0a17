//! The harness of the integration tests: real `baton node` processes on free loopback ports, with
//! per-node configs in a temporary directory, crash/pause/restart/wipe controls, and helpers that
//! wait for conditions with a deadline.
#![allow(dead_code)]

pub mod mesos;

use baton::proto::v1::app_service_client::AppServiceClient;
use baton::proto::v1::cluster_service_client::ClusterServiceClient;
use baton::proto::v1::{
    App, Consistency, CreateAppRequest, GetAppRequest, ListAppsRequest, Role, StatusReply,
    StatusRequest,
};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint};

/// How long a leader election may take on a loaded two-core machine.
pub const ELECTION_WAIT: Duration = Duration::from_secs(20);
/// How long a node may take to catch up with the cluster.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(30);
/// Timeout of one client request; the product answers faster than this or it hangs.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(50);

/// The `[raft]` section the test clusters run with. Elections are a little slower than the
/// shipped defaults (150–300 ms) so that several clusters sharing two cores do not flap.
#[derive(Clone, Debug)]
pub struct RaftSettings {
    pub heartbeat_interval_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    pub snapshot_logs_since_last: Option<u64>,
    pub max_in_snapshot_log_to_keep: Option<u64>,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_interval_ms: 50,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_logs_since_last: None,
            max_in_snapshot_log_to_keep: None,
        }
    }
}

impl RaftSettings {
    fn toml(&self) -> String {
        let mut s = format!(
            "[raft]\nheartbeat_interval_ms = {}\nelection_timeout_min_ms = {}\n\
             election_timeout_max_ms = {}\n",
            self.heartbeat_interval_ms, self.election_timeout_min_ms, self.election_timeout_max_ms
        );
        if let Some(n) = self.snapshot_logs_since_last {
            let _ = writeln!(s, "snapshot_logs_since_last = {n}");
        }
        if let Some(n) = self.max_in_snapshot_log_to_keep {
            let _ = writeln!(s, "max_in_snapshot_log_to_keep = {n}");
        }
        s
    }
}

/// One node: its addresses, files and (while running) its process.
pub struct Node {
    pub id: u64,
    pub peer: String,
    pub grpc: String,
    pub http: String,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    /// Started with `--join` (waits to be added instead of initialising the cluster).
    pub join: bool,
    child: Option<Child>,
}

impl Node {
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .unwrap_or_else(|| panic!("node {} is not running", self.id))
            .id()
    }
}

/// A cluster of real `baton node` processes. Dropping it kills every process (also on panic,
/// when it first prints the tail of every node's log).
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
    pub raft: RaftSettings,
    /// The `[mesos] master` the nodes are configured with.
    pub mesos_master: String,
    /// Extra environment of every node process (fail points).
    pub env: Vec<(String, String)>,
    http: reqwest::Client,
}

/// Where nodes that need no Mesos look for it: a port nothing listens on, so that the leader's
/// scheduler retries quietly instead of subscribing to a master another test started.
pub const NO_MESOS: &str = "http://127.0.0.1:9";

/// `n` distinct free loopback ports, all held until every one is chosen. They are taken below
/// the kernel's ephemeral range, so that no outgoing connection (a node dialling its peers, a
/// client) can be handed one of them as its local port before or while the node listens on it.
pub fn free_ports(n: usize) -> Vec<u16> {
    let (low, high) = listen_port_range();
    let mut listeners: Vec<TcpListener> = Vec::new();
    let mut tries = 0;
    while listeners.len() < n {
        tries += 1;
        assert!(tries < 10_000, "no free ports in {low}..{high}");
        let port = rand::random_range(low..high);
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            listeners.push(l);
        }
    }
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// Ports no outgoing connection is given: from 10000 up to the start of the ephemeral range.
fn listen_port_range() -> (u16, u16) {
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_low > 12_000 {
        (10_000, ephemeral_low)
    } else {
        (ephemeral_low.saturating_sub(2_000).max(1024), ephemeral_low)
    }
}

pub fn baton_bin() -> &'static str {
    env!("CARGO_BIN_EXE_baton")
}

/// A minimal valid Marathon app definition.
pub fn app_json(id: &str) -> String {
    format!(r#"{{"id":"{id}","cmd":"sleep 1000","cpus":0.1,"mem":32}}"#)
}

impl Cluster {
    /// Writes the configs of an `n`-voter cluster and starts every node.
    pub async fn start(n: usize) -> Cluster {
        Cluster::start_with(n, RaftSettings::default()).await
    }

    pub async fn start_with(n: usize, raft: RaftSettings) -> Cluster {
        let mut cluster = Cluster::configure(n, raft);
        for id in 1..=n as u64 {
            cluster.spawn(id);
        }
        for id in 1..=n as u64 {
            cluster.wait_serving(id).await;
        }
        cluster
    }

    /// Writes the configs of an `n`-voter cluster without starting anything.
    pub fn configure(n: usize, raft: RaftSettings) -> Cluster {
        Cluster::configure_with_mesos(n, raft, NO_MESOS)
    }

    /// Like [`Cluster::configure`], with the nodes pointed at the Mesos master `mesos_master`.
    pub fn configure_with_mesos(n: usize, raft: RaftSettings, mesos_master: &str) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("baton-it-")
            .tempdir()
            .expect("temp dir");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("http client");
        let mut cluster = Cluster {
            dir,
            nodes: Vec::new(),
            raft,
            mesos_master: mesos_master.to_string(),
            env: Vec::new(),
            http,
        };
        let ports = free_ports(3 * n);
        for (i, p) in ports.chunks(3).enumerate() {
            cluster
                .nodes
                .push(cluster.node_files(i as u64 + 1, p, false));
        }
        for i in 0..n {
            cluster.write_config(i, n);
        }
        cluster
    }

    fn node_files(&self, id: u64, ports: &[u16], join: bool) -> Node {
        let root = self.dir.path();
        Node {
            id,
            peer: format!("127.0.0.1:{}", ports[0]),
            grpc: format!("127.0.0.1:{}", ports[1]),
            http: format!("127.0.0.1:{}", ports[2]),
            config: root.join(format!("node{id}.toml")),
            data_dir: root.join(format!("data{id}")),
            log: root.join(format!("node{id}.log")),
            join,
            child: None,
        }
    }

    /// Writes node `index`'s config listing the first `voters` nodes (and itself) as members.
    fn write_config(&self, index: usize, voters: usize) {
        self.write_config_with(index, voters, &self.raft);
    }

    pub fn write_config_with(&self, index: usize, voters: usize, raft: &RaftSettings) {
        let node = &self.nodes[index];
        let mut text = format!(
            "[node]\nid = {}\ndata_dir = {:?}\npeer_listen = \"{}\"\ngrpc_listen = \"{}\"\n\
             http_listen = \"{}\"\n\n",
            node.id,
            node.data_dir.display().to_string(),
            node.peer,
            node.grpc,
            node.http
        );
        let members = self
            .nodes
            .iter()
            .take(voters)
            .chain((index >= voters).then_some(node));
        for m in members {
            let _ = write!(
                text,
                "[[members]]\nid = {}\npeer = \"{}\"\ngrpc = \"{}\"\nhttp = \"{}\"\n\n",
                m.id, m.peer, m.grpc, m.http
            );
        }
        let _ = write!(
            text,
            "[mesos]\nmaster = \"{}\"\nreconciliation_interval_secs = 5\n\n",
            self.mesos_master
        );
        text.push_str(&raft.toml());
        fs::write(&node.config, text).expect("write node config");
    }

    /// Starts an `n`-voter cluster pointed at the Mesos master `mesos_master`, its nodes with
    /// the extra environment `env`, and waits for a leader: (cluster, leader).
    pub async fn start_on_mesos(
        n: usize,
        mesos_master: &str,
        env: Vec<(String, String)>,
    ) -> (Cluster, u64) {
        let mut cluster = Cluster::configure_with_mesos(n, RaftSettings::default(), mesos_master);
        cluster.env = env;
        let ids: Vec<u64> = (1..=n as u64).collect();
        for &id in &ids {
            cluster.spawn(id);
        }
        for &id in &ids {
            cluster.wait_serving(id).await;
        }
        let (leader, _) = cluster.wait_for_leader(&ids).await;
        (cluster, leader)
    }

    /// A request through any running node, retried for up to `timeout` while no node gives a
    /// definite answer (none, or 502–504 during an election): (status, JSON body).
    pub async fn send_any(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> (u16, serde_json::Value) {
        let what = format!("{method} {path}");
        let body = body.to_string();
        eventually(timeout, &what, || {
            let (method, body) = (method.clone(), body.clone());
            async move {
                for id in self.running() {
                    if let Some((status, doc)) =
                        self.send_json(method.clone(), id, path, &body).await
                        && !matches!(status, 502..=504)
                    {
                        return Some((status, doc));
                    }
                }
                None
            }
        })
        .await
    }

    /// Configures (but does not start) one more node that joins with `--join`; returns its id.
    pub fn add_joining_node(&mut self) -> u64 {
        let voters = self.nodes.len();
        let id = voters as u64 + 1;
        let ports = free_ports(3);
        let node = self.node_files(id, &ports, true);
        self.nodes.push(node);
        self.write_config(voters, voters);
        id
    }

    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[id as usize - 1]
    }

    fn node_mut(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[id as usize - 1]
    }

    pub fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// Ids of the nodes whose process runs (paused ones included).
    pub fn running(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|n| n.is_running())
            .map(|n| n.id)
            .collect()
    }

    /// Starts node `id`'s process (not waiting for it to serve).
    pub fn spawn(&mut self, id: u64) {
        let node = self.node(id);
        assert!(!node.is_running(), "node {id} already runs");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open node log");
        let mut cmd = Command::new(baton_bin());
        cmd.arg("node").arg("--config").arg(&node.config);
        if node.join {
            cmd.arg("--join");
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let child = cmd
            .env("RUST_LOG", "info,openraft=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn baton node");
        self.node_mut(id).child = Some(child);
    }

    /// Waits until node `id` answers `/ping`; panics if its process exits first.
    pub async fn wait_serving(&mut self, id: u64) {
        let url = self.url(id, "/ping");
        let deadline = Instant::now() + ELECTION_WAIT;
        loop {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Some(child) = self.node_mut(id).child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.node_mut(id).child = None;
                panic!("node {id} exited before serving: {status}");
            }
            assert!(Instant::now() < deadline, "node {id} never answered /ping");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Starts node `id` again with the same config and waits until it serves.
    pub async fn restart(&mut self, id: u64) {
        self.spawn(id);
        self.wait_serving(id).await;
    }

    /// SIGKILL: a crash, no chance to flush or say goodbye.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.node_mut(id).child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits (up to `within`) for the process to exit; its exit status.
    pub fn terminate(&mut self, id: u64, within: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.node_mut(id).child.take()?;
        signal(child.id(), "-TERM");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether node `id`'s process has exited on its own (then it is reaped and not running).
    pub fn exited(&mut self, id: u64) -> bool {
        let node = self.node_mut(id);
        match node.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(_))) => {
                node.child = None;
                true
            }
            _ => false,
        }
    }

    /// Sends a request with a JSON body to node `id`; the status and the JSON answer.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        id: u64,
        path: &str,
        body: &str,
    ) -> Option<(u16, serde_json::Value)> {
        let r = self
            .http
            .request(method, self.url(id, path))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.json().await.unwrap_or(serde_json::Value::Null)))
    }

    pub fn pause(&self, id: u64) {
        signal(self.node(id).pid(), "-STOP");
    }

    pub fn resume(&self, id: u64) {
        signal(self.node(id).pid(), "-CONT");
    }

    /// Deletes everything node `id` stored (it must be stopped).
    pub fn wipe(&self, id: u64) {
        let node = self.node(id);
        assert!(!node.is_running(), "wipe a stopped node only");
        if node.data_dir.exists() {
            fs::remove_dir_all(&node.data_dir).expect("wipe data dir");
        }
    }

    pub fn url(&self, id: u64, path: &str) -> String {
        format!("http://{}{}", self.node(id).http, path)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A lazily connected gRPC channel to node `id`, with a per-request timeout.
    pub fn channel(&self, id: u64) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.node(id).grpc))
            .expect("grpc endpoint")
            .connect_timeout(Duration::from_secs(2))
            .timeout(REQUEST_TIMEOUT)
            .connect_lazy()
    }

    pub fn apps(&self, id: u64) -> AppServiceClient<Channel> {
        AppServiceClient::new(self.channel(id))
    }

    pub fn cluster_client(&self, id: u64) -> ClusterServiceClient<Channel> {
        ClusterServiceClient::new(self.channel(id))
    }

    /// Node `id`'s own view of the cluster, or `None` when it does not answer within 2 s.
    pub async fn status(&self, id: u64) -> Option<StatusReply> {
        let mut client = self.cluster_client(id);
        let call = client.status(StatusRequest {});
        match tokio::time::timeout(Duration::from_secs(2), call).await {
            Ok(Ok(r)) => Some(r.into_inner()),
            _ => None,
        }
    }

    /// Waits until every node of `among` reports the same leader (itself one of `among`, reporting
    /// itself `ROLE_LEADER`) in the same term; returns `(leader, term)`.
    pub async fn wait_for_leader(&self, among: &[u64]) -> (u64, u64) {
        let what = format!("a leader agreed by nodes {among:?}");
        eventually(ELECTION_WAIT, &what, || async {
            let mut seen = Vec::new();
            for &id in among {
                seen.push(self.status(id).await?);
            }
            let first = &seen[0];
            let leader = first.leader_id;
            let agreed = leader != 0
                && among.contains(&leader)
                && seen
                    .iter()
                    .all(|s| s.leader_id == leader && s.term == first.term);
            let leader_says_so = seen
                .iter()
                .any(|s| s.node_id == leader && s.role == Role::Leader as i32);
            (agreed && leader_says_so).then_some((leader, first.term))
        })
        .await
    }

    /// Waits until node `id` serves app `app` from its own state (`?consistency=stale`).
    pub async fn wait_for_app_stale(&self, id: u64, app: &str) -> serde_json::Value {
        let url = self.url(id, &format!("/v2/apps{app}?consistency=stale"));
        let what = format!("node {id} to serve {app} stale");
        eventually(CATCH_UP_WAIT, &what, || async {
            let r = self.http.get(&url).send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            r.json::<serde_json::Value>().await.ok()
        })
        .await
    }

    /// Waits until node `id` holds every app of `apps` in its own state.
    pub async fn wait_for_apps_stale(&self, id: u64, apps: &[String]) {
        let what = format!("node {id} to hold all {} apps", apps.len());
        eventually(CATCH_UP_WAIT, &what, || async {
            let held = self.app_ids(id, Consistency::Stale).await.ok()?;
            apps.iter().all(|a| held.contains(a)).then_some(())
        })
        .await
    }

    /// The ids of every app node `id` lists at `consistency` (gRPC).
    pub async fn app_ids(
        &self,
        id: u64,
        consistency: Consistency,
    ) -> Result<Vec<String>, tonic::Status> {
        let reply = self
            .apps(id)
            .list_apps(ListAppsRequest {
                consistency: consistency as i32,
                prefix: String::new(),
            })
            .await?;
        Ok(reply.into_inner().apps.into_iter().map(|a| a.id).collect())
    }

    /// A linearizable gRPC read through node `id`, retried while the cluster says "unavailable"
    /// (an election in progress); any other error fails the test.
    pub async fn get_app_linearizable(&self, id: u64, app: &str) -> App {
        let what = format!("a linearizable read of {app} through node {id}");
        eventually(ELECTION_WAIT, &what, || async {
            let request = GetAppRequest {
                id: app.to_string(),
                consistency: Consistency::Linearizable as i32,
            };
            match self.apps(id).get_app(request).await {
                Ok(r) => Some(r.into_inner()),
                // Unavailable: retry elsewhere. Deadline exceeded: the outcome is unknown, and
                // the retry's idempotency key makes it apply at most once.
                Err(s) if is_retryable(&s) => None,
                Err(s) => panic!("{what}: {s:?}"),
            }
        })
        .await
    }

    /// Creates an app through node `id` over gRPC, retrying while no leader is available.
    pub async fn create_app(&self, id: u64, app: &str) -> App {
        let what = format!("creating {app} through node {id}");
        eventually(ELECTION_WAIT, &what, || async {
            let request = CreateAppRequest {
                definition_json: app_json(app),
                request_id: format!("create-{app}"),
                force: true,
            };
            match self.apps(id).create_app(request).await {
                Ok(r) => Some(r.into_inner()),
                // Unavailable: retry elsewhere. Deadline exceeded: the outcome is unknown, and
                // the retry's idempotency key makes it apply at most once.
                Err(s) if is_retryable(&s) => None,
                Err(s) => panic!("{what}: {s:?}"),
            }
        })
        .await
    }

    /// Creates every app of `apps` through the nodes of `through` (round robin), 16 at a time,
    /// each retried while no leader is available; panics on any other error.
    pub async fn create_apps(&self, through: &[u64], apps: &[String]) {
        use futures::StreamExt;
        let clients: Vec<_> = through.iter().map(|&id| (id, self.apps(id))).collect();
        let mut calls = futures::stream::iter(apps.iter().enumerate().map(|(i, app)| {
            let (id, client) = clients[i % clients.len()].clone();
            async move {
                let what = format!("creating {app} through node {id}");
                eventually(ELECTION_WAIT, &what, || {
                    let mut client = client.clone();
                    let what = &what;
                    async move {
                        let request = CreateAppRequest {
                            definition_json: app_json(app),
                            request_id: format!("create-{app}"),
                            force: true,
                        };
                        match client.create_app(request).await {
                            Ok(_) => Some(()),
                            Err(s) if is_retryable(&s) => None,
                            Err(s) => panic!("{what}: {s:?}"),
                        }
                    }
                })
                .await
            }
        }))
        .buffer_unordered(16);
        while calls.next().await.is_some() {}
    }

    /// Prints the last lines of every node's log (called when a test fails).
    pub fn print_logs(&self) {
        for node in &self.nodes {
            eprintln!("----- node {} log ({}) -----", node.id, node.log.display());
            eprintln!("{}", tail(&node.log, 60));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_logs();
            eprintln!(
                "(the cluster's files are kept in {})",
                self.dir.path().display()
            );
            // Keep the files for a post-mortem.
            let _ = std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("a placeholder temp dir"),
            )
            .keep();
        }
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Whether a keyed write may be retried: no leader reachable, or an outcome unknown (the key
/// makes the retry apply at most once).
pub fn is_retryable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
    )
}

pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid} failed");
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return "(no log)".to_string();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut text = String::new();
    let _ = f.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `check` until it yields a value; panics naming `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Runs the `baton` CLI against the cluster's gRPC endpoints (off the async runtime);
/// (success, stdout + stderr).
pub async fn cli(cluster: &Cluster, args: &[&str]) -> (bool, String) {
    let endpoints: Vec<String> = cluster.nodes.iter().map(|n| n.grpc.clone()).collect();
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(["--endpoints".to_string(), endpoints.join(",")]);
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(baton_bin())
            .args(&all)
            .output()
            .expect("run the baton CLI");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .expect("the CLI ran")
}

/// Reads SSE frames off a streaming body and hands each `(event, data)` to `each`, until the
/// body ends or `each` returns false. Keep-alive comments carry no event and are skipped.
pub async fn read_sse(
    mut response: reqwest::Response,
    mut each: impl FnMut(String, String) -> bool,
) {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut kind = None;
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = Some(k.trim().to_string());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if let Some(kind) = kind
                && !each(kind, data)
            {
                return;
            }
        }
    }
}
