//! One probe of one target: an HTTP(S) GET through the shared keep-alive pools, or a TCP
//! connect. The only code of the engine that touches the network.

use super::Outcome;
use super::Target;
use super::tls::{self, TlsConnector};
use crate::state::app::HealthCheckProtocol;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;

/// A body longer than this is not read to its end: the connection is dropped instead of reused.
const MAX_DRAINED_BODY: usize = 64 * 1024;

/// How a target is probed, worked out once when it is scheduled, not at every probe.
#[derive(Debug)]
pub(crate) struct Spec {
    kind: Kind,
    host: String,
    port: u16,
    timeout: Duration,
    ignore_1xx: bool,
}

#[derive(Debug)]
enum Kind {
    Http(Uri),
    Https(Uri),
    Tcp,
    /// A target that can never pass (a path that is no URI path): each probe says why.
    Invalid(String),
}

impl Spec {
    /// `None` for checks the agent runs (`MESOS_*`, `COMMAND`): they are not the engine's.
    pub fn of(target: &Target) -> Option<Spec> {
        let check = &target.check;
        let kind = match check.protocol {
            HealthCheckProtocol::Http => Kind::http(&target.host, target.port, check, false),
            HealthCheckProtocol::Https => Kind::http(&target.host, target.port, check, true),
            HealthCheckProtocol::Tcp => Kind::Tcp,
            _ => return None,
        };
        Some(Spec {
            kind,
            host: target.host.clone(),
            port: target.port,
            // tokio's timeout takes any length (a deadline past its range never fires).
            timeout: Duration::from_secs(check.timeout_seconds),
            ignore_1xx: check.ignore_http1xx,
        })
    }
}

impl Kind {
    fn http(host: &str, port: u16, check: &crate::state::app::HealthCheck, tls: bool) -> Kind {
        let path = check.path.as_deref().unwrap_or("/");
        let slash = if path.starts_with('/') { "" } else { "/" };
        let scheme = if tls { "https" } else { "http" };
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match format!("{scheme}://{authority}{slash}{path}").parse::<Uri>() {
            Ok(uri) if tls => Kind::Https(uri),
            Ok(uri) => Kind::Http(uri),
            Err(e) => Kind::Invalid(format!("invalid health check URI for path {path:?}: {e}")),
        }
    }
}

/// The connection pools every probe shares: one keep-alive pool per scheme and host:port.
#[derive(Clone)]
pub(crate) struct Clients {
    http: Client<HttpConnector, Empty<Bytes>>,
    https: Client<TlsConnector, Empty<Bytes>>,
    user_agent: HeaderValue,
}

impl Clients {
    /// A `user_agent` that is not a valid header value is sent as `baton`.
    pub fn new(idle_timeout: Duration, max_idle_per_host: usize, user_agent: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_idle_timeout(idle_timeout)
            .pool_max_idle_per_host(max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new());
        Clients {
            http: builder.build(connector.clone()),
            https: builder.build(tls::connector(connector)),
            user_agent: HeaderValue::from_str(user_agent)
                .unwrap_or_else(|_| HeaderValue::from_static("baton")),
        }
    }

    /// Probes once, within the check's timeout.
    pub async fn probe(&self, spec: &Spec) -> Outcome {
        let seen_1xx = spec.ignore_1xx.then(|| Arc::new(AtomicBool::new(false)));
        let attempt = async {
            match &spec.kind {
                Kind::Http(uri) => {
                    get(
                        &self.http,
                        uri,
                        &self.user_agent,
                        seen_1xx.clone(),
                        spec.ignore_1xx,
                    )
                    .await
                }
                Kind::Https(uri) => {
                    get(
                        &self.https,
                        uri,
                        &self.user_agent,
                        seen_1xx.clone(),
                        spec.ignore_1xx,
                    )
                    .await
                }
                Kind::Tcp => match TcpStream::connect((spec.host.as_str(), spec.port)).await {
                    Ok(_) => Outcome::Healthy,
                    Err(e) => Outcome::Unhealthy(format!(
                        "TCP connection to {}:{} failed: {e}",
                        spec.host, spec.port
                    )),
                },
                Kind::Invalid(cause) => Outcome::Unhealthy(cause.clone()),
            }
        };
        match tokio::time::timeout(spec.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) if seen_1xx.is_some_and(|seen| seen.load(Ordering::Relaxed)) => {
                Outcome::Ignored1xx
            }
            Err(_) => Outcome::Unhealthy(format!(
                "no answer within the timeout of {} s",
                spec.timeout.as_secs()
            )),
        }
    }
}

async fn get<C>(
    client: &Client<C, Empty<Bytes>>,
    uri: &Uri,
    user_agent: &HeaderValue,
    seen_1xx: Option<Arc<AtomicBool>>,
    ignore_1xx: bool,
) -> Outcome
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = uri.clone();
    request.headers_mut().insert(USER_AGENT, user_agent.clone());
    if let Some(seen) = seen_1xx {
        hyper::ext::on_informational(&mut request, move |_| seen.store(true, Ordering::Relaxed));
    }
    let response = match client.request(request).await {
        Ok(response) => response,
        Err(e) => return Outcome::Unhealthy(cause_chain(&e)),
    };
    let status = response.status();
    // Read the body to its end so the connection goes back to the pool.
    let mut body = response.into_body();
    let mut read = 0;
    while read <= MAX_DRAINED_BODY {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
            Some(Err(_)) | None => break,
        }
    }
    classify(status, ignore_1xx)
}

/// Marathon's rule: 200–399 pass; 1xx is ignored when the check says so; the rest fail.
pub(crate) fn classify(status: StatusCode, ignore_1xx: bool) -> Outcome {
    match status.as_u16() {
        200..=399 => Outcome::Healthy,
        100..=199 if ignore_1xx => Outcome::Ignored1xx,
        _ => Outcome::Unhealthy(format!("HTTP status {status}")),
    }
}

/// An error and its sources, since hyper's top-level message alone ("client error (Connect)")
/// does not say what went wrong.
fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        cause.push_str(": ");
        cause.push_str(&inner.to_string());
        source = inner.source();
    }
    cause
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marathon_status_rule() {
        let outcome = |code: u16, ignore| classify(StatusCode::from_u16(code).unwrap(), ignore);
        for code in [200, 204, 301, 399] {
            assert_eq!(outcome(code, false), Outcome::Healthy, "{code}");
        }
        for code in [400, 404, 500, 503] {
            assert!(
                matches!(outcome(code, false), Outcome::Unhealthy(_)),
                "{code}"
            );
        }
        assert!(matches!(outcome(101, false), Outcome::Unhealthy(_)));
        assert_eq!(outcome(101, true), Outcome::Ignored1xx);
        assert!(matches!(outcome(500, true), Outcome::Unhealthy(_)));
    }
}
