//! Which waiting instances go on which offer: a pure function of the offers and the demand, so
//! it is tested without Mesos. First fit, app by app, several instances and several apps per
//! offer; resources are taken from what the offer has left, so an offer is never overcommitted.
//!
//! What it checks today: roles (`role`, `acceptedResourceRoles`), cpus, mem, disk, gpus and host
//! ports (dynamic, or the exact ports with `requirePorts`). Apps with placement `constraints` wait
//! with a reason until the launch queue of the apps issue evaluates them: placing them while
//! ignoring a constraint would break what the user asked for.

use crate::mesos::{Offer, Range, Resource, Value};
use crate::state::app::AppDefinition;
use std::sync::Arc;

/// Instances of one app that should be launched.
#[derive(Clone, Debug)]
pub struct Want {
    pub app: Arc<AppDefinition>,
    pub count: u32,
}

/// One instance to launch on one offer: the resources taken for it, with the reservation
/// fields of the offered resources they came from (the master wants them back as offered).
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    pub app: Arc<AppDefinition>,
    pub resources: Vec<Resource>,
    pub host_ports: Vec<u32>,
}

/// Why an app got nothing from an offer (the first reason found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Role,
    Cpus,
    Mem,
    Disk,
    Gpus,
    Ports,
    Constraints,
}

impl Refusal {
    pub fn as_str(&self) -> &'static str {
        match self {
            Refusal::Role => "no resources of an accepted role",
            Refusal::Cpus => "insufficient cpus",
            Refusal::Mem => "insufficient mem",
            Refusal::Disk => "insufficient disk",
            Refusal::Gpus => "insufficient gpus",
            Refusal::Ports => "insufficient ports",
            Refusal::Constraints => "placement constraints are not evaluated yet",
        }
    }
}

/// What one offer can still give: per role, scalars and port ranges.
struct Pool {
    parts: Vec<Part>,
}

/// Resources of one name and one reservation, as offered, with what is left of them.
struct Part {
    template: Resource,
    left: Left,
}

enum Left {
    Scalar(f64),
    Ranges(Vec<Range>),
}

/// Scalars are compared with this slack, as Mesos compares them at fixed point.
const EPSILON: f64 = 1e-6;

impl Pool {
    fn new(offer: &Offer) -> Pool {
        let parts = offer
            .resources
            .iter()
            // Persistent volumes and revocable resources are for the stateful-workloads issue.
            .filter(|r| r.disk.is_none() && r.revocable.is_none() && r.shared.is_none())
            .filter_map(|r| {
                let left = match &r.value {
                    Value::Scalar(v) => Left::Scalar(*v),
                    Value::Ranges(ranges) => Left::Ranges(ranges.clone()),
                    Value::Set(_) | Value::Text(_) => return None,
                };
                Some(Part {
                    template: r.clone(),
                    left,
                })
            })
            .collect();
        Pool { parts }
    }

    /// Whether a part may be used by `app`: unreserved resources when the app accepts `*`,
    /// reserved ones when they are reserved for the app's role and the app accepts that role.
    fn usable(part: &Part, app: &AppDefinition) -> bool {
        let accepted = |role: &str| match &app.accepted_resource_roles {
            Some(roles) => roles.iter().any(|r| r == role),
            None => role == "*" || role == app.role,
        };
        match part.template.reserved_role() {
            None => accepted("*"),
            Some(role) => role == app.role && accepted(role),
        }
    }

    fn scalar_left(&self, name: &str, app: &AppDefinition) -> f64 {
        self.parts
            .iter()
            .filter(|p| p.template.name == name && Self::usable(p, app))
            .map(|p| match p.left {
                Left::Scalar(v) => v,
                Left::Ranges(_) => 0.0,
            })
            .sum()
    }

