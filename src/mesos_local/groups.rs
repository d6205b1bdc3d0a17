//! The master's checks of a LAUNCH_GROUP, as a pure function: the DEFAULT executor, every task
//! of the group, and the resources of the executor (when it is new) and the tasks against what
//! is left of the offers. One problem refuses the whole group.

use super::launch::{self, Rejection};
use super::resources::Resources;
use crate::mesos::{
    AgentId, ContainerType, ExecutorInfo, ExecutorType, FrameworkId, Reason, TaskId, TaskInfo,
    TaskState,
};

/// The least a new default executor needs, as the master requires.
const MIN_EXECUTOR_CPUS: f64 = 0.01;
const MIN_EXECUTOR_MEM: f64 = 32.0;

/// What a valid group takes from the pool.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupPlan {
    /// Empty when the group joins a running executor.
    pub executor: Resources,
    /// Each task's, in the group's order.
    pub tasks: Vec<Resources>,
}

impl GroupPlan {
    pub fn total(&self) -> Resources {
        self.tasks
            .iter()
            .fold(self.executor.clone(), |acc, r| acc.add(r))
    }
}

/// A group refusal: every task of the group gets TASK_ERROR with this reason and message.
pub fn invalid(message: impl Into<String>) -> Rejection {
    Rejection {
        state: TaskState::Error,
        reason: Reason::TASK_GROUP_INVALID,
        message: message.into(),
    }
}

fn check_executor(executor: &ExecutorInfo, framework: &FrameworkId) -> Result<(), Rejection> {
    if executor.kind != Some(ExecutorType::Default) {
        return Err(invalid(
            "'ExecutorInfo.type' must be 'DEFAULT' for a task group",
        ));
    }
    if executor.command.is_some() {
        return Err(invalid(
            "'ExecutorInfo.command' must not be set for 'DEFAULT' executor",
        ));
    }
    if let Some(id) = executor.framework_id.as_ref().filter(|id| *id != framework) {
        return Err(invalid(format!(
            "ExecutorInfo has an invalid FrameworkID (Actual: {id} vs Expected: {framework})"
        )));
    }
    if let Some(c) = &executor.container {
        if c.kind != ContainerType::Mesos {
            return Err(invalid(
                "'ExecutorInfo.container.type' must be 'MESOS' for 'DEFAULT' executor",
            ));
        }
        if c.image().is_some() {
            return Err(invalid(
                "'ExecutorInfo.container.mesos.image' must not be set for 'DEFAULT' executor",
            ));
        }
    }
    if executor
        .shutdown_grace_period
        .is_some_and(|g| g.nanoseconds < 0)
    {
        return Err(invalid(
            "ExecutorInfo's 'shutdown_grace_period' must be non-negative",
        ));
    }
    Ok(())
}

/// A new executor's own resources, at least the minimum.
fn executor_resources(executor: &ExecutorInfo) -> Result<Resources, Rejection> {
    let id = &executor.executor_id;
    let r = Resources::from_wire(&executor.resources)
        .map_err(|e| invalid(format!("Executor '{id}' uses invalid resources: {e}")))?;
    let cpus = r.scalar("cpus");
    if cpus < MIN_EXECUTOR_CPUS {
        return Err(invalid(format!(
            "Executor '{id}' uses less CPUs ({cpus}) than the minimum required \
             ({MIN_EXECUTOR_CPUS})"
        )));
    }
    let mem = r.scalar("mem");
    if mem < MIN_EXECUTOR_MEM {
        return Err(invalid(format!(
            "Executor '{id}' uses less memory ({mem}MB) than the minimum required \
             ({MIN_EXECUTOR_MEM}MB)"
        )));
    }
    if r.scalar("disk") <= 0.0 {
        return Err(invalid(format!(
            "Executor '{id}' uses no disk; a new default executor needs some"
        )));
    }
    Ok(r)
}

fn check_member(
    task: &TaskInfo,
    executor: &ExecutorInfo,
    agent: &AgentId,
    id_taken: &dyn Fn(&TaskId) -> bool,
) -> Result<Resources, String> {
    launch::check_identity(task, agent, id_taken).map_err(|r| r.message)?;
    if task.executor.as_ref().is_some_and(|e| e != executor) {
        return Err(format!(
            "The `ExecutorInfo` of task '{}' is different from executor '{}'",
            task.task_id, executor.executor_id
        ));
    }
    if task.command.is_none() {
        return Err(format!(
            "Task '{}' of a task group must have a CommandInfo",
            task.task_id
        ));
    }
    if let Some(c) = &task.container {
        if c.kind == ContainerType::Docker {
            return Err(format!(
                "Docker ContainerInfo is not supported on the task '{}'",
                task.task_id
            ));
        }
        if !c.network_infos.is_empty() {
            return Err(format!(
                "NetworkInfos must not be set on the task '{}'",
                task.task_id
            ));
        }
    }
    launch::check_policies(task).map_err(|r| r.message)?;
    launch::task_resources(task).map_err(|r| r.message)
}

