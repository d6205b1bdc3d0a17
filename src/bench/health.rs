//! The health check benchmark: the engine probing tens of thousands of simulated tasks over
//! HTTP against a few local servers, with checks/s, lateness behind schedule and CPU printed.

use super::cluster::threads_named;
use crate::health::{Engine, EngineConfig, Probe, SharedStats, Target, TargetKey};
use crate::state::app::HealthCheck;
use crate::state::ids::InstanceId;
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Simulated tasks of a single run (default: the two standard runs, 20,000 tasks every 5 s
    /// and 50,000 every 10 s).
    #[arg(long)]
    pub tasks: Option<usize>,
    /// Check interval of a single run, seconds.
    #[arg(long)]
    pub interval_secs: Option<u64>,
    /// Seconds measured per run, after one interval of warm-up.
    #[arg(long, default_value_t = 30)]
    pub duration_secs: u64,
    /// Local HTTP servers the tasks are spread over.
    #[arg(long, default_value_t = 4)]
    pub servers: usize,
    /// The engine's budget of probes in flight.
    #[arg(long, default_value_t = EngineConfig::default().max_in_flight)]
    pub max_in_flight: usize,
}

/// Names the server runtime's threads, so their CPU can be told apart from the checker's.
const SERVER_THREAD: &str = "bench-hc-srv";
/// Linux reports per-thread CPU in USER_HZ ticks, fixed at 100 for user space.
const TICKS_PER_SECOND: f64 = 100.0;
const P99_TARGET: Duration = Duration::from_millis(100);
/// Period of the sleeper task that measures how late the machine wakes any task.
const SLEEPER_PERIOD: Duration = Duration::from_millis(5);

pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let runs: Vec<(usize, u64)> = match (args.tasks, args.interval_secs) {
        (None, None) => vec![(20_000, 5), (50_000, 10)],
        (tasks, interval) => vec![(tasks.unwrap_or(20_000), interval.unwrap_or(5).max(1))],
    };
    // The servers get their own runtime (one thread) so the checker's CPU is measured alone.
    let servers_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()
        .context("cannot build the servers' runtime")?;
    let served = Arc::new(AtomicU64::new(0));
    let mut addrs = Vec::new();
    for _ in 0..args.servers.max(1) {
        let served = served.clone();
        let addr = servers_rt
            .spawn(async move { serve(served).await })
            .await
            .context("a server task failed")??;
        addrs.push(addr);
    }
    let mut misses = Vec::new();
    for (tasks, interval) in runs {
        let figures = measure(&args, &addrs, tasks, interval).await?;
        figures.print();
        if figures.lateness_p99 > P99_TARGET || figures.checker_cores > 1.0 {
            misses.push(format!("{tasks} tasks every {interval} s"));
        }
    }
    servers_rt.shutdown_background();
    if !misses.is_empty() {
        println!("targets missed: {}", misses.join(", "));
    }
    Ok(())
}

/// A local HTTP/1.1 server answering 200 to any path (the path names the simulated task).
async fn serve(served: Arc<AtomicU64>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let served = served.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_request| {
                    served.fetch_add(1, Ordering::Relaxed);
                    async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

struct Figures {
    tasks: usize,
    interval: u64,
    servers: usize,
    measured: Duration,
    checks_per_second: f64,
    lateness_p50: Duration,
    lateness_p99: Duration,
    lateness_max: Duration,
    checker_cores: f64,
    server_cores: f64,
    wake_p99: Duration,
    wake_max: Duration,
    failed: u64,
    skipped: u64,
}

impl Figures {
    fn print(&self) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "health: {} tasks every {} s over HTTP against {} local servers, {:.0} s measured",
            self.tasks,
            self.interval,
            self.servers,
            self.measured.as_secs_f64()
        );
        println!(
            "  checks/s      {:.0} (schedule asks {:.0})",
            self.checks_per_second,
            self.tasks as f64 / self.interval as f64
        );
        println!(
            "  lateness      p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 <= {} ms)",
            ms(self.lateness_p50),
            ms(self.lateness_p99),
            ms(self.lateness_max),
            P99_TARGET.as_millis()
        );
        println!(
            "  a 5 ms sleeper beside it woke late by p99 {:.1} ms, max {:.1} ms (the machine's share)",
            ms(self.wake_p99),
            ms(self.wake_max)
        );
        println!(
            "  checker CPU   {:.2} cores (target <= 1); the servers used {:.2} cores",
            self.checker_cores, self.server_cores
        );
        println!(
            "  failed probes {}, rounds skipped {}",
            self.failed, self.skipped
        );
    }
}