    /// Takes `amount` of a scalar, reserved parts first (they are ours alone).
    fn take_scalar(&mut self, name: &str, mut amount: f64, app: &AppDefinition) -> Vec<Resource> {
        let mut taken = Vec::new();
        let mut order: Vec<usize> = (0..self.parts.len()).collect();
        order.sort_by_key(|&i| self.parts[i].template.reserved_role().is_none());
        for i in order {
            if amount <= EPSILON {
                break;
            }
            let part = &mut self.parts[i];
            if part.template.name != name || !Self::usable(part, app) {
                continue;
            }
            let Left::Scalar(left) = &mut part.left else {
                continue;
            };
            let got = amount.min(*left);
            if got <= EPSILON {
                continue;
            }
            *left -= got;
            amount -= got;
            let mut r = part.template.clone();
            r.value = Value::Scalar(got);
            taken.push(r);
        }
        taken
    }

    /// Picks host ports: `wanted[i] == 0` means any port, otherwise exactly that port.
    fn pick_ports(&self, wanted: &[u32], app: &AppDefinition) -> Option<Vec<(usize, u32)>> {
        let mut picked: Vec<(usize, u32)> = Vec::with_capacity(wanted.len());
        let free = |i: usize, port: u32, picked: &[(usize, u32)]| {
            let part = &self.parts[i];
            let in_range = match &part.left {
                Left::Ranges(ranges) => ranges
                    .iter()
                    .any(|r| (r.begin..=r.end).contains(&u64::from(port))),
                Left::Scalar(_) => false,
            };
            in_range && !picked.iter().any(|&(_, p)| p == port)
        };
        let candidates: Vec<usize> = (0..self.parts.len())
            .filter(|&i| {
                self.parts[i].template.name == "ports" && Self::usable(&self.parts[i], app)
            })
            .collect();
        for &port in wanted {
            let found = if port != 0 {
                candidates
                    .iter()
                    .find(|&&i| free(i, port, &picked))
                    .map(|&i| (i, port))
            } else {
                candidates.iter().find_map(|&i| {
                    let Left::Ranges(ranges) = &self.parts[i].left else {
                        return None;
                    };
                    ranges.iter().find_map(|r| {
                        (r.begin..=r.end)
                            .filter_map(|p| u32::try_from(p).ok())
                            .find(|&p| free(i, p, &picked) && !wanted.contains(&p))
                            .map(|p| (i, p))
                    })
                })
            };
            picked.push(found?);
        }
        Some(picked)
    }

    fn take_ports(&mut self, picked: &[(usize, u32)]) -> Vec<Resource> {
        let mut taken: Vec<Resource> = Vec::new();
        for &(i, port) in picked {
            let part = &mut self.parts[i];
            if let Left::Ranges(ranges) = &mut part.left {
                *ranges = remove_port(ranges, u64::from(port));
            }
            let range = Range {
                begin: u64::from(port),
                end: u64::from(port),
            };
            match taken.iter_mut().find(|r| {
                r.reservations == part.template.reservations && r.role == part.template.role
            }) {
                Some(Resource {
                    value: Value::Ranges(rs),
                    ..
                }) => rs.push(range),
                _ => {
                    let mut r = part.template.clone();
                    r.value = Value::Ranges(vec![range]);
                    taken.push(r);
                }
            }
        }
        taken
    }

    /// Places one instance of `app` if it fits, taking its resources.
    fn place(&mut self, app: &Arc<AppDefinition>) -> Result<Placed, Refusal> {
        if !app.constraints.is_empty() {
            return Err(Refusal::Constraints);
        }
        if !self.parts.iter().any(|p| Self::usable(p, app)) {
            return Err(Refusal::Role);
        }
        let needs = [
            ("cpus", app.cpus, Refusal::Cpus),
            ("mem", app.mem, Refusal::Mem),
            ("disk", app.disk, Refusal::Disk),
            ("gpus", f64::from(app.gpus), Refusal::Gpus),
        ];
        for (name, amount, refusal) in &needs {
            if *amount > EPSILON && self.scalar_left(name, app) + EPSILON < *amount {
                return Err(refusal.clone());
            }
        }
        let wanted: Vec<u32> = app
            .port_definitions
            .iter()
            .map(|p| if app.require_ports { p.port } else { 0 })
            .collect();
        let picked = self.pick_ports(&wanted, app).ok_or(Refusal::Ports)?;
        let mut resources = Vec::new();
        for (name, amount, _) in needs {
            if amount > EPSILON {
                resources.extend(self.take_scalar(name, amount, app));
            }
        }
        resources.extend(self.take_ports(&picked));
        Ok(Placed {
            app: Arc::clone(app),
            resources,
            host_ports: picked.iter().map(|&(_, p)| p).collect(),
        })
    }
}

