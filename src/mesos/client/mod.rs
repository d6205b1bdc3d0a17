//! The scheduler's HTTP transport to Mesos masters: SUBSCRIBE to the first master that takes
//! it (following redirects to the leader), the event stream with its heartbeat watchdog, and
//! calls on the subscription. Transport only: what to subscribe with and what to do with the
//! events is the scheduler's business.
//!
//! - `location`: master URLs and redirect targets (pure).
//! - `backoff`: the delay between reconnection attempts (pure).
//! - `transport`: the hyper clients and the headers every request carries.
//! - `subscription`: the event stream and the [`Caller`].
//! - `error`: [`ClientError`].

mod backoff;
mod error;
mod location;
mod subscription;
mod transport;

pub use backoff::Backoff;
pub use error::{ClientError, MasterFailure};
pub use location::{SCHEDULER_PATH, UrlError, base_url, endpoint, resolve_location};
pub use subscription::{Caller, SILENT_HEARTBEATS, Subscription};
pub use transport::CALLS_IN_FLIGHT;

use crate::mesos::{Call, CallBody, Event, FrameworkInfo, Subscribe, Subscribed};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode, Uri};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use subscription::EventStream;
use transport::{Kind, STREAM_ID, Transport, answer_text};

/// Redirect hops followed per master: a non-leader points at the leader, which answers; more
/// hops than a few mean masters that disagree about who leads.
pub const MAX_REDIRECTS: usize = 4;
/// The default record limit: an OFFERS event from thousands of agents stays well below it.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// The heartbeat interval assumed when SUBSCRIBED does not name a usable one (Mesos' fixed
/// value).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URLs (`http://h:5050`; a bare `h:5050` means http), tried in order.
    pub masters: Vec<String>,
    /// Principal and secret, sent as HTTP basic auth on every request.
    pub credential: Option<(String, String)>,
    /// The largest event record accepted; larger ones end the stream with an error.
    pub max_record_bytes: usize,
    pub connect_timeout: Duration,
    /// Per call, and for a SUBSCRIBE until SUBSCRIBED arrives.
    pub call_timeout: Duration,
    /// The source address of connections to masters (`None`: the kernel chooses), so that a
    /// chaos harness can cut this node from Mesos with address-based firewall rules.
    pub bind: Option<IpAddr>,
}

impl ClientConfig {
    /// Defaults: no credential, 16 MiB records, 2 s to connect, 5 s per call.
    pub fn new(masters: Vec<String>) -> ClientConfig {
        ClientConfig {
            masters,
            credential: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            connect_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(5),
            bind: None,
        }
    }
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig::new(Vec::new())
    }
}

