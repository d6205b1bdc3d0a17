//! Resource arithmetic of the embedded master: a normalised bag of resources that adds,
//! subtracts and compares, with scalars in Mesos' fixed point (thousandths). Each amount is kept
//! under its name, reservation stack and persistent volume, so reserved resources and volumes
//! only ever match themselves.

pub use super::resource_keys::{Format, Key, PersistentVolume};
use super::resource_keys::{key_of, wire};
use crate::mesos::{Range, Resource, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Why a list of resources cannot be used by mesos-local.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("resource '{0}' has a text value; resources are scalars, ranges or sets")]
    Text(String),
    #[error("resource '{0}' has an invalid value")]
    Invalid(String),
    #[error("resource '{0}' is given with two different types")]
    MixedTypes(String),
    #[error("resource '{0}' has a reservation without a role")]
    NoRole(String),
    #[error(
        "resource '{0}' is revocable, shared, from a disk source or an ephemeral volume; \
         mesos-local does not support that"
    )]
    Unsupported(String),
}

/// Resources by [`Key`]. Scalars are thousandths, as Mesos rounds them; ranges are kept
/// sorted and merged; an empty value is not stored, so equal bags compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    scalars: BTreeMap<Key, i64>,
    ranges: BTreeMap<Key, Vec<(u64, u64)>>,
    sets: BTreeMap<Key, BTreeSet<String>>,
}

