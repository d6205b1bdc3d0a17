//! The scheduling checker: from `scale`, `observe` and `launches` ops, three properties.
//!
//! 1. **Over-capacity**: an observation's live tasks of an app never exceed twice
//!    (1 + maximumOverCapacity) the largest `instances` that could have been in force when the
//!    newest of those tasks was launched. A task only ever runs after its launch, so at that
//!    launch every observed task was already live; the scheduler must have believed then in an
//!    `instances` at least half their number. Which values "could have been in force" over a
//!    span is judged conservatively from the history: every scale invoked before the span ends,
//!    except failed ones and acknowledged ones that a later acknowledged scale (invoked after
//!    the first returned) definitely replaced before the span began. Unknown outcomes are never
//!    ruled out. The span starts [`DECISION_SLACK`] before the launch (the leader decided a
//!    little earlier than mesos-local logged it), and reaches the observation's end.
//! 2. **Succession**: mesos-local's launch log, in order, never shows a subscription stream
//!    launching again after a later stream has launched: once the framework has moved to a
//!    newer leader's subscription, the older one is dead. How close two streams' launches came
//!    (two streams within one second) is reported as a measurement.
//! 3. **Convergence**: the last observation, taken after the final heal once the harness saw
//!    the tasks settle, shows each app running a count it may legitimately have: the value of
//!    an acknowledged scale that no other acknowledged scale definitely followed, or of any
//!    scale whose outcome is unknown.

use super::{CheckResult, Invocation, Validity, pair, seconds};
use crate::history::{Op, OpType, Process};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// How long before mesos-local logged a launch the leader may have decided it.
pub const DECISION_SLACK_NS: u64 = 1_000_000_000;
/// Allowed tasks per instance: 1 + maximumOverCapacity (1).
const OVER_CAPACITY_FACTOR: u64 = 2;
/// Two streams launching closer than this are reported (not a violation by themselves).
const HANDOVER_WINDOW_MS: u64 = 1_000;

struct Scale {
    value: u64,
    invoke: u64,
    outcome: OpType,
    /// Completion time of an acknowledged scale.
    acked: Option<u64>,
}

struct Observation {
    start: u64,
    end: u64,
    tasks: BTreeMap<String, Vec<String>>,
}

struct Launch {
    task_id: String,
    stream_id: String,
    time_ms: u64,
}

fn scales(pairs: &[Invocation]) -> BTreeMap<String, Vec<Scale>> {
    let mut out: BTreeMap<String, Vec<Scale>> = BTreeMap::new();
    for i in pairs.iter().filter(|i| i.f() == "scale") {
        let (Some(app), Some(value)) = (i.key(), i.invoke.value.as_u64()) else {
            continue;
        };
        out.entry(app.to_string()).or_default().push(Scale {
            value,
            invoke: i.call(),
            outcome: i.outcome(),
            acked: (i.outcome() == OpType::Ok)
                .then(|| i.known_return())
                .flatten(),
        });
    }
    out
}

fn observations(pairs: &[Invocation]) -> Vec<Observation> {
    pairs
        .iter()
        .filter(|i| i.f() == "observe" && i.outcome() == OpType::Ok)
        .filter_map(|i| {
            let c = i.completion?;
            let tasks = serde_json::from_value(c.value["tasks"].clone()).ok()?;
            Some(Observation {
                start: i.call(),
                end: c.time,
                tasks,
            })
        })
        .collect()
}

/// The launch log and the history time (ns) of a launch logged at `time_ms`, from the wall
/// clock the `launches` op noted when it completed.
fn launches(pairs: &[Invocation]) -> Option<(Vec<Launch>, impl Fn(u64) -> u64 + use<>)> {
    let c = pairs
        .iter()
        .filter(|i| i.f() == "launches" && i.outcome() == OpType::Ok)
        .filter_map(|i| i.completion)
        .next_back()?;
    let wall_ms = c.value["wall_ms"].as_u64()?;
    let at = c.time;
    let log = c.value["launches"]
        .as_array()?
        .iter()
        .map(|l| Launch {
            task_id: l["task_id"].as_str().unwrap_or_default().to_string(),
            stream_id: l["stream_id"].as_str().unwrap_or_default().to_string(),
            time_ms: l["time_ms"].as_u64().unwrap_or(0),
        })
        .collect();
    let to_history = move |ms: u64| {
        let offset = (ms as i128 - wall_ms as i128) * 1_000_000;
        (at as i128 + offset).max(0) as u64
    };
    Some((log, to_history))
}

