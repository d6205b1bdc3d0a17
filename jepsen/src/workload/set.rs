//! The set workload: `add e` creates the app `/jepsen-set/e<e>` (each element once, no
//! instances); `read` lists the apps under `/jepsen-set`, linearizably, as a list of elements.
//! Reads happen now and then during the run and once more after the final heal.

use super::{Completion, Worker};
use crate::proto::App;
use rand::Rng;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::time::Instant;

/// The group holding the set's apps.
pub const GROUP: &str = "/jepsen-set";
/// One operation in this many is a read.
const READ_EVERY: u32 = 20;

pub fn app_id(element: i64) -> String {
    format!("{GROUP}/e{element}")
}

pub fn definition(element: i64) -> String {
    json!({
        "id": app_id(element),
        "cmd": "sleep 3600",
        "instances": 0,
        "cpus": 0.01,
        "mem": 16,
    })
    .to_string()
}

/// The elements a list of apps holds, sorted; an app that is not an element is kept by its id,
/// so that a checker sees it.
pub fn elements_of(apps: &[App]) -> Value {
    let prefix = format!("{GROUP}/e");
    let mut ints = Vec::new();
    let mut others = Vec::new();
    for app in apps {
        match app
            .id
            .strip_prefix(&prefix)
            .and_then(|e| e.parse::<i64>().ok())
        {
            Some(e) => ints.push(e),
            None => others.push(json!(app.id)),
        }
    }
    ints.sort_unstable();
    let mut all: Vec<Value> = ints.into_iter().map(|e| json!(e)).collect();
    all.extend(others);
    Value::Array(all)
}

/// What the set workers share: the next element to add.
pub struct Elements {
    next: AtomicI64,
}

impl Default for Elements {
    fn default() -> Elements {
        Elements {
            next: AtomicI64::new(1),
        }
    }
}

pub async fn step(w: &mut Worker, elements: &Elements) {
    if w.rng().random_range(0..READ_EVERY) == 0 {
        read(w).await;
    } else {
        add(w, elements.next.fetch_add(1, Ordering::Relaxed)).await;
    }
}

async fn add(w: &mut Worker, element: i64) {
    let node = w.pick_node();
    let pending = w.invoke("add", None, json!(element), node);
    let completion = match w.apps().create(node, definition(element)).await {
        Ok(_) => Completion::Ok(json!(element)),
        Err(failure) => Completion::of_write(failure),
    };
    w.complete(pending, completion);
}

/// Reads the whole set; true when the read succeeded.
async fn read(w: &mut Worker) -> bool {
    let node = w.pick_node();
    let pending = w.invoke("read", None, Value::Null, node);
    let completion = match w.apps().list(node, GROUP).await {
        Ok(apps) => Completion::Ok(elements_of(&apps)),
        Err(failure) => Completion::of_read(failure),
    };
    let ok = matches!(completion, Completion::Ok(_));
    w.complete(pending, completion);
    ok
}

/// After the heal: reads the set until a read succeeds (or `until` passes).
pub async fn final_read(w: &mut Worker, until: Instant) {
    while !read(w).await && Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str) -> App {
        App {
            id: id.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_listing_reads_as_sorted_elements_with_strangers_kept() {
        let apps = [app(&app_id(12)), app(&app_id(3)), app("/jepsen-set/other")];
        assert_eq!(elements_of(&apps), json!([3, 12, "/jepsen-set/other"]));
        assert_eq!(elements_of(&[]), json!([]));
    }

    #[test]
    fn an_element_is_an_app_without_instances() {
        let d: Value = serde_json::from_str(&definition(5)).unwrap();
        assert_eq!(d["id"], "/jepsen-set/e5");
        assert_eq!(d["instances"], 0);
    }
}
