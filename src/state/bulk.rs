//! Bulk `PUT /v2/apps` in `apply`: several apps created or replaced by one command, as one
//! deployment whose steps run each app's actions side by side.

use super::app::AppDefinition;
use super::command::{Deploy, Outcome, Rejection, Response};
use super::ids::DeploymentId;
use super::model::DeploymentStep;
use super::path::PathId;
use super::time::Timestamp;
use super::{Applied, State};
use std::collections::BTreeSet;
use std::sync::Arc;

impl State {
    /// Every check passes for every app before anything changes; then each app is stored as
    /// a single put would, and one deployment carries all their steps (the first steps of all
    /// apps together, then the second ones).
    pub(super) fn put_apps(
        &mut self,
        time: Timestamp,
        apps: &[AppDefinition],
        expected_revisions: &[u64],
        deploy: &Deploy,
        applied: &mut Applied,
    ) -> Response {
        for (spec, expected) in apps.iter().zip(expected_revisions) {
            let actual = self.apps.get(&spec.id).map_or(0, |a| a.revision);
            if actual != *expected {
                return Err(Rejection::RevisionConflict {
                    id: spec.id.to_string(),
                    expected: *expected,
                    actual,
                });
            }
        }
        let mut ids: BTreeSet<&PathId> = BTreeSet::new();
        for spec in apps {
            if !ids.insert(&spec.id) {
                return Err(Rejection::Invalid(format!(
                    "App '{}' is given more than once",
                    spec.id
                )));
            }
        }
        let mut locks: Vec<DeploymentId> = Vec::new();
        for spec in apps {
            let id = &spec.id;
            if let Some(parent) = ids.iter().find(|other| other.is_ancestor_of(id)) {
                return Err(Rejection::Invalid(format!(
                    "Cannot create app {id} inside app {parent}: its parent must be a group"
                )));
            }
            if !self.apps.contains_key(id) {
                self.check_app_placement(id)?;
            }
            for lock in self.check_locks(id, deploy)? {
                if !locks.contains(&lock) {
                    locks.push(lock);
                }
            }
        }
        self.cancel_deployments(&locks, applied);
        let mut records = Vec::with_capacity(apps.len());
        let mut original = Vec::with_capacity(apps.len());
        let mut steps: Vec<DeploymentStep> = Vec::new();
        let mut version = time;
        for spec in apps {
            let (record, before, change) =
                self.put_app_inner(time, &Arc::new(spec.clone()), applied);
            version = version.max(record.version);
            for (i, step) in change
                .steps(&spec.id, spec.instances)
                .into_iter()
                .enumerate()
            {
                match steps.get_mut(i) {
                    Some(s) => s.actions.extend(step.actions),
                    None => steps.push(step),
                }
            }
            original.push((spec.id.clone(), before));
            records.push(record);
        }
        self.start_deployment(deploy, version, original, steps, applied);
        Ok(Outcome::Apps {
            apps: records,
            deployment: deploy.id.clone(),
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::app::{AppInput, parse_app};
    use super::super::command::{Command, Deploy, Outcome, PutMode, Rejection, Request};
    use super::super::events::Event;
    use super::super::ids::DeploymentId;
    use super::super::model::DeploymentAction;
    use super::*;

    fn app(id: &str, cmd: &str, instances: u32) -> AppDefinition {
        let body = format!(r#"{{"id": "{id}", "cmd": "{cmd}", "instances": {instances}}}"#);
        parse_app(body.as_bytes(), AppInput::Create).expect("valid app")
    }

    fn apply(state: &mut State, index: u64, command: Command) -> (Response, Vec<Event>) {
        let request = Request::new(Timestamp(1_000 * index as i64), None, command);
        let (response, applied) = state.apply((index, 0), &request);
        (response, applied.events)
    }

    fn deploy(id: &str, force: bool) -> Deploy {
        Deploy {
            id: DeploymentId(id.into()),
            force,
        }
    }

    #[test]
    fn a_bulk_put_creates_and_updates_apps_in_one_deployment() {
        let mut state = State::default();
        let put = Command::PutApp {
            app: Arc::new(app("/a", "old", 1)),
            expected_revision: None,
            mode: PutMode::Create,
            deploy: deploy("d0", false),
        };
        apply(&mut state, 1, put).0.expect("created");
        state.cancel_deployment(&DeploymentId("d0".into()), &mut Applied::default());
        let stale = Command::PutApps {
            apps: vec![app("/a", "new", 1), app("/g/b", "b", 2)],
            expected_revisions: vec![0, 0],
            deploy: deploy("d1", false),
        };
        let (response, events) = apply(&mut state, 2, stale);
        assert!(matches!(response, Err(Rejection::RevisionConflict { .. })));
        assert!(events.is_empty());
        let bulk = Command::PutApps {
            apps: vec![app("/a", "new", 1), app("/g/b", "b", 2)],
            expected_revisions: vec![1, 0],
            deploy: deploy("d1", false),
        };
        let (response, events) = apply(&mut state, 2, bulk);
        let Ok(Outcome::Apps {
            apps,
            deployment,
            version,
        }) = response
        else {
            panic!("unexpected {response:?}");
        };
        assert_eq!(deployment.0, "d1".into());
        assert_eq!(apps.len(), 2);
        assert_eq!(version, Timestamp(2_000));
        let d = state.deployment(&deployment).expect("one deployment");
        assert_eq!(d.affected_apps.len(), 2);
        // The restart of /a and the start of /g/b go side by side, then /g/b scales.
        let names: Vec<Vec<&str>> = d
            .steps
            .iter()
            .map(|s| s.actions.iter().map(DeploymentAction::name).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["RestartApplication", "StartApplication"],
                vec!["ScaleApplication"]
            ]
        );
        assert!(state.group(&PathId::parse("/g", None).unwrap()).is_some());
        let deployments_started = events
            .iter()
            .filter(|e| matches!(e, Event::DeploymentStarted { .. }))
            .count();
        assert_eq!(deployments_started, 1);
    }

    #[test]
    fn a_bulk_put_is_refused_whole() {
        let mut state = State::default();
        let put = Command::PutApp {
            app: Arc::new(app("/locked", "x", 1)),
            expected_revision: None,
            mode: PutMode::Create,
            deploy: deploy("d0", false),
        };
        apply(&mut state, 1, put).0.expect("created");
        let cases = [
            (vec![app("/x", "x", 1), app("/x", "y", 1)], "more than once"),
            (vec![app("/p", "x", 1), app("/p/q", "y", 1)], "inside app"),
            (vec![app("/free", "x", 1), app("/locked", "y", 1)], "locked"),
        ];
        for (i, (apps, why)) in cases.into_iter().enumerate() {
            let command = Command::PutApps {
                apps,
                expected_revisions: Vec::new(),
                deploy: deploy(&format!("d{}", i + 1), false),
            };
            let (response, events) = apply(&mut state, 2 + i as u64, command);
            let err = response.expect_err(why);
            match &err {
                Rejection::AppLocked { deployments, .. } => {
                    assert_eq!(deployments[0].0, "d0".into())
                }
                Rejection::Invalid(message) => assert!(message.contains(why), "{message}"),
                other => panic!("{why}: {other:?}"),
            }
            assert!(events.is_empty(), "{why}: nothing changed");
        }
        assert_eq!(state.app_count(), 1);
    }
}
