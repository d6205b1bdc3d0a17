//! Who leads, as the rest of the node needs to know it: published on a watch channel from
//! openraft's metrics, plus a lease check, because openraft 0.9 never steps a leader down on its
//! own: a leader cut off from its quorum (or paused with SIGSTOP) still says "Leader".
//!
//! A node *acts* as leader only while Raft says it leads, the first entry of its term has been
//! applied, and a quorum acknowledged it within the lease. Each such term gets a fresh
//! cancellation token, cancelled the moment either of the first two stops holding, or when the
//! lease has been lapsed (for example through SIGSTOP) for [`LAPSE_GRACE`]. A
//! shorter lapse only pauses the leader's actions (`Role::Deposed` until a quorum answers
//! again): on a saturated machine a quorum's acknowledgements can be late for a few hundred
//! milliseconds, and ending the term for that would drop the Mesos subscription, whose renewal
//! reconciles every task. Pausing is safe because every effect the leader has goes through a
//! commit (a commit needs this term's quorum) or is gated on the lease at the moment it is made.
//!
//! A node can also be asked to stand aside for a while ([`StandAside`]): it then ends its term
//! and does not act as leader until the moment passes, even where Raft still says it leads.
//! That is how the only voter of a cluster abdicates: no other node can take over, so it stands
//! again, with a fresh term of its own (new Mesos subscription, reconciliation), as a lone
//! Marathon re-elects itself.

use super::types::{Member, NodeId, Raft, RaftMetrics};
use openraft::ServerState;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long a leader's term outlives a lapsed lease: past it the node is taken to be cut off
/// from its quorum, and its term (with the Mesos subscription) ends.
pub const LAPSE_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Leading, confirmed and within the lease: may act.
    Leader,
    /// Raft still says leader, but it is unconfirmed or past its lease: must not act.
    Deposed,
    Follower,
    Candidate,
    Learner,
    Shutdown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Deposed => "deposed",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Learner => "learner",
            Role::Shutdown => "shutdown",
        }
    }
}

/// One cluster member as the membership config lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberInfo {
    pub id: NodeId,
    pub addrs: Member,
    pub voter: bool,
}

/// This node's view of the cluster's leadership.
#[derive(Clone, Debug)]
pub struct Leadership {
    pub id: NodeId,
    pub role: Role,
    pub term: u64,
    /// The leader this node believes in, with its addresses (for forwarding).
    pub leader: Option<(NodeId, Member)>,
    pub members: Vec<MemberInfo>,
    pub last_applied: u64,
    pub last_log: u64,
    /// The term this node leads, cancelled when it ends (see the module's comment); `Some`
    /// while `Leader`, and through a short lapse of the lease (`Deposed`), when leader-only
    /// actions wait for the lease to return.
    pub term_token: Option<CancellationToken>,
    /// When the lease of a `Leader` runs out unless a quorum acknowledges it again (`None`: no
    /// lease, a single voter). Readers check it: a process continued after SIGSTOP serves
    /// requests before the watch task has run again.
    pub lease_until: Option<Instant>,
    /// While Raft says this node leads: when a quorum last acknowledged it, as far as seen.
    pub quorum_acked_at: Option<Instant>,
    /// Asked to stand aside (it abdicated): requests that need the leader are refused here, so
    /// that no write keeps the followers from electing another.
    pub standing_aside: bool,
}

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// Whether Raft itself says this node leads (acting or deposed): where requests that need
    /// the leader are served rather than forwarded. Leader-only *actions* need `is_leader`.
    pub fn raft_leads(&self) -> bool {
        matches!(self.role, Role::Leader | Role::Deposed)
    }

    /// This leadership as of `now`: a `Leader` whose lease has run out since it was published
    /// is `Deposed` (its term lasts until the watch ends it).
    pub fn at(mut self, now: Instant) -> Leadership {
        if self.role == Role::Leader && self.lease_until.is_some_and(|until| now > until) {
            self.role = Role::Deposed;
        }
        self
    }

    fn key(&self) -> (Role, bool, u64, Option<NodeId>, usize, u64, u64) {
        (
            self.role,
            self.standing_aside,
            self.term,
            self.leader.as_ref().map(|(id, _)| *id),
            self.members.len(),
            self.last_applied,
            self.last_log,
        )
    }
}