fn remove_port(ranges: &[Range], port: u64) -> Vec<Range> {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for r in ranges {
        if port < r.begin || port > r.end {
            out.push(*r);
            continue;
        }
        if r.begin < port {
            out.push(Range {
                begin: r.begin,
                end: port - 1,
            });
        }
        if port < r.end {
            out.push(Range {
                begin: port + 1,
                end: r.end,
            });
        }
    }
    out
}

/// The placements on one offer, and why each app that still waits got nothing more from it.
#[derive(Debug, Default)]
pub struct OfferPlan {
    pub placed: Vec<Placed>,
    pub refused: Vec<(Arc<AppDefinition>, Refusal)>,
}

/// Places as many wanted instances as fit on each offer, in order; `wants` counts down as
/// instances are placed, so nothing is placed twice across offers.
pub fn place(offers: &[Offer], wants: &mut [Want]) -> Vec<OfferPlan> {
    offers
        .iter()
        .map(|offer| {
            let mut pool = Pool::new(offer);
            let mut plan = OfferPlan::default();
            for want in wants.iter_mut() {
                while want.count > 0 {
                    match pool.place(&want.app) {
                        Ok(placed) => {
                            want.count -= 1;
                            plan.placed.push(placed);
                        }
                        Err(refusal) => {
                            plan.refused.push((Arc::clone(&want.app), refusal));
                            break;
                        }
                    }
                }
            }
            plan
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{AgentId, AllocationInfo, FrameworkId, OfferId, ReservationInfo};
    use crate::state::app::{AppInput, parse_app};

    fn app(json: &str) -> Arc<AppDefinition> {
        Arc::new(parse_app(json.as_bytes(), AppInput::Create).expect("valid app"))
    }

    fn with_role(mut r: Resource, role: &str) -> Resource {
        r.allocation_info = Some(AllocationInfo { role: role.into() });
        r
    }

    fn offer(resources: Vec<Resource>) -> Offer {
        Offer {
            id: OfferId::new("o1"),
            framework_id: FrameworkId::new("f"),
            agent_id: AgentId::new("a1"),
            hostname: "127.0.1.1".into(),
            url: None,
            domain: None,
            allocation_info: Some(AllocationInfo { role: "*".into() }),
            resources: resources.into_iter().map(|r| with_role(r, "*")).collect(),
            attributes: Vec::new(),
            executor_ids: Vec::new(),
            unavailability: None,
        }
    }

    fn standard() -> Offer {
        offer(vec![
            Resource::scalar("cpus", 2.0),
            Resource::scalar("mem", 1024.0),
            Resource::scalar("disk", 1000.0),
            Resource::ranges(
                "ports",
                vec![Range {
                    begin: 31000,
                    end: 31003,
                }],
            ),
        ])
    }

    fn scalar(resources: &[Resource], name: &str) -> f64 {
        resources
            .iter()
            .filter(|r| r.name == name)
            .map(|r| match r.value {
                Value::Scalar(v) => v,
                _ => 0.0,
            })
            .sum()
    }

    #[test]
    fn fills_an_offer_and_never_overcommits_it() {
        let web = app(r#"{"id":"/web","cmd":"x","cpus":0.5,"mem":300,"instances":5}"#);
        let mut wants = vec![Want { app: web, count: 5 }];
        let plans = place(&[standard()], &mut wants);
        // mem allows 3 (900 of 1024), cpus 4, ports 4.
        assert_eq!(plans[0].placed.len(), 3);
        assert_eq!(wants[0].count, 2);
        assert_eq!(plans[0].refused[0].1, Refusal::Mem);
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
        let a = app(r#"{"id":"/a","cmd":"x","cpus":1,"mem":100,"instances":1}"#);
        let b = app(r#"{"id":"/b","cmd":"x","cpus":1,"mem":100,"instances":2}"#);
        let mut wants = vec![Want { app: a, count: 1 }, Want { app: b, count: 2 }];
        let plans = place(&[standard(), standard()], &mut wants);
        assert_eq!(plans[0].placed.len(), 2, "a and one b fill two cpus");
        assert_eq!(
            plans[1].placed.len(),
            1,
            "the second b goes on the second offer"
        );
        assert!(wants.iter().all(|w| w.count == 0));
    }

    #[test]
    fn required_ports_are_taken_exactly_or_not_at_all() {
        let fixed = app(
            r#"{"id":"/f","cmd":"x","cpus":0.1,"mem":10,"requirePorts":true,
                "portDefinitions":[{"port":31002},{"port":31003}]}"#,
        );
        let mut wants = vec![Want {
            app: fixed.clone(),
            count: 2,
        }];
        let plans = place(&[standard()], &mut wants);
        assert_eq!(plans[0].placed.len(), 1);
        assert_eq!(plans[0].placed[0].host_ports, vec![31002, 31003]);
        assert_eq!(plans[0].refused[0].1, Refusal::Ports);
        let outside = app(
            r#"{"id":"/g","cmd":"x","cpus":0.1,"mem":10,"requirePorts":true,
                "portDefinitions":[{"port":80}]}"#,
        );
        let mut wants = vec![Want {
            app: outside,
            count: 1,
        }];
        assert_eq!(
            place(&[standard()], &mut wants)[0].refused[0].1,
            Refusal::Ports
        );
    }

    #[test]
    fn dynamic_ports_run_out() {
        let three = app(r#"{"id":"/p","cmd":"x","cpus":0.1,"mem":10,
                "portDefinitions":[{"port":0},{"port":0},{"port":0}]}"#);
        let mut wants = vec![Want {
            app: three,
            count: 2,
        }];
        let plans = place(&[standard()], &mut wants);
        assert_eq!(plans[0].placed.len(), 1, "4 ports fit one instance of 3");
        assert_eq!(plans[0].placed[0].host_ports, vec![31000, 31001, 31002]);
    }

    #[test]
    fn reserved_resources_are_only_for_their_role() {
        let mut reserved = Resource::scalar("cpus", 4.0);
        reserved.reservations = vec![ReservationInfo {
            role: Some("prod".into()),
            ..ReservationInfo::default()
        }];
        let ports = Resource::ranges(
            "ports",
            vec![Range {
                begin: 31000,
                end: 31000,
            }],
        );
        let o = offer(vec![reserved, Resource::scalar("mem", 1024.0), ports]);
        let star = app(r#"{"id":"/s","cmd":"x","cpus":1,"mem":10}"#);
        let mut wants = vec![Want {
            app: star,
            count: 1,
        }];
        assert_eq!(
            place(std::slice::from_ref(&o), &mut wants)[0].refused[0].1,
            Refusal::Cpus
        );
        // Validation accepts only the framework's role for now; the matcher must not care.
        let mut prod = (*app(r#"{"id":"/p","cmd":"x","cpus":1,"mem":10}"#)).clone();
        prod.role = "prod".into();
        prod.accepted_resource_roles = Some(vec!["prod".into(), "*".into()]);
        let prod = Arc::new(prod);
        let mut wants = vec![Want {
            app: prod,
            count: 1,
        }];
        let plan = place(&[o], &mut wants);
        assert_eq!(plan[0].placed.len(), 1, "{:?}", plan[0].refused);
    }

    #[test]
    fn apps_with_constraints_wait_with_a_reason() {
        let constrained = app(
            r#"{"id":"/c","cmd":"x","cpus":0.1,"mem":10,"constraints":[["hostname","UNIQUE"]]}"#,
        );
        let mut wants = vec![Want {
            app: constrained,
            count: 1,
        }];
        let plans = place(&[standard()], &mut wants);
        assert!(plans[0].placed.is_empty());
        assert_eq!(plans[0].refused[0].1, Refusal::Constraints);
    }

    #[test]
    fn removing_a_port_splits_its_range() {
        let r = |begin, end| Range { begin, end };
        assert_eq!(remove_port(&[r(10, 20)], 15), vec![r(10, 14), r(16, 20)]);
        assert_eq!(remove_port(&[r(10, 20)], 10), vec![r(11, 20)]);
        assert_eq!(remove_port(&[r(10, 10)], 10), vec![]);
    }
}
