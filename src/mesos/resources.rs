//! Mesos' resource model on the wire: resources with their typed values, reservations,
//! persistent volumes, and agent attributes.

use super::wire::{Labels, ResourceProviderId, lenient, wire_enum};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

wire_enum! {
    /// The `type` of a resource or attribute value.
    pub enum ValueType {
        Scalar = "SCALAR",
        Ranges = "RANGES",
        Set = "SET",
        Text = "TEXT",
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    pub value: f64,
}

/// An inclusive range, e.g. of ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub begin: u64,
    pub end: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranges {
    #[serde(default)]
    pub range: Vec<Range>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Set {
    #[serde(default)]
    pub item: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub value: String,
}

/// A typed value: the variant decides both `type` and which one of
/// `scalar`/`ranges`/`set`/`text` is present, so the two cannot disagree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(f64),
    Ranges(Vec<Range>),
    Set(Vec<String>),
    /// Only attributes are text; a text resource is invalid.
    Text(String),
}

impl Value {
    /// The value as Mesos prints attributes: `1.5`, `[31000-31999,32001-32001]`, `{a,b}`, text.
    pub fn to_text(&self) -> String {
        match self {
            Value::Scalar(v) => v.to_string(),
            Value::Ranges(ranges) => {
                let parts: Vec<String> = ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.begin, r.end))
                    .collect();
                format!("[{}]", parts.join(","))
            }
            Value::Set(items) => format!("{{{}}}", items.join(",")),
            Value::Text(t) => t.clone(),
        }
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar(_) => ValueType::Scalar,
            Value::Ranges(_) => ValueType::Ranges,
            Value::Set(_) => ValueType::Set,
            Value::Text(_) => ValueType::Text,
        }
    }
}

/// The flat wire form of a [`Value`], flattened into resources and attributes.
#[derive(Default, Serialize, Deserialize)]
struct ValueFields {
    #[serde(rename = "type")]
    kind: Option<ValueType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scalar: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ranges: Option<Ranges>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set: Option<Set>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<Text>,
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut f = ValueFields {
            kind: Some(self.value_type()),
            ..ValueFields::default()
        };
        match self {
            Value::Scalar(value) => f.scalar = Some(Scalar { value: *value }),
            Value::Ranges(range) => {
                f.ranges = Some(Ranges {
                    range: range.clone(),
                })
            }
            Value::Set(item) => f.set = Some(Set { item: item.clone() }),
            Value::Text(value) => {
                f.text = Some(Text {
                    value: value.clone(),
                })
            }
        }
        f.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        use serde::de::Error;
        let f = ValueFields::deserialize(d)?;
        let missing = |key: &str| D::Error::custom(format!("Expecting '{key}' to be present"));
        match f.kind {
            None => Err(D::Error::missing_field("type")),
            Some(ValueType::Scalar) => Ok(Value::Scalar(f.scalar.ok_or(missing("scalar"))?.value)),
            Some(ValueType::Ranges) => Ok(Value::Ranges(f.ranges.ok_or(missing("ranges"))?.range)),
            Some(ValueType::Set) => Ok(Value::Set(f.set.ok_or(missing("set"))?.item)),
            Some(ValueType::Text) => Ok(Value::Text(f.text.ok_or(missing("text"))?.value)),
        }
    }
}

/// A resource: `cpus`, `mem`, `disk`, `gpus`, `ports` or a custom one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    #[serde(flatten)]
    pub value: Value,
    /// Pre-refinement format only (`"*"` = unreserved); never together with `reservations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Pre-refinement format only: the dynamic reservation of `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<ReservationInfo>,
    /// Post-refinement format: the reservation stack; the last entry is the current owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<ReservationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocable: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<ResourceProviderId>,
}

impl Resource {
    fn plain(name: &str, value: Value) -> Resource {
        Resource {
            name: name.to_owned(),
            value,
            role: None,
            reservation: None,
            reservations: Vec::new(),
            allocation_info: None,
            disk: None,
            revocable: None,
            shared: None,
            provider_id: None,
        }
    }

    /// An unreserved scalar resource (`cpus`, `mem`, `disk`, `gpus`).
    pub fn scalar(name: &str, value: f64) -> Resource {
        Resource::plain(name, Value::Scalar(value))
    }

    /// An unreserved ranges resource (`ports`).
    pub fn ranges(name: &str, ranges: Vec<Range>) -> Resource {
        Resource::plain(name, Value::Ranges(ranges))
    }

    pub fn set(name: &str, items: Vec<String>) -> Resource {
        Resource::plain(name, Value::Set(items))
    }

    /// The role that owns this resource: the last reservation's role, else the legacy `role`;
    /// `None` when unreserved.
    pub fn reserved_role(&self) -> Option<&str> {
        match self.reservations.last() {
            Some(r) => r.role.as_deref(),
            None => self.role.as_deref().filter(|r| *r != "*"),
        }
    }
}

