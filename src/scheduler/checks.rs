//! The checks the agent runs for a task, pure: an app's Mesos health check (`MESOS_HTTP`,
//! `MESOS_HTTPS`, `MESOS_TCP`, `COMMAND`) as the TaskInfo's `health_check`, and its `check`
//! (reported only) as the TaskInfo's `check`, ports resolved against the instance's host ports.
//! Leader-run checks (`HTTP`, `HTTPS`, `TCP`) never reach the TaskInfo.

use crate::mesos::{
    CheckInfo, CheckType, CommandCheck, CommandInfo, HealthCheck, HttpCheck, TcpCheck,
};
use crate::state::app::{self, AppDefinition, HealthCheckProtocol, HttpScheme};

/// The host port a check addresses: `port` when set, else the instance's host port at
/// `portIndex` (0 when unset, as Marathon). `None` when the index addresses no port.
pub fn resolve_port(port: Option<u32>, port_index: Option<u32>, host_ports: &[u32]) -> Option<u32> {
    match port {
        Some(p) => Some(p),
        None => host_ports.get(port_index.unwrap_or(0) as usize).copied(),
    }
}

/// The app's Mesos health check for a task with `host_ports` (an app has at most one; a port
/// index that addresses nothing was refused when the app was validated, so it yields none).
pub fn health_check(app: &AppDefinition, host_ports: &[u32]) -> Option<HealthCheck> {
    let hc = app.health_checks.iter().find(|h| h.protocol.is_mesos())?;
    let mut check = HealthCheck {
        kind: CheckType::Http,
        command: None,
        http: None,
        tcp: None,
        delay_seconds: Some(hc.delay_seconds as f64),
        interval_seconds: Some(hc.interval_seconds as f64),
        timeout_seconds: Some(hc.timeout_seconds as f64),
        consecutive_failures: Some(hc.max_consecutive_failures),
        grace_period_seconds: Some(hc.grace_period_seconds as f64),
    };
    let port = || resolve_port(hc.port, hc.port_index, host_ports);
    match hc.protocol {
        HealthCheckProtocol::MesosHttp | HealthCheckProtocol::MesosHttps => {
            let scheme = if hc.protocol == HealthCheckProtocol::MesosHttps {
                "https"
            } else {
                "http"
            };
            check.http = Some(HttpCheck {
                scheme: Some(scheme.to_string()),
                port: port()?,
                path: Some(hc.path.clone().unwrap_or_else(|| "/".to_string())),
                protocol: None,
                statuses: Vec::new(),
            });
        }
        HealthCheckProtocol::MesosTcp => {
            check.kind = CheckType::Tcp;
            check.tcp = Some(TcpCheck {
                port: port()?,
                protocol: None,
            });
        }
        HealthCheckProtocol::Command => {
            check.kind = CheckType::Command;
            check.command = Some(CommandInfo::shell(hc.command.as_ref()?.value.clone()));
        }
        HealthCheckProtocol::Http | HealthCheckProtocol::Https | HealthCheckProtocol::Tcp => {
            return None;
        }
    }
    Some(check)
}

/// The app's `check` for a task with `host_ports`.
pub fn check(app: &AppDefinition, host_ports: &[u32]) -> Option<CheckInfo> {
    let c = app.check.as_ref()?;
    let mut info = CheckInfo {
        kind: CheckType::Command,
        command: None,
        http: None,
        tcp: None,
        delay_seconds: Some(c.delay_seconds as f64),
        interval_seconds: Some(c.interval_seconds as f64),
        timeout_seconds: Some(c.timeout_seconds as f64),
    };
    if let Some(http) = &c.http {
        info.kind = CheckType::Http;
        info.http = Some(HttpCheck {
            scheme: http.scheme.map(|s| match s {
                HttpScheme::Http => "http".to_string(),
                HttpScheme::Https => "https".to_string(),
            }),
            port: resolve_port(http.port, http.port_index, host_ports)?,
            path: Some(http.path.clone().unwrap_or_else(|| "/".to_string())),
            protocol: None,
            statuses: Vec::new(),
        });
    } else if let Some(tcp) = &c.tcp {
        info.kind = CheckType::Tcp;
        info.tcp = Some(TcpCheck {
            port: resolve_port(tcp.port, tcp.port_index, host_ports)?,
            protocol: None,
        });
    } else {
        info.command = Some(CommandCheck {
            command: exec(&c.exec.as_ref()?.command)?,
        });
    }
    Some(info)
}

