//! The one error type of the client APIs, and the one place it becomes an HTTP answer or a gRPC
//! status. Variants are what a caller acts on: retry elsewhere, retry later, fix the request, or
//! find out whether an ambiguous write happened.

use crate::raft::NodeId;
use crate::state::Rejection;
use crate::state::app::{AppInputError, Violation};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// This node does not lead; the caller should ask the leader (forwarding does that).
    #[error("node {this} is not the leader (leader: {leader:?})")]
    NotLeader {
        this: NodeId,
        leader: Option<NodeId>,
    },
    /// No leader is known right now (an election is running, or no quorum).
    #[error("Could not determine the current leader")]
    NoLeader,
    /// This node leads in name but has not heard from a majority: writes cannot commit.
    #[error("no quorum: the leader has not heard from a majority of the cluster for {0} ms")]
    NoQuorum(u64),
    /// A forwarded request reached a node that does not lead; it is never forwarded again.
    #[error("forwarded request reached node {0}, which is not the leader; retry")]
    ForwardedToFollower(NodeId),
    /// The leader could not be reached to forward the request.
    #[error("cannot reach the leader at {addr}: {reason}")]
    LeaderUnreachable { addr: String, reason: String },
    /// The write was proposed but its outcome is unknown: it may or may not have committed.
    #[error("the write may or may not have been committed: {0}")]
    MaybeCommitted(String),
    /// The state machine refused the command; nothing changed.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The request body is not a valid app (or not JSON).
    #[error(transparent)]
    BadInput(#[from] AppInputError),
    /// A request that is malformed in a way other than its body (path, query, header).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// Raft or storage failed in a way that needs a restart of this node.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Whether a client may simply retry, perhaps on another node.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::NotLeader { .. }
                | ApiError::NoLeader
                | ApiError::NoQuorum(_)
                | ApiError::ForwardedToFollower(_)
                | ApiError::LeaderUnreachable { .. }
        )
    }

    fn http_status(&self) -> StatusCode {
        match self {
            ApiError::NotLeader { .. }
            | ApiError::NoLeader
            | ApiError::NoQuorum(_)
            | ApiError::ForwardedToFollower(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::LeaderUnreachable { .. } => StatusCode::BAD_GATEWAY,
            ApiError::MaybeCommitted(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Rejected(
                Rejection::AppExists(_)
                | Rejection::GroupExists(_)
                | Rejection::RevisionConflict { .. }
                | Rejection::AppLocked { .. },
            ) => StatusCode::CONFLICT,
            ApiError::Rejected(
                Rejection::AppNotFound(_)
                | Rejection::DeploymentNotFound(_)
                | Rejection::GroupNotFound(_)
                | Rejection::GroupVersionNotFound(..),
            )
            | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Rejected(Rejection::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadInput(AppInputError::InvalidJson { .. }) | ApiError::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::BadInput(AppInputError::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn details(&self) -> Option<&[Violation]> {
        match self {
            ApiError::BadInput(
                AppInputError::InvalidJson { details } | AppInputError::Invalid { details },
            ) => Some(details),
            _ => None,
        }
    }

    /// Marathon's error body: `{"message": …}`, with `details` for invalid input and the
    /// blocking `deployments` for a locked app.
    pub fn body(&self) -> serde_json::Value {
        if let ApiError::Rejected(Rejection::AppLocked { deployments, .. }) = self {
            let ids: Vec<serde_json::Value> =
                deployments.iter().map(|d| json!({ "id": d.0 })).collect();
            return json!({ "message": self.to_string(), "deployments": ids });
        }
        match self.details() {
            Some(details) => json!({ "message": self.to_string(), "details": details }),
            None => json!({ "message": self.to_string() }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.http_status();
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("Retry-After", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> tonic::Status {
        use tonic::Code;
        let code = match &e {
            ApiError::NotLeader { .. }
            | ApiError::NoLeader
            | ApiError::NoQuorum(_)
            | ApiError::ForwardedToFollower(_)
            | ApiError::LeaderUnreachable { .. } => Code::Unavailable,
            ApiError::MaybeCommitted(_) => Code::DeadlineExceeded,
            ApiError::Rejected(Rejection::AppExists(_) | Rejection::GroupExists(_)) => {
                Code::AlreadyExists
            }
            ApiError::Rejected(
                Rejection::AppNotFound(_)
                | Rejection::DeploymentNotFound(_)
                | Rejection::GroupNotFound(_)
                | Rejection::GroupVersionNotFound(..),
            )
            | ApiError::NotFound(_) => Code::NotFound,
            ApiError::Rejected(Rejection::RevisionConflict { .. }) => Code::Aborted,
            ApiError::Rejected(Rejection::AppLocked { .. }) => Code::FailedPrecondition,
            ApiError::Rejected(Rejection::Invalid(_))
            | ApiError::BadInput(_)
            | ApiError::BadRequest(_) => Code::InvalidArgument,
            ApiError::Internal(_) => Code::Internal,
        };
        let message = match (&e, e.details()) {
            (ApiError::Rejected(Rejection::AppLocked { .. }), _) | (_, Some(_)) => {
                e.body().to_string()
            }
            _ => e.to_string(),
        };
        tonic::Status::new(code, message)
    }
}
