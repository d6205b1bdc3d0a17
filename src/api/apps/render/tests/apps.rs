//! App documents: what the fixture covers, and each embed against the `Value` renderer.

use super::*;

#[test]
fn the_fixture_exercises_every_part_of_the_documents() {
    let state = fixture();
    let web = state.app(&path("/web")).expect("web");
    let doc = parsed(&bytes(AppView::new(web, &state, AppEmbed::INFO_WITH_TASKS)));
    assert_eq!(doc["tasksRunning"], 3);
    assert_eq!(doc["tasksStaged"], 2);
    assert_eq!(doc["tasksHealthy"], 1);
    assert_eq!(doc["tasksUnhealthy"], 1);
    assert_eq!(doc["deployments"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        doc["readinessCheckResults"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(doc["lastTaskFailure"]["state"], "TASK_FAILED");
    assert_eq!(doc["lastTaskFailure"]["slaveId"], "agent-4");
    assert_eq!(doc["portDefinitions"].as_array().map(Vec::len), Some(2));
    let tasks = doc["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 5);
    assert!(
        tasks
            .iter()
            .any(|t| t["host"].is_null() && t["slaveId"].is_null())
    );
    assert!(
        tasks
            .iter()
            .any(|t| t["healthCheckResults"].as_array().map(Vec::len) == Some(2))
    );
    let db = state.app(&path("/db")).expect("db");
    let doc = parsed(&bytes(AppView::new(db, &state, AppEmbed::INFO_WITH_TASKS)));
    assert!(doc.get("portDefinitions").is_none());
    assert_eq!(doc["container"]["portMappings"][0]["containerPort"], 5432);
    let checks: Vec<&Value> = doc["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| &t["checkResult"])
        .collect();
    assert_eq!(
        checks,
        [
            &json!({ "tcp": { "succeeded": true } }),
            &json!({ "http": { "statusCode": 204 } }),
            &json!({ "command": { "exitCode": null } })
        ]
    );
    let cli = state.app(&path("/tools/batch/cli")).expect("cli");
    let doc = parsed(&bytes(AppView::new(cli, &state, AppEmbed::INFO)));
    assert_eq!(doc["container"], json!({ "type": "MESOS", "volumes": [] }));
}

#[test]
fn app_documents_are_the_value_renderers_for_every_embed() {
    let state = fixture();
    let embeds = [false, true].into_iter().flat_map(|counts| {
        [false, true].into_iter().flat_map(move |deployments| {
            [false, true]
                .into_iter()
                .flat_map(move |last_task_failure| {
                    [false, true].map(|tasks| AppEmbed {
                        counts,
                        deployments,
                        last_task_failure,
                        tasks,
                    })
                })
        })
    });
    let mut compared = 0;
    for embed in embeds {
        for record in state.apps() {
            let mut want = legacy::app_info(record, &state);
            let map = want.as_object_mut().expect("an object");
            if !embed.counts {
                for key in [
                    "tasksStaged",
                    "tasksRunning",
                    "tasksHealthy",
                    "tasksUnhealthy",
                ] {
                    map.remove(key);
                }
            }
            if !embed.deployments {
                map.remove("deployments");
            }
            if !embed.last_task_failure {
                map.remove("lastTaskFailure");
            }
            if embed.tasks {
                map.insert(
                    "tasks".into(),
                    json!(legacy::tasks(&state, &record.spec.id)),
                );
            }
            let view = AppView::new(record, &state, embed);
            assert_eq!(parsed(&bytes(&view)), want, "{} {embed:?}", record.spec.id);
            assert_eq!(to_value(&view), want, "{} {embed:?}", record.spec.id);
            compared += 1;
        }
    }
    assert_eq!(compared, 16 * 4);
    for record in state.apps() {
        assert_eq!(app_info(record, &state), legacy::app_info(record, &state));
        let text: Value = serde_json::from_str(&app_info_json(record, &state)).expect("JSON");
        assert_eq!(text, app_info(record, &state), "{}", record.spec.id);
        assert_eq!(
            readiness_results(record, &state),
            legacy::readiness_results(record, &state)
        );
        let (staged, running, healthy, unhealthy) = legacy::task_counts(record, &state);
        assert_eq!(
            task_counts(record, &state),
            TaskCounts {
                staged,
                running,
                healthy,
                unhealthy
            }
        );
    }
}
