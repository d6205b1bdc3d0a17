//! The first failing check of Marathon's funnel is the reason reported.

use super::*;
use crate::mesos::{TimeInfo, Unavailability};

#[test]
fn reasons_are_named_and_ordered_as_marathon_does() {
    let names: Vec<&str> = Refusal::FUNNEL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "UnfulfilledRole",
            "UnfulfilledConstraint",
            "NoCorrespondingReservationFound",
            "AgentMaintenance",
            "InsufficientCpus",
            "InsufficientMemory",
            "InsufficientDisk",
            "InsufficientGpus",
            "InsufficientPorts",
            "DeclinedScarceResources",
        ]
    );
    for (i, r) in Refusal::FUNNEL.iter().enumerate() {
        assert_eq!(r.index(), i);
    }
}

/// An offer that fails the checks named in `fails` for a small app that wants one port.
fn failing(fails: &[Refusal]) -> Offer {
    let has = |r: Refusal| fails.contains(&r);
    let mut resources = Vec::new();
    if !has(Refusal::UnfulfilledRole) {
        resources.push(Resource::scalar(
            "cpus",
            if has(Refusal::InsufficientCpus) {
                0.05
            } else {
                1.0
            },
        ));
        resources.push(Resource::scalar(
            "mem",
            if has(Refusal::InsufficientMemory) {
                5.0
            } else {
                100.0
            },
        ));
        resources.push(Resource::scalar(
            "disk",
            if has(Refusal::InsufficientDisk) {
                5.0
            } else {
                100.0
            },
        ));
        if !has(Refusal::InsufficientPorts) {
            resources.push(ports(31000, 31000));
        }
        if has(Refusal::DeclinedScarceResources) {
            resources.push(Resource::scalar("gpus", 1.0));
        }
    }
    let mut offer = offer_from(
        if has(Refusal::UnfulfilledConstraint) {
            "elsewhere"
        } else {
            "here"
        },
        resources,
    );
    if has(Refusal::UnfulfilledRole) {
        // Only resources reserved for a role the app does not accept.
        let mut cpus = Resource::scalar("cpus", 4.0);
        cpus.role = Some("ops".into());
        offer.resources.push(allocated(cpus));
    }
    if has(Refusal::AgentMaintenance) {
        offer.unavailability = Some(Unavailability {
            start: TimeInfo { nanoseconds: 0 },
            duration: None,
        });
    }
    offer
}

#[test]
fn the_first_failing_check_in_funnel_order_is_the_reason() {
    use Refusal::*;
    let web = app(r#"{"id":"/web","cmd":"x","cpus":0.1,"mem":10,"disk":10,
            "constraints":[["hostname","LIKE","here"]]}"#);
    let gpu = modified(&web, |a| a.gpus = 1);
    let table: &[(&[Refusal], &Arc<AppDefinition>, Refusal)] = &[
        (
            &[UnfulfilledRole, UnfulfilledConstraint, AgentMaintenance],
            &web,
            UnfulfilledRole,
        ),
        (
            &[UnfulfilledConstraint, AgentMaintenance, InsufficientCpus],
            &web,
            UnfulfilledConstraint,
        ),
        (
            &[AgentMaintenance, InsufficientCpus, InsufficientPorts],
            &web,
            AgentMaintenance,
        ),
        (
            &[InsufficientCpus, InsufficientMemory, InsufficientDisk],
            &web,
            InsufficientCpus,
        ),
        (
            &[InsufficientMemory, InsufficientDisk, InsufficientPorts],
            &web,
            InsufficientMemory,
        ),
        (
            &[InsufficientDisk, InsufficientPorts, DeclinedScarceResources],
            &web,
            InsufficientDisk,
        ),
        (&[InsufficientPorts], &gpu, InsufficientGpus),
        (
            &[InsufficientPorts, DeclinedScarceResources],
            &web,
            InsufficientPorts,
        ),
        (&[DeclinedScarceResources], &web, DeclinedScarceResources),
    ];
    for (fails, app, expected) in table {
        let plans = place_fresh(&[failing(fails)], &mut [want(app, 1)]);
        assert_eq!(refusal(&plans), *expected, "{fails:?}");
    }
    // And with nothing failing, it launches.
    let plans = place_fresh(&[failing(&[])], &mut [want(&web, 1)]);
    assert_eq!(plans[0].placed.len(), 1, "{:?}", plans[0].refused);
}
