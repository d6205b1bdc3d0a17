//! `baton app …`: each app command as a call, its definition read from a file or stdin.

use super::AppCommand;
use super::print::{print_app, print_app_health, print_tasks};
use crate::cli::Client;
use crate::proto::v1::app_service_client::AppServiceClient;
use crate::proto::v1::{
    Consistency, CreateAppRequest, DeleteAppRequest, GetAppRequest, KillTasksRequest,
    ListAppsRequest, ListTasksRequest, RestartAppRequest, ScaleAppRequest, UpdateAppRequest,
};
use anyhow::Context;
use std::path::PathBuf;

fn read_file(path: &PathBuf) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn consistency(stale: bool) -> i32 {
    if stale {
        Consistency::Stale as i32
    } else {
        Consistency::Linearizable as i32
    }
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
            crate::cli::deploy::app_deploy(client, definition_json, force, no_wait, json).await?;
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
