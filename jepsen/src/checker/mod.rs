//! Checkers: pure functions from a finished history to a verdict, run after the test.
//!
//! - `pairing.rs`: an invocation with its completion (or none), the unit every checker reads.
//! - `wgl.rs`: the Wing & Gong linearizability search with Lowe's memoization, over any model.
//! - `register.rs`: read/write/cas registers, one WGL search per key, within a time budget.
//! - `set.rs`: set-full (lost, unexpected, stale, never-read elements).
//! - `scheduling.rs`: tasks within over-capacity, launch-stream succession, convergence.
//! - `availability.rs`: how long acknowledged writes stopped after each fault (a measurement).
//!
//! Which ops each checker reads: `register` takes client `read`/`write`/`cas` ops that carry a
//! `key`; `set` takes `add` ops and the `read`s without a key; `scheduling` takes `scale`,
//! `observe` and `launches` ops; nemesis events are `process: "nemesis"`, `type: "info"`, with
//! `value.phase` `"start"` or `"end"`.

mod availability;
mod pairing;
mod register;
mod scheduling;
mod set;
pub mod wgl;

#[cfg(test)]
pub(crate) mod testing;

pub use availability::availability;
pub use pairing::{Invocation, fault_phase, nemesis_events, pair};
pub use register::{register, register_with_threads};
pub use scheduling::scheduling;
pub use set::{SetOptions, set, set_with};

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Validity {
    Valid,
    Invalid,
    /// The checker could not decide (out of time budget, nothing to check, malformed input).
    Unknown,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    /// `"register-linearizable"`, `"set-full"`, `"availability"`, …
    pub name: String,
    pub validity: Validity,
    /// One line for the terminal.
    pub summary: String,
    /// Per-key verdicts, lost or stale elements, figures. `window_key` names the key the failing
    /// window's ops have (`null`: ops without a key), so the report lists only those.
    pub details: serde_json::Value,
    /// The smallest failing window of ops (ns since start), when Invalid.
    pub window: Option<(u64, u64)>,
}

/// Jepsen's merge: any Invalid wins, then any Unknown. No results at all is Unknown: a run that
/// checked nothing proves nothing.
pub fn overall(results: &[CheckResult]) -> Validity {
    if results.is_empty() {
        return Validity::Unknown;
    }
    let has = |v: Validity| results.iter().any(|r| r.validity == v);
    if has(Validity::Invalid) {
        Validity::Invalid
    } else if has(Validity::Unknown) {
        Validity::Unknown
    } else {
        Validity::Valid
    }
}

/// `p3` or `nemesis`: a process as summaries and the report name it.
pub fn process_label(p: crate::history::Process) -> String {
    match p {
        crate::history::Process::Client(n) => format!("p{n}"),
        crate::history::Process::Nemesis => "nemesis".to_string(),
    }
}

/// Seconds since the run started, for summaries: `12.345s`.
pub fn seconds(ns: u64) -> String {
    format!("{:.3}s", ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(validity: Validity) -> CheckResult {
        CheckResult {
            name: "x".into(),
            validity,
            summary: String::new(),
            details: serde_json::Value::Null,
            window: None,
        }
    }

    #[test]
    fn overall_ranks_invalid_over_unknown_over_valid() {
        use Validity::*;
        assert_eq!(overall(&[result(Valid), result(Valid)]), Valid);
        assert_eq!(overall(&[result(Valid), result(Unknown)]), Unknown);
        assert_eq!(
            overall(&[result(Unknown), result(Invalid), result(Valid)]),
            Invalid
        );
        assert_eq!(overall(&[]), Unknown);
    }

    #[test]
    fn seconds_format_milliseconds() {
        assert_eq!(seconds(12_345_678_901), "12.346s");
        assert_eq!(seconds(0), "0.000s");
        assert_eq!(process_label(crate::history::Process::Client(4)), "p4");
        assert_eq!(process_label(crate::history::Process::Nemesis), "nemesis");
    }
}
