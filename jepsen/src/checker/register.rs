//! Linearizability of read/write/compare-and-set registers, one WGL search per key (a map of
//! independent registers is linearizable iff each key's projection is), keys checked in
//! parallel under one overall time budget.
//!
//! A `fail` definitely did not happen and is dropped; a read whose outcome is unknown has no
//! effect and is dropped; a write or cas whose outcome is unknown may take effect at any time
//! after its invocation, or never. A cas that takes effect needs its expected value: had the
//! compare failed it would have changed nothing, which is the same as never taking effect.

use super::pairing::{Invocation, pair};
use super::wgl::{self, Call, Counterexample, Model, Outcome};
use super::{CheckResult, Validity};
use super::{process_label, seconds};
use crate::history::OpType;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Checks every key with as many threads as the machine offers.
pub fn register(history: &[crate::history::Op], budget: Duration) -> CheckResult {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    register_with_threads(history, budget, threads)
}

/// [`register`] with an explicit number of checking threads (at least one).
pub fn register_with_threads(
    history: &[crate::history::Op],
    budget: Duration,
    threads: usize,
) -> CheckResult {
    let now = Instant::now();
    // A budget too large to add is no budget: about a century will do.
    let deadline = now
        .checked_add(budget)
        .unwrap_or_else(|| now + Duration::from_secs(1 << 32));
    let keys = partition(&pair(history));
    let next = AtomicUsize::new(0);
    let mut verdicts: Vec<(usize, KeyVerdict)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.clamp(1, keys.len().max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(key) = keys.get(i) else {
                            return done;
                        };
                        done.push((i, check_key(key, deadline)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a register checker thread panicked"))
            .collect()
    });
    verdicts.sort_by_key(|(i, _)| *i);
    summarize(
        &keys,
        verdicts.into_iter().map(|(_, v)| v).collect(),
        budget,
    )
}

/// A register's value, interned: distinct JSON values get distinct ids, so any scalar works.
type Val = u32;

#[derive(Clone, Debug)]
enum RegisterOp {
    /// What the read saw: `None` for absent.
    Read(Option<Val>),
    Write(Val),
    Cas {
        expected: Val,
        new: Val,
    },
}

struct RegisterModel;

impl Model for RegisterModel {
    /// `None`: absent, every register's initial value.
    type State = Option<Val>;
    type Op = RegisterOp;

    fn init(&self) -> Option<Val> {
        None
    }

    fn step(&self, state: &Option<Val>, op: &RegisterOp) -> Option<Option<Val>> {
        match *op {
            RegisterOp::Read(seen) => (seen == *state).then_some(*state),
            RegisterOp::Write(v) => Some(Some(v)),
            RegisterOp::Cas { expected, new } => (*state == Some(expected)).then_some(Some(new)),
        }
    }
}

/// One key's checkable history, with the invocations it came from (for the report).
struct KeyHistory<'a> {
    key: String,
    calls: Vec<Call<RegisterOp>>,
    sources: Vec<Invocation<'a>>,
    values: Vec<Value>,
    /// Ops that could not be read (e.g. a cas whose value is not `[expected, new]`).
    malformed: Vec<Invocation<'a>>,
}

