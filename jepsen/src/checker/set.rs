//! set-full: elements added concurrently, whole-set reads (at least a final one after healing).
//!
//! Per element: when it became *known* (its add acknowledged, or a read first saw it), and the
//! reads that saw it or did not. An acknowledged element is **lost** if the last read that
//! missed it began after it was known and after the last read that saw it; **stale** if a read
//! that began after it was known missed it but a later one saw it; **never read** if no read
//! began after it was known. An element whose add failed, or that nobody added, must never
//! appear (**unexpected**); an add of unknown outcome may or may not appear.

use super::pairing::{Invocation, pair};
use super::seconds;
use super::{CheckResult, Validity};
use crate::history::OpType;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, Default)]
pub struct SetOptions {
    /// Reads are meant to be linearizable: a stale element is then a violation, not a figure.
    pub stale_is_invalid: bool,
}

/// set-full with stale elements reported but not counted as a violation.
pub fn set(history: &[crate::history::Op]) -> CheckResult {
    set_with(history, SetOptions::default())
}

/// An element, ordered numerically when it is an integer (any other JSON value by its text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Elem {
    Int(i64),
    Other(String),
}

impl Elem {
    fn of(v: &Value) -> Elem {
        v.as_i64()
            .map_or_else(|| Elem::Other(v.to_string()), Elem::Int)
    }