/// The largest `instances` that may have been in force at some time in `[from, to]`: every
/// scale invoked before `to`, except failed ones and acknowledged ones definitely replaced
/// before `from`; 0 (no app yet) unless an acknowledged scale completed before `from`.
fn max_in_force(scales: &[Scale], from: u64, to: u64) -> u64 {
    let replaced = |a: &Scale| {
        let Some(a_done) = a.acked else {
            return false;
        };
        scales
            .iter()
            .any(|b| b.invoke > a_done && b.acked.is_some_and(|b_done| b_done < from))
    };
    let created_before = scales.iter().any(|s| s.acked.is_some_and(|t| t < from));
    scales
        .iter()
        .filter(|s| s.invoke < to && s.outcome != OpType::Fail && !replaced(s))
        .map(|s| s.value)
        .chain((!created_before).then_some(0))
        .max()
        .unwrap_or(0)
}

/// The counts an app may settle on: acknowledged values no acknowledged scale definitely
/// followed, and every unknown value; 0 when no scale was acknowledged.
fn final_candidates(scales: &[Scale]) -> Vec<u64> {
    let mut out: Vec<u64> = scales
        .iter()
        .filter(|a| match a.acked {
            Some(done) => !scales.iter().any(|b| b.invoke > done && b.acked.is_some()),
            None => a.outcome != OpType::Fail,
        })
        .map(|s| s.value)
        .collect();
    if scales.iter().all(|s| s.acked.is_none()) {
        out.push(0);
    }
    out.sort_unstable();
    out.dedup();
    out
}

struct Verdict {
    problems: Vec<Value>,
    window: Option<(u64, u64)>,
}

impl Verdict {
    fn fail(&mut self, problem: Value, window: (u64, u64)) {
        if self.problems.is_empty() {
            self.window = Some(window);
        }
        self.problems.push(problem);
    }
}

