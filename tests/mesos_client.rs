//! The scheduler's Mesos client against the real `baton mesos-local` binary (subscribe, offers,
//! launch, acknowledge, kill, failover, the heartbeat watchdog) and against tiny raw HTTP
//! servers for what mesos-local never does (redirects, 503, refusals, garbage streams).

mod common;

use baton::mesos::client::{
    Backoff, CALLS_IN_FLIGHT, Caller, Client, ClientConfig, ClientError, Subscription,
};
use baton::mesos::{
    Accept, Acknowledge, AgentId, CallBody, CommandInfo, Event, Filters, FrameworkInfo, Kill,
    Offer, Operation, RecordIoError, Resource, RoleList, TaskId, TaskInfo, TaskState, TaskStatus,
};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

/// A running `baton mesos-local`, killed on drop (its log printed if the test failed).
struct MesosLocal {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl MesosLocal {
    async fn start(heartbeat_secs: &str) -> MesosLocal {
        let dir = tempfile::Builder::new()
            .prefix("baton-mc-")
            .tempdir()
            .expect("temp dir");
        let port = common::free_ports(1)[0];
        let log = std::fs::File::create(dir.path().join("mesos-local.log")).expect("log file");
        let child = Command::new(common::baton_bin())
            .args(["mesos-local", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--agents", "1", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--heartbeat-interval-secs", heartbeat_secs])
            .args(["--allocation-interval-ms", "100"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn baton mesos-local");
        let ml = MesosLocal {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(common::REQUEST_TIMEOUT)
            .build()
            .expect("http client");
        let url = format!("{}/version", ml.base);
        common::eventually(WAIT, "mesos-local to serve /version", || async {
            http.get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
        })
        .await;
        ml
    }
}

impl Drop for MesosLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.dir.path().join("mesos-local.log");
            eprintln!("----- mesos-local log -----\n{}", common::tail(&log, 60));
        }
    }
}

fn client(masters: &[&str]) -> Client {
    let mut config = ClientConfig::new(masters.iter().map(|m| m.to_string()).collect());
    config.connect_timeout = Duration::from_secs(1);
    config.call_timeout = Duration::from_secs(3);
    Client::new(config)
}

fn framework() -> FrameworkInfo {
    let mut info = FrameworkInfo::new("root", "client-it");
    info.failover_timeout = Some(600.0);
    info
}

/// The next event (heartbeats skipped) that `f` picks, within [`WAIT`].
async fn next<T>(sub: &mut Subscription, what: &str, mut f: impl FnMut(Event) -> Option<T>) -> T {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match sub.next_event().await {
                Ok(event) => {
                    if let Some(v) = f(event) {
                        return v;
                    }
                }
                Err(e) => panic!("stream failed while waiting for {what}: {e}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn offer(sub: &mut Subscription) -> Offer {
    next(sub, "an offer", |e| match e {
        Event::Offers(o) => o.offers.into_iter().next(),
        _ => None,
    })
    .await
}

/// Waits for `state` of `task` and acknowledges it through `caller`.
async fn status(sub: &mut Subscription, caller: &Caller, task: &str, state: TaskState) {
    let what = format!("{state} of {task}");
    let s: TaskStatus = next(sub, &what, |e| match e {
        Event::Update(u) if u.status.task_id.value == task && u.status.state == state => {
            Some(u.status)
        }
        _ => None,
    })
    .await;
    let ack = Acknowledge::for_status(&s).expect("an executor update carries a uuid");
    caller
        .call(CallBody::Acknowledge(ack))
        .await
        .unwrap_or_else(|e| panic!("acknowledge {what}: {e}"));
}

fn sleep_task(id: &str, agent: &AgentId) -> TaskInfo {
    TaskInfo::command(
        id,
        TaskId::new(id),
        agent.clone(),
        vec![Resource::scalar("cpus", 0.1), Resource::scalar("mem", 32.0)],
        CommandInfo::shell("exec sleep 1000"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_launch_kill_and_fail_over() {
    let ml = MesosLocal::start("1").await;
    let client = client(&[&ml.base]);
    let mut sub = client
        .subscribe(framework(), Vec::new())
        .await
        .expect("subscribe");
    assert_eq!(sub.master, ml.base);
    assert_eq!(sub.heartbeat_interval, Duration::from_secs(1));
    assert!(sub.framework_id.value.ends_with("-0000"), "{sub:?}");
    assert!(!sub.stream_id.is_empty());
    let caller = sub.caller();
    assert_eq!(caller.framework_id(), &sub.framework_id);

    // Launch through ACCEPT, see it run, acknowledge every update, kill it.
    let o = offer(&mut sub).await;
    let accept = Accept {
        offer_ids: vec![o.id.clone()],
        operations: vec![Operation::launch(vec![sleep_task("sleep-1", &o.agent_id)])],
        filters: Some(Filters::refuse_seconds(0.0)),
    };
    caller
        .call(CallBody::Accept(accept))
        .await
        .expect("ACCEPT is queued");
    status(&mut sub, &caller, "sleep-1", TaskState::Starting).await;
    status(&mut sub, &caller, "sleep-1", TaskState::Running).await;
    let kill = Kill {
        task_id: TaskId::new("sleep-1"),
        agent_id: Some(o.agent_id.clone()),
        kill_policy: None,
    };
    caller
        .call(CallBody::Kill(kill))
        .await
        .expect("KILL is queued");
    status(&mut sub, &caller, "sleep-1", TaskState::Killed).await;

    // A malformed call is refused with the master's message.
    let bad = Acknowledge {
        agent_id: o.agent_id.clone(),
        task_id: TaskId::new("sleep-1"),
        uuid: baton::mesos::Base64Bytes(vec![1, 2, 3]),
    };
    match caller.call(CallBody::Acknowledge(bad)).await {
        Err(ClientError::Refused { status, message }) => {
            assert_eq!(status, 400);
            assert!(message.contains("uuid"), "{message}");
        }
        other => panic!("a 3-byte uuid is refused, got {other:?}"),
    }

    // Failover: the same framework id subscribes again (from another client); the first
    // stream gets ERROR and ends, and its stream id is refused.
    let mut info = framework();
    info.id = Some(sub.framework_id.clone());
    let mut second = client
        .subscribe(info, Vec::new())
        .await
        .expect("resubscribe");
    assert_eq!(second.framework_id, sub.framework_id);
    assert_ne!(second.stream_id, sub.stream_id);
    let message = next(&mut sub, "ERROR", |e| match e {
        Event::Error(err) => Some(err.message),
        _ => None,
    })
    .await;
    assert_eq!(message, "Framework failed over");
    let end = tokio::time::timeout(WAIT, sub.next_event()).await;
    assert!(
        matches!(end, Ok(Err(ClientError::StreamEnded))),
        "the first stream ends: {end:?}"
    );
    assert!(matches!(
        sub.next_event().await,
        Err(ClientError::StreamEnded)
    ));
    match caller.call(CallBody::Revive(RoleList::default())).await {
        Err(ClientError::Refused { status, message }) => {
            assert_eq!(status, 400);
            assert!(message.contains("didn't match"), "{message}");
        }
        other => panic!("the replaced stream's calls are refused, got {other:?}"),
    }
    let caller = second.caller();
    caller
        .call(CallBody::Revive(RoleList::default()))
        .await
        .expect("the new subscription's calls are taken");
    offer(&mut second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_fires_when_the_master_stops() {
    let ml = MesosLocal::start("0.3").await;
    let mut sub = client(&[&ml.base])
        .subscribe(framework(), Vec::new())
        .await
        .expect("subscribe");
    assert_eq!(sub.heartbeat_interval, Duration::from_millis(300));
    next(&mut sub, "a heartbeat", |e| {
        matches!(e, Event::Heartbeat).then_some(())
    })
    .await;
    common::signal(ml.child.id(), "-STOP");
    let started = tokio::time::Instant::now();
    let error = tokio::time::timeout(WAIT, async {
        loop {
            if let Err(e) = sub.next_event().await {
                return e;
            }
        }
    })
    .await;
    let waited = started.elapsed();
    common::signal(ml.child.id(), "-CONT");
    match error {
        Ok(ClientError::HeartbeatsStopped(silence)) => {
            assert_eq!(silence, Duration::from_millis(900));
            assert!(waited >= Duration::from_millis(800), "{waited:?}");
        }
        other => panic!("expected the watchdog, got {other:?}"),
    }
    assert!(matches!(
        sub.next_event().await,
        Err(ClientError::StreamEnded)
    ));
}

/// A stand-in "master" on port 0 that reads each request and answers it with fixed raw bytes,
/// then keeps the connection open until the client closes it. It records each request.
struct RawServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    async fn start(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let answer = answer(&url);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let answer = answer.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    seen.lock().expect("lock").push(request);
                    if socket.write_all(&answer).await.is_err() {
                        return;
                    }
                    let mut sink = [0u8; 1024];
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        });
        RawServer { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

/// One request's head and body (by Content-Length), as text.
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn answer(status_line: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status_line}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A 200 event stream whose body is `records`, chunked, then left open.
fn stream(records: &[&str]) -> Vec<u8> {
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMesos-Stream-Id: s-1\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
    );
    for r in records {
        out.push_str(&format!("{:x}\r\n{r}\r\n", r.len()));
    }
    out.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masters_that_redirect_refuse_or_are_down() {
    let ml = MesosLocal::start("1").await;
    let port = ml.base.rsplit(':').next().expect("port").to_owned();

    // A dead first master, a 503, then a scheme-relative 307 to mesos-local.
    let dead = format!("http://127.0.0.1:{}", common::free_ports(1)[0]);
    let unavailable =
        RawServer::start(|_| answer("503 Service Unavailable", "", "No leader elected")).await;
    let location = format!("Location: //127.0.0.1:{port}/api/v1/scheduler\r\n");
    let redirect = RawServer::start(move |_| answer("307 Temporary Redirect", &location, "")).await;
    let mut sub = client(&[&dead, &unavailable.url, &redirect.url])
        .subscribe(framework(), Vec::new())
        .await
        .expect("subscribed through the redirect");
    assert_eq!(sub.master, ml.base);
    offer(&mut sub).await;
    let request = &redirect.requests()[0];
    assert!(
        request.starts_with("POST /api/v1/scheduler HTTP/1.1"),
        "{request}"
    );
    assert!(
        request.contains("content-type: application/json"),
        "{request}"
    );
    assert!(request.contains("accept: application/json"), "{request}");
    assert!(request.contains(r#""type":"SUBSCRIBE""#), "{request}");
    assert!(!request.contains("mesos-stream-id"), "{request}");
    drop(sub);

    // An absolute Location works too, and credentials travel as basic auth.
    let location = format!("Location: {}/api/v1/scheduler\r\n", ml.base);
    let absolute = RawServer::start(move |_| answer("307 Temporary Redirect", &location, "")).await;
    let mut config = ClientConfig::new(vec![absolute.url.clone()]);
    config.credential = Some(("Aladdin".into(), "open sesame".into()));
    let mut info = framework();
    info.id = Some(baton::mesos::FrameworkId::new("recovered-0001"));
    let sub = Client::new(config)
        .subscribe(info, Vec::new())
        .await
        .expect("subscribed through an absolute redirect");
    assert_eq!(sub.framework_id.value, "recovered-0001");
    let request = &absolute.requests()[0];
    assert!(
        request.contains("authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        "{request}"
    );
    assert!(
        request.contains(r#""framework_id":{"value":"recovered-0001"}"#),
        "{request}"
    );
    drop(sub);

    // A redirect loop and dead masters: every master's failure is reported.
    let looping = RawServer::start(|url| {
        let location = format!("Location: {url}/api/v1/scheduler\r\n");
        answer("307 Temporary Redirect", &location, "")
    })
    .await;
    match client(&[&dead, &looping.url])
        .subscribe(framework(), Vec::new())
        .await
    {
        Err(ClientError::NoMasterReachable(failures)) => {
            assert_eq!(failures.len(), 2, "{failures:?}");
            assert_eq!(failures[0].master, dead);
            assert!(
                matches!(failures[0].error, ClientError::Http(_)),
                "{failures:?}"
            );
            assert!(
                matches!(failures[1].error, ClientError::TooManyRedirects { .. }),
                "{failures:?}"
            );
        }
        other => panic!("expected NoMasterReachable, got {other:?}"),
    }

    // A refusal is final: the next master is not asked.
    let refusing = RawServer::start(|_| {
        answer(
            "400 Bad Request",
            "",
            "Failed to convert JSON into Call protobuf: Missing required fields: user",
        )
    })
    .await;
    match client(&[&refusing.url, &ml.base])
        .subscribe(framework(), Vec::new())
        .await
    {
        Err(ClientError::Refused { status, message }) => {
            assert_eq!(status, 400);
            assert!(message.contains("Missing required fields"), "{message}");
        }
        other => panic!("expected Refused, got {other:?}"),
    }

    // An ERROR before SUBSCRIBED is the master's refusal.
    let error = RawServer::start(|_| {
        let event = r#"{"type":"ERROR","error":{"message":"Framework has been removed"}}"#;
        stream(&[&format!("{}\n{event}", event.len())])
    })
    .await;
    match client(&[&error.url])
        .subscribe(framework(), Vec::new())
        .await
    {
        Err(ClientError::SubscribeFailed(message)) => {
            assert_eq!(message, "Framework has been removed");
        }
        other => panic!("expected SubscribeFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_records_end_the_stream() {
    const SUBSCRIBED: &str = r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"F-0000"},"heartbeat_interval_seconds":15.0}}"#;
    let framed = format!("{}\n{SUBSCRIBED}", SUBSCRIBED.len());

    // Not RecordIO at all: the handshake fails and the master counts as unusable.
    let garbage = RawServer::start(|_| stream(&["<html>hello</html>"])).await;
    match client(&[&garbage.url])
        .subscribe(framework(), Vec::new())
        .await
    {
        Err(ClientError::NoMasterReachable(failures)) => assert!(
            matches!(
                failures[0].error,
                ClientError::Record(RecordIoError::NotADigit(b'<'))
            ),
            "{failures:?}"
        ),
        other => panic!("expected a RecordIO error, got {other:?}"),
    }

    // A good SUBSCRIBED and HEARTBEAT, then a record over the limit.
    let records = [
        framed.clone(),
        "20\n{\"type\":\"HEARTBEAT\"}".into(),
        "2000\n".into(),
    ];
    let oversized = RawServer::start(move |_| {
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        stream(&records)
    })
    .await;
    let mut config = ClientConfig::new(vec![oversized.url.clone()]);
    config.max_record_bytes = 1024;
    let mut sub = Client::new(config)
        .subscribe(framework(), Vec::new())
        .await
        .expect("subscribe");
    assert_eq!(sub.framework_id.value, "F-0000");
    assert_eq!(sub.stream_id, "s-1");
    assert_eq!(sub.heartbeat_interval, Duration::from_secs(15));
    assert!(matches!(sub.next_event().await, Ok(Event::Heartbeat)));
    match sub.next_event().await {
        Err(
            e @ ClientError::Record(RecordIoError::Oversized {
                len: 2000,
                max: 1024,
            }),
        ) => {
            assert!(e.to_string().contains("exceeds the limit"), "{e}");
        }
        other => panic!("expected an oversized record, got {other:?}"),
    }
    assert!(matches!(
        sub.next_event().await,
        Err(ClientError::StreamEnded)
    ));

    // A record that is not an event.
    let records = [framed, "7\n[1,2,3]".into()];
    let not_event = RawServer::start(move |_| {
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        stream(&records)
    })
    .await;
    let mut sub = client(&[&not_event.url])
        .subscribe(framework(), Vec::new())
        .await
        .expect("subscribe");
    assert!(matches!(
        sub.next_event().await,
        Err(ClientError::BadEvent(_))
    ));
}

#[test]
fn backoff_is_usable_from_outside() {
    let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let first = b.next_delay();
    assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
    b.reset();
    assert!(b.next_delay() <= Duration::from_millis(100));
}

/// A "master" that answers SUBSCRIBE with an open stream and every other call with 202 after
/// `delay`, over keep-alive connections; it counts the connections open at once.
struct SlowMaster {
    url: String,
    open: Arc<std::sync::atomic::AtomicUsize>,
    most_open: Arc<std::sync::atomic::AtomicUsize>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

impl SlowMaster {
    async fn start(delay: Duration) -> SlowMaster {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let open = Arc::new(AtomicUsize::new(0));
        let most_open = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let (o, m, a, c) = (
            open.clone(),
            most_open.clone(),
            accepted.clone(),
            calls.clone(),
        );
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let now = o.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                let (o, c) = (o.clone(), c.clone());
                tokio::spawn(async move {
                    loop {
                        let request = read_request(&mut socket).await;
                        if request.is_empty() {
                            break;
                        }
                        if request.contains(r#""type":"SUBSCRIBE""#) {
                            const SUBSCRIBED: &str = r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"F-0000"},"heartbeat_interval_seconds":15.0}}"#;
                            let framed = format!("{}\n{SUBSCRIBED}", SUBSCRIBED.len());
                            let _ = socket.write_all(&stream(&[&framed])).await;
                            // The stream stays open; the test ends it by dropping the client.
                            let mut sink = [0u8; 1024];
                            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        c.fetch_add(1, Ordering::SeqCst);
                        if socket
                            .write_all(&answer("202 Accepted", "", ""))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        SlowMaster {
            url,
            open,
            most_open,
            accepted,
            calls,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_calls_shares_a_bounded_set_of_connections() {
    use std::sync::atomic::Ordering;
    let master = SlowMaster::start(Duration::from_millis(20)).await;
    let sub = client(&[&master.url])
        .subscribe(framework(), Vec::new())
        .await
        .expect("subscribed");
    let caller = sub.caller();
    // Two launch bursts' acknowledgements, each sent all at once.
    let burst = 10 * CALLS_IN_FLIGHT;
    for round in 0..2 {
        let calls = (0..burst).map(|i| {
            let caller = caller.clone();
            async move {
                caller
                    .call(CallBody::Acknowledge(Acknowledge {
                        agent_id: AgentId::new("agent-1"),
                        task_id: TaskId::new(format!("task-{round}-{i}")),
                        uuid: baton::mesos::Base64Bytes(vec![i as u8; 16]),
                    }))
                    .await
            }
        });
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    }
    assert_eq!(master.calls.load(Ordering::SeqCst), 2 * burst);
    // The subscription's own connection, plus the calls' bound and as many again: a call
    // that takes a slot just freed may open a connection before the last one is back in the
    // pool. Unbounded, the first burst alone opened one per call.
    let bound = 1 + 2 * CALLS_IN_FLIGHT;
    let most = master.most_open.load(Ordering::SeqCst);
    assert!(most <= bound, "{most} connections open at once");
    // Connections are kept and reused: none closed and reopened between calls (each closed
    // one would sit in TIME_WAIT holding an ephemeral port).
    let accepted = master.accepted.load(Ordering::SeqCst);
    assert!(
        accepted <= bound,
        "{accepted} connections for {} calls",
        2 * burst
    );
    assert_eq!(master.open.load(Ordering::SeqCst), accepted);
    drop(sub);
}
