//! The scheduler's calls to the master (`POST /api/v1/scheduler`): the flat tagged `Call`
//! envelope, each type's body, and the master-side parse and validation of a call.

use super::framework::FrameworkInfo;
use super::operations::{Filters, Operation};
use super::resources::Resource;
use super::status::TaskStatus;
use super::task::KillPolicy;
use super::wire::{
    AgentId, Base64Bytes, ExecutorId, FrameworkId, JsonObject, OfferId, OperationId,
    ResourceProviderId, TaskId, take, take_required,
};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A call: `{"type": "ACCEPT", "framework_id": {…}, "accept": {…}}`. The body's variant decides
/// both `type` and the one sub-message present, so they cannot disagree.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// Required on every call but a first SUBSCRIBE; see [`Call::validate`].
    pub framework_id: Option<FrameworkId>,
    pub body: CallBody,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CallBody {
    Subscribe(Subscribe),
    Teardown,
    Accept(Accept),
    Decline(Decline),
    AcceptInverseOffers(InverseOfferReply),
    DeclineInverseOffers(InverseOfferReply),
    /// Un-suppress and clear filters for these roles (empty = all subscribed roles).
    Revive(RoleList),
    /// Stop offers for these roles (empty = all).
    Suppress(RoleList),
    Kill(Kill),
    Shutdown(Shutdown),
    Acknowledge(Acknowledge),
    AcknowledgeOperationStatus(AcknowledgeOperationStatus),
    /// Explicit with tasks; implicit (every task the master knows) when empty.
    Reconcile(Reconcile),
    ReconcileOperations(ReconcileOperations),
    Message(ExecutorMessage),
    Request(Request),
    UpdateFramework(UpdateFramework),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribe {
    pub framework_info: FrameworkInfo,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed_roles: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateFramework {
    pub framework_info: FrameworkInfo,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed_roles: Vec<String>,
}

/// Applies `operations`, in order, to offers of one agent and one role; the rest of the offers'
/// resources are declined with `filters`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accept {
    #[serde(default)]
    pub offer_ids: Vec<OfferId>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decline {
    #[serde(default)]
    pub offer_ids: Vec<OfferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// The body of ACCEPT_INVERSE_OFFERS and DECLINE_INVERSE_OFFERS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InverseOfferReply {
    #[serde(default)]
    pub inverse_offer_ids: Vec<OfferId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
}

/// The body of REVIVE and SUPPRESS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub task_id: TaskId,
    /// Optional, but without it an unreachable task cannot be told from an unknown one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// Overrides the task's own kill policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<KillPolicy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    pub executor_id: ExecutorId,
    pub agent_id: AgentId,
}

/// Acknowledges the status update carrying `uuid`, so the agent sends the task's next one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledge {
    pub agent_id: AgentId,
    pub task_id: TaskId,
    pub uuid: Base64Bytes,
}

