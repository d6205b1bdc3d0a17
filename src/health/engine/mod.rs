//! The health check engine: one loop owns the schedule of every target. Due targets come off one
//! timer wheel in batches, wait for a place in a bounded budget of probes in flight, and are
//! probed through shared keep-alive pools; results go out as [`Probe`]s. No task, timer or
//! socket is kept per target, so tens of thousands of targets cost one loop and a few
//! connections per host.

mod schedule;
#[cfg(test)]
mod tests;

use super::probe::{Clients, Spec};
use super::stats::SharedStats;
use super::{EngineStats, Outcome, Probe, Target, TargetKey};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use schedule::Schedule;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info_span, warn};

/// Limits of the engine; the defaults suit tens of thousands of targets on one node.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Probes in flight at most. Local probes finish in about a millisecond, so thousands of
    /// checks per second need few places; the rest is room for targets that hang until their
    /// timeout without delaying the others.
    pub max_in_flight: usize,
    /// Resolution of the timer wheel: a probe starts at most this late when nothing else is.
    pub tick: Duration,
    /// Slots of the wheel (a power of two); one turn is `tick × slots`.
    pub wheel_slots: usize,
    /// Idle pooled connections are closed after this.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per host:port.
    pub max_idle_per_host: usize,
    /// Sent with every HTTP(S) probe, so a task's logs tell which node probed it.
    pub user_agent: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_in_flight: 1024,
            tick: Duration::from_millis(5),
            wheel_slots: 4096,
            pool_idle_timeout: Duration::from_secs(90),
            max_idle_per_host: 64,
            user_agent: super::user_agent(None),
        }
    }
}

/// Commands taken from the channel per turn of the loop, so a burst of upserts (a new leader
/// scheduling every instance) does not hold up probes that are due.
const COMMANDS_PER_TURN: usize = 1024;

enum Command {
    Upsert(Target),
    Remove(TargetKey),
}

/// Starts the engine.
pub struct Engine;

impl Engine {
    /// Runs the engine until `cancel` is cancelled (leadership lost), every handle is dropped,
    /// or `out`'s receiver is gone. Needs a Tokio runtime.
    pub fn start(
        config: EngineConfig,
        out: mpsc::Sender<Probe>,
        cancel: CancellationToken,
    ) -> EngineHandle {
        // Unbounded: one command per instance change, which the state bounds; the loop drains
        // them in batches of COMMANDS_PER_TURN.
        let (commands, inbox) = mpsc::unbounded_channel();
        let stats = Arc::new(SharedStats::new());
        let run = run(config, inbox, out, cancel, stats.clone());
        tokio::spawn(run.instrument(info_span!("health_engine")));
        EngineHandle { commands, stats }
    }
}

/// Talks to a running engine. Commands sent after the engine stopped are dropped.
#[derive(Clone, Debug)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    stats: Arc<SharedStats>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Upsert(t) => write!(f, "Upsert({:?})", t.key),
            Command::Remove(key) => write!(f, "Remove({key:?})"),
        }
    }
}

impl EngineHandle {
    /// Schedules a target, or changes one. An unchanged target keeps its schedule; a changed one
    /// starts again (after `delaySeconds` and its jitter).
    pub fn upsert(&self, t: Target) {
        let _ = self.commands.send(Command::Upsert(t));
    }

    /// Stops checking a target; a probe of it still running is not reported.
    pub fn remove(&self, key: TargetKey) {
        let _ = self.commands.send(Command::Remove(key));
    }

    pub fn stats(&self) -> EngineStats {
        self.stats.snapshot()
    }

    /// True once the engine's loop has ended.
    pub fn is_stopped(&self) -> bool {
        self.commands.is_closed()
    }
}

/// What a finished probe hands back to the loop.
struct Done {
    slot: schedule::SlotRef,
    outcome: Outcome,
    late_by: Duration,
}

