//! Committed health: each instance's result per health check (Marathon's shape), changed by the
//! leader's batched `RecordHealth`, by the health Mesos reports in task statuses, and the kill
//! of an instance that failed its checks. A new leader starts from these results, never from
//! "unknown", and every node serves them.

use super::app::HealthCheck;
use super::command::{Outcome, Response};
use super::events::Event;
use super::ids::{InstanceId, TaskId};
use super::model::{Goal, Instance, StatusReport};
use super::path::PathId;
use super::rows::RowKey;
use super::time::Timestamp;
use super::{Applied, State};
use serde::{Deserialize, Serialize};

/// Marathon's result of one health check of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResult {
    pub alive: bool,
    pub consecutive_failures: u32,
    pub first_success: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
    pub last_failure_cause: Option<String>,
}

impl HealthResult {
    /// The result after one more probe at `at`: `Ok` passed, `Err(cause)` failed.
    pub fn after(
        previous: Option<&HealthResult>,
        at: Timestamp,
        probe: Result<(), String>,
    ) -> Self {
        let mut next = previous.cloned().unwrap_or(HealthResult {
            alive: false,
            consecutive_failures: 0,
            first_success: None,
            last_success: None,
            last_failure: None,
            last_failure_cause: None,
        });
        match probe {
            Ok(()) => {
                next.alive = true;
                next.consecutive_failures = 0;
                next.first_success.get_or_insert(at);
                next.last_success = Some(at);
            }
            Err(cause) => {
                next.alive = false;
                next.consecutive_failures = next.consecutive_failures.saturating_add(1);
                next.last_failure = Some(at);
                next.last_failure_cause = Some(cause);
            }
        }
        next
    }
}

/// One changed health result, for the instance's task `task` (a result for an older
/// incarnation, or an instance gone since, is ignored when applied).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthUpdate {
    pub instance: InstanceId,
    pub task: TaskId,
    pub check_index: u32,
    pub result: HealthResult,
}

/// The last result of a Mesos check (`check`, reported only): Marathon's `checkResult`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckResult {
    Http { status_code: Option<u32> },
    Tcp { succeeded: Option<bool> },
    Command { exit_code: Option<i32> },
}

/// The response that made an instance ready, kept when the check asks to preserve it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// An instance's health over all its checks: `Some(false)` when any check fails, `Some(true)`
/// when every one of `checks` has passed last, `None` while some are unknown (or none exist).
pub fn instance_health(instance: &Instance, checks: usize) -> Option<bool> {
    if checks == 0 {
        return None;
    }
    let mut known = 0;
    for (index, result) in &instance.health {
        if (*index as usize) < checks {
            if !result.alive {
                return Some(false);
            }
            known += 1;
        }
    }
    (known == checks).then_some(true)
}

impl State {
    /// The health checks of the app version an instance runs (the app's current ones when
    /// that version is no longer stored; none when the app is gone).
    pub fn health_checks_of(&self, instance: &Instance) -> &[HealthCheck] {
        self.app_version(&instance.app, instance.app_version)
            .map(|spec| spec.health_checks.as_slice())
            .or_else(|| {
                self.app(&instance.app)
                    .map(|a| a.spec.health_checks.as_slice())
            })
            .unwrap_or(&[])
    }

    /// Whether an instance counts as healthy: running, and when its version has health checks,
    /// every one of them passed last (Marathon's `consideredHealthy`).
    pub fn considered_healthy(&self, instance: &Instance) -> bool {
        if instance.condition() != super::model::Condition::Running {
            return false;
        }
        let checks = self.health_checks_of(instance).len();
        checks == 0 || instance_health(instance, checks) == Some(true)
    }

    pub(super) fn record_health(
        &mut self,
        updates: &[HealthUpdate],
        applied: &mut Applied,
    ) -> Response {
        let mut recorded = 0;
        for update in updates {
            if self.set_health(update, applied) {
                recorded += 1;
            }
        }
        Ok(Outcome::HealthRecorded { recorded })
    }

