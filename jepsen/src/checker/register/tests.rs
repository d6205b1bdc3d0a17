use super::*;
use crate::checker::testing::Hist;
use crate::history::{Op, Process};
use serde_json::Value::Null;

const BUDGET: Duration = Duration::from_secs(30);

fn check(h: &[Op]) -> CheckResult {
    register(h, BUDGET)
}

fn x() -> Option<&'static str> {
    Some("x")
}

#[test]
fn sequential_reads_writes_and_cas_are_linearizable() {
    let h = Hist::new()
        .read(1, "x", Null)
        .write(1, "x", 1)
        .read(2, "x", json!(1))
        .invoke(2, "cas", x(), json!([1, 2]))
        .ok(2, Null)
        .read(1, "x", json!(2))
        .build();
    let r = check(&h);
    assert_eq!(r.validity, Validity::Valid, "{}", r.summary);
    assert_eq!(r.name, "register-linearizable");
    assert_eq!(r.window, None);
    assert_eq!(r.details["keys"]["x"]["verdict"], "linearizable");
    assert_eq!(r.details["keys"]["x"]["ops"], 5);
}

#[test]
fn a_stale_read_after_an_acknowledged_write_is_caught_with_its_window() {
    let h = Hist::new()
        .write(1, "x", 1)
        .write(1, "x", 2)
        .invoke(3, "read", x(), Null) // 50: concurrent with the stale read
        .read(2, "x", json!(1)) // 60..70: stale
        .ok(3, json!(2)) // 80
        .build();
    let r = check(&h);
    assert_eq!(r.validity, Validity::Invalid, "{}", r.summary);
    assert_eq!(r.details["window_key"], "x");
    assert_eq!(r.details["invalid_keys"], json!(["x"]));
    let key = &r.details["keys"]["x"];
    assert_eq!(key["stuck"]["process"], 2);
    assert_eq!(key["stuck"]["result"], 1);
    assert_eq!(key["state_after_prefix"], 2);
    // The window: the last write (the state's origin) through the stale read's return, with the
    // concurrent read.
    assert_eq!(r.window, Some((30, 70)));
    let ops = key["window_ops"].as_array().unwrap();
    let calls: Vec<u64> = ops.iter().map(|o| o["call"].as_u64().unwrap()).collect();
    assert_eq!(calls, vec![30, 50, 60]);
    assert!(r.summary.contains("read → 1"), "{}", r.summary);
}

#[test]
fn reading_absent_after_a_write_is_not_linearizable() {
    let h = Hist::new().write(1, "x", 7).read(2, "x", Null).build();
    assert_eq!(check(&h).validity, Validity::Invalid);
}

#[test]
fn a_cas_succeeding_against_a_value_never_written_is_caught() {
    let h = Hist::new()
        .write(1, "x", 1)
        .invoke(2, "cas", x(), json!([5, 6]))
        .ok(2, Null)
        .build();
    let r = check(&h);
    assert_eq!(r.validity, Validity::Invalid);
    assert_eq!(r.details["keys"]["x"]["stuck"]["f"], "cas");
    // A failed cas with the same values is simply not applied.
    let h = Hist::new()
        .write(1, "x", 1)
        .invoke(2, "cas", x(), json!([5, 6]))
        .fail(2)
        .read(1, "x", json!(1))
        .build();
    assert_eq!(check(&h).validity, Validity::Valid);
}

#[test]
fn concurrent_writes_may_land_in_either_order_but_reads_must_agree_on_one() {
    let writes = || {
        Hist::new()
            .invoke(1, "write", x(), json!(1))
            .invoke(2, "write", x(), json!(2))
            .ok(2, Null)
            .ok(1, Null)
    };
    for last in [1, 2] {
        let h = writes()
            .read(3, "x", json!(last))
            .read(3, "x", json!(last))
            .build();
        assert_eq!(check(&h).validity, Validity::Valid, "last write {last}");
    }
    let h = writes()
        .read(3, "x", json!(1))
        .read(3, "x", json!(2))
        .read(3, "x", json!(1))
        .build();
    assert_eq!(check(&h).validity, Validity::Invalid);
    // While the writes are in flight, a reader may see them in one order.
    let h = Hist::new()
        .invoke(1, "write", x(), json!(1))
        .invoke(2, "write", x(), json!(2))
        .read(3, "x", json!(1))
        .read(3, "x", json!(2))
        .ok(1, Null)
        .ok(2, Null)
        .read(3, "x", json!(2))
        .build();
    assert_eq!(check(&h).validity, Validity::Valid);
}

