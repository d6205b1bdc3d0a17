//! The HTTP under the client: one keep-alive pool for calls and a pool-less client for
//! subscription streams (never reused for another request, as the API requires), the headers
//! every request carries, and reading a short answer body.

use super::ClientConfig;
use super::error::ClientError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(super) const STREAM_ID: &str = "Mesos-Stream-Id";
/// The most of an error answer we keep: masters answer with one line of text.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Calls in flight at once. A leader acknowledges every status update with its own call:
/// unbounded, a burst of 20,000 updates opened thousands of connections to the master, each
/// with its buffers. The pool keeps every connection it opens (hyper's default): a call that
/// takes a slot just freed may not find its connection back in the pool yet and opens one
/// more, and capping the idle connections then closes one for each opened, till the machine's
/// ephemeral ports are all in TIME_WAIT. Bounding the calls bounds the pool as well.
pub const CALLS_IN_FLIGHT: usize = 32;

type Http = HyperClient<HttpConnector, Full<Bytes>>;

/// Whether a request opens the event stream or is a plain call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Subscribe,
    Call,
}

pub(super) struct Transport {
    calls: Http,
    /// One permit per call in flight on `calls`.
    call_slots: Arc<Semaphore>,
    streams: Http,
    authorization: Option<HeaderValue>,
    pub(super) call_timeout: Duration,
}

impl Transport {
    pub(super) fn new(config: &ClientConfig) -> Transport {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        connector.set_local_address(config.bind);
        // Masters write heartbeats; keepalive probes find a dead peer on an idle call pool.
        connector.set_keepalive(Some(Duration::from_secs(30)));
        let calls = HyperClient::builder(TokioExecutor::new()).build(connector.clone());
        let streams = HyperClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Transport {
            calls,
            call_slots: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)),
            streams,
            authorization: config
                .credential
                .as_ref()
                .and_then(|(principal, secret)| basic_auth(principal, secret)),
            call_timeout: config.call_timeout,
        }
    }

    /// A slot for one call: held until its answer is read, so that the connection is back in
    /// the pool before the next call takes the slot.
    pub(super) async fn call_slot(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.call_slots)
            .acquire_owned()
            .await
            .expect("the call semaphore is never closed")
    }

    /// POSTs `body` and waits for the answer's head (a call's body is read by the caller), for
    /// at most the call timeout.
    pub(super) async fn post(
        &self,
        kind: Kind,
        url: &Uri,
        body: Bytes,
        stream_id: Option<&HeaderValue>,
    ) -> Result<Response<Incoming>, ClientError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json");
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        if let Some(id) = stream_id {
            request = request.header(STREAM_ID, id.clone());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ClientError::http(&e))?;
        let client = match kind {
            Kind::Subscribe => &self.streams,
            Kind::Call => &self.calls,
        };
        match tokio::time::timeout(self.call_timeout, client.request(request)).await {
            Err(_) => Err(ClientError::Timeout(self.call_timeout)),
            Ok(Err(e)) => Err(ClientError::http(&e)),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

/// A short answer body as text (lossy), at most [`MAX_ANSWER_BYTES`]; reading it to the end
/// also lets the connection go back to the pool.
pub(super) async fn answer_text(body: Incoming) -> Result<String, ClientError> {
    let collected = Limited::new(body, MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| ClientError::http(&*e))?;
    Ok(String::from_utf8_lossy(&collected.to_bytes())
        .trim()
        .to_owned())
}

/// `Basic base64(principal:secret)`; `None` if it cannot be a header value (control bytes).
fn basic_auth(principal: &str, secret: &str) -> Option<HeaderValue> {
    let token = crate::mesos::Base64Bytes(format!("{principal}:{secret}").into_bytes());
    let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_base64_of_principal_and_secret() {
        let v = basic_auth("Aladdin", "open sesame");
        assert_eq!(
            v.as_ref().map(|v| v.as_bytes()),
            Some(&b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="[..])
        );
        assert!(v.is_some_and(|v| v.is_sensitive()));
    }
}
