//! The master's and agent's checks of an ACCEPT's LAUNCH, as pure functions: the offer set, each
//! task against what is left of the offers, what the agent cannot run, and the task's environment.

use super::checks;
use super::resources::Resources;
use crate::mesos::{
    AgentId, EnvVariableType, FrameworkId, OfferId, Reason, TaskId, TaskInfo, TaskState,
};

/// The most `PORTn` variables a task gets; a task asking for more ports is odd, not an error.
const MAX_PORT_VARS: usize = 1_000;

/// Why a task is not launched: the terminal status it gets instead.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub state: TaskState,
    pub reason: Reason,
    pub message: String,
}

impl Rejection {
    fn invalid(message: impl Into<String>) -> Rejection {
        Rejection {
            state: TaskState::Error,
            reason: Reason::TASK_INVALID,
            message: message.into(),
        }
    }
}

/// Checks the offers of one ACCEPT: known, distinct, the caller's, and of one agent. `lookup`
/// finds an outstanding offer's framework and agent. Returns the agent.
pub fn check_offers<'a>(
    ids: &[OfferId],
    framework: &FrameworkId,
    lookup: impl Fn(&OfferId) -> Option<(&'a FrameworkId, &'a AgentId)>,
) -> Result<&'a AgentId, String> {
    let mut agent: Option<(&OfferId, &AgentId)> = None;
    if ids.is_empty() {
        return Err("No offers specified".into());
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(format!("Duplicate offer {id} in offer list"));
        }
        let (owner, on) = lookup(id).ok_or_else(|| format!("Offer {id} is no longer valid"))?;
        if owner != framework {
            return Err(format!(
                "Offer {id} has invalid framework {owner} while framework {framework} is expected"
            ));
        }
        match agent {
            Some((first, a)) if a != on => {
                return Err(format!(
                    "Aggregated offers must belong to one single agent. Offer {id} uses agent \
                     {on} and offer {first} uses agent {a}"
                ));
            }
            _ => agent = Some((id, on)),
        }
    }
    agent
        .map(|(_, a)| a)
        .ok_or_else(|| "No offers specified".into())
}

/// Why a task id is unusable, as the master checks it (it becomes a directory name).
fn task_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("ID must not be empty")
    } else if id.len() > 255 {
        Some("ID must not be longer than 255 bytes")
    } else if id == "." || id == ".." {
        Some("'.' and '..' are reserved")
    } else if id.contains(['/', '\\']) {
        Some("ID must not contain slashes")
    } else if id.chars().any(char::is_control) {
        Some("ID must not contain control characters")
    } else {
        None
    }
}

/// The master's checks of one task of a LAUNCH; `pool` is what is left of the accepted offers.
/// Returns the task's resources, to take from the pool.
pub fn check_task(
    task: &TaskInfo,
    operation_has_id: bool,
    agent: &AgentId,
    id_taken: impl Fn(&TaskId) -> bool,
    pool: &Resources,
) -> Result<Resources, Rejection> {
    if operation_has_id {
        return Err(Rejection::invalid(
            "The `id` field cannot be set on LAUNCH operations",
        ));
    }
    check_identity(task, agent, id_taken)?;
    match (&task.command, &task.executor) {
        (Some(_), None) => {}
        (None, Some(_)) => {
            return Err(Rejection::invalid(
                "Custom executors are not supported by mesos-local yet",
            ));
        }
        _ => {
            return Err(Rejection::invalid(
                "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present",
            ));
        }
    }
    check_policies(task)?;
    let wanted = task_resources(task)?;
    if !pool.contains(&wanted) {
        return Err(Rejection::invalid(format!(
            "Total resources {wanted} required by task and its executor is more than available {pool}"
        )));
    }
    Ok(wanted)
}

