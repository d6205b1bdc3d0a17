//! Write batching: concurrent proposals are gathered into one Raft entry, so that one log fsync
//! (and one state-machine commit) carries many writes. openraft 0.9 writes every client entry
//! with its own fsync, so without this the cluster's write rate is the disk's fsync rate.

use super::ApiError;
use crate::raft::Raft;
use crate::state::{Batch, Request, Response};
use openraft::error::{ClientWriteError, RaftError};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Most requests in one entry: bounds the entry's size (an app definition is about 1 KiB).
const MAX_BATCH: usize = 512;
/// Proposals waiting to be batched; a full queue makes callers wait (back-pressure).
const QUEUE: usize = 4096;
/// Batches in flight at once: while one is being written the next one fills up.
const WRITERS: usize = 4;

type Reply = oneshot::Sender<Result<Response, ApiError>>;

/// The handle proposers use; the batching tasks own the queue's receiving end.
#[derive(Clone)]
pub struct Proposer {
    tx: mpsc::Sender<(Request, Reply)>,
}

impl Proposer {
    pub fn start(raft: Raft, id: u64, shutdown: CancellationToken) -> Proposer {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            let (raft, rx, shutdown) = (raft.clone(), Arc::clone(&rx), shutdown.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = write_batches(raft, id, rx) => {}
                }
            });
        }
        Proposer { tx }
    }

    /// Queues a request; the answer comes once its batch is committed and applied here.
    pub async fn propose(
        &self,
        request: Request,
    ) -> Result<oneshot::Receiver<Result<Response, ApiError>>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((request, reply))
            .await
            .map_err(|_| ApiError::Internal("the node is shutting down".into()))?;
        Ok(answer)
    }
}

async fn write_batches(raft: Raft, id: u64, rx: Arc<Mutex<mpsc::Receiver<(Request, Reply)>>>) {
    loop {
        let mut requests = Vec::new();
        let mut replies = Vec::new();
        {
            let mut rx = rx.lock().await;
            let Some((request, reply)) = rx.recv().await else {
                return;
            };
            requests.push(request);
            replies.push(reply);
            while requests.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok((request, reply)) => {
                        requests.push(request);
                        replies.push(reply);
                    }
                    Err(_) => break,
                }
            }
        }
        let count = requests.len();
        let res = raft.client_write(Batch::new(requests)).await;
        match res {
            Ok(written) if written.data.len() == count => {
                for (reply, response) in replies.into_iter().zip(written.data) {
                    let _ = reply.send(Ok(response));
                }
            }
            Ok(written) => {
                let e = format!("batch of {count} got {} responses", written.data.len());
                for reply in replies {
                    let _ = reply.send(Err(ApiError::Internal(e.clone())));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(write_error(id, &e)));
                }
            }
        }
    }
}

fn write_error(
    id: u64,
    e: &RaftError<u64, ClientWriteError<u64, crate::raft::Member>>,
) -> ApiError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => ApiError::NotLeader {
            this: id,
            leader: f.leader_id,
        },
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            ApiError::Internal(e.to_string())
        }
        RaftError::Fatal(e) => ApiError::MaybeCommitted(e.to_string()),
    }
}
