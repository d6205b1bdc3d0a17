//! The only code that knows HTTP, JSON DTOs and the public gRPC types. Both front ends share
//! [`Api`]: proposing commands on the leader and reading state at the consistency asked for.
//! Requests a follower cannot serve are forwarded by each front end to the leader (gRPC calls
//! to its gRPC port, REST calls proxied to its HTTP port, as Marathon does).

pub mod apps;
pub mod error;
pub mod grpc;
pub mod rest;

pub use error::ApiError;

use crate::raft::{Leadership, NodeId, Raft, Role};
use crate::state::ids::RequestId;
use crate::state::time::Timestamp;
use crate::state::{AppliedEvent, Command, Outcome, Request};
use crate::store::StateView;
use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// How long a write may wait to commit before it is answered as "may have committed".
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a linearizable read may wait for the leader to confirm its leadership.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request waits for a leader to be known before it is refused.
pub const LEADER_WAIT: Duration = Duration::from_secs(2);

/// How fresh a read must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Confirmed by the leader with a quorum round before reading.
    Linearizable,
    /// This node's own applied state.
    Stale,
}

/// What both front ends share. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    id: NodeId,
    raft: Raft,
    view: watch::Receiver<Arc<StateView>>,
    leadership: watch::Receiver<Leadership>,
    events: broadcast::Sender<Arc<AppliedEvent>>,
    /// After this long without a quorum acknowledgement a leader refuses writes at once.
    quorum_timeout: Duration,
}

impl Api {
    pub fn new(
        id: NodeId,
        raft: Raft,
        view: watch::Receiver<Arc<StateView>>,
        leadership: watch::Receiver<Leadership>,
        events: broadcast::Sender<Arc<AppliedEvent>>,
        quorum_timeout: Duration,
    ) -> Api {
        Api {
            inner: Arc::new(Inner {
                id,
                raft,
                view,
                leadership,
                events,
                quorum_timeout,
            }),
        }
    }

    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    pub fn leadership(&self) -> Leadership {
        self.inner.leadership.borrow().clone()
    }

    pub fn events(&self) -> broadcast::Receiver<Arc<AppliedEvent>> {
        self.inner.events.subscribe()
    }

    /// This node's own state, as of its last applied entry.
    pub fn local_view(&self) -> Arc<StateView> {
        Arc::clone(&self.inner.view.borrow())
    }

    /// Waits (up to [`LEADER_WAIT`]) until some leader is known, and returns the leadership.
    pub async fn wait_for_leader(&self) -> Result<Leadership, ApiError> {
        let mut rx = self.inner.leadership.clone();
        let known = tokio::time::timeout(LEADER_WAIT, rx.wait_for(|l| l.leader.is_some())).await;
        match known {
            Ok(Ok(l)) => Ok(l.clone()),
            _ => Err(ApiError::NoLeader),
        }
    }

    /// Whether requests that need the leader may be served here.
    fn check_leader(&self) -> Result<(), ApiError> {
        let l = self.inner.leadership.borrow();
        match l.role {
            Role::Leader => Ok(()),
            Role::Deposed => {
                let since = self.inner.raft.metrics().borrow().millis_since_quorum_ack;
                match since {
                    Some(ms) if Duration::from_millis(ms) > self.inner.quorum_timeout => {
                        Err(ApiError::NoQuorum(ms))
                    }
                    _ => Ok(()),
                }
            }
            _ => Err(ApiError::NotLeader {
                this: self.inner.id,
                leader: l.leader.as_ref().map(|(id, _)| *id),
            }),
        }
    }

    /// Proposes a command through Raft (leader only) and returns its outcome once applied here.
    pub async fn propose(
        &self,
        request_id: Option<RequestId>,
        command: Command,
    ) -> Result<Outcome, ApiError> {
        self.check_leader()?;
        let request = Request::new(Timestamp::now(), request_id, command);
        let written =
            tokio::time::timeout(WRITE_TIMEOUT, self.inner.raft.client_write(request)).await;
        match written {
            Err(_) => Err(ApiError::MaybeCommitted(format!(
                "no commit within {} s",
                WRITE_TIMEOUT.as_secs()
            ))),
            Ok(Ok(reply)) => reply.data.map_err(ApiError::Rejected),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(ApiError::NotLeader {
                    this: self.inner.id,
                    leader: f.leader_id,
                })
            }
            Ok(Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e)))) => {
                Err(ApiError::Internal(e.to_string()))
            }
            Ok(Err(RaftError::Fatal(e))) => Err(ApiError::MaybeCommitted(e.to_string())),
        }
    }

    /// The state to read at the requested consistency. Linearizable reads are leader-only: the
    /// leader confirms it still leads with a quorum round, then reads what it has applied.
    pub async fn read(&self, consistency: Consistency) -> Result<Arc<StateView>, ApiError> {
        if consistency == Consistency::Stale {
            return Ok(self.local_view());
        }
        self.check_leader()?;
        let confirmed =
            tokio::time::timeout(READ_TIMEOUT, self.inner.raft.ensure_linearizable()).await;
        let read_log_id = match confirmed {
            Err(_) => return Err(ApiError::NoQuorum(READ_TIMEOUT.as_millis() as u64)),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
                return Err(ApiError::NotLeader {
                    this: self.inner.id,
                    leader: f.leader_id,
                });
            }
            Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)))) => {
                return Err(ApiError::NoQuorum(0));
            }
            Ok(Err(RaftError::Fatal(e))) => return Err(ApiError::Internal(e.to_string())),
            Ok(Ok(id)) => id,
        };
        // ensure_linearizable waited for the state machine; the view is published before apply
        // returns, so it is at least as new as the read point.
        let mut view = self.inner.view.clone();
        let wanted = read_log_id.map_or(0, |l| l.index);
        let ready = view.wait_for(|v| v.applied.map_or(0, |a| a.index) >= wanted);
        match tokio::time::timeout(READ_TIMEOUT, ready).await {
            Ok(Ok(v)) => Ok(Arc::clone(&v)),
            _ => Err(ApiError::Internal("state machine did not reach the read point".into())),
        }
    }
}

/// Gives up leadership: stops heartbeats so a follower times out and takes over, and keeps this
/// node from standing in the election that follows. Both are restored once another leader is
/// seen (or after a while, should none appear).
pub fn abdicate(api: &Api) -> Result<(), ApiError> {
    if !matches!(api.leadership().role, Role::Leader | Role::Deposed) {
        return Err(ApiError::NotLeader {
            this: api.id(),
            leader: api.leadership().leader.map(|(id, _)| id),
        });
    }
    let raft = api.raft().clone();
    let id = api.id();
    let settle = Duration::from_millis(raft.config().election_timeout_max * 2);
    tracing::info!("abdicating leadership");
    raft.runtime_config().heartbeat(false);
    raft.runtime_config().elect(false);
    tokio::spawn(async move {
        let mut metrics = raft.metrics();
        let other = metrics.wait_for(|m| m.current_leader.is_some_and(|l| l != id));
        let _ = tokio::time::timeout(Duration::from_secs(10), other).await;
        raft.runtime_config().heartbeat(true);
        tokio::time::sleep(settle).await;
        raft.runtime_config().elect(true);
    });
    Ok(())
}