/// An empty message used as a flag (`"revocable": {}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

wire_enum! {
    pub enum ReservationType {
        Static = "STATIC",
        Dynamic = "DYNAMIC",
    }
}

/// One reservation of a resource. In the legacy format only `principal` and `labels` are set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReservationInfo {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<ReservationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

/// The role an offered resource is allocated to (MULTI_ROLE frameworks only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationInfo {
    pub role: String,
}

/// Disk details: a persistent volume (`persistence` + `volume`), or a disk `source`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DiskSource>,
}

/// The identity of a persistent volume, chosen by the framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persistence {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

wire_enum! {
    pub enum VolumeMode {
        Rw = "RW",
        Ro = "RO",
    }
}

/// A volume mounted into a container (also the `volume` of a persistent disk).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub container_path: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub mode: Option<VolumeMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
}

wire_enum! {
    pub enum DiskSourceType {
        Path = "PATH",
        Mount = "MOUNT",
        Block = "BLOCK",
        Raw = "RAW",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRoot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

/// Where a non-root disk comes from; no `source` means the agent's root disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSource {
    #[serde(rename = "type")]
    pub kind: DiskSourceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<DiskRoot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<DiskRoot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// An agent attribute (`rack:r1`), usually TEXT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    #[serde(flatten)]
    pub value: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T>(value: &T, wire: serde_json::Value)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_value(value).ok(), Some(wire.clone()));
        assert_eq!(serde_json::from_value::<T>(wire).ok().as_ref(), Some(value));
    }

    #[test]
    fn value_kinds_from_the_reference() {
        round_trip(
            &Resource::scalar("cpus", 1.5),
            json!({"name":"cpus","type":"SCALAR","scalar":{"value":1.5}}),
        );
        round_trip(
            &Resource::ranges(
                "ports",
                vec![
                    Range {
                        begin: 31000,
                        end: 31099,
                    },
                    Range {
                        begin: 31200,
                        end: 31200,
                    },
                ],
            ),
            json!({"name":"ports","type":"RANGES","ranges":{"range":[
                {"begin":31000,"end":31099},{"begin":31200,"end":31200}]}}),
        );
        round_trip(
            &Resource::set("custom", vec!["a".into(), "b".into()]),
            json!({"name":"custom","type":"SET","set":{"item":["a","b"]}}),
        );
        round_trip(
            &Attribute {
                name: "rack".into(),
                value: Value::Text("r1".into()),
            },
            json!({"name":"rack","type":"TEXT","text":{"value":"r1"}}),
        );
    }

    #[test]
    fn value_type_and_body_must_agree() {
        for bad in [
            json!({"name":"cpus","type":"SCALAR","ranges":{"range":[]}}),
            json!({"name":"cpus","scalar":{"value":1}}),
            json!({"name":"cpus","type":"NUMBER","scalar":{"value":1}}),
            json!({"name":"cpus","type":1,"scalar":{"value":1}}),
        ] {
            assert!(
                serde_json::from_value::<Resource>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn persistent_volume_from_the_reference() {
        let wire = json!({"name":"disk","type":"SCALAR","scalar":{"value":2048.0},
           "reservations":[{"type":"DYNAMIC","role":"apps","principal":"my-orchestrator",
             "labels":{"labels":[{"key":"instance","value":"db.1"}]}}],
           "disk":{"persistence":{"id":"db.1#data#9b2e","principal":"my-orchestrator"},
                   "volume":{"container_path":"data","mode":"RW"}}});
        let mut r = Resource::scalar("disk", 2048.0);
        r.reservations = vec![ReservationInfo {
            kind: Some(ReservationType::Dynamic),
            role: Some("apps".into()),
            principal: Some("my-orchestrator".into()),
            labels: Some(Labels {
                labels: vec![super::super::wire::Label {
                    key: "instance".into(),
                    value: Some("db.1".into()),
                }],
            }),
        }];
        r.disk = Some(DiskInfo {
            persistence: Some(Persistence {
                id: "db.1#data#9b2e".into(),
                principal: Some("my-orchestrator".into()),
            }),
            volume: Some(Volume {
                container_path: "data".into(),
                mode: Some(VolumeMode::Rw),
                host_path: None,
            }),
            source: None,
        });
        round_trip(&r, wire);
        assert_eq!(r.reserved_role(), Some("apps"));
    }

    #[test]
    fn offered_resource_tolerates_unknown_fields() {
        let wire = json!({"name":"mem","type":"SCALAR","scalar":{"value":14800},
            "allocation_info":{"role":"apps"},"role":"*","ephemeral_ports":{},"new_field":1});
        let r: Resource = serde_json::from_value(wire).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.value, Value::Scalar(14800.0));
        assert_eq!(
            r.allocation_info.as_ref().map(|a| a.role.as_str()),
            Some("apps")
        );
        assert_eq!(r.reserved_role(), None);
    }
}
