//! The cluster under test, run from inside the run's network namespace: node `i` lives on
//! `127.0.0.(10+i)` with fixed ports, `baton mesos-local` on `127.0.0.10:5050`; configs, data
//! and logs live in the run folder. What the nemeses do to processes (kill, pause, restart,
//! wipe) is here; asking nodes about leadership and membership is in `admin.rs`.
//!
//! One owner at a time: the nemesis task holds the `Cluster` during the run, the run holds it
//! before and after. Clients never touch it; they only know the nodes' addresses.

mod admin;
mod process;

pub use admin::{NodeStatus, leader_of};

use anyhow::Context;
use process::Process;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

pub type NodeId = u64;

/// mesos-local's address inside the namespace.
pub const MESOS_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 10);
pub const MESOS_PORT: u16 = 5050;
const PEER_PORT: u16 = 7000;
const GRPC_PORT: u16 = 9000;
const HTTP_PORT: u16 = 8000;
/// How long a (re)started node may take to answer gRPC.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn node_ip(id: NodeId) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 10 + id as u8)
}

pub fn node_name(id: NodeId) -> String {
    format!("n{id}")
}

pub fn grpc_addr(id: NodeId) -> String {
    format!("{}:{GRPC_PORT}", node_ip(id))
}

fn peer_addr(id: NodeId) -> String {
    format!("{}:{PEER_PORT}", node_ip(id))
}

fn http_addr(id: NodeId) -> String {
    format!("{}:{HTTP_PORT}", node_ip(id))
}

/// A lazily connected gRPC channel to `addr`; connecting gives up after `connect_timeout`.
pub fn channel(addr: &str, connect_timeout: Duration) -> anyhow::Result<Channel> {
    Ok(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .connect_lazy(),
    )
}

/// What the cluster is started from.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub baton: PathBuf,
    /// The run folder: `nodes/nK/` (config, data), `logs/`.
    pub dir: PathBuf,
    pub nodes: usize,
    /// Preload libfaketime into nodes, each with its own offset file.
    pub faketime_lib: Option<PathBuf>,
}

struct Node {
    id: NodeId,
    process: Option<Process>,
    paused: bool,
    /// Wiped and started to be added by the leader: must never initialise a cluster itself.
    join: bool,
    admin: Channel,
}

pub struct Cluster {
    options: ClusterOptions,
    nodes: Vec<Node>,
    mesos: Option<Process>,
    started: Instant,
    /// Things worth knowing that no history line says (a node that exited by itself).
    notes: Vec<String>,
}

impl Cluster {
    /// Writes every node's config and starts mesos-local and the nodes; returns once every node
    /// answers gRPC and a leader is known.
    pub async fn start(options: ClusterOptions) -> anyhow::Result<Cluster> {
        std::fs::create_dir_all(options.dir.join("logs"))?;
        let ids: Vec<NodeId> = (1..=options.nodes as NodeId).collect();
        let mut nodes = Vec::new();
        for &id in &ids {
            let dir = options.dir.join("nodes").join(node_name(id));
            std::fs::create_dir_all(dir.join("data"))?;
            std::fs::write(dir.join("config.toml"), node_config(id, &ids, &dir))?;
            if options.faketime_lib.is_some() {
                std::fs::write(dir.join("faketime"), "+0\n")?;
            }
            nodes.push(Node {
                id,
                process: None,
                paused: false,
                join: false,
                admin: channel(&grpc_addr(id), Duration::from_millis(500))?,
            });
        }
        let mut cluster = Cluster {
            options,
            nodes,
            mesos: None,
            started: Instant::now(),
            notes: Vec::new(),
        };
        cluster.start_mesos()?;
        for id in ids.clone() {
            cluster.spawn(id)?;
        }
        for id in ids {
            cluster.wait_serving(id).await?;
        }
        cluster
            .wait_healthy(Duration::from_secs(30))
            .await
            .context("the new cluster elected no leader")?;
        Ok(cluster)
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn node(&mut self, id: NodeId) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .expect("node ids come from the cluster")
    }

