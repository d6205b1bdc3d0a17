//! Asking the nodes, over their public gRPC `ClusterService`: who leads, whether everyone agrees,
//! and membership changes (remove a node, add it back).

use super::{Cluster, NodeId, grpc_addr, http_addr, node_name, peer_addr};
use crate::proto::cluster_service_client::ClusterServiceClient;
use crate::proto::{AddNodeRequest, RemoveNodeRequest, Role, StatusReply, StatusRequest};
use std::time::Duration;
use tokio::time::Instant;

/// How long one status call may take.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one membership call may take (adding waits for the new node to catch up).
const MEMBERSHIP_CALL_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// What a node says about itself.
#[derive(Clone, Debug)]
pub struct NodeStatus {
    pub id: NodeId,
    pub role: Role,
    pub term: u64,
    /// 0: none known.
    pub leader: NodeId,
    pub voters: Vec<NodeId>,
}

impl From<StatusReply> for NodeStatus {
    fn from(r: StatusReply) -> NodeStatus {
        NodeStatus {
            id: r.node_id,
            role: r.role(),
            term: r.term,
            leader: r.leader_id,
            voters: r.members.iter().filter(|m| m.voter).map(|m| m.id).collect(),
        }
    }
}

/// The node that believes it leads in the highest term (a deposed leader still believes it),
/// else the leader most recently named.
pub fn leader_of(statuses: &[NodeStatus]) -> Option<NodeId> {
    let claims = statuses
        .iter()
        .filter(|s| matches!(s.role, Role::Leader | Role::Deposed))
        .max_by_key(|s| s.term);
    claims.map(|s| s.id).or_else(|| {
        statuses
            .iter()
            .filter(|s| s.leader != 0)
            .max_by_key(|s| s.term)
            .map(|s| s.leader)
    })
}

/// Whether `statuses` (one per node of `ids`) show one leader that every node follows, with
/// every node a voter.
fn settled(ids: &[NodeId], statuses: &[NodeStatus]) -> bool {
    let Some(first) = statuses.first() else {
        return false;
    };
    statuses.len() == ids.len()
        && first.leader != 0
        && statuses
            .iter()
            .all(|s| s.leader == first.leader && s.term == first.term)
        && statuses.iter().all(|s| {
            let mut voters = s.voters.clone();
            voters.sort_unstable();
            voters == ids
        })
}

impl Cluster {
    /// Node `id`'s status, if it answers in time.
    pub async fn status(&self, id: NodeId) -> Option<NodeStatus> {
        let node = self.nodes.iter().find(|n| n.id == id)?;
        let mut client = ClusterServiceClient::new(node.admin.clone());
        let reply = tokio::time::timeout(STATUS_TIMEOUT, client.status(StatusRequest {})).await;
        match reply {
            Ok(Ok(r)) => Some(r.into_inner().into()),
            _ => None,
        }
    }

