//! `baton events`: follows the event stream, one JSON line per event, resuming where it left
//! off when a node goes away or the stream falls behind.

use super::{CallError, Client};
use crate::proto::v1::WatchRequest;
use crate::proto::v1::event_service_client::EventServiceClient;
use tonic::Code;

/// Where a resumed stream picks up: the last index printed and how many of its events were
/// printed (a resume is inclusive, so those are skipped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Position {
    index: u64,
    printed_at_index: usize,
}

impl Position {
    /// Whether an event at `index` is new, counting it if so.
    fn advance(&mut self, index: u64, skip: &mut usize) -> bool {
        if index == self.index && *skip > 0 {
            *skip -= 1;
            return false;
        }
        if index == self.index {
            self.printed_at_index += 1;
        } else {
            self.index = index;
            self.printed_at_index = 1;
        }
        true
    }
}

/// Prints events from `from_index` (0: only new ones) of the given Marathon types (none: all)
/// until interrupted or the stream cannot be resumed.
pub async fn run_events(
    client: &Client,
    from_index: u64,
    types: Vec<String>,
) -> anyhow::Result<()> {
    let mut position = Position {
        index: from_index,
        printed_at_index: 0,
    };
    let mut from = from_index;
    loop {
        let request = WatchRequest {
            from_index: from,
            event_types: types.clone(),
        };
        let mut stream = client
            .call(|c| {
                let request = request.clone();
                async move { EventServiceClient::new(c).watch(request).await }
            })
            .await?;
        let mut skip = if from == 0 {
            0
        } else {
            position.printed_at_index
        };
        let ended = loop {
            match stream.message().await {
                Ok(Some(event)) => {
                    if !position.advance(event.index, &mut skip) {
                        continue;
                    }
                    let payload: serde_json::Value = serde_json::from_str(&event.json)?;
                    let line = serde_json::json!({
                        "index": event.index,
                        "eventType": event.event_type,
                        "event": payload,
                    });
                    println!("{line}");
                }
                Ok(None) => break tonic::Status::unavailable("the stream ended"),
                Err(status) => break status,
            }
        };
        match ended.code() {
            // The node went away or we fell behind: pick up from the last event printed.
            Code::Unavailable | Code::Aborted | Code::Unknown | Code::Cancelled => {
                tracing::info!(status = %ended.message(), index = position.index, "resuming the event stream");
                from = position.index.max(from);
                if from == 0 {
                    // Nothing printed yet and only new events wanted: new events again.
                    continue;
                }
            }
            _ => return Err(CallError::Refused(ended).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_stream_skips_what_was_printed_at_the_last_index() {
        let mut p = Position::default();
        let mut skip = 0;
        assert!(p.advance(5, &mut skip));
        assert!(p.advance(5, &mut skip));
        assert!(p.advance(7, &mut skip));
        assert_eq!(
            p,
            Position {
                index: 7,
                printed_at_index: 1
            }
        );
        // Resumed from 7: its one printed event comes again and is skipped; the next is new.
        let mut skip = p.printed_at_index;
        assert!(!p.advance(7, &mut skip));
        assert!(p.advance(7, &mut skip));
        assert!(p.advance(9, &mut skip));
        assert_eq!(p.index, 9);
    }
}