/// The master's checks of a LAUNCH_GROUP. `running` is the executor of that id already running
/// on the agent for this framework, if any (the group then joins it if its ExecutorInfo is the
/// same); `id_taken` says whether a task id is in use by the framework.
pub fn check_group(
    executor: &ExecutorInfo,
    tasks: &[TaskInfo],
    framework: &FrameworkId,
    agent: &AgentId,
    running: Option<&ExecutorInfo>,
    id_taken: impl Fn(&TaskId) -> bool,
    pool: &Resources,
) -> Result<GroupPlan, Rejection> {
    check_executor(executor, framework)?;
    if tasks.is_empty() {
        return Err(invalid("Task group cannot be empty"));
    }
    let executor_needs = match running {
        Some(info) if info == executor => Resources::default(),
        Some(_) => {
            return Err(invalid(format!(
                "ExecutorInfo is not compatible with the running executor '{}'",
                executor.executor_id
            )));
        }
        None => executor_resources(executor)?,
    };
    let mut plan = GroupPlan {
        executor: executor_needs,
        tasks: Vec::with_capacity(tasks.len()),
    };
    for (i, task) in tasks.iter().enumerate() {
        let earlier = &tasks[..i];
        let taken = |id: &TaskId| id_taken(id) || earlier.iter().any(|t| &t.task_id == id);
        let r = check_member(task, executor, agent, &taken)
            .map_err(|why| invalid(format!("Task '{}' is invalid: {why}", task.task_id)))?;
        plan.tasks.push(r);
    }
    let total = plan.total();
    if !pool.contains(&total) {
        return Err(invalid(format!(
            "Total resources {total} required by task group and its executor are more than \
             available {pool}"
        )));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{CommandInfo, ExecutorId};
    use crate::mesos_local::spec::parse_resources;

    fn bag(spec: &str) -> Resources {
        Resources::from_wire(&parse_resources(spec).unwrap_or_default()).unwrap_or_default()
    }

    fn executor() -> ExecutorInfo {
        ExecutorInfo {
            kind: Some(ExecutorType::Default),
            executor_id: ExecutorId::new("pod.executor"),
            framework_id: None,
            command: None,
            container: None,
            resources: parse_resources("cpus:0.1;mem:32;disk:10").unwrap_or_default(),
            name: None,
            shutdown_grace_period: None,
            labels: None,
        }
    }

    fn task(id: &str) -> TaskInfo {
        TaskInfo::command(
            id,
            TaskId::new(id),
            AgentId::new("M-S0"),
            parse_resources("cpus:0.5;mem:64").unwrap_or_default(),
            CommandInfo::shell("sleep 10"),
        )
    }

    #[test]
    fn a_valid_group_takes_the_executor_and_its_tasks() {
        let (fw, agent) = (FrameworkId::new("F"), AgentId::new("M-S0"));
        let pool = bag("cpus:4;mem:1024;disk:100");
        let tasks = [task("a"), task("b")];
        let plan = check_group(&executor(), &tasks, &fw, &agent, None, |_| false, &pool)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(plan.total(), bag("cpus:1.1;mem:160;disk:10"));
        // Joining the same executor, already running, charges only the tasks.
        let plan = check_group(
            &executor(),
            &tasks,
            &fw,
            &agent,
            Some(&executor()),
            |_| false,
            &pool,
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(plan.total(), bag("cpus:1;mem:128"));
    }

    #[test]
    fn invalid_groups_say_why() {
        let (fw, agent) = (FrameworkId::new("F"), AgentId::new("M-S0"));
        let pool = bag("cpus:4;mem:1024;disk:100");
        let mut custom = executor();
        custom.kind = Some(ExecutorType::Custom);
        let mut with_command = executor();
        with_command.command = Some(CommandInfo::shell("x"));
        let mut other_framework = executor();
        other_framework.framework_id = Some(FrameworkId::new("G"));
        let mut tiny = executor();
        tiny.resources = parse_resources("cpus:0.001;mem:32;disk:1").unwrap_or_default();
        let mut no_disk = executor();
        no_disk.resources = parse_resources("cpus:0.1;mem:32").unwrap_or_default();
        let mut changed = executor();
        changed.name = Some("renamed".into());
        let mut no_command = task("b");
        no_command.command = None;
        let mut other_executor = task("b");
        other_executor.executor = Some(custom.clone());
        let mut huge = task("b");
        huge.resources = parse_resources("cpus:8").unwrap_or_default();
        type Case = (
            &'static str,
            ExecutorInfo,
            Vec<TaskInfo>,
            Option<ExecutorInfo>,
            &'static str,
        );
        let table: Vec<Case> = vec![
            ("custom", custom, vec![task("a")], None, "must be 'DEFAULT'"),
            (
                "command",
                with_command,
                vec![task("a")],
                None,
                "'ExecutorInfo.command' must not",
            ),
            (
                "framework",
                other_framework,
                vec![task("a")],
                None,
                "invalid FrameworkID",
            ),
            ("cpus", tiny, vec![task("a")], None, "less CPUs (0.001)"),
            ("disk", no_disk, vec![task("a")], None, "uses no disk"),
            ("empty", executor(), vec![], None, "cannot be empty"),
            (
                "changed",
                executor(),
                vec![task("a")],
                Some(changed),
                "not compatible",
            ),
            (
                "duplicate",
                executor(),
                vec![task("a"), task("a")],
                None,
                "Task 'a' is invalid: Task has duplicate ID: a",
            ),
            (
                "taken",
                executor(),
                vec![task("taken")],
                None,
                "duplicate ID: taken",
            ),
            (
                "no command",
                executor(),
                vec![task("a"), no_command],
                None,
                "must have a CommandInfo",
            ),
            (
                "executor",
                executor(),
                vec![other_executor],
                None,
                "is different from executor",
            ),
            (
                "resources",
                executor(),
                vec![task("a"), huge],
                None,
                "required by task group and its executor",
            ),
        ];
        for (case, ex, tasks, running, want) in table {
            let got = check_group(
                &ex,
                &tasks,
                &fw,
                &agent,
                running.as_ref(),
                |id| id.as_str() == "taken",
                &pool,
            );
            match got {
                Err(e) => {
                    assert_eq!(e.reason, Reason::TASK_GROUP_INVALID, "{case}");
                    assert!(e.message.contains(want), "{case}: {}", e.message);
                }
                Ok(_) => panic!("{case}: accepted"),
            }
        }
    }
}
