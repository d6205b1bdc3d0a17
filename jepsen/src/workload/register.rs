//! The register workload: key `r3` is the app `/jepsen/r3` (no instances, so nothing launches),
//! its label `value` the register. `read` is a linearizable GetApp; `write` replaces the app
//! (creating it when missing); `cas [expected, new]` reads the app with its revision, compares,
//! and replaces it with `expected_revision` set, so a write in between makes it fail.
//!
//! Written values are unique across the run, which makes every read attributable to one write.
//! Each key takes a bounded number of operations, then clients move on to a fresh key, so
//! per-key histories stay small enough for the linearizability search.

use super::client::Failure;
use super::{Completion, Worker};
use crate::proto::App;
use rand::Rng;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::time::Instant;

/// The group holding the registers' apps.
pub const GROUP: &str = "/jepsen";
/// Keys in use at once.
const ACTIVE_KEYS: usize = 3;

pub fn app_id(key: &str) -> String {
    format!("{GROUP}/{key}")
}

/// The app definition holding `value` in register `key`.
pub fn definition(key: &str, value: i64) -> String {
    json!({
        "id": app_id(key),
        "cmd": "sleep 3600",
        "instances": 0,
        "cpus": 0.01,
        "mem": 16,
        "labels": {"value": value.to_string()},
    })
    .to_string()
}

/// The register's value as the history records it: the integer in the label, or the raw label
/// (or a note that it is missing) so that a checker sees anything unexpected.
pub fn value_of(app: &App) -> Value {
    let definition: Value = serde_json::from_str(&app.definition_json).unwrap_or(Value::Null);
    match definition["labels"]["value"].as_str() {
        Some(raw) => raw.parse::<i64>().map_or_else(|_| json!(raw), |v| json!(v)),
        None => json!(format!("no value label in {}", app.id)),
    }
}

struct Key {
    name: String,
    invocations: u64,
    /// The last value a client saw in it (a cas expects it).
    last_seen: Option<i64>,
}

struct Keys {
    active: Vec<Key>,
    next: u64,
    used: Vec<String>,
}

impl Keys {
    fn fresh(&mut self) -> Key {
        let name = format!("r{}", self.next);
        self.next += 1;
        self.used.push(name.clone());
        Key {
            name,
            invocations: 0,
            last_seen: None,
        }
    }
}

/// What the register workers share: which keys are in use, and the next value to write.
pub struct Registers {
    keys: Mutex<Keys>,
    next_value: AtomicI64,
    ops_per_key: u64,
}

