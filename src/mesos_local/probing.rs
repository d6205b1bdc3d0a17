//! The agents' one scheduler of health checks and checks: every due probe waits in one
//! deadline-ordered queue of the master's, runs off the loop (at most [`MAX_PROBES`] at once) and
//! reports back; the master applies the verdicts of `checks` (status updates with `healthy` or
//! `check_status`, and kills).

use super::checks::{self, HealthState, Observation, Probe, ProbeSpec, Verdict};
use super::master::{DEFAULT_KILL_GRACE, Input, Master};
use super::probe::{self, Target};
use super::updates::Change;
use crate::mesos::{CheckStatusInfo, FrameworkId, Reason, TaskId, TaskState};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Probes running at once across all agents: each may be a shell, and the machine is shared.
pub const MAX_PROBES: usize = 32;
/// Due probes started per turn of the master's loop, so calls interleave.
const PROBE_BATCH: usize = 256;

/// Which of a task's two probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Which {
    Health,
    Check,
}

/// A due probe; `run` tells this launch of the task from an earlier one with the same id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ProbeKey {
    pub framework: FrameworkId,
    pub task: TaskId,
    pub run: u64,
    pub which: Which,
}

/// A running task's probes and what they remember.
pub(super) struct TaskProbes {
    pub run: u64,
    pub target: Arc<Target>,
    pub health: Option<(ProbeSpec, HealthState)>,
    pub check: Option<ProbeSpec>,
}