fn partition<'a>(invocations: &[Invocation<'a>]) -> Vec<KeyHistory<'a>> {
    let mut by_key: BTreeMap<&str, KeyHistory<'a>> = BTreeMap::new();
    let mut interned: BTreeMap<&str, HashMap<String, Val>> = BTreeMap::new();
    for inv in invocations {
        let (Some(key), "read" | "write" | "cas") = (inv.key(), inv.f()) else {
            continue;
        };
        let outcome = inv.outcome();
        // Definitely not applied, or a read with no effect and no known result.
        if outcome == OpType::Fail || (inv.f() == "read" && outcome != OpType::Ok) {
            continue;
        }
        let h = by_key.entry(key).or_insert_with(|| KeyHistory {
            key: key.to_string(),
            calls: Vec::new(),
            sources: Vec::new(),
            values: Vec::new(),
            malformed: Vec::new(),
        });
        let ids = interned.entry(key).or_default();
        let mut intern = |v: &Value| -> Val {
            *ids.entry(v.to_string()).or_insert_with(|| {
                h.values.push(v.clone());
                (h.values.len() - 1) as Val
            })
        };
        let op = match inv.f() {
            "read" => {
                let seen = inv.completion.map_or(&Value::Null, |c| &c.value);
                Some(RegisterOp::Read((!seen.is_null()).then(|| intern(seen))))
            }
            "write" if !inv.invoke.value.is_null() => {
                Some(RegisterOp::Write(intern(&inv.invoke.value)))
            }
            "cas" => match inv.invoke.value.as_array().map(Vec::as_slice) {
                Some([expected, new]) if !expected.is_null() && !new.is_null() => {
                    Some(RegisterOp::Cas {
                        expected: intern(expected),
                        new: intern(new),
                    })
                }
                _ => None,
            },
            _ => None,
        };
        match op {
            Some(op) => {
                h.calls.push(Call {
                    op,
                    call: inv.call(),
                    ret: inv.known_return(),
                });
                h.sources.push(*inv);
            }
            None => h.malformed.push(*inv),
        }
    }
    by_key.into_values().collect()
}

enum KeyVerdict {
    Linearizable,
    Not(Counterexample<Option<Val>>),
    OutOfBudget { explored: u64 },
    Malformed,
}

fn check_key(key: &KeyHistory, deadline: Instant) -> KeyVerdict {
    if !key.malformed.is_empty() {
        return KeyVerdict::Malformed;
    }
    match wgl::check(&RegisterModel, &key.calls, deadline) {
        Outcome::Linearizable => KeyVerdict::Linearizable,
        Outcome::NotLinearizable(c) => KeyVerdict::Not(c),
        Outcome::Unknown { explored } => KeyVerdict::OutOfBudget { explored },
    }
}

/// The failing window around a stuck op: the op, every op of its key concurrent with it, and
/// the last write or cas linearized before it (where the state it contradicts came from).
struct Window {
    from: u64,
    to: u64,
    ops: Vec<usize>,
}

fn window(key: &KeyHistory, c: &Counterexample<Option<Val>>) -> Window {
    let stuck = &key.calls[c.stuck];
    let to = stuck.ret.unwrap_or(stuck.call);
    let mut ops: Vec<usize> = (0..key.calls.len())
        .filter(|&i| {
            let other = &key.calls[i];
            i == c.stuck || (other.call <= to && other.ret.is_none_or(|r| r >= stuck.call))
        })
        .collect();
    let origin = c
        .prefix
        .iter()
        .rev()
        .find(|&&i| !matches!(key.calls[i].op, RegisterOp::Read(_)));
    if let Some(&origin) = origin
        && !ops.contains(&origin)
    {
        ops.push(origin);
    }
    ops.sort_by_key(|&i| (key.calls[i].call, i));
    let from = ops
        .iter()
        .map(|&i| key.calls[i].call)
        .min()
        .unwrap_or(stuck.call);
    Window { from, to, ops }
}

fn describe(inv: &Invocation) -> Value {
    json!({
        "process": inv.invoke.process,
        "f": inv.f(),
        "key": inv.key(),
        "value": inv.invoke.value,
        "type": inv.outcome(),
        "result": inv.completion.map(|c| &c.value),
        "call": inv.call(),
        "return": inv.completed_at(),
        "node": inv.node(),
        "error": inv.completion.and_then(|c| c.error.as_deref()),
    })
}

/// `read → 3`, `write 3`, `cas [1,2]`: an op as a person reads it.
fn op_text(inv: &Invocation) -> String {
    match (inv.f(), inv.completion) {
        ("read", Some(c)) => format!("read → {}", c.value),
        (f, _) => format!("{f} {}", inv.invoke.value),
    }
}

