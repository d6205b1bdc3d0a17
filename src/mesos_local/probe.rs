//! One probe of a health check or check, as the agent runs it: an HTTP GET (plain HTTP/1.1 over
//! TCP), a TCP connect, or a command in the task's sandbox, each within its timeout.

use super::checks::{Observation, Probe};
use crate::mesos::CommandInfo;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes of an HTTP response read to find its status line.
const STATUS_LINE_MAX: usize = 1024;

/// Where a task's probes run.
#[derive(Clone, Debug)]
pub struct Target {
    /// The agent's address, which HTTP and TCP probes connect to.
    pub host: String,
    pub sandbox: PathBuf,
    /// The task's environment, which COMMAND probes run with.
    pub env: Vec<(String, String)>,
    /// The task's process group: a COMMAND probe joins it, so it dies with the task.
    pub pgid: Option<u32>,
}

/// Runs one probe; what it saw, and a line for the log when it failed.
pub async fn run(
    probe: &Probe,
    target: &Target,
    timeout: Option<Duration>,
) -> (Observation, String) {
    let attempt = attempt(probe, target);
    let outcome = match timeout {
        Some(t) => tokio::time::timeout(t, attempt).await.ok(),
        None => Some(attempt.await),
    };
    outcome.unwrap_or_else(|| {
        let after = timeout.map(|t| t.as_secs_f64()).unwrap_or_default();
        let timed_out = match probe {
            Probe::Command(_) => Observation::Exited(None),
            Probe::Http { .. } => Observation::Http(None),
            Probe::Tcp { .. } => Observation::Tcp(false),
        };
        (timed_out, format!("timed out after {after}s"))
    })
}

async fn attempt(probe: &Probe, target: &Target) -> (Observation, String) {
    match probe {
        Probe::Http { https: true, .. } => (
            Observation::Http(None),
            "HTTPS is not supported by mesos-local (it has no TLS client)".into(),
        ),
        Probe::Http { port, path, .. } => match http_get(&target.host, *port, path).await {
            Ok(code) => (Observation::Http(Some(code)), format!("status {code}")),
            Err(e) => (Observation::Http(None), e),
        },
        Probe::Tcp { port } => match TcpStream::connect((target.host.as_str(), *port)).await {
            Ok(_) => (Observation::Tcp(true), String::new()),
            Err(e) => (
                Observation::Tcp(false),
                format!("cannot connect to {}:{port}: {e}", target.host),
            ),
        },
        Probe::Command(command) => match command_exit(command, target).await {
            Ok(code) => (Observation::Exited(Some(code)), format!("exit code {code}")),
            Err(e) => (Observation::Exited(None), e),
        },
    }
}

/// `GET path` with a minimal HTTP/1.1 request; the response's status code.
async fn http_get(host: &str, port: u16, path: &str) -> Result<u32, String> {
    let mut stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: mesos-local\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < STATUS_LINE_MAX {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the response: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_code(&head).ok_or_else(|| {
        let line = String::from_utf8_lossy(&head);
        format!(
            "not an HTTP response: '{}'",
            line.lines().next().unwrap_or_default()
        )
    })
}

/// The code of an `HTTP/1.x NNN reason` status line.
fn status_code(head: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(head.split(|b| *b == b'\n').next()?).ok()?;
    let mut parts = text.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts
        .next()
        .filter(|c| c.len() == 3)
        .and_then(|c| c.parse().ok())
}

/// Runs a COMMAND probe to its end; a timeout drops (and so kills) it.
async fn command_exit(command: &CommandInfo, target: &Target) -> Result<i32, String> {
    let value = command.value.as_deref().unwrap_or_default();
    let mut cmd = if command.runs_in_shell() {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(value);
        c
    } else {
        let mut c = tokio::process::Command::new(value);
        c.args(command.arguments.iter().skip(1));
        c
    };
    let own = command
        .environment
        .iter()
        .flat_map(|e| &e.variables)
        .map(|v| (v.name.clone(), v.value.clone().unwrap_or_default()));
    cmd.envs(target.env.iter().cloned().chain(own))
        .current_dir(&target.sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(pgid) = target.pgid {
        cmd.process_group(pgid as i32);
    }
    let status = cmd
        .status()
        .await
        .map_err(|e| format!("cannot run the command: {e}"))?;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ok(code),
        (None, Some(sig)) => Err(format!("the command was terminated by signal {sig}")),
        (None, None) => Err("the command has no exit status".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn target(dir: &std::path::Path) -> Target {
        Target {
            host: "127.0.0.1".into(),
            sandbox: dir.to_path_buf(),
            env: vec![("GREETING".into(), "hello".into())],
            pgid: None,
        }
    }

    /// Answers every connection with `status` once.
    async fn server(status: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        port
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 500\r\n"), Some(500));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_code(b""), None);
    }

    #[tokio::test]
    async fn http_tcp_and_command_probes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = target(dir.path());
        let second = Some(Duration::from_secs(5));
        let ok = server("200 OK").await;
        let missing = server("404 Not Found").await;
        let http = |port, https| Probe::Http {
            https,
            port,
            path: "/health".into(),
            statuses: Vec::new(),
        };
        assert_eq!(
            run(&http(ok, false), &t, second).await.0,
            Observation::Http(Some(200))
        );
        assert_eq!(
            run(&http(missing, false), &t, second).await.0,
            Observation::Http(Some(404))
        );
        let (obs, why) = run(&http(ok, true), &t, second).await;
        assert_eq!(obs, Observation::Http(None));
        assert!(why.contains("HTTPS"), "{why}");
        // A port nobody listens on: bind one, then close it.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            l.local_addr().map(|a| a.port()).unwrap_or_default()
        };
        assert_eq!(
            run(&http(closed, false), &t, second).await.0,
            Observation::Http(None)
        );
        assert_eq!(
            run(&Probe::Tcp { port: ok }, &t, second).await.0,
            Observation::Tcp(true)
        );
        assert_eq!(
            run(&Probe::Tcp { port: closed }, &t, second).await.0,
            Observation::Tcp(false)
        );
        let cmd = |c: &str| Probe::Command(CommandInfo::shell(c));
        let env_and_cwd = cmd("test \"$GREETING\" = hello && touch probed");
        assert_eq!(
            run(&env_and_cwd, &t, second).await.0,
            Observation::Exited(Some(0))
        );
        assert!(dir.path().join("probed").exists(), "ran in the sandbox");
        assert_eq!(
            run(&cmd("exit 3"), &t, second).await.0,
            Observation::Exited(Some(3))
        );
        let slow = run(&cmd("sleep 5"), &t, Some(Duration::from_millis(100))).await;
        assert_eq!(slow.0, Observation::Exited(None));
        assert!(slow.1.contains("timed out"), "{}", slow.1);
    }
}
