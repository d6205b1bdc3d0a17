//! Health checks and checks as pure decisions: what a task's HealthCheck or CheckInfo asks to
//! probe and when (Mesos' defaults filled in), why one is invalid at launch, the health verdict
//! after each probe (grace period, consecutive failures, kill) and a check's reported result.

use crate::mesos::{
    CheckInfo, CheckStatusInfo, CheckType, CommandCheckStatus, CommandInfo, HealthCheck, HttpCheck,
    HttpCheckStatus, TcpCheckStatus,
};
use std::time::{Duration, Instant};

/// Mesos' defaults for unset timings.
const DEFAULT_DELAY: f64 = 15.0;
const DEFAULT_INTERVAL: f64 = 10.0;
const DEFAULT_TIMEOUT: f64 = 20.0;
const DEFAULT_GRACE: f64 = 10.0;
const DEFAULT_CONSECUTIVE_FAILURES: u32 = 3;
/// An interval of 0 would probe without pause and starve the machine; this is the shortest.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// What one probe does.
#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    /// GET `path` on the agent's address; `https` is asked for but not spoken by mesos-local.
    Http {
        https: bool,
        port: u16,
        path: String,
        statuses: Vec<u32>,
    },
    /// Connects to the port on the agent's address.
    Tcp { port: u16 },
    /// Runs the command in the task's sandbox with the task's environment.
    Command(CommandInfo),
}

/// A probe and its timings.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSpec {
    pub probe: Probe,
    /// After the task starts, before the first probe.
    pub delay: Duration,
    /// From the end of one probe to the start of the next.
    pub interval: Duration,
    /// `None`: a probe may take as long as it takes (Mesos' `timeout_seconds: 0`).
    pub timeout: Option<Duration>,
}

/// When a failing health check kills its task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthPolicy {
    /// Failures this long after the task started are ignored until the first success.
    pub grace: Duration,
    pub consecutive_failures: u32,
}

