//! The master's handling of each scheduler call once its caller is checked: ACCEPT and LAUNCH,
//! DECLINE, SUPPRESS/REVIVE, KILL, ACKNOWLEDGE, RECONCILE, TEARDOWN and UPDATE_FRAMEWORK.

use super::allocation::{Refusal, refuse_duration};
use super::launch::{self, Rejection};
use super::master::{CallRefused, DEFAULT_KILL_GRACE, Master, Reach, Task, now_secs};
use super::resources::Resources;
use crate::mesos::{
    Accept, Acknowledge, AgentId, CallBody, Decline, Event, FrameworkId, Kill, OfferOperation,
    Reason, Reconcile, TaskId, TaskInfo, TaskSource, TaskState, TaskStatus, UpdateFramework,
    is_terminal,
};
use std::time::{Duration, Instant};

impl Master {
    pub(super) fn apply(
        &mut self,
        framework: &FrameworkId,
        body: CallBody,
    ) -> Result<(), CallRefused> {
        match body {
            CallBody::Accept(accept) => self.accept(framework, accept),
            CallBody::Decline(decline) => self.decline(framework, decline),
            CallBody::Suppress(_) => {
                if let Some(fw) = self.frameworks.get_mut(framework) {
                    fw.suppressed = true;
                }
            }
            CallBody::Revive(_) => {
                if let Some(fw) = self.frameworks.get_mut(framework) {
                    fw.suppressed = false;
                    fw.refusals.clear();
                }
                self.allocate();
            }
            CallBody::Kill(kill) => self.kill(framework, kill),
            CallBody::Acknowledge(ack) => self.acknowledge(framework, ack),
            CallBody::Reconcile(reconcile) => self.reconcile(framework, reconcile),
            CallBody::Teardown => {
                tracing::info!(framework_id = %framework, "framework torn down");
                self.remove_framework(framework);
            }
            CallBody::UpdateFramework(update) => return self.update_framework(framework, update),
            other => {
                tracing::debug!(framework_id = %framework, call = other.kind(), "call ignored");
            }
        }
        Ok(())
    }

