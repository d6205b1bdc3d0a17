//! Fixtures for the matcher's tests: apps from Marathon JSON, offers from a few knobs, and
//! existing instances without a state machine.

mod constraints;
mod funnel;
mod properties;
mod resources;

use super::constraints::Existing;
use super::*;
use crate::mesos::{
    AgentId, AllocationInfo, Attribute, DomainInfo, FrameworkId, OfferId, Range, Value,
};
use crate::state::app::{AppInput, parse_app};
use crate::state::ids::{AgentId as StateAgentId, InstanceId};
use crate::state::model::{Goal, Instance};
use crate::state::path::PathId;
use std::collections::BTreeMap;

pub(super) fn app(json: &str) -> Arc<AppDefinition> {
    Arc::new(parse_app(json.as_bytes(), AppInput::Create).expect("valid app"))
}

/// A small app (0.1 cpus, 10 MiB, one dynamic port) with these constraints.
pub(super) fn constrained(id: &str, constraints: &str) -> Arc<AppDefinition> {
    app(&format!(
        r#"{{"id":"{id}","cmd":"x","cpus":0.1,"mem":10,"constraints":{constraints}}}"#
    ))
}

/// An app changed in a way validation does not allow yet (GPUs, roles), as the matcher must
/// still handle it.
pub(super) fn modified(
    app: &Arc<AppDefinition>,
    change: impl FnOnce(&mut AppDefinition),
) -> Arc<AppDefinition> {
    let mut changed = (**app).clone();
    change(&mut changed);
    Arc::new(changed)
}

pub(super) fn want(app: &Arc<AppDefinition>, count: u32) -> Want {
    Want {
        app: Arc::clone(app),
        count,
    }
}

pub(super) fn allocated(mut r: Resource) -> Resource {
    r.allocation_info = Some(AllocationInfo { role: "*".into() });
    r
}

pub(super) fn ports(begin: u64, end: u64) -> Resource {
    Resource::ranges("ports", vec![Range { begin, end }])
}

/// An offer from agent `host` (its agent id is the hostname too).
pub(super) fn offer_from(host: &str, resources: Vec<Resource>) -> Offer {
    Offer {
        id: OfferId::new(format!("offer-{host}")),
        framework_id: FrameworkId::new("f"),
        agent_id: AgentId::new(host),
        hostname: host.into(),
        url: None,
        domain: None,
        allocation_info: Some(AllocationInfo { role: "*".into() }),
        resources: resources.into_iter().map(allocated).collect(),
        attributes: Vec::new(),
        executor_ids: Vec::new(),
        unavailability: None,
    }
}

/// 2 cpus, 1024 MiB, 1000 MiB disk, ports 31000-31003.
pub(super) fn standard_resources() -> Vec<Resource> {
    vec![
        Resource::scalar("cpus", 2.0),
        Resource::scalar("mem", 1024.0),
        Resource::scalar("disk", 1000.0),
        ports(31000, 31003),
    ]
}

pub(super) fn standard() -> Offer {
    offer_from("127.0.1.1", standard_resources())
}

/// A roomy offer from `host` with text attributes `attrs` ("rack:r1;tier:web").
pub(super) fn agent(host: &str, attrs: &str) -> Offer {
    let mut o = offer_from(
        host,
        vec![
            Resource::scalar("cpus", 8.0),
            Resource::scalar("mem", 8192.0),
            ports(31000, 31999),
        ],
    );
    o.attributes = attrs
        .split(';')
        .filter(|a| !a.is_empty())
        .map(|a| {
            let (name, value) = a.split_once(':').expect("name:value");
            Attribute {
                name: name.into(),
                value: Value::Text(value.into()),
            }
        })
        .collect();
    o
}

pub(super) fn in_domain(mut offer: Offer, region: &str, zone: &str) -> Offer {
    offer.domain = Some(DomainInfo::new(region, zone));
    offer
}

/// Settings at a fixed time, with no per-offer limit in the way unless a test sets one.
pub(super) fn settings() -> MatchSettings {
    MatchSettings {
        max_instances_per_offer: 100,
        ..MatchSettings::at(Timestamp(1_700_000_000_000))
    }
}

/// Instances that already run, standing in for the state.
#[derive(Default)]
pub(super) struct Running(pub Vec<Instance>);

impl Existing for Running {
    fn each_instance(&self, app: &PathId, f: &mut dyn FnMut(&Instance)) {
        self.0.iter().filter(|i| i.app == *app).for_each(f);
    }
}

impl Running {
    /// An instance of `app` running on the agent `offer` came from.
    pub(super) fn on(mut self, app: &AppDefinition, offer: &Offer) -> Running {
        let domain = offer.domain.as_ref();
        self.0.push(Instance {
            id: InstanceId::for_app(&app.id, uuid::Uuid::new_v4()),
            app: app.id.clone(),
            app_version: Timestamp(0),
            goal: Goal::Running,
            observed: None,
            agent: Some(StateAgentId(offer.agent_id.value.clone().into())),
            hostname: Some(offer.hostname.clone()),
            agent_attributes: offer
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.value.to_text()))
                .collect::<BTreeMap<_, _>>(),
            region: domain.and_then(|d| d.region()).map(String::from),
            zone: domain.and_then(|d| d.zone()).map(String::from),
            host_ports: Vec::new(),
            incarnation: 1,
            reservation: None,
            provisioned_at: Timestamp(0),
            health: Default::default(),
            ready: false,
            readiness_response: None,
            check_result: None,
            revision: 1,
        });
        self
    }

    /// Changes the last instance added.
    pub(super) fn last(mut self, change: impl FnOnce(&mut Instance)) -> Running {
        if let Some(i) = self.0.last_mut() {
            change(i);
        }
        self
    }
}

/// Matches with existing instances.
pub(super) fn place_with(
    offers: &[Offer],
    wants: &mut [Want],
    running: &Running,
    settings: &MatchSettings,
) -> Vec<OfferPlan> {
    place_among(offers, wants, running, settings)
}

/// Matches against an empty state, through the public entry point.
pub(super) fn place_fresh(offers: &[Offer], wants: &mut [Want]) -> Vec<OfferPlan> {
    place(offers, wants, &crate::state::State::default(), &settings())
}

/// The hostnames of the placements, offer by offer.
pub(super) fn hosts(offers: &[Offer], plans: &[OfferPlan]) -> Vec<String> {
    offers
        .iter()
        .zip(plans)
        .flat_map(|(o, p)| p.placed.iter().map(|_| o.hostname.clone()))
        .collect()
}

pub(super) fn scalar(resources: &[Resource], name: &str) -> f64 {
    resources
        .iter()
        .filter(|r| r.name == name)
        .map(|r| match r.value {
            Value::Scalar(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// The only refusal of the first plan.
pub(super) fn refusal(plans: &[OfferPlan]) -> Refusal {
    match plans[0].refused.as_slice() {
        [(_, r)] => *r,
        other => panic!("expected one refusal, got {other:?}"),
    }
}