impl Registers {
    pub fn new(ops_per_key: u64) -> Registers {
        let mut keys = Keys {
            active: Vec::new(),
            next: 0,
            used: Vec::new(),
        };
        for _ in 0..ACTIVE_KEYS {
            let key = keys.fresh();
            keys.active.push(key);
        }
        Registers {
            keys: Mutex::new(keys),
            next_value: AtomicI64::new(1),
            ops_per_key: ops_per_key.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A random active key (retiring it for a fresh one once it had its operations) and the
    /// last value seen in it.
    fn pick(&self, rng: &mut impl Rng) -> (String, Option<i64>) {
        let mut keys = self.lock();
        let i = rng.random_range(0..keys.active.len());
        if keys.active[i].invocations >= self.ops_per_key {
            let key = keys.fresh();
            keys.active[i] = key;
        }
        let key = &mut keys.active[i];
        key.invocations += 1;
        (key.name.clone(), key.last_seen)
    }

    fn observe(&self, name: &str, value: &Value) {
        if let Some(key) = self.lock().active.iter_mut().find(|k| k.name == name) {
            key.last_seen = value.as_i64();
        }
    }

    fn fresh_value(&self) -> i64 {
        self.next_value.fetch_add(1, Ordering::Relaxed)
    }

    /// Every key used so far.
    pub fn keys(&self) -> Vec<String> {
        self.lock().used.clone()
    }
}

/// One operation: half reads, a quarter writes, a quarter compare-and-sets.
pub async fn step(w: &mut Worker, registers: &Registers) {
    let (key, last_seen) = registers.pick(w.rng());
    match (w.rng().random_range(0..4), last_seen) {
        (0 | 1, _) => {
            read(w, registers, &key).await;
        }
        (3, Some(expected)) => cas(w, registers, &key, expected).await,
        // A cas needs a value to expect; without one it would certainly fail.
        _ => write(w, registers, &key).await,
    }
}

/// Reads `key`; true when the read succeeded.
async fn read(w: &mut Worker, registers: &Registers, key: &str) -> bool {
    let node = w.pick_node();
    let pending = w.invoke("read", Some(key), Value::Null, node);
    let completion = match w.apps().get(node, &app_id(key)).await {
        Ok(app) => Completion::Ok(app.as_ref().map_or(Value::Null, value_of)),
        Err(failure) => Completion::of_read(failure),
    };
    if let Completion::Ok(v) = &completion {
        registers.observe(key, v);
    }
    let ok = matches!(completion, Completion::Ok(_));
    w.complete(pending, completion);
    ok
}

async fn write(w: &mut Worker, registers: &Registers, key: &str) {
    let value = registers.fresh_value();
    let node = w.pick_node();
    let pending = w.invoke("write", Some(key), json!(value), node);
    let put = w
        .apps()
        .put(node, &app_id(key), definition(key, value), 0, true)
        .await;
    let completion = match put {
        Ok(_) => {
            registers.observe(key, &json!(value));
            Completion::Ok(json!(value))
        }
        Err(failure) => Completion::of_write(failure),
    };
    w.complete(pending, completion);
}

async fn cas(w: &mut Worker, registers: &Registers, key: &str, expected: i64) {
    let new = registers.fresh_value();
    let node = w.pick_node();
    let pending = w.invoke("cas", Some(key), json!([expected, new]), node);
    let completion = match w.apps().get(node, &app_id(key)).await {
        // Nothing was written yet, whatever happened to the read.
        Err(failure) => Completion::Fail(format!("cas read: {}", failure.message())),
        Ok(None) => Completion::Fail("cas: the register is absent".into()),
        Ok(Some(app)) => {
            let current = value_of(&app);
            if current != json!(expected) {
                registers.observe(key, &current);
                Completion::Fail(format!("cas: the register holds {current}"))
            } else {
                let put = w
                    .apps()
                    .put(
                        node,
                        &app_id(key),
                        definition(key, new),
                        app.revision,
                        false,
                    )
                    .await;
                match put {
                    Ok(_) => {
                        registers.observe(key, &json!(new));
                        Completion::Ok(json!([expected, new]))
                    }
                    Err(Failure::Definite(m)) => Completion::Fail(format!("cas write: {m}")),
                    Err(Failure::Unknown(m)) => Completion::Info(format!("cas write: {m}")),
                }
            }
        }
    };
    w.complete(pending, completion);
}

/// After the heal: reads every key used until one read of it succeeds (or `until` passes).
pub async fn final_reads(w: &mut Worker, registers: &Registers, until: Instant) {
    for key in registers.keys() {
        while !read(w, registers, &key).await && Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_register_round_trips_through_its_app_definition() {
        let app = App {
            id: app_id("r3"),
            definition_json: definition("r3", 42),
            revision: 7,
            ..Default::default()
        };
        assert_eq!(value_of(&app), json!(42));
        let odd = App {
            definition_json: r#"{"labels":{"value":"x"}}"#.into(),
            ..app.clone()
        };
        assert_eq!(value_of(&odd), json!("x"));
        let bare = App {
            definition_json: "{}".into(),
            ..app
        };
        assert!(value_of(&bare).is_string());
    }

    #[test]
    fn keys_rotate_after_their_share_of_operations() {
        let registers = Registers::new(5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            registers.pick(&mut rng);
        }
        let keys = registers.keys();
        // 100 picks over keys of at most 5 operations each.
        assert!(keys.len() >= 20, "{keys:?}");
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(unique, keys);
        assert!(registers.lock().active.iter().all(|k| k.invocations <= 5));
    }

    #[test]
    fn values_are_unique_and_observations_feed_the_next_cas() {
        let registers = Registers::new(100);
        let a = registers.fresh_value();
        let b = registers.fresh_value();
        assert_ne!(a, b);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let (key, seen) = registers.pick(&mut rng);
        assert_eq!(seen, None);
        registers.observe(&key, &json!(b));
        let seen_later = (0..50)
            .map(|_| registers.pick(&mut rng))
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s);
        assert_eq!(seen_later, Some(Some(b)));
    }
}
