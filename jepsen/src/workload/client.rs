//! One client process's view of the cluster: an `AppService` channel per node, one attempt per
//! call under a timeout, and the classification every history line depends on: did a failed
//! call certainly not happen (`fail`), or may it have happened (`info`)?
//!
//! An answer the server sent is read by its code: UNAVAILABLE means "not leader / no leader /
//! no quorum", safe and definite — unless a follower says it lost the leader while forwarding,
//! which may have happened after the leader took the write. DEADLINE_EXCEEDED means "may have
//! committed". An error tonic made up on this side (it carries a source error) is definite only
//! when the connection was never made; any other transport failure happened after sending.

use crate::proto::app_service_client::AppServiceClient;
use crate::proto::{
    App, Consistency, CreateAppRequest, GetAppRequest, ListAppsRequest, UpdateAppRequest,
};
use std::error::Error as _;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Why a call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// It certainly did not take effect.
    Definite(String),
    /// It may have taken effect, now or later.
    Unknown(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Definite(m) | Failure::Unknown(m) => m,
        }
    }
}

/// Server messages (baton's `ApiError`) that mean "refused before proposing anything". A
/// follower that forwards a call passes the leader's answer on inside its own message.
const REFUSED_BEFORE_PROPOSING: [&str; 4] = [
    "is not the leader",
    "Could not determine the current leader",
    "no quorum:",
    "forwarded request reached node",
];

/// Transport failures that happen before a request is sent: the connection was never made.
const NEVER_CONNECTED: [&str; 3] = [
    "tcp connect error",
    "Connection refused",
    "error trying to connect",
];

pub fn classify(status: &Status) -> Failure {
    let text = describe(status);
    if status.source().is_some() {
        // Made up on this side: the connection failed, before or after sending.
        return if NEVER_CONNECTED.iter().any(|p| text.contains(p)) {
            Failure::Definite(text)
        } else {
            Failure::Unknown(text)
        };
    }
    match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Unauthenticated => Failure::Definite(text),
        Code::Unavailable
            if REFUSED_BEFORE_PROPOSING
                .iter()
                .chain(&NEVER_CONNECTED)
                .any(|p| text.contains(p)) =>
        {
            Failure::Definite(text)
        }
        _ => Failure::Unknown(text),
    }
}

/// The status's code and message with its source chain, on one line.
fn describe(status: &Status) -> String {
    let mut text = format!("{:?}: {}", status.code(), status.message());
    let mut source = status.source();
    while let Some(e) = source {
        // Transport errors repeat their causes in their own messages.
        let cause = e.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
        source = e.source();
    }
    text
}

/// A call's result: the answer, or why there is none.
pub type CallResult<T> = Result<T, Failure>;

#[derive(Clone)]
pub struct Apps {
    /// One channel per node, indexed like the cluster's node list.
    nodes: Vec<AppServiceClient<Channel>>,
    timeout: Duration,
}

