//! Availability, a measurement rather than a property: after each fault began (and after the
//! final heal), how long until the next acknowledged write, and the longest stretch of the run
//! with no acknowledged write at all.

use super::pairing::{fault_phase, nemesis_events, pair};
use super::seconds;
use super::{CheckResult, Validity};
use crate::history::{Op, OpType};
use serde::Serialize;
use serde_json::{Value, json};

/// Ops that change state: an acknowledged one proves the cluster could commit.
const WRITES: [&str; 4] = ["write", "cas", "add", "scale"];

#[derive(Debug, Serialize)]
struct Recovery {
    f: String,
    at: u64,
    value: Value,
    /// Until the next acknowledged write; `None`: none came before the history ended.
    recovered_after_ns: Option<u64>,
    /// Writes invoked meanwhile that failed or whose outcome is unknown.
    writes_not_acknowledged: usize,
}

#[derive(Debug, Serialize)]
struct Gap {
    from: u64,
    to: u64,
    ns: u64,
}

pub fn availability(history: &[Op]) -> CheckResult {
    let invocations = pair(history);
    let Some(start) = invocations.iter().map(|i| i.call()).min() else {
        return CheckResult {
            name: "availability".into(),
            validity: Validity::Unknown,
            summary: "no client ops".into(),
            details: json!({}),
            window: None,
        };
    };
    let end = history.iter().map(|op| op.time).max().unwrap_or(start);
    let writes: Vec<_> = invocations
        .iter()
        .filter(|i| WRITES.contains(&i.f()))
        .collect();
    let mut acknowledged: Vec<u64> = writes
        .iter()
        .filter(|i| i.outcome() == OpType::Ok)
        .filter_map(|i| i.completed_at())
        .collect();
    acknowledged.sort_unstable();
    let recovery = |f: &str, at: u64, value: &Value| {
        let next = acknowledged.iter().find(|&&t| t > at).copied();
        let until = next.unwrap_or(u64::MAX);
        Recovery {
            f: f.to_string(),
            at,
            value: value.clone(),
            recovered_after_ns: next.map(|t| t - at),
            writes_not_acknowledged: writes
                .iter()
                .filter(|i| i.call() >= at && i.call() < until && i.outcome() != OpType::Ok)
                .count(),
        }
    };
    let events: Vec<&Op> = nemesis_events(history).collect();
    let is_end = |op: &Op| fault_phase(op) == Some("end") || op.f.starts_with("heal");
    let faults: Vec<Recovery> = events
        .iter()
        .filter(|op| fault_phase(op) == Some("start"))
        .map(|op| recovery(&op.f, op.time, &op.value))
        .collect();
    let last_start = faults.iter().map(|r| r.at).max();
    let final_heal = events
        .iter()
        .rev()
        .find(|op| is_end(op))
        .filter(|op| last_start.is_none_or(|s| op.time >= s))
        .map(|op| recovery(&op.f, op.time, &op.value));

    let mut points = vec![start];
    points.extend(acknowledged.iter().copied());
    points.push(end);
    let longest = points
        .windows(2)
        .map(|w| Gap {
            from: w[0],
            to: w[1],
            ns: w[1].saturating_sub(w[0]),
        })
        .max_by_key(|g| g.ns)
        .expect("at least two points");

    let summary = summary(&faults, final_heal.as_ref(), &longest, acknowledged.len());
    let worst = faults.iter().filter_map(|r| r.recovered_after_ns).max();
    CheckResult {
        name: "availability".into(),
        validity: Validity::Valid,
        summary,
        details: json!({
            "acknowledged_writes": acknowledged.len(),
            "writes": writes.len(),
            "faults": faults,
            "final_heal": final_heal,
            "longest_gap": longest,
            "worst_recovery_ns": worst,
            "never_recovered": faults.iter().filter(|r| r.recovered_after_ns.is_none()).count(),
        }),
        window: None,
    }
}

