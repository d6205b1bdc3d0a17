//! Task documents against the `Value` renderer, and one task byte for byte.

use super::*;

#[test]
fn task_documents_are_the_value_renderers() {
    let state = fixture();
    let instances: Vec<&Instance> = state.instances().collect();
    assert_eq!(instances.len(), 9);
    for instance in &instances {
        let want = legacy::task_json(instance);
        assert_eq!(parsed(&bytes(TaskView(instance))), want);
        assert_eq!(task_json(instance), want);
    }
    let list = document("tasks", Tasks(&instances), 0).expect("renders");
    let want: Vec<Value> = instances.iter().map(|i| legacy::task_json(i)).collect();
    assert_eq!(parsed(&list), json!({ "tasks": want }));
}

#[test]
fn a_task_is_written_exactly() {
    let state = fixture();
    let web = path("/web");
    let task = state
        .instances_of(&web)
        .find(|i| i.health.len() == 1 && !i.health[&0].alive)
        .expect("the failing task");
    let id = "web.instance-00000000-0000-0000-0000-000000000002";
    let want = format!(
        concat!(
            r#"{{"id":"{id}._app.1","appId":"/web","host":"10.0.0.2","slaveId":"agent-2","#,
            r#""state":"TASK_RUNNING","stagedAt":"2023-11-14T22:13:20.134Z","#,
            r#""startedAt":"2023-11-14T22:13:20.144Z","version":"2023-11-14T22:13:20.123Z","#,
            r#""ports":[31002,31003],"servicePorts":[],"#,
            r#""ipAddresses":[{{"ipAddress":"10.0.0.2","protocol":"IPv4"}}],"localVolumes":[],"#,
            r#""healthCheckResults":[{{"alive":false,"consecutiveFailures":3,"#,
            r#""firstSuccess":"2023-11-14T22:13:15.193Z","lastSuccess":null,"#,
            r#""lastFailure":"2023-11-14T22:13:20.193Z","#,
            r#""lastFailureCause":"HTTP 503 \"unavailable\"\n","instanceId":"{id}"}}]}}"#
        ),
        id = id
    );
    assert_eq!(
        String::from_utf8(bytes(TaskView(task))).expect("utf-8"),
        want
    );
}
