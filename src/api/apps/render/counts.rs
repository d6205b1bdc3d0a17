//! Marathon's task counts of an app (`tasksStaged`, `tasksRunning`, `tasksHealthy`,
//! `tasksUnhealthy`), counted in one pass over its instances.

use crate::state::State;
use crate::state::health::instance_health;
use crate::state::model::{AppRecord, Condition, Instance};
use crate::state::time::Timestamp;

/// Marathon's task counts of an app.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub staged: u32,
    pub running: u32,
    /// Tasks whose every health check passed last.
    pub healthy: u32,
    /// Tasks with a failing health check.
    pub unhealthy: u32,
}

pub fn task_counts(record: &AppRecord, state: &State) -> TaskCounts {
    count_tasks(state, state.instances_of(&record.spec.id))
}

/// The counts over `instances`, all of one app.
pub(super) fn count_tasks<'a>(
    state: &State,
    instances: impl IntoIterator<Item = &'a Instance>,
) -> TaskCounts {
    let mut counts = TaskCounts::default();
    // How many checks the version an instance runs has: one lookup per run of instances of
    // the same version, not one per instance.
    let mut checks: Option<(Timestamp, usize)> = None;
    for instance in instances {
        match instance.condition() {
            Condition::Provisioned | Condition::Staging | Condition::Starting => counts.staged += 1,
            Condition::Running => counts.running += 1,
            _ => {}
        }
        let n = match checks {
            Some((version, n)) if version == instance.app_version => n,
            _ => {
                let n = state.health_checks_of(instance).len();
                checks = Some((instance.app_version, n));
                n
            }
        };
        // Only tasks with health results count (Marathon: an app without checks is 0/0).
        match instance_health(instance, n) {
            Some(true) => counts.healthy += 1,
            Some(false) => counts.unhealthy += 1,
            None => {}
        }
    }
    counts
}