impl Apps {
    pub fn new(channels: Vec<Channel>, timeout: Duration) -> Apps {
        Apps {
            nodes: channels.into_iter().map(AppServiceClient::new).collect(),
            timeout,
        }
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// One attempt at `f` on `node`: the server's answer, or a timeout (outcome unknown).
    async fn attempt<T, F, Fut>(&self, node: usize, f: F) -> Result<Result<T, Status>, Failure>
    where
        F: FnOnce(AppServiceClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let client = self.nodes[node].clone();
        match tokio::time::timeout(self.timeout, f(client)).await {
            Err(_) => Err(Failure::Unknown(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
            Ok(answer) => Ok(answer.map(tonic::Response::into_inner)),
        }
    }

    async fn call<T, F, Fut>(&self, node: usize, f: F) -> CallResult<T>
    where
        F: FnOnce(AppServiceClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.attempt(node, f)
            .await?
            .map_err(|status| classify(&status))
    }

    /// A linearizable read of one app; `None` when it does not exist.
    pub async fn get(&self, node: usize, id: &str) -> CallResult<Option<App>> {
        let request = GetAppRequest {
            id: id.to_string(),
            consistency: Consistency::Linearizable as i32,
        };
        match self
            .attempt(node, |mut c| async move { c.get_app(request).await })
            .await?
        {
            Ok(app) => Ok(Some(app)),
            Err(s) if s.code() == Code::NotFound && s.source().is_none() => Ok(None),
            Err(s) => Err(classify(&s)),
        }
    }

    /// A linearizable list of the apps under `prefix`.
    pub async fn list(&self, node: usize, prefix: &str) -> CallResult<Vec<App>> {
        let request = ListAppsRequest {
            consistency: Consistency::Linearizable as i32,
            prefix: prefix.to_string(),
        };
        self.call(node, |mut c| async move { c.list_apps(request).await })
            .await
            .map(|r| r.apps)
    }

    pub async fn create(&self, node: usize, definition: String) -> CallResult<App> {
        let request = CreateAppRequest {
            definition_json: definition,
            ..Default::default()
        };
        self.call(node, |mut c| async move { c.create_app(request).await })
            .await
    }

    /// Replaces app `id` (creating it when `create` and missing); `expected_revision` 0 means
    /// no check.
    pub async fn put(
        &self,
        node: usize,
        id: &str,
        definition: String,
        expected_revision: u64,
        create: bool,
    ) -> CallResult<App> {
        let request = UpdateAppRequest {
            id: id.to_string(),
            definition_json: definition,
            expected_revision,
            create_if_missing: create,
            ..Default::default()
        };
        self.call(node, |mut c| async move { c.update_app(request).await })
            .await
    }

    /// Replaces app `id` (creating it when missing) with `force`, which cancels a deployment
    /// in progress instead of being refused by it: how the scheduling workload scales.
    pub async fn put_forced(&self, node: usize, id: &str, definition: String) -> CallResult<App> {
        let request = UpdateAppRequest {
            id: id.to_string(),
            definition_json: definition,
            create_if_missing: true,
            force: true,
            ..Default::default()
        };
        self.call(node, |mut c| async move { c.update_app(request).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definite(s: &Status) -> bool {
        matches!(classify(s), Failure::Definite(_))
    }

    #[test]
    fn server_refusals_are_definite_and_ambiguity_is_not() {
        assert!(definite(&Status::aborted("revision conflict")));
        assert!(definite(&Status::already_exists("app exists")));
        assert!(definite(&Status::unavailable(
            "node 2 is not the leader (leader: Some(1))"
        )));
        assert!(definite(&Status::unavailable(
            "Could not determine the current leader"
        )));
        assert!(definite(&Status::unavailable(
            "no quorum: the leader has not heard from a majority of the cluster for 900 ms"
        )));
        // The leader's own refusal, passed on by the follower that forwarded the call.
        assert!(definite(&Status::unavailable(
            "cannot reach the leader: node 1 is not the leader (leader: None)"
        )));
        assert!(definite(&Status::unavailable(
            "cannot reach the leader: Connection refused (os error 111)"
        )));
        // The forwarded call broke after it was sent: the leader may have taken it.
        assert!(!definite(&Status::unavailable(
            "cannot reach the leader: error reading a body from connection"
        )));
        assert!(!definite(&Status::deadline_exceeded(
            "the write may or may not have been committed: no commit within 5 s"
        )));
        assert!(!definite(&Status::internal("batch of 3 got 2 responses")));
        assert!(!definite(&Status::unknown("h2 protocol error")));
    }

    /// A transport error that carries a status inside it, as tonic's own layers produce.
    #[derive(Debug)]
    struct Wrapped(Status);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "transport error")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_code_made_up_on_this_side_is_not_the_servers_answer() {
        // The same code as a server's refusal, but found in a local error chain: the request
        // may have reached the server before the connection failed.
        let local = Status::from_error(Box::new(Wrapped(Status::aborted("stream reset"))));
        assert_eq!(local.code(), Code::Aborted);
        assert!(local.source().is_some());
        assert!(!definite(&local));
        let refused = Status::from_error(Box::new(Wrapped(Status::unavailable(
            "tcp connect error: Connection refused (os error 111)",
        ))));
        assert!(definite(&refused));
    }

    #[tokio::test]
    async fn a_node_that_is_down_refuses_definitely() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let channel =
            crate::cluster::channel(&addr.to_string(), Duration::from_millis(500)).unwrap();
        let apps = Apps::new(vec![channel], Duration::from_secs(2));
        let failure = apps
            .put(0, "/jepsen/r0", "{}".into(), 0, true)
            .await
            .expect_err("nothing listens there");
        assert!(matches!(failure, Failure::Definite(_)), "{failure:?}");
    }
}
