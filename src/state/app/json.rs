//! The JSON Marathon serves for an app, and comparisons between app versions.

use serde_json::Value;

use super::{AppDefinition, NetworkMode};

impl AppDefinition {
    /// Marathon's writer shape (§3.2): the object served by GET /v2/apps/{id} before the server
    /// adds version, versionInfo, tasks* and deployments. Parsing it back with `AppInput::Create`
    /// gives an equal app.
    pub fn to_marathon_json(&self) -> Value {
        let mut json = serde_json::to_value(self)
            .expect("an app holds only string-keyed maps, sequences and scalars");
        let host = self.networks.iter().all(|n| n.mode == NetworkMode::Host);
        if let Some(obj) = json.as_object_mut() {
            if host {
                if let Some(container) = obj.get_mut("container").and_then(Value::as_object_mut) {
                    container.remove("portMappings");
                }
            } else {
                obj.remove("portDefinitions");
            }
        }
        json
    }

    /// True when the two definitions differ only in `instances`: a scale, not a config change
    /// (Marathon's `versionInfo.lastScalingAt` vs `lastConfigChangeAt`). Equal apps differ in
    /// nothing, so they are not a scale either.
    pub fn differs_only_in_scale(&self, other: &AppDefinition) -> bool {
        self.instances != other.instances
            && *self
                == AppDefinition {
                    instances: self.instances,
                    ..other.clone()
                }
    }
}
