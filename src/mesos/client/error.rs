//! What can go wrong talking to a master, in variants the scheduler acts on: resubscribe
//! elsewhere, give up on a refused call, or treat a timed-out call as possibly delivered.

use super::location::UrlError;
use crate::mesos::RecordIoError;
use std::fmt;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Every configured master was tried; why each one failed, in order.
    #[error("no master accepted the subscription: {}", Failures(.0))]
    NoMasterReachable(Vec<MasterFailure>),
    /// The master answered 4xx: the call is wrong for it (bad request, unknown or replaced
    /// subscription, credentials). Retrying the same call will not help.
    #[error("the master refused the call ({status}): {message}")]
    Refused { status: u16, message: String },
    /// The master answered 5xx or a redirect to a call: it cannot take calls now (no leader,
    /// recovering, no longer leading). Resubscribe, possibly elsewhere.
    #[error("the master cannot take the call now ({status}): {message}")]
    Unavailable { status: u16, message: String },
    /// The master sent ERROR instead of SUBSCRIBED (removed framework, principal change, …).
    #[error("the master refused the subscription: {0}")]
    SubscribeFailed(String),
    /// The event stream ended (failover, teardown, master gone); resubscribe.
    #[error("the event stream ended")]
    StreamEnded,
    /// The watchdog: nothing at all came from the master for this long.
    #[error("no event from the master for {0:?}: heartbeats stopped")]
    HeartbeatsStopped(Duration),
    #[error("event stream: {0}")]
    Record(#[from] RecordIoError),
    #[error("event stream: a record is not an event: {0}")]
    BadEvent(#[source] serde_json::Error),
    /// No answer in time. For a call this is ambiguous: the master may have received it.
    #[error("no answer from the master within {0:?}")]
    Timeout(Duration),
    /// The connection failed or broke, or the master's answer made no sense.
    #[error("http: {0}")]
    Http(String),
    #[error("more than {hops} redirects, the last to {last}")]
    TooManyRedirects { hops: usize, last: String },
    #[error(transparent)]
    Url(#[from] UrlError),
}

/// One master that did not accept a subscription, and why.
#[derive(Debug)]
pub struct MasterFailure {
    pub master: String,
    pub error: ClientError,
}

struct Failures<'a>(&'a [MasterFailure]);

impl fmt::Display for Failures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no masters configured");
        }
        for (i, failure) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", failure.master, failure.error)?;
        }
        Ok(())
    }
}

impl ClientError {
    /// Whether a subscription attempt that failed so should go on to the next master: the
    /// master is down, not leading, or not speaking the protocol — as opposed to refusing
    /// this framework, which every master would.
    pub(super) fn try_next_master(&self) -> bool {
        !matches!(
            self,
            ClientError::Refused { .. } | ClientError::SubscribeFailed(_)
        )
    }

    /// The error for an answer with an unexpected status. 404, 408 and 429 say nothing about
    /// the call (wrong server, slow or busy master), so they count as unavailable.
    pub(super) fn from_status(status: u16, message: String) -> ClientError {
        if (400..500).contains(&status) && !matches!(status, 404 | 408 | 429) {
            ClientError::Refused { status, message }
        } else {
            ClientError::Unavailable { status, message }
        }
    }

    /// A transport error with its whole chain of causes ("client error (Connect): tcp connect
    /// error: Connection refused").
    pub(super) fn http(e: &dyn std::error::Error) -> ClientError {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.contains(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        ClientError::Http(text)
    }
}
