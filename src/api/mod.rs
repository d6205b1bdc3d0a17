//! The only code that knows HTTP, JSON DTOs and the public gRPC types. Both front ends share
//! [`Api`]: proposing commands on the leader and reading state at the consistency asked for.
//! Requests a follower cannot serve are forwarded by each front end to the leader (gRPC calls
//! to its gRPC port, REST calls proxied to its HTTP port, as Marathon does).

pub mod apps;
pub mod deployments;
pub mod error;
pub mod events;
pub mod groups;
pub mod grpc;
mod propose;
pub mod queue;
pub mod rest;

pub use error::ApiError;

use crate::raft::{Leadership, LeadershipHandle, NodeId, Raft, Role, StandAside};
use crate::state::ids::RequestId;
use crate::state::time::Timestamp;
use crate::state::{AppliedEvent, Command, Outcome, Request};
use crate::store::StateView;
use openraft::error::{CheckIsLeaderError, RaftError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// How long a write may wait to commit before it is answered as "may have committed".
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a linearizable read may wait for the leader to confirm its leadership.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Pause before a linearizable read retries a confirmation round a quorum did not answer.
const READ_RETRY_PAUSE: Duration = Duration::from_millis(20);
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
    stand_aside: StandAside,
    events: broadcast::Sender<Arc<AppliedEvent>>,
    /// The recent applied events, for subscribers that resume from an index.
    history: events::EventHistory,
    /// After this long without a quorum acknowledgement a leader refuses writes at once.
    quorum_timeout: Duration,
    proposer: propose::Proposer,
    /// The launch queue, published by the leader's scheduler (empty elsewhere).
    queue: watch::Sender<Arc<Vec<queue::QueueEntry>>>,
}

impl Api {
    pub fn new(
        id: NodeId,
        raft: Raft,
        view: watch::Receiver<Arc<StateView>>,
        leadership: LeadershipHandle,
        events: broadcast::Sender<Arc<AppliedEvent>>,
        quorum_timeout: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Api {
        let history = events::EventHistory::start(
            events.subscribe(),
            view.clone(),
            events::RETAINED_EVENTS,
            shutdown.clone(),
        );
        let proposer = propose::Proposer::start(raft.clone(), id, shutdown);
        Api {
            inner: Arc::new(Inner {
                proposer,
                id,
                raft,
                view,
                leadership: leadership.published,
                stand_aside: leadership.stand_aside,
                events,
                history,
                quorum_timeout,
                queue: watch::Sender::new(Arc::new(Vec::new())),
            }),
        }
    }

    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    pub fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// The published leadership, with the lease checked now (see [`Leadership::at`]).
    pub fn leadership(&self) -> Leadership {
        self.inner.leadership.borrow().clone().at(Instant::now())
    }

    pub fn events(&self) -> broadcast::Receiver<Arc<AppliedEvent>> {
        self.inner.events.subscribe()
    }

    /// This node's recent applied events, to subscribe to from a log index.
    pub fn history(&self) -> &events::EventHistory {
        &self.inner.history
    }

    /// The launch queue as this node's scheduler last published it.
    pub fn queue(&self) -> Arc<Vec<queue::QueueEntry>> {
        Arc::clone(&self.inner.queue.borrow())
    }

    /// Publishes the launch queue (the leader's scheduler does, every second).
    pub fn publish_queue(&self, entries: Vec<queue::QueueEntry>) {
        self.inner.queue.send_replace(Arc::new(entries));
    }

    /// This node's own state, as of its last applied entry.
    pub fn local_view(&self) -> Arc<StateView> {
        Arc::clone(&self.inner.view.borrow())
    }

    /// Waits briefly until this node has applied something newer than `seen`.
    pub async fn wait_for_newer_state(&self, seen: &StateView) {
        let mut view = self.inner.view.clone();
        let newer = view.wait_for(|v| v.applied > seen.applied);
        let _ = tokio::time::timeout(Duration::from_millis(200), newer).await;
    }

    /// Waits (up to [`LEADER_WAIT`]) until some leader is known, and returns the leadership.
    pub async fn wait_for_leader(&self) -> Result<Leadership, ApiError> {
        let mut rx = self.inner.leadership.clone();
        let known = tokio::time::timeout(LEADER_WAIT, rx.wait_for(|l| l.leader.is_some())).await;
        match known {
            Ok(Ok(l)) => Ok(l.clone().at(Instant::now())),
            _ => Err(ApiError::NoLeader),
        }
    }

    /// Whether requests that need the leader may be served here.
    fn check_leader(&self) -> Result<(), ApiError> {
        let l = self.leadership();
        match l.role {
            // It abdicated: the next leader takes the request (this one, if it is the only
            // voter, once its pause is over).
            Role::Deposed if l.standing_aside => Err(ApiError::NotLeader {
                this: self.inner.id,
                leader: None,
            }),
            Role::Leader => Ok(()),
            // Raft still leads here but the lease lapsed (or the term is not yet confirmed): a
            // write may still commit, unless no majority has answered for a while, in which
            // case it certainly cannot and waiting for it would only hang the caller.
            Role::Deposed => match l.quorum_acked_at.map(|at| at.elapsed()) {
                Some(age) if age > self.inner.quorum_timeout => {
                    Err(ApiError::NoQuorum(age.as_millis() as u64))
                }
                _ => Ok(()),
            },
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
        let answer = self.inner.proposer.propose(request).await?;
        let metrics = &crate::metrics::METRICS;
        match tokio::time::timeout(WRITE_TIMEOUT, answer).await {
            Err(_) => {
                metrics.writes_ambiguous.inc();
                Err(ApiError::MaybeCommitted(format!(
                    "no commit within {} s",
                    WRITE_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(_)) => {
                metrics.writes_ambiguous.inc();
                Err(ApiError::MaybeCommitted("the write was abandoned".into()))
            }
            Ok(Ok(answer)) => {
                let response = answer?;
                metrics.writes_committed.inc();
                if response.is_err() {
                    metrics.writes_rejected.inc();
                }
                response.map_err(ApiError::Rejected)
            }
        }
    }

    /// The state to read at the requested consistency. Linearizable reads are leader-only: the
    /// leader confirms it still leads with a quorum round, then reads what it has applied.
    pub async fn read(&self, consistency: Consistency) -> Result<Arc<StateView>, ApiError> {
        // The planted `jepsen-bug-stale-reads` serves every read here, unconfirmed.
        if consistency == Consistency::Stale || cfg!(feature = "jepsen-bug-stale-reads") {
            return Ok(self.local_view());
        }
        self.check_leader()?;
        let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
        let read_log_id = loop {
            let confirmed =
                tokio::time::timeout_at(deadline, self.inner.raft.ensure_linearizable()).await;
            match confirmed {
                Err(_) => return Err(ApiError::NoQuorum(READ_TIMEOUT.as_millis() as u64)),
                Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
                    return Err(ApiError::NotLeader {
                        this: self.inner.id,
                        leader: f.leader_id,
                    });
                }
                // openraft gives each confirmation RPC only one heartbeat interval, so a busy
                // follower fails a round now and then: try again while the lease holds.
                Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)))) => {
                    if tokio::time::Instant::now() + READ_RETRY_PAUSE >= deadline {
                        return Err(ApiError::NoQuorum(0));
                    }
                    tokio::time::sleep(READ_RETRY_PAUSE).await;
                    self.check_leader()?;
                }
                Ok(Err(RaftError::Fatal(e))) => return Err(ApiError::Internal(e.to_string())),
                Ok(Ok(id)) => break id,
            }
        };
        // ensure_linearizable waited for the state machine; the view is published before apply
        // returns, so it is at least as new as the read point.
        let mut view = self.inner.view.clone();
        let wanted = read_log_id.map_or(0, |l| l.index);
        let ready = view.wait_for(|v| v.applied.map_or(0, |a| a.index) >= wanted);
        match tokio::time::timeout(READ_TIMEOUT, ready).await {
            Ok(Ok(v)) => Ok(Arc::clone(&v)),
            _ => Err(ApiError::Internal(
                "state machine did not reach the read point".into(),
            )),
        }
    }
}