    /// Applies one result if its instance still runs that task; true when something changed.
    fn set_health(&mut self, update: &HealthUpdate, applied: &mut Applied) -> bool {
        let Some(instance) = self.instances.get(&update.instance) else {
            return false;
        };
        if instance.task_id() != update.task {
            return false;
        }
        let checks = self.health_checks_of(instance);
        let Some(check) = checks.get(update.check_index as usize).cloned() else {
            return false;
        };
        let count = checks.len();
        let previous = instance.health.get(&update.check_index);
        if previous == Some(&update.result) {
            return false;
        }
        let previous = previous.cloned();
        let before = instance_health(instance, count);
        let id = update.instance.clone();
        let Some(instance) = self.instance_mut(&id) else {
            return false;
        };
        instance
            .health
            .insert(update.check_index, update.result.clone());
        instance.revision += 1;
        let after = instance_health(instance, count);
        let snapshot = instance.clone();
        applied.touched.push(RowKey::Instance(id.clone()));
        // A refreshed `lastSuccess` is no news: it would only crowd the event history.
        let news = previous.as_ref().is_none_or(|p| {
            p.alive != update.result.alive
                || update.result.consecutive_failures > p.consecutive_failures
        });
        if news {
            applied.events.push(Event::HealthChecked {
                instance: id.clone(),
                app: snapshot.app.clone(),
                app_version: snapshot.app_version,
                check: Box::new(check),
                previous,
                result: update.result.clone(),
            });
        }
        if before != after {
            applied.events.push(Event::InstanceHealthChanged {
                instance: id,
                app: snapshot.app,
                app_version: snapshot.app_version,
                healthy: after,
            });
        }
        true
    }

    /// The health and check result a task status carries (Mesos-run checks): health goes to the
    /// instance's only (Mesos) health check, index 0.
    pub(super) fn record_reported_health(
        &mut self,
        time: Timestamp,
        report: &StatusReport,
        applied: &mut Applied,
    ) {
        let Some((id, _)) = report.task_id.instance() else {
            return;
        };
        if let Some(check) = &report.check {
            let changed = self
                .instances
                .get(&id)
                .is_some_and(|i| i.check_result.as_ref() != Some(check));
            if changed && let Some(instance) = self.instance_mut(&id) {
                instance.check_result = Some(check.clone());
                instance.revision += 1;
                applied.touched.push(RowKey::Instance(id.clone()));
            }
        }
        let Some(healthy) = report.healthy else {
            return;
        };
        let Some(instance) = self.instances.get(&id) else {
            return;
        };
        let previous = instance.health.get(&0);
        // Mesos repeats `healthy` on every later status of the task: only news counts.
        if previous.is_some_and(|p| p.alive == healthy) {
            return;
        }
        let probe = if healthy {
            Ok(())
        } else {
            Err(report
                .message
                .clone()
                .unwrap_or_else(|| "the agent's health check failed".to_string()))
        };
        let update = HealthUpdate {
            instance: id,
            task: report.task_id.clone(),
            check_index: 0,
            result: HealthResult::after(previous, time, probe),
        };
        self.set_health(&update, applied);
    }

    /// A leader verdict: the instance failed its health checks too often; it is decommissioned
    /// (its task killed, and replaced while its app wants it), and the failure counts towards the
    /// app's launch backoff, as in Marathon. Ignored when the instance no longer runs `task`.
    pub(super) fn kill_unhealthy(
        &mut self,
        time: Timestamp,
        id: &InstanceId,
        task: &TaskId,
        reason: &str,
        applied: &mut Applied,
    ) -> Response {
        let Some(instance) = self.instance(id).cloned() else {
            return Ok(Outcome::UnhealthyKilled { killed: false });
        };
        if instance.task_id() != *task || instance.goal != Goal::Running {
            return Ok(Outcome::UnhealthyKilled { killed: false });
        }
        let report = StatusReport {
            task_id: task.clone(),
            agent: instance.agent.clone(),
            condition: super::model::Condition::Killed,
            status_uuid: None,
            message: Some(reason.to_string()),
            reason: None,
            healthy: Some(false),
            check: None,
        };
        let app: PathId = instance.app.clone();
        let (app_version, host, agent) = (
            instance.app_version,
            instance.hostname.clone(),
            instance.agent.clone(),
        );
        self.record_failure(time, instance, &report, applied);
        applied.events.push(Event::UnhealthyInstanceKilled {
            instance: id.clone(),
            task: task.clone(),
            app,
            app_version,
            reason: reason.to_string(),
            host,
            agent,
        });
        self.change_instance(id, applied, |i| i.goal = Goal::Decommissioned);
        Ok(Outcome::UnhealthyKilled { killed: true })
    }

    /// The readiness check passed: the instance counts towards its deployment once healthy.
    pub(super) fn mark_ready(
        &mut self,
        id: &InstanceId,
        task: &TaskId,
        response: Option<&ReadinessResponse>,
        applied: &mut Applied,
    ) -> Response {
        let ready = self
            .instances
            .get(id)
            .is_some_and(|i| i.task_id() == *task && !i.ready);
        if ready {
            self.change_instance(id, applied, |i| {
                i.ready = true;
                i.readiness_response = response.cloned();
            });
        }
        Ok(Outcome::MarkedReady { changed: ready })
    }
}

#[cfg(test)]
mod tests;
