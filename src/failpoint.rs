//! Fail points: named places where a test makes the process crash, to prove what a crash at
//! exactly that moment leaves behind (e.g. a leader dying between provisioning an instance and
//! launching its task). Inert unless `BATON_FAILPOINT` names the point.
//!
//! - `BATON_FAILPOINT=<name>[,<name>…]`: the points that crash the process (abort, as a kill
//!   would: nothing is flushed or drained).
//! - `BATON_FAILPOINT_ONCE=<path>`: optional; a point fires only in the process that manages to
//!   create this file, so among several nodes started alike exactly one crashes, once.

use std::sync::OnceLock;

fn armed() -> &'static [String] {
    static POINTS: OnceLock<Vec<String>> = OnceLock::new();
    POINTS.get_or_init(|| {
        std::env::var("BATON_FAILPOINT")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// Crashes the process here if the fail point `name` is armed (and, with
/// `BATON_FAILPOINT_ONCE`, not yet fired anywhere).
pub fn hit(name: &str) {
    if !armed().iter().any(|p| p == name) {
        return;
    }
    if let Ok(path) = std::env::var("BATON_FAILPOINT_ONCE") {
        let first = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .is_ok();
        if !first {
            return;
        }
    }
    eprintln!("fail point {name}: aborting");
    std::process::abort();
}