/// Talks to the masters of one Mesos cluster. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    config: Arc<ClientConfig>,
    transport: Arc<Transport>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Client {
        let transport = Arc::new(Transport::new(&config));
        Client {
            config: Arc::new(config),
            transport,
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// SUBSCRIBEs at each master in turn (with the framework id when `info.id` is set) and
    /// returns once one sent SUBSCRIBED. Redirects are followed; a master that is down,
    /// unavailable (503) or not answering sends us to the next one. A refusal (4xx, or an
    /// ERROR event) is returned at once: every master would refuse the same.
    pub async fn subscribe(
        &self,
        info: FrameworkInfo,
        suppressed_roles: Vec<String>,
    ) -> Result<Subscription, ClientError> {
        let call = Call {
            framework_id: info.id.clone(),
            body: CallBody::Subscribe(Subscribe {
                framework_info: info,
                suppressed_roles,
            }),
        };
        let call = Bytes::from(
            serde_json::to_vec(&call).expect("a Call serialises: its keys are strings"),
        );
        let mut failures = Vec::new();
        for master in &self.config.masters {
            match self.subscribe_at(master, &call).await {
                Ok(subscription) => {
                    tracing::info!(master = %subscription.master,
                        framework_id = %subscription.framework_id, "subscribed to mesos");
                    return Ok(subscription);
                }
                Err(error) if error.try_next_master() => {
                    tracing::warn!(%master, %error, "mesos master did not take the subscription");
                    failures.push(MasterFailure {
                        master: master.clone(),
                        error,
                    });
                }
                Err(error) => return Err(error),
            }
        }
        Err(ClientError::NoMasterReachable(failures))
    }

    async fn subscribe_at(&self, master: &str, call: &Bytes) -> Result<Subscription, ClientError> {
        let mut url = location::endpoint(master)?;
        for _ in 0..=MAX_REDIRECTS {
            let response = self
                .transport
                .post(Kind::Subscribe, &url, call.clone(), None)
                .await?;
            let status = response.status();
            if status == StatusCode::OK {
                return self.handshake(url, response).await;
            }
            if status.is_redirection() {
                let target = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| ClientError::Http(format!("{status} without a Location")))?;
                let next = location::resolve_location(&url, target)?;
                tracing::debug!(from = %url, to = %next, "mesos master redirects");
                url = next;
                continue;
            }
            let timeout = self.transport.call_timeout;
            let text = tokio::time::timeout(timeout, answer_text(response.into_body()))
                .await
                .unwrap_or_else(|_| Ok(String::new()))
                .unwrap_or_default();
            return Err(ClientError::from_status(status.as_u16(), text));
        }
        Err(ClientError::TooManyRedirects {
            hops: MAX_REDIRECTS,
            last: url.to_string(),
        })
    }

    /// Reads a 200 answer to SUBSCRIBE up to its SUBSCRIBED event.
    async fn handshake(
        &self,
        endpoint: Uri,
        response: Response<Incoming>,
    ) -> Result<Subscription, ClientError> {
        let headers = response.headers();
        if let Some(content_type) = headers.get(CONTENT_TYPE)
            && !content_type.as_bytes().starts_with(b"application/json")
        {
            return Err(ClientError::Http(format!(
                "the event stream is {}, not application/json",
                String::from_utf8_lossy(content_type.as_bytes())
            )));
        }
        let stream_id = headers
            .get(STREAM_ID)
            .cloned()
            .ok_or_else(|| ClientError::Http("the answer has no Mesos-Stream-Id".into()))?;
        let stream_id_text = stream_id
            .to_str()
            .map_err(|_| ClientError::Http("the Mesos-Stream-Id is not text".into()))?
            .to_owned();
        let mut events = EventStream::new(response.into_body(), self.config.max_record_bytes);
        let (subscribed, early) = self.await_subscribed(&mut events).await?;
        for event in early {
            events.push_back(event);
        }
        let heartbeat_interval = subscribed
            .heartbeat_interval_seconds
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_HEARTBEAT);
        let caller = Caller::new(
            self.transport.clone(),
            endpoint.clone(),
            subscribed.framework_id.clone(),
            stream_id,
        );
        Ok(Subscription {
            framework_id: subscribed.framework_id,
            stream_id: stream_id_text,
            master: location::base_url(&endpoint),
            heartbeat_interval,
            master_info: subscribed.master_info,
            events,
            caller,
        })
    }

    /// SUBSCRIBED, and any events that came before it (a real master sends none).
    async fn await_subscribed(
        &self,
        events: &mut EventStream,
    ) -> Result<(Subscribed, Vec<Event>), ClientError> {
        let timeout = self.transport.call_timeout;
        let mut early = Vec::new();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                match events.next(timeout).await {
                    Ok(Event::Subscribed(s)) => return Ok(s),
                    Ok(Event::Error(e)) => return Err(ClientError::SubscribeFailed(e.message)),
                    Ok(other) => early.push(other),
                    Err(ClientError::HeartbeatsStopped(_)) => {
                        return Err(ClientError::Timeout(timeout));
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        match waited {
            Ok(Ok(subscribed)) => Ok((subscribed, early)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }
}
