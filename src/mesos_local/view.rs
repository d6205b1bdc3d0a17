//! The master's `/state` document, shaped like Mesos' own: frameworks with their tasks (those on
//! unreachable agents apart), completed frameworks, and registered agents ("slaves") with total,
//! reserved (by role), unreserved, used and offered resources and their domain.

use super::master::{Agent, Framework, Master, Reach, Task};
use super::resources::Resources;
use crate::mesos::{Attribute, TaskStatus, Value};
use serde_json::{Map, Value as Json, json};

/// A value as `/state` shows it: numbers as numbers, ranges as `"[a-b, c-d]"`, sets as `"{a, b}"`.
fn value(v: &Value) -> Json {
    match v {
        Value::Scalar(x) => json!(x),
        Value::Text(t) => json!(t),
        Value::Ranges(rs) => {
            let parts: Vec<String> = rs
                .iter()
                .map(|x| format!("{}-{}", x.begin, x.end))
                .collect();
            json!(format!("[{}]", parts.join(", ")))
        }
        Value::Set(items) => json!(format!("{{{}}}", items.join(", "))),
    }
}

/// Resources as `/state` shows them, reservations summed in: `{"cpus": 4.0, "mem": 8192.0,
/// "ports": "[31000-31999]"}`.
fn resources(r: &Resources) -> Json {
    let mut out = Map::new();
    for name in ["cpus", "gpus", "mem", "disk"] {
        out.insert(name.to_owned(), json!(r.scalar(name)));
    }
    for res in r.flatten().to_wire() {
        out.insert(res.name, value(&res.value));
    }
    Json::Object(out)
}

/// An agent's reserved resources by role, each shown by `show`.
fn by_role(total: &Resources, show: impl Fn(&Resources) -> Json) -> Json {
    let out: Map<String, Json> = total
        .by_role()
        .iter()
        .map(|(role, r)| (role.clone(), show(r)))
        .collect();
    Json::Object(out)
}

fn attributes(attrs: &[Attribute]) -> Json {
    let out: Map<String, Json> = attrs
        .iter()
        .map(|a| (a.name.clone(), value(&a.value)))
        .collect();
    Json::Object(out)
}

fn status(s: &TaskStatus) -> Json {
    let mut v = json!({"state": s.state, "timestamp": s.timestamp.unwrap_or_default()});
    if let Some(h) = s.healthy {
        v["healthy"] = json!(h);
    }
    if let Some(c) = &s.check_status {
        v["check_status"] = json!(c);
    }
    if let Some(c) = &s.container_status {
        v["container_status"] = json!(c);
    }
    v
}

fn on_reachable_agent(m: &Master, t: &Task) -> bool {
    m.agents.get(t.agent).is_some_and(Agent::reachable)
}

fn task(m: &Master, fw: &Framework, t: &Task) -> Json {
    json!({
        "id": t.info.task_id.value,
        "name": t.info.name,
        "framework_id": fw.id().value,
        "executor_id": t.executor.as_ref().map(|e| e.value.clone()).unwrap_or_default(),
        "slave_id": m.agents.get(t.agent).map(|a| a.id.value.clone()).unwrap_or_default(),
        "state": t.state,
        "resources": resources(&t.resources),
        "statuses": t.statuses.iter().map(status).collect::<Vec<_>>(),
    })
}

fn framework(m: &Master, fw: &Framework) -> Json {
    let mut v = json!({
        "id": fw.id().value,
        "name": fw.info.name,
        "user": fw.info.user,
        "hostname": fw.info.hostname.clone().unwrap_or_default(),
        "principal": fw.info.principal,
        "webui_url": fw.info.webui_url.clone().unwrap_or_default(),
        "failover_timeout": fw.info.failover_timeout.unwrap_or(0.0),
        "checkpoint": fw.info.checkpoint.unwrap_or(false),
        "role": fw.info.role.clone().unwrap_or_else(|| "*".into()),
        "roles": fw.info.roles,
        "capabilities": fw.info.capabilities,
        "active": fw.stream.is_some(),
        "connected": fw.stream.is_some(),
        "recovered": false,
        "registered_time": fw.registered_time,
        "unregistered_time": fw.unregistered_time.unwrap_or(0.0),
        "tasks": fw.tasks.values()
            .filter(|t| on_reachable_agent(m, t))
            .map(|t| task(m, fw, t))
            .collect::<Vec<_>>(),
        "completed_tasks": fw.completed.iter().map(|t| task(m, fw, t)).collect::<Vec<_>>(),
        "unreachable_tasks": fw.tasks.values()
            .filter(|t| !on_reachable_agent(m, t))
            .map(|t| {
                let mut v = task(m, fw, t);
                v["state"] = json!(crate::mesos::TaskState::Unreachable);
                v
            })
            .collect::<Vec<_>>(),
        "offers": m.offers.iter()
            .filter(|(_, o)| Some(&o.framework) == fw.info.id.as_ref())
            .map(|(id, o)| json!({
                "id": id.value,
                "framework_id": o.framework.value,
                "slave_id": m.agents.get(o.agent).map(|a| a.id.value.clone()).unwrap_or_default(),
                "resources": resources(&o.resources),
            }))
            .collect::<Vec<_>>(),
    });
    if let Some(t) = fw.reregistered_time {
        v["reregistered_time"] = json!(t);
    }
    let used = fw
        .tasks
        .values()
        .filter(|t| !crate::mesos::is_terminal(t.state))
        .fold(Resources::default(), |acc, t| acc.add(&t.resources));
    v["used_resources"] = resources(&used);
    v["resources"] = resources(&used);
    v
}

fn agent(a: &Agent) -> Json {
    let mut v = json!({
        "id": a.id.value,
        "hostname": a.hostname,
        "port": 5051,
        "pid": format!("slave(1)@{}:5051", a.hostname),
        "registered_time": a.registered_time,
        "active": true,
        "deactivated": false,
        "version": super::VERSION,
        "resources": resources(&a.total),
        "used_resources": resources(&a.used),
        "offered_resources": resources(&a.offered),
        "reserved_resources": by_role(&a.total, resources),
        "reserved_resources_full": by_role(&a.total, |r| json!(r.to_wire())),
        "unreserved_resources": resources(&a.total.unreserved()),
        "unreserved_resources_full": a.total.unreserved().to_wire(),
        "used_resources_full": a.used.to_wire(),
        "offered_resources_full": a.offered.to_wire(),
        "attributes": attributes(&a.attributes),
    });
    if let Some(d) = &a.domain {
        v["domain"] = json!(d);
    }
    v
}

pub(super) fn state(m: &Master) -> Json {
    let info = m.master_info();
    json!({
        "version": super::VERSION,
        "id": m.id,
        "pid": info.pid,
        "hostname": info.hostname,
        "start_time": m.started,
        "elected_time": m.started,
        "activated_slaves": m.agents.iter().filter(|a| a.reachable()).count(),
        "deactivated_slaves": 0,
        "unreachable_slaves": m.agents.iter()
            .filter(|a| matches!(a.reach, Reach::Unreachable(_)))
            .count(),
        "slaves": m.agents.iter().filter(|a| a.reachable()).map(agent).collect::<Vec<_>>(),
        "frameworks": m.frameworks.values().map(|f| framework(m, f)).collect::<Vec<_>>(),
        "completed_frameworks": m.completed_frameworks.iter().map(|f| framework(m, f)).collect::<Vec<_>>(),
        "orphan_tasks": [],
        "unregistered_frameworks": [],
    })
}