    /// Every live node's status, asked concurrently.
    pub async fn statuses(&self) -> Vec<NodeStatus> {
        let asks = self
            .ids()
            .into_iter()
            .filter(|&id| self.is_live(id))
            .map(|id| self.status(id));
        futures::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// The current leader as the live nodes see it.
    pub async fn leader(&self) -> Option<NodeId> {
        leader_of(&self.statuses().await)
    }

    /// Waits until node `id` answers gRPC.
    pub(super) async fn wait_serving(&self, id: NodeId) -> anyhow::Result<()> {
        let deadline = Instant::now() + super::START_TIMEOUT;
        while Instant::now() < deadline {
            if self.status(id).await.is_some() {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        anyhow::bail!(
            "{} did not answer gRPC within {:?}",
            node_name(id),
            super::START_TIMEOUT
        )
    }

    /// Waits until every node runs, follows one leader and counts every node as a voter.
    pub async fn wait_healthy(&self, timeout: Duration) -> anyhow::Result<NodeId> {
        let ids = self.ids();
        let deadline = Instant::now() + timeout;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            last = self.statuses().await;
            if settled(&ids, &last) {
                return Ok(last[0].leader);
            }
            tokio::time::sleep(POLL).await;
        }
        anyhow::bail!("the cluster did not settle within {timeout:?}; last statuses: {last:?}")
    }

    /// Asks the cluster (the leader first, then any live node) to run `call` until one accepts
    /// it or `timeout` passes.
    async fn membership<F, Fut>(&self, what: &str, timeout: Duration, call: F) -> anyhow::Result<()>
    where
        F: Fn(ClusterServiceClient<tonic::transport::Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<(), tonic::Status>>,
    {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no node was live");
        while Instant::now() < deadline {
            let mut order: Vec<NodeId> = self
                .ids()
                .into_iter()
                .filter(|&i| self.is_live(i))
                .collect();
            if let Some(leader) = self.leader().await {
                order.sort_by_key(|&i| i != leader);
            }
            for id in order {
                let Some(node) = self.nodes.iter().find(|n| n.id == id) else {
                    continue;
                };
                let client = ClusterServiceClient::new(node.admin.clone());
                match tokio::time::timeout(MEMBERSHIP_CALL_TIMEOUT, call(client)).await {
                    Ok(Ok(())) => return Ok(()),
                    Ok(Err(s)) => {
                        last = format!("{}: {:?} {}", node_name(id), s.code(), s.message())
                    }
                    Err(_) => {
                        last = format!(
                            "{}: no answer in {MEMBERSHIP_CALL_TIMEOUT:?}",
                            node_name(id)
                        )
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        anyhow::bail!("{what} did not succeed within {timeout:?}: {last}")
    }

    /// Removes node `id` from the cluster's membership.
    pub async fn remove_member(&self, id: NodeId, timeout: Duration) -> anyhow::Result<()> {
        self.membership(
            &format!("removing {}", node_name(id)),
            timeout,
            |mut c| async move { c.remove_node(RemoveNodeRequest { id }).await.map(|_| ()) },
        )
        .await
    }

    /// Starts a wiped node `id` to wait for the leader, and adds it back as a voter.
    pub async fn rejoin(&mut self, id: NodeId, timeout: Duration) -> anyhow::Result<()> {
        self.restart(id).await?;
        self.membership(
            &format!("adding {}", node_name(id)),
            timeout,
            |mut c| async move {
                c.add_node(AddNodeRequest {
                    id,
                    peer_addr: peer_addr(id),
                    grpc_addr: grpc_addr(id),
                    http_addr: http_addr(id),
                    promote: true,
                })
                .await
                .map(|_| ())
            },
        )
        .await
    }

    /// Whether node `id` is a voter, as the leader sees it.
    pub async fn is_voter(&self, id: NodeId) -> Option<bool> {
        let leader = self.leader().await?;
        let status = self.status(leader).await?;
        Some(status.voters.contains(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: NodeId, role: Role, term: u64, leader: NodeId) -> NodeStatus {
        NodeStatus {
            id,
            role,
            term,
            leader,
            voters: vec![1, 2, 3],
        }
    }

    #[test]
    fn the_leader_is_the_highest_term_claim() {
        let s = [
            status(1, Role::Deposed, 3, 1),
            status(2, Role::Leader, 4, 2),
            status(3, Role::Follower, 4, 2),
        ];
        assert_eq!(leader_of(&s), Some(2));
        let followers = [
            status(1, Role::Follower, 5, 3),
            status(2, Role::Candidate, 6, 0),
        ];
        assert_eq!(leader_of(&followers), Some(3));
        assert_eq!(leader_of(&[status(1, Role::Candidate, 2, 0)]), None);
    }

    #[test]
    fn settled_needs_every_node_on_one_leader_and_voting() {
        let ids = [1, 2, 3];
        let all = [
            status(1, Role::Follower, 4, 2),
            status(2, Role::Leader, 4, 2),
            status(3, Role::Follower, 4, 2),
        ];
        assert!(settled(&ids, &all));
        assert!(!settled(&ids, &all[..2]));
        let mut split = all.clone();
        split[0].term = 3;
        assert!(!settled(&ids, &split));
        let mut learner = all.clone();
        learner[1].voters = vec![1, 2];
        assert!(!settled(&ids, &learner));
    }
}
