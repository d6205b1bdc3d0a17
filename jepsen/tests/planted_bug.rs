//! The harness catches a real bug. baton built with the `jepsen-bug-stale-reads` feature answers
//! linearizable reads from local state without confirming leadership; the same seeded run (three
//! nodes, the leader cut off from the others) must be reported invalid against that build and
//! valid against the normal one.
//!
//! Needs root (network namespaces, nftables) and both release builds, so it is ignored by
//! default; `scripts/test.sh` runs it:
//!
//! ```sh
//! cargo build --release
//! cargo build --release --features jepsen-bug-stale-reads --target-dir target/bugged
//! JEPSEN_BUGGED_BATON=target/bugged/release/baton \
//!     cargo test --release -p jepsen --test planted_bug -- --ignored
//! ```

use jepsen::nemesis::plan::{self, Fault, Partition};
use jepsen::spec::FaultKind;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TIME_LIMIT_SECS: u64 = 30;
const INTERVAL_SECS: u64 = 8;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("jepsen/ is inside the workspace")
        .to_path_buf()
}

fn binary(var: &str, default: PathBuf) -> PathBuf {
    let path = std::env::var_os(var).map_or(default, PathBuf::from);
    let path = if path.is_relative() {
        workspace().join(path)
    } else {
        path
    };
    assert!(
        path.is_file(),
        "{} is missing (set {var}; see this file's header for the builds)",
        path.display()
    );
    path
}

/// The first seed whose schedule starts by cutting off the leader for a while.
fn seed_isolating_the_leader() -> u64 {
    (1..1000)
        .find(|&seed| {
            let steps = plan::plan(
                seed,
                &[FaultKind::Partition],
                &[1, 2, 3],
                Duration::from_secs(TIME_LIMIT_SECS),
                Duration::from_secs(INTERVAL_SECS),
            );
            steps.first().is_some_and(|s| {
                s.hold >= Duration::from_secs(6)
                    && s.fault
                        == Fault::Partition {
                            partition: Partition::Leader,
                        }
            })
        })
        .expect("some seed isolates the leader first")
}

struct Run {
    code: Option<i32>,
    dir: PathBuf,
    results: Value,
    output: String,
}

/// One harness run against `baton`, its run folder under `out`.
fn run(baton: &Path, seed: u64, out: &Path) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_jepsen"))
        .args([
            "--nodes",
            "3",
            "--workload",
            "register,set",
            "--nemesis",
            "partition",
        ])
        .args(["--time-limit", &TIME_LIMIT_SECS.to_string()])
        .args(["--interval", &INTERVAL_SECS.to_string()])
        .args(["--seed", &seed.to_string()])
        .arg("--baton")
        .arg(baton)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the harness starts");
    let dir = std::fs::read_dir(out)
        .expect("the run folder exists")
        .next()
        .expect("one run folder")
        .expect("readable")
        .path();
    let results = std::fs::read_to_string(dir.join("results.json"))
        .map(|t| serde_json::from_str(&t).expect("results.json is JSON"))
        .unwrap_or(Value::Null);
    Run {
        code: output.status.code(),
        dir,
        results,
        output: String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout),
    }
}

fn verdict<'a>(run: &'a Run, checker: &str) -> &'a str {
    run.results["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == checker))
        .and_then(|r| r["validity"].as_str())
        .unwrap_or("missing")
}

#[test]
#[ignore = "needs root and a build with the planted bug; scripts/test.sh runs it"]
fn stale_reads_of_a_cut_off_leader_are_caught_and_the_real_build_passes() {
    let bugged = binary(
        "JEPSEN_BUGGED_BATON",
        workspace().join("target/bugged/release/baton"),
    );
    let normal = binary("BATON", workspace().join("target/release/baton"));
    let seed = seed_isolating_the_leader();
    let out = workspace().join("target/jepsen-planted-bug");
    let _ = std::fs::remove_dir_all(&out);
    let (bugged_out, normal_out) = (out.join("bugged"), out.join("normal"));

    // Both at once: each run has its own network namespace.
    let (bugged_run, normal_run) = std::thread::scope(|s| {
        let b = s.spawn(|| run(&bugged, seed, &bugged_out));
        let n = s.spawn(|| run(&normal, seed, &normal_out));
        (b.join().expect("bugged run"), n.join().expect("normal run"))
    });

    let history = std::fs::read_to_string(bugged_run.dir.join("history.jsonl")).unwrap();
    assert!(
        history.contains(r#""f":"partition""#) && history.contains(r#""target":"leader""#),
        "the seeded schedule cut off the leader"
    );
    assert_eq!(
        (
            bugged_run.code,
            verdict(&bugged_run, "register-linearizable")
        ),
        (Some(1), "Invalid"),
        "the bugged build's stale reads were caught (seed {seed}, {}):\n{}",
        bugged_run.dir.display(),
        bugged_run.output
    );
    assert_eq!(
        (
            normal_run.code,
            verdict(&normal_run, "register-linearizable")
        ),
        (Some(0), "Valid"),
        "the normal build passes the same run (seed {seed}, {}):\n{}",
        normal_run.dir.display(),
        normal_run.output
    );
}
