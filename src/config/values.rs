//! Typed readings of TOML values: numbers, strings, paths, socket and host:port addresses, URLs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use toml::Value;

pub(super) fn as_u64(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) => {
            u64::try_from(*i).map_err(|_| format!("must not be negative, found {i}"))
        }
        other => Err(format!("must be an integer, found {}", other.type_str())),
    }
}

pub(super) fn as_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("must be a string, found {}", other.type_str())),
    }
}

pub(super) fn as_non_empty(v: &Value) -> Result<String, String> {
    let s = as_string(v)?;
    if s.trim().is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(s)
}

pub(super) fn as_path(v: &Value) -> Result<PathBuf, String> {
    as_non_empty(v).map(PathBuf::from)
}

pub(super) fn as_socket_addr(v: &Value) -> Result<SocketAddr, String> {
    let s = as_string(v)?;
    s.parse()
        .map_err(|_| format!("\"{s}\" is not an IP:port address (such as \"127.0.0.1:7101\")"))
}

pub(super) fn as_host_port(v: &Value) -> Result<(String, HostPort), String> {
    let s = as_string(v)?;
    let hp = HostPort::parse(&s).map_err(|e| format!("\"{s}\" is not a host:port address: {e}"))?;
    if let Host::Ip(ip) = hp.host
        && ip.is_unspecified()
    {
        return Err(format!(
            "\"{s}\" is an unspecified address, which no peer can dial"
        ));
    }
    Ok((s, hp))
}

/// `master = "url"` (commas allowed) or `master = ["url", …]`.
pub(super) fn as_master_list(v: &Value) -> Result<Vec<String>, String> {
    let list: Vec<String> = match v {
        Value::String(s) => s.split(',').map(str::trim).map(String::from).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| as_string(item).map(|s| s.trim().to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("entries {e}"))?,
        other => {
            return Err(format!(
                "must be a URL or a list of URLs, found {}",
                other.type_str()
            ));
        }
    };
    let list: Vec<String> = list.into_iter().filter(|u| !u.is_empty()).collect();
    if list.is_empty() {
        return Err("names no Mesos master".to_string());
    }
    Ok(list)
}

/// Checks an `http(s)://host[:port][/path]` URL and returns it without a trailing slash.
pub(super) fn parse_master_url(url: &str) -> Result<String, String> {
    let bad = |why: &str| format!("\"{url}\" is not an http(s) URL of a Mesos master: {why}");
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("no http:// or https:// scheme"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad("the scheme must be http or https"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "credentials belong in `mesos.principal` and `mesos.secret`",
        ));
    }
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let host_only = authority
        .strip_prefix('[')
        .map_or(!authority.contains(':'), |v6| v6.ends_with(']'));
    if host_only {
        Host::parse(authority).map_err(|e| bad(&e))?;
    } else {
        HostPort::parse(authority).map_err(|e| bad(&e))?;
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A parsed `host:port`, normalised so that equal addresses compare equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct HostPort {
    pub(super) host: Host,
    pub(super) port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Host {
    Ip(IpAddr),
    /// A DNS name, lower-cased.
    Name(String),
}

impl Host {
    pub(super) fn parse(host: &str) -> Result<Host, String> {
        if let Some(inner) = host.strip_prefix('[') {
            return match inner.strip_suffix(']').map(str::parse::<Ipv6Addr>) {
                Some(Ok(ip)) => Ok(Host::Ip(IpAddr::V6(ip))),
                _ => Err(format!("\"{host}\" is not a bracketed IPv6 address")),
            };
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Host::Ip(IpAddr::V4(ip)));
        }
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let name = host.strip_suffix('.').unwrap_or(host);
        if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
            return Err(format!("\"{host}\" is not a valid host name or IP address"));
        }
        Ok(Host::Name(name.to_ascii_lowercase()))
    }
}

impl HostPort {
    pub(super) fn parse(s: &str) -> Result<HostPort, String> {
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err("no port".to_string());
        };
        let port: u16 = port.parse().map_err(|_| format!("bad port \"{port}\""))?;
        if port == 0 {
            return Err("port 0 cannot be dialled".to_string());
        }
        if host.contains(':') && !host.starts_with('[') {
            return Err("an IPv6 host must be written in brackets, as [::1]:7101".to_string());
        }
        Ok(HostPort {
            host: Host::parse(host)?,
            port,
        })
    }

    /// Whether a listener on `listen` answers at this address. A host name cannot be checked
    /// without DNS, so it matches on the port alone, as an unspecified listen address does.
    pub(super) fn served_by(&self, listen: SocketAddr) -> bool {
        self.port == listen.port()
            && match self.host {
                Host::Ip(ip) => listen.ip().is_unspecified() || ip == listen.ip(),
                Host::Name(_) => true,
            }
    }
}
