//! Offer operations, the steps of an ACCEPT (LAUNCH, LAUNCH_GROUP, RESERVE, UNRESERVE, CREATE,
//! DESTROY), and the refusal Filters of ACCEPT and DECLINE.

use super::resources::Resource;
use super::task::{ExecutorInfo, TaskGroupInfo, TaskInfo};
use super::wire::{JsonObject, OperationId, take, take_required};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How long the master withholds refused resources from us (default 5 s; 0 = not at all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_seconds: Option<f64>,
}

impl Filters {
    pub fn refuse_seconds(seconds: f64) -> Filters {
        Filters {
            refuse_seconds: Some(seconds),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    #[serde(default)]
    pub task_infos: Vec<TaskInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LaunchGroup {
    pub executor: ExecutorInfo,
    pub task_group: TaskGroupInfo,
}

/// The body of RESERVE and UNRESERVE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceList {
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// The body of CREATE and DESTROY: persistent volume resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeList {
    #[serde(default)]
    pub volumes: Vec<Resource>,
}

/// What an operation does; the variant decides both `type` and the one body key present.
#[derive(Clone, Debug, PartialEq)]
pub enum OfferOperation {
    Launch(Launch),
    /// Boxed: an executor is far larger than the other bodies.
    LaunchGroup(Box<LaunchGroup>),
    Reserve(ResourceList),
    Unreserve(ResourceList),
    Create(VolumeList),
    Destroy(VolumeList),
}

impl OfferOperation {
    /// The wire `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            OfferOperation::Launch(_) => "LAUNCH",
            OfferOperation::LaunchGroup(_) => "LAUNCH_GROUP",
            OfferOperation::Reserve(_) => "RESERVE",
            OfferOperation::Unreserve(_) => "UNRESERVE",
            OfferOperation::Create(_) => "CREATE",
            OfferOperation::Destroy(_) => "DESTROY",
        }
    }
}

/// One step of an ACCEPT: `{"type": "LAUNCH", "id"?: …, "launch": {…}}`. `id` asks for
/// operation feedback and must not be set on LAUNCH or LAUNCH_GROUP.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub id: Option<OperationId>,
    pub operation: OfferOperation,
}

impl Operation {
    pub fn launch(task_infos: Vec<TaskInfo>) -> Operation {
        Operation::speculative(OfferOperation::Launch(Launch { task_infos }))
    }

    pub fn launch_group(executor: ExecutorInfo, task_group: TaskGroupInfo) -> Operation {
        Operation::speculative(OfferOperation::LaunchGroup(Box::new(LaunchGroup {
            executor,
            task_group,
        })))
    }

    /// An operation without feedback: applied by the master at once, failures silent.
    pub fn speculative(operation: OfferOperation) -> Operation {
        Operation {
            id: None,
            operation,
        }
    }

