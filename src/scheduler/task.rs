//! The TaskInfo an instance is launched with: Marathon's mapping of an app definition onto a
//! Mesos task (command or arguments, resources taken from the offer, environment with the
//! `MARATHON_APP_*` and port variables, fetch URIs, container image, labels, kill policy, and
//! the checks the agent runs).

use super::placement::Placed;
use crate::mesos::{
    AgentId, CommandInfo, CommandUri, ContainerInfo, ContainerType, DockerInfo, DockerNetwork,
    DurationInfo, EnvVariable, Environment, Image, ImageType, KillPolicy, Label, Labels, MesosInfo,
    NamedImage, Parameter, TaskId, TaskInfo,
};
use crate::state::app::{AppDefinition, Container, EnvValue};
use crate::state::model::Instance;
use crate::state::time::Timestamp;

/// The task that runs `instance`, placed on `agent` with `placed`'s resources and ports.
pub fn task_info(
    instance: &Instance,
    app_version: Timestamp,
    placed: &Placed,
    agent: &AgentId,
    hostname: &str,
) -> TaskInfo {
    let app = &placed.app;
    let mut task = TaskInfo::command(
        app.id.to_string(),
        TaskId::new(instance.task_id().0.to_string()),
        agent.clone(),
        placed.resources.clone(),
        command(app, app_version, &placed.host_ports, hostname),
    );
    task.container = app.container.as_ref().and_then(container);
    task.health_check = super::checks::health_check(app, &placed.host_ports);
    task.check = super::checks::check(app, &placed.host_ports);
    task.kill_policy = app.task_kill_grace_period_seconds.map(|secs| KillPolicy {
        grace_period: Some(DurationInfo::from_secs_f64(secs as f64)),
    });
    if !app.labels.is_empty() {
        task.labels = Some(Labels {
            labels: app
                .labels
                .iter()
                .map(|(k, v)| Label {
                    key: k.clone(),
                    value: Some(v.clone()),
                })
                .collect(),
        });
    }
    task
}

fn command(
    app: &AppDefinition,
    app_version: Timestamp,
    ports: &[u32],
    hostname: &str,
) -> CommandInfo {
    let mut info = match (&app.cmd, app.args.split_first()) {
        (Some(cmd), _) => CommandInfo::shell(cmd.clone()),
        // `args` alone: run the first argument directly (or the image's entrypoint with them).
        (None, Some((first, _))) => CommandInfo {
            value: app.container.is_none().then(|| first.clone()),
            shell: Some(false),
            arguments: app.args.clone(),
            ..CommandInfo::default()
        },
        (None, None) => CommandInfo {
            shell: Some(false),
            ..CommandInfo::default()
        },
    };
    info.user = app.user.clone();
    info.uris = app
        .fetch
        .iter()
        .map(|f| CommandUri {
            value: f.uri.clone(),
            executable: Some(f.executable),
            extract: Some(f.extract),
            cache: Some(f.cache),
            output_file: f.dest_path.clone(),
        })
        .collect();
    info.environment = Some(Environment {
        variables: environment(app, app_version, ports, hostname)
            .into_iter()
            .map(|(name, value)| EnvVariable::value(name, value))
            .collect(),
    });
    info
}

/// The task's environment: the app's own variables, then Marathon's (which win, as there).
fn environment(
    app: &AppDefinition,
    app_version: Timestamp,
    ports: &[u32],
    hostname: &str,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = app
        .env
        .iter()
        .filter_map(|(k, v)| match v {
            EnvValue::Value(v) => Some((k.clone(), v.clone())),
            // Refused at validation until secrets exist; never reaches a task.
            EnvValue::Secret { .. } => None,
        })
        .collect();
    let mut set = |k: String, v: String| {
        env.retain(|(name, _)| *name != k);
        env.push((k, v));
    };
    set("MARATHON_APP_ID".into(), app.id.to_string());
    set("MARATHON_APP_VERSION".into(), app_version.to_string());
    set("MARATHON_APP_RESOURCE_CPUS".into(), app.cpus.to_string());
    set("MARATHON_APP_RESOURCE_MEM".into(), app.mem.to_string());
    set("MARATHON_APP_RESOURCE_DISK".into(), app.disk.to_string());
    set("MARATHON_APP_RESOURCE_GPUS".into(), app.gpus.to_string());
    let labels: Vec<&str> = app.labels.keys().map(String::as_str).collect();
    set("MARATHON_APP_LABELS".into(), labels.join(" "));
    for (k, v) in &app.labels {
        set(format!("MARATHON_APP_LABEL_{}", env_name(k)), v.clone());
    }
    if let Some(image) = app
        .container
        .as_ref()
        .and_then(|c| c.docker.as_ref())
        .map(|d| d.image.clone())
    {
        set("MARATHON_APP_DOCKER_IMAGE".into(), image);
    }
    set("HOST".into(), hostname.to_string());
    for (i, port) in ports.iter().enumerate() {
        set(format!("PORT{i}"), port.to_string());
        if let Some(name) = app.port_definitions.get(i).and_then(|d| d.name.as_ref()) {
            set(format!("PORT_{}", env_name(name)), port.to_string());
        }
    }
    if let Some(first) = ports.first() {
        set("PORT".into(), first.to_string());
        let all: Vec<String> = ports.iter().map(u32::to_string).collect();
        set("PORTS".into(), all.join(","));
    }
    env
}

