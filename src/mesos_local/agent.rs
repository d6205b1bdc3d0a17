//! An agent as the master knows it: its resources (total, used by tasks, offered), attributes and
//! fault domain, whether the master can reach it, and its maintenance window.

use super::resources::Resources;
use crate::mesos::{AgentId, Attribute, DomainInfo, Unavailability};

/// Whether the master can reach an agent, as the operator decides through `/admin`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Reach {
    Reachable,
    /// Since this many seconds after the epoch; its tasks may still run.
    Unreachable(f64),
    /// Gone for good, with its tasks; kept only so that indices stay stable.
    Removed,
}

pub(super) struct Agent {
    pub id: AgentId,
    pub hostname: String,
    pub total: Resources,
    pub used: Resources,
    pub offered: Resources,
    pub attributes: Vec<Attribute>,
    pub domain: Option<DomainInfo>,
    pub registered_time: f64,
    pub reach: Reach,
    /// Set while the agent is scheduled for maintenance; offers carry it.
    pub maintenance: Option<Unavailability>,
}

impl Agent {
    /// An agent with nothing used or offered; the master assigns its id.
    pub fn new(
        hostname: String,
        total: Resources,
        attributes: Vec<Attribute>,
        domain: Option<DomainInfo>,
        registered_time: f64,
    ) -> Agent {
        Agent {
            id: AgentId::new(""),
            hostname,
            total,
            used: Resources::default(),
            offered: Resources::default(),
            attributes,
            domain,
            registered_time,
            reach: Reach::Reachable,
            maintenance: None,
        }
    }

    pub fn free(&self) -> Resources {
        self.total.subtract(&self.used).subtract(&self.offered)
    }

    pub fn reachable(&self) -> bool {
        self.reach == Reach::Reachable
    }
}
