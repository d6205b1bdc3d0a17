//! `baton mesos-local` as a scheduler sees it: the real binary, driven over HTTP with the
//! RecordIO decoder, from subscription through launches, kills, filters, reconciliation and
//! failover to its exit taking every task process with it; domains, simulated agents, rescinds,
//! the admin endpoint and URI fetching; health checks and checks, reservations and persistent
//! volumes, and task groups.

mod common;

use baton::mesos::{Event, Offer, RecordIoDecoder, TaskState, TaskStatus};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

/// A running `baton mesos-local`, killed on drop.
struct MesosLocal {
    child: Option<Child>,
    base: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl MesosLocal {
    async fn start(agents: u32) -> MesosLocal {
        MesosLocal::start_with(agents, &[]).await
    }

    /// With extra flags after the usual ones.
    async fn start_with(agents: u32, extra: &[&str]) -> MesosLocal {
        let dir = tempfile::Builder::new()
            .prefix("baton-ml-")
            .tempdir()
            .expect("temp dir");
        let port = common::free_ports(1)[0];
        let log = std::fs::File::create(dir.path().join("mesos-local.log")).expect("log file");
        let child = Command::new(common::baton_bin())
            .args(["mesos-local", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--agents", &agents.to_string(), "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--agent-attributes", "rack:a"])
            .args([
                "--heartbeat-interval-secs",
                "1",
                "--allocation-interval-ms",
                "100",
            ])
            .args(["--status-retry-secs", "1"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn baton mesos-local");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(common::REQUEST_TIMEOUT)
            .build()
            .expect("http client");
        let ml = MesosLocal {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            dir,
            http,
        };
        let url = format!("{}/version", ml.base);
        common::eventually(WAIT, "mesos-local to serve /version", || async {
            ml.http
                .get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
        ml
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    async fn get(&self, path: &str) -> Value {
        let r = self.http.get(format!("{}{path}", self.base)).send().await;
        r.expect("GET").json().await.expect("JSON body")
    }

    /// POSTs a call; the status code and body text.
    async fn post(&self, call: &Value, stream_id: Option<&str>) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("{}/api/v1/scheduler", self.base))
            .header("Content-Type", "application/json")
            .body(call.to_string());
        if let Some(id) = stream_id {
            req = req.header("Mesos-Stream-Id", id);
        }
        let r = req.send().await.expect("POST a call");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    async fn subscribe(&self, framework_id: Option<&str>) -> Sub {
        let info = json!({"user": "root", "name": "it", "failover_timeout": 600.0,
            "capabilities": [{"type": "PARTITION_AWARE"}]});
        self.subscribe_as(framework_id, info).await
    }

    /// Subscribes with this FrameworkInfo (its id set from `framework_id`).
    async fn subscribe_as(&self, framework_id: Option<&str>, mut info: Value) -> Sub {
        let mut call = json!({"type": "SUBSCRIBE"});
        if let Some(id) = framework_id {
            info["id"] = json!({"value": id});
            call["framework_id"] = json!({"value": id});
        }
        call["subscribe"] = json!({"framework_info": info});
        // No timeout: the response never ends.
        let streaming = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let mut resp = streaming
            .post(format!("{}/api/v1/scheduler", self.base))
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(call.to_string())
            .send()
            .await
            .expect("SUBSCRIBE");
        assert_eq!(resp.status().as_u16(), 200);
        let h = resp.headers();
        assert_eq!(
            h.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        assert!(h.get("content-length").is_none(), "the stream is chunked");
        let stream_id = h
            .get("mesos-stream-id")
            .and_then(|v| v.to_str().ok())
            .expect("Mesos-Stream-Id")
            .to_owned();
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut decoder = RecordIoDecoder::default();
            while let Ok(Some(chunk)) = resp.chunk().await {
                decoder.push(&chunk);
                while let Ok(Some(record)) = decoder.next_record() {
                    let event = Event::from_json(&record).expect("an event");
                    if tx.send(event).is_err() {
                        return;
                    }
                }
            }
        });
        let mut sub = Sub {
            stream_id,
            framework_id: String::new(),
            events,
            pending: VecDeque::new(),
        };
        let subscribed = sub
            .next("SUBSCRIBED", |e| match e {
                Event::Subscribed(s) => Some(s.clone()),
                _ => None,
            })
            .await;
        assert_eq!(subscribed.heartbeat_interval_seconds, Some(1.0));
        sub.framework_id = subscribed.framework_id.value;
        sub
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// An `/admin` request: the status code and the JSON answer.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.expect("an admin request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for MesosLocal {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.dir.path().join("mesos-local.log");
            eprintln!("----- mesos-local log -----\n{}", common::tail(&log, 80));
        }
    }
}

/// One subscription's events; those not yet asked for wait in `pending`.
struct Sub {
    stream_id: String,
    framework_id: String,
    events: mpsc::UnboundedReceiver<Event>,
    pending: VecDeque<Event>,
}

impl Sub {
    /// The first event (pending or new) for which `f` gives a value; heartbeats are skipped.
    async fn next<T>(&mut self, what: &str, mut f: impl FnMut(&Event) -> Option<T>) -> T {
        if let Some(i) = self.pending.iter().position(|e| f(e).is_some())
            && let Some(e) = self.pending.remove(i)
            && let Some(v) = f(&e)
        {
            return v;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let e = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out waiting for {what}; pending {:?}", self.pending)
                })
                .unwrap_or_else(|| panic!("stream ended while waiting for {what}"));
            if let Some(v) = f(&e) {
                return v;
            }
            if !matches!(e, Event::Heartbeat) {
                self.pending.push_back(e);
            }
        }
    }

    /// An outstanding offer, optionally from a given agent hostname.
    async fn offer(&mut self, hostname: Option<&str>) -> Offer {
        let fits = |o: &Offer| hostname.is_none_or(|h| o.hostname == h);
        let mut offers = self
            .next("OFFERS", |e| match e {
                Event::Offers(o) if o.offers.iter().any(fits) => Some(o.offers.clone()),
                _ => None,
            })
            .await;
        let i = offers.iter().position(fits).expect("a fitting offer");
        let offer = offers.remove(i);
        if !offers.is_empty() {
            self.pending
                .push_front(Event::Offers(baton::mesos::Offers { offers }));
        }
        offer
    }

    /// Every offer received so far and not taken.
    fn take_pending_offers(&mut self) -> Vec<Offer> {
        let mut out = Vec::new();
        self.pending.retain(|e| match e {
            Event::Offers(o) => {
                out.extend(o.offers.iter().cloned());
                false
            }
            _ => true,
        });
        out
    }

    async fn status(&mut self, task: &str, state: TaskState) -> TaskStatus {
        let what = format!("{state} of {task}");
        self.next(&what, |e| match e {
            Event::Update(u) if u.status.task_id.value == task && u.status.state == state => {
                Some(u.status.clone())
            }
            _ => None,
        })
        .await
    }

    /// Asserts no OFFERS event arrives for `quiet`.
    async fn no_offers_for(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            assert!(!matches!(e, Event::Offers(_)), "unexpected offers: {e:?}");
            if !matches!(e, Event::Heartbeat) {
                self.pending.push_back(e);
            }
        }
    }

    fn fw(&self) -> Value {
        json!({"value": self.framework_id})
    }

    /// Waits for the RESCIND of `offer`.
    async fn rescinded(&mut self, offer: &Offer) {
        let id = offer.id.value.clone();
        self.next(&format!("RESCIND of {id}"), |e| match e {
            Event::Rescind(r) if r.offer_id.value == id => Some(()),
            _ => None,
        })
        .await;
    }
}

fn resources(cpus: f64, mem: f64, port: Option<u64>) -> Value {
    let mut r = vec![
        json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}}),
        json!({"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}),
    ];
    if let Some(p) = port {
        r.push(json!({"name": "ports", "type": "RANGES",
            "ranges": {"range": [{"begin": p, "end": p}]}}));
    }
    json!(r)
}

fn first_port(offer: &Offer) -> u64 {
    offer
        .resources
        .iter()
        .find_map(|r| match &r.value {
            baton::mesos::Value::Ranges(rs) if r.name == "ports" => rs.first().map(|x| x.begin),
            _ => None,
        })
        .expect("offer has ports")
}

async fn launch(ml: &MesosLocal, sub: &Sub, offer: &Offer, task: Value) {
    let call = json!({"type": "ACCEPT", "framework_id": sub.fw(), "accept": {
        "offer_ids": [{"value": offer.id.value}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}],
        "filters": {"refuse_seconds": 0}}});
    assert_eq!(ml.post(&call, Some(&sub.stream_id)).await.0, 202);
}

