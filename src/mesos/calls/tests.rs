//! Call shapes against the reference's JSON, in both directions.

use super::*;
use crate::mesos::framework::FrameworkCapability;
use crate::mesos::status::TaskState;
use crate::mesos::task::{CommandInfo, TaskInfo};
use crate::mesos::wire::DurationInfo;
use serde_json::{Value, json};

fn to_json(call: &Call) -> Value {
    serde_json::to_value(call).unwrap_or_else(|e| panic!("{e}"))
}

fn parse(wire: &Value) -> Call {
    Call::from_json(wire.to_string().as_bytes()).unwrap_or_else(|e| panic!("{wire}: {e}"))
}

const UUID_B64: &str = "o3kAIuerTGWVSdusmpqIbw==";

fn uuid() -> Base64Bytes {
    Base64Bytes::from_base64(UUID_B64).unwrap_or_else(|e| panic!("{e}"))
}

fn fid() -> FrameworkId {
    FrameworkId::new("F")
}

/// Every call type, as the reference writes it (numbers as the master re-emits them), parsed
/// by the master side and serialised back unchanged.
#[test]
fn every_reference_call_round_trips() {
    let cases = [
        json!({"type":"TEARDOWN","framework_id":{"value":"F"}}),
        json!({"type":"ACCEPT","framework_id":{"value":"F"},
         "accept":{"offer_ids":[{"value":"M-O12"},{"value":"M-O13"}],
           "operations":[{"type":"LAUNCH","launch":{"task_infos":[]}}],
           "filters":{"refuse_seconds":5.0}}}),
        json!({"type":"DECLINE","framework_id":{"value":"F"},
         "decline":{"offer_ids":[{"value":"M-O12"}],"filters":{"refuse_seconds":120.0}}}),
        json!({"type":"ACCEPT_INVERSE_OFFERS","framework_id":{"value":"F"},
         "accept_inverse_offers":{"inverse_offer_ids":[{"value":"M-O40"}],
           "filters":{"refuse_seconds":3600.0}}}),
        json!({"type":"DECLINE_INVERSE_OFFERS","framework_id":{"value":"F"},
         "decline_inverse_offers":{"inverse_offer_ids":[{"value":"M-O40"}]}}),
        json!({"type":"REVIVE","framework_id":{"value":"F"},"revive":{"roles":["apps"]}}),
        json!({"type":"SUPPRESS","framework_id":{"value":"F"},"suppress":{"roles":["apps/batch"]}}),
        json!({"type":"KILL","framework_id":{"value":"F"},
         "kill":{"task_id":{"value":"web.1"},"agent_id":{"value":"M-S3"},
                 "kill_policy":{"grace_period":{"nanoseconds":10000000000i64}}}}),
        json!({"type":"SHUTDOWN","framework_id":{"value":"F"},
         "shutdown":{"executor_id":{"value":"pod-1.executor"},"agent_id":{"value":"M-S3"}}}),
        json!({"type":"ACKNOWLEDGE","framework_id":{"value":"F"},
         "acknowledge":{"agent_id":{"value":"M-S3"},"task_id":{"value":"web.1"},
                        "uuid":"o3kAIuerTGWVSdusmpqIbw=="}}),
        json!({"type":"ACKNOWLEDGE_OPERATION_STATUS","framework_id":{"value":"F"},
         "acknowledge_operation_status":{"agent_id":{"value":"M-S3"},
           "resource_provider_id":{"value":"rp-1"},"uuid":"X7cYFf5DQ7Sx7l51akYQ1w==",
           "operation_id":{"value":"op-42"}}}),
        json!({"type":"RECONCILE","framework_id":{"value":"F"},
         "reconcile":{"tasks":[{"task_id":{"value":"web.1"},"agent_id":{"value":"M-S3"}}]}}),
        json!({"type":"RECONCILE_OPERATIONS","framework_id":{"value":"F"},
         "reconcile_operations":{"operations":[{"operation_id":{"value":"op-42"},
           "agent_id":{"value":"M-S3"}}]}}),
        json!({"type":"MESSAGE","framework_id":{"value":"F"},
         "message":{"agent_id":{"value":"M-S3"},"executor_id":{"value":"pod-1.executor"},
                    "data":"aGVsbG8="}}),
        json!({"type":"REQUEST","framework_id":{"value":"F"},
         "request":{"requests":[{"agent_id":{"value":"M-S3"},
           "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4.0}}]}]}}),
        json!({"type":"UPDATE_FRAMEWORK","framework_id":{"value":"F"},
         "update_framework":{"framework_info":{"id":{"value":"F"},"user":"svc",
           "name":"my-orchestrator","roles":["apps"],
           "capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}],
           "failover_timeout":604800.0}}}),
        json!({"type":"SUBSCRIBE","framework_id":{"value":"F"},
         "subscribe":{"framework_info":{"id":{"value":"F"},"user":"svc","name":"n"},
           "suppressed_roles":["apps/batch"]}}),
    ];
    for wire in cases {
        let call = parse(&wire);
        assert_eq!(Some(call.body.kind()), wire["type"].as_str());
        assert_eq!(to_json(&call), wire);
    }
}

#[test]
fn reference_subscribe_parses_ignoring_what_we_do_not_model() {
    let wire = json!({"type":"SUBSCRIBE",
     "framework_id":{"value":"5f3c-0000"},
     "subscribe":{
       "framework_info":{
         "id":{"value":"5f3c-0000"},
         "user":"svc","name":"my-orchestrator","principal":"my-orchestrator",
         "hostname":"sched-1.example","webui_url":"http://sched-1.example:8080",
         "failover_timeout":604800,"checkpoint":true,
         "roles":["apps","apps/batch"],
         "capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"},
           {"type":"TASK_KILLING_STATE"},{"type":"GPU_RESOURCES"},
           {"type":"RESERVATION_REFINEMENT"},{"type":"REGION_AWARE"}],
         "labels":{"labels":[{"key":"owner","value":"team-x"}]},
         "offer_filters":{"apps":{"min_allocatable_resources":{"quantities":[
            {"quantities":{"cpus":{"value":0.1},"mem":{"value":64}}}]}}}},
       "suppressed_roles":["apps/batch"],
       "offer_constraints":{"role_constraints":{}}}});
    let call = parse(&wire);
    let CallBody::Subscribe(s) = call.body else {
        panic!("not a subscribe: {call:?}");
    };
    let info = s.framework_info;
    assert_eq!(info.failover_timeout, Some(604800.0));
    assert_eq!(info.capabilities.len(), 6);
    assert!(info.has_capability(FrameworkCapability::RegionAware));
    assert_eq!(info.roles, ["apps", "apps/batch"]);
    assert_eq!(
        info.labels.as_ref().and_then(|l| l.get("owner")),
        Some("team-x")
    );
    assert_eq!(s.suppressed_roles, ["apps/batch"]);
}

/// The exact bytes-level shape of what baton's scheduler sends.
#[test]
fn calls_we_send_have_the_exact_shape() {
    let mut info = FrameworkInfo::new("root", "baton");
    info.failover_timeout = Some(604800.0);
    info.roles = vec!["*".into()];
    info.capabilities = vec![
        FrameworkCapability::PartitionAware,
        FrameworkCapability::MultiRole,
        FrameworkCapability::GpuResources,
        FrameworkCapability::RegionAware,
    ];
    assert_eq!(
        to_json(&Call::subscribe(info.clone())),
        json!({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"baton",
            "failover_timeout":604800.0,"roles":["*"],
            "capabilities":[{"type":"PARTITION_AWARE"},{"type":"MULTI_ROLE"},
              {"type":"GPU_RESOURCES"},{"type":"REGION_AWARE"}]}}})
    );
    info.id = Some(fid());
    let resubscribe = to_json(&Call::subscribe(info.clone()));
    assert_eq!(resubscribe["framework_id"], json!({"value":"F"}));
    assert_eq!(
        resubscribe["subscribe"]["framework_info"]["id"],
        json!({"value":"F"})
    );

    let task = TaskInfo::command(
        "/web",
        TaskId::new("web.1"),
        AgentId::new("M-S3"),
        vec![Resource::scalar("cpus", 0.5)],
        CommandInfo::shell("sleep 1000"),
    );
    let cases = [
        (
            Call::new(
                fid(),
                CallBody::Accept(Accept {
                    offer_ids: vec![OfferId::new("M-O12")],
                    operations: vec![Operation::launch(vec![task])],
                    filters: Some(Filters::refuse_seconds(5.0)),
                }),
            ),
            json!({"type":"ACCEPT","framework_id":{"value":"F"},
              "accept":{"offer_ids":[{"value":"M-O12"}],
                "operations":[{"type":"LAUNCH","launch":{"task_infos":[
                  {"name":"/web","task_id":{"value":"web.1"},"agent_id":{"value":"M-S3"},
                   "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}}],
                   "command":{"value":"sleep 1000","shell":true}}]}}],
                "filters":{"refuse_seconds":5.0}}}),
        ),
        (
            Call::new(
                fid(),
                CallBody::Decline(Decline {
                    offer_ids: vec![OfferId::new("M-O12")],
                    filters: Some(Filters::refuse_seconds(120.0)),
                }),
            ),
            json!({"type":"DECLINE","framework_id":{"value":"F"},
              "decline":{"offer_ids":[{"value":"M-O12"}],"filters":{"refuse_seconds":120.0}}}),
        ),
        (
            Call::new(
                fid(),
                CallBody::Kill(Kill {
                    task_id: TaskId::new("web.1"),
                    agent_id: Some(AgentId::new("M-S3")),
                    kill_policy: Some(KillPolicy {
                        grace_period: Some(DurationInfo::from_secs_f64(10.0)),
                    }),
                }),
            ),
            json!({"type":"KILL","framework_id":{"value":"F"},
              "kill":{"task_id":{"value":"web.1"},"agent_id":{"value":"M-S3"},
                      "kill_policy":{"grace_period":{"nanoseconds":10000000000i64}}}}),
        ),
        (
            Call::new(fid(), CallBody::Reconcile(Reconcile::default())),
            json!({"type":"RECONCILE","framework_id":{"value":"F"},"reconcile":{"tasks":[]}}),
        ),
        (
            Call::new(fid(), CallBody::Revive(RoleList::default())),
            json!({"type":"REVIVE","framework_id":{"value":"F"},"revive":{}}),
        ),
        (
            Call::new(
                fid(),
                CallBody::Suppress(RoleList {
                    roles: vec!["*".into()],
                }),
            ),
            json!({"type":"SUPPRESS","framework_id":{"value":"F"},"suppress":{"roles":["*"]}}),
        ),
        (
            Call::new(fid(), CallBody::Teardown),
            json!({"type":"TEARDOWN","framework_id":{"value":"F"}}),
        ),
        (
            Call::new(
                fid(),
                CallBody::UpdateFramework(UpdateFramework {
                    framework_info: FrameworkInfo::new("root", "baton"),
                    suppressed_roles: Vec::new(),
                }),
            ),
            json!({"type":"UPDATE_FRAMEWORK","framework_id":{"value":"F"},
              "update_framework":{"framework_info":{"user":"root","name":"baton",
                "id":{"value":"F"}}}}),
        ),
    ];
    for (call, wire) in cases {
        assert_eq!(to_json(&call), wire);
        assert_eq!(call.validate(), Ok(()), "{wire}");
    }
}

#[test]
fn acknowledge_only_what_carries_a_uuid() {
    let mut status = TaskStatus::new(TaskId::new("web.1"), TaskState::Running);
    assert_eq!(Acknowledge::for_status(&status), None);
    status.agent_id = Some(AgentId::new("M-S3"));
    status.uuid = Some(uuid());
    let ack = Acknowledge::for_status(&status).unwrap_or_else(|| panic!("no ack"));
    assert_eq!(
        to_json(&Call::new(fid(), CallBody::Acknowledge(ack))),
        json!({"type":"ACKNOWLEDGE","framework_id":{"value":"F"},
          "acknowledge":{"agent_id":{"value":"M-S3"},"task_id":{"value":"web.1"},
                         "uuid":UUID_B64}})
    );
}

/// What pymesos sends, which the master side must accept.
#[test]
fn pymesos_shapes_are_accepted() {
    let cases = [
        json!({"type":"REVIVE","framework_id":{"value":"F"}}),
        json!({"type":"SUPPRESS","framework_id":{"value":"F"}}),
        json!({"type":"KILL","framework_id":{"value":"F"},"kill":{"task_id":{"value":"t1"}}}),
        json!({"type":"RECONCILE","framework_id":{"value":"F"},
          "reconcile":{"tasks":[{"task_id":{"value":"t1"}}]}}),
        json!({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"min",
          "failover_timeout":100,"capabilities":[{"type":"GPU_RESOURCES"}]}}}),
        json!({"type":"DECLINE","framework_id":{"value":"F"},
          "decline":{"offer_ids":[{"value":"O1"}]},"unknown_key":null}),
    ];
    for wire in cases {
        parse(&wire);
    }
}

