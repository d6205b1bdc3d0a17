//! The leader's health checks, for one leadership term: the targets of every running instance
//! of an app with leader-run checks (`HTTP`, `HTTPS`, `TCP`) go to the probe engine; its probes
//! go through the verdict policy; changed health is committed in batches (`RecordHealth`), and
//! kill verdicts the cluster-wide rate limit grants are committed as `KillUnhealthy` (the Mesos
//! session then kills and the controller replaces). A new leader seeds each target from the
//! committed health, so nothing reads as unknown after a failover and grace periods still
//! count from the task's start.
//!
//! One loop owns the per-target memory; [`desired`] (which targets the state asks for) and the
//! conversions between committed and policy health are pure.

use super::Fence;
use super::checks::resolve_port;
use crate::api::Api;
use crate::health::policy::{KillLimiter, KillRate, Limits, Observed, TargetHealth};
use crate::health::{Engine, EngineConfig, EngineHandle, Probe, Target, TargetKey};
use crate::state::State;
use crate::state::app::{AppDefinition, HealthCheck};
use crate::state::health::{HealthResult, HealthUpdate};
use crate::state::ids::{InstanceId, TaskId};
use crate::state::model::{Condition, Goal};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, Outcome};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// How often changed health is committed (one Raft write for all changes since the last).
const FLUSH_INTERVAL: Duration = Duration::from_millis(300);
/// A passing target whose committed `lastSuccess` is older than this is committed again, so
/// served results stay roughly current without a write per passing probe.
const REFRESH_SUCCESS: Duration = Duration::from_secs(60);
/// Probe results the engine may have waiting for this loop.
const PROBE_QUEUE: usize = 8192;

/// What the state asks to be checked for one target.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Desired {
    pub target: Target,
    pub task: TaskId,
    /// When the task was first seen running: the grace period counts from here.
    pub started_at: Timestamp,
    pub limits: Limits,
    /// The committed result, if any.
    pub committed: Option<HealthResult>,
}

/// The leader-run checks of every running instance meant to run, by target.
pub(super) fn desired(state: &State) -> BTreeMap<TargetKey, Desired> {
    let mut out = BTreeMap::new();
    // The checks of each app version, shared by its instances' targets.
    let mut checks_of: HashMap<(&PathId, Timestamp), Vec<Arc<HealthCheck>>> = HashMap::new();
    // Only the instances of apps with a leader-run check in some version: this runs after
    // every change while a launch wave commits, and most instances have no such check. Apps
    // without instances are passed over before their versions are read.
    let leader_run =
        |spec: &AppDefinition| spec.health_checks.iter().any(|c| !c.protocol.is_mesos());
    let checked_apps = state.apps().filter(|app| {
        state.instances_of(&app.spec.id).next().is_some()
            && (leader_run(&app.spec)
                || state
                    .app_version_specs(&app.spec.id)
                    .any(|spec| leader_run(spec)))
    });
    for instance in checked_apps.flat_map(|app| state.instances_of(&app.spec.id)) {
        if instance.goal != Goal::Running {
            continue;
        }
        let Some(observed) = instance
            .observed
            .as_ref()
            .filter(|o| o.condition == Condition::Running)
        else {
            continue;
        };
        let Some(host) = instance.hostname.as_ref() else {
            continue;
        };
        let checks = checks_of
            .entry((&instance.app, instance.app_version))
            .or_insert_with(|| {
                state
                    .health_checks_of(instance)
                    .iter()
                    .map(|c| Arc::new(c.clone()))
                    .collect()
            });
        for (index, check) in checks.iter().enumerate() {
            if check.protocol.is_mesos() {
                continue;
            }
            let Some(port) = resolve_port(check.port, check.port_index, &instance.host_ports)
                .and_then(|p| u16::try_from(p).ok())
            else {
                continue;
            };
            let key = TargetKey {
                instance: instance.id.clone(),
                check_index: index as u32,
            };
            out.insert(
                key.clone(),
                Desired {
                    target: Target {
                        key,
                        check: Arc::clone(check),
                        host: host.clone(),
                        port,
                    },
                    task: instance.task_id(),
                    started_at: observed.since,
                    limits: Limits::of(check),
                    committed: instance.health.get(&(index as u32)).cloned(),
                },
            );
        }
    }
    out
}

fn to_system(t: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(t.millis().max(0) as u64)
}

