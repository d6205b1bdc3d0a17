//! Marathon's `readinessCheckResults` of an app: which check is reported, and each running
//! instance's result of it.

use super::document::to_value;
use super::task::TaskIdText;
use crate::state::State;
use crate::state::app::ReadinessCheck;
use crate::state::health::ReadinessResponse;
use crate::state::model::{AppRecord, Condition, Instance};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use serde_json::Value;

/// The readiness check Marathon reports results of: the app's first, while a deployment of
/// the app runs.
pub(super) fn reported_readiness<'a>(
    record: &'a AppRecord,
    state: &State,
) -> Option<&'a ReadinessCheck> {
    let spec = &record.spec;
    spec.readiness_checks
        .first()
        .filter(|_| state.deployments_of(&spec.id).next().is_some())
}

/// Marathon's `readinessCheckResults`: for each running instance of the app's current
/// configuration, whether the reported check passed (with the response, when the check
/// preserves it).
pub(super) struct Readiness<'a> {
    pub(super) check: Option<&'a ReadinessCheck>,
    pub(super) record: &'a AppRecord,
    pub(super) instances: &'a [&'a Instance],
}

impl<'a> Readiness<'a> {
    fn results(&self) -> impl Iterator<Item = ReadinessResult<'a>> + use<'a> {
        let config = self.record.version_info.last_config_change_at;
        let check = self.check;
        let instances = if check.is_some() { self.instances } else { &[] };
        instances
            .iter()
            .filter(move |i| i.app_version >= config && i.condition() == Condition::Running)
            .filter_map(move |&instance| check.map(|check| ReadinessResult { check, instance }))
    }
}

impl Serialize for Readiness<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.results())
    }
}

/// One instance's readiness.
struct ReadinessResult<'a> {
    check: &'a ReadinessCheck,
    instance: &'a Instance,
}

impl Serialize for ReadinessResult<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct LastResponse<'a> {
            status: u16,
            content_type: &'a Option<String>,
            body: &'a str,
        }
        let mut out = serializer.serialize_struct("ReadinessCheckResult", 4)?;
        out.serialize_field("name", &self.check.name)?;
        out.serialize_field("taskId", &TaskIdText(self.instance))?;
        out.serialize_field("ready", &self.instance.ready)?;
        out.serialize_field(
            "lastResponse",
            &self
                .instance
                .readiness_response
                .as_ref()
                .map(|r: &ReadinessResponse| LastResponse {
                    status: r.status,
                    content_type: &r.content_type,
                    body: &r.body,
                }),
        )?;
        out.end()
    }
}

/// Marathon's `readinessCheckResults` of an app.
pub fn readiness_results(record: &AppRecord, state: &State) -> Vec<Value> {
    let check = reported_readiness(record, state);
    let instances: Vec<&Instance> = match check {
        Some(_) => state.instances_of(&record.spec.id).collect(),
        None => Vec::new(),
    };
    let readiness = Readiness {
        check,
        record,
        instances: &instances,
    };
    readiness.results().map(to_value).collect()
}
