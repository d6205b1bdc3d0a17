//! The allocator's decisions, as pure functions: how long a refusal lasts, whether a refusal
//! still withholds an agent, and which framework (and role) gets which of each agent's free
//! resources this cycle.

use super::resources::Resources;
use crate::mesos::Filters;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `refuse_seconds` when ACCEPT or DECLINE gives no filters.
pub const DEFAULT_REFUSE: Duration = Duration::from_secs(5);
/// The longest refusal Mesos honours.
pub const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long refused resources are withheld: the default when unset or negative, none for 0,
/// at most a year, at least one allocation interval.
pub fn refuse_duration(
    filters: Option<&Filters>,
    allocation_interval: Duration,
) -> Option<Duration> {
    let secs = filters.and_then(|f| f.refuse_seconds);
    let d = match secs {
        None => DEFAULT_REFUSE,
        Some(s) if s.is_nan() || s < 0.0 => DEFAULT_REFUSE,
        Some(0.0) => return None,
        Some(s) if s >= MAX_REFUSE.as_secs_f64() => MAX_REFUSE,
        Some(s) => Duration::from_secs_f64(s),
    };
    Some(d.max(allocation_interval))
}

/// A framework's refusal of some resources of one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub refused: Resources,
    pub until: Instant,
}

impl Refusal {
    /// Whether the refusal still holds back an offer of `available`: until it expires, and only
    /// while nothing beyond what was refused has become free.
    pub fn withholds(&self, available: &Resources, now: Instant) -> bool {
        now < self.until && self.refused.contains(available)
    }
}

/// What the allocator needs to know of a framework.
#[derive(Clone, Debug)]
pub struct Candidate<'a> {
    /// Subscribed, connected and not suppressed.
    pub wants_offers: bool,
    /// Refusals by agent index.
    pub refusals: &'a HashMap<usize, Refusal>,
    /// Its roles, each offered separately (`*` for a framework without one).
    pub roles: &'a [String],
}

/// One offer this cycle.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    pub agent: usize,
    pub framework: usize,
    pub role: String,
    pub resources: Resources,
}

/// Mesos' minimum allocatable resources: an agent with less free is not offered.
pub fn allocatable(free: &Resources) -> bool {
    free.scalar("cpus") >= 0.01 || free.scalar("mem") >= 32.0
}