/// The members of the membership config these metrics report.
pub fn members_of(m: &RaftMetrics) -> Vec<MemberInfo> {
    let config = m.membership_config.membership();
    let voters: std::collections::BTreeSet<NodeId> = config.voter_ids().collect();
    config
        .nodes()
        .map(|(id, node)| MemberInfo {
            id: *id,
            addrs: node.clone(),
            voter: voters.contains(id),
        })
        .collect()
}

/// Whether the term this node leads goes on: a lapse of the lease (`Deposed`, last quorum
/// acknowledgement `acked_ago`, `None` when none was seen) pauses it; it ends when Raft no
/// longer leads here in a confirmed term, or after a lapse (or a stall of the whole process)
/// longer than [`LAPSE_GRACE`]. A change of term is checked by the caller.
fn term_goes_on(
    role: Role,
    leads_confirmed: bool,
    acked_ago: Option<Duration>,
    lease: Duration,
) -> bool {
    match (role, acked_ago) {
        _ if !leads_confirmed => false,
        (Role::Leader, _) => true,
        (Role::Deposed, Some(ago)) => ago <= lease + LAPSE_GRACE,
        _ => false,
    }
}

/// Watches Raft and publishes [`Leadership`] until `shutdown` is cancelled.
pub struct LeadershipWatch {
    raft: Raft,
    lease: Duration,
    tx: watch::Sender<Leadership>,
    /// Until when this node must not act as leader ([`StandAside`]).
    aside_until: watch::Receiver<Option<Instant>>,
    /// When the leader last had a quorum's acknowledgement, as far as we have seen.
    quorum_acked_at: Option<Instant>,
    term_token: Option<(u64, CancellationToken)>,
}

impl LeadershipWatch {
    pub fn new(id: NodeId, raft: Raft, lease: Duration) -> (LeadershipWatch, LeadershipHandle) {
        let initial = Leadership {
            id,
            role: Role::Follower,
            term: 0,
            leader: None,
            members: Vec::new(),
            last_applied: 0,
            last_log: 0,
            term_token: None,
            lease_until: None,
            quorum_acked_at: None,
            standing_aside: false,
        };
        let (tx, rx) = watch::channel(initial);
        let (aside_tx, aside_until) = watch::channel(None);
        (
            LeadershipWatch {
                raft,
                lease,
                tx,
                aside_until,
                quorum_acked_at: None,
                term_token: None,
            },
            LeadershipHandle {
                published: rx,
                stand_aside: StandAside(Arc::new(aside_tx)),
            },
        )
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut metrics = self.raft.metrics();
        // Lease expiry happens with no new metrics (a stalled core publishes none), so re-check
        // on a timer too.
        let mut tick = tokio::time::interval(self.lease / 4);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_ran = Instant::now();
        loop {
            let observed = tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = metrics.changed() => {
                    if changed.is_err() { break; }
                    true
                }
                _ = tick.tick() => false,
                // A request to stand aside: published at once; the tick ends the pause.
                Ok(()) = self.aside_until.changed() => false,
            };
            let m = metrics.borrow_and_update().clone();
            // This loop wakes at least every lease/4. A longer gap means the process stood
            // still (SIGSTOP, a stalled machine), and metrics read now may have been published
            // before it did: their quorum age would be counted from the wrong moment. Keep the
            // last acknowledgement seen before (its age counts the stall, so the lease has
            // lapsed, and a stall past `LAPSE_GRACE` ends the term) until openraft reports
            // afresh.
            let stalled = last_ran.elapsed() > self.lease;
            last_ran = Instant::now();
            if !stalled && observed {
                self.quorum_acked_at = m
                    .millis_since_quorum_ack
                    .and_then(|ms| Instant::now().checked_sub(Duration::from_millis(ms)));
            }
            self.publish(&m);
        }
        self.end_term();
        self.tx.send_modify(|l| {
            l.role = Role::Shutdown;
            l.term_token = None;
        });
    }

    fn publish(&mut self, m: &RaftMetrics) {
        let members = members_of(m);
        let voter_count = members.iter().filter(|m| m.voter).count();
        let raft_leader = m.state == ServerState::Leader && m.current_leader == Some(m.id);
        let confirmed = m
            .last_applied
            .is_some_and(|a| a.leader_id.term == m.current_term);
        let within_lease = voter_count <= 1
            || self
                .quorum_acked_at
                .is_some_and(|at| at.elapsed() <= self.lease);
        let aside = self
            .aside_until
            .borrow()
            .is_some_and(|until| Instant::now() < until);
        let role = match m.state {
            ServerState::Leader if raft_leader && confirmed && within_lease && !aside => {
                Role::Leader
            }
            ServerState::Leader => Role::Deposed,
            ServerState::Follower => Role::Follower,
            ServerState::Candidate => Role::Candidate,
            ServerState::Learner => Role::Learner,
            ServerState::Shutdown => Role::Shutdown,
        };
        let acked_ago = self.quorum_acked_at.map(|at| at.elapsed());
        if aside
            || !term_goes_on(role, raft_leader && confirmed, acked_ago, self.lease)
            || self
                .term_token
                .as_ref()
                .is_some_and(|(t, _)| *t != m.current_term)
        {
            self.end_term();
        }
        if role == Role::Leader && self.term_token.is_none() {
            tracing::info!(term = m.current_term, "acting as leader");
            self.term_token = Some((m.current_term, CancellationToken::new()));
        }
        // A node that abdicated names no leader until another is elected (Marathon's "There
        // is no leader" between two).
        let standing_aside = aside && raft_leader;
        let leader = m.current_leader.filter(|_| !standing_aside).and_then(|id| {
            members
                .iter()
                .find(|x| x.id == id)
                .map(|x| (id, x.addrs.clone()))
        });
        let next = Leadership {
            id: m.id,
            role,
            term: m.current_term,
            leader,
            members,
            last_applied: m.last_applied.map_or(0, |l| l.index),
            last_log: m.last_log_index.unwrap_or(0),
            term_token: self.term_token.as_ref().map(|(_, t)| t.clone()),
            quorum_acked_at: if raft_leader {
                self.quorum_acked_at
            } else {
                None
            },
            lease_until: match role {
                Role::Leader if voter_count > 1 => self.quorum_acked_at.map(|at| at + self.lease),
                _ => None,
            },
            standing_aside,
        };
        self.tx.send_if_modified(|cur| {
            let changed = cur.key() != next.key() || cur.members != next.members;
            *cur = next;
            changed
        });
    }

    fn end_term(&mut self) {
        if let Some((term, token)) = self.term_token.take() {
            tracing::info!(term, "no longer acting as leader");
            token.cancel();
        }
    }
}

