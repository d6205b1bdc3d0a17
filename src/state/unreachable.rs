//! Unreachable instances under their app's `unreachableStrategy`: how one stands at a given
//! time (pure, shared by `apply` and the leader's controller), and the commands that mark it
//! inactive or expunge it.

use super::app::{AppDefinition, UnreachableStrategy};
use super::command::{Outcome, Rejection, Response};
use super::events::Event;
use super::ids::InstanceId;
use super::model::{Condition, Instance};
use super::rows::RowKey;
use super::time::Timestamp;
use super::{Applied, State};

/// Where an instance stands under its app's unreachable strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachability {
    /// Not unreachable: the strategy does not apply.
    Reachable,
    /// Unreachable for less than `inactiveAfterSeconds`: still counted as running.
    Waiting,
    /// Unreachable for `inactiveAfterSeconds` or more: replaced, but kept should it come back.
    Inactive,
    /// Unreachable for `expungeAfterSeconds` or more (or the strategy is `disabled`): forgotten.
    Expired,
}

impl Unreachability {
    /// Whether the instance no longer counts as one of its app's running instances.
    pub fn replaced(self) -> bool {
        matches!(self, Unreachability::Inactive | Unreachability::Expired)
    }
}

/// How `instance` stands at `now`, its unreachability counted from when Mesos first reported it
/// unreachable. `disabled` replaces an unreachable instance at once (and forgets it).
pub fn unreachability(instance: &Instance, app: &AppDefinition, now: Timestamp) -> Unreachability {
    let Some(observed) = instance.observed.as_ref().filter(|o| {
        matches!(
            o.condition,
            Condition::Unreachable | Condition::UnreachableInactive
        )
    }) else {
        return Unreachability::Reachable;
    };
    let (inactive_after, expunge_after) = match app.unreachable_strategy {
        UnreachableStrategy::Disabled => return Unreachability::Expired,
        UnreachableStrategy::Enabled {
            inactive_after_seconds,
            expunge_after_seconds,
        } => (inactive_after_seconds, expunge_after_seconds),
    };
    let elapsed = now.millis().saturating_sub(observed.since.millis());
    let reached = |seconds: u64| elapsed >= (seconds.min(i64::MAX as u64 / 1000) * 1000) as i64;
    if reached(expunge_after) {
        Unreachability::Expired
    } else if reached(inactive_after) || observed.condition == Condition::UnreachableInactive {
        Unreachability::Inactive
    } else {
        Unreachability::Waiting
    }
}

