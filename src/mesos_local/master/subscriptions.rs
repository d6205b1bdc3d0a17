//! Frameworks' subscriptions: SUBSCRIBE itself (a new framework, a failover or a refusal), the
//! checks every other call passes first, and disconnection when the client goes away, which
//! becomes removal once the failover timeout passes.

use super::handle::{CallRefused, Subscription};
use super::records::Framework;
use super::streams::{EVENT_QUEUE, Stream};
use super::{Master, now_secs};
use crate::mesos::{Call, ErrorEvent, Event, FrameworkId, Subscribe, Subscribed};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

impl Master {
    /// The master's checks of a non-SUBSCRIBE call, in its order: known, subscribed, stream id
    /// present, stream id current.
    pub(super) fn check_caller(
        &self,
        call: &Call,
        stream_id: Option<&str>,
    ) -> Result<FrameworkId, CallRefused> {
        let id = call.framework_id.clone().ok_or_else(|| {
            CallRefused::BadRequest("Expecting 'framework_id' to be present".into())
        })?;
        let framework = self
            .frameworks
            .get(&id)
            .ok_or_else(|| CallRefused::BadRequest("Framework cannot be found".into()))?;
        let stream = framework
            .stream
            .as_ref()
            .ok_or_else(|| CallRefused::Forbidden("Framework is not subscribed".into()))?;
        let given = stream_id.ok_or_else(|| {
            CallRefused::BadRequest(
                "All non-subscribe calls should include the 'Mesos-Stream-Id' header".into(),
            )
        })?;
        if given != stream.id {
            return Err(CallRefused::BadRequest(format!(
                "The stream ID '{given}' included in this request didn't match the stream ID \
                 currently associated with framework ID {id}"
            )));
        }
        Ok(id)
    }

    pub(super) fn subscribe(&mut self, subscribe: Subscribe) -> Subscription {
        let (tx, events) = mpsc::channel(EVENT_QUEUE);
        let stream_id = uuid::Uuid::new_v4().to_string();
        let refuse = |tx: mpsc::Sender<Event>, message: &str| {
            let _ = tx.try_send(Event::Error(ErrorEvent {
                message: message.to_owned(),
            }));
        };
        let mut info = subscribe.framework_info;
        let now = now_secs();
        let id = match info.id.clone() {
            Some(id)
                if self
                    .completed_frameworks
                    .iter()
                    .any(|f| f.info.id.as_ref() == Some(&id)) =>
            {
                refuse(tx, "Framework has been removed");
                return Subscription { stream_id, events };
            }
            Some(id) if self.frameworks.contains_key(&id) => {
                let Some(fw) = self.frameworks.get_mut(&id) else {
                    return Subscription { stream_id, events };
                };
                if fw.info.principal != info.principal {
                    refuse(tx, "Changing framework's principal is not allowed.");
                    return Subscription { stream_id, events };
                }
                if let Some(old) = fw.stream.take() {
                    tracing::info!(framework_id = %id, "framework failed over");
                    let _ = old.events.try_send(Event::Error(ErrorEvent {
                        message: "Framework failed over".into(),
                    }));
                }
                // Resubscription keeps the user and checkpoint flag it started with.
                info.user = fw.info.user.clone();
                info.checkpoint = fw.info.checkpoint;
                fw.info = info;
                fw.reregistered_time = Some(now);
                self.discard_offers(&id);
                id
            }
            recovered => {
                let id = recovered.unwrap_or_else(|| {
                    let id = FrameworkId::new(format!("{}-{:04}", self.id, self.next_framework));
                    self.next_framework += 1;
                    id
                });
                info.id = Some(id.clone());
                let fw = Framework {
                    info,
                    stream: None,
                    registered_time: now,
                    reregistered_time: None,
                    unregistered_time: None,
                    disconnected_at: None,
                    suppressed: false,
                    refusals: HashMap::new(),
                    tasks: BTreeMap::new(),
                    completed: VecDeque::new(),
                    executors: BTreeMap::new(),
                };
                tracing::info!(framework_id = %id, name = %fw.info.name, "framework subscribed");
                self.frameworks.insert(id.clone(), fw);
                id
            }
        };
        let subscribed = Event::Subscribed(Subscribed {
            framework_id: id.clone(),
            heartbeat_interval_seconds: Some(self.settings.heartbeat_interval.as_secs_f64()),
            master_info: Some(self.master_info()),
        });
        let _ = tx.try_send(subscribed);
        let _ = tx.try_send(Event::Heartbeat);
        if let Some(fw) = self.frameworks.get_mut(&id) {
            fw.suppressed = !subscribe.suppressed_roles.is_empty();
            fw.disconnected_at = None;
            fw.info.id = Some(id.clone());
            fw.stream = Some(Stream::new(stream_id.clone(), tx));
        }
        self.resend_heads(&id, true);
        Subscription { stream_id, events }
    }

    pub(super) fn disconnect(&mut self, framework: &FrameworkId) {
        if let Some(fw) = self.frameworks.get_mut(framework) {
            fw.stream = None;
            fw.disconnected_at = Some(Instant::now());
            tracing::info!(framework_id = %framework, "framework disconnected");
        }
        self.discard_offers(framework);
    }

    /// Notices subscriptions whose client went away, and removes frameworks whose failover
    /// timeout has passed.
    pub(super) fn check_subscriptions(&mut self) {
        let closed: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| f.stream.as_ref().is_some_and(|s| s.events.is_closed()))
            .map(|(id, _)| id.clone())
            .collect();
        for id in closed {
            self.disconnect(&id);
        }
        let now = Instant::now();
        let expired: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(_, f)| {
                let timeout = f
                    .info
                    .failover_timeout
                    .filter(|t| t.is_finite() && *t > 0.0);
                let timeout = Duration::from_secs_f64(timeout.unwrap_or(0.0).min(1e9));
                f.disconnected_at.is_some_and(|at| now >= at + timeout)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::info!(framework_id = %id, "failover timeout passed: removing the framework");
            self.remove_framework(&id);
        }
    }
}
