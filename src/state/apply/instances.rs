//! The instance commands: provision an instance, record a task's status, set an instance's goal.

use crate::state::command::{Outcome, Rejection, Response, StatusEffect};
use crate::state::events::Event;
use crate::state::ids::InstanceId;
use crate::state::model::{Goal, Instance, ObservedStatus, StatusReport};
use crate::state::rows::RowKey;
use crate::state::time::Timestamp;
use crate::state::{Applied, State};

impl State {
    pub(super) fn provision_instance(
        &mut self,
        time: Timestamp,
        instance: &Instance,
        applied: &mut Applied,
    ) -> Response {
        if !self.apps.contains_key(&instance.app) {
            return Err(Rejection::AppNotFound(instance.app.clone()));
        }
        if self.instances.contains_key(&instance.id) {
            return Err(Rejection::Invalid(format!(
                "instance {} already exists",
                instance.id
            )));
        }
        let record = Instance {
            observed: None,
            provisioned_at: time,
            revision: 1,
            ..instance.clone()
        };
        self.insert_instance(record.clone());
        applied.touched.push(RowKey::Instance(record.id.clone()));
        let id = record.id.clone();
        applied.events.push(Event::InstanceChanged {
            instance: Box::new(record),
        });
        Ok(Outcome::InstanceProvisioned { id })
    }

    pub(super) fn record_status(
        &mut self,
        time: Timestamp,
        report: &StatusReport,
        applied: &mut Applied,
    ) -> Response {
        let effect = |instance: Option<&InstanceId>, effect| {
            Ok(Outcome::Status {
                instance: instance.cloned(),
                effect,
            })
        };
        let Some((id, _)) = report.task_id.instance() else {
            return effect(None, StatusEffect::UnknownTask);
        };
        let Some(instance) = self.instances.get(&id) else {
            return effect(None, StatusEffect::UnknownTask);
        };
        if instance.task_id() != report.task_id {
            return effect(Some(&id), StatusEffect::Stale);
        }
        let previous = instance.observed.as_ref();
        let condition = previous.map_or(report.condition, |p| p.condition_after(report.condition));
        let duplicate = previous.is_some_and(|p| p.repeated_by(report));
        if duplicate {
            return effect(Some(&id), StatusEffect::Duplicate);
        }
        if report.condition.is_terminal() {
            let app = instance.app.clone();
            let mut last = Instance::clone(instance);
            last.observed = Some(ObservedStatus {
                condition: report.condition,
                task_id: report.task_id.clone(),
                status_uuid: report.status_uuid.clone(),
                message: report.message.clone(),
                reason: report.reason.clone(),
                healthy: report.healthy,
                since: time,
                updated_at: time,
            });
            if report.condition.is_failure() {
                self.record_failure(time, Instance::clone(instance), report, applied);
            }
            self.remove_instance(&id);
            applied.touched.push(RowKey::Instance(id.clone()));
            applied.events.push(Event::InstanceExpunged {
                id: id.clone(),
                app,
                condition: report.condition,
                last: Some(Box::new(last)),
            });
            return effect(Some(&id), StatusEffect::Expunged);
        }
        let since = match previous {
            Some(prev) if prev.condition == condition => prev.since,
            _ => time,
        };
        let observed = ObservedStatus {
            condition,
            updated_at: time,
            task_id: report.task_id.clone(),
            status_uuid: report.status_uuid.clone(),
            message: report.message.clone(),
            reason: report.reason.clone(),
            healthy: report.healthy,
            since,
        };
        let agent = report.agent.clone();
        self.change_instance(&id, applied, |i| {
            i.observed = Some(observed);
            if agent.is_some() {
                i.agent = agent;
            }
        });
        self.record_reported_health(time, report, applied);
        effect(Some(&id), StatusEffect::Recorded)
    }

    pub(super) fn set_instance_goal(
        &mut self,
        id: &InstanceId,
        goal: Goal,
        applied: &mut Applied,
    ) -> Response {
        let Some(instance) = self.instances.get(id) else {
            return Err(Rejection::Invalid(format!("instance {id} does not exist")));
        };
        if instance.goal != goal {
            self.change_instance(id, applied, |i| i.goal = goal);
        }
        Ok(Outcome::InstanceGoal {
            id: id.clone(),
            goal,
        })
    }

    /// Changes an instance that exists, bumps its revision and records the row and the event.
    pub(in crate::state) fn change_instance(
        &mut self,
        id: &InstanceId,
        applied: &mut Applied,
        change: impl FnOnce(&mut Instance),
    ) {
        let Some(instance) = self.instance_mut(id) else {
            return;
        };
        change(instance);
        instance.revision += 1;
        let record = instance.clone();
        applied.touched.push(RowKey::Instance(id.clone()));
        applied.events.push(Event::InstanceChanged {
            instance: Box::new(record),
        });
    }
}