async fn measure(
    args: &HealthArgs,
    servers: &[SocketAddr],
    tasks: usize,
    interval: u64,
) -> anyhow::Result<Figures> {
    let template: HealthCheck = serde_json::from_value(serde_json::json!({
        "protocol": "HTTP",
        "intervalSeconds": interval,
        "timeoutSeconds": interval.clamp(1, 5),
        "gracePeriodSeconds": 0,
        "delaySeconds": 0,
    }))
    .context("the benchmark's health check")?;
    let (out, mut probes) = mpsc::channel::<Probe>(8192);
    let cancel = CancellationToken::new();
    let config = EngineConfig {
        max_in_flight: args.max_in_flight,
        ..EngineConfig::default()
    };
    let engine = Engine::start(config, out, cancel.clone());
    // The consumer a leader would be: it reads every probe.
    let failed = Arc::new(AtomicU64::new(0));
    let consumer = {
        let failed = failed.clone();
        tokio::spawn(async move {
            while let Some(probe) = probes.recv().await {
                if !matches!(probe.outcome, crate::health::Outcome::Healthy) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    for n in 0..tasks {
        let instance = InstanceId(format!("bench.instance-{n:06}").into());
        let mut check = template.clone();
        check.path = Some(format!("/health/{instance}"));
        let server = servers[n % servers.len()];
        engine.upsert(Target {
            key: TargetKey {
                instance,
                check_index: 0,
            },
            check: Arc::new(check),
            host: server.ip().to_string(),
            port: server.port(),
        });
    }
    let sleeper_stats = Arc::new(SharedStats::new());
    let sleeper = tokio::spawn(sleeper(sleeper_stats.clone(), cancel.clone()));
    // One interval of warm-up: every target has been probed once and the pools are filled.
    tokio::time::sleep(Duration::from_secs(interval) + Duration::from_millis(500)).await;
    let (before, cpu_before, started) = (engine.stats(), cpu_seconds()?, Instant::now());
    let wakes_before = sleeper_stats.snapshot().lateness;
    tokio::time::sleep(Duration::from_secs(args.duration_secs.max(1))).await;
    let (after, cpu_after, measured) = (engine.stats(), cpu_seconds()?, started.elapsed());
    let wakes = sleeper_stats.snapshot().lateness.since(&wakes_before);
    let failed_in_window = failed.load(Ordering::Relaxed);
    cancel.cancel();
    consumer.await.context("the probe consumer failed")?;
    sleeper.await.context("the sleeper failed")?;
    let lateness = after.lateness.since(&before.lateness);
    let seconds = measured.as_secs_f64();
    Ok(Figures {
        tasks,
        interval,
        servers: servers.len(),
        measured,
        checks_per_second: (after.checks_done - before.checks_done) as f64 / seconds,
        lateness_p50: lateness.quantile(0.50),
        lateness_p99: lateness.quantile(0.99),
        lateness_max: lateness.max(),
        checker_cores: (cpu_after.checker - cpu_before.checker) / seconds,
        server_cores: (cpu_after.servers - cpu_before.servers) / seconds,
        wake_p99: wakes.quantile(0.99),
        wake_max: wakes.max(),
        failed: failed_in_window,
        skipped: after.skipped_overlap - before.skipped_overlap,
    })
}

/// Sleeps `SLEEPER_PERIOD` at a time on the checker's runtime and records how late it wakes:
/// lateness the engine cannot cause nor avoid (other processes holding the CPUs).
async fn sleeper(stats: Arc<SharedStats>, cancel: CancellationToken) {
    let mut next = tokio::time::Instant::now();
    loop {
        next += SLEEPER_PERIOD;
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(next) => {}
        }
        let now = tokio::time::Instant::now();
        stats.record_lateness(now.saturating_duration_since(next));
        next = next.max(now);
    }
}

/// CPU seconds (user + system) of this process, split into the servers' threads and the rest.
struct CpuSeconds {
    checker: f64,
    servers: f64,
}

/// Reads `/proc`, as `getrusage` would count (the crate forbids the unsafe call): the whole
/// process from `/proc/self/stat`, the servers' threads from `/proc/self/task/*/stat`.
fn cpu_seconds() -> anyhow::Result<CpuSeconds> {
    let total = stat_cpu(&std::fs::read_to_string("/proc/self/stat")?)?;
    let mut servers = 0.0;
    for dir in threads_named(SERVER_THREAD) {
        if let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
            servers += stat_cpu(&stat)?;
        }
    }
    Ok(CpuSeconds {
        checker: total - servers,
        servers,
    })
}

/// utime + stime of a `stat` line, in seconds. Fields are counted after the `(comm)` field,
/// which may itself contain spaces.
fn stat_cpu(stat: &str) -> anyhow::Result<f64> {
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("a stat line without its (comm) field")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the comm: state is field 3, utime field 14, stime field 15.
    let field = |n: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(n - 3)
            .context("a short stat line")?
            .parse::<u64>()? as f64)
    };
    Ok((field(14)? + field(15)?) / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_reads_utime_and_stime_after_a_comm_with_spaces() {
        let line = "4242 (bench hc) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 7 0";
        assert_eq!(stat_cpu(line).unwrap(), 4.0);
        assert!(stat_cpu("garbage").is_err());
        assert!(cpu_seconds().unwrap().checker >= 0.0);
    }
}