/// How long an abdicated leader waits for another to take over before it leads again.
const HAND_OVER_WAIT: Duration = Duration::from_secs(10);

/// Gives up leadership: ends this node's term at once (it stops acting as leader and refuses
/// requests that need the leader, whose replication would keep the followers waiting), stops
/// heartbeats so a follower times out and takes over, and keeps this node from standing in the
/// election that follows. All three are undone once another leader is seen (or after a while,
/// should none appear). The only voter of a cluster has nobody to hand over to: it stands again
/// after a pause, as a lone Marathon re-elects itself.
pub async fn abdicate(api: &Api) -> Result<(), ApiError> {
    let leadership = api.leadership();
    if !leadership.raft_leads() {
        return Err(ApiError::NotLeader {
            this: api.id(),
            leader: leadership.leader.map(|(id, _)| id),
        });
    }
    let raft = api.raft().clone();
    let id = api.id();
    let settle = Duration::from_millis(raft.config().election_timeout_max * 2);
    if leadership.members.iter().filter(|m| m.voter).count() <= 1 {
        tracing::info!(
            pause_ms = settle.as_millis() as u64,
            "abdicating leadership: the only voter stands again after a pause"
        );
        api.inner.stand_aside.until(Instant::now() + settle);
    } else {
        tracing::info!("abdicating leadership");
        let stand_aside = api.inner.stand_aside.clone();
        stand_aside.until(Instant::now() + HAND_OVER_WAIT);
        raft.runtime_config().heartbeat(false);
        raft.runtime_config().elect(false);
        tokio::spawn(async move {
            let mut metrics = raft.metrics();
            let other = metrics.wait_for(|m| m.current_leader.is_some_and(|l| l != id));
            let _ = tokio::time::timeout(HAND_OVER_WAIT, other).await;
            stand_aside.until(Instant::now());
            raft.runtime_config().heartbeat(true);
            tokio::time::sleep(settle).await;
            raft.runtime_config().elect(true);
        });
    }
    // Answer once the node has stopped acting as leader (its watch publishes that at once).
    let mut published = api.inner.leadership.clone();
    let stood_aside = published.wait_for(|l| l.standing_aside || !l.raft_leads());
    let _ = tokio::time::timeout(settle, stood_aside).await;
    Ok(())
}