#[test]
fn an_unknown_write_may_appear_later_or_never_but_not_vanish() {
    let unknown = || {
        Hist::new()
            .write(1, "x", 1)
            .invoke(2, "write", x(), json!(3))
            .info(2)
    };
    let appears = unknown()
        .read(3, "x", json!(1))
        .read(3, "x", json!(3))
        .build();
    assert_eq!(check(&appears).validity, Validity::Valid);
    let never = unknown()
        .read(3, "x", json!(1))
        .read(3, "x", json!(1))
        .build();
    let r = check(&never);
    assert_eq!(r.validity, Validity::Valid);
    assert_eq!(r.details["keys"]["x"]["unknown_outcome"], 1);
    let vanishes = unknown()
        .read(3, "x", json!(3))
        .read(3, "x", json!(1))
        .build();
    assert_eq!(check(&vanishes).validity, Validity::Invalid);
    // An invocation the history never completed is just as unknown.
    let pending = Hist::new()
        .invoke(2, "write", x(), json!(3))
        .read(3, "x", json!(3))
        .build();
    assert_eq!(check(&pending).validity, Validity::Valid);
}

#[test]
fn an_unknown_cas_takes_effect_only_where_its_compare_holds() {
    let h = Hist::new()
        .write(1, "x", 1)
        .invoke(2, "cas", x(), json!([1, 2]))
        .info(2)
        .read(3, "x", json!(2))
        .build();
    assert_eq!(check(&h).validity, Validity::Valid);
    let h = Hist::new()
        .write(1, "x", 5)
        .invoke(2, "cas", x(), json!([1, 2]))
        .info(2)
        .read(3, "x", json!(2))
        .build();
    assert_eq!(check(&h).validity, Validity::Invalid);
}

#[test]
fn a_failed_write_never_happened_and_unknown_reads_say_nothing() {
    let h = Hist::new()
        .invoke(1, "write", x(), json!(5))
        .fail(1)
        .read(2, "x", json!(5))
        .build();
    assert_eq!(check(&h).validity, Validity::Invalid);
    let h = Hist::new()
        .write(1, "x", 5)
        .invoke(2, "read", x(), Null)
        .info(2)
        .invoke(3, "read", x(), Null)
        .fail(3)
        .build();
    let r = check(&h);
    assert_eq!(r.validity, Validity::Valid);
    assert_eq!(r.details["keys"]["x"]["ops"], 1);
}

#[test]
fn keys_are_independent_registers() {
    // Checked as one register this would be stale (read 1 after write 2); per key it is fine.
    let h = Hist::new()
        .write(1, "a", 1)
        .write(1, "b", 2)
        .read(2, "a", json!(1))
        .read(2, "b", json!(2))
        .build();
    assert_eq!(check(&h).validity, Validity::Valid);
    let h = Hist::new()
        .write(1, "a", 1)
        .write(1, "b", 2)
        .read(2, "a", json!(1))
        .read(2, "b", json!(1))
        .build();
    for threads in [1, 2] {
        let r = register_with_threads(&h, BUDGET, threads);
        assert_eq!(r.validity, Validity::Invalid);
        assert_eq!(r.details["keys"]["a"]["verdict"], "linearizable");
        assert_eq!(r.details["keys"]["b"]["verdict"], "not linearizable");
        assert_eq!(r.details["window_key"], "b");
    }
}

#[test]
fn set_ops_and_nemesis_events_are_not_register_ops() {
    let h = Hist::new()
        .write(1, "x", 1)
        .nemesis("kill", "start")
        .invoke(2, "add", None, json!(9))
        .ok(2, Null)
        .invoke(2, "read", None, Null)
        .ok(2, json!([9]))
        .read(1, "x", json!(1))
        .build();
    let r = check(&h);
    assert_eq!(r.validity, Validity::Valid);
    assert_eq!(r.details["ops"], 2);
    assert_eq!(check(&[]).validity, Validity::Unknown);
}

#[test]
fn malformed_ops_make_their_key_unknown() {
    let h = Hist::new()
        .invoke(1, "cas", x(), json!(3))
        .ok(1, Null)
        .write(1, "y", 1)
        .build();
    let r = check(&h);
    assert_eq!(r.validity, Validity::Unknown);
    assert_eq!(r.details["unknown_keys"], json!(["x"]));
    assert_eq!(r.details["keys"]["y"]["verdict"], "linearizable");
}

/// Many concurrent writes of unknown outcome and a read of a value nobody wrote: refuting it
/// means trying every subset of the writes, far more than a millisecond's work.
fn hard(writes: u64) -> Vec<Op> {
    let mut h = Hist::new();
    for p in 0..writes {
        h = h.invoke(p, "write", x(), json!(p)).info(p);
    }
    h.read(writes, "x", json!(-1)).build()
}

