//! Unit tests of the session's pure parts.

use super::creates_demand;
use super::house::{OfferFlow, RECONCILE_CHUNK, offer_flow, reconcile_chunks};
use super::offers::{SHORT_REFUSAL, accept_refusal};
use super::{SUBSCRIBED_DECLINED_LONG, SUBSCRIBED_SUPPRESSED};
use crate::mesos::ReconcileTask;
use crate::state::ids::{InstanceId, TaskId};
use crate::state::model::{Condition, Instance, StatusReport};
use crate::state::path::PathId;
use crate::state::time::Timestamp;
use crate::state::{Command, State};
use std::sync::Arc;

#[test]
fn a_reconciliation_answer_that_repeats_the_state_is_not_committed() {
    use crate::state::app::{AppInput, parse_app};
    use crate::state::{Deploy, PutMode, Request, ids::DeploymentId};
    let mut state = State::default();
    let apply = |state: &mut State, index: u64, command: Command| {
        let request = Request::new(Timestamp(1_000 + index as i64), None, command);
        let (response, _) = state.apply((index, 0), &request);
        response.expect("command accepted");
    };
    let app = parse_app(br#"{"id": "/r", "cmd": "sleep 1"}"#, AppInput::Create).expect("app");
    let deploy = Deploy {
        id: DeploymentId("d1".into()),
        force: true,
    };
    let put = Command::PutApp {
        app: Arc::new(app),
        expected_revision: None,
        mode: PutMode::Upsert,
        deploy,
    };
    apply(&mut state, 1, put);
    let path = PathId::parse("/r", None).expect("path");
    let unknown = InstanceId::for_app(&path, uuid::Uuid::new_v4());
    let version = state.app(&path).expect("app").version;
    let id = InstanceId::for_app(&path, uuid::Uuid::new_v4());
    let instance = Instance::fixture(id.clone(), path, version);
    let task = instance.task_id();
    let provision = Command::ProvisionInstance {
        instance: Box::new(instance),
    };
    apply(&mut state, 2, provision);
    let answer = |condition| StatusReport::fixture(task.clone(), condition);
    assert!(
        !state.repeats_observation(&answer(Condition::Running)),
        "nothing observed yet: news"
    );
    let running = Command::RecordStatus {
        report: StatusReport {
            status_uuid: Some("u1".into()),
            ..answer(Condition::Running)
        },
    };
    apply(&mut state, 3, running);
    assert!(state.repeats_observation(&answer(Condition::Running)));
    assert!(!state.repeats_observation(&answer(Condition::Gone)));
    let other_task = TaskId(format!("{}x", task.0).into());
    assert!(!state.repeats_observation(&StatusReport::fixture(other_task, Condition::Running)));
    assert!(!state.repeats_observation(&StatusReport::fixture(
        TaskId(format!("{unknown}._app.1").into()),
        Condition::Running
    )));
}

#[test]
fn a_deployment_or_a_lost_instance_creates_demand_and_a_running_status_does_not() {
    use crate::state::app::{AppInput, parse_app};
    use crate::state::{Deploy, PutMode, Request, ids::DeploymentId};
    let mut state = State::default();
    let mut apply = |index: u64, command: Command| {
        let request = Request::new(Timestamp(1_000 + index as i64), None, command);
        let (response, applied) = state.apply((index, 0), &request);
        response.expect("command accepted");
        applied.events.iter().any(creates_demand)
    };
    let app = parse_app(br#"{"id": "/d", "cmd": "sleep 1"}"#, AppInput::Create).expect("app");
    let put = Command::PutApp {
        app: Arc::new(app),
        expected_revision: None,
        mode: PutMode::Upsert,
        deploy: Deploy {
            id: DeploymentId("d1".into()),
            force: true,
        },
    };
    assert!(apply(1, put), "a new app's deployment");
    let path = PathId::parse("/d", None).expect("path");
    let id = InstanceId::for_app(&path, uuid::Uuid::new_v4());
    let instance = Instance::fixture(id.clone(), path, Timestamp(1_001));
    let task = instance.task_id();
    let provision = Command::ProvisionInstance {
        instance: Box::new(instance),
    };
    assert!(!apply(2, provision), "an instance placed");
    let status = |uuid: &str, condition| Command::RecordStatus {
        report: StatusReport {
            status_uuid: Some(uuid.into()),
            ..StatusReport::fixture(task.clone(), condition)
        },
    };
    assert!(
        !apply(3, status("u1", Condition::Running)),
        "a task running"
    );
    assert!(apply(4, status("u2", Condition::Gone)), "a task gone");
}

#[test]
fn a_new_subscription_revives_offers_as_soon_as_instances_wait() {
    // After a re-subscription, whatever the last session declined for long.
    let at_subscription =
        |waiting| offer_flow(waiting, SUBSCRIBED_SUPPRESSED, SUBSCRIBED_DECLINED_LONG);
    assert_eq!(at_subscription(1), Some(OfferFlow::Revive));
    assert_eq!(at_subscription(0), Some(OfferFlow::Suppress));
    // Within a session: revive only when offers may be withheld, suppress once.
    assert_eq!(offer_flow(3, false, false), None);
    assert_eq!(offer_flow(3, true, false), Some(OfferFlow::Revive));
    assert_eq!(offer_flow(3, false, true), Some(OfferFlow::Revive));
    assert_eq!(offer_flow(0, true, false), None);
    assert_eq!(offer_flow(0, false, true), Some(OfferFlow::Suppress));
}

#[test]
fn an_accept_refuses_the_rest_of_its_offer_only_when_nothing_waits() {
    assert_eq!(accept_refusal(1), 0.0);
    assert_eq!(accept_refusal(100_000), 0.0);
    assert_eq!(accept_refusal(0), SHORT_REFUSAL);
}

#[test]
fn reconciliation_is_split_into_bounded_calls_that_name_every_task_once() {
    let task = |n: usize| ReconcileTask {
        task_id: crate::mesos::TaskId::new(format!("t{n}")),
        agent_id: None,
    };
    assert!(reconcile_chunks(Vec::new()).is_empty());
    let total = 2 * RECONCILE_CHUNK + 3;
    let chunks = reconcile_chunks((0..total).map(task).collect());
    let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![RECONCILE_CHUNK, RECONCILE_CHUNK, 3]);
    let ids: Vec<String> = chunks
        .iter()
        .flatten()
        .map(|t| t.task_id.value.clone())
        .collect();
    let want: Vec<String> = (0..total).map(|n| format!("t{n}")).collect();
    assert_eq!(ids, want);
}
