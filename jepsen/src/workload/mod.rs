//! Client processes. Each worker is one logical, single-threaded client: it picks a node at
//! random, invokes one operation, records the invocation and the completion, and waits a random
//! pause (so that all workers together keep to the run's rate). An operation whose outcome is
//! unknown (`info`) retires its process: the worker goes on as a new process, `old + stride`,
//! as in Jepsen.
//!
//! - `client.rs`: gRPC calls with timeouts, and which failures are definite.
//! - `register.rs`: read / write / compare-and-set registers held in app labels.
//! - `set.rs`: unique apps created concurrently, and whole-set reads.
//! - `scheduling.rs`: apps scaled up and down, and a sampler of mesos-local's tasks, the
//!   leader and the launch log.

pub mod client;
pub mod register;
pub mod scheduling;
pub mod set;

use crate::cluster::node_name;
use crate::history::{Op, OpType, Process, Recorder};
use client::{Apps, Failure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The seed's streams for workers start here (the nemesis uses the ones below).
const WORKER_STREAM_BASE: u64 = 100;

/// How an operation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// It happened; the value is what it returned (a read's value).
    Ok(Value),
    /// It certainly did not happen.
    Fail(String),
    /// It may or may not have happened.
    Info(String),
}

impl Completion {
    /// A failed state change: definite failures `fail`, others `info`.
    pub fn of_write(failure: Failure) -> Completion {
        match failure {
            Failure::Definite(m) => Completion::Fail(m),
            Failure::Unknown(m) => Completion::Info(m),
        }
    }

    /// A failed read never changed anything, so it is a `fail` whatever happened to it.
    pub fn of_read(failure: Failure) -> Completion {
        Completion::Fail(failure.message().to_string())
    }
}

/// What a workload's workers share.
#[derive(Clone)]
pub enum Workload {
    Register(Arc<register::Registers>),
    Set(Arc<set::Elements>),
    Scheduling,
}

/// An invoked operation waiting for its completion.
pub struct Pending {
    f: &'static str,
    key: Option<String>,
    value: Value,
    node: usize,
}

pub struct Worker {
    process: u64,
    /// How many workers there are: a retired process `p` continues as `p + stride`.
    stride: u64,
    rng: ChaCha8Rng,
    apps: Apps,
    recorder: Recorder,
}

impl Worker {
    pub fn new(index: usize, stride: usize, seed: u64, apps: Apps, recorder: Recorder) -> Worker {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(WORKER_STREAM_BASE + index as u64);
        Worker {
            process: index as u64,
            stride: stride as u64,
            rng,
            apps,
            recorder,
        }
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub fn apps(&self) -> &Apps {
        &self.apps
    }

    pub fn pick_node(&mut self) -> usize {
        self.rng.random_range(0..self.apps.node_count())
    }

    fn event(&self, kind: OpType, p: &Pending, value: Value, error: Option<String>) -> Op {
        let mut op = Op::new(
            Process::Client(self.process),
            kind,
            p.f,
            p.key.as_deref(),
            value,
        );
        op.node = Some(node_name(p.node as u64 + 1));
        op.error = error;
        op
    }

    /// Records the invocation of `f` on `node`.
    pub fn invoke(
        &mut self,
        f: &'static str,
        key: Option<&str>,
        value: Value,
        node: usize,
    ) -> Pending {
        let pending = Pending {
            f,
            key: key.map(String::from),
            value,
            node,
        };
        self.recorder
            .record(self.event(OpType::Invoke, &pending, pending.value.clone(), None));
        pending
    }

    /// Records how `pending` ended; an unknown outcome retires this process.
    pub fn complete(&mut self, pending: Pending, completion: Completion) {
        let op = match &completion {
            Completion::Ok(v) => self.event(OpType::Ok, &pending, v.clone(), None),
            Completion::Fail(e) => self.event(
                OpType::Fail,
                &pending,
                pending.value.clone(),
                Some(e.clone()),
            ),
            Completion::Info(e) => self.event(
                OpType::Info,
                &pending,
                pending.value.clone(),
                Some(e.clone()),
            ),
        };
        self.recorder.record(op);
        if matches!(completion, Completion::Info(_)) {
            self.process += self.stride;
        }
    }

    /// Waits a random pause averaging `mean` (Jepsen's stagger); false once `until` passed or
    /// the run is cancelled.
    async fn pace(&mut self, mean: Duration, until: Instant, cancel: &CancellationToken) -> bool {
        let pause = mean.mul_f64(self.rng.random_range(0.0..2.0));
        let wake = (Instant::now() + pause).min(until);
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep_until(wake) => Instant::now() < until,
        }
    }

    /// Runs `workload`'s operations until `until` (or cancellation), one every `mean` or so
    /// plus the operation's own time.
    pub async fn drive(
        mut self,
        workload: Workload,
        mean: Duration,
        until: Instant,
        cancel: CancellationToken,
    ) -> Worker {
        while self.pace(mean, until, &cancel).await {
            match &workload {
                Workload::Register(r) => register::step(&mut self, r).await,
                Workload::Set(s) => set::step(&mut self, s).await,
                Workload::Scheduling => scheduling::step(&mut self).await,
            }
        }
        self
    }
}
