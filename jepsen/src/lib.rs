//! baton's chaos-test harness (see `jepsen/README.md`). `main.rs` is the CLI: it makes a run
//! folder and a private network namespace, runs itself again inside the namespace (where `run`
//! drives the test), then checks the history and writes the report. Integration tests use the
//! library directly. Declare new modules here, as `pub mod`.
//!
//! - [`spec`]: what one run does; saved in the run folder as `spec.json`.
//! - [`host`]: tools installed through apt when missing, the baton binary, the git commit.
//! - [`net`]: the network namespace, and partitions as nftables rules.
//! - [`cluster`]: `baton node` and `baton mesos-local` processes; leadership and membership.
//! - [`nemesis`]: the seeded fault schedule, carried out and recorded.
//! - [`workload`]: client processes: registers and a set, over gRPC.
//! - [`run`]: one run inside the namespace, phase by phase.
//! - [`history`]: `history.jsonl`, every operation and fault.
//! - [`checker`]: verdicts from the history alone.
//! - [`report`]: `results.json` and `report.html`.
//! - [`proto`]: baton's public gRPC API (clients only), compiled from `proto/baton/v1`.

pub mod checker;
pub mod cluster;
pub mod history;
pub mod host;
pub mod nemesis;
pub mod net;
pub mod report;
pub mod run;
pub mod spec;
pub mod workload;

/// baton's public gRPC API (`proto/baton/v1`): the only way the harness talks to the cluster.
pub mod proto {
    tonic::include_proto!("baton.v1");
}