pub fn scheduling(history: &[Op]) -> CheckResult {
    let pairs = pair(history);
    let scales = scales(&pairs);
    let observations = observations(&pairs);
    let no_scales: Vec<Scale> = Vec::new();
    let mut verdict = Verdict {
        problems: Vec::new(),
        window: None,
    };
    let Some((log, to_history)) = launches(&pairs) else {
        return unknown("no launch log was recorded");
    };
    if observations.is_empty() {
        return unknown("no observation of mesos-local's tasks was recorded");
    }
    let launched_at: HashMap<&str, u64> = log
        .iter()
        .map(|l| (l.task_id.as_str(), to_history(l.time_ms)))
        .collect();

    // 1. Over-capacity.
    let mut worst_ratio = 0.0_f64;
    for o in &observations {
        for (app, tasks) in &o.tasks {
            if tasks.is_empty() {
                continue;
            }
            let newest = tasks
                .iter()
                .map(|t| launched_at.get(t.as_str()).copied())
                .collect::<Option<Vec<u64>>>()
                .and_then(|times| times.into_iter().max());
            // A task missing from the log: assume nothing about when it started.
            let from = newest.map_or(0, |t| t.saturating_sub(DECISION_SLACK_NS));
            let app_scales = scales.get(app).unwrap_or(&no_scales);
            let allowed = OVER_CAPACITY_FACTOR * max_in_force(app_scales, from, o.end);
            let running = tasks.len() as u64;
            if allowed > 0 {
                worst_ratio = worst_ratio.max(running as f64 / allowed as f64);
            }
            if running > allowed {
                verdict.fail(
                    json!({"property": "over-capacity", "app": app, "running": running,
                           "allowed": allowed, "tasks": tasks, "observed_at": o.end,
                           "in_force_since": from}),
                    (from.min(o.start), o.end),
                );
            }
        }
    }

    // 2. Succession.
    let mut rank: HashMap<&str, usize> = HashMap::new();
    let mut newest_rank = 0;
    let mut last_of: HashMap<&str, u64> = HashMap::new();
    let mut close_handovers = Vec::new();
    let mut previous: Option<&Launch> = None;
    for l in &log {
        let next = rank.len();
        let r = *rank.entry(l.stream_id.as_str()).or_insert(next);
        if r < newest_rank {
            let newer = rank
                .iter()
                .find(|&(_, &k)| k == newest_rank)
                .map(|(s, _)| *s)
                .unwrap_or_default();
            let since = last_of.get(newer).copied().unwrap_or(l.time_ms);
            verdict.fail(
                json!({"property": "succession", "task_id": l.task_id,
                       "old_stream": l.stream_id, "newer_stream": newer,
                       "time_ms": l.time_ms}),
                (to_history(since), to_history(l.time_ms)),
            );
        }
        newest_rank = newest_rank.max(r);
        if let Some(p) = previous.filter(|p| p.stream_id != l.stream_id) {
            let gap = l.time_ms.saturating_sub(p.time_ms);
            if gap < HANDOVER_WINDOW_MS {
                close_handovers.push(json!({"from": p.stream_id, "to": l.stream_id,
                                            "gap_ms": gap, "time_ms": l.time_ms}));
            }
        }
        last_of.insert(l.stream_id.as_str(), l.time_ms);
        previous = Some(l);
    }

    // 3. Convergence, on the last observation after the last fault ended.
    let last_fault = history
        .iter()
        .filter(|op| op.process == Process::Nemesis)
        .map(|op| op.time)
        .max()
        .unwrap_or(0);
    let last = observations.last().filter(|o| o.start > last_fault);
    let mut converged = BTreeMap::new();
    if let Some(o) = last {
        for (app, app_scales) in &scales {
            let running = o.tasks.get(app).map_or(0, Vec::len) as u64;
            let candidates = final_candidates(app_scales);
            converged.insert(
                app.clone(),
                json!({"running": running, "allowed": candidates}),
            );
            if !candidates.contains(&running) {
                let last_scale = app_scales.iter().map(|s| s.invoke).max().unwrap_or(0);
                verdict.fail(
                    json!({"property": "convergence", "app": app, "running": running,
                           "allowed": candidates, "observed_at": o.end}),
                    (last_scale, o.end),
                );
            }
        }
    }

    let streams = rank.len();
    let details = json!({
        "observations": observations.len(),
        "scales": scales.values().map(Vec::len).sum::<usize>(),
        "launches": log.len(),
        "streams": streams,
        "worst_running_to_allowed": worst_ratio,
        "close_handovers": close_handovers,
        "final": converged,
        "problems": verdict.problems,
        "window_key": Value::Null,
    });
    let (validity, summary) = if !verdict.problems.is_empty() {
        let first = &verdict.problems[0];
        (
            Validity::Invalid,
            format!(
                "{} violation(s); first: {} {}",
                verdict.problems.len(),
                first["property"].as_str().unwrap_or("?"),
                first
            ),
        )
    } else if last.is_none() {
        (
            Validity::Unknown,
            "no observation after the final heal, so convergence is unchecked".to_string(),
        )
    } else {
        (
            Validity::Valid,
            format!(
                "{} observations within capacity (worst {:.0}% of allowed), {} launches from {} \
                 stream(s) in succession ({} handover(s) under {} ms), converged by {}",
                observations.len(),
                worst_ratio * 100.0,
                log.len(),
                streams,
                close_handovers.len(),
                HANDOVER_WINDOW_MS,
                seconds(last.map_or(0, |o| o.end)),
            ),
        )
    };
    CheckResult {
        name: "scheduling".into(),
        validity,
        summary,
        details,
        window: verdict.window,
    }
}

