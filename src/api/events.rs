//! The event stream every node serves from its own applied log: domain events mapped onto
//! Marathon's event shapes, type filters, and a bounded history so a subscriber can resume.

use crate::state::model::{Condition, Deployment, DeploymentAction, DeploymentStep, Instance};
use crate::state::time::Timestamp;
use crate::state::{AppliedEvent, Event};
use crate::store::StateView;
use serde_json::{Value, json};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// Applied events each node keeps for resuming subscribers (a few MiB at most).
pub const RETAINED_EVENTS: usize = 10_000;
/// How far a subscriber may fall behind before its stream is closed (Marathon's 1024).
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// The Marathon events one applied event stands for: `(eventType, payload)`, each payload
/// carrying `eventType` and `timestamp` (the leader's time of the command).
pub fn marathon_events(applied: &AppliedEvent) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut emit = |kind: &'static str, mut payload: Value| {
        if let Value::Object(map) = &mut payload {
            map.insert("eventType".into(), json!(kind));
            map.insert("timestamp".into(), json!(applied.time.to_string()));
        }
        out.push((kind, payload));
    };
    match &applied.event {
        Event::AppCreated { app } | Event::AppUpdated { app, .. } => {
            let mut definition = app.spec.to_marathon_json();
            if let Value::Object(map) = &mut definition {
                map.insert("version".into(), json!(app.version.to_string()));
                map.insert(
                    "versionInfo".into(),
                    json!({
                        "lastScalingAt": app.version_info.last_scaling_at.to_string(),
                        "lastConfigChangeAt": app.version_info.last_config_change_at.to_string(),
                    }),
                );
            }
            // The client's address is not replicated with the command.
            emit(
                "api_post_event",
                json!({
                    "clientIp": Value::Null,
                    "uri": format!("/v2/apps{}", app.spec.id),
                    "appDefinition": definition,
                }),
            );
        }
        Event::DeploymentStarted { deployment } => {
            if let Some(step) = deployment.steps.get(deployment.current_step) {
                emit("deployment_info", step_event(deployment, step));
            }
        }
        Event::DeploymentStepSucceeded { deployment, step } => {
            if let Some(done) = deployment.steps.get(*step) {
                emit("deployment_step_success", step_event(deployment, done));
                // Marathon's DeploymentActor stops a removed app and then reports it gone.
                for action in &done.actions {
                    if let DeploymentAction::StopApplication { app } = action {
                        emit("app_terminated_event", json!({ "appId": app.to_string() }));
                    }
                }
            }
            if let Some(next) = deployment.steps.get(step + 1) {
                emit("deployment_info", step_event(deployment, next));
            }
        }
        Event::DeploymentSucceeded { deployment } => {
            emit(
                "deployment_success",
                json!({ "id": deployment.id.0, "plan": plan(deployment) }),
            );
            // Marathon reports a group change once its deployment is done.
            if let Some(group) = &deployment.group {
                emit(
                    "group_change_success",
                    json!({
                        "groupId": group.id.to_string(),
                        "version": deployment.version.to_string(),
                    }),
                );
            }
        }
        // Marathon reports a cancelled deployment as failed; the plan is gone with it.
        Event::DeploymentCancelled { id, group } => {
            const REASON: &str = "the deployment was cancelled";
            emit("deployment_failed", json!({ "id": id.0, "reason": REASON }));
            if let Some((group, version)) = group {
                emit(
                    "group_change_failed",
                    json!({
                        "groupId": group.to_string(),
                        "version": version.to_string(),
                        "reason": REASON,
                    }),
                );
            }
        }
        Event::InstanceChanged { instance } => instance_events(applied.time, instance, emit),
        Event::InstanceExpunged {
            id,
            app,
            condition,
            last,
        } => {
            // The task's end, when a status ended it (not the leader expunging an unreachable
            // instance, which Mesos said nothing new about).
            if let Some(last) = last.as_deref()
                && let Some(observed) = last.observed.as_ref()
                && observed.condition == *condition
                && observed.updated_at == applied.time
            {
                emit("status_update_event", status_update(last, *condition));
            }
            let last = last.as_deref();
            emit(
                "instance_changed_event",
                json!({
                    "instanceId": id.0,
                    "condition": condition.as_str(),
                    "runSpecId": app.to_string(),
                    "agentId": last.and_then(|i| i.agent.as_ref()).map(|a| a.0.clone()),
                    "host": last.and_then(|i| i.hostname.clone()),
                    "runSpecVersion": last.map(|i| i.app_version.to_string()),
                }),
            );
        }
        Event::HealthChecked {
            instance,
            app,
            app_version,
            check,
            previous,
            result,
        } => {
            if previous.as_ref().map(|p| p.alive) != Some(result.alive) {
                emit(
                    "health_status_changed_event",
                    json!({
                        "appId": app.to_string(),
                        "instanceId": instance.0,
                        "version": app_version.to_string(),
                        "alive": result.alive,
                    }),
                );
            }
            // Each failure that counts raises the failure count (a pass resets it).
            let failed_again = !result.alive
                && previous.as_ref().is_none_or(|p| {
                    p.alive || result.consecutive_failures > p.consecutive_failures
                });
            if failed_again {
                emit(
                    "failed_health_check_event",
                    json!({
                        "appId": app.to_string(),
                        "instanceId": instance.0,
                        "healthCheck": serde_json::to_value(check.as_ref()).unwrap_or(Value::Null),
                    }),
                );
            }
        }
        Event::InstanceHealthChanged {
            instance,
            app,
            app_version,
            healthy,
        } => emit(
            "instance_health_changed_event",
            json!({
                "instanceId": instance.0,
                "runSpecId": app.to_string(),
                "runSpecVersion": app_version.to_string(),
                "healthy": healthy,
            }),
        ),
        Event::UnhealthyInstanceKilled {
            instance,
            task,
            app,
            app_version,
            reason,
            host,
            agent,
        } => emit(
            "unhealthy_instance_kill_event",
            json!({
                "appId": app.to_string(),
                "taskId": task.0,
                "instanceId": instance.0,
                "version": app_version.to_string(),
                "reason": reason,
                "host": host,
                "slaveId": agent.as_ref().map(|a| a.0.clone()),
            }),
        ),
        // A group change is reported when its deployment ends (above), as Marathon does.
        Event::AppDeleted { .. }
        | Event::GroupCreated { .. }
        | Event::GroupChanged { .. }
        | Event::FrameworkIdStored { .. }
        | Event::FrameworkTeardownRequested { .. }
        | Event::FrameworkForgotten { .. } => {}
    }
    out
}