async fn run(
    config: EngineConfig,
    mut inbox: mpsc::UnboundedReceiver<Command>,
    out: mpsc::Sender<Probe>,
    cancel: CancellationToken,
    stats: Arc<SharedStats>,
) {
    let clients = Clients::new(
        config.pool_idle_timeout,
        config.max_idle_per_host,
        &config.user_agent,
    );
    let max_in_flight = config.max_in_flight.max(1);
    let mut schedule = Schedule::new(Instant::now(), config.tick, config.wheel_slots);
    // Due probes waiting for a place in the budget, with the instant they were due.
    let mut ready: VecDeque<(schedule::SlotRef, Instant)> = VecDeque::new();
    // Results the receiver had no room for yet, in order.
    let mut backlog: VecDeque<Probe> = VecDeque::new();
    let mut running = FuturesUnordered::new();
    let mut due = Vec::new();
    let tick = tokio::time::sleep_until(schedule.next_tick().into());
    tokio::pin!(tick);

    loop {
        // Start what the budget allows; a backlog of unread results holds new probes back.
        while running.len() < max_in_flight && backlog.len() < max_in_flight {
            let Some((slot, due_at)) = ready.pop_front() else {
                break;
            };
            let Some(spec) = schedule.spec(slot) else {
                continue; // removed while it waited
            };
            let late_by = Instant::now().saturating_duration_since(due_at);
            stats.record_lateness(late_by);
            let clients = &clients;
            running.push(async move {
                let outcome = clients.probe(&spec).await;
                Done {
                    slot,
                    outcome,
                    late_by,
                }
            });
        }
        stats
            .in_flight
            .store(running.len() as u64, Ordering::Relaxed);

        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = &mut tick, if !schedule.is_idle() => {
                schedule.collect_due(Instant::now(), &mut due);
                for (slot, due_at, overlapping) in due.drain(..) {
                    if overlapping {
                        stats.skipped_overlap.fetch_add(1, Ordering::Relaxed);
                    } else {
                        ready.push_back((slot, due_at));
                    }
                }
                tick.as_mut().reset(schedule.next_tick().into());
            }
            Some(done) = running.next(), if !running.is_empty() => {
                stats.checks_done.fetch_add(1, Ordering::Relaxed);
                let counter = match done.outcome {
                    Outcome::Healthy => &stats.healthy,
                    Outcome::Unhealthy(_) => &stats.unhealthy,
                    Outcome::Ignored1xx => &stats.ignored_1xx,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let Some(key) = schedule.finished(done.slot) else {
                    continue; // removed or replaced while it ran
                };
                let probe = Probe { key, outcome: done.outcome, at: SystemTime::now(), late_by: done.late_by };
                if !backlog.is_empty() {
                    backlog.push_back(probe);
                } else {
                    match out.try_send(probe) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(probe)) => backlog.push_back(probe),
                        Err(mpsc::error::TrySendError::Closed(_)) => break,
                    }
                }
            }
            permit = out.reserve(), if !backlog.is_empty() => match permit {
                Ok(permit) => permit.send(backlog.pop_front().expect("the branch runs only with a backlog")),
                Err(_) => break,
            },
            command = inbox.recv() => {
                let Some(command) = command else { break };
                let now = Instant::now();
                apply(&mut schedule, command, now);
                for _ in 1..COMMANDS_PER_TURN {
                    match inbox.try_recv() {
                        Ok(command) => apply(&mut schedule, command, now),
                        Err(_) => break,
                    }
                }
                stats.targets.store(schedule.len() as u64, Ordering::Relaxed);
                if !schedule.is_idle() {
                    tick.as_mut().reset(schedule.next_tick().into());
                }
            }
        }
    }
    stats.in_flight.store(0, Ordering::Relaxed);
    debug!(targets = schedule.len(), "health engine stopped");
}

fn apply(schedule: &mut Schedule, command: Command, now: Instant) {
    match command {
        Command::Upsert(target) => match Spec::of(&target) {
            Some(spec) => schedule.upsert(target, spec, now),
            None => warn!(
                key = ?target.key,
                protocol = ?target.check.protocol,
                "not a leader-run health check, not scheduled"
            ),
        },
        Command::Remove(key) => schedule.remove(&key),
    }
}
