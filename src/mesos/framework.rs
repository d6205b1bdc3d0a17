//! Who is talking: the framework's FrameworkInfo and capabilities, the master's MasterInfo, and
//! the fault domains both agents and masters live in.

use super::wire::{FrameworkId, Labels, lenient, wire_enum};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What a framework declares it understands; the master changes its behaviour accordingly.
    pub enum FrameworkCapability {
        RevocableResources = "REVOCABLE_RESOURCES",
        TaskKillingState = "TASK_KILLING_STATE",
        GpuResources = "GPU_RESOURCES",
        SharedResources = "SHARED_RESOURCES",
        PartitionAware = "PARTITION_AWARE",
        MultiRole = "MULTI_ROLE",
        ReservationRefinement = "RESERVATION_REFINEMENT",
        RegionAware = "REGION_AWARE",
    }
}

/// The framework's identity and wishes, sent in SUBSCRIBE and UPDATE_FRAMEWORK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    pub user: String,
    pub name: String,
    /// Set on every SUBSCRIBE after the first, and then equal to the call's `framework_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<FrameworkId>,
    /// Seconds the master keeps the framework's tasks after its stream drops (Mesos' default 0
    /// removes them almost at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_timeout: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<bool>,
    /// Legacy single role; never together with MULTI_ROLE and `roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webui_url: Option<String>,
    /// Unknown capability names (from a newer scheduler) are dropped, as the master does.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "capabilities")]
    pub capabilities: Vec<FrameworkCapability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

impl FrameworkInfo {
    /// A framework with only its required fields set.
    pub fn new(user: impl Into<String>, name: impl Into<String>) -> FrameworkInfo {
        FrameworkInfo {
            user: user.into(),
            name: name.into(),
            id: None,
            failover_timeout: None,
            checkpoint: None,
            role: None,
            roles: Vec::new(),
            hostname: None,
            principal: None,
            webui_url: None,
            capabilities: Vec::new(),
            labels: None,
        }
    }

    pub fn has_capability(&self, capability: FrameworkCapability) -> bool {
        self.capabilities.contains(&capability)
    }
}

/// Capabilities travel as `[{"type": "MULTI_ROLE"}, …]`.
mod capabilities {
    use super::{FrameworkCapability, lenient};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        #[serde(rename = "type", default, deserialize_with = "lenient")]
        kind: Option<FrameworkCapability>,
    }

    pub fn serialize<S: Serializer>(caps: &[FrameworkCapability], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(caps.iter().map(|&c| Entry { kind: Some(c) }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<FrameworkCapability>, D::Error> {
        let entries: Vec<Entry> = Vec::deserialize(d)?;
        Ok(entries.into_iter().filter_map(|e| e.kind).collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultDomain {
    pub region: Name,
    pub zone: Name,
}

/// `{"fault_domain": {"region": {"name": …}, "zone": {"name": …}}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_domain: Option<FaultDomain>,
}

impl DomainInfo {
    pub fn new(region: impl Into<String>, zone: impl Into<String>) -> DomainInfo {
        DomainInfo {
            fault_domain: Some(FaultDomain {
                region: Name {
                    name: region.into(),
                },
                zone: Name { name: zone.into() },
            }),
        }
    }

    pub fn region(&self) -> Option<&str> {
        self.fault_domain.as_ref().map(|f| f.region.name.as_str())
    }

    pub fn zone(&self) -> Option<&str> {
        self.fault_domain.as_ref().map(|f| f.zone.name.as_str())
    }
}

/// A network address as the master reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub port: u32,
}

/// A capability of the master (`AGENT_UPDATE`, `QUOTA_V2`, …); kept as its name, since we only
/// ever display these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterCapability {
    #[serde(rename = "type")]
    pub kind: String,
}

/// The leading master, as announced in SUBSCRIBED.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    pub id: String,
    /// IPv4 in network byte order (deprecated; use `address`).
    pub ip: u32,
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<MasterCapability>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capabilities_are_type_objects_and_unknown_ones_drop() {
        let mut info = FrameworkInfo::new("svc", "baton");
        info.capabilities = vec![
            FrameworkCapability::MultiRole,
            FrameworkCapability::PartitionAware,
        ];
        assert_eq!(
            serde_json::to_value(&info).ok(),
            Some(json!({"user":"svc","name":"baton",
                "capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}]}))
        );
        let parsed: FrameworkInfo = serde_json::from_value(json!({"user":"u","name":"n",
            "capabilities":[{"type":"GPU_RESOURCES"},{"type":"TELEPATHY"},{}],
            "offer_filters":{"apps":{}}}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.capabilities, vec![FrameworkCapability::GpuResources]);
        assert!(parsed.has_capability(FrameworkCapability::GpuResources));
    }

    #[test]
    fn framework_info_requires_user_and_name() {
        assert!(serde_json::from_value::<FrameworkInfo>(json!({"name":"n"})).is_err());
        assert!(serde_json::from_value::<FrameworkInfo>(json!({"user":"u"})).is_err());
    }

    #[test]
    fn domain_accessors() {
        let d = DomainInfo::new("eu", "eu-1a");
        assert_eq!(
            serde_json::to_value(&d).ok(),
            Some(json!({"fault_domain":{"region":{"name":"eu"},"zone":{"name":"eu-1a"}}}))
        );
        assert_eq!((d.region(), d.zone()), (Some("eu"), Some("eu-1a")));
        assert_eq!(DomainInfo::default().region(), None);
    }
}
