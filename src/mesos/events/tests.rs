//! Event shapes against the reference's JSON: parsed as the scheduler receives them, and
//! serialised back as mesos-local must emit them.

use super::*;
use crate::mesos::framework::Name;
use crate::mesos::resources::Value;
use crate::mesos::status::{Reason, TaskSource, TaskState};
use serde_json::{Value as Json, json};

fn parse(wire: &Json) -> Event {
    Event::from_json(wire.to_string().as_bytes()).unwrap_or_else(|e| panic!("{wire}: {e}"))
}

/// Every event of the reference (numbers written as the master emits them), parsed and
/// serialised back unchanged.
#[test]
fn every_reference_event_round_trips() {
    let cases = [
        json!({"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"5f3c-0000"},
          "heartbeat_interval_seconds":15.0,
          "master_info":{"id":"5f3c","ip":16777343,"port":5050,"pid":"master@127.0.0.1:5050",
            "hostname":"m1","version":"1.11.0",
            "address":{"hostname":"m1","ip":"127.0.0.1","port":5050},
            "domain":{"fault_domain":{"region":{"name":"eu"},"zone":{"name":"eu-1a"}}},
            "capabilities":[{"type":"AGENT_UPDATE"},{"type":"AGENT_DRAINING"},
              {"type":"QUOTA_V2"}]}}}),
        json!({"type":"OFFERS","offers":{"offers":[{
          "id":{"value":"M-O12"},"framework_id":{"value":"F"},"agent_id":{"value":"M-S3"},
          "hostname":"agent3.example",
          "url":{"scheme":"http","address":{"hostname":"agent3.example","ip":"10.0.0.13",
            "port":5051},"path":"/slave(1)"},
          "domain":{"fault_domain":{"region":{"name":"eu"},"zone":{"name":"eu-1b"}}},
          "allocation_info":{"role":"apps"},
          "resources":[
            {"name":"cpus","type":"SCALAR","scalar":{"value":7.5},"allocation_info":{"role":"apps"}},
            {"name":"mem","type":"SCALAR","scalar":{"value":14800.0},"allocation_info":{"role":"apps"}},
            {"name":"disk","type":"SCALAR","scalar":{"value":90000.0},"allocation_info":{"role":"apps"}},
            {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},
             "allocation_info":{"role":"apps"}}],
          "attributes":[{"name":"rack","type":"TEXT","text":{"value":"r1"}}],
          "executor_ids":[{"value":"pod-1.executor"}],
          "unavailability":{"start":{"nanoseconds":1735689600000000000i64},
            "duration":{"nanoseconds":3600000000000i64}}}]}}),
        json!({"type":"INVERSE_OFFERS","inverse_offers":{"inverse_offers":[{
          "id":{"value":"M-O40"},"framework_id":{"value":"F"},"agent_id":{"value":"M-S3"},
          "url":{"scheme":"http","address":{"hostname":"agent3.example","ip":"10.0.0.13",
            "port":5051},"path":"/slave(1)"},
          "unavailability":{"start":{"nanoseconds":1735689600000000000i64},
            "duration":{"nanoseconds":3600000000000i64}}}]}}),
        json!({"type":"RESCIND","rescind":{"offer_id":{"value":"M-O12"}}}),
        json!({"type":"RESCIND_INVERSE_OFFER",
          "rescind_inverse_offer":{"inverse_offer_id":{"value":"M-O40"}}}),
        json!({"type":"UPDATE","update":{"status":{
          "task_id":{"value":"web.1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR",
          "agent_id":{"value":"M-S3"},"executor_id":{"value":"web.1"},
          "timestamp":1732427000.123,"uuid":"o3kAIuerTGWVSdusmpqIbw==",
          "container_status":{"container_id":{"value":"8f1e"},
            "network_infos":[{"ip_addresses":[{"protocol":"IPv4","ip_address":"10.0.0.13"}]}],
            "executor_pid":4242}}}}),
        json!({"type":"UPDATE_OPERATION_STATUS","update_operation_status":{"status":{
          "operation_id":{"value":"op-42"},"state":"OPERATION_FINISHED",
          "uuid":{"value":"0WXx/MfZRnikWJ7Fu1D01Q=="},"agent_id":{"value":"M-S3"},
          "converted_resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1.0}}]}}}),
        json!({"type":"MESSAGE","message":{"agent_id":{"value":"M-S3"},
          "executor_id":{"value":"pod-1.executor"},"data":"aGVsbG8="}}),
        json!({"type":"FAILURE","failure":{"agent_id":{"value":"M-S3"}}}),
        json!({"type":"FAILURE","failure":{"agent_id":{"value":"M-S3"},
          "executor_id":{"value":"pod-1.executor"},"status":0}}),
        json!({"type":"ERROR","error":{"message":"Framework failed over"}}),
        json!({"type":"HEARTBEAT"}),
    ];
    for wire in cases {
        let event = parse(&wire);
        assert_eq!(Some(event.kind()), wire["type"].as_str());
        assert_eq!(serde_json::to_value(&event).ok(), Some(wire));
    }
}

#[test]
fn subscribed_and_offers_read_as_the_scheduler_needs() {
    let Event::Subscribed(s) = parse(&json!({"type":"SUBSCRIBED","subscribed":{
        "framework_id":{"value":"M-0000"},"heartbeat_interval_seconds":15}}))
    else {
        panic!("not subscribed");
    };
    assert_eq!(s.framework_id, FrameworkId::new("M-0000"));
    assert_eq!(s.heartbeat_interval_seconds, Some(15.0));

    // A pre-refinement offer, as a framework without RESERVATION_REFINEMENT sees it.
    let Event::Offers(o) = parse(&json!({"type":"OFFERS","offers":{"offers":[{
        "id":{"value":"O1"},"framework_id":{"value":"F"},"agent_id":{"value":"S1"},
        "hostname":"127.0.1.1",
        "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":4},"role":"*"},
          {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31999}]},
           "role":"*"}],
        "domain":{"fault_domain":{"region":{"name":"r"},"zone":{"name":"z"}}}}]}}))
    else {
        panic!("not offers");
    };
    let offer = &o.offers[0];
    assert_eq!(offer.resources[0].value, Value::Scalar(4.0));
    assert_eq!(offer.resources[0].reserved_role(), None);
    assert_eq!(offer.domain.as_ref().and_then(|d| d.zone()), Some("z"));
    assert_eq!(
        offer
            .domain
            .as_ref()
            .and_then(|d| d.fault_domain.as_ref())
            .map(|f| &f.region),
        Some(&Name { name: "r".into() })
    );
}

