//! The leader's readiness checks, for one term: while a deployment of an app with a readiness
//! check runs, each of the app's new running instances is probed (HTTP GET on the host port
//! named `portName`) every `intervalSeconds` until it answers with a status in
//! `httpStatusCodesForReady`; then `MarkReady` is committed, so the deployment counts it (once
//! healthy too) and a new leader does not wait for it again. Which instances to probe is
//! [`pending`], pure; the probes' results stay in this loop's memory until one is ready.

use super::Fence;
use crate::api::Api;
use crate::state::State;
use crate::state::app::ReadinessProtocol;
use crate::state::health::ReadinessResponse;
use crate::state::ids::{InstanceId, TaskId};
use crate::state::model::{Condition, Goal};
use crate::state::{Command, Outcome};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// How often the loop looks for instances to probe.
const TICK: Duration = Duration::from_millis(200);
/// Probes in flight at most (readiness concerns the few instances a deployment starts).
const MAX_IN_FLIGHT: usize = 64;
/// The most of a response body kept for `preserveLastResponse`.
const MAX_BODY: usize = 64 * 1024;

/// One instance to probe for readiness.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ReadinessTarget {
    pub instance: InstanceId,
    pub task: TaskId,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub codes: Vec<u16>,
    pub preserve: bool,
}

