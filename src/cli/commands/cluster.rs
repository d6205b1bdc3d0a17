//! `baton cluster …`: status, membership changes, abdication and framework teardown.

use super::ClusterCommand;
use crate::cli::Client;
use crate::proto::v1::cluster_service_client::ClusterServiceClient;
use crate::proto::v1::{
    AbdicateRequest, AddNodeRequest, RemoveNodeRequest, Role, StatusRequest,
    TeardownFrameworkRequest,
};

/// The membership after a change: `id voter|learner peer-address` per line.
fn print_members(members: &[crate::proto::v1::Member]) {
    for m in members {
        let kind = if m.voter { "voter" } else { "learner" };
        println!("{} {kind} {}", m.id, m.peer_addr);
    }
}

pub async fn run_cluster(
    client: &Client,
    command: ClusterCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status => {
            let s = call!(client, ClusterServiceClient, status, StatusRequest {})?;
            if json {
                let members: Vec<_> = s
                    .members
                    .iter()
                    .map(|m| serde_json::json!({"id": m.id, "peer": m.peer_addr, "grpc": m.grpc_addr, "http": m.http_addr, "voter": m.voter}))
                    .collect();
                let role = Role::try_from(s.role)
                    .unwrap_or(Role::Unspecified)
                    .as_str_name();
                println!(
                    "{}",
                    serde_json::json!({"node_id": s.node_id, "role": role, "term": s.term, "leader_id": s.leader_id,
                        "last_applied_index": s.last_applied_index, "last_log_index": s.last_log_index, "members": members})
                );
            } else {
                let role = Role::try_from(s.role)
                    .unwrap_or(Role::Unspecified)
                    .as_str_name();
                println!(
                    "node {}  {}  term {}  leader {}  applied {}  log {}",
                    s.node_id, role, s.term, s.leader_id, s.last_applied_index, s.last_log_index
                );
                if !s.framework_id.is_empty() {
                    let pending = if s.framework_teardown_requested {
                        "  (teardown requested)"
                    } else {
                        ""
                    };
                    println!("  framework {}{pending}", s.framework_id);
                }
                for m in &s.members {
                    let kind = if m.voter { "voter" } else { "learner" };
                    println!(
                        "  {} {kind:8} peer {} grpc {} http {}",
                        m.id, m.peer_addr, m.grpc_addr, m.http_addr
                    );
                }
            }
        }
        ClusterCommand::Add {
            id,
            peer,
            grpc,
            http,
            learner,
        } => {
            let request = AddNodeRequest {
                id,
                peer_addr: peer,
                grpc_addr: grpc,
                http_addr: http,
                promote: !learner,
            };
            let r = call!(client, ClusterServiceClient, add_node, request)?;
            print_members(&r.members);
        }
        ClusterCommand::Remove { id } => {
            let r = call!(
                client,
                ClusterServiceClient,
                remove_node,
                RemoveNodeRequest { id }
            )?;
            print_members(&r.members);
        }
        ClusterCommand::TeardownFramework { framework_id } => {
            let request = TeardownFrameworkRequest { framework_id };
            let r = call!(client, ClusterServiceClient, teardown_framework, request)?;
            println!("{}", r.message);
        }
        ClusterCommand::Abdicate => {
            let r = call!(client, ClusterServiceClient, abdicate, AbdicateRequest {})?;
            println!("{}", r.message);
        }
    }
    Ok(())
}