/// An instance's news: a task status recorded in this very command is a `status_update_event`
/// (Marathon sends one per Mesos update), and a condition that changed in it (or the instance
/// provisioned in it) an `instance_changed_event`. A goal change touches neither `since`,
/// `updated_at` nor `provisioned_at`, so it is no news.
fn instance_events(
    time: Timestamp,
    instance: &Instance,
    mut emit: impl FnMut(&'static str, Value),
) {
    let (status, changed) = match &instance.observed {
        // Marking an unreachable instance inactive is the leader's doing, not a Mesos status.
        Some(observed) if observed.condition == Condition::UnreachableInactive => {
            (false, observed.since == time || observed.updated_at == time)
        }
        Some(observed) => (observed.updated_at == time, observed.since == time),
        None => (false, instance.provisioned_at == time),
    };
    let condition = instance.condition();
    if status {
        emit("status_update_event", status_update(instance, condition));
    }
    if !changed {
        return;
    }
    emit(
        "instance_changed_event",
        json!({
            "instanceId": instance.id.0,
            "condition": condition.as_str(),
            "runSpecId": instance.app.to_string(),
            "agentId": instance.agent.as_ref().map(|a| a.0.clone()),
            "host": instance.hostname,
            "runSpecVersion": instance.app_version.to_string(),
        }),
    );
}

/// Marathon's `status_update_event` for the instance's task in `condition`.
fn status_update(instance: &Instance, condition: Condition) -> Value {
    let observed = instance.observed.as_ref();
    json!({
        "slaveId": instance.agent.as_ref().map(|a| a.0.clone()),
        "taskId": observed.map_or_else(|| instance.task_id().0, |o| o.task_id.0.clone()),
        "taskStatus": super::apps::task_state(condition),
        "message": observed.and_then(|o| o.message.clone()).unwrap_or_default(),
        "appId": instance.app.to_string(),
        "host": instance.hostname,
        "ipAddresses": instance.hostname.as_ref().map(|h| vec![json!({"ipAddress": h, "protocol": "IPv4"})]).unwrap_or_default(),
        "ports": instance.host_ports,
        "version": instance.app_version.to_string(),
    })
}

fn step_json(step: &DeploymentStep) -> Value {
    let actions: Vec<Value> = step
        .actions
        .iter()
        .map(|a| json!({ "action": a.name(), "app": a.app().to_string() }))
        .collect();
    json!({ "actions": actions })
}

/// Marathon 1.8+'s light plan, with skeletal `original` and `target` groups because
/// marathon-python 0.13 cannot parse a plan without them (reference §8.4).
fn plan(d: &Deployment) -> Value {
    let group = json!({
        "id": "/", "apps": [], "groups": [], "pods": [], "dependencies": [],
        "version": d.version.to_string(),
    });
    json!({
        "id": d.id.0,
        "version": d.version.to_string(),
        "steps": d.steps.iter().map(step_json).collect::<Vec<_>>(),
        "original": group,
        "target": group,
    })
}

fn step_event(d: &Deployment, step: &DeploymentStep) -> Value {
    json!({ "plan": plan(d), "currentStep": step_json(step) })
}

/// Which Marathon event types a subscriber wants (`event_type=a&event_type=b` or `a,b`);
/// none named means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    types: BTreeSet<String>,
}

