//! Leader proxying: requests that need the leader are served here when this node leads and are
//! otherwise sent on to the leader unchanged, with `X-Marathon-Via` so they are never sent on
//! twice.

use super::Rest;
use crate::api::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::IpAddr;
use std::time::Duration;

pub const VIA: &str = "x-marathon-via";
pub const LEADER: &str = "x-marathon-leader";
/// Marathon's `--leader_proxy_read_timeout`.
const PROXY_TIMEOUT: Duration = Duration::from_secs(10);
/// Marathon's `--leader_proxy_connection_timeout` is 5 s; on a LAN a refused or silent leader is
/// better found out sooner, so that the client retries the new leader.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Proxy {
    client: Client<HttpConnector, Body>,
    /// Our own `X-Marathon-Via` value.
    via: HeaderValue,
    leader_header: HeaderValue,
}

impl Proxy {
    /// `bind`: the source address of proxied requests (`None`: the kernel chooses).
    pub fn new(self_http: &str, bind: Option<IpAddr>) -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        connector.set_local_address(bind);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Proxy {
            client,
            via: HeaderValue::from_str(&format!("1.1 {self_http}"))
                .unwrap_or(HeaderValue::from_static("1.1 baton")),
            leader_header: HeaderValue::from_str(&format!("http://{self_http}"))
                .unwrap_or(HeaderValue::from_static("baton")),
        }
    }
}

/// Requests every node answers from its own state.
fn served_locally(request: &Request) -> bool {
    let path = request.uri().path();
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    path == "/ping"
        || (read && (path == "/v2/leader" || path == "/v2/info" || path == "/v2/events"))
        || (read && stale_requested(request.uri()))
}

fn stale_requested(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.eq_ignore_ascii_case("consistency=stale"))
    })
}

pub async fn leader_or_proxy(State(rest): State<Rest>, request: Request, next: Next) -> Response {
    if served_locally(&request) {
        return next.run(request).await;
    }
    let leadership = rest.api.leadership();
    if leadership.raft_leads() {
        let mut response = next.run(request).await;
        response
            .headers_mut()
            .insert(LEADER, rest.proxy.leader_header.clone());
        return response;
    }
    if request.headers().contains_key(VIA) {
        return ApiError::ForwardedToFollower(rest.api.id()).into_response();
    }
    let leadership = match leadership.leader {
        Some(_) => leadership,
        None => match rest.api.wait_for_leader().await {
            Ok(l) => l,
            Err(e) => return e.into_response(),
        },
    };
    match leadership.leader {
        Some((id, _)) if id == rest.api.id() => next.run(request).await,
        Some((_, member)) => forward(&rest, &member.http, request).await,
        None => ApiError::NoLeader.into_response(),
    }
}

async fn forward(rest: &Rest, leader: &str, request: Request) -> Response {
    let unreachable = |reason: String| {
        ApiError::LeaderUnreachable {
            addr: leader.to_string(),
            reason,
        }
        .into_response()
    };
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    parts.uri = match format!("http://{leader}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return unreachable(format!("bad leader address: {e}")),
    };
    parts.headers.remove(axum::http::header::HOST);
    parts.headers.remove(axum::http::header::CONNECTION);
    parts.headers.insert(VIA, rest.proxy.via.clone());
    let outgoing = axum::http::Request::from_parts(parts, body);
    match tokio::time::timeout(PROXY_TIMEOUT, rest.proxy.client.request(outgoing)).await {
        // Once sent, a request may have been carried out even if no answer came back.
        Err(_) => {
            ApiError::MaybeCommitted("the leader did not answer in time".into()).into_response()
        }
        Ok(Err(e)) if e.is_connect() => unreachable(e.to_string()),
        Ok(Err(e)) => ApiError::MaybeCommitted(format!("connection to the leader failed: {e}"))
            .into_response(),
        Ok(Ok(response)) => {
            let (mut parts, body) = response.into_parts();
            parts.headers.insert(VIA, rest.proxy.via.clone());
            Response::from_parts(parts, Body::new(body))
        }
    }
}