impl Acknowledge {
    /// The acknowledgement a status asks for; `None` for master-generated updates, which have
    /// no uuid and must not be acknowledged.
    pub fn for_status(status: &TaskStatus) -> Option<Acknowledge> {
        Some(Acknowledge {
            agent_id: status.agent_id.clone()?,
            task_id: status.task_id.clone(),
            uuid: status.uuid.clone()?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcknowledgeOperationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_provider_id: Option<ResourceProviderId>,
    pub uuid: Base64Bytes,
    pub operation_id: OperationId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileTask {
    pub task_id: TaskId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconcile {
    #[serde(default)]
    pub tasks: Vec<ReconcileTask>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileOperation {
    pub operation_id: OperationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_provider_id: Option<ResourceProviderId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileOperations {
    #[serde(default)]
    pub operations: Vec<ReconcileOperation>,
}

/// Opaque bytes between a framework and an executor: the MESSAGE call and the MESSAGE event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorMessage {
    pub agent_id: AgentId,
    pub executor_id: ExecutorId,
    pub data: Base64Bytes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default)]
    pub resources: Vec<Resource>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub requests: Vec<ResourceRequest>,
}

/// Why the master refuses a call. `NotImplemented` answers 501, the others 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("Failed to parse body into JSON: {0}")]
    NotJson(String),
    #[error("Failed to convert JSON into Call protobuf: {0}")]
    Malformed(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Received an unknown call type")]
    NotImplemented,
}

impl CallBody {
    /// The wire `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallBody::Subscribe(_) => "SUBSCRIBE",
            CallBody::Teardown => "TEARDOWN",
            CallBody::Accept(_) => "ACCEPT",
            CallBody::Decline(_) => "DECLINE",
            CallBody::AcceptInverseOffers(_) => "ACCEPT_INVERSE_OFFERS",
            CallBody::DeclineInverseOffers(_) => "DECLINE_INVERSE_OFFERS",
            CallBody::Revive(_) => "REVIVE",
            CallBody::Suppress(_) => "SUPPRESS",
            CallBody::Kill(_) => "KILL",
            CallBody::Shutdown(_) => "SHUTDOWN",
            CallBody::Acknowledge(_) => "ACKNOWLEDGE",
            CallBody::AcknowledgeOperationStatus(_) => "ACKNOWLEDGE_OPERATION_STATUS",
            CallBody::Reconcile(_) => "RECONCILE",
            CallBody::ReconcileOperations(_) => "RECONCILE_OPERATIONS",
            CallBody::Message(_) => "MESSAGE",
            CallBody::Request(_) => "REQUEST",
            CallBody::UpdateFramework(_) => "UPDATE_FRAMEWORK",
        }
    }

    fn serialize_into<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            CallBody::Subscribe(b) => m.serialize_entry("subscribe", b),
            CallBody::Teardown => Ok(()),
            CallBody::Accept(b) => m.serialize_entry("accept", b),
            CallBody::Decline(b) => m.serialize_entry("decline", b),
            CallBody::AcceptInverseOffers(b) => m.serialize_entry("accept_inverse_offers", b),
            CallBody::DeclineInverseOffers(b) => m.serialize_entry("decline_inverse_offers", b),
            CallBody::Revive(b) => m.serialize_entry("revive", b),
            CallBody::Suppress(b) => m.serialize_entry("suppress", b),
            CallBody::Kill(b) => m.serialize_entry("kill", b),
            CallBody::Shutdown(b) => m.serialize_entry("shutdown", b),
            CallBody::Acknowledge(b) => m.serialize_entry("acknowledge", b),
            CallBody::AcknowledgeOperationStatus(b) => {
                m.serialize_entry("acknowledge_operation_status", b)
            }
            CallBody::Reconcile(b) => m.serialize_entry("reconcile", b),
            CallBody::ReconcileOperations(b) => m.serialize_entry("reconcile_operations", b),
            CallBody::Message(b) => m.serialize_entry("message", b),
            CallBody::Request(b) => m.serialize_entry("request", b),
            CallBody::UpdateFramework(b) => m.serialize_entry("update_framework", b),
        }
    }

    fn from_object(kind: &str, m: &mut JsonObject) -> Result<CallBody, CallError> {
        let body = match kind {
            "SUBSCRIBE" => CallBody::Subscribe(take_required(m, "subscribe")?),
            "TEARDOWN" => CallBody::Teardown,
            "ACCEPT" => CallBody::Accept(take_required(m, "accept")?),
            "DECLINE" => CallBody::Decline(take_required(m, "decline")?),
            "ACCEPT_INVERSE_OFFERS" => {
                CallBody::AcceptInverseOffers(take_required(m, "accept_inverse_offers")?)
            }
            "DECLINE_INVERSE_OFFERS" => {
                CallBody::DeclineInverseOffers(take_required(m, "decline_inverse_offers")?)
            }
            // The body is optional: without it, all roles.
            "REVIVE" => CallBody::Revive(take(m, "revive")?.unwrap_or_default()),
            "SUPPRESS" => CallBody::Suppress(take(m, "suppress")?.unwrap_or_default()),
            "KILL" => CallBody::Kill(take_required(m, "kill")?),
            "SHUTDOWN" => CallBody::Shutdown(take_required(m, "shutdown")?),
            "ACKNOWLEDGE" => CallBody::Acknowledge(take_required(m, "acknowledge")?),
            "ACKNOWLEDGE_OPERATION_STATUS" => CallBody::AcknowledgeOperationStatus(take_required(
                m,
                "acknowledge_operation_status",
            )?),
            "RECONCILE" => CallBody::Reconcile(take_required(m, "reconcile")?),
            "RECONCILE_OPERATIONS" => {
                CallBody::ReconcileOperations(take_required(m, "reconcile_operations")?)
            }
            "MESSAGE" => CallBody::Message(take_required(m, "message")?),
            "REQUEST" => CallBody::Request(take_required(m, "request")?),
            "UPDATE_FRAMEWORK" => CallBody::UpdateFramework(take_required(m, "update_framework")?),
            "UNKNOWN" => return Err(CallError::NotImplemented),
            other => {
                return Err(CallError::Malformed(format!("unknown call type '{other}'")));
            }
        };
        Ok(body)
    }
}