fn summary(faults: &[Recovery], heal: Option<&Recovery>, longest: &Gap, acked: usize) -> String {
    let mut parts = vec![format!("{acked} acknowledged writes")];
    let worst = faults
        .iter()
        .max_by_key(|r| r.recovered_after_ns.unwrap_or(u64::MAX));
    if let Some(w) = worst {
        parts.push(match w.recovered_after_ns {
            Some(ns) => format!(
                "worst recovery {} after {} at {}",
                seconds(ns),
                w.f,
                seconds(w.at)
            ),
            None => format!("no acknowledged write after {} at {}", w.f, seconds(w.at)),
        });
    }
    if let Some(h) = heal {
        parts.push(match h.recovered_after_ns {
            Some(ns) => format!("{} after the final heal", seconds(ns)),
            None => "no acknowledged write after the final heal".to_string(),
        });
    }
    parts.push(format!(
        "longest stretch without one {} ({}–{})",
        seconds(longest.ns),
        seconds(longest.from),
        seconds(longest.to)
    ));
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testing::Hist;
    use serde_json::Value::Null;

    const S: u64 = 1_000_000_000;

    #[test]
    fn recovery_after_each_fault_and_the_final_heal() {
        let h = Hist::new()
            .at(S)
            .write(1, "x", 1) // acknowledged at 1s + 10ns
            .at(5 * S)
            .invoke(2, "add", None, json!(1))
            .ok(2, Null) // 5s + 10ns
            .at(10 * S + 10)
            .nemesis("kill", "start")
            .invoke(1, "write", Some("x"), json!(2))
            .info(1)
            .invoke(3, "read", Some("x"), Null)
            .ok(3, json!(1)) // a read proves nothing about writes
            .at(13 * S)
            .invoke(4, "cas", Some("x"), json!([1, 3]))
            .ok(4, Null) // 13s + 10ns
            .at(18 * S + 10)
            .nemesis("kill", "end")
            .at(20 * S)
            .write(4, "x", 4) // 20s + 10ns
            .build();
        let r = availability(&h);
        assert_eq!(r.validity, Validity::Valid);
        let d = &r.details;
        assert_eq!(d["acknowledged_writes"], 4);
        assert_eq!(d["faults"][0]["f"], "kill");
        assert_eq!(d["faults"][0]["recovered_after_ns"], 3 * S);
        assert_eq!(d["faults"][0]["writes_not_acknowledged"], 1);
        assert_eq!(d["final_heal"]["at"], 18 * S + 10);
        assert_eq!(d["final_heal"]["recovered_after_ns"], 2 * S);
        assert_eq!(d["longest_gap"]["ns"], 8 * S);
        assert_eq!(d["longest_gap"]["from"], 5 * S + 10);
        assert_eq!(d["worst_recovery_ns"], 3 * S);
        assert!(
            r.summary.contains("worst recovery 3.000s after kill"),
            "{}",
            r.summary
        );
        assert!(
            r.summary.contains("2.000s after the final heal"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_fault_never_recovered_from_and_a_tail_without_writes() {
        let h = Hist::new()
            .write(1, "x", 1)
            .nemesis("partition", "start")
            .at(30 * S)
            .invoke(1, "write", Some("x"), json!(2))
            .fail(1)
            .build();
        let r = availability(&h);
        assert_eq!(r.validity, Validity::Valid);
        assert_eq!(r.details["faults"][0]["recovered_after_ns"], Null);
        assert_eq!(r.details["never_recovered"], 1);
        assert_eq!(r.details["final_heal"], Null);
        assert_eq!(r.details["longest_gap"]["to"], 30 * S + 10);
        assert!(
            r.summary.contains("no acknowledged write after partition"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn no_ops_is_unknown() {
        let h = Hist::new().nemesis("kill", "start").build();
        assert_eq!(availability(&h).validity, Validity::Unknown);
        assert_eq!(availability(&[]).validity, Validity::Unknown);
    }
}
