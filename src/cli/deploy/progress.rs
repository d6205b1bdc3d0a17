//! Reading Marathon's deployment events: which ones tell a deployment's progress, and what
//! each says about the deployment followed.

use serde_json::Value;

/// The event types that tell a deployment's progress.
pub(super) const DEPLOYMENT_EVENTS: [&str; 5] = [
    "deployment_info",
    "deployment_step_success",
    "deployment_step_failure",
    "deployment_success",
    "deployment_failed",
];

/// How a followed deployment ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Succeeded,
    Failed(String),
    /// The event stream was lost and the deployment is gone; how it ended is not known here.
    Gone,
}

/// What one event says about deployment `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Progress {
    /// A step started: its 1-based number (counted by the follower), total, and actions.
    Step {
        total: usize,
        actions: Vec<String>,
    },
    StepDone {
        actions: Vec<String>,
    },
    StepFailed {
        actions: Vec<String>,
    },
    Ended(Ending),
    /// About another deployment.
    Other,
}

pub(super) fn actions(step: &Value) -> Vec<String> {
    step["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a["action"].as_str().unwrap_or("?"),
                        a["app"].as_str().or(a["pod"].as_str()).unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads one Marathon deployment event for deployment `id`.
pub(super) fn progress(id: &str, event_type: &str, payload: &Value) -> Progress {
    let plan_id = payload["plan"]["id"].as_str().or(payload["id"].as_str());
    if plan_id != Some(id) {
        return Progress::Other;
    }
    let total = payload["plan"]["steps"].as_array().map_or(0, Vec::len);
    let current = actions(&payload["currentStep"]);
    match event_type {
        "deployment_info" => Progress::Step {
            total,
            actions: current,
        },
        "deployment_step_success" => Progress::StepDone { actions: current },
        "deployment_step_failure" => Progress::StepFailed { actions: current },
        "deployment_success" => Progress::Ended(Ending::Succeeded),
        "deployment_failed" => Progress::Ended(Ending::Failed(
            payload["reason"]
                .as_str()
                .unwrap_or("the deployment failed")
                .to_string(),
        )),
        _ => Progress::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(id: &str) -> Value {
        json!({"id": id, "steps": [
            {"actions": [{"action": "StartApplication", "app": "/web"}]},
            {"actions": [{"action": "ScaleApplication", "app": "/web"}]},
        ]})
    }

    #[test]
    fn deployment_events_are_read_for_the_followed_deployment_only() {
        let info = json!({"plan": plan("d1"), "currentStep": {"actions": [{"action": "ScaleApplication", "app": "/web"}]}});
        assert_eq!(
            progress("d1", "deployment_info", &info),
            Progress::Step {
                total: 2,
                actions: vec!["ScaleApplication /web".into()]
            }
        );
        assert_eq!(progress("d2", "deployment_info", &info), Progress::Other);
        assert_eq!(
            progress(
                "d1",
                "deployment_success",
                &json!({"id": "d1", "plan": plan("d1")})
            ),
            Progress::Ended(Ending::Succeeded)
        );
        assert_eq!(
            progress(
                "d1",
                "deployment_failed",
                &json!({"id": "d1", "reason": "cancelled"})
            ),
            Progress::Ended(Ending::Failed("cancelled".into()))
        );
    }
}
