//! A compact way to write histories in tests: events in order, ten nanoseconds apart.

use crate::history::{Op, OpType, Process};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Default)]
pub struct Hist {
    ops: Vec<Op>,
    open: HashMap<u64, (String, Option<String>)>,
    time: u64,
}

impl Hist {
    pub fn new() -> Hist {
        Hist::default()
    }

    fn push(
        mut self,
        process: Process,
        kind: OpType,
        f: &str,
        key: Option<&str>,
        v: Value,
    ) -> Hist {
        self.time += 10;
        let mut op = Op::new(process, kind, f, key, v);
        op.time = self.time;
        self.ops.push(op);
        self
    }

    /// Moves the clock on to `time` (ns) for the next event.
    pub fn at(mut self, time: u64) -> Hist {
        self.time = time - 10;
        self
    }

    pub fn invoke(mut self, p: u64, f: &str, key: Option<&str>, value: Value) -> Hist {
        self.open.insert(p, (f.to_string(), key.map(String::from)));
        self.push(Process::Client(p), OpType::Invoke, f, key, value)
    }

    fn complete(mut self, p: u64, kind: OpType, value: Value) -> Hist {
        let (f, key) = self
            .open
            .remove(&p)
            .expect("a completion follows its invocation");
        self.push(Process::Client(p), kind, &f, key.as_deref(), value)
    }

    pub fn ok(self, p: u64, value: Value) -> Hist {
        self.complete(p, OpType::Ok, value)
    }

    pub fn fail(self, p: u64) -> Hist {
        self.complete(p, OpType::Fail, Value::Null)
    }

    pub fn info(self, p: u64) -> Hist {
        self.complete(p, OpType::Info, Value::Null)
    }

    /// A register read of `key` by `p` that returns `seen`, with nothing in between.
    pub fn read(self, p: u64, key: &str, seen: Value) -> Hist {
        self.invoke(p, "read", Some(key), Value::Null).ok(p, seen)
    }

    /// A register write of `key` by `p`, acknowledged, with nothing in between.
    pub fn write(self, p: u64, key: &str, v: i64) -> Hist {
        self.invoke(p, "write", Some(key), json!(v)).ok(p, json!(v))
    }

    pub fn nemesis(self, f: &str, phase: &str) -> Hist {
        self.push(
            Process::Nemesis,
            OpType::Info,
            f,
            None,
            json!({ "phase": phase }),
        )
    }

    pub fn node(mut self, node: &str) -> Hist {
        if let Some(last) = self.ops.last_mut() {
            last.node = Some(node.to_string());
        }
        self
    }

    pub fn build(self) -> Vec<Op> {
        self.ops
    }
}
