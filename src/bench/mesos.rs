//! The mesos-local benchmark: `baton mesos-local --simulated` with many agents as a child
//! process, and one framework over real HTTP that launches small tasks into every offer and
//! acknowledges every update; tasks launched and RUNNING per second, median over several runs.

use super::cluster::{HttpClient, http_client};
use crate::mesos::{
    Accept, Acknowledge, Call, CallBody, CommandInfo, Decline, Event, Filters, FrameworkCapability,
    FrameworkId, FrameworkInfo, Offer, Operation, RecordIoDecoder, Resource, TaskId, TaskInfo,
    TaskState, Value,
};
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Debug, clap::Args)]
pub struct MesosArgs {
    /// Simulated agents.
    #[arg(long, default_value_t = 1000)]
    pub agents: u32,
    /// Tasks launched (and waited for RUNNING) in each run.
    #[arg(long, default_value_t = 50_000)]
    pub tasks: usize,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Every agent's resources; the default holds 50 of the benchmark's tasks.
    #[arg(
        long,
        default_value = "cpus:0.5;mem:1024;disk:1024;ports:[31000-31999]"
    )]
    pub agent_resources: String,
    /// Calls (ACCEPT, DECLINE, ACKNOWLEDGE) in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// Each task's resources: small, so that many fit an offer.
const TASK_CPUS: f64 = 0.01;
const TASK_MEM: f64 = 1.0;
/// How long one run may take before it is called failed.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// How long mesos-local may take to serve `/version`.
const START_LIMIT: Duration = Duration::from_secs(20);

struct Figures {
    tasks_per_s: f64,
    offers_per_s: f64,
    elapsed: Duration,
}

pub async fn run(args: MesosArgs) -> anyhow::Result<()> {
    if args.runs == 0 || args.tasks == 0 {
        bail!("--runs and --tasks must be positive");
    }
    let mut runs = Vec::new();
    for i in 1..=args.runs {
        let f = one_run(&args).await.with_context(|| format!("run {i}"))?;
        println!(
            "run {i}: tasks={} in {:.2}s  tasks_per_s={:.0}  offers_per_s={:.0}",
            args.tasks,
            f.elapsed.as_secs_f64(),
            f.tasks_per_s,
            f.offers_per_s
        );
        runs.push(f);
    }
    runs.sort_by(|a, b| a.tasks_per_s.total_cmp(&b.tasks_per_s));
    let median = &runs[runs.len() / 2];
    println!(
        "mesos_local tasks_per_s={:.0}  offers_per_s={:.0}  agents={}  (median of {})",
        median.tasks_per_s,
        median.offers_per_s,
        args.agents,
        runs.len()
    );
    Ok(())
}

/// `baton mesos-local` as a child, killed (with its simulated tasks, which are no processes)
/// on drop.
pub(super) struct MesosLocal {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for MesosLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a free port")?;
    Ok(l.local_addr()?.port())
}