/// The instances waiting for readiness: running, meant to run, not ready yet, of the current
/// configuration of an app with a readiness check that a deployment is changing.
pub(super) fn pending(state: &State) -> Vec<ReadinessTarget> {
    let mut out = Vec::new();
    for record in state.apps() {
        let spec = &record.spec;
        let Some(check) = spec.readiness_checks.first() else {
            continue;
        };
        if check.protocol != ReadinessProtocol::Http
            || state.deployments_of(&spec.id).next().is_none()
        {
            continue;
        }
        let named = |name: Option<&str>| name == Some(check.port_name.as_str());
        let port_index = spec
            .port_definitions
            .iter()
            .position(|p| named(p.name.as_deref()))
            .or_else(|| {
                spec.container.as_ref().and_then(|c| {
                    c.port_mappings
                        .iter()
                        .position(|m| named(m.name.as_deref()))
                })
            });
        for instance in state.instances_of(&spec.id) {
            if instance.ready
                || instance.goal != Goal::Running
                || instance.condition() != Condition::Running
                || instance.app_version < record.version_info.last_config_change_at
            {
                continue;
            }
            let (Some(host), Some(port)) = (
                instance.hostname.as_ref(),
                port_index.and_then(|i| instance.host_ports.get(i)),
            ) else {
                continue;
            };
            out.push(ReadinessTarget {
                instance: instance.id.clone(),
                task: instance.task_id(),
                url: format!("http://{host}:{port}{}", check.path),
                interval: Duration::from_secs(check.interval_seconds.max(1)),
                timeout: Duration::from_secs(check.timeout_seconds.max(1)),
                codes: check.http_status_codes_for_ready.clone(),
                preserve: check.preserve_last_response,
            });
        }
    }
    out
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// One probe: the response, or why there was none.
async fn probe(client: &HttpClient, target: &ReadinessTarget) -> Result<ReadinessResponse, String> {
    let uri: hyper::Uri = target
        .url
        .parse()
        .map_err(|e| format!("invalid readiness URL {}: {e}", target.url))?;
    let attempt = async {
        let response = client
            .get(uri)
            .await
            .map_err(|e| format!("GET {} failed: {e}", target.url))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = if target.preserve {
            let bytes = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            String::new()
        };
        Ok(ReadinessResponse {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(target.timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer from {} within the timeout", target.url)))
}

/// Runs the term's readiness checks until the term ends.
pub(super) async fn run(api: &Api, fence: &Fence) {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut next_at: HashMap<InstanceId, Instant> = HashMap::new();
    let mut in_flight: HashSet<InstanceId> = HashSet::new();
    let mut probes: JoinSet<(ReadinessTarget, Result<ReadinessResponse, String>)> = JoinSet::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = fence.term.cancelled() => return,
            _ = tick.tick() => {
                if !fence.holds() {
                    continue;
                }
                let targets = pending(&api.local_view().state);
                let now = Instant::now();
                next_at.retain(|id, _| targets.iter().any(|t| t.instance == *id));
                for target in targets {
                    if in_flight.len() >= MAX_IN_FLIGHT {
                        break;
                    }
                    let due = next_at.get(&target.instance).is_none_or(|at| *at <= now);
                    if !due || in_flight.contains(&target.instance) {
                        continue;
                    }
                    next_at.insert(target.instance.clone(), now + target.interval);
                    in_flight.insert(target.instance.clone());
                    let client = client.clone();
                    probes.spawn(async move {
                        let result = probe(&client, &target).await;
                        (target, result)
                    });
                }
            }
            Some(done) = probes.join_next(), if !probes.is_empty() => {
                let Ok((target, result)) = done else { continue };
                in_flight.remove(&target.instance);
                match result {
                    Ok(response) if target.codes.contains(&response.status) => {
                        mark_ready(api, fence, target, response).await;
                    }
                    Ok(response) => tracing::debug!(instance = %target.instance,
                        status = response.status, "not ready yet"),
                    Err(cause) => tracing::debug!(instance = %target.instance, %cause, "not ready yet"),
                }
            }
        }
    }
}

async fn mark_ready(
    api: &Api,
    fence: &Fence,
    target: ReadinessTarget,
    response: ReadinessResponse,
) {
    if !fence.holds() {
        return;
    }
    let command = Command::MarkReady {
        instance: target.instance.clone(),
        task: target.task,
        response: target.preserve.then_some(response),
    };
    match api.propose(None, command).await {
        Ok(Outcome::MarkedReady { changed: true }) => {
            tracing::info!(instance = %target.instance, "instance ready");
        }
        Ok(_) => {}
        Err(e) => tracing::info!(instance = %target.instance, %e, "readiness not committed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::app::{AppInput, parse_app};
    use crate::state::ids::{AgentId, DeploymentId};
    use crate::state::model::{Instance, StatusReport};
    use crate::state::path::PathId;
    use crate::state::time::Timestamp;
    use crate::state::{Deploy, PutMode, Request};

    fn apply(state: &mut State, index: &mut u64, command: Command) -> Outcome {
        *index += 1;
        let request = Request::new(Timestamp(10_000 + *index as i64), None, command);
        state.apply((*index, 0), &request).0.expect("accepted")
    }

    fn running(state: &mut State, index: &mut u64, app: &PathId) -> InstanceId {
        let version = state.app(app).expect("app").version;
        let id = InstanceId::for_app(app, uuid::Uuid::new_v4());
        let instance = Instance {
            id: id.clone(),
            app: app.clone(),
            app_version: version,
            goal: Goal::Running,
            observed: None,
            agent: Some(AgentId("a1".into())),
            hostname: Some("127.0.1.2".into()),
            agent_attributes: Default::default(),
            region: None,
            zone: None,
            host_ports: vec![31000, 31001],
            incarnation: 1,
            reservation: None,
            provisioned_at: Timestamp(0),
            health: Default::default(),
            ready: false,
            readiness_response: None,
            check_result: None,
            revision: 0,
        };
        apply(
            state,
            index,
            Command::ProvisionInstance {
                instance: Box::new(instance),
            },
        );
        let report = StatusReport {
            task_id: TaskId(format!("{id}._app.1")),
            agent: None,
            condition: Condition::Running,
            status_uuid: Some("u".into()),
            message: None,
            reason: None,
            healthy: None,
            check: None,
        };
        apply(state, index, Command::RecordStatus { report });
        id
    }

    #[test]
    fn new_instances_of_a_deploying_app_wait_for_readiness_on_the_named_port() {
        let mut state = State::default();
        let mut index = 0;
        let app = parse_app(
            br#"{"id":"/web","cmd":"x","portDefinitions":[{"port":0,"name":"admin"},{"port":0,"name":"http-api"}],
                "readinessChecks":[{"path":"/ready","intervalSeconds":3,"timeoutSeconds":2,"httpStatusCodesForReady":[200,204]}]}"#,
            AppInput::Create,
        )
        .expect("valid app");
        let id = app.id.clone();
        let deployment = DeploymentId("d1".into());
        apply(
            &mut state,
            &mut index,
            Command::PutApp {
                app: Box::new(app),
                expected_revision: None,
                mode: PutMode::Create,
                deploy: Deploy {
                    id: deployment.clone(),
                    force: false,
                },
            },
        );
        let instance = running(&mut state, &mut index, &id);
        let targets = pending(&state);
        assert_eq!(targets.len(), 1);
        let t = &targets[0];
        assert_eq!(t.instance, instance);
        assert_eq!(t.url, "http://127.0.1.2:31001/ready");
        assert_eq!(t.interval, Duration::from_secs(3));
        assert_eq!(t.codes, vec![200, 204]);
        // Ready: no longer probed.
        apply(
            &mut state,
            &mut index,
            Command::MarkReady {
                instance: instance.clone(),
                task: t.task.clone(),
                response: None,
            },
        );
        assert!(pending(&state).is_empty());
        // A new instance after the deployment ended is not probed.
        apply(
            &mut state,
            &mut index,
            Command::CancelDeployment { id: deployment },
        );
        running(&mut state, &mut index, &id);
        assert!(pending(&state).is_empty());
    }
}
