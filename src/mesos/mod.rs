//! The scheduler side of the Mesos v1 API, and the only home of its wire types: the calls a
//! scheduler sends and the events a master streams back (in JSON, as the real master writes
//! them), RecordIO framing, and the mapping of task states onto instance conditions.
//!
//! The types model both directions, so `mesos_local` (the embedded master) reuses them:
//! [`Call::from_json`] parses and validates a call as the master does, and [`Event`]
//! serialises into the exact envelope the master emits. Parsing what a master sends is
//! lenient where a newer master may say more: unknown fields are ignored, unknown event types
//! become [`Event::Unknown`], unknown reasons are kept as strings, and unknown names of
//! optional enum fields read as absent.

mod calls;
pub mod client;
mod container;
mod events;
mod framework;
mod operations;
pub mod recordio;
mod resources;
mod status;
mod task;
mod wire;

pub use calls::{
    Accept, Acknowledge, AcknowledgeOperationStatus, Call, CallBody, CallError, Decline,
    ExecutorMessage, InverseOfferReply, Kill, Reconcile, ReconcileOperation, ReconcileOperations,
    ReconcileTask, Request, ResourceRequest, RoleList, Shutdown, Subscribe, UpdateFramework,
};
pub use container::{
    ContainerInfo, ContainerType, DockerInfo, DockerNetwork, Image, ImageType, IpAddress,
    MesosInfo, NamedImage, NetworkInfo, Parameter, PortMapping,
};
pub use events::{
    ErrorEvent, Event, Failure, InverseOffer, InverseOffers, Offer, Offers, OperationState,
    OperationStatus, Rescind, RescindInverseOffer, Subscribed, Unavailability, Update,
    UpdateOperationStatus, Url, UuidMessage,
};
pub use framework::{
    Address, DomainInfo, FaultDomain, FrameworkCapability, FrameworkInfo, MasterCapability,
    MasterInfo, Name,
};
pub use operations::{
    Filters, Launch, LaunchGroup, OfferOperation, Operation, ResourceList, VolumeList,
};
pub use recordio::{Decoder as RecordIoDecoder, RecordIoError};
pub use resources::{
    AllocationInfo, Attribute, DiskInfo, DiskRoot, DiskSource, DiskSourceType, Empty, Persistence,
    Range, Ranges, ReservationInfo, ReservationType, Resource, Scalar, Set, Text, Value, ValueType,
    Volume, VolumeMode,
};
pub use status::{
    CheckStatusInfo, CommandCheckStatus, ContainerStatus, HttpCheckStatus, Reason, TaskSource,
    TaskState, TaskStatus, TcpCheckStatus,
};
pub use task::{
    CheckInfo, CheckType, CommandCheck, CommandInfo, CommandUri, DiscoveryInfo, DiscoveryPort,
    DiscoveryPorts, DiscoveryVisibility, EnvVariable, EnvVariableType, Environment, ExecutorInfo,
    ExecutorType, HealthCheck, HttpCheck, KillPolicy, TaskGroupInfo, TaskInfo, TcpCheck,
};
pub use wire::{
    AgentId, Base64Bytes, ContainerId, DurationInfo, ExecutorId, FrameworkId, InvalidBase64, Label,
    Labels, OfferId, OperationId, ResourceProviderId, TaskId, TimeInfo, UnknownEnumValue,
};

use crate::state::model::Condition;

/// The instance condition a task state means. Every state maps one to one, except:
///
/// - `TASK_GONE` and `TASK_GONE_BY_OPERATOR` are both `Gone`: either way the task is not coming
///   back and the instance is to be replaced.
/// - `TASK_LOST` is `Unreachable`. We subscribe PARTITION_AWARE, so a real master sends LOST
///   only to older frameworks; if one arrives anyway, the reference calls it a catch-all that
///   "may come back to RUNNING". `Unreachable` is the condition that keeps the instance (it
///   may still run) while the unreachable strategy decides when to replace it; `Gone` would
///   forget a task that may still be running, `Unknown` would claim the master never heard of
///   it.
///
/// `Provisioned` and `UnreachableInactive` come from no task state: the first is the scheduler's
/// write-ahead before LAUNCH, the second its own timeout on an unreachable instance.
pub fn condition(state: TaskState) -> Condition {
    match state {
        TaskState::Staging => Condition::Staging,
        TaskState::Starting => Condition::Starting,
        TaskState::Running => Condition::Running,
        TaskState::Killing => Condition::Killing,
        TaskState::Finished => Condition::Finished,
        TaskState::Failed => Condition::Failed,
        TaskState::Killed => Condition::Killed,
        TaskState::Error => Condition::Error,
        TaskState::Lost => Condition::Unreachable,
        TaskState::Dropped => Condition::Dropped,
        TaskState::Unreachable => Condition::Unreachable,
        TaskState::Gone | TaskState::GoneByOperator => Condition::Gone,
        TaskState::Unknown => Condition::Unknown,
    }
}

/// Whether Mesos considers the state terminal: the master releases the task's resources and,
/// once the update is acknowledged, forgets the task. That includes `TASK_LOST` and
/// `TASK_GONE_BY_OPERATOR`, though both may be wrong about the task being dead, and excludes
/// `TASK_UNREACHABLE` and `TASK_UNKNOWN`, after which the task may still report in.
pub fn is_terminal(state: TaskState) -> bool {
    match state {
        TaskState::Finished
        | TaskState::Failed
        | TaskState::Killed
        | TaskState::Error
        | TaskState::Lost
        | TaskState::Dropped
        | TaskState::Gone
        | TaskState::GoneByOperator => true,
        TaskState::Staging
        | TaskState::Starting
        | TaskState::Running
        | TaskState::Killing
        | TaskState::Unreachable
        | TaskState::Unknown => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_condition_and_a_terminality() {
        let table = [
            (TaskState::Staging, Condition::Staging, false),
            (TaskState::Starting, Condition::Starting, false),
            (TaskState::Running, Condition::Running, false),
            (TaskState::Killing, Condition::Killing, false),
            (TaskState::Finished, Condition::Finished, true),
            (TaskState::Failed, Condition::Failed, true),
            (TaskState::Killed, Condition::Killed, true),
            (TaskState::Error, Condition::Error, true),
            (TaskState::Lost, Condition::Unreachable, true),
            (TaskState::Dropped, Condition::Dropped, true),
            (TaskState::Unreachable, Condition::Unreachable, false),
            (TaskState::Gone, Condition::Gone, true),
            (TaskState::GoneByOperator, Condition::Gone, true),
            (TaskState::Unknown, Condition::Unknown, false),
        ];
        assert_eq!(table.len(), TaskState::ALL.len());
        for (state, want, terminal) in table {
            assert_eq!(condition(state), want, "{state}");
            assert_eq!(is_terminal(state), terminal, "{state}");
        }
    }
}
