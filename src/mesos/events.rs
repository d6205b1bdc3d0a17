//! The master's events on the subscription stream: the flat tagged `Event` envelope, offers and
//! inverse offers, and each event type's body. Unknown event types parse, to `Event::Unknown`.

use super::calls::ExecutorMessage;
use super::framework::{Address, DomainInfo, MasterInfo};
use super::resources::{AllocationInfo, Attribute, Resource};
use super::status::TaskStatus;
use super::wire::{
    AgentId, Base64Bytes, DurationInfo, ExecutorId, FrameworkId, OfferId, OperationId,
    ResourceProviderId, TimeInfo, lenient, wire_enum,
};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One record of the event stream: `{"type": "OFFERS", "offers": {…}}`.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Subscribed(Subscribed),
    Offers(Offers),
    InverseOffers(InverseOffers),
    Rescind(Rescind),
    RescindInverseOffer(RescindInverseOffer),
    Update(Update),
    UpdateOperationStatus(UpdateOperationStatus),
    Message(ExecutorMessage),
    Failure(Failure),
    /// The stream is closed right after this.
    Error(ErrorEvent),
    Heartbeat,
    /// A type this version does not know (from a newer master); its body is not kept.
    Unknown {
        kind: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscribed {
    pub framework_id: FrameworkId,
    /// Always 15 s on a real master; the watchdog allows a few missed ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_info: Option<MasterInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offers {
    #[serde(default)]
    pub offers: Vec<Offer>,
}

/// `scheme://address/path` of the agent that made an offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    pub scheme: String,
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// When an agent goes into maintenance; no `duration` means for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailability {
    pub start: TimeInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationInfo>,
}

/// Resources of one agent for one role, to accept or decline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub framework_id: FrameworkId,
    pub agent_id: AgentId,
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<AllocationInfo>,
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executor_ids: Vec<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailability: Option<Unavailability>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InverseOffers {
    #[serde(default)]
    pub inverse_offers: Vec<InverseOffer>,
}

/// A request to vacate an agent by its unavailability; empty `resources` means all of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InverseOffer {
    pub id: OfferId,
    pub framework_id: FrameworkId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    pub unavailability: Unavailability,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rescind {
    pub offer_id: OfferId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescindInverseOffer {
    pub inverse_offer_id: OfferId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub status: TaskStatus,
}

wire_enum! {
    pub enum OperationState {
        Unsupported = "OPERATION_UNSUPPORTED",
        Pending = "OPERATION_PENDING",
        Finished = "OPERATION_FINISHED",
        Failed = "OPERATION_FAILED",
        Error = "OPERATION_ERROR",
        Dropped = "OPERATION_DROPPED",
        Unreachable = "OPERATION_UNREACHABLE",
        GoneByOperator = "OPERATION_GONE_BY_OPERATOR",
        Recovering = "OPERATION_RECOVERING",
        Unknown = "OPERATION_UNKNOWN",
    }
}

/// Unlike a task status's, an operation status's uuid is a message: `{"value": "<Base64>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UuidMessage {
    pub value: Base64Bytes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<OperationId>,
    /// Absent when the name is unknown to us.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<OperationState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub converted_resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<UuidMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_provider_id: Option<ResourceProviderId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateOperationStatus {
    pub status: OperationStatus,
}

/// An agent was removed (`agent_id` only), or an executor exited (`status` is the raw wait
/// status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub message: String,
}

impl Event {
    /// The wire `type`.
    pub fn kind(&self) -> &str {
        match self {
            Event::Subscribed(_) => "SUBSCRIBED",
            Event::Offers(_) => "OFFERS",
            Event::InverseOffers(_) => "INVERSE_OFFERS",
            Event::Rescind(_) => "RESCIND",
            Event::RescindInverseOffer(_) => "RESCIND_INVERSE_OFFER",
            Event::Update(_) => "UPDATE",
            Event::UpdateOperationStatus(_) => "UPDATE_OPERATION_STATUS",
            Event::Message(_) => "MESSAGE",
            Event::Failure(_) => "FAILURE",
            Event::Error(_) => "ERROR",
            Event::Heartbeat => "HEARTBEAT",
            Event::Unknown { kind } => kind,
        }
    }

    /// Parses one RecordIO record of the stream.
    pub fn from_json(record: &[u8]) -> Result<Event, serde_json::Error> {
        serde_json::from_slice(record)
    }
}

/// The envelope as it arrives: every body optional, the one its `type` names required.
/// Decoded straight from the record, with no intermediate `serde_json::Value` (an OFFERS event
/// of a large cluster carries thousands of resources).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    subscribed: Option<Subscribed>,
    offers: Option<Offers>,
    inverse_offers: Option<InverseOffers>,
    rescind: Option<Rescind>,
    rescind_inverse_offer: Option<RescindInverseOffer>,
    update: Option<Update>,
    update_operation_status: Option<UpdateOperationStatus>,
    message: Option<ExecutorMessage>,
    failure: Option<Failure>,
    error: Option<ErrorEvent>,
}

fn required<T>(body: Option<T>, key: &str) -> Result<T, String> {
    body.ok_or_else(|| format!("Expecting '{key}' to be present"))
}

impl Envelope {
    fn into_event(self) -> Result<Event, String> {
        let kind = self.kind.ok_or("Expecting 'type' to be present")?;
        Ok(match kind.as_str() {
            "SUBSCRIBED" => Event::Subscribed(required(self.subscribed, "subscribed")?),
            "OFFERS" => Event::Offers(required(self.offers, "offers")?),
            "INVERSE_OFFERS" => {
                Event::InverseOffers(required(self.inverse_offers, "inverse_offers")?)
            }
            "RESCIND" => Event::Rescind(required(self.rescind, "rescind")?),
            "RESCIND_INVERSE_OFFER" => Event::RescindInverseOffer(required(
                self.rescind_inverse_offer,
                "rescind_inverse_offer",
            )?),
            "UPDATE" => Event::Update(required(self.update, "update")?),
            "UPDATE_OPERATION_STATUS" => Event::UpdateOperationStatus(required(
                self.update_operation_status,
                "update_operation_status",
            )?),
            "MESSAGE" => Event::Message(required(self.message, "message")?),
            "FAILURE" => Event::Failure(required(self.failure, "failure")?),
            "ERROR" => Event::Error(required(self.error, "error")?),
            "HEARTBEAT" => Event::Heartbeat,
            _ => Event::Unknown { kind },
        })
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.kind())?;
        match self {
            Event::Subscribed(b) => m.serialize_entry("subscribed", b)?,
            Event::Offers(b) => m.serialize_entry("offers", b)?,
            Event::InverseOffers(b) => m.serialize_entry("inverse_offers", b)?,
            Event::Rescind(b) => m.serialize_entry("rescind", b)?,
            Event::RescindInverseOffer(b) => m.serialize_entry("rescind_inverse_offer", b)?,
            Event::Update(b) => m.serialize_entry("update", b)?,
            Event::UpdateOperationStatus(b) => m.serialize_entry("update_operation_status", b)?,
            Event::Message(b) => m.serialize_entry("message", b)?,
            Event::Failure(b) => m.serialize_entry("failure", b)?,
            Event::Error(b) => m.serialize_entry("error", b)?,
            Event::Heartbeat | Event::Unknown { .. } => {}
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        Envelope::deserialize(d)?
            .into_event()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