/// A task's id (usable, not taken), agent, and that it uses resources.
pub fn check_identity(
    task: &TaskInfo,
    agent: &AgentId,
    id_taken: impl Fn(&TaskId) -> bool,
) -> Result<(), Rejection> {
    if let Some(why) = task_id_problem(task.task_id.as_str()) {
        return Err(Rejection::invalid(format!(
            "TaskID '{}' is invalid: {why}",
            task.task_id
        )));
    }
    if id_taken(&task.task_id) {
        return Err(Rejection::invalid(format!(
            "Task has duplicate ID: {}",
            task.task_id
        )));
    }
    if &task.agent_id != agent {
        return Err(Rejection::invalid(format!(
            "Task uses invalid agent {} while agent {agent} is expected",
            task.agent_id
        )));
    }
    if task.resources.is_empty() {
        return Err(Rejection::invalid("Task uses no resources"));
    }
    Ok(())
}

/// A task's kill policy, health check and check.
pub fn check_policies(task: &TaskInfo) -> Result<(), Rejection> {
    if task
        .kill_policy
        .and_then(|k| k.grace_period)
        .is_some_and(|g| g.nanoseconds < 0)
    {
        return Err(Rejection::invalid(
            "Task's 'kill_policy.grace_period' must be non-negative",
        ));
    }
    check_probes(task)
}

/// A task's resources, readable by mesos-local.
pub fn task_resources(task: &TaskInfo) -> Result<Resources, Rejection> {
    Resources::from_wire(&task.resources)
        .map_err(|e| Rejection::invalid(format!("Task uses invalid resources: {e}")))
}

/// The master's checks of a task's health check and check.
pub fn check_probes(task: &TaskInfo) -> Result<(), Rejection> {
    if let Some(h) = &task.health_check {
        checks::health_spec(h)
            .map_err(|e| Rejection::invalid(format!("Task uses invalid health check: {e}")))?;
    }
    if let Some(c) = &task.check {
        checks::check_spec(c)
            .map_err(|e| Rejection::invalid(format!("Task uses invalid check: {e}")))?;
    }
    Ok(())
}

/// Why the agent cannot start a valid task (it fails with REASON_CONTAINER_LAUNCH_FAILED). A
/// container image is never run on the host instead.
pub fn agent_problem(task: &TaskInfo) -> Option<String> {
    if let Some(image) = task.container.as_ref().and_then(|c| c.image()) {
        return Some(format!(
            "Failed to launch container: image '{image}' cannot be run: mesos-local runs \
             commands on the host and has no container runtime"
        ));
    }
    let command = task.command.as_ref()?;
    let secret = command
        .environment
        .iter()
        .flat_map(|e| &e.variables)
        .find(|v| v.kind == Some(EnvVariableType::Secret) || v.secret.is_some());
    if let Some(v) = secret {
        return Some(format!(
            "Failed to launch container: secret environment variable '{}' is not supported by \
             mesos-local",
            v.name
        ));
    }
    if command.value.is_none() {
        return Some("Failed to launch container: the command has no value".into());
    }
    None
}

/// Where a task runs, for its environment.
pub struct TaskPlace<'a> {
    pub framework_id: &'a FrameworkId,
    pub agent_id: &'a AgentId,
    pub hostname: &'a str,
    pub sandbox: &'a str,
}