    /// Parses an operation out of its JSON object, as the master does for ACCEPT.
    pub(crate) fn from_object(mut map: JsonObject) -> Result<Operation, String> {
        let kind: String =
            take(&mut map, "type")?.ok_or("Expecting 'type' to be present in an operation")?;
        let id = take(&mut map, "id")?;
        let m = &mut map;
        let operation = match kind.as_str() {
            "LAUNCH" => OfferOperation::Launch(take_required(m, "launch")?),
            "LAUNCH_GROUP" => OfferOperation::LaunchGroup(take_required(m, "launch_group")?),
            "RESERVE" => OfferOperation::Reserve(take_required(m, "reserve")?),
            "UNRESERVE" => OfferOperation::Unreserve(take_required(m, "unreserve")?),
            "CREATE" => OfferOperation::Create(take_required(m, "create")?),
            "DESTROY" => OfferOperation::Destroy(take_required(m, "destroy")?),
            other => return Err(format!("operation type '{other}' is not supported")),
        };
        Ok(Operation { id, operation })
    }
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.operation.kind())?;
        if let Some(id) = &self.id {
            m.serialize_entry("id", id)?;
        }
        match &self.operation {
            OfferOperation::Launch(b) => m.serialize_entry("launch", b)?,
            OfferOperation::LaunchGroup(b) => m.serialize_entry("launch_group", b)?,
            OfferOperation::Reserve(b) => m.serialize_entry("reserve", b)?,
            OfferOperation::Unreserve(b) => m.serialize_entry("unreserve", b)?,
            OfferOperation::Create(b) => m.serialize_entry("create", b)?,
            OfferOperation::Destroy(b) => m.serialize_entry("destroy", b)?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Operation, D::Error> {
        let map = JsonObject::deserialize(d)?;
        Operation::from_object(map).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(wire: serde_json::Value) -> Operation {
        serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("{wire}: {e}"))
    }

    #[test]
    fn reference_operations_round_trip() {
        let reserved = json!({"name":"cpus","type":"SCALAR","scalar":{"value":2.0},
           "reservations":[{"type":"DYNAMIC","role":"apps","principal":"my-orchestrator",
             "labels":{"labels":[{"key":"fw","value":"F"},{"key":"instance","value":"db.1"}]}}]});
        let volume = json!({"name":"disk","type":"SCALAR","scalar":{"value":2048.0},
           "reservations":[{"type":"DYNAMIC","role":"apps","principal":"my-orchestrator"}],
           "disk":{"persistence":{"id":"db.1#data#9b2e","principal":"my-orchestrator"},
                   "volume":{"container_path":"data","mode":"RW"}}});
        let cases = [
            (
                "RESERVE",
                json!({"type":"RESERVE","reserve":{"resources":[reserved.clone()]}}),
            ),
            (
                "UNRESERVE",
                json!({"type":"UNRESERVE","unreserve":{"resources":[reserved]}}),
            ),
            (
                "CREATE",
                json!({"type":"CREATE","create":{"volumes":[volume.clone()]}}),
            ),
            (
                "DESTROY",
                json!({"type":"DESTROY","destroy":{"volumes":[volume]}}),
            ),
            (
                "LAUNCH",
                json!({"type":"LAUNCH","launch":{"task_infos":[]}}),
            ),
            (
                "LAUNCH_GROUP",
                json!({"type":"LAUNCH_GROUP","launch_group":{
                    "executor":{"type":"DEFAULT","executor_id":{"value":"pod-1.executor"},
                      "framework_id":{"value":"F"},
                      "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}],
                      "container":{"type":"MESOS","network_infos":[{"name":"overlay-1"}]},
                      "shutdown_grace_period":{"nanoseconds":5000000000i64},
                      "labels":{"labels":[{"key":"pod","value":"pod-1"}]}},
                    "task_group":{"tasks":[
                      {"name":"sidecar","task_id":{"value":"pod-1.sidecar"},
                       "agent_id":{"value":"M-S3"},
                       "resources":[{"name":"mem","type":"SCALAR","scalar":{"value":64.0}}],
                       "command":{"value":"./proxy"}}]}}}),
            ),
        ];
        for (kind, wire) in cases {
            let op = parse(wire.clone());
            assert_eq!(op.operation.kind(), kind);
            assert_eq!(serde_json::to_value(&op).ok(), Some(wire), "{kind}");
        }
    }

    #[test]
    fn operation_id_travels_beside_the_body() {
        let op = parse(json!({"type":"DESTROY","id":{"value":"op-8"},"destroy":{"volumes":[]}}));
        assert_eq!(op.id, Some(OperationId::new("op-8")));
    }

    #[test]
    fn malformed_operations_are_refused() {
        for bad in [
            json!({"launch":{"task_infos":[]}}),
            json!({"type":"LAUNCH"}),
            json!({"type":"LAUNCH","reserve":{"resources":[]}}),
            json!({"type":"GROW_VOLUME","grow_volume":{}}),
            json!({"type":7}),
            json!([]),
        ] {
            assert!(
                serde_json::from_value::<Operation>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