/// Offers of each agent's free resources, one per (framework, role): unreserved resources go to
/// the first framework (starting at `rotation`, moving on after each agent so agents spread)
/// that wants offers and does not withhold them; resources reserved for a role go, with them or
/// alone, to a framework of that role (or a sub-role). An offer must be allocatable.
pub fn allocate(
    free: &[Resources],
    frameworks: &[Candidate<'_>],
    rotation: usize,
    now: Instant,
) -> Vec<Allocation> {
    let mut out = Vec::new();
    if frameworks.is_empty() {
        return out;
    }
    let mut next = rotation % frameworks.len();
    for (agent, available) in free.iter().enumerate() {
        let mut remaining = available.clone();
        let start = next;
        let mut moved_on = false;
        for step in 0..frameworks.len() {
            if remaining.is_empty() {
                break;
            }
            let fw = (start + step) % frameworks.len();
            let c = &frameworks[fw];
            if !c.wants_offers {
                continue;
            }
            for role in c.roles {
                let offer = remaining.offerable_to(role);
                let withheld = c
                    .refusals
                    .get(&agent)
                    .is_some_and(|r| r.withholds(&offer, now));
                if !allocatable(&offer) || withheld {
                    continue;
                }
                remaining = remaining.subtract(&offer);
                out.push(Allocation {
                    agent,
                    framework: fw,
                    role: role.clone(),
                    resources: offer,
                });
                if !moved_on {
                    moved_on = true;
                    next = (fw + 1) % frameworks.len();
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos_local::spec::parse_resources;

    fn bag(spec: &str) -> Resources {
        Resources::from_wire(&parse_resources(spec).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn refuse_durations() {
        let tick = Duration::from_secs(1);
        let f = |s: f64| Some(Filters::refuse_seconds(s));
        let table = [
            (None, Some(DEFAULT_REFUSE)),
            (Some(Filters::default()), Some(DEFAULT_REFUSE)),
            (f(-3.0), Some(DEFAULT_REFUSE)),
            (f(0.0), None),
            (f(0.2), Some(tick)),
            (f(120.0), Some(Duration::from_secs(120))),
            (f(1e12), Some(MAX_REFUSE)),
        ];
        for (filters, want) in table {
            assert_eq!(refuse_duration(filters.as_ref(), tick), want, "{filters:?}");
        }
    }

    #[test]
    fn refusal_holds_until_expiry_or_more_is_free() {
        let now = Instant::now();
        let r = Refusal {
            refused: bag("cpus:4;mem:8192"),
            until: now + Duration::from_secs(5),
        };
        let table = [
            ("cpus:4;mem:8192", 0, true),
            ("cpus:2", 0, true),
            ("cpus:4;mem:8192", 6, false),
            ("cpus:4;mem:8192;ports:[1-1]", 0, false),
        ];
        for (free, after, want) in table {
            let at = now + Duration::from_secs(after);
            assert_eq!(r.withholds(&bag(free), at), want, "{free} at +{after}s");
        }
    }

    #[test]
    fn allocation_spreads_and_honours_refusals() {
        let now = Instant::now();
        let none = HashMap::new();
        let mut refuses_agent0 = HashMap::new();
        refuses_agent0.insert(
            0,
            Refusal {
                refused: bag("cpus:4;mem:8192"),
                until: now + Duration::from_secs(5),
            },
        );
        let free = [
            bag("cpus:4;mem:8192"),
            bag("cpus:4;mem:8192"),
            bag("cpus:0.001"),
            bag(""),
        ];
        let star = ["*".to_owned()];
        let want = |wants_offers, refusals| Candidate {
            wants_offers,
            refusals,
            roles: &star,
        };
        let (none, refuses) = (&none, &refuses_agent0);
        type Case<'a> = (Vec<Candidate<'a>>, usize, Vec<(usize, usize)>);
        let table: Vec<Case<'_>> = vec![
            (vec![], 0, vec![]),
            (vec![want(true, none)], 0, vec![(0, 0), (1, 0)]),
            (
                vec![want(true, none), want(true, none)],
                0,
                vec![(0, 0), (1, 1)],
            ),
            (
                vec![want(true, none), want(true, none)],
                1,
                vec![(0, 1), (1, 0)],
            ),
            (
                vec![want(false, none), want(true, none)],
                0,
                vec![(0, 1), (1, 1)],
            ),
            (vec![want(true, refuses)], 0, vec![(1, 0)]),
            (
                vec![want(true, refuses), want(true, none)],
                0,
                vec![(0, 1), (1, 0)],
            ),
        ];
        for (fws, rotation, expected) in table {
            let got: Vec<(usize, usize)> = allocate(&free, &fws, rotation, now)
                .into_iter()
                .map(|a| (a.agent, a.framework))
                .collect();
            assert_eq!(got, expected, "{fws:?}");
        }
    }

    #[test]
    fn reserved_resources_go_to_their_role_only() {
        let now = Instant::now();
        let none = HashMap::new();
        let mut reserved = crate::mesos::Resource::scalar("cpus", 1.0);
        reserved.role = Some("apps".into());
        let mut reserved_mem = crate::mesos::Resource::scalar("mem", 64.0);
        reserved_mem.role = Some("apps".into());
        let mut list = parse_resources("cpus:2;mem:1024").unwrap_or_default();
        list.extend([reserved, reserved_mem]);
        let free = [Resources::from_wire(&list).unwrap_or_default()];
        let (star, apps) = (["*".to_owned()], ["apps".to_owned()]);
        let c = |roles| Candidate {
            wants_offers: true,
            refusals: &none,
            roles,
        };
        // The "*" framework comes first: it gets the unreserved part; "apps" the reservation.
        let got = allocate(&free, &[c(&star), c(&apps)], 0, now);
        let summary: Vec<(usize, &str, f64, f64)> = got
            .iter()
            .map(|a| {
                let r = &a.resources;
                (
                    a.framework,
                    a.role.as_str(),
                    r.unreserved().scalar("cpus"),
                    r.scalar("cpus"),
                )
            })
            .collect();
        assert_eq!(summary, [(0, "*", 2.0, 2.0), (1, "apps", 0.0, 1.0)]);
        // "apps" first: it gets both in one offer, and "*" nothing.
        let got = allocate(&free, &[c(&star), c(&apps)], 1, now);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].framework, got[0].resources.scalar("cpus")),
            (1, 3.0)
        );
        // Nobody of role "apps": the reservation stays unoffered.
        let got = allocate(&free, &[c(&star)], 0, now);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].resources, free[0].unreserved());
    }
}
