//! The agents' side of the master: launching a task (fetching its URIs, then its process in its
//! sandbox, or handing it to the simulation), the reliable status updates of its lifecycle,
//! process ends, and the removal of a framework with its tasks.

use super::fetch;
use super::launch::{self, TaskPlace};
use super::master::{Agent, COMPLETED_FRAMEWORKS, Input, Master, ProcessRef, Task, now_secs};
use super::process::{self, Outcome};
use super::resources::Resources;
use crate::mesos::{
    AgentId, Base64Bytes, ContainerId, ContainerStatus, Event, FrameworkId, IpAddress, NetworkInfo,
    Reason, TaskId, TaskInfo, TaskSource, TaskState, TaskStatus, is_terminal,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

impl Master {
    fn sandbox(
        &self,
        framework: &FrameworkId,
        agent: &AgentId,
        task: &TaskId,
        run: &str,
    ) -> PathBuf {
        self.settings
            .data_dir
            .join("agents")
            .join(agent.as_str())
            .join("frameworks")
            .join(framework.as_str())
            .join("executors")
            .join(task.as_str())
            .join("runs")
            .join(run)
    }

    pub(super) fn launch(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        info: TaskInfo,
        resources: Resources,
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
        let container = uuid::Uuid::new_v4().to_string();
        let sandbox = self.sandbox(framework, &agent_id, &task_id, &container);
        if let Err(e) = std::fs::create_dir_all(&sandbox) {
            return self.fail_launch(
                framework,
                &task_id,
                format!("Failed to create sandbox: {e}"),
            );
        }
        if let Some(runs) = sandbox.parent() {
            let latest = runs.join("latest");
            let _ = std::fs::remove_file(&latest);
            let _ = std::os::unix::fs::symlink(&container, &latest);
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
        let (env, command, sandbox, hostname) = {
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
            let env = launch::task_environment(&task.info, &task.resources, &place);
            let command = task.info.command.clone().unwrap_or_default();
            (env, command, sandbox.clone(), hostname.clone())
        };
        let container = sandbox
            .file_name()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        let task_id = task_id.clone();
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

    /// Records a reliable (executor or agent) status update: it gets a fresh uuid, joins the
    /// task's queue, and is sent at once if it is the head. A terminal state frees the task's
    /// resources.
    pub(super) fn update(
        &mut self,
        framework: &FrameworkId,
        task_id: &TaskId,
        state: TaskState,
        reason: Option<Reason>,
        message: Option<String>,
        container_status: Option<ContainerStatus>,
    ) {
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(task_id) else {
            return;
        };
        if is_terminal(task.state) {
            return;
        }
        let agent = self.agents.get(task.agent);
        let agent_id = agent.map(|a| a.id.clone());
        let reachable = agent.is_some_and(Agent::reachable);
        let mut status = TaskStatus::new(task_id.clone(), state);
        status.source = Some(if reason == Some(Reason::CONTAINER_LAUNCH_FAILED) {
            TaskSource::Agent
        } else {
            TaskSource::Executor
        });
        status.reason = reason;
        status.message = message;
        status.agent_id = agent_id;
        status.executor_id = Some(crate::mesos::ExecutorId::new(task_id.as_str()));
        status.timestamp = Some(now_secs());
        status.uuid = Some(Base64Bytes(uuid::Uuid::new_v4().as_bytes().to_vec()));
        status.container_status = container_status;
        task.state = state;
        task.statuses.push(status.clone());
        task.unacked.push_back(status.clone());
        let send_now = task.unacked.len() == 1;
        if send_now {
            task.head_sent = Some(Instant::now());
            task.head_backoff = self.settings.status_retry_interval;
        }
        if is_terminal(state) {
            task.process = None;
            let (agent, resources) = (task.agent, task.resources.clone());
            if let Some(a) = self.agents.get_mut(agent) {
                a.used = a.used.subtract(&resources);
            }
        }
        // A partitioned agent's updates reach the master when it is back.
        let connected = fw.stream.is_some() && reachable;
        if send_now && connected {
            self.send(framework, Event::Update(crate::mesos::Update { status }));
        }
    }

    pub(super) fn process_ended(
        &mut self,
        framework: &FrameworkId,
        task: &TaskId,
        pgid: u32,
        outcome: Outcome,
    ) {
        self.groups.remove(pgid);
        let (state, reason, message) = outcome.status();
        self.update(framework, task, state, reason, Some(message), None);
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
