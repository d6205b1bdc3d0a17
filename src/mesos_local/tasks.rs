//! The agents' side of the master: launching a task (fetching its URIs, then its process in its
//! sandbox, or handing it to the simulation), the reliable status updates of its lifecycle,
//! process ends, and the removal of a framework with its tasks.

use super::fetch;
use super::launch::{self, TaskPlace};
use super::master::{COMPLETED_FRAMEWORKS, Input, Master, ProcessRef, Task, now_secs};
use super::probe::Target;
use super::process;
use super::resources::Resources;
use super::volumes;
use crate::mesos::{
    AgentId, ContainerId, ContainerStatus, ExecutorId, FrameworkId, IpAddress, NetworkInfo, Reason,
    TaskId, TaskInfo, TaskSource, TaskState, TaskStatus, is_terminal,
};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

impl Master {
    /// A new run directory of an executor (for a command task, the task's own executor), with
    /// `runs/latest` pointing to it, as the agent lays them out. Creating it may fail; callers
    /// create it again and report the error.
    pub(super) fn new_sandbox(
        &self,
        framework: &FrameworkId,
        agent: &AgentId,
        executor: &ExecutorId,
    ) -> PathBuf {
        let run = uuid::Uuid::new_v4().to_string();
        let runs = self
            .settings
            .data_dir
            .join("agents")
            .join(agent.as_str())
            .join("frameworks")
            .join(framework.as_str())
            .join("executors")
            .join(executor.as_str())
            .join("runs");
        let sandbox = runs.join(&run);
        if std::fs::create_dir_all(&sandbox).is_ok() {
            let latest = runs.join("latest");
            let _ = std::fs::remove_file(&latest);
            let _ = std::os::unix::fs::symlink(&run, &latest);
        }
        sandbox
    }

    pub(super) fn launch(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        info: TaskInfo,
        resources: Resources,
    ) {
        self.launch_task(framework, agent, info, resources, None);
    }

