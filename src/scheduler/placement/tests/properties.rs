//! Properties over random offers and demand: no offer is overcommitted, ports are distinct and
//! offered, every instance gets what it asked for, and constraints hold across the round.

use super::*;
use crate::mesos::ReservationInfo;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

const CONSTRAINTS: [&str; 5] = [
    "[]",
    r#"[["hostname","UNIQUE"]]"#,
    r#"[["rack","MAX_PER","2"]]"#,
    r#"[["hostname","CLUSTER",""]]"#,
    r#"[["rack","GROUP_BY"]]"#,
];

fn arb_resource() -> impl Strategy<Value = Resource> {
    let scalar = (
        prop::sample::select(vec!["cpus", "mem", "disk", "gpus"]),
        0u32..40,
    )
        .prop_map(|(name, n)| {
            let unit = if name == "mem" || name == "disk" {
                50.0
            } else {
                0.25
            };
            Resource::scalar(name, f64::from(n) * unit)
        });
    let port_range = (31000u64..31030, 0u64..6).prop_map(|(begin, len)| ports(begin, begin + len));
    (prop_oneof![3 => scalar, 1 => port_range], any::<bool>()).prop_map(|(mut r, prod)| {
        if prod {
            r.reservations = vec![ReservationInfo {
                role: Some("prod".into()),
                ..ReservationInfo::default()
            }];
        }
        allocated(r)
    })
}

fn arb_offer() -> impl Strategy<Value = Offer> {
    (
        prop::sample::select(vec!["h1", "h2", "h3"]),
        prop::sample::select(vec!["r1", "r2"]),
        prop::collection::vec(arb_resource(), 0..10),
    )
        .prop_map(|(host, rack, resources)| {
            let mut o = agent(host, &format!("rack:{rack}"));
            o.resources = resources;
            o
        })
}

fn arb_want(index: usize) -> impl Strategy<Value = Want> {
    (
        (1u32..12, 1u32..12, 0u32..4, 0u32..2),
        (0usize..3, any::<bool>(), 31000u32..31020),
        (0..CONSTRAINTS.len(), any::<bool>(), 1u32..7),
    )
        .prop_map(
            move |((cpus, mem, disk, gpus), (n_ports, require, first), (c, prod, count))| {
                let port_defs: Vec<String> = (0..n_ports as u32)
                    .map(|k| format!(r#"{{"port":{}}}"#, first + 3 * k))
                    .collect();
                let base = app(&format!(
                    r#"{{"id":"/app{index}","cmd":"x","cpus":{},"mem":{},"disk":{},
                        "requirePorts":{require},"portDefinitions":[{}],"constraints":{}}}"#,
                    f64::from(cpus) * 0.25,
                    mem * 50,
                    disk * 50,
                    port_defs.join(","),
                    CONSTRAINTS[c],
                ));
                let app = modified(&base, |a| {
                    a.gpus = gpus;
                    if prod {
                        a.role = "prod".into();
                        a.accepted_resource_roles = Some(vec!["prod".into(), "*".into()]);
                    }
                });
                Want { app, count }
            },
        )
}

fn arb_wants() -> impl Strategy<Value = Vec<Want>> {
    (1usize..4).prop_flat_map(|n| (0..n).map(arb_want).collect::<Vec<_>>())
}

fn key(r: &Resource) -> (String, Option<String>) {
    (r.name.clone(), r.reserved_role().map(String::from))
}

