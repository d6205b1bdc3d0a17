//! The command-line client: speaks gRPC to any node of a comma-separated endpoint list, moving
//! on to the next node when one is down or has no leader.

mod commands;
mod deploy;
mod events;
mod groups;

pub use commands::{AppCommand, ClusterCommand, run_app, run_cluster};
pub use deploy::{DeployCommand, run_deploy, run_queue};
pub use events::run_events;
pub use groups::{GroupCommand, run_group};

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

/// How long a call keeps trying other nodes before it gives up.
const RETRY_BUDGET: Duration = Duration::from_secs(15);
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A failed call, printed the way a person reads it (tonic's own message nests every cause).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no node of {endpoints} could answer: {message}")]
    Unavailable { endpoints: String, message: String },
    #[error("{}: {}", .0.code().description(), .0.message())]
    Refused(Status),
}

impl CallError {
    pub fn status(&self) -> Option<&Status> {
        match self {
            CallError::Refused(s) => Some(s),
            CallError::Unavailable { .. } => None,
        }
    }
}

/// A client of a whole cluster.
pub struct Client {
    endpoints: Vec<String>,
    channels: Vec<Channel>,
    /// The endpoint that answered last; calls start there.
    preferred: AtomicUsize,
}

impl Client {
    /// `endpoints`: comma-separated `host:port` (or `http://host:port`) gRPC addresses.
    pub fn new(endpoints: &str) -> anyhow::Result<Client> {
        let endpoints: Vec<String> = endpoints
            .split(',')
            .map(|e| e.trim().trim_start_matches("http://").to_string())
            .filter(|e| !e.is_empty())
            .collect();
        anyhow::ensure!(!endpoints.is_empty(), "no endpoints given");
        let channels = endpoints
            .iter()
            .map(|e| crate::raft::network::connect_lazy(e, None).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Client {
            endpoints,
            channels,
            preferred: AtomicUsize::new(0),
        })
    }

    /// The endpoints, for messages.
    pub fn endpoints(&self) -> String {
        self.endpoints.join(",")
    }

    /// Calls `f` on one node after another until one gives an answer that is not "unavailable".
    /// An ambiguous write (deadline exceeded) is returned, never retried.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T, CallError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let deadline = Instant::now() + RETRY_BUDGET;
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last = Status::unavailable("no endpoint tried");
        for round in 0.. {
            for k in 0..self.channels.len() {
                let i = (start + k) % self.channels.len();
                match f(self.channels[i].clone()).await {
                    Ok(r) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        return Ok(r.into_inner());
                    }
                    Err(s) if s.code() == Code::Unavailable => {
                        tracing::debug!(endpoint = %self.endpoints[i], %s, "unavailable; trying the next node");
                        last = s;
                    }
                    Err(s) => return Err(CallError::Refused(s)),
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(RETRY_PAUSE * (round + 1).min(5)).await;
        }
        Err(CallError::Unavailable {
            endpoints: self.endpoints(),
            message: last.message().to_string(),
        })
    }
}