fn to_timestamp(t: SystemTime) -> Timestamp {
    Timestamp(
        t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// The policy's view of a committed result (a new leader starts from it).
pub(super) fn seed(committed: Option<&HealthResult>) -> TargetHealth {
    let Some(c) = committed else {
        return TargetHealth::default();
    };
    TargetHealth {
        consecutive_failures: c.consecutive_failures,
        first_success: c.first_success.map(to_system),
        last_success: c.last_success.map(to_system),
        last_failure: c.last_failure.map(to_system),
        last_failure_cause: c.last_failure_cause.clone(),
        alive: Some(c.alive),
    }
}

/// The result to commit for the policy's health; `None` while it is unknown.
pub(super) fn result_of(health: &TargetHealth) -> Option<HealthResult> {
    Some(HealthResult {
        alive: health.alive?,
        consecutive_failures: health.consecutive_failures,
        first_success: health.first_success.map(to_timestamp),
        last_success: health.last_success.map(to_timestamp),
        last_failure: health.last_failure.map(to_timestamp),
        last_failure_cause: health.last_failure_cause.clone(),
    })
}

/// Whether `next` is worth a write over `committed`: liveness, the failure count or the first
/// success changed, or the committed last success is stale.
pub(super) fn worth_committing(committed: Option<&HealthResult>, next: &HealthResult) -> bool {
    let Some(c) = committed else {
        return true;
    };
    let stale = match (c.last_success, next.last_success) {
        (Some(old), Some(new)) => new.millis() - old.millis() >= REFRESH_SUCCESS.as_millis() as i64,
        (None, Some(_)) => true,
        _ => false,
    };
    c.alive != next.alive
        || c.consecutive_failures != next.consecutive_failures
        || c.first_success != next.first_success
        || c.last_failure != next.last_failure
        || stale
}

/// One target as this leader tracks it.
struct Tracked {
    desired: Desired,
    health: TargetHealth,
    /// The last result committed, or queued to be.
    committed: Option<HealthResult>,
}

struct Checker<'a> {
    api: &'a Api,
    fence: &'a Fence,
    engine: EngineHandle,
    tracked: HashMap<TargetKey, Tracked>,
    /// Results to commit at the next flush, by target.
    pending: BTreeMap<TargetKey, HealthUpdate>,
    /// Kill verdicts waiting for the rate limit, by instance.
    kills: KillLimiter<InstanceId>,
    /// Why each waiting kill is asked for.
    reasons: HashMap<InstanceId, (TaskId, String)>,
}

/// Runs the term's health checks until the term ends.
pub(super) async fn run(api: &Api, fence: &Fence) {
    let (out, mut probes) = mpsc::channel(PROBE_QUEUE);
    let engine_cancel = fence.term.child_token();
    // The engine stops with the term, and when this loop ends for any other reason.
    let _stop_engine = engine_cancel.clone().drop_guard();
    let config = EngineConfig {
        user_agent: crate::health::user_agent(Some(api.id())),
        ..EngineConfig::default()
    };
    let engine = Engine::start(config, out, engine_cancel);
    let mut checker = Checker {
        api,
        fence,
        engine,
        tracked: HashMap::new(),
        pending: BTreeMap::new(),
        kills: KillLimiter::new(KillRate::default()),
        reasons: HashMap::new(),
    };
    let mut synced_at = None;
    let mut tick = tokio::time::interval(FLUSH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = fence.term.cancelled() => return,
            probe = probes.recv() => match probe {
                Some(probe) => checker.observe(probe),
                None => {
                    // The engine ended before the term did: no checks run until the next term.
                    tracing::error!("the health check engine stopped");
                    fence.term.cancelled().await;
                    return;
                }
            },
            _ = tick.tick() => {
                if !fence.holds() {
                    continue;
                }
                let view = api.local_view();
                if synced_at != Some(view.applied) {
                    checker.sync(&view.state);
                    synced_at = Some(view.applied);
                }
                checker.flush().await;
                checker.kill().await;
            }
        }
    }
}

