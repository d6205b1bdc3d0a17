//! `baton group …`: groups through the gRPC `GroupService` (list, show, delete, scale).

use super::Client;
use crate::proto::v1::group_service_client::GroupServiceClient;
use crate::proto::v1::{
    Consistency, DeleteGroupRequest, GetGroupRequest, GroupWriteReply, ListGroupsRequest,
    ScaleGroupRequest,
};
use clap::Subcommand;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Lists every group: id, version, its own apps and dependencies.
    List {
        /// Read this node's own state instead of asking the leader.
        #[arg(long)]
        stale: bool,
    },
    /// Shows a group as a tree of its groups and apps (Marathon's group JSON with --json).
    Show {
        id: String,
        #[arg(long)]
        stale: bool,
    },
    /// Deletes a group: every app below it stops, the groups go.
    Delete {
        id: String,
        /// Cancel deployments that hold its apps instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Scales every app below a group to ceil(instances × F).
    Scale {
        id: String,
        /// The factor F (Marathon's scaleBy), a non-negative number.
        #[arg(long = "by")]
        by: f64,
        /// Cancel deployments that hold its apps instead of failing.
        #[arg(long)]
        force: bool,
    },
}

fn consistency(stale: bool) -> i32 {
    if stale {
        Consistency::Stale as i32
    } else {
        Consistency::Linearizable as i32
    }
}

fn parse(json: &str) -> anyhow::Result<Value> {
    serde_json::from_str(json).map_err(|e| anyhow::anyhow!("the server sent bad group JSON: {e}"))
}

fn strings(doc: &Value, key: &str) -> Vec<String> {
    doc[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A group and everything below it, indented by depth: groups with their dependencies, apps
/// with their instances.
fn print_tree(doc: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    let deps = strings(doc, "dependencies");
    let deps = if deps.is_empty() {
        String::new()
    } else {
        format!("\tdepends on {}", deps.join(","))
    };
    println!(
        "{pad}{}/\tversion {}{deps}",
        doc["id"].as_str().unwrap_or("?").trim_end_matches('/'),
        doc["version"].as_str().unwrap_or("-"),
    );
    for app in doc["apps"].as_array().into_iter().flatten() {
        let deps = strings(app, "dependencies");
        let deps = if deps.is_empty() {
            String::new()
        } else {
            format!("\tdepends on {}", deps.join(","))
        };
        println!(
            "{pad}  {}\tinstances {}{deps}",
            app["id"].as_str().unwrap_or("?"),
            app["instances"].as_u64().unwrap_or(0),
        );
    }
    for group in doc["groups"].as_array().into_iter().flatten() {
        print_tree(group, depth + 1);
    }
}

fn print_write(verb: &str, reply: &GroupWriteReply, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": reply.id,
                "deploymentId": reply.deployment_id,
                "version": reply.version,
            })
        );
    } else {
        println!(
            "{verb} {}; deployment {} version {}",
            reply.id, reply.deployment_id, reply.version
        );
    }
}

pub async fn run_group(client: &Client, command: GroupCommand, json: bool) -> anyhow::Result<()> {
    match command {
        GroupCommand::List { stale } => {
            let request = ListGroupsRequest {
                consistency: consistency(stale),
            };
            let reply = client
                .call(|c| async move { GroupServiceClient::new(c).list_groups(request).await })
                .await?;
            let docs = reply
                .groups
                .iter()
                .map(|g| parse(&g.group_json))
                .collect::<anyhow::Result<Vec<Value>>>()?;
            if json {
                println!("{}", Value::Array(docs));
                return Ok(());
            }
            for (group, doc) in reply.groups.iter().zip(&docs) {
                let apps = doc["apps"].as_array().map_or(0, Vec::len);
                let deps = strings(doc, "dependencies");
                let deps = if deps.is_empty() {
                    "-".to_string()
                } else {
                    deps.join(",")
                };
                println!(
                    "{}\tversion {}\tapps {apps}\tdepends on {deps}",
                    group.id, group.version
                );
            }
        }
        GroupCommand::Show { id, stale } => {
            let request = GetGroupRequest {
                id,
                consistency: consistency(stale),
            };
            let group = client
                .call(|c| {
                    let request = request.clone();
                    async move { GroupServiceClient::new(c).get_group(request).await }
                })
                .await?;
            let doc = parse(&group.group_json)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print_tree(&doc, 0);
            }
        }
        GroupCommand::Delete { id, force } => {
            let request = DeleteGroupRequest {
                id,
                force,
                request_id: uuid::Uuid::new_v4().to_string(),
            };
            let reply = client
                .call(|c| {
                    let request = request.clone();
                    async move { GroupServiceClient::new(c).delete_group(request).await }
                })
                .await?;
            print_write("deleted", &reply, json);
        }
        GroupCommand::Scale { id, by, force } => {
            anyhow::ensure!(
                by.is_finite() && by >= 0.0,
                "--by must be a non-negative number, not {by}"
            );
            let request = ScaleGroupRequest {
                id,
                scale_by: by,
                force,
                request_id: uuid::Uuid::new_v4().to_string(),
            };
            let reply = client
                .call(|c| {
                    let request = request.clone();
                    async move { GroupServiceClient::new(c).scale_group(request).await }
                })
                .await?;
            print_write("scaling", &reply, json);
        }
    }
    Ok(())
}