/// The environment a command task adds to the agent's: the Mesos variables, `HOST`, `PORT0…`
/// and `PORTS` from its port ranges, then the task's own variables, which win.
pub fn task_environment(
    task: &TaskInfo,
    resources: &Resources,
    at: &TaskPlace<'_>,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("MESOS_TASK_ID".to_owned(), task.task_id.value.clone()),
        ("MESOS_EXECUTOR_ID".to_owned(), task.task_id.value.clone()),
        (
            "MESOS_FRAMEWORK_ID".to_owned(),
            at.framework_id.value.clone(),
        ),
        ("MESOS_AGENT_ID".to_owned(), at.agent_id.value.clone()),
        ("MESOS_SANDBOX".to_owned(), at.sandbox.to_owned()),
        ("MESOS_DIRECTORY".to_owned(), at.sandbox.to_owned()),
        ("HOST".to_owned(), at.hostname.to_owned()),
    ];
    let ports = resources.range_values("ports", MAX_PORT_VARS);
    for (i, p) in ports.iter().enumerate() {
        env.push((format!("PORT{i}"), p.to_string()));
    }
    if !ports.is_empty() {
        let list: Vec<String> = ports.iter().map(u64::to_string).collect();
        env.push(("PORTS".to_owned(), list.join(",")));
    }
    let own = task
        .command
        .iter()
        .filter_map(|c| c.environment.as_ref())
        .flat_map(|e| &e.variables);
    for v in own {
        env.retain(|(name, _)| name != &v.name);
        env.push((v.name.clone(), v.value.clone().unwrap_or_default()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{
        CommandInfo, ContainerInfo, DurationInfo, EnvVariable, Environment, KillPolicy, Range,
        Resource,
    };
    use crate::mesos_local::spec::parse_resources;

    fn bag(spec: &str) -> Resources {
        Resources::from_wire(&parse_resources(spec).unwrap_or_default()).unwrap_or_default()
    }

    fn task(id: &str, resources: &str) -> TaskInfo {
        TaskInfo::command(
            "t",
            TaskId::new(id),
            AgentId::new("M-S0"),
            parse_resources(resources).unwrap_or_default(),
            CommandInfo::shell("true"),
        )
    }

    #[test]
    fn offer_sets() {
        let (f1, f2) = (FrameworkId::new("F1"), FrameworkId::new("F2"));
        let (a0, a1) = (AgentId::new("M-S0"), AgentId::new("M-S1"));
        let offers = [
            (OfferId::new("O1"), &f1, &a0),
            (OfferId::new("O2"), &f1, &a0),
            (OfferId::new("O3"), &f1, &a1),
            (OfferId::new("O4"), &f2, &a0),
        ];
        let lookup = |id: &OfferId| {
            offers
                .iter()
                .find(|(o, _, _)| o == id)
                .map(|(_, f, a)| (*f, *a))
        };
        let ids = |xs: &[&str]| xs.iter().map(|x| OfferId::new(*x)).collect::<Vec<_>>();
        let table: [(&[&str], Result<&AgentId, &str>); 6] = [
            (&["O1", "O2"], Ok(&a0)),
            (&["O3"], Ok(&a1)),
            (&[], Err("No offers specified")),
            (&["O9"], Err("Offer O9 is no longer valid")),
            (&["O1", "O1"], Err("Duplicate offer O1 in offer list")),
            (
                &["O1", "O3"],
                Err("Aggregated offers must belong to one single agent"),
            ),
        ];
        for (list, want) in table {
            let got = check_offers(&ids(list), &f1, lookup);
            match (got, want) {
                (Ok(a), Ok(w)) => assert_eq!(a, w),
                (Err(e), Err(w)) => assert!(e.starts_with(w), "{list:?}: {e}"),
                (g, w) => panic!("{list:?}: got {g:?}, want {w:?}"),
            }
        }
        assert!(check_offers(&ids(&["O4"]), &f1, lookup).is_err_and(|e| e.contains("framework")));
    }

    #[test]
    fn task_checks() {
        let pool = bag("cpus:1;mem:128;ports:[31000-31009]");
        let agent = AgentId::new("M-S0");
        let mut no_command = task("a", "cpus:0.1");
        no_command.command = None;
        let mut wrong_agent = task("a", "cpus:0.1");
        wrong_agent.agent_id = AgentId::new("M-S1");
        let mut negative_grace = task("a", "cpus:0.1");
        negative_grace.kill_policy = Some(KillPolicy {
            grace_period: Some(DurationInfo { nanoseconds: -1 }),
        });
        let table: Vec<(TaskInfo, bool, Result<Resources, &str>)> = vec![
            (
                task("a", "cpus:0.5;mem:64;ports:[31003-31003]"),
                false,
                Ok(bag("cpus:0.5;mem:64;ports:[31003-31003]")),
            ),
            (
                task("a", "cpus:0.1"),
                true,
                Err("The `id` field cannot be set"),
            ),
            (
                task("dup", "cpus:0.1"),
                false,
                Err("Task has duplicate ID: dup"),
            ),
            (
                task("a/b", "cpus:0.1"),
                false,
                Err("TaskID 'a/b' is invalid"),
            ),
            (task("..", "cpus:0.1"), false, Err("TaskID '..' is invalid")),
            (task("", "cpus:0.1"), false, Err("TaskID '' is invalid")),
            (
                wrong_agent,
                false,
                Err("Task uses invalid agent M-S1 while agent M-S0 is expected"),
            ),
            (task("a", ""), false, Err("Task uses no resources")),
            (no_command, false, Err("Task should have at least one")),
            (
                negative_grace,
                false,
                Err("Task's 'kill_policy.grace_period' must be non-negative"),
            ),
            (
                task("a", "cpus:2"),
                false,
                Err("Total resources cpus:2 required by task"),
            ),
            (
                task("a", "ports:[30000-30000]"),
                false,
                Err("is more than available"),
            ),
        ];
        for (t, has_id, want) in table {
            let got = check_task(&t, has_id, &agent, |id| id.as_str() == "dup", &pool);
            match (got, want) {
                (Ok(r), Ok(w)) => assert_eq!(r, w),
                (Err(e), Err(w)) => {
                    assert_eq!(
                        (e.state, &e.reason),
                        (TaskState::Error, &Reason::TASK_INVALID)
                    );
                    assert!(
                        e.message.starts_with(w) || e.message.contains(w),
                        "{}",
                        e.message
                    );
                }
                (g, w) => panic!("{}: got {g:?}, want {w:?}", t.task_id),
            }
        }
    }

    #[test]
    fn images_are_never_run_on_the_host() {
        let mut docker = task("a", "cpus:0.1");
        docker.container = serde_json::from_value::<ContainerInfo>(serde_json::json!(
            {"type":"DOCKER","docker":{"image":"nginx:1.25"}}))
        .ok();
        let problem = agent_problem(&docker).unwrap_or_default();
        assert!(problem.contains("'nginx:1.25'"), "{problem}");
        let mut mesos_image = task("a", "cpus:0.1");
        mesos_image.container = serde_json::from_value::<ContainerInfo>(serde_json::json!(
            {"type":"MESOS","mesos":{"image":{"type":"DOCKER","docker":{"name":"org/app:1"}}}}))
        .ok();
        assert!(agent_problem(&mesos_image).is_some_and(|p| p.contains("'org/app:1'")));
        let mut plain_mesos = task("a", "cpus:0.1");
        plain_mesos.container = serde_json::from_value::<ContainerInfo>(serde_json::json!(
            {"type":"MESOS"}))
        .ok();
        assert_eq!(agent_problem(&plain_mesos), None);
        assert_eq!(agent_problem(&task("a", "cpus:0.1")), None);
    }

    #[test]
    fn environment_has_mesos_vars_ports_and_the_tasks_own() {
        let mut t = task("web.1", "cpus:0.1");
        t.resources.push(Resource::ranges(
            "ports",
            vec![
                Range {
                    begin: 31005,
                    end: 31006,
                },
                Range {
                    begin: 31010,
                    end: 31010,
                },
            ],
        ));
        if let Some(c) = t.command.as_mut() {
            c.environment = Some(Environment {
                variables: vec![EnvVariable {
                    name: "HOST".into(),
                    kind: None,
                    value: Some("override".into()),
                    secret: None,
                }],
            });
        }
        let res = Resources::from_wire(&t.resources).unwrap_or_default();
        let (fw, agent) = (FrameworkId::new("F"), AgentId::new("M-S0"));
        let at = TaskPlace {
            framework_id: &fw,
            agent_id: &agent,
            hostname: "127.0.1.1",
            sandbox: "/sb",
        };
        let env = task_environment(&t, &res, &at);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("MESOS_TASK_ID"), Some("web.1"));
        assert_eq!(get("MESOS_SANDBOX"), Some("/sb"));
        assert_eq!(get("PORT0"), Some("31005"));
        assert_eq!(get("PORT2"), Some("31010"));
        assert_eq!(get("PORTS"), Some("31005,31006,31010"));
        assert_eq!(get("HOST"), Some("override"));
        assert_eq!(env.iter().filter(|(n, _)| n == "HOST").count(), 1);
    }
}