fn unknown(why: &str) -> CheckResult {
    CheckResult {
        name: "scheduling".into(),
        validity: Validity::Unknown,
        summary: why.to_string(),
        details: json!({}),
        window: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testing::Hist;

    const S: u64 = 1_000_000_000;
    const A: &str = "/jepsen-sched/a1";
    const SAMPLER: u64 = 99;

    fn observe(h: Hist, at: u64, tasks: &[&str]) -> Hist {
        h.at(at).invoke(SAMPLER, "observe", None, Value::Null).ok(
            SAMPLER,
            json!({"counts": {A: tasks.len()}, "tasks": {A: tasks}}),
        )
    }

    /// The launch log, recorded at `at` ns when the wall clock read `wall_ms`; each launch is
    /// (task, stream, time_ms).
    fn launches(h: Hist, at: u64, wall_ms: u64, log: &[(&str, &str, u64)]) -> Hist {
        let log: Vec<Value> = log
            .iter()
            .map(|(t, s, ms)| json!({"task_id": t, "stream_id": s, "time_ms": ms}))
            .collect();
        h.at(at)
            .invoke(SAMPLER, "launches", None, Value::Null)
            .ok(SAMPLER, json!({"launches": log, "wall_ms": wall_ms}))
    }

    /// Scale to 2 at 1 s, two launches at 2 s (wall 102_000 ms = 2 s), observed at 3 s; scale to
    /// `last` at 4 s; the heal ends at 5 s and the final observation at 10 s shows `final_tasks`.
    fn run(last: u64, final_tasks: &[&str]) -> Hist {
        let h = Hist::new()
            .at(S)
            .invoke(1, "scale", Some(A), json!(2))
            .ok(1, json!(2));
        let h = observe(h, 3 * S, &["t1", "t2"]);
        let h = h
            .at(4 * S)
            .invoke(1, "scale", Some(A), json!(last))
            .ok(1, json!(last))
            .at(5 * S)
            .nemesis("kill", "end");
        let h = observe(h, 10 * S, final_tasks);
        launches(
            h,
            11 * S,
            111_000,
            &[("t1", "s1", 102_000), ("t2", "s1", 102_000)],
        )
    }

    #[test]
    fn a_history_within_capacity_that_converges_is_valid() {
        let r = scheduling(&run(1, &["t1"]).build());
        assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
        assert_eq!(r.details["launches"], 2);
    }

    #[test]
    fn more_tasks_than_twice_the_instances_ever_in_force_is_over_capacity() {
        let h = Hist::new()
            .at(S)
            .invoke(1, "scale", Some(A), json!(1))
            .ok(1, json!(1));
        let h = observe(h, 3 * S, &["t1", "t2", "t3"]);
        let h = h.at(5 * S).nemesis("kill", "end");
        let h = observe(h, 10 * S, &["t1"]);
        let h = launches(
            h,
            11 * S,
            111_000,
            &[
                ("t1", "s1", 102_000),
                ("t2", "s1", 102_000),
                ("t3", "s1", 102_000),
            ],
        );
        let r = scheduling(&h.build());
        assert_eq!(r.validity, Validity::Invalid, "{}", r.summary);
        assert_eq!(r.details["problems"][0]["property"], "over-capacity");
        assert_eq!(r.details["problems"][0]["allowed"], 2);
    }

    #[test]
    fn tasks_left_from_a_larger_count_or_an_unknown_scale_are_no_violation() {
        // Scaled to 4 (launched at 2 s), then down to 1 (acknowledged at 3 s): the four tasks
        // observed at 4 s were launched under 4, so the kills may simply be pending.
        let h = Hist::new()
            .at(S)
            .invoke(1, "scale", Some(A), json!(4))
            .ok(1, json!(4))
            .at(3 * S)
            .invoke(1, "scale", Some(A), json!(1))
            .ok(1, json!(1));
        let h = observe(h, 4 * S, &["t1", "t2", "t3", "t4"]);
        // An unknown scale to 3 at 5 s may take effect whenever: 3 launched later is fine, and
        // so is settling on 3.
        let h = h
            .at(5 * S)
            .invoke(2, "scale", Some(A), json!(3))
            .info(2)
            .at(7 * S)
            .nemesis("pause", "end");
        let h = observe(h, 8 * S, &["t5", "t6", "t7"]);
        let log = [
            ("t1", "s1", 102_000),
            ("t2", "s1", 102_000),
            ("t3", "s1", 102_000),
            ("t4", "s1", 102_000),
            ("t5", "s1", 106_000),
            ("t6", "s1", 106_000),
            ("t7", "s1", 106_000),
        ];
        let r = scheduling(&launches(h, 9 * S, 109_000, &log).build());
        assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
        assert_eq!(r.details["final"][A]["allowed"], json!([1, 3]));
    }

    #[test]
    fn an_old_stream_launching_after_a_newer_one_breaks_succession() {
        let h = observe(Hist::new(), S, &[]);
        let h = h.at(2 * S).nemesis("partition", "end");
        let h = observe(h, 3 * S, &[]);
        let log = [
            ("t1", "s1", 100_000),
            ("t2", "s2", 100_500),
            ("t3", "s1", 100_700),
        ];
        let r = scheduling(&launches(h, 4 * S, 104_000, &log).build());
        assert_eq!(r.validity, Validity::Invalid, "{}", r.summary);
        let p = &r.details["problems"][0];
        assert_eq!(p["property"], "succession");
        assert_eq!(p["old_stream"], "s1");
        assert_eq!(p["newer_stream"], "s2");
        let ms = r.window.map(|(a, b)| (a / 1_000_000, b / 1_000_000));
        assert_eq!(ms, Some((500, 700)));
    }

    #[test]
    fn a_clean_handover_is_measured_not_condemned() {
        let h = observe(Hist::new(), S, &[]);
        let h = h.at(2 * S).nemesis("kill", "end");
        let h = observe(h, 3 * S, &[]);
        let log = [
            ("t1", "s1", 100_000),
            ("t2", "s2", 100_400),
            ("t3", "s2", 100_700),
        ];
        let r = scheduling(&launches(h, 4 * S, 104_000, &log).build());
        assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
        assert_eq!(r.details["streams"], 2);
        assert_eq!(r.details["close_handovers"][0]["gap_ms"], 400);
    }

    #[test]
    fn a_count_that_never_settles_on_the_last_acknowledged_value_is_not_converged() {
        let r = scheduling(&run(1, &["t1", "t2"]).build());
        assert_eq!(r.validity, Validity::Invalid, "{}", r.summary);
        let p = &r.details["problems"][0];
        assert_eq!(p["property"], "convergence");
        assert_eq!(p["running"], 2);
        assert_eq!(p["allowed"], json!([1]));
    }

    #[test]
    fn without_an_observation_after_the_heal_or_a_launch_log_nothing_is_decided() {
        let h = observe(Hist::new(), S, &[]);
        let h = h.at(5 * S).nemesis("kill", "end");
        let stale = scheduling(&launches(h, 6 * S, 106_000, &[]).build());
        assert_eq!(stale.validity, Validity::Unknown, "{}", stale.summary);
        let h = Hist::new().at(S).nemesis("kill", "end");
        let h = observe(h, 3 * S, &[]);
        assert_eq!(scheduling(&h.build()).validity, Validity::Unknown, "no log");
        let h = Hist::new().at(S).nemesis("kill", "end");
        let h = observe(h, 3 * S, &[]);
        assert_eq!(
            scheduling(&launches(h, 4 * S, 104_000, &[]).build()).validity,
            Validity::Valid
        );
    }

    #[test]
    fn values_in_force_drop_only_once_a_later_scale_was_acknowledged() {
        let s = |value, invoke, outcome, acked| Scale {
            value,
            invoke,
            outcome,
            acked,
        };
        let scales = [
            s(4, 10, OpType::Ok, Some(20)),
            s(1, 30, OpType::Ok, Some(40)),
            s(3, 50, OpType::Fail, None),
            s(2, 60, OpType::Info, None),
        ];
        assert_eq!(max_in_force(&scales, 0, 5), 0, "nothing invoked yet");
        assert_eq!(max_in_force(&scales, 0, 35), 4);
        assert_eq!(max_in_force(&scales, 39, 45), 4, "1 not yet acknowledged");
        assert_eq!(max_in_force(&scales, 41, 45), 1);
        assert_eq!(max_in_force(&scales, 41, 70), 2, "unknown, failed ignored");
        assert_eq!(final_candidates(&scales), vec![1, 2]);
    }
}
