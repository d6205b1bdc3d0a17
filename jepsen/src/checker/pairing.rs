//! Pairs each client invocation with its completion, the shape every checker and the report read.

use crate::history::{Op, OpType, Process};
use std::collections::HashMap;

/// One client operation: its invocation and, unless the history ends first, its completion.
#[derive(Clone, Copy, Debug)]
pub struct Invocation<'a> {
    pub invoke: &'a Op,
    pub completion: Option<&'a Op>,
}

impl<'a> Invocation<'a> {
    /// `Ok`, `Fail` or `Info`; an invocation the history never completed counts as `Info`
    /// (it may or may not have happened).
    pub fn outcome(&self) -> OpType {
        self.completion.map_or(OpType::Info, |c| c.kind)
    }

    pub fn call(&self) -> u64 {
        self.invoke.time
    }

    /// When the outcome became known; `None` for an unknown outcome, which may take effect at
    /// any time after the call.
    pub fn known_return(&self) -> Option<u64> {
        match self.completion {
            Some(c) if c.kind != OpType::Info => Some(c.time),
            _ => None,
        }
    }

    /// The completion event's time, whatever it says (for latency), if there is one.
    pub fn completed_at(&self) -> Option<u64> {
        self.completion.map(|c| c.time)
    }

    pub fn f(&self) -> &'a str {
        &self.invoke.f
    }

    pub fn key(&self) -> Option<&'a str> {
        self.invoke.key.as_deref()
    }

    /// The node the client talked to, from the completion if it says, else the invocation.
    pub fn node(&self) -> Option<&'a str> {
        self.completion
            .and_then(|c| c.node.as_deref())
            .or(self.invoke.node.as_deref())
    }
}

/// Client invocations in invocation order, each with the next completion of its process.
/// Nemesis events and completions with no open invocation are left out; an invocation followed
/// by another invocation of the same process (a malformed history) is left without completion.
pub fn pair(history: &[Op]) -> Vec<Invocation<'_>> {
    let mut out: Vec<Invocation> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for op in history {
        let Process::Client(p) = op.process else {
            continue;
        };
        if op.kind == OpType::Invoke {
            open.insert(p, out.len());
            out.push(Invocation {
                invoke: op,
                completion: None,
            });
        } else if let Some(i) = open.remove(&p) {
            out[i].completion = Some(op);
        }
    }
    out
}

/// Nemesis events, in history order.
pub fn nemesis_events(history: &[Op]) -> impl Iterator<Item = &Op> {
    history.iter().filter(|op| op.process == Process::Nemesis)
}

/// A nemesis event's phase (`"start"`, `"end"`), if it has one.
pub fn fault_phase(op: &Op) -> Option<&str> {
    op.value.get("phase").and_then(|p| p.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn at(time: u64, process: Process, kind: OpType, f: &str, value: Value) -> Op {
        let mut op = Op::new(process, kind, f, Some("k"), value);
        op.time = time;
        op
    }

    #[test]
    fn completions_match_their_process_and_unfinished_ops_are_unknown() {
        let c = Process::Client;
        let h = vec![
            at(1, c(0), OpType::Invoke, "write", json!(1)),
            at(2, c(1), OpType::Invoke, "read", Value::Null),
            at(
                3,
                Process::Nemesis,
                OpType::Info,
                "kill",
                json!({"phase": "start"}),
            ),
            at(4, c(1), OpType::Ok, "read", json!(1)),
            at(5, c(0), OpType::Info, "write", json!(1)),
            at(6, c(2), OpType::Invoke, "cas", json!([1, 2])),
            at(7, c(3), OpType::Fail, "read", Value::Null),
        ];
        let pairs = pair(&h);
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].invoke.time, 1);
        assert_eq!(pairs[0].completed_at(), Some(5));
        assert_eq!(pairs[0].outcome(), OpType::Info);
        assert_eq!(pairs[0].known_return(), None);
        assert_eq!(pairs[1].outcome(), OpType::Ok);
        assert_eq!(pairs[1].known_return(), Some(4));
        assert_eq!(pairs[2].outcome(), OpType::Info, "never completed");
        assert_eq!(pairs[2].completed_at(), None);
        let faults: Vec<_> = nemesis_events(&h).collect();
        assert_eq!(faults.len(), 1);
        assert_eq!(fault_phase(faults[0]), Some("start"));
    }
}
