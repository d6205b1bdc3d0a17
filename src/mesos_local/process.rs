//! The agents' task processes: spawning a command in its sandbox and its own process group,
//! waiting for it, killing the group with a grace period, and making sure no group outlives
//! mesos-local (killed on drop, and by a watchdog process if mesos-local dies without dropping).

use crate::mesos::{CommandInfo, Reason, TaskState};
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A watchdog that outlives mesos-local by design: it reads `add <pgid>` / `del <pgid>` lines,
/// and at end of input (mesos-local exited or was killed, which closes the pipe) kills every
/// group still listed.
const WATCHDOG: &str = r#"pgs=" "
while read op pg; do
  case "$op" in
    add) pgs="$pgs$pg " ;;
    del) n=" "; for p in $pgs; do [ "$p" = "$pg" ] || n="$n$p "; done; pgs="$n" ;;
  esac
done
for p in $pgs; do kill -KILL "-$p" 2>/dev/null; done"#;

/// How a task's process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled(i32),
    /// Ended by a KILL call.
    Killed,
    /// Waiting for it failed; it is killed and counted as failed.
    Lost(String),
}

impl Outcome {
    /// The terminal status the command executor reports for this ending.
    pub fn status(&self) -> (TaskState, Option<Reason>, String) {
        match self {
            Outcome::Exited(0) => (
                TaskState::Finished,
                None,
                "Command exited with status 0".into(),
            ),
            Outcome::Exited(n) => (
                TaskState::Failed,
                None,
                format!("Command exited with status {n}"),
            ),
            Outcome::Signalled(s) => (
                TaskState::Failed,
                None,
                format!("Command terminated with signal {s}"),
            ),
            Outcome::Killed => (TaskState::Killed, None, "Command killed".into()),
            Outcome::Lost(e) => (
                TaskState::Failed,
                Some(Reason::COMMAND_EXECUTOR_FAILED),
                format!("Failed to wait for the command: {e}"),
            ),
        }
    }
}

/// Starts a command task: `/bin/sh -c value` for a shell command, else `value` with `arguments`
/// (whose first is argv[0]); in `sandbox`, with stdout and stderr in files there, in a new
/// process group whose id is the child's pid.
pub fn spawn(command: &CommandInfo, env: &[(String, String)], sandbox: &Path) -> io::Result<Child> {
    let value = command.value.as_deref().unwrap_or_default();
    let mut cmd = if command.runs_in_shell() {
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(value);
        c
    } else {
        let mut c = tokio::process::Command::new(value);
        if let Some((arg0, rest)) = command.arguments.split_first() {
            c.arg0(arg0).args(rest);
        }
        c
    };
    let stdout = std::fs::File::create(sandbox.join("stdout"))?;
    let stderr = std::fs::File::create(sandbox.join("stderr"))?;
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(sandbox)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(false);
    cmd.spawn()
}

/// Waits for a task's process until it ends or a kill (with its grace period) arrives; then
/// kills what is left of its group. On `cancel` (mesos-local stopping) the group is killed at once.
pub async fn supervise(
    mut child: Child,
    pgid: u32,
    mut kill: mpsc::Receiver<Duration>,
    cancel: CancellationToken,
) -> Outcome {
    let outcome = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) => Outcome::Exited(code),
                (None, Some(sig)) => Outcome::Signalled(sig),
                (None, None) => Outcome::Lost("no exit code nor signal".into()),
            },
            Err(e) => Outcome::Lost(e.to_string()),
        },
        Some(grace) = kill.recv() => {
            signal_group(pgid, "TERM").await;
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                signal_group(pgid, "KILL").await;
                let _ = child.wait().await;
            }
            Outcome::Killed
        }
        () = cancel.cancelled() => Outcome::Killed,
    };
    // The command may have left children behind in its group; a container ends with its task.
    signal_group(pgid, "KILL").await;
    let _ = child.wait().await;
    outcome
}