    fn node_dir(&self, id: NodeId) -> PathBuf {
        self.options.dir.join("nodes").join(node_name(id))
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.options.dir.join("logs").join(format!("{name}.log"))
    }

    fn start_mesos(&mut self) -> anyhow::Result<()> {
        let data = self.options.dir.join("mesos");
        std::fs::create_dir_all(&data)?;
        let mut args: Vec<String> = vec!["mesos-local".into(), "--listen".into()];
        args.push(format!("{MESOS_IP}:{MESOS_PORT}"));
        args.extend(["--agents".into(), "1".into(), "--data-dir".into()]);
        args.push(data.display().to_string());
        let log = self.log_path("mesos");
        self.mesos = Some(Process::spawn(
            &self.options.baton,
            &args,
            &[],
            &log,
            "mesos-local",
        )?);
        Ok(())
    }

    /// Starts node `id`'s process (with `--join` once it has been wiped).
    fn spawn(&mut self, id: NodeId) -> anyhow::Result<()> {
        let dir = self.node_dir(id);
        let join = self.node(id).join;
        let mut args = vec![
            "node".to_string(),
            "--config".into(),
            dir.join("config.toml").display().to_string(),
            "--data-dir".into(),
            dir.join("data").display().to_string(),
        ];
        if join {
            args.push("--join".into());
        }
        // Logs are files: no colour codes in them.
        let mut env = vec![("NO_COLOR".to_string(), "1".to_string())];
        env.extend(match &self.options.faketime_lib {
            Some(lib) => vec![
                ("LD_PRELOAD".into(), lib.display().to_string()),
                (
                    "FAKETIME_TIMESTAMP_FILE".into(),
                    dir.join("faketime").display().to_string(),
                ),
                ("FAKETIME_NO_CACHE".into(), "1".into()),
                // Only the wall clock is skewed, as a misbehaving NTP would: Raft's timers run
                // on the monotonic clock, which no real clock fault moves.
                ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
            ],
            None => Vec::new(),
        });
        let log = self.log_path(&node_name(id));
        let label = format!(
            "{} at {:.3}s{}",
            node_name(id),
            self.started.elapsed().as_secs_f64(),
            if join { " (join)" } else { "" }
        );
        let process = Process::spawn(&self.options.baton, &args, &env, &log, &label)?;
        let node = self.node(id);
        node.process = Some(process);
        node.paused = false;
        Ok(())
    }

    /// Whether node `id` has a process that is not stopped.
    pub fn is_live(&self, id: NodeId) -> bool {
        self.nodes
            .iter()
            .any(|n| n.id == id && n.process.is_some() && !n.paused)
    }

    /// SIGKILL. A node that is already down stays down.
    pub fn kill(&mut self, id: NodeId) {
        if let Some(mut process) = self.node(id).process.take() {
            process.kill();
        }
        self.node(id).paused = false;
    }

    /// Restarts a killed node with its data and waits until it answers gRPC.
    pub async fn restart(&mut self, id: NodeId) -> anyhow::Result<()> {
        if self.node(id).process.is_none() {
            self.spawn(id)?;
        }
        self.wait_serving(id).await
    }

    pub fn pause(&mut self, id: NodeId) -> anyhow::Result<()> {
        let node = self.node(id);
        if let Some(p) = &node.process {
            p.signal("STOP")?;
            node.paused = true;
        }
        Ok(())
    }

    pub fn resume(&mut self, id: NodeId) -> anyhow::Result<()> {
        let node = self.node(id);
        if let Some(p) = &node.process {
            p.signal("CONT")?;
        }
        node.paused = false;
        Ok(())
    }

    /// Kills node `id` and deletes its data; it will rejoin with `--join` (see [`Self::rejoin`]).
    pub fn wipe(&mut self, id: NodeId) -> anyhow::Result<()> {
        self.kill(id);
        let data = self.node_dir(id).join("data");
        std::fs::remove_dir_all(&data).with_context(|| format!("cannot wipe {data:?}"))?;
        std::fs::create_dir_all(&data)?;
        self.node(id).join = true;
        Ok(())
    }

