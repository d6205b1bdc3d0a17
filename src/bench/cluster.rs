//! A local cluster of real `baton node` processes for the benchmarks: free ports, generated
//! configs, kill -9 and restart, and cleanup when dropped.

use anyhow::Context;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NodeAddrs {
    pub id: u64,
    pub peer: String,
    pub grpc: String,
    pub http: String,
}

pub struct LocalCluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<NodeAddrs>,
    children: Vec<Option<Child>>,
    binary: PathBuf,
}

/// Reserves `n` distinct free loopback ports (all held until every one is chosen).
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?)
}

impl LocalCluster {
    /// Writes configs for `size` nodes and starts them all.
    pub fn start(size: usize, raft_extra: &str) -> anyhow::Result<LocalCluster> {
        LocalCluster::start_on(size, raft_extra, crate::config::DEFAULT_MESOS_MASTER, "")
    }

    /// As `start`, with the nodes registering at the Mesos master `mesos_master`, with the
    /// extra `[mesos]` settings `mesos_extra` (TOML lines).
    pub fn start_on(
        size: usize,
        raft_extra: &str,
        mesos_master: &str,
        mesos_extra: &str,
    ) -> anyhow::Result<LocalCluster> {
        let binary = std::env::current_exe().context("cannot find the baton binary")?;
        let dir = tempfile::tempdir()?;
        let ports = free_ports(size * 3)?;
        let nodes: Vec<NodeAddrs> = (0..size)
            .map(|i| NodeAddrs {
                id: i as u64 + 1,
                peer: format!("127.0.0.1:{}", ports[3 * i]),
                grpc: format!("127.0.0.1:{}", ports[3 * i + 1]),
                http: format!("127.0.0.1:{}", ports[3 * i + 2]),
            })
            .collect();
        let members: String = nodes
            .iter()
            .map(|n| {
                format!(
                    "[[members]]\nid = {}\npeer = \"{}\"\ngrpc = \"{}\"\nhttp = \"{}\"\n\n",
                    n.id, n.peer, n.grpc, n.http
                )
            })
            .collect();
        for n in &nodes {
            let config = format!(
                "[node]\nid = {}\ndata_dir = \"{}\"\npeer_listen = \"{}\"\ngrpc_listen = \"{}\"\nhttp_listen = \"{}\"\n\n{members}[mesos]\nmaster = \"{mesos_master}\"\n{mesos_extra}\n\n[raft]\n{raft_extra}\n",
                n.id,
                dir.path().join(format!("n{}", n.id)).display(),
                n.peer,
                n.grpc,
                n.http
            );
            std::fs::write(dir.path().join(format!("n{}.toml", n.id)), config)?;
        }
        let mut cluster = LocalCluster {
            dir,
            children: (0..size).map(|_| None).collect(),
            nodes,
            binary,
        };
        for i in 0..size {
            cluster.spawn(i)?;
        }
        Ok(cluster)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts node `i` (0-based) as a child process.
    pub fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let id = self.nodes[i].id;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path().join(format!("n{id}.log")))?;
        // BATON_BENCH_NODE_WRAPPER: a command every node runs under, `{id}` replaced by the
        // node's id, e.g. `heaptrack -o DIR/n{id}` (with a `--features system-allocator`
        // build); SIGKILL then reaches only the wrapper.
        let mut command = match std::env::var("BATON_BENCH_NODE_WRAPPER") {
            Ok(wrapper) if !wrapper.trim().is_empty() => {
                let wrapper = wrapper.replace("{id}", &id.to_string());
                let mut words = wrapper.split_whitespace();
                let mut command = Command::new(words.next().unwrap_or_default());
                command.args(words).arg(&self.binary);
                command
            }
            _ => Command::new(&self.binary),
        };
        let child = command
            .arg("node")
            .arg("--config")
            .arg(self.path().join(format!("n{id}.toml")))
            // The bench's own RUST_LOG, when set, reaches the nodes (their logs are kept with
            // BATON_BENCH_KEEP).
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start a node")?;
        self.children[i] = Some(child);
        Ok(())
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children[i].as_ref().map(|c| c.id())
    }

    /// SIGKILL node `i` and reap it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Index of the node whose HTTP address is `http`.
    pub fn index_of_http(&self, http: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.http == http)
    }

    /// Waits until a live node names a leader; returns the leader's index.
    pub async fn wait_leader(&self, timeout: Duration) -> anyhow::Result<usize> {
        let deadline = Instant::now() + timeout;
        let client = http_client();
        while Instant::now() < deadline {
            for (i, n) in self.nodes.iter().enumerate() {
                if self.children[i].is_none() {
                    continue;
                }
                if let Some(leader) = get_leader(&client, &n.http).await
                    && let Some(li) = self.index_of_http(&leader)
                    && self.children[li].is_some()
                {
                    return Ok(li);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("no leader within {timeout:?}")
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        if std::env::var_os("BATON_BENCH_KEEP").is_some() {
            let dir = std::mem::replace(
                &mut self.dir,
                tempfile::TempDir::new().expect("a temporary directory"),
            );
            eprintln!("kept the cluster's folder: {}", dir.keep().display());
        }
    }
}

pub type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

pub fn http_client() -> HttpClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// A plain HTTP request with a deadline; returns the status and body.
pub async fn http(
    client: &HttpClient,
    method: &str,
    url: &str,
    body: Option<String>,
    timeout: Duration,
) -> Option<(u16, bytes::Bytes)> {
    use http_body_util::BodyExt;
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.unwrap_or_default(),
        )))
        .ok()?;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .ok()?
        .ok()?;
    let status = response.status().as_u16();
    let body = tokio::time::timeout(timeout, response.into_body().collect())
        .await
        .ok()?
        .ok()?
        .to_bytes();
    Some((status, body))
}

async fn get_leader(client: &HttpClient, http_addr: &str) -> Option<String> {
    let (status, body) = http(
        client,
        "GET",
        &format!("http://{http_addr}/v2/leader"),
        None,
        Duration::from_millis(500),
    )
    .await?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    v.get("leader")?.as_str().map(String::from)
}

/// This process's threads whose name starts with `prefix`: their `/proc/self/task/TID` folders.
pub fn threads_named(prefix: &str) -> Vec<PathBuf> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| t.ok())
        .map(|t| t.path())
        // A thread that ended meanwhile has no comm to read.
        .filter(|task| {
            std::fs::read_to_string(task.join("comm"))
                .is_ok_and(|comm| comm.trim_end().starts_with(prefix))
        })
        .collect()
}

/// Resident memory of a process in MiB, from /proc.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
