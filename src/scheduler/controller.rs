//! What the leader should do now, as a pure function of the replicated state and the time:
//! which instances to launch, which to decommission, and which deployment steps are done.
//! Level-triggered: it looks only at the committed state, so a new leader picks up exactly where
//! the last one was, and an instance already right is never touched again.
//!
//! Per app, by the deployment action driving it (Marathon's DeploymentActor, §4.3):
//! - none, StartApplication or ScaleApplication: converge the app's running instances to
//!   `instances` (launch the shortfall, decommission the excess by `killSelection`);
//! - RestartApplication: the rolling replacement of instances older than the app's last
//!   configuration change, within `minimumHealthCapacity` and `maximumOverCapacity`;
//! - an app with an action in a later step waits (nothing launched or killed) until its step;
//! - StopApplication: the app is gone and its instances decommissioned; done when none remain.
//!
//! Unreachable instances follow the app's `unreachableStrategy`: past `inactiveAfterSeconds`
//! they stop counting as running (so a replacement is launched) and are marked inactive; past
//! `expungeAfterSeconds` they are expunged (a task that reports again is then killed).
//!
//! Launches obey the app's backoff after failures (`backoffSeconds × backoffFactor^(n−1)`,
//! capped by `maxLaunchDelaySeconds`).

use super::placement::Want;
use crate::state::State;
use crate::state::app::{AppDefinition, KillSelection};
use crate::state::ids::{DeploymentId, InstanceId};
use crate::state::model::{AppFailures, AppRecord, Condition, DeploymentAction, Goal, Instance};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::unreachable::{Unreachability, unreachability};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Decisions {
    /// Instances to launch, per app, in app order.
    pub wants: Vec<Want>,
    /// Instances to decommission (their tasks are then killed).
    pub decommission: Vec<InstanceId>,
    /// Deployment steps whose every action is done: (deployment, step index).
    pub advance: Vec<(DeploymentId, usize)>,
    /// Apps that would launch this many instances but are backed off after failures, with the
    /// time they may again.
    pub delayed: Vec<(PathId, u32, Timestamp)>,
    /// Unreachable instances past their app's `inactiveAfterSeconds`, to be marked inactive
    /// (they are already replaced: they no longer count as running).
    pub inactive: Vec<InstanceId>,
    /// Unreachable instances past their app's `expungeAfterSeconds`, to be expunged.
    pub expunge: Vec<InstanceId>,
}

/// The launch delay after `failures`, or `None` once it has expired (as Marathon, a delay
/// is forgotten when no failure came for the delay plus `maxLaunchDelaySeconds`).
pub fn launch_delay(
    app: &AppDefinition,
    failures: &AppFailures,
    now: Timestamp,
) -> Option<Timestamp> {
    let cap = app.max_launch_delay_seconds as f64;
    let exponent = failures.consecutive.saturating_sub(1).min(1_000) as i32;
    let delay = (app.backoff_seconds as f64 * app.backoff_factor.powi(exponent)).min(cap);
    let until = failures.last_at.millis() + (delay * 1000.0) as i64;
    let forgotten = until + (cap * 1000.0) as i64;
    (now.millis() < forgotten && now.millis() < until).then_some(Timestamp(until))
}

/// Whether an instance counts as healthy for a deployment: running and, when its app version
/// has health checks, passing all of them as last committed (Marathon's `consideredHealthy`).
fn healthy(state: &State, i: &Instance) -> bool {
    state.considered_healthy(i)
}

/// Instances that still hold resources or may come back: decommissioned ones not yet ended.
fn lingering(instances: &[&Instance]) -> bool {
    instances.iter().any(|i| i.goal != Goal::Running)
}

/// The kill order among `candidates`: not running first (they serve nothing), then by the
/// app's `killSelection`.
fn kill_order<'a>(
    state: &State,
    mut candidates: Vec<&'a Instance>,
    selection: KillSelection,
) -> Vec<&'a Instance> {
    candidates.sort_by(|a, b| (a.provisioned_at, &a.id).cmp(&(b.provisioned_at, &b.id)));
    if selection == KillSelection::YoungestFirst {
        candidates.reverse();
    }
    candidates.sort_by_cached_key(|i| healthy(state, i));
    candidates
}