fn command_task(id: &str, offer: &Offer, cmd: &str, port: Option<u64>) -> Value {
    json!({"name": id, "task_id": {"value": id}, "agent_id": {"value": offer.agent_id.value},
        "resources": resources(0.1, 32.0, port), "command": {"value": cmd}})
}

async fn ack(ml: &MesosLocal, sub: &Sub, status: &TaskStatus) {
    let uuid = status.uuid.as_ref().expect("a reliable update has a uuid");
    let call = json!({"type": "ACKNOWLEDGE", "framework_id": sub.fw(), "acknowledge": {
        "agent_id": status.agent_id.as_ref().expect("agent_id"),
        "task_id": {"value": status.task_id.value}, "uuid": uuid.to_base64()}});
    assert_eq!(ml.post(&call, Some(&sub.stream_id)).await.0, 202);
}

/// Waits for a status, checks it is a reliable executor update, and acknowledges it.
async fn expect_and_ack(
    ml: &MesosLocal,
    sub: &mut Sub,
    task: &str,
    state: TaskState,
) -> TaskStatus {
    let s = sub.status(task, state).await;
    assert!(s.agent_id.is_some() && s.timestamp.is_some(), "{s:?}");
    ack(ml, sub, &s).await;
    s
}

async fn read_pid(path: &Path) -> String {
    common::eventually(WAIT, "the task's pid file", || async {
        std::fs::read_to_string(path)
            .ok()
            .filter(|s| s.ends_with('\n'))
            .map(|s| s.trim().to_owned())
    })
    .await
}

/// Alive and not a zombie.
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_owned())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

