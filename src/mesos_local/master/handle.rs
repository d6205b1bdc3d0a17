//! How the rest of mesos-local reaches the master: the closed enum of everything it reacts to
//! besides its timers, the handle that queues those inputs, and the answers and refusals they
//! get back.

use crate::mesos::{Call, Event, FrameworkId, Subscribe, TaskId};
use crate::mesos_local::checks::Observation;
use crate::mesos_local::operator::{AdminCommand, AdminError};
use crate::mesos_local::probing::ProbeKey;
use crate::mesos_local::process::Outcome;
use tokio::sync::{mpsc, oneshot};

/// Calls and process reports waiting for the master; HTTP handlers wait when it is full.
pub const INPUT_QUEUE: usize = 1024;

/// Why the master refuses a call; `http` maps each to its status code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallRefused {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the framework is known but not subscribed.
    #[error("{0}")]
    Forbidden(String),
    /// 503: the master is shutting down.
    #[error("mesos-local is stopping")]
    Stopping,
}

/// A new subscription's event stream; it ends when the master closes the subscription.
pub struct Subscription {
    pub stream_id: String,
    pub events: mpsc::Receiver<Event>,
}

/// Everything the master reacts to, besides its own timers.
pub(in crate::mesos_local) enum Input {
    Subscribe {
        subscribe: Box<Subscribe>,
        reply: oneshot::Sender<Subscription>,
    },
    Call {
        call: Box<Call>,
        stream_id: Option<String>,
        reply: oneshot::Sender<Result<(), CallRefused>>,
    },
    State {
        reply: oneshot::Sender<serde_json::Value>,
    },
    /// A task's process ended (or was killed).
    Ended {
        framework: FrameworkId,
        task: TaskId,
        pgid: u32,
        outcome: Outcome,
    },
    /// A task's URIs are in its sandbox (or could not be fetched).
    Fetched {
        framework: FrameworkId,
        task: TaskId,
        result: Result<(), String>,
    },
    /// A health check's or check's probe ended.
    Probed {
        key: ProbeKey,
        observation: Observation,
        detail: String,
    },
    /// An operator's request through `/admin`.
    Admin {
        command: AdminCommand,
        reply: oneshot::Sender<Result<serde_json::Value, AdminError>>,
    },
}

/// How the rest of mesos-local talks to the master.
#[derive(Clone)]
pub struct MasterHandle {
    pub(in crate::mesos_local) tx: mpsc::Sender<Input>,
}

impl MasterHandle {
    /// Subscribes (or fails over) a framework. Semantic refusals arrive as an ERROR event on the
    /// returned stream, as on a real master.
    pub async fn subscribe(&self, subscribe: Subscribe) -> Result<Subscription, CallRefused> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Subscribe {
            subscribe: Box::new(subscribe),
            reply,
        };
        self.tx
            .send(input)
            .await
            .map_err(|_| CallRefused::Stopping)?;
        rx.await.map_err(|_| CallRefused::Stopping)
    }

    /// Any call but SUBSCRIBE, checked against the framework's subscription.
    pub async fn call(&self, call: Call, stream_id: Option<String>) -> Result<(), CallRefused> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Call {
            call: Box::new(call),
            stream_id,
            reply,
        };
        self.tx
            .send(input)
            .await
            .map_err(|_| CallRefused::Stopping)?;
        rx.await.map_err(|_| CallRefused::Stopping)?
    }

    /// The `/state` document.
    pub async fn state(&self) -> Result<serde_json::Value, CallRefused> {
        let (reply, rx) = oneshot::channel();
        let input = Input::State { reply };
        self.tx
            .send(input)
            .await
            .map_err(|_| CallRefused::Stopping)?;
        rx.await.map_err(|_| CallRefused::Stopping)
    }

    /// An operator's request; its answer as JSON.
    pub(in crate::mesos_local) async fn admin(
        &self,
        command: AdminCommand,
    ) -> Result<serde_json::Value, AdminError> {
        let (reply, rx) = oneshot::channel();
        let input = Input::Admin { command, reply };
        self.tx
            .send(input)
            .await
            .map_err(|_| AdminError::Stopping)?;
        rx.await.map_err(|_| AdminError::Stopping)?
    }
}