/// Sends `sig` to every process of group `pgid` (through kill(1): this crate forbids unsafe
/// code, so there is no libc kill(2)). A group already gone is not an error.
async fn signal_group(pgid: u32, sig: &str) {
    let result = tokio::process::Command::new("kill")
        .args(["-s", sig, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if let Err(e) = result {
        tracing::warn!(pgid, sig, error = %e, "cannot run kill");
    }
}

/// The process groups of live tasks, owned by the master. Dropping it kills them all.
pub struct ProcessGroups {
    groups: BTreeSet<u32>,
    watchdog: Option<(std::process::Child, std::process::ChildStdin)>,
}

impl ProcessGroups {
    /// Also starts the watchdog; without one (it cannot start) tasks still die on an orderly exit.
    pub fn new() -> ProcessGroups {
        let watchdog = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| tracing::warn!(error = %e, "cannot start the task watchdog"))
            .ok()
            .and_then(|mut c| c.stdin.take().map(|stdin| (c, stdin)));
        ProcessGroups {
            groups: BTreeSet::new(),
            watchdog,
        }
    }

    fn tell(&mut self, line: String) {
        if let Some((_, stdin)) = &mut self.watchdog
            && let Err(e) = stdin.write_all(line.as_bytes())
        {
            tracing::warn!(error = %e, "task watchdog is gone");
            self.watchdog = None;
        }
    }

    pub fn add(&mut self, pgid: u32) {
        self.groups.insert(pgid);
        self.tell(format!("add {pgid}\n"));
    }

    pub fn remove(&mut self, pgid: u32) {
        if self.groups.remove(&pgid) {
            self.tell(format!("del {pgid}\n"));
        }
    }

    /// SIGKILLs every group still listed, synchronously.
    pub fn kill_all(&mut self) {
        if self.groups.is_empty() {
            return;
        }
        let targets: Vec<String> = self.groups.iter().map(|g| format!("-{g}")).collect();
        let status = std::process::Command::new("kill")
            .args(["-s", "KILL", "--"])
            .args(&targets)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(e) = status {
            tracing::warn!(error = %e, "cannot run kill");
        }
        let groups = std::mem::take(&mut self.groups);
        for g in groups {
            self.tell(format!("del {g}\n"));
        }
    }
}

impl Default for ProcessGroups {
    fn default() -> Self {
        ProcessGroups::new()
    }
}

impl Drop for ProcessGroups {
    fn drop(&mut self) {
        self.kill_all();
        // Closing its input ends the watchdog, which then has nothing left to kill; reap it.
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_command_executor_statuses() {
        let table = [
            (
                Outcome::Exited(0),
                TaskState::Finished,
                "Command exited with status 0",
            ),
            (
                Outcome::Exited(3),
                TaskState::Failed,
                "Command exited with status 3",
            ),
            (
                Outcome::Signalled(9),
                TaskState::Failed,
                "Command terminated with signal 9",
            ),
            (Outcome::Killed, TaskState::Killed, "Command killed"),
        ];
        for (outcome, state, message) in table {
            let (s, _, m) = outcome.status();
            assert_eq!((s, m.as_str()), (state, message), "{outcome:?}");
        }
    }

    #[tokio::test]
    async fn a_killed_task_takes_its_whole_group_with_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cmd = CommandInfo::shell("sleep 1000 & echo $! > child; wait");
        let child = spawn(&cmd, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let pgid = child.id().unwrap_or_default();
        let (tx, rx) = mpsc::channel(1);
        let run = tokio::spawn(supervise(child, pgid, rx, CancellationToken::new()));
        let pid_file = dir.path().join("child");
        let mut grandchild = String::new();
        for _ in 0..100 {
            grandchild = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if grandchild.ends_with('\n') {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let grandchild = grandchild.trim().to_owned();
        assert!(!grandchild.is_empty(), "the task wrote its child's pid");
        let _ = tx.send(Duration::from_millis(200)).await;
        assert_eq!(run.await.ok(), Some(Outcome::Killed));
        assert!(!alive(&grandchild), "sleep {grandchild} survived");
    }

    #[tokio::test]
    async fn a_task_that_ignores_sigterm_is_killed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cmd =
            CommandInfo::shell("trap '' TERM; echo ready > ready; while :; do sleep 0.05; done");
        let child = spawn(&cmd, &[], dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let pgid = child.id().unwrap_or_default();
        let (tx, rx) = mpsc::channel(1);
        let run = tokio::spawn(supervise(child, pgid, rx, CancellationToken::new()));
        for _ in 0..100 {
            if dir.path().join("ready").exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let grace = Duration::from_millis(300);
        let asked = std::time::Instant::now();
        let _ = tx.send(grace).await;
        assert_eq!(run.await.ok(), Some(Outcome::Killed));
        assert!(
            asked.elapsed() >= grace,
            "SIGKILL came only after the grace period"
        );
    }

    /// Alive and not a zombie.
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().to_owned())
            })
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
    }
}