#[test]
fn master_generated_update_has_no_uuid() {
    let Event::Update(u) = parse(&json!({"type":"UPDATE","update":{"status":{
        "task_id":{"value":"web.1"},"state":"TASK_GONE","source":"SOURCE_MASTER",
        "reason":"REASON_RECONCILIATION","message":"Reconciliation: Task is unknown to the agent",
        "agent_id":{"value":"M-S3"},"timestamp":1732427000.5}}}))
    else {
        panic!("not an update");
    };
    assert_eq!(u.status.state, TaskState::Gone);
    assert_eq!(u.status.source, Some(TaskSource::Master));
    assert_eq!(u.status.reason, Some(Reason::RECONCILIATION));
    assert_eq!(u.status.uuid, None);
}

#[test]
fn what_a_newer_master_may_add_is_tolerated() {
    let cases = [
        (
            json!({"type":"DRAIN_NOTICE","drain_notice":{"agent_id":{"value":"S1"}}}),
            "DRAIN_NOTICE",
        ),
        (
            json!({"type":"HEARTBEAT","heartbeat":{"seq":1},"extra":true}),
            "HEARTBEAT",
        ),
        (
            json!({"type":"ERROR","error":{"message":"Framework has been removed","code":7}}),
            "ERROR",
        ),
        (
            json!({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},
              "state":"TASK_FAILED","reason":"REASON_NEW_IN_2_0","source":"SOURCE_NEW",
              "shiny":[1,2,3]}}}),
            "UPDATE",
        ),
        (
            json!({"type":"UPDATE_OPERATION_STATUS","update_operation_status":{"status":{
              "state":"OPERATION_TELEPORTED"}}}),
            "UPDATE_OPERATION_STATUS",
        ),
    ];
    for (wire, kind) in cases {
        assert_eq!(parse(&wire).kind(), kind, "{wire}");
    }
    assert_eq!(
        parse(&json!({"type":"DRAIN_NOTICE"})),
        Event::Unknown {
            kind: "DRAIN_NOTICE".into()
        }
    );
}

#[test]
fn garbage_events_are_errors_not_panics() {
    for bad in [
        &b""[..],
        b"{}",
        b"[]",
        b"{\"type\":3}",
        b"{\"type\":\"UPDATE\"}",
        b"{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"t\"}}}}",
        b"{\"type\":\"OFFERS\",\"offers\":{\"offers\":[{\"id\":1}]}}",
        b"\xff\xfe",
    ] {
        assert!(
            Event::from_json(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

proptest::proptest! {
    #[test]
    fn parsing_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
        let _ = Event::from_json(&body);
    }
}