async fn gone(pid: &str) {
    common::eventually(WAIT, &format!("process {pid} to die"), || async {
        (!alive(pid)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_local_end_to_end() {
    let ml = MesosLocal::start(2).await;
    let tmp = ml.dir.path().to_path_buf();

    let version = ml.get("/version").await;
    assert_eq!(version["version"], "1.11.0");

    // Malformed calls.
    let (code, _) = ml.post(&json!({"type": "SUBSCRIBE"}), None).await;
    assert_eq!(code, 400);
    let r = ml
        .http
        .post(format!("{}/api/v1/scheduler", ml.base))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 400);

    let scheduler = format!("{}/api/v1/scheduler", ml.base);
    let subscribe =
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "n"}}});
    let r = ml
        .http
        .post(&scheduler)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(subscribe.to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 415, "Content-Type must match exactly");
    let (code, body) = ml.post(&subscribe, Some("some-stream")).await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("should not include the 'Mesos-Stream-Id' header"),
        "{body}"
    );
    let r = ml.http.get(&scheduler).send().await.expect("GET");
    assert_eq!(r.status().as_u16(), 405);

    let mut sub = ml.subscribe(None).await;
    let fw = sub.fw();
    assert!(sub.framework_id.ends_with("-0000"), "{}", sub.framework_id);
    let (code, body) = ml
        .post(&json!({"type": "REVIVE", "framework_id": fw}), None)
        .await;
    assert_eq!(code, 400, "missing stream id: {body}");
    let unknown = json!({"type": "REVIVE", "framework_id": {"value": "nope"}});
    assert_eq!(ml.post(&unknown, Some(&sub.stream_id)).await.0, 400);

    // One offer per agent, from 127.0.1.1 and 127.0.1.2 with distinct ports and the attributes.
    let a1 = sub.offer(Some("127.0.1.1")).await;
    let a2 = sub.offer(Some("127.0.1.2")).await;
    assert_eq!((first_port(&a1), first_port(&a2)), (31000, 32000));
    assert_eq!(a1.attributes.len(), 1);
    assert_eq!((&a1.domain, &a1.unavailability), (&None, &None));

    // A short task: STARTING, RUNNING, FINISHED, each acknowledged; FINISHED is redelivered
    // until then.
    let env_file = tmp.join("env.txt");
    let cmd = format!(
        "echo hi; echo \"$PORT0 $HOST $MESOS_TASK_ID\" > {}; exit 0",
        env_file.display()
    );
    launch(
        &ml,
        &sub,
        &a1,
        command_task("echo-1", &a1, &cmd, Some(31000)),
    )
    .await;
    let starting = expect_and_ack(&ml, &mut sub, "echo-1", TaskState::Starting).await;
    assert_eq!(starting.source, Some(baton::mesos::TaskSource::Executor));
    expect_and_ack(&ml, &mut sub, "echo-1", TaskState::Running).await;
    let finished = sub.status("echo-1", TaskState::Finished).await;
    let again = sub.status("echo-1", TaskState::Finished).await;
    assert_eq!(
        finished.uuid, again.uuid,
        "an unacknowledged update is sent again"
    );
    ack(&ml, &sub, &finished).await;
    let env = std::fs::read_to_string(&env_file).expect("the task wrote its environment");
    assert_eq!(env.trim(), "31000 127.0.1.1 echo-1");
    let stdout = ml.data().join(format!(
        "agents/{}/frameworks/{}/executors/echo-1/runs/latest/stdout",
        a1.agent_id.value, sub.framework_id
    ));
    assert_eq!(std::fs::read_to_string(&stdout).unwrap_or_default(), "hi\n");

    // A long task, killed: SIGTERM reaches it, TASK_KILLED, and the process is gone.
    let pid_file = tmp.join("sleep-1.pid");
    let cmd = format!("echo $$ > {}; exec sleep 1000", pid_file.display());
    launch(&ml, &sub, &a2, command_task("sleep-1", &a2, &cmd, None)).await;
    expect_and_ack(&ml, &mut sub, "sleep-1", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "sleep-1", TaskState::Running).await;
    let sleep_1 = read_pid(&pid_file).await;
    assert!(alive(&sleep_1));
    let kill =
        json!({"type": "KILL", "framework_id": fw, "kill": {"task_id": {"value": "sleep-1"}}});
    assert_eq!(ml.post(&kill, Some(&sub.stream_id)).await.0, 202);
    expect_and_ack(&ml, &mut sub, "sleep-1", TaskState::Killed).await;
    gone(&sleep_1).await;

    // A task that keeps running until mesos-local exits.
    let offer = sub.offer(None).await;
    let keep_file = tmp.join("sleep-2.pid");
    let cmd = format!("echo $$ > {}; exec sleep 1000", keep_file.display());
    launch(
        &ml,
        &sub,
        &offer,
        command_task("sleep-2", &offer, &cmd, None),
    )
    .await;
    expect_and_ack(&ml, &mut sub, "sleep-2", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "sleep-2", TaskState::Running).await;
    let sleep_2 = read_pid(&keep_file).await;
    let sleep_2_agent = offer.agent_id.value.clone();

    // A container image is never run on the host.
    let offer = sub.offer(None).await;
    let mut docker = command_task("docker-1", &offer, "echo should-not-run", None);
    docker["container"] = json!({"type": "DOCKER", "docker": {"image": "nginx:1.25"}});
    launch(&ml, &sub, &offer, docker).await;
    let failed = expect_and_ack(&ml, &mut sub, "docker-1", TaskState::Failed).await;
    assert_eq!(
        failed.reason,
        Some(baton::mesos::Reason::CONTAINER_LAUNCH_FAILED)
    );
    assert!(failed.message.unwrap_or_default().contains("nginx:1.25"));

    // Too big a task, and a stale offer.
    let offer = sub.offer(None).await;
    let mut big = command_task("big-1", &offer, "true", None);
    big["resources"] = resources(100.0, 32.0, None);
    launch(&ml, &sub, &offer, big).await;
    let error = sub.status("big-1", TaskState::Error).await;
    assert_eq!(error.reason, Some(baton::mesos::Reason::TASK_INVALID));
    assert!(error.uuid.is_none(), "master updates have no uuid");
    launch(
        &ml,
        &sub,
        &offer,
        command_task("late-1", &offer, "true", None),
    )
    .await;
    let dropped = sub.status("late-1", TaskState::Dropped).await;
    assert_eq!(dropped.reason, Some(baton::mesos::Reason::INVALID_OFFERS));

    // DECLINE with a long filter: nothing is offered again until REVIVE.
    let mut declined = vec![sub.offer(None).await];
    tokio::time::sleep(Duration::from_millis(300)).await;
    declined.extend(sub.take_pending_offers());
    let ids: Vec<Value> = declined
        .iter()
        .map(|o| json!({"value": o.id.value}))
        .collect();
    let decline = json!({"type": "DECLINE", "framework_id": fw,
        "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 60}}});
    assert_eq!(ml.post(&decline, Some(&sub.stream_id)).await.0, 202);
    let drain_other = sub.take_pending_offers();
    if !drain_other.is_empty() {
        let ids: Vec<Value> = drain_other
            .iter()
            .map(|o| json!({"value": o.id.value}))
            .collect();
        let decline = json!({"type": "DECLINE", "framework_id": fw,
            "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 60}}});
        assert_eq!(ml.post(&decline, Some(&sub.stream_id)).await.0, 202);
    }
    sub.no_offers_for(Duration::from_millis(800)).await;
    let revive = json!({"type": "REVIVE", "framework_id": fw});
    assert_eq!(ml.post(&revive, Some(&sub.stream_id)).await.0, 202);
    let revived = sub.offer(None).await;
    // SUPPRESS stops offers even without filters.
    let suppress = json!({"type": "SUPPRESS", "framework_id": fw});
    assert_eq!(ml.post(&suppress, Some(&sub.stream_id)).await.0, 202);
    let mut outstanding = vec![revived];
    tokio::time::sleep(Duration::from_millis(300)).await;
    outstanding.extend(sub.take_pending_offers());
    let ids: Vec<Value> = outstanding
        .iter()
        .map(|o| json!({"value": o.id.value}))
        .collect();
    let decline = json!({"type": "DECLINE", "framework_id": fw,
        "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 0}}});
    assert_eq!(ml.post(&decline, Some(&sub.stream_id)).await.0, 202);
    sub.no_offers_for(Duration::from_millis(800)).await;
    assert_eq!(ml.post(&revive, Some(&sub.stream_id)).await.0, 202);
    sub.offer(None).await;

    // Reconciliation: explicit (known, finished and forgotten, unknown) and implicit.
    let reconcile = json!({"type": "RECONCILE", "framework_id": fw, "reconcile": {"tasks": [
        {"task_id": {"value": "sleep-2"}},
        {"task_id": {"value": "echo-1"}, "agent_id": {"value": a1.agent_id.value}},
        {"task_id": {"value": "never"}}]}});
    assert_eq!(ml.post(&reconcile, Some(&sub.stream_id)).await.0, 202);
    let running = sub.status("sleep-2", TaskState::Running).await;
    assert_eq!(running.reason, Some(baton::mesos::Reason::RECONCILIATION));
    assert!(running.uuid.is_none());
    sub.status("echo-1", TaskState::Gone).await;
    sub.status("never", TaskState::Unknown).await;
    let implicit = json!({"type": "RECONCILE", "framework_id": fw, "reconcile": {"tasks": []}});
    assert_eq!(ml.post(&implicit, Some(&sub.stream_id)).await.0, 202);
    sub.status("sleep-2", TaskState::Running).await;

    // /state: one active framework with its tasks; agents with resources and attributes.
    let state = ml.get("/state").await;
    let frameworks = state["frameworks"].as_array().expect("frameworks");
    assert_eq!(frameworks.len(), 1);
    let f = &frameworks[0];
    assert_eq!(
        (f["id"].as_str(), f["active"].as_bool()),
        (Some(sub.framework_id.as_str()), Some(true))
    );
    assert!(f["registered_time"].as_f64().is_some() && f.get("reregistered_time").is_none());
    let ids = |key: &str| -> Vec<String> {
        f[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["id"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(ids("tasks"), vec!["sleep-2"]);
    for done in ["echo-1", "sleep-1", "docker-1"] {
        assert!(
            ids("completed_tasks").contains(&done.to_owned()),
            "{done} in {:?}",
            ids("completed_tasks")
        );
    }
    let slaves = state["slaves"].as_array().expect("slaves");
    assert_eq!(slaves.len(), 2);
    let on = slaves
        .iter()
        .find(|s| s["id"] == sleep_2_agent.as_str())
        .expect("sleep-2's agent");
    assert_eq!(on["used_resources"]["cpus"].as_f64(), Some(0.1));
    assert_eq!(on["resources"]["mem"].as_f64(), Some(8192.0));
    assert_eq!(on["attributes"]["rack"], "a");
    assert!(on.get("domain").is_none(), "no --domains, no domain");

    // Failover: a second SUBSCRIBE with the same id closes the first stream with an ERROR, and
    // the old stream id is refused.
    let old_stream = sub.stream_id.clone();
    let mut second = ml.subscribe(Some(&sub.framework_id)).await;
    assert_eq!(second.framework_id, sub.framework_id);
    let error = sub
        .next("ERROR", |e| match e {
            Event::Error(err) => Some(err.message.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, "Framework failed over");
    let ended =
        tokio::time::timeout(WAIT, async { while sub.events.recv().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the first stream ends");
    let (code, body) = ml.post(&revive, Some(&old_stream)).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("didn't match"), "{body}");
    assert_eq!(ml.post(&revive, Some(&second.stream_id)).await.0, 202);
    second.offer(None).await;
    let state = ml.get("/state").await;
    let frameworks = state["frameworks"].as_array().expect("frameworks");
    assert_eq!(frameworks.len(), 1);
    assert_eq!(frameworks[0]["active"].as_bool(), Some(true));
    assert!(frameworks[0]["reregistered_time"].as_f64().is_some());

    // SIGTERM: mesos-local exits and takes the running task with it.
    assert!(alive(&sleep_2));
    common::signal(ml.pid(), "-TERM");
    let mut ml = ml;
    let mut child = ml.child.take().expect("running");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "mesos-local did not exit on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    gone(&sleep_2).await;
}

/// Even a mesos-local that is SIGKILLed (no chance to clean up) leaves no task behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_mesos_local_leaves_no_task_behind() {
    let mut ml = MesosLocal::start(1).await;
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(None).await;
    let pid_file = ml.dir.path().join("orphan.pid");
    let cmd = format!("sleep 1000 & echo $! > {}; wait", pid_file.display());
    launch(
        &ml,
        &sub,
        &offer,
        command_task("orphan-1", &offer, &cmd, None),
    )
    .await;
    sub.status("orphan-1", TaskState::Starting).await;
    let pid = read_pid(&pid_file).await;
    assert!(alive(&pid));
    if let Some(mut child) = ml.child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    gone(&pid).await;
}

fn state_agent_ids(state: &Value) -> Vec<String> {
    state["slaves"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_cycle_over_agents_into_offers_and_state() {
    let ml = MesosLocal::start_with(3, &["--domains", "eu/eu-1a,us/us-1b"]).await;
    let mut sub = ml.subscribe(None).await;
    let mut by_host = Vec::new();
    for host in ["127.0.1.1", "127.0.1.2", "127.0.1.3"] {
        let offer = sub.offer(Some(host)).await;
        let domain = offer
            .domain
            .clone()
            .expect("an offer carries its agent's domain");
        by_host.push((
            domain.region().map(String::from),
            domain.zone().map(String::from),
        ));
        let state = ml.get("/state").await;
        let agent = state["slaves"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["id"] == offer.agent_id.value.as_str()))
            .cloned()
            .expect("the offer's agent in /state");
        assert_eq!(agent["domain"], json!(domain));
    }
    let d = |r: &str, z: &str| (Some(r.to_owned()), Some(z.to_owned()));
    assert_eq!(
        by_host,
        vec![d("eu", "eu-1a"), d("us", "us-1b"), d("eu", "eu-1a")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_tasks_run_until_killed_finished_or_failed() {
    // More agents than loopback addresses 127.0.1.x: only simulated agents may.
    let ml = MesosLocal::start_with(300, &["--simulated", "--simulated-run-delay-ms", "50"]).await;
    let state = ml.get("/state").await;
    assert_eq!(state_agent_ids(&state).len(), 300);
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(None).await;
    let tasks: Vec<Value> = ["sim-1", "sim-2", "sim-3"]
        .iter()
        .map(|id| command_task(id, &offer, "exit 3", None))
        .collect();
    let call = json!({"type": "ACCEPT", "framework_id": sub.fw(), "accept": {
        "offer_ids": [{"value": offer.id.value}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}],
        "filters": {"refuse_seconds": 0}}});
    assert_eq!(ml.post(&call, Some(&sub.stream_id)).await.0, 202);
    for id in ["sim-1", "sim-2", "sim-3"] {
        let first = sub
            .next(&format!("the first update of {id}"), |e| match e {
                Event::Update(u) if u.status.task_id.value == id => Some(u.status.clone()),
                _ => None,
            })
            .await;
        assert_eq!(
            first.state,
            TaskState::Running,
            "no process, straight to RUNNING"
        );
        assert!(
            first
                .container_status
                .as_ref()
                .is_some_and(|c| c.executor_pid.is_none())
        );
        ack(&ml, &sub, &first).await;
    }
    // The command would exit 3 at once; a simulated task keeps running.
    let quiet = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(e)) = tokio::time::timeout_at(quiet, sub.events.recv()).await {
        assert!(
            !matches!(e, Event::Update(_)),
            "no update while nobody acts: {e:?}"
        );
    }

    let kill = json!({"type": "KILL", "framework_id": sub.fw(),
        "kill": {"task_id": {"value": "sim-1"}}});
    assert_eq!(ml.post(&kill, Some(&sub.stream_id)).await.0, 202);
    expect_and_ack(&ml, &mut sub, "sim-1", TaskState::Killed).await;

    let (code, body) = ml.admin("POST", "/admin/tasks/sim-2/finish", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["state"], "TASK_FINISHED");
    expect_and_ack(&ml, &mut sub, "sim-2", TaskState::Finished).await;

    let path = format!("/admin/tasks/sim-3/fail?framework_id={}", sub.framework_id);
    let (code, _) = ml
        .admin("POST", &path, Some(json!({"message": "boom"})))
        .await;
    assert_eq!(code, 200);
    let failed = sub.status("sim-3", TaskState::Failed).await;
    assert_eq!(failed.message.as_deref(), Some("boom"));
    let (code, body) = ml.admin("POST", "/admin/tasks/sim-3/finish", None).await;
    assert_eq!(code, 409, "already terminal: {body}");
    ack(&ml, &sub, &failed).await;
    let (code, body) = ml.admin("POST", "/admin/tasks/never/finish", None).await;
    assert_eq!(code, 404, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("never")
    );

    let launches = ml.get("/admin/launches").await;
    let launches = launches["launches"].as_array().expect("launches");
    assert_eq!(launches.len(), 3);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    for (record, id) in launches.iter().zip(["sim-1", "sim-2", "sim-3"]) {
        assert_eq!(record["task_id"], id);
        assert_eq!(record["agent_id"], offer.agent_id.value.as_str());
        assert_eq!(record["framework_id"], sub.framework_id.as_str());
        assert_eq!(record["stream_id"], sub.stream_id.as_str());
        let at = record["time_ms"].as_u64().unwrap_or_default();
        assert!(at <= now_ms && at + 60_000 > now_ms, "{record}");
    }
    common::eventually(WAIT, "every task acknowledged and forgotten", || async {
        let state = ml.get("/state").await;
        let f = &state["frameworks"][0];
        let done = f["completed_tasks"].as_array().map_or(0, Vec::len);
        (f["tasks"].as_array().is_some_and(Vec::is_empty) && done == 3).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_go_unreachable_come_back_enter_maintenance_and_are_removed() {
    let ml = MesosLocal::start_with(3, &["--simulated", "--simulated-run-delay-ms", "10"]).await;
    let mut sub = ml.subscribe(None).await;
    let o1 = sub.offer(Some("127.0.1.1")).await;
    let o2 = sub.offer(Some("127.0.1.2")).await;
    let o3 = sub.offer(Some("127.0.1.3")).await;
    let (s1, s2, s3) = (
        o1.agent_id.value.clone(),
        o2.agent_id.value.clone(),
        o3.agent_id.value.clone(),
    );
    launch(&ml, &sub, &o1, command_task("t1", &o1, "true", None)).await;
    launch(&ml, &sub, &o3, command_task("t3", &o3, "true", None)).await;
    expect_and_ack(&ml, &mut sub, "t1", TaskState::Running).await;
    expect_and_ack(&ml, &mut sub, "t3", TaskState::Running).await;
    let o1 = sub.offer(Some("127.0.1.1")).await;
    let o3 = sub.offer(Some("127.0.1.3")).await;

    // Unreachable: its offer is rescinded, its task reported unreachable, nothing offered.
    let (code, body) = ml
        .admin("POST", &format!("/admin/agents/{s1}/unreachable"), None)
        .await;
    assert_eq!(
        (code, &body["unreachable_tasks"]),
        (200, &json!(1)),
        "{body}"
    );
    sub.rescinded(&o1).await;
    let lost = sub.status("t1", TaskState::Unreachable).await;
    assert_eq!(lost.reason, Some(baton::mesos::Reason::AGENT_REMOVED));
    assert!(lost.unreachable_time.is_some() && lost.uuid.is_none());
    let state = ml.get("/state").await;
    assert_eq!(state["unreachable_slaves"], 1);
    assert!(!state_agent_ids(&state).contains(&s1));
    assert_eq!(state["frameworks"][0]["unreachable_tasks"][0]["id"], "t1");
    let reconcile = json!({"type": "RECONCILE", "framework_id": sub.fw(), "reconcile": {
        "tasks": [{"task_id": {"value": "t1"}, "agent_id": {"value": s1}}]}});
    assert_eq!(ml.post(&reconcile, Some(&sub.stream_id)).await.0, 202);
    sub.status("t1", TaskState::Unreachable).await;
    sub.no_offers_for(Duration::from_millis(400)).await;

    // Reachable again: the task is reported RUNNING and the agent offered.
    let (code, _) = ml
        .admin("POST", &format!("/admin/agents/{s1}/reachable"), None)
        .await;
    assert_eq!(code, 200);
    let back = sub.status("t1", TaskState::Running).await;
    assert_eq!(back.reason, Some(baton::mesos::Reason::AGENT_REREGISTERED));
    sub.offer(Some("127.0.1.1")).await;

    // Maintenance: the outstanding offer is rescinded, the next carries the window.
    let start_ns = 1_900_000_000_000_000_000_i64;
    let window = json!({"start": {"nanoseconds": start_ns},
        "duration": {"nanoseconds": 3_600_000_000_000_i64}});
    let path = format!("/admin/agents/{s2}/maintenance");
    let (code, body) = ml.admin("POST", &path, Some(window.clone())).await;
    assert_eq!(code, 200, "{body}");
    sub.rescinded(&o2).await;
    let o2 = sub.offer(Some("127.0.1.2")).await;
    let unavailability = o2.unavailability.expect("an offer in maintenance");
    assert_eq!(json!(unavailability), window);
    let (code, _) = ml
        .admin("POST", &path, Some(json!({"start": "soon"})))
        .await;
    assert_eq!(code, 400);
    assert_eq!(ml.admin("DELETE", &path, None).await.0, 200);
    sub.rescinded(&o2).await;
    let o2 = sub.offer(Some("127.0.1.2")).await;
    assert_eq!(o2.unavailability, None);

    // Removed: offer rescinded, task gone, agent out of /state and unknown to /admin.
    let (code, body) = ml
        .admin("POST", &format!("/admin/agents/{s3}/remove"), None)
        .await;
    assert_eq!((code, &body["gone_tasks"]), (200, &json!(1)), "{body}");
    sub.rescinded(&o3).await;
    let gone = sub.status("t3", TaskState::Gone).await;
    assert_eq!(
        gone.reason,
        Some(baton::mesos::Reason::AGENT_REMOVED_BY_OPERATOR)
    );
    let state = ml.get("/state").await;
    assert!(!state_agent_ids(&state).contains(&s3));
    assert_eq!(state_agent_ids(&state).len(), 2);
    let (code, _) = ml
        .admin("POST", &format!("/admin/agents/{s3}/unreachable"), None)
        .await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_outstanding_past_the_offer_timeout_are_rescinded() {
    let ml = MesosLocal::start_with(1, &["--offer-timeout-secs", "0.3"]).await;
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(None).await;
    let at = Instant::now();
    sub.rescinded(&offer).await;
    assert!(
        at.elapsed() >= Duration::from_millis(150),
        "not before its time"
    );
    let again = sub.offer(None).await;
    assert_ne!(again.id, offer.id, "the resources are offered anew");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_uris_are_fetched_into_the_sandbox_before_the_command() {
    let ml = MesosLocal::start(1).await;
    let src = ml.dir.path().join("artifacts");
    std::fs::create_dir_all(src.join("pkg")).expect("artifacts dir");
    std::fs::write(src.join("pkg/data.txt"), "payload\n").expect("data file");
    std::fs::write(src.join("start"), "#!/bin/sh\ncat pkg/data.txt > out.txt\n").expect("script");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&src)
        .args(["-czf", "app.tar.gz", "pkg"])
        .current_dir(&src)
        .status()
        .expect("tar");
    assert!(tar.success());
    let mut sub = ml.subscribe(None).await;

    let offer = sub.offer(None).await;
    let mut task = command_task("fetch-1", &offer, "./run.sh", None);
    task["command"]["uris"] = json!([
        {"value": format!("file://{}", src.join("app.tar.gz").display())},
        {"value": src.join("start").display().to_string(), "executable": true,
         "output_file": "run.sh"}]);
    launch(&ml, &sub, &offer, task).await;
    expect_and_ack(&ml, &mut sub, "fetch-1", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "fetch-1", TaskState::Running).await;
    expect_and_ack(&ml, &mut sub, "fetch-1", TaskState::Finished).await;
    let sandbox = ml.data().join(format!(
        "agents/{}/frameworks/{}/executors/fetch-1/runs/latest",
        offer.agent_id.value, sub.framework_id
    ));
    let out = std::fs::read_to_string(sandbox.join("out.txt")).unwrap_or_default();
    assert_eq!(
        out, "payload\n",
        "the archive was extracted and the script ran"
    );

    // A real task cannot be finished on request.
    let (code, _) = ml.admin("POST", "/admin/tasks/fetch-1/finish", None).await;
    assert_eq!(code, 404, "forgotten after its terminal acknowledgement");

    let missing = src.join("missing.tgz").display().to_string();
    for (id, uri, says) in [
        ("fetch-2", missing.as_str(), missing.as_str()),
        ("fetch-3", "https://example.com/app.tgz", "only local URIs"),
    ] {
        let offer = sub.offer(None).await;
        let mut task = command_task(id, &offer, "touch ran", None);
        task["command"]["uris"] = json!([{"value": uri}]);
        launch(&ml, &sub, &offer, task).await;
        let failed = expect_and_ack(&ml, &mut sub, id, TaskState::Failed).await;
        assert_eq!(
            failed.reason,
            Some(baton::mesos::Reason::CONTAINER_LAUNCH_FAILED)
        );
        let message = failed.message.unwrap_or_default();
        assert!(message.contains(uri) && message.contains(says), "{message}");
    }
    let sandbox = ml.data().join(format!(
        "agents/{}/frameworks/{}/executors/fetch-2/runs/latest",
        offer.agent_id.value, sub.framework_id
    ));
    assert!(!sandbox.join("ran").exists(), "the command never ran");

    // Finishing a task that runs a process is refused.
    let offer = sub.offer(None).await;
    launch(
        &ml,
        &sub,
        &offer,
        command_task("real-1", &offer, "exec sleep 1000", None),
    )
    .await;
    expect_and_ack(&ml, &mut sub, "real-1", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "real-1", TaskState::Running).await;
    let (code, body) = ml.admin("POST", "/admin/tasks/real-1/finish", None).await;
    assert_eq!(code, 409, "{body}");
}

/// The next update of `task` that `pred` accepts, acknowledged.
async fn update_where(
    ml: &MesosLocal,
    sub: &mut Sub,
    what: &str,
    task: &str,
    pred: impl Fn(&TaskStatus) -> bool,
) -> TaskStatus {
    let s = sub
        .next(what, |e| match e {
            Event::Update(u) if u.status.task_id.value == task && pred(&u.status) => {
                Some(u.status.clone())
            }
            _ => None,
        })
        .await;
    ack(ml, sub, &s).await;
    s
}

const HEALTH_REASON: &str = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED";
const CHECK_REASON: &str = "REASON_TASK_CHECK_STATUS_UPDATED";

fn reason(s: &TaskStatus) -> Option<&str> {
    s.reason.as_ref().map(|r| r.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_health_checks_are_reported_and_kill_the_task_after_the_grace_period() {
    let ml = MesosLocal::start(1).await;
    let flags = tempfile::tempdir().expect("temp dir");
    let ok = flags.path().join("ok");
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(None).await;
    let mut task = command_task("hc", &offer, "echo $$ > pid; exec sleep 1000", None);
    // Healthy while the test's flag file exists; failures count once it has been healthy.
    task["health_check"] = json!({"type": "COMMAND",
        "command": {"value": format!("test -e {} && test -e pid", ok.display())},
        "delay_seconds": 0, "interval_seconds": 0.1, "timeout_seconds": 5,
        "grace_period_seconds": 600, "consecutive_failures": 2});
    launch(&ml, &sub, &offer, task).await;
    expect_and_ack(&ml, &mut sub, "hc", TaskState::Starting).await;
    let running = expect_and_ack(&ml, &mut sub, "hc", TaskState::Running).await;
    assert_eq!(running.healthy, None, "health is not known yet");
    let pid = running
        .container_status
        .and_then(|c| c.executor_pid)
        .expect("executor pid")
        .to_string();
    // Within the grace period and before any success, failures are not reported.
    let quiet = tokio::time::Instant::now() + Duration::from_millis(600);
    while let Ok(Some(e)) = tokio::time::timeout_at(quiet, sub.events.recv()).await {
        assert!(!matches!(e, Event::Update(_)), "nothing to report: {e:?}");
    }
    std::fs::write(&ok, "").expect("flag");
    let healthy = update_where(&ml, &mut sub, "healthy", "hc", |s| s.healthy.is_some()).await;
    assert_eq!(
        (healthy.state, healthy.healthy, reason(&healthy)),
        (TaskState::Running, Some(true), Some(HEALTH_REASON))
    );
    assert!(healthy.uuid.is_some(), "a reliable update");
    std::fs::remove_file(&ok).expect("flag removed");
    for n in 1..=2 {
        let unhealthy =
            update_where(&ml, &mut sub, "unhealthy", "hc", |s| s.healthy.is_some()).await;
        assert_eq!(
            (unhealthy.state, unhealthy.healthy, reason(&unhealthy)),
            (TaskState::Running, Some(false), Some(HEALTH_REASON)),
            "failure {n} is reported"
        );
    }
    let killed = expect_and_ack(&ml, &mut sub, "hc", TaskState::Killed).await;
    assert_eq!(killed.healthy, Some(false), "{killed:?}");
    gone(&pid).await;
    let state = ml.get("/state").await;
    let statuses = &state["frameworks"][0]["completed_tasks"][0]["statuses"];
    let flags: Vec<&Value> = statuses
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| &s["healthy"])
        .collect();
    assert_eq!(
        flags,
        [
            &Value::Null,
            &Value::Null,
            &json!(true),
            &json!(false),
            &json!(false),
            &json!(false)
        ],
        "{statuses}"
    );
}

/// Serves HTTP on 127.0.1.1 (the first agent's address), answering with the current status code.
async fn status_server(code: std::sync::Arc<std::sync::atomic::AtomicU32>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.1.1:0")
        .await
        .expect("bind 127.0.1.1");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let code = code.load(std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let reply = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_report_results_as_they_change_and_http_and_tcp_health_checks_pass() {
    let ml = MesosLocal::start(1).await;
    let code = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(200));
    let port = status_server(code.clone()).await;
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(Some("127.0.1.1")).await;
    let mut checked = command_task("checked", &offer, "exec sleep 1000", None);
    checked["check"] = json!({"type": "HTTP", "http": {"port": port, "path": "/ready"},
        "delay_seconds": 0, "interval_seconds": 0.1, "timeout_seconds": 5});
    checked["health_check"] = json!({"type": "TCP", "tcp": {"port": port},
        "delay_seconds": 0, "interval_seconds": 0.2});
    let mut web = command_task("web", &offer, "exec sleep 1000", None);
    web["health_check"] = json!({"type": "HTTP", "http": {"scheme": "http", "port": port,
        "path": "/health"}, "delay_seconds": 0, "interval_seconds": 0.2});
    let call = json!({"type": "ACCEPT", "framework_id": sub.fw(), "accept": {
        "offer_ids": [{"value": offer.id.value}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [checked, web]}}],
        "filters": {"refuse_seconds": 0}}});
    assert_eq!(ml.post(&call, Some(&sub.stream_id)).await.0, 202);

    let unknown = json!({"type": "HTTP", "http": {}});
    let starting = expect_and_ack(&ml, &mut sub, "checked", TaskState::Starting).await;
    assert_eq!(
        serde_json::to_value(&starting.check_status).ok(),
        Some(unknown.clone())
    );
    let running = expect_and_ack(&ml, &mut sub, "checked", TaskState::Running).await;
    assert_eq!(
        serde_json::to_value(&running.check_status).ok(),
        Some(unknown)
    );
    let http_status = |s: &TaskStatus| {
        s.check_status
            .as_ref()
            .and_then(|c| c.http.as_ref())
            .and_then(|h| h.status_code)
    };
    let mut saw = Vec::new();
    while saw.len() < 2 {
        let s = update_where(&ml, &mut sub, "a check or health update", "checked", |s| {
            s.reason.is_some()
        })
        .await;
        assert_eq!(s.state, TaskState::Running);
        match reason(&s) {
            Some(CHECK_REASON) => {
                assert_eq!(http_status(&s), Some(200));
                saw.push("check");
            }
            Some(HEALTH_REASON) => {
                assert_eq!(s.healthy, Some(true), "TCP connects");
                saw.push("health");
            }
            other => panic!("unexpected reason {other:?}"),
        }
    }
    code.store(503, std::sync::atomic::Ordering::SeqCst);
    let changed = update_where(&ml, &mut sub, "the check's change", "checked", |s| {
        reason(s) == Some(CHECK_REASON)
    })
    .await;
    assert_eq!(
        http_status(&changed),
        Some(503),
        "a check reports, never kills"
    );

    expect_and_ack(&ml, &mut sub, "web", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "web", TaskState::Running).await;
    let web_health = update_where(&ml, &mut sub, "web's health", "web", |s| {
        s.healthy.is_some()
    })
    .await;
    // Whichever code the server gave first, the report matches the 200–399 rule.
    let state = ml.get("/state").await;
    let tasks = state["frameworks"][0]["tasks"]
        .as_array()
        .expect("tasks")
        .clone();
    let checked_state = tasks
        .iter()
        .find(|t| t["id"] == "checked")
        .expect("checked");
    assert_eq!(checked_state["state"], "TASK_RUNNING");
    assert_eq!(
        checked_state["statuses"]
            .as_array()
            .and_then(|s| s.last())
            .map(|s| s["check_status"]["http"]["status_code"].clone()),
        Some(json!(503))
    );
    if web_health.healthy == Some(false) {
        assert_eq!(reason(&web_health), Some(HEALTH_REASON));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_health_checks_pass_after_the_run_delay() {
    let ml = MesosLocal::start_with(1, &["--simulated", "--simulated-run-delay-ms", "50"]).await;
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(None).await;
    let mut task = command_task("sim-hc", &offer, "exit 1", None);
    task["health_check"] = json!({"type": "HTTP", "http": {"port": 1, "path": "/"}});
    task["check"] = json!({"type": "TCP", "tcp": {"port": 1}});
    launch(&ml, &sub, &offer, task).await;
    let running = expect_and_ack(&ml, &mut sub, "sim-hc", TaskState::Running).await;
    assert_eq!(running.healthy, None);
    let mut healthy = false;
    let mut checked = false;
    while !(healthy && checked) {
        let s = update_where(&ml, &mut sub, "probe results", "sim-hc", |s| {
            s.reason.is_some()
        })
        .await;
        healthy |= reason(&s) == Some(HEALTH_REASON) && s.healthy == Some(true);
        checked |= reason(&s) == Some(CHECK_REASON)
            && s.check_status
                .as_ref()
                .and_then(|c| c.tcp.as_ref())
                .and_then(|t| t.succeeded)
                == Some(true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_health_checks_and_checks_are_task_errors() {
    let ml = MesosLocal::start(1).await;
    let mut sub = ml.subscribe(None).await;
    let offer = sub.offer(None).await;
    let mut bad_path = command_task("bad-path", &offer, "true", None);
    bad_path["health_check"] = json!({"type": "HTTP", "http": {"port": 80, "path": "x"}});
    let mut no_tcp = command_task("no-tcp", &offer, "true", None);
    no_tcp["check"] = json!({"type": "TCP"});
    let call = json!({"type": "ACCEPT", "framework_id": sub.fw(), "accept": {
        "offer_ids": [{"value": offer.id.value}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [bad_path, no_tcp]}}],
        "filters": {"refuse_seconds": 0}}});
    assert_eq!(ml.post(&call, Some(&sub.stream_id)).await.0, 202);
    let e = sub.status("bad-path", TaskState::Error).await;
    assert_eq!(reason(&e), Some("REASON_TASK_INVALID"));
    assert!(
        e.message
            .as_deref()
            .is_some_and(|m| m.starts_with("Task uses invalid health check:")),
        "{e:?}"
    );
    let e = sub.status("no-tcp", TaskState::Error).await;
    assert!(
        e.message
            .as_deref()
            .is_some_and(|m| m.contains("Expecting 'tcp' to be set")),
        "{e:?}"
    );
}

fn reserved(name: &str, value: f64) -> Value {
    json!({"name": name, "type": "SCALAR", "scalar": {"value": value},
        "reservations": [{"type": "DYNAMIC", "role": "apps", "principal": "ops",
            "labels": {"labels": [{"key": "owner", "value": "it"}]}}]})
}

fn data_volume(id: &str) -> Value {
    let mut v = reserved("disk", 64.0);
    v["disk"] = json!({"persistence": {"id": id, "principal": "ops"},
        "volume": {"container_path": "data", "mode": "RW"}});
    v
}

/// An ACCEPT of one offer with these operations; its remainder is not filtered.
async fn accept(ml: &MesosLocal, sub: &Sub, offer: &Offer, operations: Value) {
    let call = json!({"type": "ACCEPT", "framework_id": sub.fw(), "accept": {
        "offer_ids": [{"value": offer.id.value}], "operations": operations,
        "filters": {"refuse_seconds": 0}}});
    assert_eq!(ml.post(&call, Some(&sub.stream_id)).await.0, 202);
}

/// The next offer whose resources satisfy `pred`; others are declined.
async fn offer_where(
    ml: &MesosLocal,
    sub: &mut Sub,
    what: &str,
    pred: impl Fn(&[baton::mesos::Resource]) -> bool,
) -> Offer {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for an offer with {what}"
        );
        let offer = sub.offer(None).await;
        if pred(&offer.resources) {
            return offer;
        }
        accept(ml, sub, &offer, json!([])).await;
    }
}

fn has_volume(rs: &[baton::mesos::Resource], id: &str) -> bool {
    rs.iter().any(|r| {
        r.disk
            .as_ref()
            .and_then(|d| d.persistence.as_ref())
            .is_some_and(|p| p.id == id)
    })
}

fn reserved_cpus(rs: &[baton::mesos::Resource]) -> f64 {
    rs.iter()
        .filter(|r| r.name == "cpus" && r.reserved_role() == Some("apps"))
        .map(|r| match r.value {
            baton::mesos::Value::Scalar(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_and_persistent_volumes_outlive_their_tasks_until_destroyed() {
    let ml = MesosLocal::start(1).await;
    let info = json!({"user": "root", "name": "it", "failover_timeout": 600.0,
        "role": "apps", "principal": "ops",
        "capabilities": [{"type": "PARTITION_AWARE"}, {"type": "RESERVATION_REFINEMENT"}]});
    let mut sub = ml.subscribe_as(None, info).await;
    let offer = sub.offer(None).await;
    let agent = offer.agent_id.value.clone();

    // A RESERVE for a role the framework does not have is dropped: the LAUNCH that needed it
    // finds no such resources.
    let mut foreign = reserved("cpus", 1.0);
    foreign["reservations"][0]["role"] = json!("db");
    let mut needs_it = command_task("needs-foreign", &offer, "true", None);
    needs_it["resources"] = json!([foreign.clone()]);
    accept(
        &ml,
        &sub,
        &offer,
        json!([
        {"type": "RESERVE", "reserve": {"resources": [foreign]}},
        {"type": "LAUNCH", "launch": {"task_infos": [needs_it]}}]),
    )
    .await;
    let e = sub.status("needs-foreign", TaskState::Error).await;
    assert_eq!(reason(&e), Some("REASON_TASK_INVALID"));
    assert!(
        e.message
            .as_deref()
            .is_some_and(|m| m.contains("more than available")),
        "{e:?}"
    );

    // RESERVE, CREATE and LAUNCH in one ACCEPT: each sees the results of the one before.
    let offer = sub.offer(None).await;
    let mut writer = command_task("writer", &offer, "echo kept > data/file", None);
    writer["resources"] = json!([
        reserved("cpus", 0.1),
        reserved("mem", 32.0),
        data_volume("db#data")
    ]);
    accept(
        &ml,
        &sub,
        &offer,
        json!([
        {"type": "RESERVE", "reserve": {"resources":
            [reserved("cpus", 1.0), reserved("mem", 128.0), reserved("disk", 64.0)]}},
        {"type": "CREATE", "create": {"volumes": [data_volume("db#data")]}},
        {"type": "LAUNCH", "launch": {"task_infos": [writer]}}]),
    )
    .await;
    expect_and_ack(&ml, &mut sub, "writer", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "writer", TaskState::Running).await;
    expect_and_ack(&ml, &mut sub, "writer", TaskState::Finished).await;
    let dir = ml
        .data()
        .join(format!("agents/{agent}/volumes/roles/apps/db#data"));
    assert_eq!(
        std::fs::read_to_string(dir.join("file")).ok().as_deref(),
        Some("kept\n")
    );

    let state = ml.get("/state").await;
    let slave = &state["slaves"][0];
    assert_eq!(slave["reserved_resources"]["apps"]["cpus"], 1.0, "{slave}");
    assert_eq!(slave["reserved_resources"]["apps"]["disk"], 64.0);
    assert_eq!(slave["unreserved_resources"]["cpus"], 3.0);
    assert_eq!(slave["resources"]["cpus"], 4.0);
    let full = &slave["reserved_resources_full"]["apps"];
    assert!(
        full.as_array().is_some_and(|rs| rs
            .iter()
            .any(|r| r["disk"]["persistence"]["id"] == "db#data"
                && r["reservations"][0]["labels"]["labels"][0]["value"] == "it")),
        "{full}"
    );

    // The volume and reservation come back in offers, and a new task sees the data.
    let offer = offer_where(&ml, &mut sub, "the volume", |rs| has_volume(rs, "db#data")).await;
    assert_eq!(reserved_cpus(&offer.resources), 1.0);
    let mut reader = command_task("reader", &offer, "test \"$(cat data/file)\" = kept", None);
    reader["resources"] = json!([reserved("cpus", 0.5), data_volume("db#data")]);
    accept(
        &ml,
        &sub,
        &offer,
        json!([{"type": "LAUNCH", "launch": {"task_infos": [reader]}}]),
    )
    .await;
    expect_and_ack(&ml, &mut sub, "reader", TaskState::Starting).await;
    expect_and_ack(&ml, &mut sub, "reader", TaskState::Running).await;
    expect_and_ack(&ml, &mut sub, "reader", TaskState::Finished).await;

    // UNRESERVE of the volume's disk is refused while the volume exists; an operation asking
    // for feedback is answered OPERATION_ERROR.
    let offer = offer_where(&ml, &mut sub, "the volume", |rs| has_volume(rs, "db#data")).await;
    accept(
        &ml,
        &sub,
        &offer,
        json!([
        {"type": "UNRESERVE", "unreserve": {"resources": [data_volume("db#data")]}},
        {"type": "DESTROY", "id": {"value": "op-1"},
            "destroy": {"volumes": [data_volume("db#data")]}}]),
    )
    .await;
    let status = sub
        .next("UPDATE_OPERATION_STATUS", |e| match e {
            Event::UpdateOperationStatus(u) => Some(u.status.clone()),
            _ => None,
        })
        .await;
    assert_eq!(status.state, Some(baton::mesos::OperationState::Error));
    assert_eq!(
        status.operation_id.map(|i| i.value).as_deref(),
        Some("op-1")
    );
    let offer = offer_where(&ml, &mut sub, "the volume", |rs| has_volume(rs, "db#data")).await;
    assert!(dir.exists(), "the volume is still there");

    // DESTROY removes the directory; then everything can be unreserved.
    accept(
        &ml,
        &sub,
        &offer,
        json!([
        {"type": "DESTROY", "destroy": {"volumes": [data_volume("db#data")]}},
        {"type": "UNRESERVE", "unreserve": {"resources":
            [reserved("cpus", 1.0), reserved("mem", 128.0), reserved("disk", 64.0)]}}]),
    )
    .await;
    common::eventually(WAIT, "the reservation to be gone", || async {
        let state = ml.get("/state").await;
        let slave = &state["slaves"][0];
        (slave["reserved_resources"] == json!({}) && slave["unreserved_resources"]["cpus"] == 4.0)
            .then_some(())
    })
    .await;
    assert!(!dir.exists(), "DESTROY removed the volume's directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_resources_are_offered_in_the_legacy_format_without_refinement() {
    let ml = MesosLocal::start(1).await;
    let info = json!({"user": "root", "name": "it", "role": "apps", "principal": "ops"});
    let mut sub = ml.subscribe_as(None, info).await;
    let offer = sub.offer(None).await;
    assert!(
        offer
            .resources
            .iter()
            .all(|r| r.role.as_deref() == Some("*"))
    );
    // The framework reserves in the legacy format too.
    let legacy = json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 2},
        "role": "apps", "reservation": {"principal": "ops"}});
    accept(
        &ml,
        &sub,
        &offer,
        json!([{"type": "RESERVE", "reserve": {"resources": [legacy]}}]),
    )
    .await;
    let offer = offer_where(&ml, &mut sub, "reserved cpus", |rs| {
        reserved_cpus(rs) == 2.0
    })
    .await;
    let cpus: Vec<_> = offer
        .resources
        .iter()
        .filter(|r| r.name == "cpus")
        .collect();
    assert!(
        cpus.iter().any(|r| r.role.as_deref() == Some("apps")
            && r.reservation.as_ref().and_then(|x| x.principal.as_deref()) == Some("ops")
            && r.reservations.is_empty()),
        "{cpus:?}"
    );
    // Another framework, of another role, is never offered them.
    let other = json!({"user": "root", "name": "other", "role": "web"});
    let mut web = ml.subscribe_as(None, other).await;
    let decline = json!({"type": "DECLINE", "framework_id": sub.fw(), "decline": {
        "offer_ids": [{"value": offer.id.value}], "filters": {"refuse_seconds": 3600}}});
    assert_eq!(ml.post(&decline, Some(&sub.stream_id)).await.0, 202);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let o = web.offer(None).await;
        assert_eq!(reserved_cpus(&o.resources), 0.0, "{o:?}");
        assert!(o.resources.iter().all(|r| r.role.as_deref() == Some("*")));
        accept(&ml, &web, &o, json!([])).await;
    }
}

fn default_executor(id: &str, disk: f64) -> Value {
    json!({"type": "DEFAULT", "executor_id": {"value": id},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
            {"name": "disk", "type": "SCALAR", "scalar": {"value": disk}}]})
}

async fn launch_group(ml: &MesosLocal, sub: &Sub, offer: &Offer, executor: Value, tasks: Value) {
    accept(
        ml,
        sub,
        offer,
        json!([{"type": "LAUNCH_GROUP", "launch_group": {
        "executor": executor, "task_group": {"tasks": tasks}}}]),
    )
    .await;
}

async fn executor_failure(sub: &mut Sub, executor: &str) -> baton::mesos::Failure {
    sub.next(&format!("FAILURE of {executor}"), |e| match e {
        Event::Failure(f) if f.executor_id.as_ref().is_some_and(|x| x.value == executor) => {
            Some(f.clone())
        }
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_groups_share_an_executor_and_die_together() {
    let ml = MesosLocal::start(1).await;
    let flags = tempfile::tempdir().expect("temp dir");
    let go = flags.path().join("go");
    let mut sub = ml.subscribe(None).await;

    // An invalid group: every task gets TASK_ERROR with REASON_TASK_GROUP_INVALID.
    let offer = sub.offer(None).await;
    let tasks = json!([
        command_task("bad.a", &offer, "true", None),
        command_task("bad.b", &offer, "true", None)
    ]);
    launch_group(
        &ml,
        &sub,
        &offer,
        default_executor("bad.executor", 0.0),
        tasks,
    )
    .await;
    for id in ["bad.a", "bad.b"] {
        let e = sub.status(id, TaskState::Error).await;
        assert_eq!(reason(&e), Some("REASON_TASK_GROUP_INVALID"), "{e:?}");
        assert!(
            e.message
                .as_deref()
                .is_some_and(|m| m.contains("uses no disk")),
            "{e:?}"
        );
    }

    // A valid group: one executor, a process per task in the executor's sandbox.
    let offer = sub.offer(None).await;
    let app = command_task(
        "pod.app",
        &offer,
        "echo $MESOS_EXECUTOR_ID > executor; pwd > where; exec sleep 1000",
        None,
    );
    let side = command_task(
        "pod.side",
        &offer,
        &format!(
            "while [ ! -e {} ]; do sleep 0.05; done; exit 2",
            go.display()
        ),
        None,
    );
    launch_group(
        &ml,
        &sub,
        &offer,
        default_executor("pod.executor", 10.0),
        json!([app, side]),
    )
    .await;
    for id in ["pod.app", "pod.side"] {
        let s = expect_and_ack(&ml, &mut sub, id, TaskState::Starting).await;
        assert_eq!(
            s.executor_id.map(|e| e.value).as_deref(),
            Some("pod.executor")
        );
        expect_and_ack(&ml, &mut sub, id, TaskState::Running).await;
    }
    let state = ml.get("/state").await;
    let used = &state["slaves"][0]["used_resources"];
    assert_eq!(used["cpus"], 0.3, "executor and tasks: {used}");
    assert_eq!(used["disk"], 10.0);
    let tasks = state["frameworks"][0]["tasks"]
        .as_array()
        .expect("tasks")
        .clone();
    assert!(
        tasks.iter().all(|t| t["executor_id"] == "pod.executor"),
        "{tasks:?}"
    );
    let runs = ml.data().join(format!(
        "agents/{}/frameworks/{}/executors/pod.executor/runs/latest/tasks/pod.app",
        offer.agent_id.value, sub.framework_id
    ));
    let executor_id = common::eventually(WAIT, "the task's files", || async {
        std::fs::read_to_string(runs.join("executor"))
            .ok()
            .filter(|s| s.ends_with('\n'))
    })
    .await;
    assert_eq!(executor_id.trim(), "pod.executor");

    // One task fails: the executor kills the other, then exits.
    std::fs::write(&go, "").expect("go");
    let failed = expect_and_ack(&ml, &mut sub, "pod.side", TaskState::Failed).await;
    assert_eq!(
        failed.message.as_deref(),
        Some("Command exited with status 2")
    );
    expect_and_ack(&ml, &mut sub, "pod.app", TaskState::Killed).await;
    executor_failure(&mut sub, "pod.executor").await;
    common::eventually(WAIT, "the group's resources back", || async {
        let state = ml.get("/state").await;
        (state["slaves"][0]["used_resources"]["cpus"] == 0.0).then_some(())
    })
    .await;

    // A KILL of one task of a group kills the whole group.
    let offer = sub.offer(None).await;
    let tasks = json!([
        command_task("pod2.a", &offer, "exec sleep 1000", None),
        command_task("pod2.b", &offer, "exec sleep 1000", None)
    ]);
    launch_group(
        &ml,
        &sub,
        &offer,
        default_executor("pod2.executor", 10.0),
        tasks,
    )
    .await;
    for id in ["pod2.a", "pod2.b"] {
        expect_and_ack(&ml, &mut sub, id, TaskState::Starting).await;
        expect_and_ack(&ml, &mut sub, id, TaskState::Running).await;
    }
    let kill = json!({"type": "KILL", "framework_id": sub.fw(),
        "kill": {"task_id": {"value": "pod2.a"}}});
    assert_eq!(ml.post(&kill, Some(&sub.stream_id)).await.0, 202);
    expect_and_ack(&ml, &mut sub, "pod2.a", TaskState::Killed).await;
    expect_and_ack(&ml, &mut sub, "pod2.b", TaskState::Killed).await;
    executor_failure(&mut sub, "pod2.executor").await;
}