impl State {
    /// Marks an unreachable instance inactive (keeping when it became unreachable) or expunges
    /// it. Refused when the instance is gone or reported in again since the leader decided.
    pub(super) fn expire_unreachable(
        &mut self,
        now: Timestamp,
        id: &InstanceId,
        expunge: bool,
        applied: &mut Applied,
    ) -> Response {
        let Some(instance) = self.instances.get(id) else {
            return Err(Rejection::Invalid(format!("instance {id} does not exist")));
        };
        let condition = instance.condition();
        if !matches!(
            condition,
            Condition::Unreachable | Condition::UnreachableInactive
        ) {
            return Err(Rejection::Invalid(format!(
                "instance {id} is {}, not unreachable",
                condition.as_str()
            )));
        }
        if expunge {
            let app = instance.app.clone();
            let last = Box::new(Instance::clone(instance));
            self.remove_instance(id);
            applied.touched.push(RowKey::Instance(id.clone()));
            applied.events.push(Event::InstanceExpunged {
                id: id.clone(),
                app,
                condition: Condition::UnreachableInactive,
                last: Some(last),
            });
        } else if condition == Condition::Unreachable {
            self.change_instance(id, applied, |i| {
                if let Some(observed) = i.observed.as_mut() {
                    observed.condition = Condition::UnreachableInactive;
                    observed.updated_at = now;
                }
            });
        }
        Ok(Outcome::UnreachableExpired {
            id: id.clone(),
            expunged: expunge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::command::{Command, Request, StatusEffect};
    use super::super::ids::{AgentId, TaskId};
    use super::super::model::StatusReport;
    use super::super::path::PathId;
    use super::*;
    use crate::state::app::{AppInput, parse_app};
    use crate::state::command::{Deploy, PutMode};
    use crate::state::ids::DeploymentId;

    struct Log {
        state: State,
        index: u64,
        events: Vec<Event>,
    }

    impl Log {
        fn apply(&mut self, time: i64, command: Command) -> Response {
            self.index += 1;
            let request = Request::new(Timestamp(time), None, command);
            let (response, applied) = self.state.apply((self.index, 0), &request);
            self.events = applied.events;
            response
        }

        fn status(&mut self, time: i64, id: &InstanceId, condition: Condition) -> Response {
            let report = StatusReport::fixture(TaskId(format!("{id}._app.1").into()), condition);
            self.apply(time, Command::RecordStatus { report })
        }
    }

    fn with_instance() -> (Log, InstanceId) {
        let mut log = Log {
            state: State::default(),
            index: 0,
            events: Vec::new(),
        };
        let body = br#"{"id": "/u", "cmd": "x", "unreachableStrategy": {"inactiveAfterSeconds": 5, "expungeAfterSeconds": 10}}"#;
        let app = parse_app(body, AppInput::Create).expect("valid app");
        let put = Command::PutApp {
            app: std::sync::Arc::new(app),
            expected_revision: None,
            mode: PutMode::Create,
            deploy: Deploy {
                id: DeploymentId("d".into()),
                force: true,
            },
        };
        log.apply(1_000, put).expect("app");
        let path = PathId::parse("/u", None).unwrap();
        let id = InstanceId::for_app(&path, uuid::Uuid::new_v4());
        let instance = Instance {
            agent: Some(AgentId("a".into())),
            hostname: Some("h".into()),
            ..Instance::fixture(id.clone(), path, Timestamp(1_000))
        };
        let provision = Command::ProvisionInstance {
            instance: Box::new(instance),
        };
        log.apply(2_000, provision).expect("provisioned");
        log.status(3_000, &id, Condition::Running).expect("running");
        (log, id)
    }

    #[test]
    fn the_strategy_counts_from_the_first_unreachable_report() {
        let (mut log, id) = with_instance();
        let app = log
            .state
            .app(&PathId::parse("/u", None).unwrap())
            .unwrap()
            .spec
            .clone();
        let at = |log: &Log, t: i64| {
            unreachability(log.state.instance(&id).unwrap(), &app, Timestamp(t))
        };
        assert_eq!(at(&log, 100_000), Unreachability::Reachable);
        log.status(10_000, &id, Condition::Unreachable)
            .expect("recorded");
        assert_eq!(at(&log, 14_999), Unreachability::Waiting);
        assert_eq!(at(&log, 15_000), Unreachability::Inactive);
        assert_eq!(at(&log, 20_000), Unreachability::Expired);
        assert!(!Unreachability::Waiting.replaced());
        assert!(Unreachability::Inactive.replaced());
    }

    #[test]
    fn marking_inactive_keeps_the_instance_and_expunging_forgets_it() {
        let (mut log, id) = with_instance();
        // Only an unreachable instance may be marked or expunged.
        assert!(matches!(
            log.apply(4_000, Command::ExpungeUnreachable { id: id.clone() }),
            Err(Rejection::Invalid(_))
        ));
        log.status(10_000, &id, Condition::Unreachable)
            .expect("recorded");
        log.apply(15_000, Command::MarkUnreachableInactive { id: id.clone() })
            .expect("marked");
        let observed = log.state.instance(&id).unwrap().observed.clone().unwrap();
        assert_eq!(observed.condition, Condition::UnreachableInactive);
        assert_eq!(observed.since, Timestamp(10_000), "the clock keeps running");
        assert_eq!(observed.updated_at, Timestamp(15_000));
        assert!(matches!(&log.events[..], [Event::InstanceChanged { .. }]));
        log.apply(20_000, Command::ExpungeUnreachable { id: id.clone() })
            .expect("expunged");
        assert!(log.state.instance(&id).is_none());
        assert!(matches!(
            &log.events[..],
            [Event::InstanceExpunged {
                condition: Condition::UnreachableInactive,
                ..
            }]
        ));
        // Its task reporting in again is an orphan's (the scheduler kills it).
        let back = log.status(21_000, &id, Condition::Running);
        assert!(matches!(
            back,
            Ok(Outcome::Status {
                effect: StatusEffect::UnknownTask,
                ..
            })
        ));
    }

    #[test]
    fn an_instance_back_in_time_is_not_expunged() {
        let (mut log, id) = with_instance();
        log.status(10_000, &id, Condition::Unreachable)
            .expect("recorded");
        log.status(12_000, &id, Condition::Running).expect("back");
        let expunge = log.apply(20_000, Command::ExpungeUnreachable { id: id.clone() });
        assert!(matches!(expunge, Err(Rejection::Invalid(m)) if m.contains("Running")));
        assert!(log.state.instance(&id).is_some());
    }
}
