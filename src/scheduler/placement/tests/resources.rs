//! Roles, scalars, ports, maintenance, GPUs, and packing several instances and apps per offer.

use super::*;
use crate::mesos::{DurationInfo, Label, Labels, ReservationInfo, TimeInfo, Unavailability};
use crate::state::app::PortDefinition;
use crate::state::time::Timestamp;

#[test]
fn fills_an_offer_and_never_overcommits_it() {
    let web = app(r#"{"id":"/web","cmd":"x","cpus":0.5,"mem":300,"instances":5}"#);
    let mut wants = vec![want(&web, 5)];
    let plans = place_fresh(&[standard()], &mut wants);
    // mem allows 3 (900 of 1024), cpus 4, ports 4.
    assert_eq!(plans[0].placed.len(), 3);
    assert_eq!(wants[0].count, 2);
    assert_eq!(refusal(&plans), Refusal::InsufficientMemory);
    let mem: f64 = plans[0]
        .placed
        .iter()
        .map(|p| scalar(&p.resources, "mem"))
        .sum();
    assert!((mem - 900.0).abs() < 1e-9);
    let ports: Vec<u32> = plans[0]
        .placed
        .iter()
        .flat_map(|p| p.host_ports.clone())
        .collect();
    assert_eq!(ports, vec![31000, 31001, 31002]);
    // The taken resources keep the offer's allocation role, as the master requires.
    assert!(
        plans[0].placed[0]
            .resources
            .iter()
            .all(|r| r.allocation_info == Some(AllocationInfo { role: "*".into() }))
    );
}

#[test]
fn several_apps_share_an_offer_and_later_offers_take_the_rest() {
    let a = app(r#"{"id":"/a","cmd":"x","cpus":1,"mem":100}"#);
    let b = app(r#"{"id":"/b","cmd":"x","cpus":1,"mem":100,"instances":2}"#);
    let mut wants = vec![want(&a, 1), want(&b, 2)];
    let offers = [standard(), offer_from("127.0.1.2", standard_resources())];
    let plans = place_fresh(&offers, &mut wants);
    let ids = |plan: &OfferPlan| -> Vec<String> {
        plan.placed.iter().map(|p| p.app.id.to_string()).collect()
    };
    assert_eq!(ids(&plans[0]), ["/a", "/b"], "a and one b fill two cpus");
    assert_eq!(
        ids(&plans[1]),
        ["/b"],
        "the second b goes on the second offer"
    );
    assert!(wants.iter().all(|w| w.count == 0));
}

#[test]
fn apps_take_turns_on_an_offer_up_to_the_instance_limit() {
    let a = app(r#"{"id":"/a","cmd":"x","cpus":0.1,"mem":10,"portDefinitions":[]}"#);
    let b = app(r#"{"id":"/b","cmd":"x","cpus":0.1,"mem":10,"portDefinitions":[]}"#);
    let mut wants = vec![want(&a, 10), want(&b, 10)];
    let limited = MatchSettings {
        max_instances_per_offer: 5,
        ..settings()
    };
    let plans = place(
        &[standard()],
        &mut wants,
        &crate::state::State::default(),
        &limited,
    );
    let ids: Vec<String> = plans[0]
        .placed
        .iter()
        .map(|p| p.app.id.to_string())
        .collect();
    assert_eq!(ids, ["/a", "/b", "/a", "/b", "/a"]);
    assert_eq!((wants[0].count, wants[1].count), (7, 8));
    assert!(
        plans[0].refused.is_empty(),
        "nobody was refused: the offer was full"
    );
    assert_eq!(
        MatchSettings::at(Timestamp(0)).max_instances_per_offer,
        5,
        "Marathon's default"
    );
}

#[test]
fn required_ports_are_taken_exactly_or_not_at_all() {
    let fixed = app(
        r#"{"id":"/f","cmd":"x","cpus":0.1,"mem":10,"requirePorts":true,
            "portDefinitions":[{"port":31002},{"port":31003}]}"#,
    );
    let mut wants = vec![want(&fixed, 2)];
    let plans = place_fresh(&[standard()], &mut wants);
    assert_eq!(plans[0].placed.len(), 1);
    assert_eq!(plans[0].placed[0].host_ports, vec![31002, 31003]);
    assert_eq!(refusal(&plans), Refusal::InsufficientPorts);
    let outside = app(
        r#"{"id":"/g","cmd":"x","cpus":0.1,"mem":10,"requirePorts":true,
            "portDefinitions":[{"port":80}]}"#,
    );
    let plans = place_fresh(&[standard()], &mut [want(&outside, 1)]);
    assert_eq!(refusal(&plans), Refusal::InsufficientPorts);
}

#[test]
fn dynamic_ports_avoid_the_fixed_ones_and_run_out() {
    let three = app(r#"{"id":"/p","cmd":"x","cpus":0.1,"mem":10,
            "portDefinitions":[{"port":0},{"port":0},{"port":0}]}"#);
    let plans = place_fresh(&[standard()], &mut [want(&three, 2)]);
    assert_eq!(plans[0].placed.len(), 1, "4 ports fit one instance of 3");
    assert_eq!(plans[0].placed[0].host_ports, vec![31000, 31001, 31002]);
    assert_eq!(refusal(&plans), Refusal::InsufficientPorts);
    // With requirePorts, a 0 is still "any port", and it does not take a fixed one.
    let mixed = modified(&three, |a| {
        a.require_ports = true;
        a.port_definitions = [0, 31000]
            .into_iter()
            .map(|port| PortDefinition {
                port,
                ..a.port_definitions[0].clone()
            })
            .collect();
    });
    let plans = place_fresh(&[standard()], &mut [want(&mixed, 1)]);
    assert_eq!(plans[0].placed[0].host_ports, vec![31001, 31000]);
}

#[test]
fn ports_of_several_instances_are_distinct_and_grouped_per_offered_range() {
    let two = app(r#"{"id":"/p","cmd":"x","cpus":0.1,"mem":10,
            "portDefinitions":[{"port":0},{"port":0}]}"#);
    let split = offer_from(
        "h",
        vec![
            Resource::scalar("cpus", 4.0),
            Resource::scalar("mem", 1024.0),
            ports(31000, 31002),
            ports(32000, 32002),
        ],
    );
    let plans = place_fresh(&[split], &mut [want(&two, 5)]);
    let taken: Vec<Vec<u32>> = plans[0]
        .placed
        .iter()
        .map(|p| p.host_ports.clone())
        .collect();
    assert_eq!(
        taken,
        [vec![31000, 31001], vec![31002, 32000], vec![32001, 32002]]
    );
    // The instance that straddles both ranges returns one resource per offered range.
    let straddling = plans[0].placed[1]
        .resources
        .iter()
        .filter(|r| r.name == "ports")
        .count();
    assert_eq!(straddling, 2);
}

fn reserved(mut r: Resource, role: &str) -> Resource {
    r.reservations = vec![ReservationInfo {
        role: Some(role.into()),
        ..ReservationInfo::default()
    }];
    r
}

fn prod(app: &Arc<AppDefinition>, accepted: &[&str]) -> Arc<AppDefinition> {
    modified(app, |a| {
        a.role = "prod".into();
        a.accepted_resource_roles = Some(accepted.iter().map(|r| r.to_string()).collect());
    })
}

#[test]
fn reserved_resources_are_only_for_their_role() {
    let o = offer_from(
        "h",
        vec![
            reserved(Resource::scalar("cpus", 4.0), "prod"),
            Resource::scalar("mem", 1024.0),
            ports(31000, 31000),
        ],
    );
    let star = app(r#"{"id":"/s","cmd":"x","cpus":1,"mem":10}"#);
    let plans = place_fresh(std::slice::from_ref(&o), &mut [want(&star, 1)]);
    assert_eq!(refusal(&plans), Refusal::InsufficientCpus);
    // Validation accepts only the framework's role for now; the matcher must not care.
    let both = prod(&star, &["prod", "*"]);
    let plans = place_fresh(std::slice::from_ref(&o), &mut [want(&both, 1)]);
    assert_eq!(plans[0].placed.len(), 1, "{:?}", plans[0].refused);
    let cpus = plans[0].placed[0]
        .resources
        .iter()
        .find(|r| r.name == "cpus")
        .expect("cpus taken");
    assert_eq!(cpus.reserved_role(), Some("prod"), "keeps its reservation");
    // Accepting only the reserved role leaves the unreserved mem and ports out of reach.
    let only_prod = prod(&star, &["prod"]);
    let plans = place_fresh(std::slice::from_ref(&o), &mut [want(&only_prod, 1)]);
    assert_eq!(refusal(&plans), Refusal::InsufficientMemory);
}

#[test]
fn an_offer_with_nothing_of_an_accepted_role_is_an_unfulfilled_role() {
    let only_prod = prod(
        &app(r#"{"id":"/s","cmd":"x","cpus":1,"mem":10}"#),
        &["prod"],
    );
    let plans = place_fresh(&[standard()], &mut [want(&only_prod, 1)]);
    assert_eq!(refusal(&plans), Refusal::UnfulfilledRole);
    // Resources reserved for another role do not help either.
    let other = offer_from("h", vec![reserved(Resource::scalar("cpus", 4.0), "ops")]);
    let plans = place_fresh(&[other], &mut [want(&only_prod, 1)]);
    assert_eq!(refusal(&plans), Refusal::UnfulfilledRole);
}

#[test]
fn labelled_reservations_are_left_to_resident_instances() {
    let mut cpus = reserved(Resource::scalar("cpus", 4.0), "prod");
    cpus.reservations[0].labels = Some(Labels {
        labels: vec![Label {
            key: "marathon_task_id".into(),
            value: Some("x".into()),
        }],
    });
    let o = offer_from("h", vec![cpus, Resource::scalar("mem", 1024.0)]);
    let both = prod(
        &app(r#"{"id":"/s","cmd":"x","cpus":1,"mem":10,"portDefinitions":[]}"#),
        &["prod", "*"],
    );
    let plans = place_fresh(&[o], &mut [want(&both, 1)]);
    assert_eq!(refusal(&plans), Refusal::InsufficientCpus);
}

fn under_maintenance(start_ms: i64, duration_ms: Option<i64>) -> Offer {
    let mut o = standard();
    o.unavailability = Some(Unavailability {
        start: TimeInfo {
            nanoseconds: start_ms * 1_000_000,
        },
        duration: duration_ms.map(|d| DurationInfo {
            nanoseconds: d * 1_000_000,
        }),
    });
    o
}

#[test]
fn agents_in_a_maintenance_window_are_refused() {
    let web = app(r#"{"id":"/web","cmd":"x","cpus":0.1,"mem":10}"#);
    let now = settings().now.millis();
    let hour = 3_600_000;
    // (window start relative to now, duration, draining seconds, launches?)
    let table = [
        ("window started, no end", -hour, None, 0, false),
        ("window started, lasts an hour", -1, Some(hour), 0, false),
        ("window over", -2 * hour, Some(hour), 0, true),
        ("window in the future", hour, Some(hour), 0, true),
        (
            "window soon, within draining time",
            60_000,
            Some(hour),
            120,
            false,
        ),
        (
            "window soon, beyond draining time",
            600_000,
            Some(hour),
            120,
            true,
        ),
    ];
    for (case, start, duration, draining, launches) in table {
        let s = MatchSettings {
            draining: Duration::from_secs(draining),
            ..settings()
        };
        let plans = place(
            &[under_maintenance(now + start, duration)],
            &mut [want(&web, 1)],
            &crate::state::State::default(),
            &s,
        );
        assert_eq!(plans[0].placed.len() == 1, launches, "{case}");
        if !launches {
            assert_eq!(refusal(&plans), Refusal::AgentMaintenance, "{case}");
        }
    }
}

fn gpu_agent() -> Offer {
    let mut resources = standard_resources();
    resources.push(Resource::scalar("gpus", 2.0));
    offer_from("gpu-1", resources)
}

#[test]
fn gpu_agents_are_kept_for_gpu_apps_unless_unrestricted() {
    let plain = app(r#"{"id":"/plain","cmd":"x","cpus":0.1,"mem":10}"#);
    let gpu = modified(&plain, |a| {
        a.id = PathId::parse("/gpu", None).expect("path");
        a.gpus = 1;
    });
    let plans = place_fresh(&[gpu_agent()], &mut [want(&plain, 1)]);
    assert_eq!(refusal(&plans), Refusal::DeclinedScarceResources);

    let mut wants = [want(&gpu, 3)];
    let plans = place_fresh(&[gpu_agent()], &mut wants);
    assert_eq!(plans[0].placed.len(), 2, "two GPUs, one each");
    assert_eq!(scalar(&plans[0].placed[1].resources, "gpus"), 1.0);
    assert_eq!(refusal(&plans), Refusal::InsufficientGpus);

    let plans = place_fresh(&[standard()], &mut [want(&gpu, 1)]);
    assert_eq!(
        refusal(&plans),
        Refusal::InsufficientGpus,
        "no GPUs offered"
    );

    let unrestricted = MatchSettings {
        gpu_scheduling: GpuScheduling::Unrestricted,
        ..settings()
    };
    let plans = place(
        &[gpu_agent()],
        &mut [want(&plain, 1)],
        &crate::state::State::default(),
        &unrestricted,
    );
    assert_eq!(plans[0].placed.len(), 1);
    assert_eq!(scalar(&plans[0].placed[0].resources, "gpus"), 0.0);
}

#[test]
fn scalars_are_checked_cpus_then_mem_then_disk() {
    let table = [
        (
            r#""cpus":3,"mem":2000,"disk":2000"#,
            Refusal::InsufficientCpus,
        ),
        (
            r#""cpus":1,"mem":2000,"disk":2000"#,
            Refusal::InsufficientMemory,
        ),
        (
            r#""cpus":1,"mem":100,"disk":2000"#,
            Refusal::InsufficientDisk,
        ),
    ];
    for (resources, expected) in table {
        let a = app(&format!(r#"{{"id":"/a","cmd":"x",{resources}}}"#));
        let plans = place_fresh(&[standard()], &mut [want(&a, 1)]);
        assert_eq!(refusal(&plans), expected, "{resources}");
    }
}

#[test]
fn resources_come_from_several_offered_parts_when_one_is_short() {
    let o = offer_from(
        "h",
        vec![
            reserved(Resource::scalar("cpus", 0.5), "prod"),
            Resource::scalar("cpus", 1.0),
            Resource::scalar("mem", 512.0),
        ],
    );
    let a = prod(
        &app(r#"{"id":"/a","cmd":"x","cpus":1.2,"mem":10,"portDefinitions":[]}"#),
        &["prod", "*"],
    );
    let plans = place_fresh(&[o], &mut [want(&a, 1)]);
    let cpus: Vec<(Option<&str>, f64)> = plans[0].placed[0]
        .resources
        .iter()
        .filter(|r| r.name == "cpus")
        .map(|r| (r.reserved_role(), scalar(std::slice::from_ref(r), "cpus")))
        .collect();
    assert_eq!(cpus.len(), 2, "reserved first, the rest unreserved");
    assert_eq!(cpus[0], (Some("prod"), 0.5));
    assert!((cpus[1].1 - 0.7).abs() < 1e-9);
}

#[test]
fn removing_a_port_splits_its_range() {
    use super::super::pool::remove_port;
    let r = |begin, end| Range { begin, end };
    assert_eq!(remove_port(&[r(10, 20)], 15), vec![r(10, 14), r(16, 20)]);
    assert_eq!(remove_port(&[r(10, 20)], 10), vec![r(11, 20)]);
    assert_eq!(remove_port(&[r(10, 10)], 10), vec![]);
}