fn seconds(value: Option<f64>, default: f64, field: &str) -> Result<Duration, String> {
    let secs = value.unwrap_or(default);
    if !(0.0..1e9).contains(&secs) {
        return Err(format!("Expecting '{field}' to be non-negative"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn port(p: u32) -> Result<u16, String> {
    u16::try_from(p)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("Port {p} is out of range"))
}

fn http_probe(http: &HttpCheck, what: &str) -> Result<Probe, String> {
    let https = match http.scheme.as_deref() {
        None | Some("http") => false,
        Some("https") => true,
        Some(other) => return Err(format!("Unsupported HTTP {what} scheme: '{other}'")),
    };
    let path = http.path.clone().unwrap_or_else(|| "/".to_owned());
    if !path.starts_with('/') {
        return Err(format!(
            "The path '{path}' of HTTP {what} must start with '/'"
        ));
    }
    Ok(Probe::Http {
        https,
        port: port(http.port)?,
        path,
        statuses: http.statuses.clone(),
    })
}

fn command_probe(command: Option<&CommandInfo>, what: &str) -> Result<Probe, String> {
    let command =
        command.ok_or_else(|| format!("Expecting 'command' to be set for COMMAND {what}"))?;
    if command.value.as_deref().is_none_or(str::is_empty) {
        return Err(format!(
            "Command of COMMAND {what} must have a non-empty 'value'"
        ));
    }
    Ok(Probe::Command(command.clone()))
}

fn probe_of(
    kind: CheckType,
    command: Option<&CommandInfo>,
    http: Option<&HttpCheck>,
    tcp: Option<u32>,
    what: &str,
) -> Result<Probe, String> {
    match kind {
        CheckType::Command => command_probe(command, what),
        CheckType::Http => {
            let http = http.ok_or_else(|| format!("Expecting 'http' to be set for HTTP {what}"))?;
            http_probe(http, what)
        }
        CheckType::Tcp => {
            let p = tcp.ok_or_else(|| format!("Expecting 'tcp' to be set for TCP {what}"))?;
            Ok(Probe::Tcp { port: port(p)? })
        }
        CheckType::Unknown => Err(format!("'type' of {what} must be COMMAND, HTTP or TCP")),
    }
}

fn timeout(value: Option<f64>) -> Result<Option<Duration>, String> {
    let t = seconds(value, DEFAULT_TIMEOUT, "timeout_seconds")?;
    Ok((!t.is_zero()).then_some(t))
}

/// A task's health check as mesos-local runs it, or why the master refuses the task.
pub fn health_spec(h: &HealthCheck) -> Result<(ProbeSpec, HealthPolicy), String> {
    let what = "health check";
    let probe = probe_of(
        h.kind,
        h.command.as_ref(),
        h.http.as_ref(),
        h.tcp.as_ref().map(|t| t.port),
        what,
    )?;
    let spec = ProbeSpec {
        probe,
        delay: seconds(h.delay_seconds, DEFAULT_DELAY, "delay_seconds")?,
        interval: seconds(h.interval_seconds, DEFAULT_INTERVAL, "interval_seconds")?
            .max(MIN_INTERVAL),
        timeout: timeout(h.timeout_seconds)?,
    };
    let policy = HealthPolicy {
        grace: seconds(
            h.grace_period_seconds,
            DEFAULT_GRACE,
            "grace_period_seconds",
        )?,
        consecutive_failures: h
            .consecutive_failures
            .unwrap_or(DEFAULT_CONSECUTIVE_FAILURES),
    };
    Ok((spec, policy))
}

/// A task's (non-killing) check as mesos-local runs it, or why the master refuses the task.
pub fn check_spec(c: &CheckInfo) -> Result<ProbeSpec, String> {
    let probe = probe_of(
        c.kind,
        c.command.as_ref().map(|c| &c.command),
        c.http.as_ref(),
        c.tcp.as_ref().map(|t| t.port),
        "check",
    )?;
    Ok(ProbeSpec {
        probe,
        delay: seconds(c.delay_seconds, DEFAULT_DELAY, "delay_seconds")?,
        interval: seconds(c.interval_seconds, DEFAULT_INTERVAL, "interval_seconds")?
            .max(MIN_INTERVAL),
        timeout: timeout(c.timeout_seconds)?,
    })
}

/// What one probe saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The command's exit code; `None` when it timed out or could not run.
    Exited(Option<i32>),
    /// The response's status code; `None` when there was no response.
    Http(Option<u32>),
    /// Whether the connection was established.
    Tcp(bool),
}

impl Observation {
    /// The built-in executors' verdict: exit 0, a status in `statuses` (200–399 when empty),
    /// or a connection.
    pub fn healthy(&self, statuses: &[u32]) -> bool {
        match *self {
            Observation::Exited(code) => code == Some(0),
            Observation::Http(Some(code)) if statuses.is_empty() => (200..400).contains(&code),
            Observation::Http(Some(code)) => statuses.contains(&code),
            Observation::Http(None) => false,
            Observation::Tcp(ok) => ok,
        }
    }

    /// The check's result as a status carries it; an empty sub-object means "unknown".
    pub fn check_status(&self) -> CheckStatusInfo {
        let mut status = unknown_check_status(self.kind());
        match *self {
            Observation::Exited(exit_code) => {
                status.command = Some(CommandCheckStatus { exit_code });
            }
            Observation::Http(status_code) => {
                status.http = Some(HttpCheckStatus { status_code });
            }
            Observation::Tcp(succeeded) => {
                status.tcp = Some(TcpCheckStatus {
                    succeeded: Some(succeeded),
                });
            }
        }
        status
    }

    fn kind(&self) -> CheckType {
        match self {
            Observation::Exited(_) => CheckType::Command,
            Observation::Http(_) => CheckType::Http,
            Observation::Tcp(_) => CheckType::Tcp,
        }
    }

    /// What a probe that succeeds sees, for simulated tasks.
    pub fn success(probe: &Probe) -> Observation {
        match probe {
            Probe::Command(_) => Observation::Exited(Some(0)),
            Probe::Http { .. } => Observation::Http(Some(200)),
            Probe::Tcp { .. } => Observation::Tcp(true),
        }
    }
}

/// A check's status before its first result: its type with an empty sub-object, which every
/// status of a task with a check carries until there is a result.
pub fn unknown_check_status(kind: CheckType) -> CheckStatusInfo {
    CheckStatusInfo {
        kind: Some(kind),
        command: (kind == CheckType::Command).then(CommandCheckStatus::default),
        http: (kind == CheckType::Http).then(HttpCheckStatus::default),
        tcp: (kind == CheckType::Tcp).then(TcpCheckStatus::default),
    }
}

/// What the agent does after a health probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to report (a failure in the grace period, or one more success).
    Quiet,
    /// A TASK_RUNNING update with `healthy` set.
    Report { healthy: bool },
    /// Too many consecutive failures: report unhealthy and kill the task.
    Kill,
}

/// A health check's memory between probes, as Mesos' health checker keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthState {
    pub policy: HealthPolicy,
    started: Instant,
    /// Until the first success, failures within the grace period are ignored.
    initializing: bool,
    consecutive_failures: u32,
}

