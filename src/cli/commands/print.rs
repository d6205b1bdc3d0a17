//! What the app commands print: an app as a line or its JSON, its tasks with their health.

use crate::proto::v1::{App, Task};

pub(super) fn print_app(app: &App, json: bool) -> anyhow::Result<()> {
    if json {
        let doc: serde_json::Value = serde_json::from_str(&app.definition_json)?;
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{}\trevision {}\tversion {}",
            app.id, app.revision, app.version
        );
    }
    Ok(())
}

/// An app's summary and one line per task: `id state health`, the health being `healthy`,
/// `unhealthy (n failures: cause)`, or `unknown` while a check has no result yet (`-` when the
/// app has no health checks).
pub(super) fn print_app_health(app: &App, tasks: &[Task]) {
    println!(
        "{}\trevision {}\tversion {}",
        app.id, app.revision, app.version
    );
    println!(
        "tasks running {}\thealthy {}\tunhealthy {}",
        app.tasks_running, app.tasks_healthy, app.tasks_unhealthy
    );
    let checks = serde_json::from_str::<serde_json::Value>(&app.definition_json)
        .ok()
        .and_then(|d| d["healthChecks"].as_array().map(Vec::len))
        .unwrap_or(0);
    for task in tasks {
        println!("{}\t{}\t{}", task.id, task.state, task_health(task, checks));
    }
}

fn task_health(task: &Task, checks: usize) -> String {
    if checks == 0 {
        return "-".to_string();
    }
    if let Some(failing) = task.health_check_results.iter().find(|h| !h.alive) {
        return format!(
            "unhealthy ({} failures: {})",
            failing.consecutive_failures, failing.last_failure_cause
        );
    }
    if task.health_check_results.len() < checks {
        return "unknown".to_string();
    }
    "healthy".to_string()
}

/// One task per line (`id state host`), or each task's Marathon JSON with `--json`.
pub(super) fn print_tasks(tasks: &[Task], json: bool) -> anyhow::Result<()> {
    for task in tasks {
        let doc: serde_json::Value = serde_json::from_str(&task.task_json)?;
        if json {
            println!("{doc}");
        } else {
            let field = |k: &str| doc[k].as_str().unwrap_or("-").to_string();
            println!("{}\t{}\t{}", task.id, field("state"), field("host"));
        }
    }
    Ok(())
}
