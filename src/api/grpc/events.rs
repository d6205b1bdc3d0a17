//! `EventService`: the event stream over gRPC, served by every node from its own applied
//! events and resumable from a log index.

use crate::api::Api;
use crate::api::events::{Ended, EventFilter, Subscription};
use crate::proto::v1::event_service_server::EventService;
use crate::proto::v1::{Event, WatchRequest};
use futures::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use tonic::{Request, Response, Status};

pub struct EventApi {
    api: Api,
}

impl EventApi {
    pub fn new(api: Api) -> EventApi {
        EventApi { api }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<Event, Status>> + Send>>;

/// What a stream still has to do: send what is pending, then wait for more, or stop.
struct Watch {
    subscription: Subscription,
    filter: EventFilter,
    pending: VecDeque<Event>,
    done: bool,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<Event, Status>, Watch)> {
        loop {
            if self.done {
                return None;
            }
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            match self.subscription.next().await {
                Ok(applied) => {
                    let events = self
                        .filter
                        .select(&applied)
                        .into_iter()
                        .map(|(kind, json)| Event {
                            index: applied.index,
                            event_type: kind.to_string(),
                            json: json.to_string(),
                        });
                    self.pending.extend(events);
                }
                Err(ended) => {
                    self.done = true;
                    let status = match ended {
                        Ended::Lagged { .. } => Status::aborted(ended.to_string()),
                        Ended::Closed => Status::unavailable(ended.to_string()),
                    };
                    return Some((Err(status), self));
                }
            }
        }
    }
}

#[tonic::async_trait]
impl EventService for EventApi {
    type WatchStream = EventStream;

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let subscription = self
            .api
            .history()
            .subscribe(request.from_index)
            .map_err(|gone| Status::failed_precondition(gone.to_string()))?;
        let watch = Watch {
            subscription,
            filter: EventFilter::new(&request.event_types),
            pending: VecDeque::new(),
            done: false,
        };
        let stream = futures::stream::unfold(watch, Watch::next);
        Ok(Response::new(Box::pin(stream)))
    }
}
