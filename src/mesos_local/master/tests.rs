//! The master loop in process, driven through its handle: call checks, failover timeout and
//! teardown, without HTTP.

use super::streams::EVENT_QUEUE;
use super::*;
use crate::mesos::{
    Accept, Call, CallBody, CommandInfo, Event, Filters, FrameworkInfo, Offer, Operation, RoleList,
    Subscribe, TaskId, TaskInfo as Info, TaskState,
};
use crate::mesos_local::resources::Resources;
use crate::mesos_local::spec;

/// A running master; cancelled on drop, which kills its tasks.
struct Running {
    handle: MasterHandle,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn settings(data_dir: &std::path::Path, simulated: Option<Duration>) -> Settings {
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 5050)),
        data_dir: data_dir.to_path_buf(),
        heartbeat_interval: Duration::from_secs(15),
        allocation_interval: Duration::from_millis(50),
        status_retry_interval: Duration::from_secs(1),
        simulated,
        offer_timeout: None,
    }
}

fn agents(n: u32) -> Vec<Agent> {
    (1..=n)
        .map(|n| {
            let total = Resources::from_wire(&spec::default_agent_resources(n)).unwrap_or_default();
            Agent::new(spec::agent_hostname(n), total, Vec::new(), None, 0.0)
        })
        .collect()
}

/// A master that is not running, for tests of its methods; one agent.
pub(in crate::mesos_local) fn bare_master(simulated: Option<Duration>) -> Master {
    let (tx, _rx) = mpsc::channel(INPUT_QUEUE);
    Master::new(
        settings(std::path::Path::new("/nonexistent"), simulated),
        agents(1),
        tx,
        TaskTracker::new(),
        CancellationToken::new(),
    )
}

fn start(agents: u32) -> Running {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let settings = settings(dir.path(), None);
    let agents = self::agents(agents);
    let (tx, rx) = mpsc::channel(INPUT_QUEUE);
    let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
    let master = Master::new(
        settings,
        agents,
        tx.clone(),
        tracker.clone(),
        cancel.clone(),
    );
    tracker.spawn(run(master, rx));
    Running {
        handle: MasterHandle { tx },
        cancel,
        _dir: dir,
    }
}

fn info(id: Option<&FrameworkId>, failover_timeout: Option<f64>) -> Subscribe {
    let mut info = FrameworkInfo::new("u", "n");
    info.id = id.cloned();
    info.failover_timeout = failover_timeout;
    Subscribe {
        framework_info: info,
        suppressed_roles: Vec::new(),
    }
}

async fn next(events: &mut mpsc::Receiver<Event>) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap_or_else(|_| panic!("no event within 5 s"))
}

/// Subscribes; the framework id, the stream id and the events after SUBSCRIBED and HEARTBEAT.
async fn subscribe(m: &Running, sub: Subscribe) -> (FrameworkId, String, mpsc::Receiver<Event>) {
    let mut s = m
        .handle
        .subscribe(sub)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(Event::Subscribed(subscribed)) = next(&mut s.events).await else {
        panic!("SUBSCRIBED first");
    };
    assert_eq!(next(&mut s.events).await, Some(Event::Heartbeat));
    (subscribed.framework_id, s.stream_id, s.events)
}

