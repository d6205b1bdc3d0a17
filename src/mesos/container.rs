//! Where a task runs: ContainerInfo with its Docker or Mesos image, volumes and networks.

use super::resources::Volume;
use super::wire::{Labels, lenient, wire_enum};
use serde::{Deserialize, Serialize};
wire_enum! {
    pub enum ContainerType {
        Docker = "DOCKER",
        Mesos = "MESOS",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    #[serde(rename = "type")]
    pub kind: ContainerType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesos: Option<MesosInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_infos: Vec<NetworkInfo>,
}

impl ContainerInfo {
    /// The image the container needs, if any (Docker image name or Mesos image's name; an
    /// image given without a name reads as `""`, so it still counts as an image).
    pub fn image(&self) -> Option<&str> {
        match self.kind {
            ContainerType::Docker => self.docker.as_ref().map(|d| d.image.as_str()),
            ContainerType::Mesos => self.mesos.as_ref().and_then(|m| m.image.as_ref()).map(|i| {
                match (&i.docker, &i.appc) {
                    (Some(d), _) => d.name.as_str(),
                    (None, Some(a)) => a.name.as_str(),
                    (None, None) => "",
                }
            }),
        }
    }
}

wire_enum! {
    pub enum DockerNetwork {
        Host = "HOST",
        Bridge = "BRIDGE",
        None = "NONE",
        User = "USER",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DockerInfo {
    pub image: String,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub network: Option<DockerNetwork>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_pull_image: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_port: u32,
    pub container_port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MesosInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

wire_enum! {
    pub enum ImageType {
        Appc = "APPC",
        Docker = "DOCKER",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedImage {
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: ImageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<NamedImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appc: Option<NamedImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// A container network: requested in a ContainerInfo, reported in a ContainerStatus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<IpAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_container_and_unknown_enum_names() {
        let wire = json!({"type":"DOCKER","docker":{"image":"nginx:1.25","network":"OVERLAY9",
            "port_mappings":[{"host_port":31005,"container_port":80,"protocol":"tcp"}],
            "privileged":false,"parameters":[{"key":"label","value":"a=b"}],
            "force_pull_image":false}});
        let c: ContainerInfo = serde_json::from_value(wire).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.image(), Some("nginx:1.25"));
        // An unknown name on an optional enum reads as absent, as on the master.
        assert_eq!(c.docker.and_then(|d| d.network), None);
        assert!(serde_json::from_value::<ContainerInfo>(json!({"type":"RKT"})).is_err());
    }
}
