//! mesos-local's HTTP surface: `POST /api/v1/scheduler` (the RecordIO event stream for SUBSCRIBE,
//! 202 for other calls), `GET /version`, `GET /state`, `GET /health`, and `admin`'s `/admin/…`;
//! and the one mapping of the master's refusals to status codes.

use super::master::{CallRefused, MasterHandle, Subscription};
use crate::mesos::{Call, CallBody, CallError, Event, recordio};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::BytesMut;
use std::convert::Infallible;
use std::time::Duration;

const STREAM_ID: &str = "Mesos-Stream-Id";
/// The most bytes of waiting events one chunk of a subscription's stream gathers.
const CHUNK: usize = 256 * 1024;

#[derive(Clone)]
struct App {
    master: MasterHandle,
    heartbeat: Duration,
    /// How long the answer to a SUBSCRIBE is held after the master registered it (tests).
    subscribe_answer_delay: Duration,
}

pub(super) fn router(
    master: MasterHandle,
    heartbeat: Duration,
    subscribe_answer_delay: Duration,
) -> Router {
    Router::new()
        .route("/api/v1/scheduler", post(scheduler))
        .route("/version", get(version))
        .route("/state", get(state))
        .route("/master/state", get(state))
        .route("/health", get(|| async { StatusCode::OK }))
        .with_state(App {
            master: master.clone(),
            heartbeat,
            subscribe_answer_delay,
        })
        .merge(super::admin::router(master))
}

async fn version() -> Response {
    axum::Json(serde_json::json!({
        "version": super::VERSION,
        "build_date": "2024-08-23 00:00:00",
        "build_time": 1_724_371_200.0,
        "build_user": "baton",
        "git_branch": "mesos-local",
    }))
    .into_response()
}

async fn state(State(app): State<App>) -> Response {
    match app.master.state().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => refused(e),
    }
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The one place a master refusal becomes an HTTP status.
fn refused(e: CallRefused) -> Response {
    let status = match &e {
        CallRefused::BadRequest(_) => StatusCode::BAD_REQUEST,
        CallRefused::Forbidden(_) => StatusCode::FORBIDDEN,
        CallRefused::Stopping => StatusCode::SERVICE_UNAVAILABLE,
    };
    text(status, e.to_string())
}

async fn scheduler(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    match headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) {
        None => {
            return text(
                StatusCode::BAD_REQUEST,
                "Expecting 'Content-Type' to be present",
            );
        }
        Some(b"application/json") => {}
        Some(_) => {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expecting 'Content-Type' of application/json (mesos-local speaks JSON only)",
            );
        }
    }
    let call = match Call::from_json(&body) {
        Ok(c) => c,
        Err(CallError::NotImplemented) => {
            return text(
                StatusCode::NOT_IMPLEMENTED,
                CallError::NotImplemented.to_string(),
            );
        }
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let stream_id = headers
        .get(STREAM_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (framework_id, body) = (call.framework_id, call.body);
    match body {
        CallBody::Subscribe(subscribe) => {
            if stream_id.is_some() {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Subscribe calls should not include the 'Mesos-Stream-Id' header",
                );
            }
            if !accepts_json(&headers) {
                return text(StatusCode::NOT_ACCEPTABLE, "mesos-local streams JSON only");
            }
            match app.master.subscribe(subscribe).await {
                Ok(sub) => {
                    tokio::time::sleep(app.subscribe_answer_delay).await;
                    stream(sub, app.heartbeat)
                }
                Err(e) => refused(e),
            }
        }
        body => {
            let synchronous = matches!(body, CallBody::UpdateFramework(_));
            let call = Call { framework_id, body };
            match app.master.call(call, stream_id).await {
                Ok(()) if synchronous => StatusCode::OK.into_response(),
                Ok(()) => StatusCode::ACCEPTED.into_response(),
                Err(e) => refused(e),
            }
        }
    }
}

/// No `Accept` means anything; otherwise it must admit JSON.
fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return true;
    };
    let accept = String::from_utf8_lossy(accept.as_bytes());
    accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or_default().trim();
        matches!(media, "application/json" | "application/*" | "*/*")
    })
}

/// The subscription's RecordIO stream: the master's events, plus a HEARTBEAT whenever
/// `heartbeat` passes; it ends when the master closes the subscription. Events already waiting
/// go out together in one chunk (up to [`CHUNK`] bytes), so a burst costs few writes.
fn stream(sub: Subscription, heartbeat: Duration) -> Response {
    let Subscription { stream_id, events } = sub;
    let start = tokio::time::Instant::now() + heartbeat;
    let ticks = tokio::time::interval_at(start, heartbeat);
    let records = futures::stream::unfold((events, ticks), |(mut events, mut ticks)| async move {
        let event = tokio::select! {
            biased;
            e = events.recv() => e?,
            _ = ticks.tick() => Event::Heartbeat,
        };
        let mut chunk = BytesMut::new();
        let mut json = Vec::new();
        let mut next = Some(event);
        while let Some(event) = next.take() {
            json.clear();
            serde_json::to_writer(&mut json, &event).ok()?;
            recordio::encode(&json, &mut chunk);
            if chunk.len() < CHUNK {
                next = events.try_recv().ok();
            }
        }
        Some((Ok::<_, Infallible>(chunk.freeze()), (events, ticks)))
    });
    let mut response = Response::new(Body::from_stream(records));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&stream_id) {
        h.insert(STREAM_ID, v);
    }
    response
}