    /// Whether nodes run under libfaketime (the clock nemesis needs it).
    pub fn has_clock(&self) -> bool {
        self.options.faketime_lib.is_some()
    }

    /// Shifts node `id`'s wall clock by `offset_ms` (0 resets it). Needs libfaketime.
    pub fn set_clock(&mut self, id: NodeId, offset_ms: i64) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.options.faketime_lib.is_some(),
            "nodes were started without libfaketime"
        );
        let text = format!("{:+.3}s\n", offset_ms as f64 / 1000.0);
        let path = self.node_dir(id).join("faketime");
        // Written whole and renamed, so a node never reads half a line.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Notes nodes (and mesos-local) that exited without being killed, and forgets their
    /// processes so that a heal restarts them.
    pub fn reap_exited(&mut self) {
        let at = self.started.elapsed().as_secs_f64();
        let mut notes = Vec::new();
        for node in &mut self.nodes {
            if let Some(status) = node.process.as_mut().and_then(Process::exited) {
                notes.push(format!(
                    "{} exited by itself ({status}) at {at:.1}s",
                    node_name(node.id)
                ));
                node.process = None;
                node.paused = false;
            }
        }
        if let Some(status) = self.mesos.as_mut().and_then(Process::exited) {
            notes.push(format!(
                "mesos-local exited by itself ({status}) at {at:.1}s"
            ));
            self.mesos = None;
            if let Err(e) = self.start_mesos() {
                notes.push(format!("mesos-local did not restart: {e:#}"));
            }
        }
        for note in notes {
            eprintln!("jepsen: {note}");
            self.notes.push(note);
        }
    }

    /// Continues every paused node and starts every stopped one (wiped ones still need
    /// [`Self::rejoin`]).
    pub async fn revive_all(&mut self) -> anyhow::Result<()> {
        self.reap_exited();
        for id in self.ids() {
            if self.node(id).paused {
                self.resume(id)?;
            }
            self.restart(id).await?;
        }
        Ok(())
    }

    /// Stops everything (SIGKILL: nothing here needs a graceful stop).
    pub fn stop(&mut self) {
        for id in self.ids() {
            self.kill(id);
        }
        if let Some(mut mesos) = self.mesos.take() {
            mesos.kill();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A node's TOML config: its own addresses, every member, mesos-local as the master.
fn node_config(id: NodeId, ids: &[NodeId], dir: &Path) -> String {
    let mut text = format!(
        "# Written by jepsen for one run.\n[node]\nid = {id}\ndata_dir = \"{}\"\n\
         peer_listen = \"{}\"\ngrpc_listen = \"{}\"\nhttp_listen = \"{}\"\n",
        dir.join("data").display(),
        peer_addr(id),
        grpc_addr(id),
        http_addr(id)
    );
    for &m in ids {
        text.push_str(&format!(
            "\n[[members]]\nid = {m}\npeer = \"{}\"\ngrpc = \"{}\"\nhttp = \"{}\"\n",
            peer_addr(m),
            grpc_addr(m),
            http_addr(m)
        ));
    }
    text.push_str(&format!(
        "\n[mesos]\nmaster = \"http://{MESOS_IP}:{MESOS_PORT}\"\n\n[log]\nformat = \"text\"\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_configs_pass_batons_own_validation() {
        assert_eq!(node_ip(1), Ipv4Addr::new(127, 0, 0, 11));
        assert_eq!(grpc_addr(5), "127.0.0.15:9000");
        let dir = tempfile::tempdir().unwrap();
        let text = node_config(2, &[1, 2, 3], dir.path());
        let config = baton::config::Config::from_toml(&text, "test", Default::default())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(config.node.id, 2);
        assert_eq!(config.node.data_dir, dir.path().join("data"));
        assert_eq!(config.me().peer, "127.0.0.12:7000");
        assert_eq!(config.members.len(), 3);
        assert_eq!(
            config.mesos.masters,
            vec!["http://127.0.0.10:5050".to_string()]
        );
    }
}