fn exec(command: &app::ExecCommand) -> Option<CommandInfo> {
    if let Some(shell) = &command.shell {
        return Some(CommandInfo::shell(shell.clone()));
    }
    let argv = command.argv.as_ref()?;
    Some(CommandInfo {
        value: argv.first().cloned(),
        shell: Some(false),
        arguments: argv.clone(),
        ..CommandInfo::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::app::{AppInput, parse_app};

    fn app(json: &str) -> AppDefinition {
        parse_app(json.as_bytes(), AppInput::Create).expect("valid app")
    }

    #[test]
    fn mesos_health_checks_map_onto_the_task_with_their_timings() {
        let cases = [
            (
                r#"{"protocol":"MESOS_HTTP","path":"/h","portIndex":1,"gracePeriodSeconds":7,
                    "intervalSeconds":2,"timeoutSeconds":3,"maxConsecutiveFailures":4,"delaySeconds":1}"#,
                serde_json::json!({"type":"HTTP","http":{"scheme":"http","port":31001,"path":"/h"},
                    "delay_seconds":1.0,"interval_seconds":2.0,"timeout_seconds":3.0,
                    "consecutive_failures":4,"grace_period_seconds":7.0}),
            ),
            (
                r#"{"protocol":"MESOS_HTTPS","port":8443}"#,
                serde_json::json!({"type":"HTTP","http":{"scheme":"https","port":8443,"path":"/"},
                    "delay_seconds":15.0,"interval_seconds":60.0,"timeout_seconds":20.0,
                    "consecutive_failures":3,"grace_period_seconds":300.0}),
            ),
            (
                r#"{"protocol":"MESOS_TCP","intervalSeconds":1}"#,
                serde_json::json!({"type":"TCP","tcp":{"port":31000},
                    "delay_seconds":15.0,"interval_seconds":1.0,"timeout_seconds":20.0,
                    "consecutive_failures":3,"grace_period_seconds":300.0}),
            ),
            (
                r#"{"protocol":"COMMAND","command":{"value":"test -f ok"},"maxConsecutiveFailures":2}"#,
                serde_json::json!({"type":"COMMAND","command":{"value":"test -f ok","shell":true},
                    "delay_seconds":15.0,"interval_seconds":60.0,"timeout_seconds":20.0,
                    "consecutive_failures":2,"grace_period_seconds":300.0}),
            ),
        ];
        for (hc, want) in cases {
            let app = app(&format!(
                r#"{{"id":"/w","cmd":"x","portDefinitions":[{{"port":0}},{{"port":0}}],
                    "healthChecks":[{hc}]}}"#
            ));
            let got = health_check(&app, &[31000, 31001]).expect("a Mesos health check");
            assert_eq!(serde_json::to_value(&got).unwrap(), want, "{hc}");
        }
    }

    #[test]
    fn leader_run_checks_stay_off_the_task() {
        let app =
            app(r#"{"id":"/w","cmd":"x","healthChecks":[{"protocol":"HTTP"},{"protocol":"TCP"}]}"#);
        assert_eq!(health_check(&app, &[31000]), None);
        assert_eq!(check(&app, &[31000]), None);
    }

    #[test]
    fn checks_map_onto_the_task() {
        let http = app(
            r#"{"id":"/w","cmd":"x","check":{"http":{"portIndex":0,"path":"/ready"},"intervalSeconds":5}}"#,
        );
        let got = check(&http, &[31005]).expect("a check");
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            serde_json::json!({"type":"HTTP","http":{"port":31005,"path":"/ready"},
                "delay_seconds":15.0,"interval_seconds":5.0,"timeout_seconds":20.0})
        );
        let exec = app(r#"{"id":"/w","cmd":"x","check":{"exec":{"command":{"shell":"true"}}}}"#);
        let got = check(&exec, &[]).expect("a check");
        assert_eq!(got.kind, CheckType::Command);
        assert_eq!(
            got.command.and_then(|c| c.command.value).as_deref(),
            Some("true")
        );
        let tcp = app(r#"{"id":"/w","cmd":"x","check":{"tcp":{"port":9000}}}"#);
        assert_eq!(
            check(&tcp, &[]).and_then(|c| c.tcp).map(|t| t.port),
            Some(9000)
        );
    }

    #[test]
    fn a_port_comes_from_port_else_the_host_port_at_the_index() {
        assert_eq!(resolve_port(Some(80), Some(1), &[1, 2]), Some(80));
        assert_eq!(resolve_port(None, Some(1), &[1, 2]), Some(2));
        assert_eq!(resolve_port(None, None, &[1, 2]), Some(1));
        assert_eq!(resolve_port(None, Some(2), &[1, 2]), None);
    }
}
