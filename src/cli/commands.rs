//! `baton cluster …` and `baton app …`: argument shapes and what each prints.

use super::Client;
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::cluster_service_client::ClusterServiceClient;
use crate::proto::v1::{
    AbdicateRequest, AddNodeRequest, App, Consistency, CreateAppRequest, DeleteAppRequest,
    GetAppRequest, KillTasksRequest, ListAppsRequest, ListTasksRequest, RemoveNodeRequest,
    RestartAppRequest, Role, ScaleAppRequest, StatusRequest, Task, TeardownFrameworkRequest,
    UpdateAppRequest,
};
use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// This node's view: role, term, leader, members, applied index.
    Status,
    /// Adds a node (as a learner, then a voter unless --learner).
    Add {
        #[arg(long)]
        id: u64,
        /// Its peer (Raft) address, host:port.
        #[arg(long)]
        peer: String,
        #[arg(long)]
        grpc: String,
        #[arg(long)]
        http: String,
        /// Keep it a non-voting learner.
        #[arg(long)]
        learner: bool,
    },
    /// Removes a node from the cluster.
    Remove {
        #[arg(long)]
        id: u64,
    },
    /// Asks the leader to give up leadership.
    Abdicate,
    /// Tears the Mesos framework down: Mesos kills every task of it; baton forgets its
    /// instances and registers anew (apps still defined are relaunched). Needs the framework
    /// id (see `cluster status`) as confirmation.
    TeardownFramework {
        #[arg(long)]
        framework_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Creates an app from a Marathon app definition (JSON file, or - for stdin).
    Create {
        file: PathBuf,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Creates or replaces an app from a Marathon app definition (JSON file, or - for stdin)
    /// and follows its deployment step by step until it succeeds or fails.
    Deploy {
        file: PathBuf,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
        /// Print the deployment id and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Shows one app: its definition as JSON with --json, else a summary with each task's
    /// state and health.
    Show {
        id: String,
        /// Read this node's own state instead of asking the leader.
        #[arg(long)]
        stale: bool,
    },
    /// Lists apps (optionally those under a group).
    List {
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long)]
        stale: bool,
    },
    /// Replaces an app's definition (creates it when missing).
    Update {
        id: String,
        file: PathBuf,
        /// Refuse unless the stored revision is this one.
        #[arg(long)]
        expected_revision: Option<u64>,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Deletes an app.
    Delete {
        id: String,
        #[arg(long)]
        expected_revision: Option<u64>,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Replaces every task of an app, rolling, without changing its definition.
    Restart {
        id: String,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Sets how many instances an app runs.
    Scale {
        id: String,
        instances: u32,
        /// Cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
    /// Lists an app's tasks.
    Tasks {
        id: String,
        #[arg(long)]
        stale: bool,
    },
    /// Kills an app's tasks (all, those on --host, or the --task ones); they are replaced
    /// unless --scale.
    Kill {
        id: String,
        /// A task id to kill (repeatable); none: every task of the app.
        #[arg(long)]
        task: Vec<String>,
        /// Only the tasks on this agent host.
        #[arg(long)]
        host: Option<String>,
        /// Scale the app down by the number killed instead of replacing them.
        #[arg(long)]
        scale: bool,
        /// Forget resident tasks' reservations too.
        #[arg(long)]
        wipe: bool,
        /// With --scale: cancel deployments that hold the app instead of failing.
        #[arg(long)]
        force: bool,
    },
}

/// Calls `$method` of `$service` with `$request` on whichever node of the cluster answers.
macro_rules! call {
    ($client:expr, $service:ident, $method:ident, $request:expr) => {{
        let request = $request;
        $client
            .call(|c| {
                let request = request.clone();
                async move { $service::new(c).$method(request).await }
            })
            .await
    }};
}

/// The membership after a change: `id voter|learner peer-address` per line.
fn print_members(members: &[crate::proto::v1::Member]) {
    for m in members {
        let kind = if m.voter { "voter" } else { "learner" };
        println!("{} {kind} {}", m.id, m.peer_addr);
    }
}

fn read_file(path: &PathBuf) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn print_app(app: &App, json: bool) -> anyhow::Result<()> {
    if json {
        let doc: serde_json::Value = serde_json::from_str(&app.definition_json)?;
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{}\trevision {}\tversion {}",
            app.id, app.revision, app.version
        );
    }
    Ok(())
}

/// An app's summary and one line per task: `id state health`, the health being `healthy`,
/// `unhealthy (n failures: cause)`, or `unknown` while a check has no result yet (`-` when the
/// app has no health checks).
fn print_app_health(app: &App, tasks: &[Task]) {
    println!(
        "{}\trevision {}\tversion {}",
        app.id, app.revision, app.version
    );
    println!(
        "tasks running {}\thealthy {}\tunhealthy {}",
        app.tasks_running, app.tasks_healthy, app.tasks_unhealthy
    );
    let checks = serde_json::from_str::<serde_json::Value>(&app.definition_json)
        .ok()
        .and_then(|d| d["healthChecks"].as_array().map(Vec::len))
        .unwrap_or(0);
    for task in tasks {
        println!("{}\t{}\t{}", task.id, task.state, task_health(task, checks));
    }
}

fn task_health(task: &Task, checks: usize) -> String {
    if checks == 0 {
        return "-".to_string();
    }
    if let Some(failing) = task.health_check_results.iter().find(|h| !h.alive) {
        return format!(
            "unhealthy ({} failures: {})",
            failing.consecutive_failures, failing.last_failure_cause
        );
    }
    if task.health_check_results.len() < checks {
        return "unknown".to_string();
    }
    "healthy".to_string()
}

/// One task per line (`id state host`), or each task's Marathon JSON with `--json`.
fn print_tasks(tasks: &[Task], json: bool) -> anyhow::Result<()> {
    for task in tasks {
        let doc: serde_json::Value = serde_json::from_str(&task.task_json)?;
        if json {
            println!("{doc}");
        } else {
            let field = |k: &str| doc[k].as_str().unwrap_or("-").to_string();
            println!("{}\t{}\t{}", task.id, field("state"), field("host"));
        }
    }
    Ok(())
}

fn consistency(stale: bool) -> i32 {
    if stale {
        Consistency::Stale as i32
    } else {
        Consistency::Linearizable as i32
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

pub async fn run_app(client: &Client, command: AppCommand, json: bool) -> anyhow::Result<()> {
    match command {
        AppCommand::Create { file, force } => {
            let definition_json = read_file(&file)?;
            let request = CreateAppRequest {
                definition_json,
                request_id: uuid::Uuid::new_v4().to_string(),
                force,
            };
            let app = call!(client, AppServiceClient, create_app, request)?;
            print_app(&app, json)?;
        }
        AppCommand::Deploy {
            file,
            force,
            no_wait,
        } => {
            let definition_json = read_file(&file)?;
            super::deploy::app_deploy(client, definition_json, force, no_wait, json).await?;
        }
        AppCommand::Show { id, stale } => {
            let request = GetAppRequest {
                id,
                consistency: consistency(stale),
            };
            let app = call!(client, AppServiceClient, get_app, request)?;
            if json {
                print_app(&app, true)?;
            } else {
                let request = ListTasksRequest {
                    app_id: app.id.clone(),
                    consistency: consistency(stale),
                    statuses: Vec::new(),
                };
                let reply = call!(client, AppServiceClient, list_tasks, request)?;
                print_app_health(&app, &reply.tasks);
            }
        }
        AppCommand::List { prefix, stale } => {
            let request = ListAppsRequest {
                consistency: consistency(stale),
                prefix: prefix.unwrap_or_default(),
            };
            let reply = call!(client, AppServiceClient, list_apps, request)?;
            for app in &reply.apps {
                print_app(app, json)?;
            }
        }
        AppCommand::Update {
            id,
            file,
            expected_revision,
            force,
        } => {
            let request = UpdateAppRequest {
                id,
                definition_json: read_file(&file)?,
                expected_revision: expected_revision.unwrap_or(0),
                request_id: uuid::Uuid::new_v4().to_string(),
                create_if_missing: expected_revision.is_none(),
                force,
            };
            let app = call!(client, AppServiceClient, update_app, request)?;
            print_app(&app, json)?;
        }
        AppCommand::Delete {
            id,
            expected_revision,
            force,
        } => {
            let request = DeleteAppRequest {
                id,
                expected_revision: expected_revision.unwrap_or(0),
                request_id: uuid::Uuid::new_v4().to_string(),
                force,
            };
            let r = call!(client, AppServiceClient, delete_app, request)?;
            println!(
                "deleted {} (revision {}); deployment {}",
                r.id, r.revision, r.deployment_id
            );
        }
        AppCommand::Restart { id, force } => {
            let request = RestartAppRequest {
                id,
                request_id: uuid::Uuid::new_v4().to_string(),
                force,
            };
            let app = call!(client, AppServiceClient, restart_app, request)?;
            print_app(&app, json)?;
            if !json {
                println!("deployment {}", app.deployment_id);
            }
        }
        AppCommand::Scale {
            id,
            instances,
            force,
        } => {
            let request = ScaleAppRequest {
                id,
                instances,
                request_id: uuid::Uuid::new_v4().to_string(),
                force,
            };
            let app = call!(client, AppServiceClient, scale_app, request)?;
            print_app(&app, json)?;
            if !json {
                println!("deployment {}", app.deployment_id);
            }
        }
        AppCommand::Tasks { id, stale } => {
            let request = ListTasksRequest {
                app_id: id,
                consistency: consistency(stale),
                statuses: Vec::new(),
            };
            let reply = call!(client, AppServiceClient, list_tasks, request)?;
            print_tasks(&reply.tasks, json)?;
        }
        AppCommand::Kill {
            id,
            task,
            host,
            scale,
            wipe,
            force,
        } => {
            let request = KillTasksRequest {
                app_id: id,
                task_ids: task,
                host: host.unwrap_or_default(),
                scale,
                wipe,
                force,
                request_id: uuid::Uuid::new_v4().to_string(),
            };
            let reply = call!(client, AppServiceClient, kill_tasks, request)?;
            if reply.deployment_id.is_empty() {
                print_tasks(&reply.killed, json)?;
            } else {
                println!(
                    "scaling down: deployment {} version {}",
                    reply.deployment_id, reply.version
                );
            }
        }
    }
    Ok(())
}