struct AppView<'a> {
    state: &'a State,
    record: &'a AppRecord,
    /// Instances meant to run (goal Running) and not replaced for being unreachable too long.
    active: Vec<&'a Instance>,
    all: Vec<&'a Instance>,
}

impl<'a> AppView<'a> {
    fn new(
        state: &'a State,
        record: &'a AppRecord,
        all: Vec<&'a Instance>,
        now: Timestamp,
    ) -> AppView<'a> {
        let active = all
            .iter()
            .copied()
            .filter(|i| i.goal == Goal::Running)
            .filter(|i| !unreachability(i, &record.spec, now).replaced())
            .collect();
        AppView {
            state,
            record,
            active,
            all,
        }
    }
}

/// What the deployments in progress ask of each app: the action of the step that drives it,
/// or that it waits for a later step. Built once per decision, since a group deployment can
/// hold thousands of actions in one step (looking each app up in it made `decide` quadratic).
#[derive(Default)]
struct DeploymentRoles<'a> {
    driving: HashMap<&'a PathId, &'a DeploymentAction>,
    /// Apps with an action in a later step of a deployment and none in its current step.
    waiting: HashSet<&'a PathId>,
}

impl<'a> DeploymentRoles<'a> {
    fn of(state: &'a State) -> DeploymentRoles<'a> {
        let mut roles = DeploymentRoles::default();
        for d in state.deployments() {
            let Some(step) = d.steps.get(d.current_step) else {
                continue;
            };
            let current: HashMap<&PathId, &DeploymentAction> =
                step.actions.iter().map(|a| (a.app(), a)).collect();
            for later in d.steps.iter().skip(d.current_step + 1) {
                for a in &later.actions {
                    if !current.contains_key(a.app()) {
                        roles.waiting.insert(a.app());
                    }
                }
            }
            // As with one deployment after another: the last one driving an app wins.
            roles.driving.extend(current);
        }
        roles
    }
}

pub fn decide(state: &State, now: Timestamp) -> Decisions {
    let mut decisions = Decisions::default();
    let roles = DeploymentRoles::of(state);
    let mut by_app: BTreeMap<&PathId, Vec<&Instance>> = BTreeMap::new();
    for i in state.instances() {
        by_app.entry(&i.app).or_default().push(i);
    }
    for record in state.apps() {
        let id = &record.spec.id;
        let all = by_app.remove(id).unwrap_or_default();
        for i in &all {
            match unreachability(i, &record.spec, now) {
                Unreachability::Expired => decisions.expunge.push(i.id.clone()),
                Unreachability::Inactive if i.condition() == Condition::Unreachable => {
                    decisions.inactive.push(i.id.clone())
                }
                _ => {}
            }
        }
        let view = AppView::new(state, record, all, now);
        let driving = roles.driving.get(id).copied();
        if roles.waiting.contains(id) && driving.is_none() {
            continue;
        }
        let (launch, kill) = match driving {
            Some(DeploymentAction::RestartApplication { .. }) => rolling(&view),
            _ => converge(&view),
        };
        decisions
            .decommission
            .extend(kill.into_iter().map(|i| i.id.clone()));
        if launch > 0 {
            match state
                .app_failures(id)
                .and_then(|f| launch_delay(&record.spec, f, now))
            {
                Some(until) => decisions.delayed.push((id.clone(), launch, until)),
                None => decisions.wants.push(Want {
                    app: Arc::clone(&record.spec),
                    count: launch,
                }),
            }
        }
    }
    // Instances of apps that no longer exist and are somehow still meant to run.
    for (_, orphans) in by_app {
        decisions.decommission.extend(
            orphans
                .into_iter()
                .filter(|i| i.goal == Goal::Running)
                .map(|i| i.id.clone()),
        );
    }
    for d in state.deployments() {
        let Some(step) = d.steps.get(d.current_step) else {
            continue;
        };
        if step.actions.iter().all(|a| action_done(state, a, now)) {
            decisions.advance.push((d.id.clone(), d.current_step));
        }
    }
    decisions
}

/// Converges the running instances to `instances`: (how many to launch, which to kill).
fn converge<'a>(view: &AppView<'a>) -> (u32, Vec<&'a Instance>) {
    let target = view.record.spec.instances as usize;
    let active = view.active.len();
    if active < target {
        return ((target - active) as u32, Vec::new());
    }
    let excess = active - target;
    if excess == 0 {
        return (0, Vec::new());
    }
    let order = kill_order(
        view.state,
        view.active.clone(),
        view.record.spec.kill_selection,
    );
    (0, order.into_iter().take(excess).collect())
}