impl HealthState {
    pub fn new(policy: HealthPolicy, started: Instant) -> HealthState {
        HealthState {
            policy,
            started,
            initializing: true,
            consecutive_failures: 0,
        }
    }

    /// Every counted failure is reported (and kills once there are enough in a row); a success
    /// is reported only when it is the first, or the first after failures.
    pub fn record(&mut self, healthy: bool, now: Instant) -> Verdict {
        if healthy {
            let report = self.initializing || self.consecutive_failures > 0;
            self.initializing = false;
            self.consecutive_failures = 0;
            return if report {
                Verdict::Report { healthy: true }
            } else {
                Verdict::Quiet
            };
        }
        if self.initializing && now.saturating_duration_since(self.started) <= self.policy.grace {
            return Verdict::Quiet;
        }
        self.consecutive_failures += 1;
        if self.consecutive_failures >= self.policy.consecutive_failures {
            Verdict::Kill
        } else {
            Verdict::Report { healthy: false }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{CommandCheck, TcpCheck};

    fn health(kind: CheckType) -> HealthCheck {
        HealthCheck {
            kind,
            command: None,
            http: None,
            tcp: None,
            delay_seconds: None,
            interval_seconds: None,
            timeout_seconds: None,
            consecutive_failures: None,
            grace_period_seconds: None,
        }
    }

    #[test]
    fn unset_timings_take_mesos_defaults() {
        let mut h = health(CheckType::Tcp);
        h.tcp = Some(TcpCheck {
            port: 8080,
            protocol: None,
        });
        let (spec, policy) = health_spec(&h).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.probe, Probe::Tcp { port: 8080 });
        assert_eq!(spec.delay, Duration::from_secs(15));
        assert_eq!(spec.interval, Duration::from_secs(10));
        assert_eq!(spec.timeout, Some(Duration::from_secs(20)));
        assert_eq!(policy.grace, Duration::from_secs(10));
        assert_eq!(policy.consecutive_failures, 3);
        h.timeout_seconds = Some(0.0);
        h.interval_seconds = Some(0.0);
        let (spec, _) = health_spec(&h).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.timeout, None, "0 means no timeout");
        assert_eq!(spec.interval, MIN_INTERVAL);
    }