impl EventFilter {
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> EventFilter {
        let types = values
            .into_iter()
            .flat_map(|v| {
                v.as_ref()
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|t| !t.is_empty())
            .collect();
        EventFilter { types }
    }

    pub fn admits(&self, event_type: &str) -> bool {
        self.types.is_empty() || self.types.contains(event_type)
    }

    /// The Marathon events of `applied` this filter lets through.
    pub fn select(&self, applied: &AppliedEvent) -> Vec<(&'static str, Value)> {
        let mut events = marathon_events(applied);
        events.retain(|(kind, _)| self.admits(kind));
        events
    }
}

/// A resume point that fell out of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("events before index {first} are gone")]
pub struct Gone {
    /// The oldest index from which this node still holds every event.
    pub first: u64,
}

/// Why a subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ended {
    /// The subscriber fell more than [`SUBSCRIBER_BUFFER`] events behind.
    #[error("the subscriber fell behind; resume from index {resume_from}")]
    Lagged { resume_from: u64 },
    #[error("the node is shutting down")]
    Closed,
}

/// What the history hands on to live subscribers.
#[derive(Clone, Debug)]
enum Feed {
    Event(Arc<AppliedEvent>),
    /// The history itself missed events: every live subscriber must start over.
    Gap,
}

/// The last [`RETAINED_EVENTS`] applied events, fed by one task from the state machine's
/// broadcast. The ring and the live feed change together under one lock, so a subscriber's
/// backlog and live feed neither overlap nor leave a hole.
#[derive(Clone)]
pub struct EventHistory {
    ring: Arc<Mutex<Ring>>,
    live: broadcast::Sender<Feed>,
}

struct Ring {
    events: VecDeque<Arc<AppliedEvent>>,
    capacity: usize,
    /// Every event with an index from here on is held (or has not happened yet).
    complete_from: u64,
}

impl Ring {
    fn push(&mut self, event: Arc<AppliedEvent>) {
        if self.events.len() == self.capacity
            && let Some(old) = self.events.pop_front()
        {
            self.complete_from = self.complete_from.max(old.index + 1);
        }
        self.events.push_back(event);
    }
}

fn applied_index(view: &watch::Receiver<Arc<StateView>>) -> u64 {
    view.borrow().applied.map_or(0, |l| l.index)
}