/// Whether an instance runs the app's current configuration.
fn current(view: &AppView<'_>, i: &Instance) -> bool {
    i.app_version >= view.record.version_info.last_config_change_at
}

/// Whether an instance counts towards a deployment: healthy and, when it runs the current
/// configuration of an app with a readiness check, ready (Marathon checks readiness only on
/// the instances a deployment starts; older ones are judged by health alone).
fn counts(view: &AppView<'_>, i: &Instance) -> bool {
    healthy(view.state, i)
        && (i.ready || view.record.spec.readiness_checks.is_empty() || !current(view, i))
}

/// The rolling replacement (Marathon's TaskReplaceActor, level-triggered): kill old instances
/// while more than `minHealthy` are healthy, launch new ones up to `maxCapacity`.
fn rolling<'a>(view: &AppView<'a>) -> (u32, Vec<&'a Instance>) {
    let spec = &view.record.spec;
    let n = spec.instances as usize;
    let strategy = &spec.upgrade_strategy;
    let min_healthy = (n as f64 * strategy.minimum_health_capacity).ceil() as usize;
    let mut max_capacity = (n as f64 * (1.0 + strategy.maximum_over_capacity)).floor() as usize;
    let (new, old): (Vec<&Instance>, Vec<&Instance>) =
        view.active.iter().copied().partition(|i| current(view, i));
    let healthy_now = view.active.iter().filter(|i| counts(view, i)).count();
    if min_healthy == max_capacity && max_capacity <= healthy_now {
        // No room to start a new instance before killing an old one: one extra, for progress.
        max_capacity += 1;
    }
    let mut kill: Vec<&Instance> = Vec::new();
    // Surplus new instances (the app was also scaled down) go first.
    if new.len() > n {
        kill.extend(
            kill_order(view.state, new.clone(), spec.kill_selection)
                .into_iter()
                .take(new.len() - n),
        );
    }
    let killable = healthy_now.saturating_sub(min_healthy);
    let old_order = kill_order(view.state, old.clone(), spec.kill_selection);
    // Unhealthy old instances serve nothing: they may always go; healthy ones within budget.
    let mut budget = killable;
    for i in old_order {
        if !counts(view, i) {
            kill.push(i);
        } else if budget > 0 {
            budget -= 1;
            kill.push(i);
        }
    }
    let old_left = old.len() - kill.iter().filter(|i| !current(view, i)).count();
    let new_kept = new.len().min(n);
    let room = max_capacity.saturating_sub(old_left + new_kept);
    let launch = n.saturating_sub(new_kept).min(room);
    (launch as u32, kill)
}

fn action_done(state: &State, action: &DeploymentAction, now: Timestamp) -> bool {
    let app = action.app();
    let instances: Vec<&Instance> = state.instances_of(app).collect();
    match action {
        DeploymentAction::StartApplication { .. } => true,
        DeploymentAction::StopApplication { .. } => instances.is_empty(),
        DeploymentAction::ScaleApplication { .. } | DeploymentAction::RestartApplication { .. } => {
            let Some(record) = state.app(app) else {
                return true;
            };
            let view = AppView::new(state, record, instances.clone(), now);
            let n = record.spec.instances as usize;
            // A restart is done when every instance runs the new configuration; a scale only
            // counts (instances left over from a cancelled restart may stay as they are).
            let restart = matches!(action, DeploymentAction::RestartApplication { .. });
            view.active.len() == n
                && view
                    .active
                    .iter()
                    .all(|i| counts(&view, i) && (!restart || current(&view, i)))
                && !lingering(&view.all)
        }
    }
}

#[cfg(test)]
mod tests;
