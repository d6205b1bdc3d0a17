//! What one offer can still give while instances are placed on it: scalars and port ranges per
//! offered resource, taken from as instances are placed, so an offer is never overcommitted.

use crate::mesos::{Offer, Range, Resource, Value};
use crate::state::app::AppDefinition;

/// Scalars are compared with this slack, as Mesos compares them at fixed point.
pub(super) const EPSILON: f64 = 1e-6;

/// The scalar resources an instance takes, in funnel order, with the refusal when one is short.
pub(super) const SCALARS: [(&str, super::Refusal); 4] = [
    ("cpus", super::Refusal::InsufficientCpus),
    ("mem", super::Refusal::InsufficientMemory),
    ("disk", super::Refusal::InsufficientDisk),
    ("gpus", super::Refusal::InsufficientGpus),
];

pub(super) struct Pool {
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

/// The host ports picked for one instance: the part each comes from, and the port.
pub(super) type Picked = Vec<(usize, u32)>;

impl Pool {
    pub(super) fn new(offer: &Offer) -> Pool {
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
    /// Reservations with labels belong to resident instances (Marathon labels the reservations
    /// it makes for them), never to an ordinary launch.
    fn usable(part: &Part, app: &AppDefinition) -> bool {
        let accepted = |role: &str| match &app.accepted_resource_roles {
            Some(roles) => roles.iter().any(|r| r == role),
            None => role == "*" || role == app.role,
        };
        let labelled = part
            .template
            .reservations
            .last()
            .or(part.template.reservation.as_ref())
            .and_then(|r| r.labels.as_ref())
            .is_some_and(|l| !l.labels.is_empty());
        match part.template.reserved_role() {
            None => accepted("*"),
            Some(role) => !labelled && role == app.role && accepted(role),
        }
    }

    /// Whether the offer has any resource the app may use (Marathon's `UnfulfilledRole`).
    pub(super) fn any_usable(&self, app: &AppDefinition) -> bool {
        self.parts.iter().any(|p| Self::usable(p, app))
    }

    pub(super) fn scalar_left(&self, name: &str, app: &AppDefinition) -> f64 {
        self.parts
            .iter()
            .filter(|p| p.template.name == name && Self::usable(p, app))
            .map(|p| match p.left {
                Left::Scalar(v) => v,
                Left::Ranges(_) => 0.0,
            })
            .sum()
    }

    /// Takes `amount` of a scalar, reserved parts first (they are the role's alone). The caller
    /// has checked that enough is left.
    pub(super) fn take_scalar(
        &mut self,
        name: &str,
        mut amount: f64,
        app: &AppDefinition,
    ) -> Vec<Resource> {
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

    /// Picks host ports: `wanted[i] == 0` means any port, otherwise exactly that port. Ports
    /// already taken by instances placed on this offer are no longer in the ranges left.
    pub(super) fn pick_ports(&self, wanted: &[u32], app: &AppDefinition) -> Option<Picked> {
        let mut picked: Picked = Vec::with_capacity(wanted.len());
        let free = |i: usize, port: u32, picked: &[(usize, u32)]| {
            let in_range = match &self.parts[i].left {
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
                            .map_while(|p| u32::try_from(p).ok())
                            .find(|&p| free(i, p, &picked) && !wanted.contains(&p))
                            .map(|p| (i, p))
                    })
                })
            };
            picked.push(found?);
        }
        Some(picked)
    }

    /// Takes the picked ports out of their ranges; one resource per offered part, as the master
    /// wants them back with the reservation they were offered with.
    pub(super) fn take_ports(&mut self, picked: &[(usize, u32)]) -> Vec<Resource> {
        let mut taken: Vec<(usize, Resource)> = Vec::new();
        for &(i, port) in picked {
            // From every part: a port offered twice (overlapping ranges) is still one port.
            for part in self.parts.iter_mut().filter(|p| p.template.name == "ports") {
                if let Left::Ranges(ranges) = &mut part.left {
                    *ranges = remove_port(ranges, u64::from(port));
                }
            }
            let part = &self.parts[i];
            let range = Range {
                begin: u64::from(port),
                end: u64::from(port),
            };
            match taken.iter_mut().find(|(from, _)| *from == i) {
                Some((
                    _,
                    Resource {
                        value: Value::Ranges(rs),
                        ..
                    },
                )) => rs.push(range),
                _ => {
                    let mut r = part.template.clone();
                    r.value = Value::Ranges(vec![range]);
                    taken.push((i, r));
                }
            }
        }
        taken.into_iter().map(|(_, r)| r).collect()
    }
}

/// Whether the offer carries GPUs at all: a scarce resource that GPU-less apps leave alone.
pub(super) fn has_gpus(offer: &Offer) -> bool {
    offer
        .resources
        .iter()
        .any(|r| r.name == "gpus" && matches!(r.value, Value::Scalar(v) if v > EPSILON))
}

pub(super) fn remove_port(ranges: &[Range], port: u64) -> Vec<Range> {
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
