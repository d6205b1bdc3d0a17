//! The history of a run: every client operation's invocation and completion, and every fault,
//! as `history.jsonl` (one event per line). Checkers read only this.
//!
//! Line shape: `{"process": 3 | "nemesis", "type": "invoke"|"ok"|"fail"|"info", "f": "read",
//! "key": "k1", "value": …, "time": <ns since the run started>}`; for `cas` the value is
//! `[expected, new]`; a read's `ok` carries the value read (`null` for absent). Optional fields:
//! `node` (the node a client talked to), `error` (why an op failed or is unknown).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Who performed an event: a logical client process (retired after an `info`), or the nemesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Nemesis,
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(n) => s.serialize_u64(*n),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Process, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(Process::Client)
                .ok_or_else(|| serde::de::Error::custom("a process number must be unsigned")),
            Value::String(s) if s == "nemesis" => Ok(Process::Nemesis),
            other => Err(serde::de::Error::custom(format!(
                "a process is a number or \"nemesis\", not {other}"
            ))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    /// Outcome unknown (a client op that timed out), or a nemesis action.
    Info,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    pub process: Process,
    #[serde(rename = "type")]
    pub kind: OpType,
    pub f: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Value,
    /// Nanoseconds since the run started.
    pub time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Op {
    pub fn new(process: Process, kind: OpType, f: &str, key: Option<&str>, value: Value) -> Op {
        Op {
            process,
            kind,
            f: f.to_string(),
            key: key.map(String::from),
            value,
            time: 0,
            node: None,
            error: None,
        }
    }
}

/// Appends events to `history.jsonl` as they happen, stamping their time; cheap to clone and
/// safe to share between client tasks and the nemesis.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<RecorderInner>>,
    start: Instant,
}

struct RecorderInner {
    out: BufWriter<std::fs::File>,
    events: Vec<Op>,
}

impl Recorder {
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let out = BufWriter::new(std::fs::File::create(path)?);
        Ok(Recorder {
            inner: Arc::new(Mutex::new(RecorderInner {
                out,
                events: Vec::new(),
            })),
            start: Instant::now(),
        })
    }

    /// Nanoseconds since the recorder was created.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Records `op` with the current time and returns it as recorded.
    pub fn record(&self, mut op: Op) -> Op {
        let mut inner = self.inner.lock().expect("history lock");
        // Stamped under the lock, so times in the file never go backwards.
        op.time = self.now();
        let line = serde_json::to_string(&op).expect("an op serialises");
        let _ = writeln!(inner.out, "{line}");
        inner.events.push(op.clone());
        op
    }

    /// Flushes the file; the events recorded so far, in order.
    pub fn finish(&self) -> std::io::Result<Vec<Op>> {
        let mut inner = self.inner.lock().expect("history lock");
        inner.out.flush()?;
        Ok(inner.events.clone())
    }
}

/// Reads a `history.jsonl`.
pub fn load(path: &Path) -> anyhow::Result<Vec<Op>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut ops = Vec::new();
    for (i, line) in file.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let op: Op = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))?;
        ops.push(op);
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_in_the_issue_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let rec = Recorder::create(&path).unwrap();
        rec.record(Op::new(
            Process::Client(3),
            OpType::Invoke,
            "cas",
            Some("k1"),
            serde_json::json!([1, 2]),
        ));
        rec.record(Op::new(
            Process::Nemesis,
            OpType::Info,
            "partition",
            None,
            serde_json::json!({"isolated": ["n1"]}),
        ));
        rec.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["process"], 3);
        assert_eq!(first["type"], "invoke");
        assert_eq!(first["f"], "cas");
        assert_eq!(first["key"], "k1");
        assert_eq!(first["value"], serde_json::json!([1, 2]));
        let ops = load(&path).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].process, Process::Nemesis);
        assert!(ops[0].time <= ops[1].time);
    }
}