    #[test]
    fn invalid_checks_say_why() {
        let mut negative = health(CheckType::Tcp);
        negative.tcp = Some(TcpCheck {
            port: 80,
            protocol: None,
        });
        negative.grace_period_seconds = Some(-1.0);
        let mut bad_path = health(CheckType::Http);
        bad_path.http = Some(HttpCheck {
            port: 80,
            path: Some("health".into()),
            ..HttpCheck::default()
        });
        let mut bad_scheme = health(CheckType::Http);
        bad_scheme.http = Some(HttpCheck {
            scheme: Some("ftp".into()),
            port: 80,
            ..HttpCheck::default()
        });
        let mut bad_port = health(CheckType::Tcp);
        bad_port.tcp = Some(TcpCheck {
            port: 70_000,
            protocol: None,
        });
        let mut empty_command = health(CheckType::Command);
        empty_command.command = Some(CommandInfo::default());
        let table = [
            (health(CheckType::Http), "Expecting 'http' to be set"),
            (health(CheckType::Command), "Expecting 'command' to be set"),
            (health(CheckType::Tcp), "Expecting 'tcp' to be set"),
            (health(CheckType::Unknown), "must be COMMAND, HTTP or TCP"),
            (negative, "'grace_period_seconds' to be non-negative"),
            (
                bad_path,
                "The path 'health' of HTTP health check must start",
            ),
            (bad_scheme, "Unsupported HTTP health check scheme: 'ftp'"),
            (bad_port, "Port 70000 is out of range"),
            (empty_command, "non-empty 'value'"),
        ];
        for (h, want) in table {
            let err = health_spec(&h).map(|_| ()).unwrap_err();
            assert!(err.contains(want), "{h:?}: {err}");
        }
        let check = CheckInfo {
            kind: CheckType::Command,
            command: Some(CommandCheck {
                command: CommandInfo::shell("true"),
            }),
            http: None,
            tcp: None,
            delay_seconds: Some(0.5),
            interval_seconds: Some(1.0),
            timeout_seconds: Some(2.0),
        };
        let spec = check_spec(&check).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.delay, Duration::from_millis(500));
        assert_eq!(spec.probe, Probe::Command(CommandInfo::shell("true")));
    }

    #[test]
    fn observations_judge_health_and_read_as_check_statuses() {
        let table = [
            (Observation::Exited(Some(0)), &[][..], true),
            (Observation::Exited(Some(1)), &[], false),
            (Observation::Exited(None), &[], false),
            (Observation::Http(Some(200)), &[], true),
            (Observation::Http(Some(399)), &[], true),
            (Observation::Http(Some(404)), &[], false),
            (Observation::Http(Some(503)), &[503], true),
            (Observation::Http(None), &[], false),
            (Observation::Tcp(true), &[], true),
            (Observation::Tcp(false), &[], false),
        ];
        for (obs, statuses, want) in table {
            assert_eq!(obs.healthy(statuses), want, "{obs:?} {statuses:?}");
        }
        let wire = |o: Observation| serde_json::to_value(o.check_status()).ok();
        assert_eq!(
            wire(Observation::Http(Some(200))),
            Some(serde_json::json!({"type": "HTTP", "http": {"status_code": 200}}))
        );
        assert_eq!(
            wire(Observation::Exited(None)),
            Some(serde_json::json!({"type": "COMMAND", "command": {}}))
        );
        assert_eq!(
            wire(Observation::Tcp(false)),
            Some(serde_json::json!({"type": "TCP", "tcp": {"succeeded": false}}))
        );
    }

    #[test]
    fn grace_period_then_consecutive_failures_kill() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let policy = HealthPolicy {
            grace: Duration::from_secs(10),
            consecutive_failures: 2,
        };
        // (healthy, at second, verdict)
        type Step = (bool, u64, Verdict);
        let quiet = Verdict::Quiet;
        let ok = Verdict::Report { healthy: true };
        let bad = Verdict::Report { healthy: false };
        let table: [(&str, Vec<Step>); 4] = [
            (
                "failures in the grace period are ignored until the first success",
                vec![
                    (false, 1, quiet),
                    (false, 5, quiet),
                    (true, 6, ok),
                    (true, 7, quiet),
                ],
            ),
            (
                "after the first success the grace period no longer applies",
                vec![
                    (true, 1, ok),
                    (false, 2, bad),
                    (true, 3, ok),
                    (false, 4, bad),
                    (false, 5, Verdict::Kill),
                ],
            ),
            (
                "past the grace period failures count without a success",
                vec![(false, 11, bad), (false, 12, Verdict::Kill)],
            ),
            (
                "a success resets the count",
                vec![
                    (false, 11, bad),
                    (true, 12, ok),
                    (false, 13, bad),
                    (true, 14, ok),
                ],
            ),
        ];
        for (case, steps) in table {
            let mut state = HealthState::new(policy, t0);
            for (healthy, at, want) in steps {
                assert_eq!(state.record(healthy, s(at)), want, "{case}: at {at}s");
            }
        }
    }
}