    /// Launches a command task, or (`group`) a task of a task group under its default
    /// executor, whose sandbox is the executor's `tasks/<task id>`.
    pub(super) fn launch_task(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        info: TaskInfo,
        resources: Resources,
        group: Option<(ExecutorId, Option<PathBuf>)>,
    ) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        a.used = a.used.add(&resources);
        let agent_id = a.id.clone();
        let task_id = info.task_id.clone();
        tracing::info!(framework_id = %framework, %task_id, %agent_id, "launching task");
        self.record_launch(framework, &task_id, &agent_id);
        let problem = launch::agent_problem(&info);
        let uris = info
            .command
            .as_ref()
            .map(|c| c.uris.clone())
            .unwrap_or_default();
        let task = Task {
            info,
            agent,
            resources,
            state: TaskState::Staging,
            statuses: Vec::new(),
            unacked: Default::default(),
            head_sent: None,
            head_backoff: self.settings.status_retry_interval,
            process: None,
            sandbox: None,
            probes: None,
            check_status: None,
            health_killed: false,
            executor: group.as_ref().map(|(id, _)| id.clone()),
        };
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        fw.tasks.insert(task_id.clone(), task);
        if let Some(problem) = problem {
            return self.fail_launch(framework, &task_id, problem);
        }
        if let Some(delay) = self.settings.simulated {
            return self.simulate(framework, &task_id, delay);
        }
        let sandbox = match group {
            Some((_, Some(executor_sandbox))) => {
                executor_sandbox.join("tasks").join(task_id.as_str())
            }
            Some((_, None)) => {
                return self.fail_launch(framework, &task_id, "The executor has no sandbox".into());
            }
            None => self.new_sandbox(framework, &agent_id, &ExecutorId::new(task_id.as_str())),
        };
        if let Err(e) = std::fs::create_dir_all(&sandbox) {
            return self.fail_launch(
                framework,
                &task_id,
                format!("Failed to create sandbox: {e}"),
            );
        }
        if let Some(task) = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.tasks.get_mut(&task_id))
        {
            task.sandbox = Some(sandbox.clone());
        }
        if uris.is_empty() {
            return self.start_process(framework, &task_id);
        }
        // Copying and extracting may take a while: off the master's loop, which hears back.
        let inputs = self.inputs.clone();
        let (fw_id, t_id) = (framework.clone(), task_id.clone());
        self.tracker.spawn(async move {
            let fetching = tokio::task::spawn_blocking(move || fetch::fetch_all(&uris, &sandbox));
            let result = fetching
                .await
                .unwrap_or_else(|e| Err(format!("Failed to fetch URIs: {e}")));
            let fetched = Input::Fetched {
                framework: fw_id,
                task: t_id,
                result,
            };
            let _ = inputs.send(fetched).await;
        });
    }

    /// A task's URIs are fetched: its command starts, unless it was killed meanwhile.
    pub(super) fn fetched(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        result: Result<(), String>,
    ) {
        let staging = self
            .frameworks
            .get(framework)
            .and_then(|f| f.tasks.get(task))
            .is_some_and(|t| t.state == TaskState::Staging);
        if !staging {
            return;
        }
        match result {
            Ok(()) => self.start_process(framework, task),
            Err(message) => self.fail_launch(framework, task, message),
        }
    }

    /// Spawns a staged task's command in its sandbox and reports STARTING and RUNNING.
    fn start_process(&mut self, framework: &FrameworkId, task_id: &TaskId) {
        let (env, command, sandbox, hostname, agent_id, resources) = {
            let Some(task) = self
                .frameworks
                .get(framework)
                .and_then(|f| f.tasks.get(task_id))
            else {
                return;
            };
            let (Some(agent), Some(sandbox)) = (self.agents.get(task.agent), &task.sandbox) else {
                return;
            };
            let (agent_id, hostname) = (&agent.id, &agent.hostname);
            let place = TaskPlace {
                framework_id: framework,
                agent_id,
                hostname,
                sandbox: &sandbox.to_string_lossy(),
            };
            let mut env = launch::task_environment(&task.info, &task.resources, &place);
            if let Some(executor) = &task.executor {
                for (name, value) in env.iter_mut() {
                    if name == "MESOS_EXECUTOR_ID" {
                        *value = executor.value.clone();
                    }
                }
            }
            let command = task.info.command.clone().unwrap_or_default();
            let resources = task.resources.clone();
            (
                env,
                command,
                sandbox.clone(),
                hostname.clone(),
                agent_id.clone(),
                resources,
            )
        };
        let container = sandbox
            .file_name()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        let task_id = task_id.clone();
        if let Err(message) =
            volumes::mount_volumes(&self.settings.data_dir, &agent_id, &resources, &sandbox)
        {
            return self.fail_launch(framework, &task_id, message);
        }
        let child = match process::spawn(&command, &env, &sandbox) {
            Ok(c) => c,
            Err(e) => {
                return self.fail_launch(
                    framework,
                    &task_id,
                    format!("Failed to launch the command: {e}"),
                );
            }
        };
        let Some(pgid) = child.id() else {
            return self.fail_launch(framework, &task_id, "The command exited at once".into());
        };
        self.groups.add(pgid);
        let (kill, kill_rx) = mpsc::channel(1);
        let inputs = self.inputs.clone();
        let cancel = self.cancel.clone();
        let (fw_id, t_id) = (framework.clone(), task_id.clone());
        self.tracker.spawn(async move {
            let outcome = process::supervise(child, pgid, kill_rx, cancel).await;
            let ended = Input::Ended {
                framework: fw_id,
                task: t_id,
                pgid,
                outcome,
            };
            let _ = inputs.send(ended).await;
        });
        if let Some(task) = self
            .frameworks
            .get_mut(framework)
            .and_then(|f| f.tasks.get_mut(&task_id))
        {
            task.process = Some(ProcessRef { kill });
        }
        let target = Target {
            host: hostname.clone(),
            sandbox: sandbox.clone(),
            env,
            pgid: Some(pgid),
        };
        let container_status = ContainerStatus {
            container_id: Some(ContainerId::new(container)),
            network_infos: vec![NetworkInfo {
                ip_addresses: vec![IpAddress {
                    protocol: None,
                    ip_address: Some(hostname),
                }],
                ..NetworkInfo::default()
            }],
            executor_pid: Some(pgid),
        };
        self.update(framework, &task_id, TaskState::Starting, None, None, None);
        self.update(
            framework,
            &task_id,
            TaskState::Running,
            None,
            None,
            Some(container_status),
        );
        self.start_probes(framework, &task_id, target);
    }

    pub(super) fn fail_launch(&mut self, framework: &FrameworkId, task: &TaskId, message: String) {
        tracing::warn!(framework_id = %framework, task_id = %task, %message, "task launch failed");
        self.update(
            framework,
            task,
            TaskState::Failed,
            Some(Reason::CONTAINER_LAUNCH_FAILED),
            Some(message),
            None,
        );
    }

    /// TEARDOWN or failover timeout: the subscription ends, offers return, every task is killed
    /// and recorded TASK_KILLED / REASON_FRAMEWORK_REMOVED (not sent: the framework is gone).
    pub(super) fn remove_framework(&mut self, framework: &FrameworkId) {
        self.discard_offers(framework);
        let Some(mut fw) = self.frameworks.remove(framework) else {
            return;
        };
        fw.stream = None;
        fw.unregistered_time = Some(now_secs());
        for ((agent, _), executor) in std::mem::take(&mut fw.executors) {
            if let Some(a) = self.agents.get_mut(agent) {
                a.used = a.used.subtract(&executor.resources);
            }
        }
        let tasks = std::mem::take(&mut fw.tasks);
        for (_, mut task) in tasks {
            if let Some(p) = task.process.take() {
                let _ = p.kill.try_send(Duration::ZERO);
            }
            if !is_terminal(task.state) {
                if let Some(a) = self.agents.get_mut(task.agent) {
                    a.used = a.used.subtract(&task.resources);
                }
                let mut status = TaskStatus::new(task.info.task_id.clone(), TaskState::Killed);
                status.source = Some(TaskSource::Master);
                status.reason = Some(Reason::FRAMEWORK_REMOVED);
                status.message = Some("Framework removed".into());
                status.timestamp = Some(now_secs());
                task.state = TaskState::Killed;
                task.statuses.push(status);
            }
            task.unacked.clear();
            fw.complete(task);
        }
        if self.completed_frameworks.len() >= COMPLETED_FRAMEWORKS {
            self.completed_frameworks.pop_front();
        }
        self.completed_frameworks.push_back(fw);
    }
}