fn milli(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

impl Resources {
    /// Reads resources as a framework or the agent config gives them, in either reservation
    /// format. Allocation info is ignored; revocable, shared and source disks are refused.
    pub fn from_wire(list: &[Resource]) -> Result<Resources, ResourceError> {
        let mut out = Resources::default();
        for r in list {
            let key = key_of(r)?;
            let name = r.name.clone();
            let mut one = Resources::default();
            match &r.value {
                Value::Scalar(v) if v.is_finite() && *v >= 0.0 => {
                    one.scalars.insert(key.clone(), milli(*v));
                }
                Value::Ranges(rs) if rs.iter().all(|x| x.begin <= x.end) => {
                    let rs = rs.iter().map(|x| (x.begin, x.end)).collect();
                    one.ranges.insert(key.clone(), merge(rs));
                }
                Value::Set(items) => {
                    one.sets
                        .insert(key.clone(), items.iter().cloned().collect());
                }
                Value::Text(_) => return Err(ResourceError::Text(name)),
                Value::Scalar(_) | Value::Ranges(_) => return Err(ResourceError::Invalid(name)),
            }
            if out
                .kind_of(&name)
                .is_some_and(|k| Some(k) != one.kind_of(&name))
            {
                return Err(ResourceError::MixedTypes(name));
            }
            out = out.add(&one);
        }
        Ok(out)
    }

    fn kind_of(&self, name: &str) -> Option<u8> {
        if self.scalars.keys().any(|k| k.name == name) {
            Some(0)
        } else if self.ranges.keys().any(|k| k.name == name) {
            Some(1)
        } else if self.sets.keys().any(|k| k.name == name) {
            Some(2)
        } else {
            None
        }
    }

    /// Wire resources in the post-refinement format, without allocation info.
    pub fn to_wire(&self) -> Vec<Resource> {
        self.to_wire_as(Format::Refined)
    }

    pub fn to_wire_as(&self, format: Format) -> Vec<Resource> {
        let mut out: Vec<Resource> = Vec::new();
        for (key, v) in &self.scalars {
            out.push(wire(key, Value::Scalar(*v as f64 / 1000.0), format));
        }
        for (key, rs) in &self.ranges {
            let rs = rs
                .iter()
                .map(|&(begin, end)| Range { begin, end })
                .collect();
            out.push(wire(key, Value::Ranges(rs), format));
        }
        for (key, items) in &self.sets {
            out.push(wire(
                key,
                Value::Set(items.iter().cloned().collect()),
                format,
            ));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty()
    }

    /// A scalar's value over all its reservations and volumes (0 when absent).
    pub fn scalar(&self, name: &str) -> f64 {
        let total: i64 = self
            .scalars
            .iter()
            .filter(|(k, _)| k.name == name)
            .map(|(_, v)| v)
            .sum();
        total as f64 / 1000.0
    }

    /// Every value of a ranges resource (over all its reservations), in order, at most `limit`.
    pub fn range_values(&self, name: &str, limit: usize) -> Vec<u64> {
        self.flatten()
            .ranges
            .get(&Key::plain(name))
            .into_iter()
            .flatten()
            .flat_map(|&(b, e)| b..=e)
            .take(limit)
            .collect()
    }

    /// The same amounts by name only, reservations and volumes forgotten: for `/state` totals.
    pub fn flatten(&self) -> Resources {
        self.map_keys(|k| Key::plain(&k.name))
    }

    /// The resources for which `keep` holds.
    pub fn filter(&self, keep: impl Fn(&Key) -> bool) -> Resources {
        Resources {
            scalars: self
                .scalars
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            ranges: self
                .ranges
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sets: self
                .sets
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The same amounts under new keys, merged where keys meet.
    pub fn map_keys(&self, f: impl Fn(&Key) -> Key) -> Resources {
        let mut out = Resources::default();
        for (k, v) in &self.scalars {
            *out.scalars.entry(f(k)).or_default() += v;
        }
        for (k, rs) in &self.ranges {
            let mine = out.ranges.entry(f(k)).or_default();
            mine.extend(rs.iter().copied());
            *mine = merge(std::mem::take(mine));
        }
        for (k, items) in &self.sets {
            out.sets
                .entry(f(k))
                .or_default()
                .extend(items.iter().cloned());
        }
        out.normalise()
    }

    pub fn unreserved(&self) -> Resources {
        self.filter(|k| k.reservations.is_empty())
    }

    /// Reserved resources by the role that owns them.
    pub fn by_role(&self) -> BTreeMap<String, Resources> {
        let roles: BTreeSet<String> = self
            .keys()
            .filter_map(|k| k.role().map(str::to_owned))
            .collect();
        roles
            .into_iter()
            .map(|role| {
                let mine = self.filter(|k| k.role() == Some(role.as_str()));
                (role, mine)
            })
            .collect()
    }

    /// What a framework subscribed with `role` may be offered of these.
    pub fn offerable_to(&self, role: &str) -> Resources {
        self.filter(|k| k.offerable_to(role))
    }

    /// Every key present.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.scalars
            .keys()
            .chain(self.ranges.keys())
            .chain(self.sets.keys())
    }

    /// The persistent volumes among these, with the role that owns each.
    pub fn volumes(&self) -> Vec<(String, PersistentVolume)> {
        self.keys()
            .filter_map(|k| Some((k.role()?.to_owned(), k.volume.clone()?)))
            .collect()
    }

    pub fn add(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for (k, v) in &other.scalars {
            *out.scalars.entry(k.clone()).or_default() += v;
        }
        for (k, rs) in &other.ranges {
            let mine = out.ranges.entry(k.clone()).or_default();
            mine.extend(rs.iter().copied());
            *mine = merge(std::mem::take(mine));
        }
        for (k, items) in &other.sets {
            out.sets
                .entry(k.clone())
                .or_default()
                .extend(items.iter().cloned());
        }
        out.normalise()
    }

    /// What is left of `self` after taking `other`; what `other` has beyond `self` is ignored,
    /// so callers check [`Resources::contains`] first.
    pub fn subtract(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for (k, v) in &other.scalars {
            if let Some(mine) = out.scalars.get_mut(k) {
                *mine = (*mine - v).max(0);
            }
        }
        for (k, rs) in &other.ranges {
            if let Some(mine) = out.ranges.get_mut(k) {
                *mine = difference(mine, rs);
            }
        }
        for (k, items) in &other.sets {
            if let Some(mine) = out.sets.get_mut(k) {
                mine.retain(|i| !items.contains(i));
            }
        }
        out.normalise()
    }

    /// Whether every resource of `other` is within `self`, under the same key.
    pub fn contains(&self, other: &Resources) -> bool {
        other
            .scalars
            .iter()
            .all(|(k, v)| self.scalars.get(k).copied().unwrap_or(0) >= *v)
            && other.ranges.iter().all(|(k, rs)| {
                let mine = self.ranges.get(k).map(Vec::as_slice).unwrap_or(&[]);
                difference(rs, mine).is_empty()
            })
            && other
                .sets
                .iter()
                .all(|(k, items)| self.sets.get(k).is_some_and(|mine| items.is_subset(mine)))
    }

    fn normalise(mut self) -> Resources {
        self.scalars.retain(|_, v| *v > 0);
        self.ranges.retain(|_, rs| !rs.is_empty());
        self.sets.retain(|_, items| !items.is_empty());
        self
    }
}

/// Sorts and merges overlapping or adjacent ranges.
fn merge(mut rs: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    rs.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(rs.len());
    for (b, e) in rs {
        match out.last_mut() {
            Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((b, e)),
        }
    }
    out
}

/// `a` minus `b`, both merged.
fn difference(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for &(mut begin, end) in a {
        let mut open = true;
        for &(bb, be) in b {
            if be < begin || bb > end {
                continue;
            }
            if bb > begin {
                out.push((begin, bb - 1));
            }
            if be >= end {
                open = false;
                break;
            }
            begin = be + 1;
        }
        if open {
            out.push((begin, end));
        }
    }
    out
}

/// Mesos' text form, `cpus:0.1; mem(apps):32; ports:[31000-31000]`, for messages.
impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (key, v) in &self.scalars {
            parts.push(format!("{key}:{}", *v as f64 / 1000.0));
        }
        for (key, rs) in &self.ranges {
            let rs: Vec<String> = rs.iter().map(|(b, e)| format!("{b}-{e}")).collect();
            parts.push(format!("{key}:[{}]", rs.join(", ")));
        }
        for (key, items) in &self.sets {
            let items: Vec<&str> = items.iter().map(String::as_str).collect();
            parts.push(format!("{key}:{{{}}}", items.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{DiskInfo, ReservationInfo, Volume};
    use crate::mesos_local::spec::parse_resources;

    fn bag(spec: &str) -> Resources {
        let list = parse_resources(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        Resources::from_wire(&list).unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    #[test]
    fn subtract_then_add_round_trips() {
        let table = [
            (
                "cpus:4;mem:8192;ports:[31000-31999]",
                "cpus:0.1;mem:32;ports:[31005-31005]",
                "cpus:3.9;mem:8160;ports:[31000-31004,31006-31999]",
            ),
            ("cpus:1", "cpus:1", ""),
            ("ports:[1-10]", "ports:[1-3,8-10]", "ports:[4-7]"),
            ("zones:{a,b,c}", "zones:{b}", "zones:{a,c}"),
            ("cpus:0.3", "cpus:0.1", "cpus:0.2"),
        ];
        for (a, b, want) in table {
            let (a, b) = (bag(a), bag(b));
            assert!(a.contains(&b), "{a} ⊇ {b}");
            let left = a.subtract(&b);
            assert_eq!(left, bag(want), "{a} - {b}");
            assert_eq!(left.add(&b), a, "{a} - {b} + {b}");
        }
    }

    #[test]
    fn contains_table() {
        let table = [
            ("cpus:1;mem:64", "cpus:1;mem:64", true),
            ("cpus:1;mem:64", "cpus:1.001", false),
            ("cpus:1;mem:64", "gpus:1", false),
            ("ports:[1-5,7-9]", "ports:[4-7]", false),
            ("ports:[1-5,6-9]", "ports:[4-7]", true),
            ("ports:[1-5]", "", true),
            ("zones:{a}", "zones:{a,b}", false),
        ];
        for (a, b, want) in table {
            assert_eq!(bag(a).contains(&bag(b)), want, "{a} ⊇ {b}");
        }
    }

    #[test]
    fn wire_form_is_normalised_and_printable() {
        let b = bag("ports:[5-6,1-2,3-4];cpus:0.1;mem:0");
        assert_eq!(b.to_string(), "cpus:0.1; ports:[1-6]");
        assert_eq!(Resources::from_wire(&b.to_wire()), Ok(b.clone()));
        assert_eq!(b.range_values("ports", 3), vec![1, 2, 3]);
        assert_eq!(b.scalar("cpus"), 0.1);
        assert!(bag("").is_empty());
    }

    #[test]
    fn unusable_resources_are_refused() {
        let mut revocable = Resource::scalar("cpus", 1.0);
        revocable.revocable = Some(crate::mesos::Empty {});
        let mut no_role = Resource::scalar("cpus", 1.0);
        no_role.reservations = vec![ReservationInfo::default()];
        let mut ephemeral = Resource::scalar("disk", 1.0);
        ephemeral.disk = Some(DiskInfo {
            volume: Some(Volume {
                container_path: "x".into(),
                mode: None,
                host_path: None,
            }),
            ..DiskInfo::default()
        });
        assert!(matches!(
            Resources::from_wire(&[no_role]),
            Err(ResourceError::NoRole(_))
        ));
        assert!(matches!(
            Resources::from_wire(&[ephemeral]),
            Err(ResourceError::Unsupported(_))
        ));
        let mut star = Resource::scalar("cpus", 1.0);
        star.role = Some("*".into());
        let text = crate::mesos::Resource {
            value: Value::Text("x".into()),
            ..Resource::scalar("t", 0.0)
        };
        let mixed = [
            Resource::scalar("x", 1.0),
            Resource::set("x", vec!["a".into()]),
        ];
        assert!(matches!(
            Resources::from_wire(&[revocable]),
            Err(ResourceError::Unsupported(_))
        ));
        assert!(Resources::from_wire(&[star]).is_ok());
        assert!(matches!(
            Resources::from_wire(&[text]),
            Err(ResourceError::Text(_))
        ));
        assert!(matches!(
            Resources::from_wire(&mixed),
            Err(ResourceError::MixedTypes(_))
        ));
        let nan = Resource::scalar("cpus", f64::NAN);
        assert!(matches!(
            Resources::from_wire(&[nan]),
            Err(ResourceError::Invalid(_))
        ));
    }
}

#[cfg(test)]
mod reservation_tests {
    use super::*;
    use crate::mesos::{
        DiskInfo, Persistence, ReservationInfo, ReservationType, Volume, VolumeMode,
    };
    use crate::mesos_local::resource_keys::wire_labels;

    fn reserved(name: &str, v: f64, role: &str, labels: &[(&str, &str)]) -> Resource {
        let mut r = Resource::scalar(name, v);
        r.reservations = vec![ReservationInfo {
            kind: Some(ReservationType::Dynamic),
            role: Some(role.into()),
            principal: Some("p".into()),
            labels: wire_labels(
                &labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned())))
                    .collect::<Vec<_>>(),
            ),
        }];
        r
    }

    #[test]
    fn reservations_only_match_themselves_and_read_in_both_formats() {
        let bag = Resources::from_wire(&[
            Resource::scalar("cpus", 2.0),
            reserved("cpus", 1.0, "apps", &[("fw", "F")]),
            reserved("cpus", 0.5, "apps", &[("fw", "G")]),
            reserved("mem", 64.0, "db", &[]),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bag.scalar("cpus"), 3.5);
        assert_eq!(bag.unreserved().scalar("cpus"), 2.0);
        let roles: Vec<String> = bag.by_role().into_keys().collect();
        assert_eq!(roles, ["apps", "db"]);
        let unlabelled =
            Resources::from_wire(&[reserved("cpus", 1.0, "apps", &[])]).unwrap_or_default();
        assert!(!bag.contains(&unlabelled), "different labels do not merge");
        let plain = Resources::from_wire(&[Resource::scalar("cpus", 3.0)]).unwrap_or_default();
        assert!(
            !bag.contains(&plain),
            "reserved cpus are not unreserved cpus"
        );
        assert_eq!(
            bag.offerable_to("apps/web").scalar("cpus"),
            3.5,
            "sub-roles see a parent's"
        );
        assert_eq!(bag.offerable_to("apps").scalar("mem"), 0.0);
        assert_eq!(bag.offerable_to("*").scalar("cpus"), 2.0);
        // The legacy format round-trips to the same bag.
        let legacy = Resources::from_wire(&bag.to_wire_as(Format::Legacy));
        assert_eq!(legacy.as_ref(), Ok(&bag));
        let refined = Resources::from_wire(&bag.to_wire());
        assert_eq!(refined.as_ref(), Ok(&bag));
        let wire = bag.to_wire_as(Format::Legacy);
        assert!(wire.iter().any(|r| r.role.as_deref() == Some("*")));
        assert!(wire.iter().all(|r| r.reservations.is_empty()));
    }

    #[test]
    fn volumes_are_listed_with_their_role() {
        let mut v = reserved("disk", 64.0, "apps", &[]);
        v.disk = Some(DiskInfo {
            persistence: Some(Persistence {
                id: "db#data".into(),
                principal: Some("p".into()),
            }),
            volume: Some(Volume {
                container_path: "data".into(),
                mode: Some(VolumeMode::Rw),
                host_path: None,
            }),
            source: None,
        });
        let bag = Resources::from_wire(&[v.clone()]).unwrap_or_else(|e| panic!("{e}"));
        let volumes = bag.volumes();
        assert_eq!(volumes.len(), 1);
        assert_eq!(volumes[0].0, "apps");
        assert_eq!(volumes[0].1.id, "db#data");
        assert_eq!(bag.to_string(), "disk(apps)[db#data:data]:64");
        let back = bag.to_wire();
        assert_eq!(back[0].disk, v.disk);
    }
}
