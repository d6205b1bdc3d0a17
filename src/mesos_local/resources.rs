//! Resource arithmetic of the embedded master: a normalised bag of unreserved resources that
//! adds, subtracts and compares, with scalars in Mesos' fixed point (thousandths).

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
    #[error(
        "resource '{0}' is reserved, a volume, revocable or shared; mesos-local does not support that yet"
    )]
    Unsupported(String),
}

/// Unreserved resources by name. Scalars are thousandths, as Mesos rounds them; ranges are kept
/// sorted and merged; an empty value is not stored, so equal bags compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    scalars: BTreeMap<String, i64>,
    ranges: BTreeMap<String, Vec<(u64, u64)>>,
    sets: BTreeMap<String, BTreeSet<String>>,
}

fn milli(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

impl Resources {
    /// Reads resources as a framework or the agent config gives them. Allocation info and the
    /// legacy `role: "*"` are ignored; anything reserved or special is refused.
    pub fn from_wire(list: &[Resource]) -> Result<Resources, ResourceError> {
        let mut out = Resources::default();
        for r in list {
            let special = r.reserved_role().is_some()
                || r.disk
                    .as_ref()
                    .is_some_and(|d| d.persistence.is_some() || d.source.is_some())
                || r.revocable.is_some()
                || r.shared.is_some();
            if special {
                return Err(ResourceError::Unsupported(r.name.clone()));
            }
            let mut one = Resources::default();
            let name = r.name.clone();
            match &r.value {
                Value::Scalar(v) if v.is_finite() && *v >= 0.0 => {
                    one.scalars.insert(name.clone(), milli(*v));
                }
                Value::Ranges(rs) if rs.iter().all(|x| x.begin <= x.end) => {
                    let rs = rs.iter().map(|x| (x.begin, x.end)).collect();
                    one.ranges.insert(name.clone(), rs);
                }
                Value::Set(items) => {
                    one.sets
                        .insert(name.clone(), items.iter().cloned().collect());
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
        if self.scalars.contains_key(name) {
            Some(0)
        } else if self.ranges.contains_key(name) {
            Some(1)
        } else if self.sets.contains_key(name) {
            Some(2)
        } else {
            None
        }
    }

    /// Unreserved wire resources, without allocation info.
    pub fn to_wire(&self) -> Vec<Resource> {
        let mut out: Vec<Resource> = Vec::new();
        for (name, v) in &self.scalars {
            out.push(Resource::scalar(name, *v as f64 / 1000.0));
        }
        for (name, rs) in &self.ranges {
            let rs = rs
                .iter()
                .map(|&(begin, end)| Range { begin, end })
                .collect();
            out.push(Resource::ranges(name, rs));
        }
        for (name, items) in &self.sets {
            out.push(Resource::set(name, items.iter().cloned().collect()));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.scalars.is_empty() && self.ranges.is_empty() && self.sets.is_empty()
    }

    /// A scalar's value (0 when absent).
    pub fn scalar(&self, name: &str) -> f64 {
        self.scalars.get(name).map_or(0.0, |v| *v as f64 / 1000.0)
    }

    /// Every value of a ranges resource, in order, at most `limit` of them.
    pub fn range_values(&self, name: &str, limit: usize) -> Vec<u64> {
        self.ranges
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|&(b, e)| b..=e)
            .take(limit)
            .collect()
    }

    pub fn add(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for (name, v) in &other.scalars {
            *out.scalars.entry(name.clone()).or_default() += v;
        }
        for (name, rs) in &other.ranges {
            let mine = out.ranges.entry(name.clone()).or_default();
            mine.extend(rs.iter().copied());
            *mine = merge(std::mem::take(mine));
        }
        for (name, items) in &other.sets {
            out.sets
                .entry(name.clone())
                .or_default()
                .extend(items.iter().cloned());
        }
        out.normalise()
    }

    /// What is left of `self` after taking `other`; what `other` has beyond `self` is ignored,
    /// so callers check [`Resources::contains`] first.
    pub fn subtract(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        for (name, v) in &other.scalars {
            if let Some(mine) = out.scalars.get_mut(name) {
                *mine = (*mine - v).max(0);
            }
        }
        for (name, rs) in &other.ranges {
            if let Some(mine) = out.ranges.get_mut(name) {
                *mine = difference(mine, rs);
            }
        }
        for (name, items) in &other.sets {
            if let Some(mine) = out.sets.get_mut(name) {
                mine.retain(|i| !items.contains(i));
            }
        }
        out.normalise()
    }

    /// Whether every resource of `other` is within `self`.
    pub fn contains(&self, other: &Resources) -> bool {
        other
            .scalars
            .iter()
            .all(|(n, v)| self.scalars.get(n).copied().unwrap_or(0) >= *v)
            && other.ranges.iter().all(|(n, rs)| {
                let mine = self.ranges.get(n).map(Vec::as_slice).unwrap_or(&[]);
                difference(rs, mine).is_empty()
            })
            && other
                .sets
                .iter()
                .all(|(n, items)| self.sets.get(n).is_some_and(|mine| items.is_subset(mine)))
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

/// Mesos' text form, `cpus:0.1; mem:32; ports:[31000-31000]`, for messages.
impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for (name, v) in &self.scalars {
            parts.push(format!("{name}:{}", *v as f64 / 1000.0));
        }
        for (name, rs) in &self.ranges {
            let rs: Vec<String> = rs.iter().map(|(b, e)| format!("{b}-{e}")).collect();
            parts.push(format!("{name}:[{}]", rs.join(", ")));
        }
        for (name, items) in &self.sets {
            let items: Vec<&str> = items.iter().map(String::as_str).collect();
            parts.push(format!("{name}:{{{}}}", items.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut reserved = Resource::scalar("cpus", 1.0);
        reserved.role = Some("web".into());
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
            Resources::from_wire(&[reserved]),
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
