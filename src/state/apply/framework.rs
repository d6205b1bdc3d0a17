//! The framework commands: store the framework id once, request a teardown, forget the framework.

use crate::state::command::{Outcome, Rejection, Response};
use crate::state::events::Event;
use crate::state::ids::FrameworkId;
use crate::state::model::{Condition, Instance};
use crate::state::rows::RowKey;
use crate::state::{Applied, State};

impl State {
    /// The framework id is written once; a different id later means a second framework, which a
    /// leader must never silently adopt.
    pub(super) fn set_framework_id(&mut self, id: &FrameworkId, applied: &mut Applied) -> Response {
        match &self.settings.framework_id {
            Some(current) if current == id => Ok(Outcome::FrameworkId { id: id.clone() }),
            Some(current) => Err(Rejection::Invalid(format!(
                "framework id is already {current}; refusing to replace it with {id}"
            ))),
            None => {
                self.settings.framework_id = Some(id.clone());
                self.settings.revision += 1;
                applied.touched.push(RowKey::Settings);
                applied
                    .events
                    .push(Event::FrameworkIdStored { id: id.clone() });
                Ok(Outcome::FrameworkId { id: id.clone() })
            }
        }
    }

    /// Refused unless `id` is the stored framework id: an operator names what they destroy.
    fn check_framework(&self, id: &FrameworkId) -> Result<(), Rejection> {
        match &self.settings.framework_id {
            Some(current) if current == id => Ok(()),
            Some(current) => Err(Rejection::Invalid(format!(
                "the framework is {current}, not {id}"
            ))),
            None => Err(Rejection::Invalid(
                "no framework is registered with Mesos yet".to_string(),
            )),
        }
    }

    pub(super) fn request_teardown(&mut self, id: &FrameworkId, applied: &mut Applied) -> Response {
        self.check_framework(id)?;
        if !self.settings.teardown_requested {
            self.settings.teardown_requested = true;
            self.settings.revision += 1;
            applied.touched.push(RowKey::Settings);
            applied
                .events
                .push(Event::FrameworkTeardownRequested { id: id.clone() });
        }
        Ok(Outcome::TeardownRequested {
            framework_id: id.clone(),
        })
    }

    pub(super) fn forget_framework(&mut self, id: &FrameworkId, applied: &mut Applied) -> Response {
        self.check_framework(id)?;
        let gone: Vec<Instance> = self.instances().cloned().collect();
        for instance in &gone {
            self.remove_instance(&instance.id);
            applied.touched.push(RowKey::Instance(instance.id.clone()));
            applied.events.push(Event::InstanceExpunged {
                id: instance.id.clone(),
                app: instance.app.clone(),
                condition: Condition::Killed,
                last: Some(Box::new(instance.clone())),
            });
        }
        self.settings.framework_id = None;
        self.settings.teardown_requested = false;
        self.settings.revision += 1;
        applied.touched.push(RowKey::Settings);
        applied
            .events
            .push(Event::FrameworkForgotten { id: id.clone() });
        Ok(Outcome::FrameworkForgotten {
            framework_id: id.clone(),
            instances: gone.len(),
        })
    }
}