impl Checker<'_> {
    /// Makes the engine's targets those the state asks for.
    fn sync(&mut self, state: &State) {
        let mut wanted = desired(state);
        self.tracked
            .retain(|key, tracked| match wanted.remove(key) {
                Some(d) if d.task == tracked.desired.task => {
                    if d.target != tracked.desired.target {
                        self.engine.upsert(d.target.clone());
                    }
                    // Our own commits come back here; a result someone else committed (Mesos) is
                    // not for leader-run targets, so memory stays ahead of the state.
                    tracked.desired = d;
                    true
                }
                replaced => {
                    self.engine.remove(key.clone());
                    self.pending.remove(key);
                    // A kill granted or waiting for it is done with (a later task starts afresh).
                    self.kills.withdraw(&key.instance);
                    self.reasons.remove(&key.instance);
                    if let Some(d) = replaced {
                        // The instance runs a new task: start over from its committed health.
                        wanted.insert(key.clone(), d);
                    }
                    false
                }
            });
        for (key, d) in wanted {
            self.engine.upsert(d.target.clone());
            let health = seed(d.committed.as_ref());
            self.tracked.insert(
                key,
                Tracked {
                    committed: d.committed.clone(),
                    desired: d,
                    health,
                },
            );
        }
        // Kills asked for instances no longer checked are moot.
        let gone: Vec<InstanceId> = self
            .reasons
            .keys()
            .filter(|i| state.instance(i).is_none_or(|i| i.goal != Goal::Running))
            .cloned()
            .collect();
        for instance in gone {
            self.kills.withdraw(&instance);
            self.reasons.remove(&instance);
        }
    }

    /// Takes one probe result through the policy.
    fn observe(&mut self, probe: Probe) {
        let Some(tracked) = self.tracked.get_mut(&probe.key) else {
            return; // removed since
        };
        let now = SystemTime::now();
        let started = to_system(tracked.desired.started_at);
        let verdict = tracked
            .health
            .observe(&probe, now, started, tracked.desired.limits);
        match verdict.observed {
            Observed::Passed | Observed::Failed => {}
            Observed::IgnoredInGrace | Observed::Ignored1xx => return,
        }
        let instance = probe.key.instance.clone();
        if verdict.observed == Observed::Passed {
            self.kills.withdraw(&instance);
            self.reasons.remove(&instance);
        }
        if let Some(result) = result_of(&tracked.health)
            && worth_committing(tracked.committed.as_ref(), &result)
        {
            tracked.committed = Some(result.clone());
            self.pending.insert(
                probe.key.clone(),
                HealthUpdate {
                    instance: instance.clone(),
                    task: tracked.desired.task.clone(),
                    check_index: probe.key.check_index,
                    result,
                },
            );
        }
        if verdict.kill {
            let cause = tracked
                .health
                .last_failure_cause
                .clone()
                .unwrap_or_default();
            let reason = format!(
                "health check {} failed {} times in a row: {cause}",
                probe.key.check_index, tracked.health.consecutive_failures
            );
            if self.kills.request(instance.clone()) {
                tracing::info!(%instance, %reason, "unhealthy instance to be killed");
                self.reasons
                    .insert(instance, (tracked.desired.task.clone(), reason));
            }
        }
    }

    /// Commits the changed results in one write.
    async fn flush(&mut self) {
        if self.pending.is_empty() || !self.fence.holds() {
            return;
        }
        let updates: Vec<HealthUpdate> = std::mem::take(&mut self.pending).into_values().collect();
        let count = updates.len();
        match self
            .api
            .propose(None, Command::RecordHealth { updates })
            .await
        {
            Ok(Outcome::HealthRecorded { recorded }) => {
                tracing::debug!(count, recorded, "health committed");
            }
            Ok(other) => tracing::error!(?other, "RecordHealth answered with another outcome"),
            // Not committed (leadership lost, most likely): the next leader checks again from
            // what is committed.
            Err(e) => tracing::info!(%e, count, "health not committed"),
        }
    }

    /// Commits the kills the rate limit grants now.
    async fn kill(&mut self) {
        if !self.fence.holds() {
            return;
        }
        for instance in self.kills.grant(Instant::now()) {
            let Some((task, reason)) = self.reasons.remove(&instance) else {
                continue;
            };
            let command = Command::KillUnhealthy {
                instance: instance.clone(),
                task,
                reason: reason.clone(),
            };
            match self.api.propose(None, command).await {
                Ok(Outcome::UnhealthyKilled { killed: true }) => {
                    tracing::warn!(%instance, %reason, "killing an unhealthy instance");
                }
                Ok(_) => {}
                Err(e) => tracing::info!(%instance, %e, "unhealthy kill not committed"),
            }
        }
        if self.kills.waiting() > 0 {
            tracing::debug!(
                waiting = self.kills.waiting(),
                "unhealthy kills wait for the kill rate limit"
            );
        }
    }
}

#[cfg(test)]
mod tests;