    fn json(&self) -> Value {
        match self {
            Elem::Int(i) => json!(i),
            Elem::Other(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }
}

/// What the adds of one element came to (a workload adds each element once, but be lenient).
#[derive(Default)]
struct Added {
    /// Earliest acknowledgement.
    ok_at: Option<u64>,
    /// Earliest invocation.
    invoked_at: Option<u64>,
    unknown: bool,
    failed: bool,
}

struct Read {
    invoked: u64,
    completed: u64,
    elements: BTreeSet<Elem>,
}

#[derive(Default)]
struct Findings {
    lost: Vec<Elem>,
    stale: Vec<Elem>,
    never_read: Vec<Elem>,
    unexpected: Vec<Elem>,
    duplicated: Vec<Elem>,
    unknown_present: usize,
    unknown_absent: usize,
    /// The shortest window showing a lost, unexpected or duplicated element.
    window: Option<(u64, u64)>,
    /// The shortest window showing a stale element (a violation only for linearizable reads).
    stale_window: Option<(u64, u64)>,
}

/// Keeps the shorter of `window` and the span between `a` and `b`.
fn shortest(window: Option<(u64, u64)>, a: u64, b: u64) -> Option<(u64, u64)> {
    let (from, to) = (a.min(b), a.max(b));
    match window {
        Some((x, y)) if y - x <= to - from => window,
        _ => Some((from, to)),
    }
}

impl Findings {
    fn offer_window(&mut self, a: u64, b: u64) {
        self.window = shortest(self.window, a, b);
    }
}

pub fn set_with(history: &[crate::history::Op], options: SetOptions) -> CheckResult {
    let invocations = pair(history);
    let mut adds: BTreeMap<Elem, Added> = BTreeMap::new();
    let mut reads: Vec<Read> = Vec::new();
    let mut findings = Findings::default();
    for inv in &invocations {
        match inv.f() {
            "add" => record_add(adds.entry(Elem::of(&inv.invoke.value)).or_default(), inv),
            "read" if inv.key().is_none() && inv.outcome() == OpType::Ok => {
                let c = inv.completion.expect("an ok outcome has a completion");
                let listed: Vec<Elem> = c
                    .value
                    .as_array()
                    .map_or(vec![], |a| a.iter().map(Elem::of).collect());
                let elements: BTreeSet<Elem> = listed.iter().cloned().collect();
                if elements.len() < listed.len() {
                    let mut seen = BTreeSet::new();
                    for e in listed {
                        if !seen.insert(e.clone()) && !findings.duplicated.contains(&e) {
                            findings.duplicated.push(e);
                            findings.offer_window(inv.call(), c.time);
                        }
                    }
                }
                reads.push(Read {
                    invoked: inv.call(),
                    completed: c.time,
                    elements,
                });
            }
            _ => {}
        }
    }
    let everything: BTreeSet<&Elem> = adds
        .keys()
        .chain(reads.iter().flat_map(|r| r.elements.iter()))
        .collect();
    let none = Added::default();
    for elem in everything {
        classify(elem, adds.get(elem).unwrap_or(&none), &reads, &mut findings);
    }
    verdict(&adds, &reads, findings, options)
}

fn record_add(added: &mut Added, inv: &Invocation) {
    added.invoked_at = Some(added.invoked_at.map_or(inv.call(), |t| t.min(inv.call())));
    match (inv.outcome(), inv.completed_at()) {
        (OpType::Ok, Some(at)) => added.ok_at = Some(added.ok_at.map_or(at, |t| t.min(at))),
        (OpType::Fail, _) => added.failed = true,
        _ => added.unknown = true,
    }
}

fn classify(elem: &Elem, added: &Added, reads: &[Read], findings: &mut Findings) {
    let present = |r: &&Read| r.elements.contains(elem);
    let first_seen = reads.iter().filter(present).min_by_key(|r| r.completed);
    // May it appear at all? Only if some add of it was acknowledged or is of unknown outcome.
    if added.ok_at.is_none() && !added.unknown {
        if let Some(r) = first_seen {
            findings.unexpected.push(elem.clone());
            findings.offer_window(added.invoked_at.unwrap_or(r.invoked), r.completed);
        }
        return;
    }
    if added.ok_at.is_none() {
        match first_seen {
            Some(_) => findings.unknown_present += 1,
            None => findings.unknown_absent += 1,
        }
    }
    let known = match (added.ok_at, first_seen) {
        (Some(a), Some(r)) => a.min(r.completed),
        (Some(a), None) => a,
        (None, Some(r)) => r.completed,
        (None, None) => return,
    };
    let last_present = reads.iter().filter(present).map(|r| r.invoked).max();
    let absent_after_known = || {
        reads
            .iter()
            .filter(move |r| r.invoked > known && !r.elements.contains(elem))
    };
    let last_absent = absent_after_known().max_by_key(|r| r.invoked);
    if let Some(r) = last_absent
        && last_present.is_none_or(|p| r.invoked > p)
    {
        findings.lost.push(elem.clone());
        findings.offer_window(known, r.completed);
    } else if let Some(r) = absent_after_known().min_by_key(|r| r.invoked)
        && last_present.is_some_and(|p| p > r.invoked)
    {
        findings.stale.push(elem.clone());
        findings.stale_window = shortest(findings.stale_window, known, r.completed);
    } else if added.ok_at.is_some()
        && first_seen.is_none()
        && !reads.iter().any(|r| r.invoked > known)
    {
        findings.never_read.push(elem.clone());
    }
}

fn list(elems: &[Elem]) -> Value {
    elems.iter().map(Elem::json).collect()
}

/// `[3, 5, 8]`, or the first few and a count.
fn brief(elems: &[Elem]) -> String {
    const SHOWN: usize = 8;
    let shown: Vec<String> = elems
        .iter()
        .take(SHOWN)
        .map(|e| e.json().to_string())
        .collect();
    match elems.len() {
        n if n > SHOWN => format!("[{}, … {} more]", shown.join(", "), n - SHOWN),
        _ => format!("[{}]", shown.join(", ")),
    }
}

fn verdict(
    adds: &BTreeMap<Elem, Added>,
    reads: &[Read],
    f: Findings,
    options: SetOptions,
) -> CheckResult {
    let acknowledged = adds.values().filter(|a| a.ok_at.is_some()).count();
    let failed = adds
        .values()
        .filter(|a| a.ok_at.is_none() && !a.unknown && a.failed)
        .count();
    let mut problems = Vec::new();
    for (what, elems) in [
        ("lost", &f.lost),
        ("unexpected", &f.unexpected),
        ("duplicated", &f.duplicated),
    ] {
        if !elems.is_empty() {
            problems.push(format!("{} {what} {}", elems.len(), brief(elems)));
        }
    }
    if options.stale_is_invalid && !f.stale.is_empty() {
        problems.push(format!("{} stale {}", f.stale.len(), brief(&f.stale)));
    }
    let scope = format!(
        "{} adds ({acknowledged} acknowledged, {failed} failed), {} reads",
        adds.len(),
        reads.len()
    );
    let (validity, summary) = if !problems.is_empty() {
        (
            Validity::Invalid,
            format!("{}; {scope}", problems.join(", ")),
        )
    } else if reads.is_empty() {
        (Validity::Unknown, format!("no successful read; {scope}"))
    } else if !f.never_read.is_empty() {
        let n = f.never_read.len();
        (
            Validity::Unknown,
            format!(
                "{n} acknowledged never read {}; {scope}",
                brief(&f.never_read)
            ),
        )
    } else {
        let stale = match f.stale.len() {
            0 => String::new(),
            n => format!(", {n} seen late (stale reads)"),
        };
        (
            Validity::Valid,
            format!("every acknowledged element present{stale}; {scope}"),
        )
    };
    let last_read = reads.iter().map(|r| r.completed).max();
    CheckResult {
        name: "set-full".into(),
        validity,
        summary,
        details: json!({
            "adds": adds.len(),
            "acknowledged": acknowledged,
            "failed": failed,
            "reads": reads.len(),
            "last_read_at": last_read.map(seconds),
            "lost": list(&f.lost),
            "unexpected": list(&f.unexpected),
            "duplicated": list(&f.duplicated),
            "stale": list(&f.stale),
            "never_read": list(&f.never_read),
            "unknown_outcome_present": f.unknown_present,
            "unknown_outcome_absent": f.unknown_absent,
            // The failing window holds set ops, which have no key.
            "window_key": null,
        }),
        window: match (validity, f.stale_window) {
            (Validity::Invalid, Some((a, b))) if options.stale_is_invalid => {
                shortest(f.window, a, b)
            }
            (Validity::Invalid, _) => f.window,
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::testing::Hist;
    use crate::history::Op;
    use serde_json::Value::Null;

    fn add(h: Hist, p: u64, e: i64) -> Hist {
        h.invoke(p, "add", None, json!(e)).ok(p, Null)
    }

    fn read(h: Hist, p: u64, seen: Value) -> Hist {
        h.invoke(p, "read", None, Null).ok(p, seen)
    }

    fn check(h: &[Op]) -> CheckResult {
        set(h)
    }

    #[test]
    fn every_acknowledged_element_present_is_valid() {
        let h = add(add(Hist::new(), 1, 1), 2, 2);
        let h = read(h, 1, json!([2, 1])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
        assert_eq!(r.details["acknowledged"], 2);
        assert_eq!(r.details["lost"], json!([]));
    }

    #[test]
    fn an_acknowledged_element_missing_from_the_final_read_is_lost() {
        let h = add(add(add(Hist::new(), 1, 1), 2, 2), 1, 3);
        let h = read(h, 3, json!([1, 3])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Invalid);
        assert_eq!(r.details["lost"], json!([2]));
        // From the add's acknowledgement (40) to the read that missed it (80).
        assert_eq!(r.window, Some((40, 80)));
        assert!(r.summary.contains("1 lost [2]"), "{}", r.summary);
    }

    #[test]
    fn an_element_seen_then_gone_is_lost_even_if_its_add_was_unknown() {
        let h = Hist::new().invoke(1, "add", None, json!(5)).info(1);
        let h = read(read(h, 2, json!([5])), 2, json!([])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Invalid);
        assert_eq!(r.details["lost"], json!([5]));
    }

    #[test]
    fn failed_or_never_added_elements_must_not_appear() {
        let h = Hist::new().invoke(1, "add", None, json!(4)).fail(1);
        let h = read(add(h, 2, 6), 2, json!([4, 6, 9])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Invalid);
        assert_eq!(r.details["unexpected"], json!([4, 9]));
        assert_eq!(r.details["failed"], 1);
        // The shortest of the two: 9 appears in the read (50..60); 4 was refused at 10..20.
        assert_eq!(r.window, Some((50, 60)));
        let h = Hist::new().invoke(1, "add", None, json!(4)).fail(1);
        let r = check(&read(h, 2, json!([4])).build());
        assert_eq!(r.details["unexpected"], json!([4]));
        assert_eq!(r.window, Some((10, 40)), "from the refused add to the read");
    }

    #[test]
    fn unknown_adds_may_or_may_not_appear() {
        let h = Hist::new()
            .invoke(1, "add", None, json!(1))
            .info(1)
            .invoke(2, "add", None, json!(2))
            .info(2);
        let h = read(h, 3, json!([2])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
        assert_eq!(r.details["unknown_outcome_present"], 1);
        assert_eq!(r.details["unknown_outcome_absent"], 1);
    }

    #[test]
    fn without_a_successful_read_nothing_is_known() {
        let h = add(Hist::new(), 1, 1)
            .invoke(2, "read", None, Null)
            .info(2)
            .build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Unknown);
        assert_eq!(r.details["never_read"], json!([1]));
        let only_unknown = Hist::new().invoke(1, "add", None, json!(1)).info(1).build();
        assert_eq!(check(&only_unknown).validity, Validity::Unknown);
        // A read that began before the add was acknowledged cannot vouch for it.
        let h = Hist::new()
            .invoke(2, "read", None, Null)
            .invoke(1, "add", None, json!(1))
            .ok(1, Null)
            .ok(2, json!([]))
            .build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Unknown, "{}", r.summary);
        assert_eq!(r.details["never_read"], json!([1]));
    }

    #[test]
    fn an_element_missing_then_back_is_stale_and_invalid_only_when_reads_are_linearizable() {
        let h = add(Hist::new(), 1, 1);
        let h = read(read(h, 2, json!([])), 2, json!([1])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
        assert_eq!(r.details["stale"], json!([1]));
        assert_eq!(r.window, None);
        let strict = set_with(
            &h,
            SetOptions {
                stale_is_invalid: true,
            },
        );
        assert_eq!(strict.validity, Validity::Invalid);
        assert!(strict.summary.contains("stale"), "{}", strict.summary);
        // From the add's acknowledgement (20) to the read that missed it (40).
        assert_eq!(strict.window, Some((20, 40)));
    }

    #[test]
    fn duplicates_in_one_read_are_invalid_and_strings_work() {
        let h = Hist::new()
            .invoke(1, "add", None, json!("app-1"))
            .ok(1, Null);
        let h = read(h, 1, json!(["app-1", "app-1"])).build();
        let r = check(&h);
        assert_eq!(r.validity, Validity::Invalid);
        assert_eq!(r.details["duplicated"], json!(["app-1"]));
    }

    #[test]
    fn register_reads_are_not_set_reads() {
        let h = add(Hist::new(), 1, 1).read(2, "x", json!(3)).build();
        assert_eq!(check(&h).validity, Validity::Unknown);
    }
}