fn state_json(key: &KeyHistory, state: Option<Val>) -> Value {
    state.map_or(Value::Null, |v| key.values[v as usize].clone())
}

fn summarize(keys: &[KeyHistory], verdicts: Vec<KeyVerdict>, budget: Duration) -> CheckResult {
    let mut per_key = serde_json::Map::new();
    let (mut invalid, mut unknown) = (Vec::new(), Vec::new());
    let mut worst: Option<(Window, String, String)> = None;
    for (key, verdict) in keys.iter().zip(&verdicts) {
        let infos = key.calls.iter().filter(|c| c.ret.is_none()).count();
        let mut entry = json!({ "ops": key.calls.len(), "unknown_outcome": infos });
        match verdict {
            KeyVerdict::Linearizable => entry["verdict"] = json!("linearizable"),
            KeyVerdict::OutOfBudget { explored } => {
                unknown.push(key.key.clone());
                entry["verdict"] = json!("unknown: out of time budget");
                entry["explored"] = json!(explored);
            }
            KeyVerdict::Malformed => {
                unknown.push(key.key.clone());
                entry["verdict"] = json!("unknown: malformed ops");
                entry["malformed"] = key.malformed.iter().map(describe).collect();
            }
            KeyVerdict::Not(c) => {
                invalid.push(key.key.clone());
                let w = window(key, c);
                let stuck = &key.sources[c.stuck];
                let in_prefix: Vec<bool> = {
                    let mut v = vec![false; key.calls.len()];
                    c.prefix.iter().for_each(|&i| v[i] = true);
                    v
                };
                let line = format!(
                    "{}: {} by {} at {} cannot be linearized after {} ops (state {})",
                    key.key,
                    op_text(stuck),
                    process_label(stuck.invoke.process),
                    seconds(stuck.call()),
                    c.prefix.len(),
                    state_json(key, c.state),
                );
                entry["verdict"] = json!("not linearizable");
                entry["stuck"] = describe(stuck);
                entry["linearized_prefix"] = json!(c.prefix.len());
                entry["state_after_prefix"] = state_json(key, c.state);
                entry["window"] = json!([w.from, w.to]);
                entry["window_ops"] = w
                    .ops
                    .iter()
                    .map(|&i| {
                        let mut d = describe(&key.sources[i]);
                        d["linearized"] = json!(in_prefix[i]);
                        d
                    })
                    .collect();
                if worst
                    .as_ref()
                    .is_none_or(|(b, _, _)| w.to - w.from < b.to - b.from)
                {
                    worst = Some((w, key.key.clone(), line));
                }
            }
        }
        per_key.insert(key.key.clone(), entry);
    }
    let ops: usize = keys.iter().map(|k| k.calls.len()).sum();
    let scope = format!("{} keys, {ops} ops", keys.len());
    let (validity, summary) = if let Some((_, _, line)) = &worst {
        let also = match invalid.len() {
            1 => String::new(),
            n => format!(" ({n} keys invalid: {})", invalid.join(", ")),
        };
        (
            Validity::Invalid,
            format!("NOT linearizable, {scope}: {line}{also}"),
        )
    } else if keys.is_empty() {
        (Validity::Unknown, "no register ops to check".to_string())
    } else if !unknown.is_empty() {
        (
            Validity::Unknown,
            format!(
                "unknown, {scope}: {} keys undecided within {:?} or malformed ({})",
                unknown.len(),
                budget,
                unknown.join(", ")
            ),
        )
    } else {
        (Validity::Valid, format!("linearizable, {scope}"))
    };
    let mut details = json!({
        "keys": per_key,
        "invalid_keys": invalid,
        "unknown_keys": unknown,
        "ops": ops,
        "budget_ms": budget.as_millis() as u64,
    });
    if let Some((_, key, _)) = &worst {
        details["window_key"] = json!(key);
    }
    CheckResult {
        name: "register-linearizable".into(),
        validity,
        summary,
        details,
        window: worst.map(|(w, _, _)| (w.from, w.to)),
    }
}

#[cfg(test)]
mod tests;
