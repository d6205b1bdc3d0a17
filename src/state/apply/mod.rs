//! `apply` for each command: validate against the current state, then change it and say which
//! rows changed. A refused command returns before touching anything.
//!
//! `mod.rs` dispatches each command; the app commands are in `apps.rs`, the instance commands in
//! `instances.rs` and the framework id and teardown in `framework.rs`.

mod apps;
mod framework;
mod instances;

use super::command::{Command, Outcome, Rejection, Request, Response};
use super::rows::RowKey;
use super::{Applied, State};

impl State {
    pub(super) fn apply_command(&mut self, request: &Request, applied: &mut Applied) -> Response {
        match &request.command {
            Command::PutApp {
                app,
                expected_revision,
                mode,
                deploy,
            } => self.put_app(
                request.time,
                app,
                *expected_revision,
                *mode,
                deploy,
                applied,
            ),
            Command::DeleteApp {
                id,
                expected_revision,
                deploy,
            } => self.delete_app(request.time, id, *expected_revision, deploy, applied),
            Command::AdvanceDeployment { id, step } => self.advance_deployment(id, *step, applied),
            Command::CancelDeployment { id } => {
                if !self.deployments.contains_key(id) {
                    return Err(Rejection::DeploymentNotFound(id.clone()));
                }
                self.cancel_deployment(id, applied);
                Ok(Outcome::DeploymentCancelled { id: id.clone() })
            }
            Command::RollbackDeployment { id, deploy } => {
                self.rollback_deployment(request.time, id, deploy, applied)
            }
            Command::ResetLaunchDelay { app } => {
                if !self.apps.contains_key(app) {
                    return Err(Rejection::AppNotFound(app.clone()));
                }
                if self.app_failures.remove(app).is_some() {
                    applied.touched.push(RowKey::AppFailures(app.clone()));
                }
                Ok(Outcome::LaunchDelayReset { app: app.clone() })
            }
            Command::SetFrameworkId { id } => self.set_framework_id(id, applied),
            Command::ProvisionInstance { instance } => {
                self.provision_instance(request.time, instance, applied)
            }
            Command::RecordStatus { report } => self.record_status(request.time, report, applied),
            Command::SetInstanceGoal { id, goal } => self.set_instance_goal(id, *goal, applied),
            Command::RestartApp { id, deploy } => {
                self.restart_app(request.time, id, deploy, applied)
            }
            Command::KillInstances { ids, scale } => {
                self.kill_instances(request.time, ids, scale.as_ref(), applied)
            }
            Command::RequestTeardown { framework_id } => {
                self.request_teardown(framework_id, applied)
            }
            Command::ForgetFramework { framework_id } => {
                self.forget_framework(framework_id, applied)
            }
            Command::PutApps {
                apps,
                expected_revisions,
                deploy,
            } => self.put_apps(request.time, apps, expected_revisions, deploy, applied),
            Command::MarkUnreachableInactive { id } => {
                self.expire_unreachable(request.time, id, false, applied)
            }
            Command::ExpungeUnreachable { id } => {
                self.expire_unreachable(request.time, id, true, applied)
            }
            Command::PutGroup {
                update,
                mode,
                deploy,
            } => self.put_group(request.time, update, *mode, deploy, applied),
            Command::DeleteGroup { id, deploy } => {
                self.delete_group(request.time, id, deploy, applied)
            }
            Command::ScaleGroup { id, factor, deploy } => {
                self.scale_group(request.time, id, *factor, deploy, applied)
            }
            Command::RollbackGroup {
                id,
                version,
                deploy,
            } => self.rollback_group(request.time, id, *version, deploy, applied),
            Command::RecordHealth { updates } => self.record_health(updates, applied),
            Command::KillUnhealthy {
                instance,
                task,
                reason,
            } => self.kill_unhealthy(request.time, instance, task, reason, applied),
            Command::MarkReady {
                instance,
                task,
                response,
            } => self.mark_ready(instance, task, response.as_ref(), applied),
        }
    }
}