/// A label or port name as an environment variable name: upper case, `_` for anything else.
fn env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The container of a task with an image; `None` for a plain command task.
fn container(c: &Container) -> Option<ContainerInfo> {
    let docker = c.docker.as_ref()?;
    let mut info = ContainerInfo {
        kind: ContainerType::Mesos,
        docker: None,
        mesos: None,
        volumes: Vec::new(),
        hostname: None,
        network_infos: Vec::new(),
    };
    match c.kind {
        crate::state::app::ContainerType::Mesos => {
            info.mesos = Some(MesosInfo {
                image: Some(Image {
                    kind: ImageType::Docker,
                    docker: Some(NamedImage {
                        name: docker.image.clone(),
                    }),
                    appc: None,
                    cached: Some(!docker.force_pull_image),
                }),
            });
        }
        crate::state::app::ContainerType::Docker => {
            info.kind = ContainerType::Docker;
            info.docker = Some(DockerInfo {
                image: docker.image.clone(),
                network: Some(DockerNetwork::Host),
                port_mappings: Vec::new(),
                privileged: Some(docker.privileged),
                parameters: docker
                    .parameters
                    .iter()
                    .map(|p| Parameter {
                        key: p.key.clone(),
                        value: p.value.clone(),
                    })
                    .collect(),
                force_pull_image: Some(docker.force_pull_image),
            });
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{Resource, Value};
    use crate::state::app::{AppInput, parse_app};
    use crate::state::ids::InstanceId;
    use std::sync::Arc;

    fn launch(json: &str, ports: Vec<u32>) -> TaskInfo {
        let app = Arc::new(parse_app(json.as_bytes(), AppInput::Create).expect("valid"));
        let instance = Instance {
            host_ports: ports.clone(),
            ..Instance::fixture(
                InstanceId::for_app(&app.id, uuid::Uuid::nil()),
                app.id.clone(),
                Timestamp(0),
            )
        };
        let placed = Placed {
            app,
            resources: vec![Resource::scalar("cpus", 0.5)],
            host_ports: ports,
        };
        task_info(
            &instance,
            Timestamp(1_443_541_191_164),
            &placed,
            &AgentId::new("a1"),
            "127.0.1.1",
        )
    }

    fn env(task: &TaskInfo) -> Vec<(String, String)> {
        let command = task.command.as_ref().expect("a command task");
        command
            .environment
            .as_ref()
            .map(|e| {
                e.variables
                    .iter()
                    .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn var<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_command_app_becomes_a_shell_task_named_after_the_app() {
        let task = launch(
            r#"{"id":"/prod/web","cmd":"python3 -m http.server $PORT0","cpus":0.5,
                "env":{"A":"1","PORT0":"overridden"},"labels":{"tier":"front"},
                "taskKillGracePeriodSeconds":7,
                "fetch":[{"uri":"/tmp/x.tgz","extract":true}]}"#,
            vec![31005],
        );
        assert_eq!(task.name, "/prod/web");
        assert_eq!(
            task.task_id.as_str(),
            "prod_web.instance-00000000-0000-0000-0000-000000000000._app.1"
        );
        let command = task.command.clone().unwrap();
        assert_eq!(
            command.value.as_deref(),
            Some("python3 -m http.server $PORT0")
        );
        assert!(command.runs_in_shell());
        assert_eq!(command.uris[0].value, "/tmp/x.tgz");
        assert_eq!(command.uris[0].extract, Some(true));
        let env = env(&task);
        assert_eq!(var(&env, "A"), Some("1"));
        assert_eq!(
            var(&env, "PORT0"),
            Some("31005"),
            "Marathon's port variables win"
        );
        assert_eq!(var(&env, "PORTS"), Some("31005"));
        assert_eq!(var(&env, "HOST"), Some("127.0.1.1"));
        assert_eq!(var(&env, "MARATHON_APP_ID"), Some("/prod/web"));
        assert_eq!(
            var(&env, "MARATHON_APP_VERSION"),
            Some("2015-09-29T15:39:51.164Z")
        );
        assert_eq!(var(&env, "MARATHON_APP_LABEL_TIER"), Some("front"));
        assert_eq!(
            task.kill_policy.unwrap().grace_period,
            Some(DurationInfo::from_secs_f64(7.0))
        );
        assert_eq!(task.labels.unwrap().labels[0].key, "tier");
        assert!(matches!(task.resources[0].value, Value::Scalar(v) if v == 0.5));
    }

    #[test]
    fn args_run_without_a_shell_and_an_image_makes_a_container() {
        let task = launch(r#"{"id":"/a","args":["/bin/sleep","100"]}"#, vec![]);
        let command = task.command.clone().unwrap();
        assert!(!command.runs_in_shell());
        assert_eq!(command.value.as_deref(), Some("/bin/sleep"));
        assert_eq!(command.arguments, vec!["/bin/sleep", "100"]);
        assert!(task.container.is_none());

        let task = launch(
            r#"{"id":"/img","args":["serve"],
                "container":{"type":"MESOS","docker":{"image":"nginx:1.25"}}}"#,
            vec![],
        );
        let container = task.container.unwrap();
        assert_eq!(container.image(), Some("nginx:1.25"));
        assert_eq!(
            task.command.unwrap().value,
            None,
            "the image's entrypoint runs"
        );
        let task = launch(
            r#"{"id":"/d","cmd":"x","container":{"type":"DOCKER","docker":{"image":"redis"}}}"#,
            vec![],
        );
        assert_eq!(task.container.unwrap().kind, ContainerType::Docker);
    }
}
