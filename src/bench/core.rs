//! The core benchmark: writes, failover and restart of a three-node cluster of real processes.

use super::cluster::{LocalCluster, http, http_client, rss_mib};
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::cluster_service_client::ClusterServiceClient;
use crate::proto::v1::{GetAppRequest, StatusRequest, UpdateAppRequest};
use crate::raft::network::connect_lazy;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

#[derive(Debug, clap::Args)]
pub struct CoreArgs {
    /// Concurrent clients of each write phase.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    pub clients: Vec<usize>,
    /// Seconds each write phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Leader SIGKILLs in the failover phase (0 skips it).
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// Apps loaded before the restart phase (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub restart_apps: usize,
    /// Extra `[raft]` settings, TOML lines, for every node.
    #[arg(long, default_value = "")]
    pub raft: String,
}

/// GRPC connections the load generator spreads its clients over.
const CONNECTIONS: usize = 8;

/// The app every write of the core benchmark puts (`bench apply` applies the same).
pub(super) fn app_json(id: &str, instances: u64) -> String {
    format!(r#"{{"id":"{id}","cmd":"sleep 1000","cpus":0.1,"mem":32,"instances":{instances}}}"#)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn term_of(channel: Channel) -> u64 {
    ClusterServiceClient::new(channel)
        .status(StatusRequest {})
        .await
        .map(|r| r.into_inner().term)
        .unwrap_or(0)
}

/// One write: replace app `id` (creating it when missing).
async fn write(channel: Channel, id: String, n: u64) -> Result<(), tonic::Status> {
    AppServiceClient::new(channel)
        .update_app(UpdateAppRequest {
            id: id.clone(),
            definition_json: app_json(&id, n % 5),
            expected_revision: 0,
            request_id: String::new(),
            create_if_missing: true,
            // Back-to-back writes of one app: each cancels the deployment of the last.
            force: true,
        })
        .await
        .map(drop)
}

struct Phase {
    writes: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn write_phase(channels: &[Channel], clients: usize, seconds: u64) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let channel = channels[c % channels.len()].clone();
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match write(channel.clone(), format!("/bench/c{c}/a{}", n % 8), n).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
                n += 1;
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Phase {
        writes: latencies.len(),
        errors,
        elapsed,
        latencies,
    }
}

pub async fn run(args: CoreArgs) -> anyhow::Result<()> {
    let mut cluster = LocalCluster::start(3, &args.raft)?;
    println!("cluster: 3 nodes in {}", cluster.path().display());
    let leader = cluster.wait_leader(Duration::from_secs(20)).await?;

    // Writes go to the leader, as a client library that follows the leader would send them.
    let channels: Vec<Channel> = (0..CONNECTIONS)
        .map(|_| connect_lazy(&cluster.nodes[leader].grpc, None).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    write_phase(&channels, 16, 1).await; // warm-up
    for &clients in &args.clients {
        let term_before = term_of(channels[0].clone()).await;
        let p = write_phase(&channels, clients, args.seconds).await;
        let term_after = term_of(channels[0].clone()).await;
        println!(
            "writes clients={clients} writes_per_s={:.0} p50_ms={:.2} p99_ms={:.2} errors={} elections={}",
            p.writes as f64 / p.elapsed.as_secs_f64(),
            ms(percentile(&p.latencies, 0.50)),
            ms(percentile(&p.latencies, 0.99)),
            p.errors,
            term_after.saturating_sub(term_before),
        );
    }
    drop(channels);

    if args.kills > 0 {
        failover_phase(&mut cluster, args.kills).await?;
    }
    if args.restart_apps > 0 {
        restart_phase(&mut cluster, args.restart_apps).await?;
    }
    Ok(())
}

/// Kill the leader, then write through a survivor until a write succeeds.
async fn failover_phase(cluster: &mut LocalCluster, kills: usize) -> anyhow::Result<()> {
    let client = http_client();
    let mut times = Vec::new();
    for round in 0..kills {
        let leader = cluster.wait_leader(Duration::from_secs(20)).await?;
        let survivor = (leader + 1) % cluster.nodes.len();
        let url = format!("http://{}/v2/apps", cluster.nodes[survivor].http);
        let t0 = Instant::now();
        cluster.kill(leader);
        let mut k = 0;
        loop {
            let body = app_json(&format!("/bench/failover/r{round}-{k}"), 0);
            k += 1;
            let answer = http(&client, "POST", &url, Some(body), Duration::from_secs(2)).await;
            if matches!(answer, Some((201, _))) {
                break;
            }
            anyhow::ensure!(
                t0.elapsed() < Duration::from_secs(30),
                "no write within 30 s of a kill"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let took = t0.elapsed();
        times.push(took);
        println!("failover round={round} ms={:.0}", ms(took));
        cluster.spawn(leader)?;
        // Let the restarted node rejoin before the next kill, so each round starts from three.
        wait_serving(
            cluster,
            leader,
            &format!("/bench/failover/r{round}-{}", k - 1),
        )
        .await?;
    }
    times.sort();
    println!(
        "failover kills={} median_ms={:.0} worst_ms={:.0}",
        times.len(),
        ms(percentile(&times, 0.5)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
    );
    Ok(())
}

/// Waits until node `i` serves app `id` from its own state.
async fn wait_serving(cluster: &LocalCluster, i: usize, id: &str) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let client = http_client();
    let url = format!(
        "http://{}/v2/apps{id}?consistency=stale",
        cluster.nodes[i].http
    );
    while t0.elapsed() < Duration::from_secs(60) {
        if let Some((200, _)) = http(&client, "GET", &url, None, Duration::from_secs(1)).await {
            return Ok(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    anyhow::bail!(
        "node {} did not serve {id} within 60 s",
        cluster.nodes[i].id
    )
}

/// Loads many apps, then kills and restarts a follower and times it back to serving.
async fn restart_phase(cluster: &mut LocalCluster, apps: usize) -> anyhow::Result<()> {
    let leader = cluster.wait_leader(Duration::from_secs(20)).await?;
    let channels: Vec<Channel> = (0..CONNECTIONS)
        .map(|_| connect_lazy(&cluster.nodes[leader].grpc, None).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let t0 = Instant::now();
    let writers = 256;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let channel = channels[w % channels.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < apps {
                let id = format!("/load/g{}/app{i}", i % 100);
                let mut tries = 0;
                while let Err(e) = write(channel.clone(), id.clone(), 1).await {
                    tries += 1;
                    if tries > 20 {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                i += writers;
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "restart loaded_apps={apps} load_s={:.1}",
        t0.elapsed().as_secs_f64()
    );
    let last = format!("/load/g{}/app{}", (apps - 1) % 100, apps - 1);
    let follower = (leader + 1) % cluster.nodes.len();
    // Wait until the follower has everything, so the restart measures loading, not catching up.
    let mut get = AppServiceClient::new(
        connect_lazy(&cluster.nodes[follower].grpc, None).map_err(anyhow::Error::msg)?,
    );
    while get
        .get_app(GetAppRequest {
            id: last.clone(),
            consistency: 1,
        })
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut samples = Vec::new();
    for run in 0..3 {
        cluster.kill(follower);
        cluster.spawn(follower)?;
        let took = wait_serving(cluster, follower, &last).await?;
        let rss = cluster.pid(follower).and_then(rss_mib).unwrap_or(0.0);
        println!(
            "restart run={run} apps={apps} to_serving_ms={:.0} rss_mib={rss:.0}",
            ms(took)
        );
        samples.push(took);
    }
    samples.sort();
    let leader_rss = cluster.pid(leader).and_then(rss_mib).unwrap_or(0.0);
    println!(
        "restart apps={apps} median_to_serving_ms={:.0} leader_rss_mib={leader_rss:.0}",
        ms(percentile(&samples, 0.5))
    );
    Ok(())
}