/// What the rest of the node holds of its [`LeadershipWatch`].
pub struct LeadershipHandle {
    pub published: watch::Receiver<Leadership>,
    pub stand_aside: StandAside,
}

/// A handle that makes this node stop acting as leader until a given moment (see the module's
/// comment).
#[derive(Clone)]
pub struct StandAside(Arc<watch::Sender<Option<Instant>>>);

impl StandAside {
    pub fn until(&self, until: Instant) {
        self.0.send_replace(Some(until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_millis(150);

    #[test]
    fn a_short_lapse_of_the_lease_pauses_the_term_and_a_long_one_ends_it() {
        let ms = Duration::from_millis;
        assert!(term_goes_on(Role::Leader, true, Some(ms(20)), LEASE));
        // Acknowledgements late under load: the lease lapsed, the term (and the Mesos
        // subscription hanging on it) goes on.
        assert!(term_goes_on(Role::Deposed, true, Some(ms(400)), LEASE));
        assert!(term_goes_on(
            Role::Deposed,
            true,
            Some(LEASE + LAPSE_GRACE),
            LEASE
        ));
        // Cut off for longer: the node gives its term up.
        assert!(!term_goes_on(
            Role::Deposed,
            true,
            Some(LEASE + LAPSE_GRACE + ms(1)),
            LEASE
        ));
    }

    #[test]
    fn a_term_ends_at_once_when_raft_stops_leading_or_no_quorum_ever_answered() {
        let ms = Duration::from_millis;
        // Never acknowledged in this term.
        assert!(!term_goes_on(Role::Deposed, true, None, LEASE));
        // Raft no longer leads here, or the term is not confirmed.
        assert!(!term_goes_on(Role::Follower, false, Some(ms(10)), LEASE));
        assert!(!term_goes_on(Role::Deposed, false, Some(ms(10)), LEASE));
        assert!(!term_goes_on(Role::Candidate, false, None, LEASE));
    }
}