fn offered_ports(offer: &Offer, role: Option<&str>) -> Vec<(u64, u64)> {
    offer
        .resources
        .iter()
        .filter(|r| r.name == "ports" && r.reserved_role() == role)
        .flat_map(|r| match &r.value {
            Value::Ranges(rs) => rs.iter().map(|x| (x.begin, x.end)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_offer_is_overcommitted_and_constraints_hold(
        offers in prop::collection::vec(arb_offer(), 1..6),
        mut wants in arb_wants(),
        limit in 1usize..8,
        restricted in any::<bool>(),
    ) {
        let asked: Vec<u32> = wants.iter().map(|w| w.count).collect();
        let s = MatchSettings {
            max_instances_per_offer: limit,
            gpu_scheduling: if restricted { GpuScheduling::Restricted } else { GpuScheduling::Unrestricted },
            ..settings()
        };
        let plans = place(&offers, &mut wants, &crate::state::State::default(), &s);
        prop_assert_eq!(plans.len(), offers.len());
        let mut where_placed: BTreeMap<String, Vec<&Offer>> = BTreeMap::new();
        for (offer, plan) in offers.iter().zip(&plans) {
            prop_assert!(plan.placed.len() <= limit);
            // Scalars: per name and reservation, never more than offered.
            let mut offered: BTreeMap<(String, Option<String>), f64> = BTreeMap::new();
            for r in &offer.resources {
                if let Value::Scalar(v) = r.value {
                    *offered.entry(key(r)).or_default() += v;
                }
            }
            let mut taken: BTreeMap<(String, Option<String>), f64> = BTreeMap::new();
            let mut ports_here = HashSet::new();
            for p in &plan.placed {
                where_placed.entry(p.app.id.to_string()).or_default().push(offer);
                let app = &p.app;
                for r in &p.resources {
                    // Only resources of a role the app may use.
                    prop_assert!(r.reserved_role().is_none_or(|role| role == app.role));
                    if let Value::Scalar(v) = r.value {
                        *taken.entry(key(r)).or_default() += v;
                    }
                }
                // Each instance gets exactly what it asked for.
                for (name, want) in [("cpus", app.cpus), ("mem", app.mem), ("disk", app.disk), ("gpus", f64::from(app.gpus))] {
                    prop_assert!((scalar(&p.resources, name) - want).abs() < 1e-6, "{} {}", name, want);
                }
                if restricted && app.gpus == 0 {
                    prop_assert!(!super::super::pool::has_gpus(offer), "GPU agent used by a GPU-less app");
                }
                // Ports: one per definition, the required ones exactly, distinct on the offer,
                // inside an offered range of the reservation they are returned with.
                prop_assert_eq!(p.host_ports.len(), app.port_definitions.len());
                for (port, def) in p.host_ports.iter().zip(&app.port_definitions) {
                    if app.require_ports && def.port != 0 {
                        prop_assert_eq!(*port, def.port);
                    }
                    prop_assert!(ports_here.insert(*port), "port {} given twice", port);
                }
                let mut returned = Vec::new();
                for r in p.resources.iter().filter(|r| r.name == "ports") {
                    let Value::Ranges(rs) = &r.value else { continue };
                    for x in rs {
                        prop_assert_eq!(x.begin, x.end);
                        prop_assert!(offered_ports(offer, r.reserved_role())
                            .iter()
                            .any(|(b, e)| (*b..=*e).contains(&x.begin)));
                        returned.push(x.begin as u32);
                    }
                }
                returned.sort_unstable();
                let mut host_ports = p.host_ports.clone();
                host_ports.sort_unstable();
                prop_assert_eq!(returned, host_ports);
            }
            for (k, v) in &taken {
                let have = offered.get(k).copied().unwrap_or(0.0);
                prop_assert!(*v <= have + 1e-6, "{:?}: took {} of {}", k, v, have);
            }
        }
        // Demand counts down by what was placed.
        for (w, asked) in wants.iter().zip(asked) {
            let placed = where_placed.get(&w.app.id.to_string()).map_or(0, Vec::len) as u32;
            prop_assert_eq!(w.count + placed, asked);
        }
        // Constraints hold over the whole round.
        for w in &wants {
            let Some(on) = where_placed.get(&w.app.id.to_string()) else { continue };
            let hosts: Vec<&str> = on.iter().map(|o| o.hostname.as_str()).collect();
            let racks: Vec<String> = on.iter().map(|o| o.attributes[0].value.to_text()).collect();
            for c in &w.app.constraints {
                match (c.field.as_str(), c.operator.as_str()) {
                    ("hostname", "UNIQUE") => {
                        prop_assert_eq!(hosts.iter().collect::<HashSet<_>>().len(), hosts.len());
                    }
                    ("hostname", "CLUSTER") => {
                        prop_assert!(hosts.iter().all(|h| *h == hosts[0]));
                    }
                    ("rack", "MAX_PER") => {
                        for rack in &racks {
                            prop_assert!(racks.iter().filter(|r| *r == rack).count() <= 2);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
