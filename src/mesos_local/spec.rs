//! Parsing of agent resources and attributes in Mesos' `name:value;…` command-line syntax, and
//! of `--domains`' `region/zone,…` list.

use crate::mesos::{Attribute, DomainInfo, Range, Resource, Value};

/// Why an agent resource or attribute string cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("'{0}' is not of the form name:value")]
    NotNameValue(String),
    #[error("'{entry}': {why}")]
    BadValue { entry: String, why: String },
    #[error("'{0}' is given twice")]
    Duplicate(String),
    #[error(
        "resource '{0}' is reserved for a role; mesos-local does not support static reservations yet"
    )]
    Reserved(String),
    #[error("'{0}' is not of the form region/zone")]
    NotRegionZone(String),
}

/// The resources of agent `n` (1-based) when `--agent-resources` is not given: distinct port
/// ranges, because every agent is this machine.
pub fn default_agent_resources(n: u32) -> Vec<Resource> {
    let first = 31_000 + 1_000 * u64::from(n.saturating_sub(1));
    vec![
        Resource::scalar("cpus", 4.0),
        Resource::scalar("mem", 8192.0),
        Resource::scalar("disk", 20_000.0),
        Resource::ranges(
            "ports",
            vec![Range {
                begin: first,
                end: first + 999,
            }],
        ),
    ]
}

/// The hostname of agent `n` (1-based): a distinct loopback address, `127.0.1.n` for the first
/// 254 and counting on through `127.0.2.0` … for simulated agents beyond them.
pub fn agent_hostname(n: u32) -> String {
    let x = n.saturating_add(256);
    format!("127.{}.{}.{}", (x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff)
}

/// Parses `--domains`: `eu/eu-1a,eu/eu-1b,us/us-1a`, at least one.
pub fn parse_domains(spec: &str) -> Result<Vec<DomainInfo>, SpecError> {
    let mut out = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (region, zone) = entry
            .split_once('/')
            .map(|(r, z)| (r.trim(), z.trim()))
            .filter(|(r, z)| !r.is_empty() && !z.is_empty() && !z.contains('/'))
            .ok_or_else(|| SpecError::NotRegionZone(entry.to_owned()))?;
        out.push(DomainInfo::new(region, zone));
    }
    if out.is_empty() {
        return Err(SpecError::NotRegionZone(spec.to_owned()));
    }
    Ok(out)
}

/// Parses `cpus:4;mem:8192;ports:[31000-31999];zones:{a,b}`. A role suffix is accepted only as
/// `(*)` (unreserved); text values are not resources.
pub fn parse_resources(spec: &str) -> Result<Vec<Resource>, SpecError> {
    let mut out: Vec<Resource> = Vec::new();
    for (name, raw) in entries(spec)? {
        let name = match name.split_once('(') {
            None => name,
            Some((base, "*)")) => base.trim(),
            Some(_) => return Err(SpecError::Reserved(name.to_owned())),
        };
        let entry = format!("{name}:{raw}");
        let value = parse_value(raw).map_err(|why| SpecError::BadValue {
            entry: entry.clone(),
            why,
        })?;
        let bad = |why: &str| SpecError::BadValue {
            entry: entry.clone(),
            why: why.to_owned(),
        };
        let resource = match value {
            Value::Scalar(v) if v.is_finite() && v >= 0.0 => Resource::scalar(name, v),
            Value::Scalar(_) => return Err(bad("a scalar resource must be a finite number ≥ 0")),
            Value::Ranges(r) => Resource::ranges(name, r),
            Value::Set(s) => Resource::set(name, s),
            Value::Text(_) => return Err(bad("a resource is a number, [ranges] or {set}")),
        };
        if out.iter().any(|r| r.name == name) {
            return Err(SpecError::Duplicate(name.to_owned()));
        }
        out.push(resource);
    }
    Ok(out)
}

/// Parses `rack:a;level:3;slots:[1-4]`: numbers are scalars, `[…]` ranges, `{…}` sets, anything
/// else text.
pub fn parse_attributes(spec: &str) -> Result<Vec<Attribute>, SpecError> {
    let mut out: Vec<Attribute> = Vec::new();
    for (name, raw) in entries(spec)? {
        let value = parse_value(raw).map_err(|why| SpecError::BadValue {
            entry: format!("{name}:{raw}"),
            why,
        })?;
        if out.iter().any(|a| a.name == name) {
            return Err(SpecError::Duplicate(name.to_owned()));
        }
        out.push(Attribute {
            name: name.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// Splits `a:1;b:2` into trimmed `(name, value)` pairs; empty entries are skipped.
fn entries(spec: &str) -> Result<Vec<(&str, &str)>, SpecError> {
    let mut out = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, value) = entry
            .split_once(':')
            .map(|(n, v)| (n.trim(), v.trim()))
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
            .ok_or_else(|| SpecError::NotNameValue(entry.to_owned()))?;
        out.push((name, value));
    }
    Ok(out)
}

fn parse_value(raw: &str) -> Result<Value, String> {
    if let Some(inner) = raw.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("a range list must end with ']'")?;
        return parse_ranges(inner).map(Value::Ranges);
    }
    if let Some(inner) = raw.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or("a set must end with '}'")?;
        let items: Vec<String> = inner
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(String::from)
            .collect();
        return Ok(Value::Set(items));
    }
    match raw.parse::<f64>() {
        Ok(v)
            if raw
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-') =>
        {
            Ok(Value::Scalar(v))
        }
        _ => Ok(Value::Text(raw.to_owned())),
    }
}

