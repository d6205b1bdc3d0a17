//! Status updates: committed (unless they only repeat what is known), then acknowledged.

use super::Session;
use crate::mesos::{Acknowledge, CallBody, Kill, TaskStatus};
use crate::state::ids::{AgentId, TaskId};
use crate::state::model::StatusReport;
use crate::state::{Command, Outcome, StatusEffect};

impl Session {
    /// Commits a status through Raft and acknowledges it only once committed; if the commit
    /// fails (leadership lost), the update stays unacknowledged and Mesos sends it again to
    /// the next leader.
    pub(super) fn status(&mut self, status: TaskStatus) {
        // A reconciliation answer (no uuid: nothing to acknowledge) that repeats the state is
        // not committed: a leader reconciles every instance after each subscription, and at
        // 100,000 tasks those empty writes cost a new leader its lease.
        if status.uuid.is_none()
            && self
                .api
                .local_view()
                .state
                .repeats_observation(&report(&status))
        {
            return;
        }
        let api = self.api.clone();
        let fence = self.fence.clone();
        let caller = self.caller.clone();
        self.updates.spawn(async move {
            let report = report(&status);
            let outcome = api.propose(None, Command::RecordStatus { report }).await;
            let effect = match outcome {
                Ok(Outcome::Status { effect, .. }) => effect,
                Ok(other) => {
                    tracing::error!(?other, "RecordStatus answered with another outcome");
                    return;
                }
                Err(e) => {
                    tracing::info!(task = %status.task_id, %e, "status not recorded; Mesos will send it again");
                    return;
                }
            };
            if !fence.holds() {
                return;
            }
            if effect == StatusEffect::UnknownTask && !crate::mesos::is_terminal(status.state) {
                tracing::warn!(task = %status.task_id, state = %status.state, "killing a task no instance owns");
                let kill = CallBody::Kill(Kill {
                    task_id: status.task_id.clone(),
                    agent_id: status.agent_id.clone(),
                    kill_policy: None,
                });
                if let Err(e) = caller.call(kill).await {
                    tracing::warn!(task = %status.task_id, %e, "cannot kill an orphan task");
                }
            }
            if let Some(ack) = Acknowledge::for_status(&status)
                && let Err(e) = caller.call(CallBody::Acknowledge(ack)).await
            {
                tracing::info!(task = %status.task_id, %e, "acknowledgement not delivered");
            }
        });
    }
}

/// A Mesos status as the state records it.
pub(super) fn report(status: &TaskStatus) -> StatusReport {
    StatusReport {
        task_id: TaskId(status.task_id.value.clone().into()),
        agent: status
            .agent_id
            .as_ref()
            .map(|a| AgentId(a.value.clone().into())),
        condition: crate::mesos::condition(status.state),
        status_uuid: status.uuid.as_ref().map(|u| u.to_base64()),
        message: status.message.clone(),
        reason: status.reason.as_ref().map(|r| r.as_str().to_string()),
        healthy: status.healthy,
        check: check_result(status),
    }
}

/// The Mesos check result a status carries, as the state records it.
fn check_result(status: &TaskStatus) -> Option<crate::state::health::CheckResult> {
    use crate::state::health::CheckResult;
    let check = status.check_status.as_ref()?;
    if let Some(http) = &check.http {
        return Some(CheckResult::Http {
            status_code: http.status_code,
        });
    }
    if let Some(tcp) = &check.tcp {
        return Some(CheckResult::Tcp {
            succeeded: tcp.succeeded,
        });
    }
    check.command.as_ref().map(|c| CheckResult::Command {
        exit_code: c.exit_code,
    })
}