    fn update_framework(
        &mut self,
        framework: &FrameworkId,
        update: UpdateFramework,
    ) -> Result<(), CallRefused> {
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return Ok(());
        };
        let new = update.framework_info;
        let refuse = |field: &str| {
            Err(CallRefused::BadRequest(format!(
                "Updating 'FrameworkInfo.{field}' is unsupported"
            )))
        };
        if new.principal != fw.info.principal {
            return refuse("principal");
        }
        if new.user != fw.info.user {
            return refuse("user");
        }
        if new.checkpoint != fw.info.checkpoint {
            return refuse("checkpoint");
        }
        fw.info = new;
        fw.suppressed = !update.suppressed_roles.is_empty();
        if !fw.suppressed {
            fw.refusals.clear();
        }
        Ok(())
    }

    fn decline(&mut self, framework: &FrameworkId, decline: Decline) {
        let duration = refuse_duration(decline.filters.as_ref(), self.settings.allocation_interval);
        for id in &decline.offer_ids {
            let owned = self
                .offers
                .get(id)
                .is_some_and(|o| &o.framework == framework);
            if !owned {
                continue;
            }
            if let Some(offer) = self.take_offer(id) {
                self.refuse(framework, offer.agent, offer.resources, duration);
            }
        }
    }

    fn refuse(
        &mut self,
        framework: &FrameworkId,
        agent: usize,
        refused: Resources,
        d: Option<Duration>,
    ) {
        let (Some(d), Some(fw)) = (d, self.frameworks.get_mut(framework)) else {
            return;
        };
        if refused.is_empty() {
            return;
        }
        let until = Instant::now() + d;
        let refused = match fw.refusals.get(&agent) {
            Some(r) if r.until > Instant::now() => r.refused.add(&refused),
            _ => refused,
        };
        fw.refusals.insert(agent, Refusal { refused, until });
    }

    fn accept(&mut self, framework: &FrameworkId, accept: Accept) {
        let checked = {
            let agents = &self.agents;
            launch::check_offers(&accept.offer_ids, framework, |id| {
                self.offers
                    .get(id)
                    .and_then(|o| Some((&o.framework, &agents.get(o.agent)?.id)))
            })
            .cloned()
        };
        // Every offer of this framework named in the call is used up, valid call or not.
        let mut pool = Resources::default();
        let mut agent_index = None;
        for id in &accept.offer_ids {
            let owned = self
                .offers
                .get(id)
                .is_some_and(|o| &o.framework == framework);
            if owned && let Some(offer) = self.take_offer(id) {
                pool = pool.add(&offer.resources);
                agent_index = Some(offer.agent);
            }
        }
        let (agent_id, agent) = match (checked, agent_index) {
            (Ok(a), Some(i)) => (a, i),
            (Err(why), _) => return self.drop_launches(framework, &accept, &why),
            (Ok(_), None) => return self.drop_launches(framework, &accept, "No offers specified"),
        };
        let mut launched: Vec<TaskId> = Vec::new();
        for op in accept.operations {
            match op.operation {
                OfferOperation::Launch(l) => {
                    for task in l.task_infos {
                        let taken = |id: &TaskId| {
                            launched.contains(id)
                                || self
                                    .frameworks
                                    .get(framework)
                                    .is_some_and(|f| f.tasks.contains_key(id))
                        };
                        match launch::check_task(&task, op.id.is_some(), &agent_id, taken, &pool) {
                            Ok(resources) => {
                                pool = pool.subtract(&resources);
                                launched.push(task.task_id.clone());
                                self.launch(framework, agent, task, resources);
                            }
                            Err(rejection) => self.reject(framework, &task, rejection),
                        }
                    }
                }
                OfferOperation::LaunchGroup(group) => self.launch_group(
                    framework,
                    agent,
                    *group,
                    op.id.is_some(),
                    &mut pool,
                    &mut launched,
                ),
                other => self.apply_operation(framework, agent, &mut pool, op.id, &other),
            }
        }
        let duration = refuse_duration(accept.filters.as_ref(), self.settings.allocation_interval);
        self.refuse(framework, agent, pool, duration);
    }

    /// Every task of a call with invalid offers gets TASK_DROPPED (TASK_LOST without
    /// PARTITION_AWARE), REASON_INVALID_OFFERS.
    fn drop_launches(&mut self, framework: &FrameworkId, accept: &Accept, why: &str) {
        let aware = self
            .frameworks
            .get(framework)
            .is_some_and(|f| f.partition_aware());
        for op in &accept.operations {
            let tasks: Vec<&TaskInfo> = match &op.operation {
                OfferOperation::Launch(l) => l.task_infos.iter().collect(),
                OfferOperation::LaunchGroup(g) => g.task_group.tasks.iter().collect(),
                _ => Vec::new(),
            };
            for task in tasks {
                let rejection = Rejection {
                    state: if aware {
                        TaskState::Dropped
                    } else {
                        TaskState::Lost
                    },
                    reason: Reason::INVALID_OFFERS,
                    message: format!("Task launched with invalid offers: {why}"),
                };
                self.reject(framework, task, rejection);
            }
        }
    }

    /// A master-generated terminal update for a task that never became one: no uuid, not
    /// retried, not acknowledged.
    pub(super) fn reject(
        &mut self,
        framework: &FrameworkId,
        task: &TaskInfo,
        rejection: Rejection,
    ) {
        tracing::info!(framework_id = %framework, task_id = %task.task_id,
            message = %rejection.message, "task not launched");
        let mut status = TaskStatus::new(task.task_id.clone(), rejection.state);
        status.source = Some(TaskSource::Master);
        status.reason = Some(rejection.reason);
        status.message = Some(rejection.message);
        status.timestamp = Some(now_secs());
        self.send(framework, Event::Update(crate::mesos::Update { status }));
    }

    fn kill(&mut self, framework: &FrameworkId, kill: Kill) {
        let Some(fw) = self.frameworks.get(framework) else {
            return;
        };
        let Some(task) = fw.tasks.get(&kill.task_id) else {
            let answer = self.unknown_task(framework, &kill.task_id, kill.agent_id.as_ref());
            return self.send(
                framework,
                Event::Update(crate::mesos::Update { status: answer }),
            );
        };
        let on_agent = self.agents.get(task.agent).map(|a| &a.id);
        if kill.agent_id.as_ref().is_some_and(|a| Some(a) != on_agent) || is_terminal(task.state) {
            return;
        }
        let grace = kill
            .kill_policy
            .or(task.info.kill_policy)
            .and_then(|k| k.grace_period)
            .map_or(DEFAULT_KILL_GRACE, |g| {
                Duration::from_nanos(g.nanoseconds.max(0) as u64)
            });
        self.kill_task(framework, &kill.task_id, grace);
    }

    fn acknowledge(&mut self, framework: &FrameworkId, ack: Acknowledge) {
        let Some(fw) = self.frameworks.get_mut(framework) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(&ack.task_id) else {
            return;
        };
        let on_agent = self.agents.get(task.agent).map(|a| &a.id);
        let head_matches = task.unacked.front().and_then(|s| s.uuid.as_ref()) == Some(&ack.uuid);
        if Some(&ack.agent_id) != on_agent || !head_matches {
            return;
        }
        let acked = task.unacked.pop_front();
        task.head_sent = None;
        if let Some(next) = task.unacked.front().cloned() {
            task.head_sent = Some(Instant::now());
            task.head_backoff = self.settings.status_retry_interval;
            return self.send(
                framework,
                Event::Update(crate::mesos::Update { status: next }),
            );
        }
        if acked.is_some_and(|s| is_terminal(s.state))
            && let Some(done) = fw.tasks.remove(&ack.task_id)
        {
            fw.complete(done);
        }
    }

    fn reconcile(&mut self, framework: &FrameworkId, reconcile: Reconcile) {
        let Some(fw) = self.frameworks.get(framework) else {
            return;
        };
        let answers: Vec<TaskStatus> = if reconcile.tasks.is_empty() {
            // Tasks on unreachable agents are left out of implicit reconciliation, as in Mesos.
            fw.tasks
                .values()
                .filter(|t| self.agents.get(t.agent).is_some_and(|a| a.reachable()))
                .map(|t| self.latest(t))
                .collect()
        } else {
            reconcile
                .tasks
                .iter()
                .map(|r| match fw.tasks.get(&r.task_id) {
                    Some(t) => self.latest(t),
                    None => self.unknown_task(framework, &r.task_id, r.agent_id.as_ref()),
                })
                .collect()
        };
        for status in answers {
            self.send(framework, Event::Update(crate::mesos::Update { status }));
        }
    }

    /// The reconciliation answer for a known task: its latest state, without uuid.
    fn latest(&self, task: &Task) -> TaskStatus {
        let mut status = task
            .statuses
            .last()
            .cloned()
            .unwrap_or_else(|| TaskStatus::new(task.info.task_id.clone(), task.state));
        status.state = task.state;
        if let Some(Reach::Unreachable(since)) = self.agents.get(task.agent).map(|a| a.reach) {
            let aware = self
                .frameworks
                .values()
                .find(|f| f.tasks.contains_key(&task.info.task_id))
                .is_some_and(|f| f.partition_aware());
            status.state = if aware {
                TaskState::Unreachable
            } else {
                TaskState::Lost
            };
            status.unreachable_time = Some(crate::mesos::TimeInfo {
                nanoseconds: (since * 1e9) as i64,
            });
        }
        status.uuid = None;
        status.data = None;
        status.labels = None;
        status.source = Some(TaskSource::Master);
        status.reason = Some(Reason::RECONCILIATION);
        status.message = Some("Reconciliation: Latest task state".into());
        status.agent_id = self.agents.get(task.agent).map(|a| a.id.clone());
        status.timestamp = Some(now_secs());
        status
    }

    /// The answer for a task the master does not know: TASK_GONE when its (registered) agent is
    /// named, else TASK_UNKNOWN; TASK_LOST for frameworks that are not PARTITION_AWARE.
    fn unknown_task(
        &self,
        framework: &FrameworkId,
        task: &TaskId,
        agent: Option<&AgentId>,
    ) -> TaskStatus {
        let aware = self
            .frameworks
            .get(framework)
            .is_some_and(|f| f.partition_aware());
        let known = agent.and_then(|a| self.agents.iter().find(|x| &x.id == a));
        let known_agent = known.map(|a| &a.id);
        let (state, message) = match known.map(|a| a.reach) {
            Some(Reach::Reachable) => (
                TaskState::Gone,
                "Reconciliation: Task is unknown to the agent",
            ),
            Some(Reach::Unreachable(_)) => (
                TaskState::Unreachable,
                "Reconciliation: Task is unknown and its agent unreachable",
            ),
            Some(Reach::Removed) => (
                TaskState::GoneByOperator,
                "Reconciliation: Task is unknown and its agent removed",
            ),
            None => (TaskState::Unknown, "Reconciliation: Task is unknown"),
        };
        let mut status = TaskStatus::new(task.clone(), if aware { state } else { TaskState::Lost });
        status.source = Some(TaskSource::Master);
        status.reason = Some(Reason::RECONCILIATION);
        status.message = Some(message.into());
        status.agent_id = known_agent.cloned();
        status.timestamp = Some(now_secs());
        status
    }
}