#[test]
fn running_out_of_budget_is_unknown_never_a_verdict() {
    let r = register(&hard(24), Duration::from_millis(1));
    assert_eq!(r.validity, Validity::Unknown, "{}", r.summary);
    assert_eq!(r.details["unknown_keys"], json!(["x"]));
    assert!(r.details["keys"]["x"]["explored"].as_u64().unwrap() > 0);
    assert_eq!(r.window, None);
    // The same shape, small enough to finish, is refuted.
    assert_eq!(check(&hard(6)).validity, Validity::Invalid);
    assert_eq!(
        register(&hard(6), Duration::MAX).validity,
        Validity::Invalid
    );
}

/// A small deterministic generator (splitmix64), so the property test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Idle,
    /// Invoked, not yet applied to the true register.
    Invoked,
    /// Applied; the completion carries this result.
    Applied(Option<i64>, bool),
}

/// A history of a real register: each op takes effect at one instant between its invocation and
/// completion, so the history is linearizable by construction. Some ops time out (`info`), either
/// before or after taking effect, and retire their process.
fn simulated(seed: u64) -> Vec<Op> {
    let mut rng = Rng(seed);
    let mut register: Option<i64> = None;
    let mut written = vec![];
    let mut next_value = 0;
    let mut h = Hist::new();
    let mut procs: Vec<(u64, Stage, &str, Value)> =
        (0..4).map(|p| (p, Stage::Idle, "read", Null)).collect();
    let mut retired = 4;
    for _ in 0..120 {
        let slot = rng.below(procs.len() as u64) as usize;
        let (p, stage, f, value) = procs[slot].clone();
        let timeout = rng.below(12) == 0;
        procs[slot] = match stage {
            Stage::Idle => {
                let (f, value) = match rng.below(3) {
                    0 => ("read", Null),
                    1 => {
                        next_value += 1;
                        ("write", json!(next_value))
                    }
                    _ => {
                        let expected = written.get(rng.below(written.len() as u64 + 1) as usize);
                        next_value += 1;
                        ("cas", json!([expected.copied().unwrap_or(0), next_value]))
                    }
                };
                h = h.invoke(p, f, x(), value.clone());
                (p, Stage::Invoked, f, value)
            }
            Stage::Invoked if timeout => {
                h = h.info(p);
                retired += 1;
                (retired, Stage::Idle, "read", Null)
            }
            Stage::Invoked => {
                let applied = match f {
                    "read" => Stage::Applied(register, true),
                    "write" => {
                        register = value.as_i64();
                        written.push(register.unwrap());
                        Stage::Applied(None, true)
                    }
                    _ => {
                        let ok = register == value[0].as_i64();
                        if ok {
                            register = value[1].as_i64();
                            written.push(register.unwrap());
                        }
                        Stage::Applied(None, ok)
                    }
                };
                (p, applied, f, value)
            }
            Stage::Applied(_, _) if timeout => {
                h = h.info(p);
                retired += 1;
                (retired, Stage::Idle, "read", Null)
            }
            Stage::Applied(seen, ok) => {
                h = match (f, ok) {
                    ("read", _) => h.ok(p, seen.map_or(Null, |v| json!(v))),
                    (_, true) => h.ok(p, Null),
                    (_, false) => h.fail(p),
                };
                (p, Stage::Idle, "read", Null)
            }
        };
    }
    h.build()
}

#[test]
fn simulated_register_histories_are_linearizable_until_a_read_is_corrupted() {
    let mut refuted = 0;
    for seed in 0..150 {
        let mut h = simulated(seed);
        let r = check(&h);
        assert_eq!(r.validity, Validity::Valid, "seed {seed}: {}", r.summary);
        let reads: Vec<usize> = (0..h.len())
            .filter(|&i| h[i].f == "read" && h[i].kind == OpType::Ok)
            .collect();
        if let Some(&i) = reads.get(reads.len() / 2) {
            h[i].value = json!(-7);
            let r = check(&h);
            assert_eq!(r.validity, Validity::Invalid, "seed {seed} corrupted");
            let stuck = &r.details["keys"]["x"]["stuck"];
            assert_eq!(stuck["result"], -7, "seed {seed}: {stuck}");
            assert_eq!(r.window.unwrap().1, h[i].time, "seed {seed}");
            refuted += 1;
        }
    }
    assert!(
        refuted > 100,
        "most seeds have a read to corrupt: {refuted}"
    );
    let processes: std::collections::HashSet<Process> =
        simulated(3).iter().map(|op| op.process).collect();
    assert!(
        processes.len() > 4,
        "some processes were retired after info"
    );
}
