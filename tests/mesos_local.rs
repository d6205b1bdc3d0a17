//! `baton mesos-local` as a scheduler sees it: the real binary, driven over HTTP with the
//! RecordIO decoder, from subscription through launches, kills, filters, reconciliation and
//! failover to its exit taking every task process with it; domains, simulated agents, rescinds,
//! the admin endpoint and URI fetching.

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
        let mut info = json!({"user": "root", "name": "it", "failover_timeout": 600.0,
            "capabilities": [{"type": "PARTITION_AWARE"}]});
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