async fn offer(events: &mut mpsc::Receiver<Event>) -> Offer {
    loop {
        if let Some(Event::Offers(mut o)) = next(events).await
            && let Some(offer) = o.offers.pop()
        {
            return offer;
        }
    }
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn calls_are_checked_in_the_masters_order() {
    let m = start(1);
    let (id, stream, events) = subscribe(&m, info(None, Some(600.0))).await;
    let revive = |fw: &FrameworkId| Call::new(fw.clone(), CallBody::Revive(RoleList::default()));
    let bad = |m: &str| Err(CallRefused::BadRequest(m.to_owned()));
    let unknown = FrameworkId::new("nope");
    assert_eq!(
        m.handle.call(revive(&unknown), Some(stream.clone())).await,
        bad("Framework cannot be found")
    );
    assert_eq!(
        m.handle.call(revive(&id), None).await,
        bad("All non-subscribe calls should include the 'Mesos-Stream-Id' header")
    );
    let stale = m.handle.call(revive(&id), Some("old".into())).await;
    assert!(matches!(stale, Err(CallRefused::BadRequest(m)) if m.contains("didn't match")));
    assert_eq!(
        m.handle.call(revive(&id), Some(stream.clone())).await,
        Ok(())
    );
    // The client goes away: the framework is known but no longer subscribed.
    drop(events);
    eventually("403 after the stream dropped", async || {
        m.handle.call(revive(&id), Some(stream.clone())).await
            == Err(CallRefused::Forbidden("Framework is not subscribed".into()))
    })
    .await;
    let state = m.handle.state().await.unwrap_or_default();
    assert_eq!(state["frameworks"][0]["connected"], false);
}

#[tokio::test]
async fn failover_timeout_removes_a_framework_for_good() {
    let m = start(1);
    let (id, _, events) = subscribe(&m, info(None, None)).await;
    drop(events);
    eventually("the framework's removal", async || {
        let state = m.handle.state().await.unwrap_or_default();
        state["completed_frameworks"][0]["id"] == id.value.as_str()
    })
    .await;
    let mut again = m
        .handle
        .subscribe(info(Some(&id), None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(Event::Error(e)) = next(&mut again.events).await else {
        panic!("ERROR first");
    };
    assert_eq!(e.message, "Framework has been removed");
    assert_eq!(next(&mut again.events).await, None, "then the stream ends");
}

#[tokio::test]
async fn teardown_kills_the_tasks_and_ends_the_stream() {
    let m = start(1);
    let (id, stream, mut events) = subscribe(&m, info(None, Some(600.0))).await;
    let offer = offer(&mut events).await;
    let task = Info::command(
        "sleeper",
        TaskId::new("sleeper"),
        offer.agent_id.clone(),
        vec![crate::mesos::Resource::scalar("cpus", 0.1)],
        CommandInfo::shell("exec sleep 1000"),
    );
    let accept = CallBody::Accept(Accept {
        offer_ids: vec![offer.id.clone()],
        operations: vec![Operation::launch(vec![task])],
        filters: Some(Filters::refuse_seconds(0.0)),
    });
    let call = |body| Call::new(id.clone(), body);
    assert_eq!(
        m.handle.call(call(accept), Some(stream.clone())).await,
        Ok(())
    );
    let pid = loop {
        let Some(Event::Update(u)) = next(&mut events).await else {
            continue;
        };
        if u.status.state == TaskState::Running {
            break u.status.container_status.and_then(|c| c.executor_pid);
        }
        // RUNNING follows only once STARTING is acknowledged.
        if let Some(ack) = crate::mesos::Acknowledge::for_status(&u.status) {
            let ack = call(CallBody::Acknowledge(ack));
            assert_eq!(m.handle.call(ack, Some(stream.clone())).await, Ok(()));
        }
    };
    let pid = pid.unwrap_or_else(|| panic!("RUNNING carries the executor pid"));
    assert_eq!(
        m.handle.call(call(CallBody::Teardown), Some(stream)).await,
        Ok(())
    );
    while next(&mut events).await.is_some() {}
    let state = m.handle.state().await.unwrap_or_default();
    let done = &state["completed_frameworks"][0];
    assert_eq!(done["completed_tasks"][0]["state"], "TASK_KILLED");
    assert!(done["unregistered_time"].as_f64().unwrap_or_default() > 0.0);
    assert_eq!(state["slaves"][0]["used_resources"]["cpus"], 0.0);
    eventually("the task's process to end", async || {
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .is_empty()
    })
    .await;
}

fn rescind(n: usize) -> Event {
    Event::Rescind(crate::mesos::Rescind {
        offer_id: crate::mesos::OfferId::new(format!("o{n}")),
    })
}

/// A burst bigger than the stream (an implicit reconciliation of more tasks than
/// [`EVENT_QUEUE`]) waits in the backlog, in order, instead of dropping the subscription; the
/// master moves it into the stream as the reader makes room.
#[tokio::test]
async fn a_burst_beyond_the_stream_waits_for_the_reader_instead_of_dropping_it() {
    let mut m = bare_master(None);
    let mut sub = m.subscribe(info(None, Some(60.0)));
    let id = m
        .frameworks
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("a framework"));
    assert!(matches!(
        sub.events.recv().await,
        Some(Event::Subscribed(_))
    ));
    assert_eq!(sub.events.recv().await, Some(Event::Heartbeat));
    let burst = EVENT_QUEUE + 100;
    for n in 0..burst {
        m.send(&id, rescind(n));
    }
    let backlog = |m: &Master| {
        m.frameworks[&id]
            .stream
            .as_ref()
            .map(|s| s.backlog.len())
            .unwrap_or_else(|| panic!("the subscription was dropped"))
    };
    assert_eq!(backlog(&m), 100);
    // The reader takes half of what it holds; the master refills the stream from the backlog.
    let mut got = Vec::new();
    for _ in 0..EVENT_QUEUE / 2 {
        got.extend(sub.events.recv().await);
    }
    m.send(&id, rescind(burst));
    assert_eq!(backlog(&m), 101, "a new event queues behind the backlog");
    m.flush_backlogs();
    assert_eq!(backlog(&m), 0);
    while let Ok(event) = sub.events.try_recv() {
        got.push(event);
    }
    let want: Vec<Event> = (0..=burst).map(rescind).collect();
    assert!(got == want, "every event once, in order");
    // A reader that went away is disconnected when its backlog is next moved.
    m.send(&id, rescind(0));
    for n in 0..EVENT_QUEUE {
        m.send(&id, rescind(n));
    }
    assert!(backlog(&m) > 0);
    drop(sub);
    m.flush_backlogs();
    assert!(m.frameworks[&id].stream.is_none());
}
