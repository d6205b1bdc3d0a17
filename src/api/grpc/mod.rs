//! The gRPC front end: `ClusterService`, `AppService` and `EventService`, plus the standard
//! health and reflection services. A call this node cannot serve goes to the leader's gRPC port
//! with a marker, and a marked call is never forwarded again.

mod apps;
mod cluster;
mod events;

use super::{Api, ApiError};
use crate::proto;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Metadata key set on a forwarded call; its value is the forwarding node's id.
pub const FORWARDED: &str = "x-baton-forwarded";

/// Where a call is served.
enum Route {
    Local,
    Leader(Channel),
}

/// Routes calls: here when this node leads (or the call may be served stale), else to the leader.
#[derive(Clone)]
pub struct Router {
    api: Api,
    /// The source address of forwarded calls (`None`: the kernel chooses).
    bind: Option<IpAddr>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Router {
    pub fn new(api: Api, bind: Option<IpAddr>) -> Router {
        Router {
            api,
            bind,
            channels: Arc::default(),
        }
    }

    fn channel(&self, addr: &str) -> Result<Channel, Status> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let channel =
            crate::raft::network::connect_lazy(addr, self.bind).map_err(Status::internal)?;
        channels.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }

    async fn route<T>(&self, request: &Request<T>) -> Result<Route, Status> {
        let leadership = self.api.leadership();
        if leadership.raft_leads() {
            return Ok(Route::Local);
        }
        if request.metadata().contains_key(FORWARDED) {
            return Err(ApiError::ForwardedToFollower(self.api.id()).into());
        }
        let leadership = match leadership.leader {
            Some(_) => leadership,
            None => self.api.wait_for_leader().await?,
        };
        match leadership.leader {
            Some((id, _)) if id == self.api.id() => Ok(Route::Local),
            Some((_, member)) => Ok(Route::Leader(self.channel(&member.grpc)?)),
            None => Err(ApiError::NoLeader.into()),
        }
    }
}

/// Re-wraps a call's message for forwarding, marked as forwarded.
fn forwarded<T>(from: crate::raft::NodeId, request: Request<T>) -> Request<T> {
    let mut out = Request::new(request.into_inner());
    out.metadata_mut()
        .insert(FORWARDED, MetadataValue::from(from));
    out
}

/// A transport failure reaching the leader is retryable, unlike the leader's own answers.
fn leader_unreachable(status: Status) -> Status {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
            Status::unavailable(format!("cannot reach the leader: {}", status.message()))
        }
        _ => status,
    }
}

/// Every client gRPC service of a node, ready to serve. Calls forwarded to the leader leave
/// from `bind` when given.
pub fn services(
    api: Api,
    bind: Option<IpAddr>,
) -> Result<tonic::service::Routes, Box<dyn std::error::Error + Send + Sync>> {
    let router = Router::new(api, bind);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    drop(health_reporter);
    let routes = tonic::service::Routes::new(health)
        .add_service(reflection)
        .add_service(
            proto::v1::cluster_service_server::ClusterServiceServer::new(cluster::ClusterApi::new(
                router.clone(),
            )),
        )
        .add_service(proto::v1::event_service_server::EventServiceServer::new(
            events::EventApi::new(router.api.clone()),
        ))
        .add_service(proto::v1::app_service_server::AppServiceServer::new(
            apps::AppApi::new(router),
        ));
    Ok(routes)
}