impl EventHistory {
    /// Starts feeding the history from `source` until `shutdown`. `view` tells where a
    /// complete history starts: after what this node had applied when it (re)started.
    pub fn start(
        source: broadcast::Receiver<Arc<AppliedEvent>>,
        view: watch::Receiver<Arc<StateView>>,
        capacity: usize,
        shutdown: CancellationToken,
    ) -> EventHistory {
        // Subscribed before reading the index: nothing after it can be missed.
        let history = EventHistory::empty(capacity, applied_index(&view) + 1);
        tokio::spawn(history.clone().feed(source, view, shutdown));
        history
    }

    fn empty(capacity: usize, complete_from: u64) -> EventHistory {
        EventHistory {
            ring: Arc::new(Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(1024)),
                capacity: capacity.max(1),
                complete_from,
            })),
            live: broadcast::channel(SUBSCRIBER_BUFFER).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, event: Arc<AppliedEvent>) {
        let mut ring = self.lock();
        ring.push(Arc::clone(&event));
        // No subscriber is not an error.
        let _ = self.live.send(Feed::Event(event));
    }

    /// The history missed events: it starts afresh after `applied`.
    fn restart_after(&self, applied: u64) {
        let mut ring = self.lock();
        ring.events.clear();
        ring.complete_from = applied + 1;
        let _ = self.live.send(Feed::Gap);
    }

    async fn feed(
        self,
        mut source: broadcast::Receiver<Arc<AppliedEvent>>,
        view: watch::Receiver<Arc<StateView>>,
        shutdown: CancellationToken,
    ) {
        loop {
            let received = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = source.recv() => r,
            };
            match received {
                Ok(event) => self.record(event),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event history fell behind the state machine");
                    // Events of entries applied after this are still queued for us.
                    self.restart_after(applied_index(&view));
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// A subscription to every event from `from_index` on (inclusive; 0: only new ones).
    pub fn subscribe(&self, from_index: u64) -> Result<Subscription, Gone> {
        let ring = self.lock();
        let live = self.live.subscribe();
        let backlog = if from_index == 0 {
            VecDeque::new()
        } else if from_index < ring.complete_from {
            return Err(Gone {
                first: ring.complete_from,
            });
        } else {
            ring.events
                .iter()
                .filter(|e| e.index >= from_index)
                .cloned()
                .collect()
        };
        Ok(Subscription {
            backlog,
            live,
            from_index,
            last_index: from_index.saturating_sub(1),
        })
    }
}

/// One subscriber's events: the backlog it asked for, then live ones.
pub struct Subscription {
    backlog: VecDeque<Arc<AppliedEvent>>,
    live: broadcast::Receiver<Feed>,
    from_index: u64,
    last_index: u64,
}

impl Subscription {
    pub async fn next(&mut self) -> Result<Arc<AppliedEvent>, Ended> {
        let event = match self.backlog.pop_front() {
            Some(e) => e,
            None => loop {
                match self.live.recv().await {
                    Ok(Feed::Event(e)) if e.index >= self.from_index => break e,
                    Ok(Feed::Event(_)) => {}
                    Ok(Feed::Gap) | Err(RecvError::Lagged(_)) => {
                        return Err(Ended::Lagged {
                            resume_from: self.last_index.max(1),
                        });
                    }
                    Err(RecvError::Closed) => return Err(Ended::Closed),
                }
            },
        };
        self.last_index = event.index;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::app::{AppInput, parse_app};
    use crate::state::ids::{AgentId, DeploymentId, InstanceId, TaskId};
    use crate::state::model::{AppRecord, ObservedStatus, VersionInfo};
    use crate::state::path::PathId;

    const T: Timestamp = Timestamp(1_443_541_191_164);
    const WHEN: &str = "2015-09-29T15:39:51.164Z";

    fn pid(s: &str) -> PathId {
        PathId::parse(s, None).expect("valid path")
    }

    fn at(index: u64, time: Timestamp, event: Event) -> AppliedEvent {
        AppliedEvent { index, time, event }
    }

    fn record() -> AppRecord {
        let spec =
            parse_app(br#"{"id":"/web","cmd":"sleep 1000"}"#, AppInput::Create).expect("valid app");
        AppRecord {
            spec: Arc::new(spec),
            revision: 1,
            version: T,
            version_info: VersionInfo {
                last_scaling_at: T,
                last_config_change_at: T,
            },
        }
    }

    fn deployment(current_step: usize) -> Deployment {
        Deployment {
            id: DeploymentId("d-1".into()),
            version: T,
            affected_apps: vec![pid("/web")],
            steps: vec![
                DeploymentStep {
                    actions: vec![DeploymentAction::StartApplication { app: pid("/web") }],
                },
                DeploymentStep {
                    actions: vec![DeploymentAction::ScaleApplication {
                        app: pid("/web"),
                        instances: 2,
                    }],
                },
            ],
            current_step,
            original: vec![],
            revision: 1,
            group: None,
        }
    }

    fn instance(observed: Option<(Condition, Timestamp)>) -> Instance {
        Instance {
            observed: observed.map(|(condition, since)| ObservedStatus {
                condition,
                task_id: TaskId("web.instance-1._app.1".into()),
                status_uuid: None,
                message: Some("started".into()),
                reason: None,
                healthy: None,
                since,
                updated_at: since,
            }),
            agent: Some(AgentId("agent-1".into())),
            hostname: Some("host-a".into()),
            host_ports: vec![31000],
            provisioned_at: Timestamp(T.0 - 1000),
            revision: 2,
            ..Instance::fixture(InstanceId("web.instance-1".into()), pid("/web"), T)
        }
    }

    fn kinds(events: &[(&'static str, Value)]) -> Vec<&'static str> {
        events.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn app_writes_are_api_post_events_with_the_marathon_definition() {
        for event in [
            Event::AppCreated { app: record() },
            Event::AppUpdated {
                app: record(),
                scaled_only: true,
            },
        ] {
            let out = marathon_events(&at(7, T, event));
            assert_eq!(kinds(&out), ["api_post_event"]);
            let p = &out[0].1;
            assert_eq!(p["eventType"], "api_post_event");
            assert_eq!(p["timestamp"], WHEN);
            assert_eq!(p["uri"], "/v2/apps/web");
            assert_eq!(p["clientIp"], Value::Null);
            assert_eq!(p["appDefinition"]["id"], "/web");
            assert_eq!(p["appDefinition"]["cmd"], "sleep 1000");
            assert_eq!(p["appDefinition"]["version"], WHEN);
            assert_eq!(p["appDefinition"]["versionInfo"]["lastScalingAt"], WHEN);
        }
    }

    #[test]
    fn a_started_deployment_is_deployment_info_with_plan_and_current_step() {
        let out = marathon_events(&at(
            3,
            T,
            Event::DeploymentStarted {
                deployment: Box::new(deployment(0)),
            },
        ));
        assert_eq!(kinds(&out), ["deployment_info"]);
        let p = &out[0].1;
        assert_eq!(p["plan"]["id"], "d-1");
        assert_eq!(p["plan"]["version"], WHEN);
        assert_eq!(
            p["plan"]["steps"][1]["actions"][0],
            json!({"action": "ScaleApplication", "app": "/web"})
        );
        assert_eq!(p["plan"]["original"]["id"], "/");
        assert_eq!(p["plan"]["target"]["apps"], json!([]));
        assert_eq!(
            p["currentStep"],
            json!({"actions": [{"action": "StartApplication", "app": "/web"}]})
        );
        assert_eq!(p["timestamp"], WHEN);
    }

    #[test]
    fn a_finished_step_reports_success_then_the_next_step() {
        let out = marathon_events(&at(
            4,
            T,
            Event::DeploymentStepSucceeded {
                deployment: Box::new(deployment(1)),
                step: 0,
            },
        ));
        assert_eq!(kinds(&out), ["deployment_step_success", "deployment_info"]);
        assert_eq!(
            out[0].1["currentStep"]["actions"][0]["action"],
            "StartApplication"
        );
        assert_eq!(
            out[1].1["currentStep"]["actions"][0]["action"],
            "ScaleApplication"
        );
        // The last step has no next one.
        let out = marathon_events(&at(
            5,
            T,
            Event::DeploymentStepSucceeded {
                deployment: Box::new(deployment(2)),
                step: 1,
            },
        ));
        assert_eq!(kinds(&out), ["deployment_step_success"]);
    }

    #[test]
    fn a_stopped_app_is_terminated_when_its_stop_step_succeeds() {
        let mut d = deployment(1);
        d.steps = vec![DeploymentStep {
            actions: vec![DeploymentAction::StopApplication { app: pid("/web") }],
        }];
        let out = marathon_events(&at(
            9,
            T,
            Event::DeploymentStepSucceeded {
                deployment: Box::new(d),
                step: 0,
            },
        ));
        assert_eq!(
            kinds(&out),
            ["deployment_step_success", "app_terminated_event"]
        );
        assert_eq!(out[1].1["appId"], "/web");
        assert!(marathon_events(&at(9, T, Event::AppDeleted { id: pid("/web") })).is_empty());
    }

    #[test]
    fn deployment_outcomes() {
        let out = marathon_events(&at(
            6,
            T,
            Event::DeploymentSucceeded {
                deployment: Box::new(deployment(2)),
            },
        ));
        assert_eq!(kinds(&out), ["deployment_success"]);
        assert_eq!(out[0].1["id"], "d-1");
        assert_eq!(out[0].1["plan"]["id"], "d-1");
        let out = marathon_events(&at(
            6,
            T,
            Event::DeploymentCancelled {
                id: DeploymentId("d-1".into()),
                group: None,
            },
        ));
        assert_eq!(kinds(&out), ["deployment_failed"]);
        assert_eq!(out[0].1["id"], "d-1");
        assert!(out[0].1["reason"].is_string());
    }

    #[test]
    fn a_new_task_status_is_a_status_update_and_an_instance_change() {
        let changed = instance(Some((Condition::Running, T)));
        let out = marathon_events(&at(
            8,
            T,
            Event::InstanceChanged {
                instance: Box::new(changed),
            },
        ));
        assert_eq!(
            kinds(&out),
            ["status_update_event", "instance_changed_event"]
        );
        assert_eq!(
            out[0].1,
            json!({
                "slaveId": "agent-1", "taskId": "web.instance-1._app.1",
                "taskStatus": "TASK_RUNNING", "message": "started", "appId": "/web",
                "host": "host-a", "ipAddresses": [{"ipAddress": "host-a", "protocol": "IPv4"}],
                "ports": [31000], "version": WHEN,
                "eventType": "status_update_event", "timestamp": WHEN,
            })
        );
        assert_eq!(
            out[1].1,
            json!({
                "instanceId": "web.instance-1", "condition": "Running", "runSpecId": "/web",
                "agentId": "agent-1", "host": "host-a", "runSpecVersion": WHEN,
                "eventType": "instance_changed_event", "timestamp": WHEN,
            })
        );
    }

    #[test]
    fn only_a_condition_change_is_news() {
        // A goal change (or a repeated condition) keeps the earlier `since`.
        let earlier = Timestamp(T.0 - 500);
        let quiet = instance(Some((Condition::Running, earlier)));
        let event = Event::InstanceChanged {
            instance: Box::new(quiet),
        };
        assert!(marathon_events(&at(8, T, event)).is_empty());
        // Provisioned in this command: an instance change, no task status yet.
        let mut fresh = instance(None);
        fresh.provisioned_at = T;
        let out = marathon_events(&at(
            8,
            T,
            Event::InstanceChanged {
                instance: Box::new(fresh),
            },
        ));
        assert_eq!(kinds(&out), ["instance_changed_event"]);
        assert_eq!(out[0].1["condition"], "Provisioned");
    }

    #[test]
    fn a_repeated_condition_is_a_status_update_only() {
        let mut repeated = instance(Some((Condition::Running, Timestamp(T.0 - 500))));
        if let Some(o) = repeated.observed.as_mut() {
            o.updated_at = T;
            o.healthy = Some(true);
        }
        let out = marathon_events(&at(
            8,
            T,
            Event::InstanceChanged {
                instance: Box::new(repeated),
            },
        ));
        assert_eq!(kinds(&out), ["status_update_event"]);
        assert_eq!(out[0].1["taskStatus"], "TASK_RUNNING");
    }

    #[test]
    fn a_task_that_ended_reports_its_terminal_status_and_final_condition() {
        let ended = instance(Some((Condition::Killed, T)));
        let out = marathon_events(&at(
            10,
            T,
            Event::InstanceExpunged {
                id: InstanceId("web.instance-1".into()),
                app: pid("/web"),
                condition: Condition::Killed,
                last: Some(Box::new(ended)),
            },
        ));
        assert_eq!(
            kinds(&out),
            ["status_update_event", "instance_changed_event"]
        );
        assert_eq!(
            out[0].1,
            json!({
                "slaveId": "agent-1", "taskId": "web.instance-1._app.1",
                "taskStatus": "TASK_KILLED", "message": "started", "appId": "/web",
                "host": "host-a", "ipAddresses": [{"ipAddress": "host-a", "protocol": "IPv4"}],
                "ports": [31000], "version": WHEN,
                "eventType": "status_update_event", "timestamp": WHEN,
            })
        );
        assert_eq!(out[1].1["condition"], "Killed");
        assert_eq!(out[1].1["runSpecId"], "/web");
        assert_eq!(out[1].1["agentId"], "agent-1");
    }

    #[test]
    fn an_unreachable_instance_marked_inactive_or_expunged_is_no_task_status() {
        let mut inactive = instance(Some((Condition::UnreachableInactive, Timestamp(T.0 - 500))));
        if let Some(o) = inactive.observed.as_mut() {
            o.updated_at = T;
        }
        let out = marathon_events(&at(
            11,
            T,
            Event::InstanceChanged {
                instance: Box::new(inactive.clone()),
            },
        ));
        assert_eq!(kinds(&out), ["instance_changed_event"]);
        assert_eq!(out[0].1["condition"], "UnreachableInactive");
        let later = Timestamp(T.0 + 1000);
        let out = marathon_events(&at(
            12,
            later,
            Event::InstanceExpunged {
                id: InstanceId("web.instance-1".into()),
                app: pid("/web"),
                condition: Condition::UnreachableInactive,
                last: Some(Box::new(inactive)),
            },
        ));
        assert_eq!(kinds(&out), ["instance_changed_event"]);
    }

    #[test]
    fn health_results_raise_marathons_health_events() {
        use crate::state::health::HealthResult;
        let check = parse_app(
            br#"{"id":"/web","cmd":"x","healthChecks":[{"protocol":"HTTP","path":"/h"}]}"#,
            AppInput::Create,
        )
        .expect("valid app")
        .health_checks
        .remove(0);
        let passed = HealthResult::after(None, T, Ok(()));
        let failed = HealthResult::after(Some(&passed), T, Err("503".into()));
        let failed_again = HealthResult::after(Some(&failed), T, Err("503".into()));
        let checked = |previous: Option<&HealthResult>, result: &HealthResult| {
            marathon_events(&at(
                9,
                T,
                Event::HealthChecked {
                    instance: InstanceId("web.instance-1".into()),
                    app: pid("/web"),
                    app_version: T,
                    check: Box::new(check.clone()),
                    previous: previous.cloned(),
                    result: result.clone(),
                },
            ))
        };
        let first = checked(None, &passed);
        assert_eq!(kinds(&first), ["health_status_changed_event"]);
        assert_eq!(first[0].1["alive"], true, "{}", first[0].1);
        assert_eq!(first[0].1["instanceId"], "web.instance-1");
        assert_eq!(first[0].1["version"], WHEN);
        let down = checked(Some(&passed), &failed);
        assert_eq!(
            kinds(&down),
            ["health_status_changed_event", "failed_health_check_event"]
        );
        assert_eq!(down[1].1["healthCheck"]["path"], "/h");
        assert_eq!(down[1].1["appId"], "/web");
        let again = checked(Some(&failed), &failed_again);
        assert_eq!(kinds(&again), ["failed_health_check_event"]);

        let changed = marathon_events(&at(
            9,
            T,
            Event::InstanceHealthChanged {
                instance: InstanceId("web.instance-1".into()),
                app: pid("/web"),
                app_version: T,
                healthy: None,
            },
        ));
        assert_eq!(kinds(&changed), ["instance_health_changed_event"]);
        assert_eq!(changed[0].1["healthy"], Value::Null);
        assert_eq!(changed[0].1["runSpecId"], "/web");

        let killed = marathon_events(&at(
            9,
            T,
            Event::UnhealthyInstanceKilled {
                instance: InstanceId("web.instance-1".into()),
                task: TaskId("web.instance-1._app.1".into()),
                app: pid("/web"),
                app_version: T,
                reason: "failed 3 times".into(),
                host: Some("127.0.1.1".into()),
                agent: Some(AgentId("S1".into())),
            },
        ));
        assert_eq!(kinds(&killed), ["unhealthy_instance_kill_event"]);
        assert_eq!(
            killed[0].1,
            json!({"appId": "/web", "taskId": "web.instance-1._app.1",
                   "instanceId": "web.instance-1", "version": WHEN, "reason": "failed 3 times",
                   "host": "127.0.1.1", "slaveId": "S1",
                   "eventType": "unhealthy_instance_kill_event", "timestamp": WHEN})
        );
    }

    #[test]
    fn filters_take_repeated_and_comma_separated_types() {
        let all = EventFilter::new(Vec::<String>::new());
        assert!(all.admits("anything"));
        let some = EventFilter::new(["api_post_event,deployment_info", " deployment_success ", ""]);
        assert!(some.admits("api_post_event"));
        assert!(some.admits("deployment_info"));
        assert!(some.admits("deployment_success"));
        assert!(!some.admits("status_update_event"));
        let applied = at(
            4,
            T,
            Event::DeploymentStepSucceeded {
                deployment: Box::new(deployment(1)),
                step: 0,
            },
        );
        assert_eq!(kinds(&some.select(&applied)), ["deployment_info"]);
    }

    fn event(index: u64) -> Arc<AppliedEvent> {
        Arc::new(at(index, T, Event::AppDeleted { id: pid("/web") }))
    }

    #[tokio::test]
    async fn a_subscriber_resumes_from_an_index_then_follows_live_events() {
        let history = EventHistory::empty(3, 1);
        for i in [1, 2, 2, 4] {
            history.record(event(i));
        }
        // Capacity 3 dropped index 1: resuming there is refused, from 2 is complete.
        assert_eq!(history.subscribe(1).err(), Some(Gone { first: 2 }));
        let mut from_two = history.subscribe(2).expect("held");
        let mut only_new = history.subscribe(0).expect("always");
        history.record(event(5));
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(from_two.next().await.expect("event").index);
        }
        assert_eq!(seen, [2, 2, 4, 5]);
        assert_eq!(only_new.next().await.expect("event").index, 5);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_ended_with_where_to_resume() {
        let history = EventHistory::empty(10, 1);
        history.record(event(1));
        let mut slow = history.subscribe(1).expect("held");
        assert_eq!(slow.next().await.expect("backlog").index, 1);
        for i in 2..(SUBSCRIBER_BUFFER as u64 + 10) {
            history.record(event(i));
        }
        assert_eq!(slow.next().await, Err(Ended::Lagged { resume_from: 1 }));
    }

    #[tokio::test]
    async fn a_gap_in_the_history_ends_live_subscribers_and_resets_the_resume_point() {
        let history = EventHistory::empty(10, 1);
        history.record(event(1));
        let mut live = history.subscribe(0).expect("always");
        history.restart_after(20);
        assert!(matches!(live.next().await, Err(Ended::Lagged { .. })));
        assert_eq!(history.subscribe(5).err(), Some(Gone { first: 21 }));
        assert!(history.subscribe(21).is_ok());
    }
}
