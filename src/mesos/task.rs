//! What a framework launches: TaskInfo with its command, container, checks and kill policy;
//! ExecutorInfo and TaskGroupInfo for task groups (pods).

use super::container::ContainerInfo;
use super::resources::Resource;
use super::wire::{
    AgentId, Base64Bytes, DurationInfo, ExecutorId, FrameworkId, Labels, TaskId, lenient, wire_enum,
};
use serde::{Deserialize, Serialize};

/// One task. Exactly one of `command` (the built-in command executor) or `executor` is set,
/// except inside a task group, where the group's executor runs the task's `command`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub name: String,
    pub task_id: TaskId,
    pub agent_id: AgentId,
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Base64Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<DiscoveryInfo>,
}

impl TaskInfo {
    /// A command task with no container, checks or labels; set those fields as needed.
    pub fn command(
        name: impl Into<String>,
        task_id: TaskId,
        agent_id: AgentId,
        resources: Vec<Resource>,
        command: CommandInfo,
    ) -> TaskInfo {
        TaskInfo {
            name: name.into(),
            task_id,
            agent_id,
            resources,
            executor: None,
            command: Some(command),
            container: None,
            health_check: None,
            check: None,
            kill_policy: None,
            data: None,
            labels: None,
            discovery: None,
        }
    }
}

/// What to run. `shell` (default true) runs `/bin/sh -c value`; otherwise `value` is executed
/// with `arguments` (argv[0] included).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<CommandUri>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl CommandInfo {
    pub fn shell(value: impl Into<String>) -> CommandInfo {
        CommandInfo {
            value: Some(value.into()),
            shell: Some(true),
            ..CommandInfo::default()
        }
    }

    /// Whether the command runs through `/bin/sh -c` (Mesos' default when unset).
    pub fn runs_in_shell(&self) -> bool {
        self.shell.unwrap_or(true)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    #[serde(default)]
    pub variables: Vec<EnvVariable>,
}

wire_enum! {
    pub enum EnvVariableType {
        Unknown = "UNKNOWN",
        Value = "VALUE",
        Secret = "SECRET",
    }
}

/// An environment variable: a plain `value` (type VALUE or unset) or a `secret`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVariable {
    pub name: String,
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<EnvVariableType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Kept as JSON: secrets are not wired yet, and are refused before they get here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<serde_json::Value>,
}

impl EnvVariable {
    /// A plain `name=value` variable.
    pub fn value(name: impl Into<String>, value: impl Into<String>) -> EnvVariable {
        EnvVariable {
            name: name.into(),
            kind: Some(EnvVariableType::Value),
            value: Some(value.into()),
            secret: None,
        }
    }
}

/// A file fetched into the sandbox before the task starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandUri {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_file: Option<String>,
}

wire_enum! {
    /// The kind of a health check or a check.
    pub enum CheckType {
        Unknown = "UNKNOWN",
        Command = "COMMAND",
        Http = "HTTP",
        Tcp = "TCP",
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Healthy statuses; empty means 200–399.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCheck {
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// A killing health check, run by the built-in executors. Unset timings take Mesos' defaults
/// (delay 15 s, interval 10 s, timeout 20 s, 3 failures, grace 10 s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    #[serde(rename = "type")]
    pub kind: CheckType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<f64>,
}

/// `{"command": CommandInfo}`: the COMMAND body of a non-killing check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandCheck {
    pub command: CommandInfo,
}

/// A non-killing check, reported in `TaskStatus.check_status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckInfo {
    #[serde(rename = "type")]
    pub kind: CheckType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
}

/// How long a killed task gets between SIGTERM and SIGKILL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<DurationInfo>,
}