impl Master {
    /// Starts the probes of a task that just turned RUNNING; each first runs after its delay.
    /// The specs were validated at launch.
    pub(super) fn start_probes(
        &mut self,
        framework: &FrameworkId,
        task_id: &TaskId,
        target: Target,
    ) {
        self.probe_runs += 1;
        let run = self.probe_runs;
        let now = Instant::now();
        let Some(task) = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.tasks.get_mut(task_id))
        else {
            return;
        };
        let health = task
            .info
            .health_check
            .as_ref()
            .and_then(|h| checks::health_spec(h).ok())
            .map(|(spec, policy)| (spec, HealthState::new(policy, now)));
        let check = task
            .info
            .check
            .as_ref()
            .and_then(|c| checks::check_spec(c).ok());
        if health.is_none() && check.is_none() {
            return;
        }
        let mut due = Vec::new();
        if let Some((spec, _)) = &health {
            due.push((now + spec.delay, Which::Health));
        }
        if let Some(spec) = &check {
            due.push((now + spec.delay, Which::Check));
        }
        task.probes = Some(Box::new(TaskProbes {
            run,
            target: Arc::new(target),
            health,
            check,
        }));
        for (at, which) in due {
            let key = ProbeKey {
                framework: framework.clone(),
                task: task_id.clone(),
                run,
                which,
            };
            self.schedule_probe(at, key);
        }
    }

    fn schedule_probe(&mut self, at: Instant, key: ProbeKey) {
        self.probe_seq += 1;
        self.probe_queue.insert((at, self.probe_seq), key);
    }

    /// When the loop should next call [`Master::run_probes`].
    pub(super) fn next_probe(&self) -> Option<Instant> {
        self.probe_queue.keys().next().map(|(at, _)| *at)
    }

    /// Starts the probes that are due, of tasks still RUNNING.
    pub(super) fn run_probes(&mut self) {
        let now = Instant::now();
        for _ in 0..PROBE_BATCH {
            let Some(entry) = self.probe_queue.first_entry() else {
                return;
            };
            if entry.key().0 > now {
                return;
            }
            let key = entry.remove();
            let Some(task) = self
                .frameworks
                .get(&key.framework)
                .and_then(|f| f.tasks.get(&key.task))
            else {
                continue;
            };
            let Some(probes) = task.probes.as_ref().filter(|p| p.run == key.run) else {
                continue;
            };
            if task.state != TaskState::Running {
                continue;
            }
            let spec = match key.which {
                Which::Health => probes.health.as_ref().map(|(s, _)| s),
                Which::Check => probes.check.as_ref(),
            };
            let Some(spec) = spec.cloned() else {
                continue;
            };
            let target = probes.target.clone();
            let (slots, inputs) = (self.probe_slots.clone(), self.inputs.clone());
            let cancel = self.cancel.clone();
            self.tracker.spawn(async move {
                let probing = async {
                    let _slot = slots.acquire_owned().await.ok()?;
                    Some(probe::run(&spec.probe, &target, spec.timeout).await)
                };
                let (observation, detail) = tokio::select! {
                    r = probing => match r {
                        Some(r) => r,
                        None => return,
                    },
                    () = cancel.cancelled() => return,
                };
                let _ = inputs
                    .send(Input::Probed {
                        key,
                        observation,
                        detail,
                    })
                    .await;
            });
        }
    }

    /// A probe's result: the verdict is applied and the next probe scheduled.
    pub(super) fn probed(&mut self, key: ProbeKey, observation: Observation, detail: &str) {
        let now = Instant::now();
        let Some(task) = self
            .frameworks
            .get_mut(&key.framework)
            .and_then(|f| f.tasks.get_mut(&key.task))
        else {
            return;
        };
        if task.state != TaskState::Running {
            return;
        }
        let Some(probes) = task.probes.as_mut().filter(|p| p.run == key.run) else {
            return;
        };
        match key.which {
            Which::Health => {
                let Some((spec, state)) = probes.health.as_mut() else {
                    return;
                };
                let statuses = match &spec.probe {
                    Probe::Http { statuses, .. } => statuses.as_slice(),
                    _ => &[],
                };
                let healthy = observation.healthy(statuses);
                if !healthy {
                    tracing::info!(framework_id = %key.framework, task_id = %key.task, detail,
                        "health check failed");
                }
                let verdict = state.record(healthy, now);
                let next = now + spec.interval;
                match verdict {
                    Verdict::Quiet => self.schedule_probe(next, key),
                    Verdict::Report { healthy } => {
                        self.report_health(&key.framework, &key.task, healthy);
                        self.schedule_probe(next, key);
                    }
                    Verdict::Kill => self.kill_unhealthy(&key.framework, &key.task),
                }
            }
            Which::Check => {
                let Some(spec) = probes.check.as_ref() else {
                    return;
                };
                let next = now + spec.interval;
                self.report_check(&key.framework, &key.task, observation.check_status());
                self.schedule_probe(next, key);
            }
        }
    }

    /// A TASK_RUNNING update with `healthy` and REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.
    pub(super) fn report_health(&mut self, framework: &FrameworkId, task: &TaskId, healthy: bool) {
        tracing::info!(framework_id = %framework, task_id = %task, healthy, "task health changed");
        self.report(
            framework,
            task,
            Change {
                healthy: Some(healthy),
                reason: Some(Reason::TASK_HEALTH_CHECK_STATUS_UPDATED),
                ..Change::new(TaskState::Running)
            },
        );
    }

    /// A check's result; a TASK_RUNNING update with REASON_TASK_CHECK_STATUS_UPDATED when it
    /// differs from the last one.
    pub(super) fn report_check(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        status: CheckStatusInfo,
    ) {
        let Some(t) = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.tasks.get_mut(task))
        else {
            return;
        };
        if t.check_status.as_ref() == Some(&status) {
            return;
        }
        t.check_status = Some(status);
        self.report(
            framework,
            task,
            Change {
                reason: Some(Reason::TASK_CHECK_STATUS_UPDATED),
                ..Change::new(TaskState::Running)
            },
        );
    }

    /// `consecutive_failures` in a row: the executor reports the task unhealthy and kills it with
    /// its kill policy's grace period; its terminal update says `healthy: false`.
    fn kill_unhealthy(&mut self, framework: &FrameworkId, task: &TaskId) {
        tracing::warn!(framework_id = %framework, task_id = %task,
            "health check failed too many times in a row: killing the task");
        self.report_health(framework, task, false);
        let Some(t) = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.tasks.get_mut(task))
        else {
            return;
        };
        t.health_killed = true;
        let grace = t
            .info
            .kill_policy
            .and_then(|k| k.grace_period)
            .map_or(DEFAULT_KILL_GRACE, |g| {
                Duration::from_nanos(g.nanoseconds.max(0) as u64)
            });
        self.kill_task(framework, task, grace);
    }

    /// A simulated task's probes all succeed, one run delay after it turned RUNNING.
    pub(super) fn simulated_probes_pass(&mut self, framework: &FrameworkId, task: &TaskId) {
        let Some(t) = self
            .frameworks
            .get(framework)
            .and_then(|f| f.tasks.get(task))
        else {
            return;
        };
        if t.state != TaskState::Running {
            return;
        }
        let check = t
            .info
            .check
            .as_ref()
            .and_then(|c| checks::check_spec(c).ok())
            .map(|spec| Observation::success(&spec.probe).check_status());
        let health = t.info.health_check.is_some();
        if health {
            self.report_health(framework, task, true);
        }
        if let Some(status) = check {
            self.report_check(framework, task, status);
        }
    }
}
