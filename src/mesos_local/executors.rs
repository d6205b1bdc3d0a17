//! The default executor of task groups, as the agents run it: a LAUNCH_GROUP's tasks start
//! together under one executor (each its own process in `tasks/<task id>` of the executor's
//! sandbox); when one fails or is killed the executor kills the others; when the last ends the
//! executor exits, releasing its resources, and the framework hears FAILURE.

use super::groups::{self, GroupPlan};
use super::master::{DEFAULT_KILL_GRACE, Executor, Master};
use super::resources::Resources;
use crate::mesos::{
    Event, ExecutorId, Failure, FrameworkId, LaunchGroup, TaskId, TaskState, is_terminal,
};
use std::time::Duration;

impl Master {
    /// A LAUNCH_GROUP of an ACCEPT: checked as a whole against `pool`, which it then uses up;
    /// `launched` are the task ids the ACCEPT launched before it.
    pub(super) fn launch_group(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        group: LaunchGroup,
        operation_has_id: bool,
        pool: &mut Resources,
        launched: &mut Vec<TaskId>,
    ) {
        let LaunchGroup {
            executor,
            task_group,
        } = group;
        let tasks = task_group.tasks;
        let Some(agent_id) = self.agents.get(agent).map(|a| a.id.clone()) else {
            return;
        };
        let agent_id = &agent_id;
        let key = (agent, executor.executor_id.clone());
        let checked = {
            let fw = self.frameworks.get(framework);
            let running = fw.and_then(|f| f.executors.get(&key)).map(|e| &e.info);
            let taken =
                |id: &TaskId| launched.contains(id) || fw.is_some_and(|f| f.tasks.contains_key(id));
            if operation_has_id {
                Err(groups::invalid(
                    "The `id` field cannot be set on LAUNCH_GROUP operations",
                ))
            } else {
                groups::check_group(&executor, &tasks, framework, agent_id, running, taken, pool)
            }
        };
        let plan = match checked {
            Ok(plan) => plan,
            Err(rejection) => {
                for task in &tasks {
                    self.reject(framework, task, rejection.clone());
                }
                return;
            }
        };
        *pool = pool.subtract(&plan.total());
        let GroupPlan {
            executor: executor_resources,
            tasks: task_resources,
        } = plan;
        let executor_id = executor.executor_id.clone();
        let new_executor = !executor_resources.is_empty();
        if new_executor {
            tracing::info!(framework_id = %framework, %executor_id, %agent_id,
                tasks = tasks.len(), "launching a task group under a new default executor");
            let sandbox = self.settings.simulated.is_none().then(|| {
                let s = self.new_sandbox(framework, agent_id, &executor_id);
                let _ = std::fs::create_dir_all(s.join("tasks"));
                s
            });
            if let Some(a) = self.agents.get_mut(agent) {
                a.used = a.used.add(&executor_resources);
            }
            let record = Executor {
                info: executor,
                resources: executor_resources,
                tasks: Vec::new(),
                sandbox,
                killing: false,
            };
            if let Some(fw) = self.frameworks.get_mut(framework) {
                fw.executors.insert(key.clone(), record);
            }
        }
        let sandbox = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.executors.get_mut(&key))
            .map(|e| {
                e.tasks.extend(tasks.iter().map(|t| t.task_id.clone()));
                e.sandbox.clone()
            });
        let Some(sandbox) = sandbox else {
            return;
        };
        for (task, resources) in tasks.into_iter().zip(task_resources) {
            launched.push(task.task_id.clone());
            let group = Some((executor_id.clone(), sandbox.clone()));
            self.launch_task(framework, agent, task, resources, group);
        }
    }

    /// A task of a group reached a terminal state: a failed or killed one makes the executor
    /// kill the rest; after the last, the executor exits.
    pub(super) fn group_task_ended(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        executor: &ExecutorId,
        state: TaskState,
    ) {
        let key = (agent, executor.clone());
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        let Some(record) = fw.executors.get_mut(&key) else {
            return;
        };
        let live: Vec<TaskId> = record
            .tasks
            .iter()
            .filter(|t| fw.tasks.get(*t).is_some_and(|t| !is_terminal(t.state)))
            .cloned()
            .collect();
        let kill_rest = matches!(state, TaskState::Failed | TaskState::Killed) && !record.killing;
        if kill_rest && !live.is_empty() {
            record.killing = true;
            tracing::info!(framework_id = %framework, executor_id = %executor,
                "a task of the group ended {state}: killing the others");
            let graces: Vec<(TaskId, Duration)> = live
                .iter()
                .map(|id| {
                    let grace = fw
                        .tasks
                        .get(id)
                        .and_then(|t| t.info.kill_policy)
                        .and_then(|k| k.grace_period)
                        .map_or(DEFAULT_KILL_GRACE, |g| {
                            Duration::from_nanos(g.nanoseconds.max(0) as u64)
                        });
                    (id.clone(), grace)
                })
                .collect();
            for (id, grace) in graces {
                self.kill_task(framework, &id, grace);
            }
            return;
        }
        if live.is_empty() {
            self.executor_exited(framework, &key);
        }
    }

    /// The executor's last task ended: it exits and gives back its resources.
    fn executor_exited(&mut self, framework: &FrameworkId, key: &(usize, ExecutorId)) {
        let Some(record) = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.executors.remove(key))
        else {
            return;
        };
        let (agent, executor_id) = key;
        let agent_id = self.agents.get(*agent).map(|a| a.id.clone());
        if let Some(a) = self.agents.get_mut(*agent) {
            a.used = a.used.subtract(&record.resources);
        }
        tracing::info!(framework_id = %framework, %executor_id, "default executor exited");
        let failure = Failure {
            agent_id,
            executor_id: Some(executor_id.clone()),
            status: Some(0),
        };
        self.send(framework, Event::Failure(failure));
    }
}