wire_enum! {
    pub enum DiscoveryVisibility {
        Framework = "FRAMEWORK",
        Cluster = "CLUSTER",
        External = "EXTERNAL",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryPort {
    pub number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryPorts {
    #[serde(default)]
    pub ports: Vec<DiscoveryPort>,
}

/// Service-discovery hints, passed through Mesos untouched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryInfo {
    pub visibility: DiscoveryVisibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<DiscoveryPorts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

wire_enum! {
    pub enum ExecutorType {
        Default = "DEFAULT",
        Custom = "CUSTOM",
    }
}

/// An executor; for task groups the DEFAULT executor, which must carry no `command`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutorInfo {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<ExecutorType>,
    pub executor_id: ExecutorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_id: Option<FrameworkId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_period: Option<DurationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

/// The tasks of a pod, launched together under one executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskGroupInfo {
    #[serde(default)]
    pub tasks: Vec<TaskInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::resources::{Range, VolumeMode};
    use serde_json::json;

    /// The reference's TaskInfo example, minus the fields we do not model (`limits`,
    /// `max_completion_time`, volume/network details we never send).
    fn reference_task() -> serde_json::Value {
        json!({"name":"web.1","task_id":{"value":"web.1.7d1c"},"agent_id":{"value":"M-S3"},
         "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
                      {"name":"mem","type":"SCALAR","scalar":{"value":256.0}},
                      {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31005,"end":31005}]}}],
         "command":{"shell":true,"value":"exec ./server --port $PORT0",
           "environment":{"variables":[{"name":"PORT0","value":"31005"}]},
           "uris":[{"value":"https://artifacts/app.tgz","extract":true,"cache":false,"executable":false}],
           "user":"nobody"},
         "container":{"type":"MESOS",
           "mesos":{"image":{"type":"DOCKER","docker":{"name":"library/nginx:1.25"},"cached":true}},
           "volumes":[{"container_path":"/etc/app","host_path":"/srv/app/conf","mode":"RO"}],
           "network_infos":[{"name":"overlay-1","labels":{"labels":[]},
                             "port_mappings":[{"host_port":31005,"container_port":80,"protocol":"tcp"}]}]},
         "health_check":{"type":"HTTP","http":{"scheme":"http","port":31005,"path":"/health"},
           "delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0,
           "consecutive_failures":3,"grace_period_seconds":300.0},
         "check":{"type":"HTTP","http":{"port":31005,"path":"/ready"},
           "delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0},
         "kill_policy":{"grace_period":{"nanoseconds":30000000000i64}},
         "labels":{"labels":[{"key":"app","value":"web"}]},
         "discovery":{"visibility":"FRAMEWORK","name":"web",
           "ports":{"ports":[{"number":31005,"name":"http","protocol":"tcp"}]}},
         "data":"b3BhcXVl"})
    }

    #[test]
    fn reference_task_info_round_trips() {
        let wire = reference_task();
        let task: TaskInfo = serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(task.task_id, TaskId::new("web.1.7d1c"));
        assert_eq!(
            task.data.as_ref().map(|d| d.as_slice()),
            Some(&b"opaque"[..])
        );
        assert_eq!(
            task.container.as_ref().and_then(|c| c.image()),
            Some("library/nginx:1.25")
        );
        assert_eq!(
            task.container.as_ref().map(|c| c.volumes[0].mode),
            Some(Some(VolumeMode::Ro))
        );
        assert_eq!(serde_json::to_value(&task).ok(), Some(wire));
    }

    #[test]
    fn built_command_task_has_the_exact_wire_shape() {
        let task = TaskInfo::command(
            "/web",
            TaskId::new("web.instance-1._app.1"),
            AgentId::new("M-S3"),
            vec![
                Resource::scalar("cpus", 0.1),
                Resource::ranges(
                    "ports",
                    vec![Range {
                        begin: 31000,
                        end: 31000,
                    }],
                ),
            ],
            CommandInfo::shell("echo hello"),
        );
        assert_eq!(
            serde_json::to_value(&task).ok(),
            Some(
                json!({"name":"/web","task_id":{"value":"web.instance-1._app.1"},
                "agent_id":{"value":"M-S3"},
                "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}},
                  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000}]}}],
                "command":{"value":"echo hello","shell":true}})
            )
        );
    }

    #[test]
    fn command_health_check_and_check() {
        let hc: HealthCheck = serde_json::from_value(
            json!({"type":"COMMAND","command":{"value":"curl -f localhost:8080/h"}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hc.kind, CheckType::Command);
        assert!(hc.command.is_some_and(|c| c.runs_in_shell()));
        let check: CheckInfo = serde_json::from_value(
            json!({"type":"COMMAND","command":{"command":{"value":"true"}}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            check.command.and_then(|c| c.command.value).as_deref(),
            Some("true")
        );
    }
}
