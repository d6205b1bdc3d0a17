//! The leader's readiness checks, for one term: while a deployment of an app with a readiness
//! check runs, each of the app's new running instances is probed (HTTP or HTTPS GET on the host
//! port named `portName`; HTTPS does not verify the task's certificate, as Marathon) every `intervalSeconds` until it answers with a status in
//! `httpStatusCodesForReady`; then `MarkReady` is committed, so the deployment counts it (once
//! healthy too) and a new leader does not wait for it again. Which instances to probe is
//! [`pending`], pure; the probes' results stay in this loop's memory until one is ready.

use super::Fence;
use crate::api::Api;
use crate::health::tls::{self, TlsConnector};
use crate::state::State;
use crate::state::app::ReadinessProtocol;
use crate::state::health::ReadinessResponse;
use crate::state::ids::{InstanceId, TaskId};
use crate::state::model::{Condition, Goal};
use crate::state::{Command, Outcome};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
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
        if state.deployments_of(&spec.id).next().is_none() {
            continue;
        }
        let scheme = match check.protocol {
            ReadinessProtocol::Http => "http",
            ReadinessProtocol::Https => "https",
        };
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
                url: format!("{scheme}://{host}:{port}{}", check.path),
                interval: Duration::from_secs(check.interval_seconds.max(1)),
                timeout: Duration::from_secs(check.timeout_seconds.max(1)),
                codes: check.http_status_codes_for_ready.clone(),
                preserve: check.preserve_last_response,
            });
        }
    }
    out
}

/// The term's HTTP and HTTPS clients, shared by its probes.
#[derive(Clone)]
struct Clients {
    http: Client<HttpConnector, Empty<Bytes>>,
    https: Client<TlsConnector, Empty<Bytes>>,
    user_agent: HeaderValue,
}

impl Clients {
    fn new(user_agent: &str) -> Clients {
        let builder = Client::builder(TokioExecutor::new());
        Clients {
            http: builder.build(HttpConnector::new()),
            https: builder.build(tls::connector(HttpConnector::new())),
            user_agent: HeaderValue::from_str(user_agent)
                .unwrap_or_else(|_| HeaderValue::from_static("baton")),
        }
    }

    async fn get(&self, uri: Uri) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let https = uri.scheme_str() == Some("https");
        let mut request = Request::new(Empty::new());
        request
            .headers_mut()
            .insert(USER_AGENT, self.user_agent.clone());
        *request.uri_mut() = uri;
        if https {
            send(&self.https, request).await
        } else {
            send(&self.http, request).await
        }
    }
}

async fn send<C>(
    client: &Client<C, Empty<Bytes>>,
    request: Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    client.request(request).await.map_err(|e| {
        let mut cause = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            cause.push_str(": ");
            cause.push_str(&inner.to_string());
            source = inner.source();
        }
        cause
    })
}

/// One probe: the response, or why there was none.
async fn probe(clients: &Clients, target: &ReadinessTarget) -> Result<ReadinessResponse, String> {
    let uri: Uri = target
        .url
        .parse()
        .map_err(|e| format!("invalid readiness URL {}: {e}", target.url))?;
    let attempt = async {
        let response = clients
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
    let client = Clients::new(&crate::health::user_agent(Some(api.id())));
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
        running_on(state, index, app, "127.0.1.2", vec![31000, 31001])
    }

    fn running_on(
        state: &mut State,
        index: &mut u64,
        app: &PathId,
        host: &str,
        host_ports: Vec<u32>,
    ) -> InstanceId {
        let version = state.app(app).expect("app").version;
        let id = InstanceId::for_app(app, uuid::Uuid::new_v4());
        let instance = Instance {
            agent: Some(AgentId("a1".into())),
            hostname: Some(host.into()),
            host_ports,
            ..Instance::fixture(id.clone(), app.clone(), version)
        };
        apply(
            state,
            index,
            Command::ProvisionInstance {
                instance: Box::new(instance),
            },
        );
        let report = StatusReport {
            status_uuid: Some("u".into()),
            ..StatusReport::fixture(TaskId(format!("{id}._app.1").into()), Condition::Running)
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
                app: std::sync::Arc::new(app),
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

    /// An HTTPS server with a self-signed certificate: `/ready` answers 204 with a body, anything
    /// else 503. It records each request's `User-Agent`.
    async fn https_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let acceptor = crate::health::tls::test_server::acceptor();
        let (agents, seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, agents) = (acceptor.clone(), agents.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let agent = request
                                .headers()
                                .get(USER_AGENT)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string();
                            let _ = agents.send(agent);
                            let mut response = hyper::Response::new(http_body_util::Full::new(
                                Bytes::from_static(b"warm"),
                            ));
                            if request.uri().path() == "/ready" {
                                *response.status_mut() = hyper::StatusCode::NO_CONTENT;
                            } else {
                                *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
                            }
                            async move { Ok::<_, std::convert::Infallible>(response) }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn an_https_readiness_check_against_a_self_signed_server_becomes_ready() {
        let (port, mut agents) = https_server().await;
        let mut state = State::default();
        let mut index = 0;
        let definition = |path: &str| {
            format!(
                r#"{{"id":"/tls{path}","cmd":"x","portDefinitions":[{{"port":0,"name":"https"}}],
                    "readinessChecks":[{{"protocol":"HTTPS","path":"{path}","portName":"https",
                    "intervalSeconds":2,"timeoutSeconds":1,"httpStatusCodesForReady":[204]}}]}}"#
            )
        };
        let mut instances = Vec::new();
        for (n, path) in ["/ready", "/warming"].into_iter().enumerate() {
            let app = parse_app(definition(path).as_bytes(), AppInput::Create)
                .expect("HTTPS readiness checks are accepted");
            let id = app.id.clone();
            apply(
                &mut state,
                &mut index,
                Command::PutApp {
                    app: std::sync::Arc::new(app),
                    expected_revision: None,
                    mode: PutMode::Create,
                    deploy: Deploy {
                        id: DeploymentId(format!("d{n}").into()),
                        force: false,
                    },
                },
            );
            let host_ports = vec![u32::from(port)];
            instances.push(running_on(
                &mut state,
                &mut index,
                &id,
                "127.0.0.1",
                host_ports,
            ));
        }
        let targets = pending(&state);
        assert_eq!(targets.len(), 2);
        let target_of = |instance: &InstanceId| {
            targets
                .iter()
                .find(|t| t.instance == *instance)
                .expect("probed")
                .clone()
        };
        let (ready, warming) = (target_of(&instances[0]), target_of(&instances[1]));
        assert_eq!(ready.url, format!("https://127.0.0.1:{port}/ready"));

        let clients = Clients::new("baton/test (node 7)");
        let answer = probe(&clients, &ready)
            .await
            .expect("the self-signed certificate is accepted");
        assert_eq!(answer.status, 204);
        assert!(ready.codes.contains(&answer.status), "ready");
        let answer = probe(&clients, &warming).await.expect("an answer");
        assert_eq!(answer.status, 503);
        assert!(!warming.codes.contains(&answer.status), "not ready yet");
        assert_eq!(agents.recv().await.as_deref(), Some("baton/test (node 7)"));

        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain = ReadinessTarget {
            url: ready.url.replacen("https", "http", 1),
            ..ready.clone()
        };
        probe(&clients, &plain)
            .await
            .expect_err("an HTTP probe of a TLS port fails");
    }
}