impl From<String> for CallError {
    fn from(message: String) -> CallError {
        CallError::Malformed(message)
    }
}

impl Call {
    /// A SUBSCRIBE; its top-level `framework_id` is the info's `id`, as the master requires.
    pub fn subscribe(framework_info: FrameworkInfo) -> Call {
        Call {
            framework_id: framework_info.id.clone(),
            body: CallBody::Subscribe(Subscribe {
                framework_info,
                suppressed_roles: Vec::new(),
            }),
        }
    }

    /// Any call from a subscribed framework. For UPDATE_FRAMEWORK the info's `id` is set to
    /// `framework_id`, so the two cannot differ.
    pub fn new(framework_id: FrameworkId, mut body: CallBody) -> Call {
        if let CallBody::UpdateFramework(u) = &mut body {
            u.framework_info.id = Some(framework_id.clone());
        }
        Call {
            framework_id: Some(framework_id),
            body,
        }
    }

    /// Parses and validates a request body, as the master does before answering 202.
    pub fn from_json(body: &[u8]) -> Result<Call, CallError> {
        let map: JsonObject =
            serde_json::from_slice(body).map_err(|e| CallError::NotJson(e.to_string()))?;
        let call = Call::from_object(map)?;
        call.validate()?;
        Ok(call)
    }

    fn from_object(mut map: JsonObject) -> Result<Call, CallError> {
        let kind: String = take(&mut map, "type")?
            .ok_or_else(|| CallError::Invalid("Expecting 'type' to be present".into()))?;
        let framework_id = take(&mut map, "framework_id")?;
        let body = CallBody::from_object(&kind, &mut map)?;
        Ok(Call { framework_id, body })
    }

    /// The master's checks that need no state: ids present and consistent, uuids well formed.
    pub fn validate(&self) -> Result<(), CallError> {
        let invalid = |m: &str| Err(CallError::Invalid(m.to_owned()));
        match &self.body {
            CallBody::Subscribe(s) => {
                if self.framework_id != s.framework_info.id {
                    return invalid("'framework_id' differs from 'subscribe.framework_info.id'");
                }
                return Ok(());
            }
            _ if self.framework_id.is_none() => {
                return invalid("Expecting 'framework_id' to be present");
            }
            CallBody::UpdateFramework(u) if self.framework_id != u.framework_info.id => {
                return invalid("'framework_id' differs from 'update_framework.framework_info.id'");
            }
            CallBody::Acknowledge(a) if a.uuid.as_slice().len() != 16 => {
                return invalid("'acknowledge.uuid' is not a valid UUID");
            }
            CallBody::AcknowledgeOperationStatus(a) => {
                if a.uuid.as_slice().len() != 16 {
                    return invalid("'acknowledge_operation_status.uuid' is not a valid UUID");
                }
                if a.agent_id.is_none() {
                    return invalid("Expecting 'acknowledge_operation_status.agent_id' to be set");
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.body.kind())?;
        if let Some(id) = &self.framework_id {
            m.serialize_entry("framework_id", id)?;
        }
        self.body.serialize_into(&mut m)?;
        m.end()
    }
}

/// Parses the shape only; [`Call::from_json`] also validates.
impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Call, D::Error> {
        let map = JsonObject::deserialize(d)?;
        Call::from_object(map).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
