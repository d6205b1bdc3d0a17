//! `GET /v2/events`: Marathon's server-sent event stream, served by every node from its own
//! applied events (never proxied), with `event_type` filters and an optional `from_index`.

use super::Rest;
use crate::api::events::{EventFilter, Subscription};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream gets a comment, so proxies and clients keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Whether the client accepts an event stream (no `Accept` header accepts anything).
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return true;
    };
    let accept = accept.to_str().unwrap_or_default();
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        media.eq_ignore_ascii_case("text/event-stream")
            || media == "*/*"
            || media.eq_ignore_ascii_case("text/*")
    })
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

pub async fn stream(
    State(rest): State<Rest>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    if !accepts_event_stream(&headers) {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            "the event stream is served as text/event-stream only".into(),
        );
    }
    let filter = EventFilter::new(
        params
            .iter()
            .filter(|(k, _)| k == "event_type")
            .map(|(_, v)| v),
    );
    let from_index = match params.iter().find(|(k, _)| k == "from_index") {
        None => 0,
        Some((_, v)) => match v.parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("from_index must be a log index, not {v:?}"),
                );
            }
        },
    };
    let subscription = match rest.api.history().subscribe(from_index) {
        Ok(s) => s,
        Err(gone) => return error(StatusCode::GONE, gone.to_string()),
    };
    // Connection details are not passed to handlers; a proxy's header is the best we know.
    let remote = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let mut pending = VecDeque::new();
    if filter.admits("event_stream_attached") {
        let attached = json!({
            "remoteAddress": remote,
            "eventType": "event_stream_attached",
            "timestamp": crate::state::time::Timestamp::now().to_string(),
        });
        pending.push_back(("event_stream_attached", attached));
    }
    Sse::new(frames(subscription, filter, pending))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The stream of frames; it ends when the subscriber falls behind (Marathon disconnects slow
/// consumers) or the node shuts down.
fn frames(
    subscription: Subscription,
    filter: EventFilter,
    pending: VecDeque<(&'static str, Value)>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(
        (subscription, filter, pending),
        |(mut subscription, filter, mut pending)| async move {
            loop {
                if let Some((kind, payload)) = pending.pop_front() {
                    let frame = Event::default().event(kind).data(payload.to_string());
                    return Some((Ok(frame), (subscription, filter, pending)));
                }
                match subscription.next().await {
                    Ok(applied) => pending.extend(filter.select(&applied)),
                    Err(ended) => {
                        tracing::info!(%ended, "closing an event stream");
                        return None;
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(header::ACCEPT, v.parse().expect("header value"));
        }
        accepts_event_stream(&headers)
    }

    #[test]
    fn only_clients_that_take_an_event_stream_get_one() {
        assert!(accept(None));
        assert!(accept(Some("text/event-stream")));
        assert!(accept(Some("application/json, text/event-stream;q=0.9")));
        assert!(accept(Some("*/*")));
        assert!(!accept(Some("application/json")));
        assert!(!accept(Some("text/html")));
    }
}
