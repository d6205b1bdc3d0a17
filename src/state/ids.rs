//! Identifier newtypes of the replicated model, so that an instance id is never mistaken for a
//! task id or an app path.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The ids are shared strings: the state's copy-on-write maps clone whole nodes of keys when
/// one entry changes, and cloning an `Arc<str>` is a counter increment where a `String` is an
/// allocation and a copy.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Arc<str>);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s.into())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.into())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A client's idempotency key: a retried command with the same key gets the first result.
    RequestId
);
string_id!(
    /// One replica of an app (Marathon's `<app>.instance-<uuid>`); it outlives its tasks.
    InstanceId
);
string_id!(
    /// A Mesos task id (`<app>.instance-<uuid>._app.<n>`).
    TaskId
);
string_id!(
    /// A deployment plan's id (a UUID chosen by the leader).
    DeploymentId
);
string_id!(
    /// A Metronome job id (dot-separated, e.g. `prod.backup`).
    JobId
);
string_id!(
    /// One run of a job (`<job>.<timestamp><suffix>` as Metronome).
    JobRunId
);
string_id!(
    /// A Mesos agent id.
    AgentId
);
string_id!(
    /// The Mesos framework id, assigned by the master on the first SUBSCRIBE.
    FrameworkId
);
string_id!(
    /// A dynamic reservation (with its persistent volumes) made for a resident instance.
    ReservationId
);
