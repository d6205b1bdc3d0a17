//! The gRPC front end: `ClusterService`, `AppService`, `GroupService` and `EventService`, plus
//! the standard health and reflection services. A call this node cannot serve goes to the leader's gRPC port
//! with a marker, and a marked call is never forwarded again.

mod apps;
mod cluster;
pub mod cork;
mod events;
mod groups;

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

/// The answer to a call forwarded to the leader. The leader's own answers pass through. A
/// failure of the connection itself is "unavailable" (safe to retry) only when the call never
/// left this node (the connection could not be made); a connection that broke or timed out
/// after the call was sent may have carried a write that committed, so it is "deadline
/// exceeded" (outcome unknown), as for a write the leader itself could not confirm.
fn leader_unreachable(status: Status) -> Status {
    if std::error::Error::source(&status).is_none() {
        return status;
    }
    if never_sent(&status) {
        Status::unavailable(format!("cannot reach the leader: {}", status.message()))
    } else {
        Status::deadline_exceeded(format!(
            "the connection to the leader failed after the call was sent; it may or may not \
             have been applied: {}",
            status.message()
        ))
    }
}

/// Whether a client-side failure happened before any byte of the call was sent: the
/// connection was refused, or could not be made in time.
fn never_sent(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::TimedOut
            )
        {
            return true;
        }
        source = e.source();
    }
    false
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
        .add_service(proto::v1::group_service_server::GroupServiceServer::new(
            groups::GroupApi::new(router.clone()),
        ))
        .add_service(proto::v1::app_service_server::AppServiceServer::new(
            apps::AppApi::new(router),
        ));
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::StatusRequest;
    use crate::proto::v1::cluster_service_client::ClusterServiceClient;
    use tokio::io::AsyncReadExt;

    async fn call(addr: &str) -> Status {
        let channel = crate::raft::network::connect_lazy(addr, None).expect("endpoint");
        ClusterServiceClient::new(channel)
            .status(StatusRequest {})
            .await
            .expect_err("no server answers")
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable_and_a_broken_one_is_ambiguous() {
        // Nothing listens: the call never left, so another node may be tried.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = closed.local_addr().expect("addr").to_string();
        drop(closed);
        let refused = leader_unreachable(call(&addr).await);
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");

        // A server that reads the call and hangs up: it may have acted on it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let _ = conn.read(&mut buf).await;
                drop(conn);
            }
        });
        let broken = leader_unreachable(call(&addr).await);
        assert_eq!(broken.code(), tonic::Code::DeadlineExceeded, "{broken:?}");

        // The leader's own answer passes through untouched.
        let answer = leader_unreachable(Status::unavailable("not the leader"));
        assert_eq!(answer.code(), tonic::Code::Unavailable);
        assert_eq!(answer.message(), "not the leader");
    }
}