/// Starts `baton mesos-local --simulated` with `agents` agents of `agent_resources` each on
/// `port`, and waits until it serves `/version`.
pub(super) async fn start_mesos_local(
    agents: u32,
    agent_resources: &str,
    port: u16,
) -> anyhow::Result<MesosLocal> {
    let binary = std::env::current_exe().context("cannot find the baton binary")?;
    let dir = tempfile::Builder::new()
        .prefix("baton-bench-ml-")
        .tempdir()?;
    let child = Command::new(binary)
        .args(["mesos-local", "--simulated", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--agents", &agents.to_string()])
        .args(["--agent-resources", agent_resources])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start baton mesos-local")?;
    let running = MesosLocal { child, _dir: dir };
    let client = http_client();
    let url = format!("http://127.0.0.1:{port}/version");
    let deadline = Instant::now() + START_LIMIT;
    while Instant::now() < deadline {
        let request = hyper::Request::get(&url).body(Full::new(Bytes::new()))?;
        if let Ok(r) = client.request(request).await
            && r.status().is_success()
        {
            return Ok(running);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("mesos-local did not serve /version within {START_LIMIT:?}")
}

/// The calls side of the framework: POSTs with the stream id, a bounded number at once.
#[derive(Clone)]
struct Caller {
    client: HttpClient,
    url: String,
    stream_id: String,
    framework_id: FrameworkId,
    slots: Arc<Semaphore>,
    failures: Arc<AtomicUsize>,
}

impl Caller {
    /// Sends a call in the background once a slot is free; failures are counted.
    async fn send(&self, body: CallBody) {
        let call = Call::new(self.framework_id.clone(), body);
        let Ok(json) = serde_json::to_vec(&call) else {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let ok = this.post(json).await;
            if !ok {
                this.failures.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        });
    }

    async fn post(&self, json: Vec<u8>) -> bool {
        let Ok(request) = hyper::Request::post(&self.url)
            .header("content-type", "application/json")
            .header("mesos-stream-id", &self.stream_id)
            .body(Full::new(Bytes::from(json)))
        else {
            return false;
        };
        match self.client.request(request).await {
            Ok(r) => {
                let ok = r.status().as_u16() == 202;
                ok && r.into_body().collect().await.is_ok()
            }
            Err(_) => false,
        }
    }
}

fn scalar(offer: &Offer, name: &str) -> f64 {
    offer
        .resources
        .iter()
        .filter(|r| r.name == name)
        .map(|r| match r.value {
            Value::Scalar(x) => x,
            _ => 0.0,
        })
        .sum()
}

/// How many benchmark tasks an offer holds.
fn fits(offer: &Offer) -> usize {
    // Thousandths, as Mesos counts scalars, so 0.5 / 0.01 is 50 and not 49.
    let by = |have: f64, each: f64| ((have * 1000.0).round() / (each * 1000.0).round()) as usize;
    by(scalar(offer, "cpus"), TASK_CPUS).min(by(scalar(offer, "mem"), TASK_MEM))
}

fn task(offer: &Offer, n: usize) -> TaskInfo {
    let id = format!("bench-{n}");
    TaskInfo::command(
        id.clone(),
        TaskId::new(id),
        offer.agent_id.clone(),
        vec![
            Resource::scalar("cpus", TASK_CPUS),
            Resource::scalar("mem", TASK_MEM),
        ],
        CommandInfo::shell("sleep 1000"),
    )
}

async fn one_run(args: &MesosArgs) -> anyhow::Result<Figures> {
    let port = free_port()?;
    let _mesos_local = start_mesos_local(args.agents, &args.agent_resources, port).await?;
    let client = http_client();
    let url = format!("http://127.0.0.1:{port}/api/v1/scheduler");
    let mut info = FrameworkInfo::new("root", "baton-bench");
    info.capabilities = vec![FrameworkCapability::PartitionAware];
    let subscribe = serde_json::to_vec(&Call::subscribe(info))?;

    let started = Instant::now();
    let request = hyper::Request::post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(Full::new(Bytes::from(subscribe)))?;
    let response = http_client().request(request).await.context("SUBSCRIBE")?;
    if !response.status().is_success() {
        bail!("SUBSCRIBE answered {}", response.status());
    }
    let stream_id = response
        .headers()
        .get("mesos-stream-id")
        .and_then(|v| v.to_str().ok())
        .context("no Mesos-Stream-Id")?
        .to_owned();
    let mut body = response.into_body();
    let mut decoder = RecordIoDecoder::default();
    let mut caller: Option<Caller> = None;
    let (mut launched, mut running, mut offers) = (0usize, 0usize, 0usize);
    let failures = Arc::new(AtomicUsize::new(0));
    let deadline = started + RUN_LIMIT;
    while running < args.tasks {
        let frame = tokio::time::timeout_at(deadline.into(), body.frame())
            .await
            .context("the run took too long")?
            .context("the event stream ended")?
            .context("reading the event stream")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        decoder.push(&data);
        while let Some(record) = decoder.next_record()? {
            match Event::from_json(&record)? {
                Event::Subscribed(s) => {
                    caller = Some(Caller {
                        client: client.clone(),
                        url: url.clone(),
                        stream_id: stream_id.clone(),
                        framework_id: s.framework_id,
                        slots: Arc::new(Semaphore::new(args.concurrency.max(1))),
                        failures: failures.clone(),
                    });
                }
                Event::Offers(o) => {
                    let Some(c) = &caller else { continue };
                    for offer in o.offers {
                        offers += 1;
                        let n = fits(&offer).min(args.tasks - launched);
                        if n == 0 {
                            let decline = Decline {
                                offer_ids: vec![offer.id],
                                filters: Some(Filters::refuse_seconds(3600.0)),
                            };
                            c.send(CallBody::Decline(decline)).await;
                            continue;
                        }
                        let tasks = (launched..launched + n).map(|i| task(&offer, i)).collect();
                        launched += n;
                        let accept = Accept {
                            offer_ids: vec![offer.id.clone()],
                            operations: vec![Operation::launch(tasks)],
                            filters: None,
                        };
                        c.send(CallBody::Accept(accept)).await;
                    }
                }
                Event::Update(u) => {
                    let Some(c) = &caller else { continue };
                    match u.status.state {
                        TaskState::Running => running += 1,
                        TaskState::Staging | TaskState::Starting => {}
                        other => bail!(
                            "task {} went {other}: {:?}",
                            u.status.task_id,
                            u.status.message
                        ),
                    }
                    if let Some(ack) = Acknowledge::for_status(&u.status) {
                        c.send(CallBody::Acknowledge(ack)).await;
                    }
                }
                Event::Error(e) => bail!("ERROR event: {}", e.message),
                _ => {}
            }
        }
    }
    let elapsed = started.elapsed();
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        bail!("{failed} calls failed");
    }
    Ok(Figures {
        tasks_per_s: running as f64 / elapsed.as_secs_f64(),
        offers_per_s: offers as f64 / elapsed.as_secs_f64(),
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{AgentId, OfferId};

    #[test]
    fn an_offer_holds_as_many_tasks_as_its_scarcest_resource_allows() {
        let offer = |cpus: f64, mem: f64| Offer {
            id: OfferId::new("O"),
            framework_id: FrameworkId::new("F"),
            agent_id: AgentId::new("S"),
            hostname: "h".into(),
            url: None,
            domain: None,
            allocation_info: None,
            resources: vec![Resource::scalar("cpus", cpus), Resource::scalar("mem", mem)],
            attributes: Vec::new(),
            executor_ids: Vec::new(),
            unavailability: None,
        };
        let table = [
            (0.5, 1024.0, 50),
            (4.0, 30.0, 30),
            (0.009, 100.0, 0),
            (0.3, 0.0, 0),
        ];
        for (cpus, mem, want) in table {
            assert_eq!(fits(&offer(cpus, mem)), want, "cpus {cpus} mem {mem}");
        }
    }
}