fn parse_ranges(inner: &str) -> Result<Vec<Range>, String> {
    let mut out = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (b, e) = part.split_once('-').unwrap_or((part, part));
        let num = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("'{part}' is not a range of non-negative integers"))
        };
        let (begin, end) = (num(b)?, num(e)?);
        if begin > end {
            return Err(format!("range '{part}' ends before it begins"));
        }
        out.push(Range { begin, end });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(begin: u64, end: u64) -> Range {
        Range { begin, end }
    }

    #[test]
    fn default_agents_get_distinct_port_ranges() {
        let table = [
            (1, 31_000, 31_999),
            (2, 32_000, 32_999),
            (5, 35_000, 35_999),
        ];
        for (n, begin, end) in table {
            let res = default_agent_resources(n);
            assert_eq!(
                res[3],
                Resource::ranges("ports", vec![r(begin, end)]),
                "agent {n}"
            );
            assert_eq!(res[0], Resource::scalar("cpus", 4.0));
        }
        assert_eq!(agent_hostname(3), "127.0.1.3");
        assert_eq!(agent_hostname(254), "127.0.1.254");
        assert_eq!(agent_hostname(1000), "127.0.4.232");
    }

    #[test]
    fn domains_parse() {
        let got = parse_domains(" eu/eu-1a, us/us-1b ,").unwrap_or_default();
        assert_eq!(
            got,
            vec![
                DomainInfo::new("eu", "eu-1a"),
                DomainInfo::new("us", "us-1b")
            ]
        );
        for bad in ["", "eu", "eu/", "/z", "a/b/c", "eu/1a,us"] {
            assert!(parse_domains(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resources_parse() {
        let table: Vec<(&str, Vec<Resource>)> = vec![
            (
                "cpus:4;mem:8192;disk:20000;ports:[31000-31999]",
                vec![
                    Resource::scalar("cpus", 4.0),
                    Resource::scalar("mem", 8192.0),
                    Resource::scalar("disk", 20000.0),
                    Resource::ranges("ports", vec![r(31000, 31999)]),
                ],
            ),
            (
                " cpus(*) : 0.5 ; ports:[1-2, 5-5,7];",
                vec![
                    Resource::scalar("cpus", 0.5),
                    Resource::ranges("ports", vec![r(1, 2), r(5, 5), r(7, 7)]),
                ],
            ),
            (
                "zones:{a, b}",
                vec![Resource::set("zones", vec!["a".into(), "b".into()])],
            ),
            ("", vec![]),
        ];
        for (spec, want) in table {
            assert_eq!(parse_resources(spec), Ok(want), "{spec}");
        }
    }

    #[test]
    fn bad_resources_say_why() {
        let table = [
            ("cpus", "not of the form"),
            ("cpus:", "not of the form"),
            ("cpus:four", "a resource is a number"),
            ("cpus:-1", "finite number"),
            ("ports:[5-1]", "ends before it begins"),
            ("ports:[a-b]", "non-negative integers"),
            ("ports:[1-2", "must end with ']'"),
            ("cpus:1;cpus:2", "given twice"),
            ("cpus(web):1", "reserved for a role"),
        ];
        for (spec, want) in table {
            let err = parse_resources(spec).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(want), "{spec}: {err}");
        }
    }

    #[test]
    fn attributes_parse_by_shape() {
        let got = parse_attributes("rack:a;level:3;slots:[1-4];tags:{x,y}").unwrap_or_default();
        let values: Vec<Value> = got.into_iter().map(|a| a.value).collect();
        assert_eq!(
            values,
            vec![
                Value::Text("a".into()),
                Value::Scalar(3.0),
                Value::Ranges(vec![r(1, 4)]),
                Value::Set(vec!["x".into(), "y".into()]),
            ]
        );
        assert!(parse_attributes("rack").is_err());
        assert!(parse_attributes("rack:a;rack:b").is_err());
    }
}
