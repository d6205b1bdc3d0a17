//! One accepted subscription: its event stream (RecordIO-decoded, bounded, watched for
//! silence) and the [`Caller`] that sends calls on its behalf.

use super::error::ClientError;
use super::transport::{Kind, Transport, answer_text};
use crate::mesos::{Call, CallBody, Event, FrameworkId, MasterInfo, RecordIoDecoder};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Uri;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// How many heartbeat intervals of silence make the watchdog give up on a stream.
pub const SILENT_HEARTBEATS: u32 = 3;

/// A subscribed framework's event stream. Dropping it closes the connection, which the master
/// takes as the framework disconnecting.
pub struct Subscription {
    pub framework_id: FrameworkId,
    pub stream_id: String,
    /// Base URL of the master that accepted, e.g. `http://h2:5050`.
    pub master: String,
    /// As the master announced it (15 s for a real master).
    pub heartbeat_interval: Duration,
    pub master_info: Option<MasterInfo>,
    pub(super) events: EventStream,
    pub(super) caller: Caller,
}

impl Subscription {
    /// The next event, HEARTBEATs included. After an error the stream is closed and every
    /// later call answers [`ClientError::StreamEnded`].
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        let silence = self.heartbeat_interval.saturating_mul(SILENT_HEARTBEATS);
        self.events.next(silence).await
    }

    /// A handle for calls on this subscription; cheap to clone, usable from other tasks.
    pub fn caller(&self) -> Caller {
        self.caller.clone()
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("framework_id", &self.framework_id)
            .field("stream_id", &self.stream_id)
            .field("master", &self.master)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .finish_non_exhaustive()
    }
}

/// The decoded records of a SUBSCRIBE response body.
pub(super) struct EventStream {
    /// `None` once the stream ended or failed: the connection is closed.
    body: Option<Incoming>,
    decoder: RecordIoDecoder,
    /// Events read while waiting for SUBSCRIBED, handed out first.
    pending: VecDeque<Event>,
}

impl EventStream {
    pub(super) fn new(body: Incoming, max_record_bytes: usize) -> EventStream {
        EventStream {
            body: Some(body),
            decoder: RecordIoDecoder::new(max_record_bytes),
            pending: VecDeque::new(),
        }
    }

    pub(super) fn push_back(&mut self, event: Event) {
        self.pending.push_back(event);
    }

    /// The next event; [`ClientError::HeartbeatsStopped`] when no byte arrives for `silence`.
    pub(super) async fn next(&mut self, silence: Duration) -> Result<Event, ClientError> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(event);
        }
        let result = self.read(silence).await;
        if result.is_err() {
            self.body = None;
        }
        result
    }

    async fn read(&mut self, silence: Duration) -> Result<Event, ClientError> {
        loop {
            let Some(body) = self.body.as_mut() else {
                return Err(ClientError::StreamEnded);
            };
            if let Some(record) = self.decoder.next_record()? {
                return Event::from_json(&record).map_err(ClientError::BadEvent);
            }
            match tokio::time::timeout(silence, body.frame()).await {
                Err(_) => return Err(ClientError::HeartbeatsStopped(silence)),
                Ok(None) => {
                    self.decoder.finish()?;
                    return Err(ClientError::StreamEnded);
                }
                Ok(Some(Err(e))) => return Err(ClientError::http(&e)),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(&data);
                    }
                }
            }
        }
    }
}

/// Sends calls for one subscription: each carries its framework id and `Mesos-Stream-Id`.
#[derive(Clone)]
pub struct Caller {
    inner: Arc<CallerInner>,
}

struct CallerInner {
    transport: Arc<Transport>,
    endpoint: Uri,
    framework_id: FrameworkId,
    stream_id: HeaderValue,
}

impl Caller {
    pub(super) fn new(
        transport: Arc<Transport>,
        endpoint: Uri,
        framework_id: FrameworkId,
        stream_id: HeaderValue,
    ) -> Caller {
        Caller {
            inner: Arc::new(CallerInner {
                transport,
                endpoint,
                framework_id,
                stream_id,
            }),
        }
    }

    pub fn framework_id(&self) -> &FrameworkId {
        &self.inner.framework_id
    }

    /// POSTs a call. `Ok` on 202 (or 200): the master queued it, outcomes arrive as events.
    /// [`ClientError::Refused`] on 4xx with the master's text; a [`ClientError::Timeout`] or a
    /// broken connection leaves open whether the master got the call.
    pub async fn call(&self, body: CallBody) -> Result<(), ClientError> {
        let inner = &*self.inner;
        let kind = body.kind();
        let call = Call::new(inner.framework_id.clone(), body);
        let json = serde_json::to_vec(&call).expect("a Call serialises: its keys are strings");
        let timeout = inner.transport.call_timeout;
        let exchange = async {
            let _slot = inner.transport.call_slot().await;
            let response = inner
                .transport
                .post(
                    Kind::Call,
                    &inner.endpoint,
                    Bytes::from(json),
                    Some(&inner.stream_id),
                )
                .await?;
            let status = response.status().as_u16();
            let text = answer_text(response.into_body()).await?;
            match status {
                200 | 202 => Ok(()),
                _ => Err(ClientError::from_status(status, text)),
            }
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout(timeout)),
        };
        if let Err(e) = &result {
            tracing::debug!(call = kind, error = %e, "mesos call failed");
        }
        result
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("endpoint", &self.inner.endpoint)
            .field("framework_id", &self.inner.framework_id)
            .field("stream_id", &self.inner.stream_id)
            .finish()
    }
}