#[test]
fn malformed_and_invalid_calls_are_refused_with_the_masters_reasons() {
    let invalid = |m: &str| CallError::Invalid(m.to_owned());
    let cases: Vec<(&[u8], CallError)> = vec![
        (
            br#"{"framework_id":{"value":"F"}}"#,
            invalid("Expecting 'type' to be present"),
        ),
        (
            br#"{"type":"ACCEPT","framework_id":{"value":"F"}}"#,
            CallError::Malformed("Expecting 'accept' to be present".into()),
        ),
        (
            br#"{"type":"DECLINE","decline":{"offer_ids":[]}}"#,
            invalid("Expecting 'framework_id' to be present"),
        ),
        (
            br#"{"type":"SUBSCRIBE","framework_id":{"value":"F"},
                 "subscribe":{"framework_info":{"user":"u","name":"n"}}}"#,
            invalid("'framework_id' differs from 'subscribe.framework_info.id'"),
        ),
        (
            br#"{"type":"SUBSCRIBE",
                 "subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"F"}}}}"#,
            invalid("'framework_id' differs from 'subscribe.framework_info.id'"),
        ),
        (
            br#"{"type":"UPDATE_FRAMEWORK","framework_id":{"value":"F"},
                 "update_framework":{"framework_info":{"user":"u","name":"n","id":{"value":"G"}}}}"#,
            invalid("'framework_id' differs from 'update_framework.framework_info.id'"),
        ),
        (
            br#"{"type":"ACKNOWLEDGE","framework_id":{"value":"F"},"acknowledge":{
                 "agent_id":{"value":"A"},"task_id":{"value":"t"},"uuid":"aGVsbG8="}}"#,
            invalid("'acknowledge.uuid' is not a valid UUID"),
        ),
        (br#"{"type":"UNKNOWN"}"#, CallError::NotImplemented),
    ];
    for (body, want) in cases {
        assert_eq!(
            Call::from_json(body),
            Err(want),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    for garbage in [
        &b"not json"[..],
        b"[1,2]",
        b"",
        br#"{"type":"LAUNCH_ROCKETS","framework_id":{"value":"F"}}"#,
        br#"{"type":5}"#,
        br#"{"type":"KILL","framework_id":{"value":"F"},"kill":{}}"#,
        br#"{"type":"ACKNOWLEDGE","framework_id":{"value":"F"},"acknowledge":{
             "agent_id":{"value":"A"},"task_id":{"value":"t"},"uuid":"%%%"}}"#,
        br#"{"type":"ACCEPT","framework_id":{"value":"F"},"accept":{"offer_ids":[],
             "operations":[{"type":"LAUNCH"}]}}"#,
    ] {
        assert!(
            matches!(
                Call::from_json(garbage),
                Err(CallError::NotJson(_) | CallError::Malformed(_))
            ),
            "{}",
            String::from_utf8_lossy(garbage)
        );
    }
}

proptest::proptest! {
    #[test]
    fn parsing_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
        let _ = Call::from_json(&body);
    }
}
