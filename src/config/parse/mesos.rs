//! `[mesos]`: the masters (from the file or `--mesos-master`) and how the framework registers.

use crate::config::section::{Need, Section};
use crate::config::values::{as_master_list, as_non_empty, as_u64, parse_master_url};
use crate::config::{MesosConfig, Overrides};

pub(super) fn read_mesos(
    s: &mut Section<'_>,
    overrides: &Overrides,
    p: &mut Vec<String>,
) -> Option<MesosConfig> {
    let defaults = MesosConfig::default();
    let need_master = match overrides.mesos_master {
        Some(_) => Need::Optional,
        None => Need::Required,
    };
    let from_file = s.take("master", need_master, p, as_master_list).flatten();
    let masters = match &overrides.mesos_master {
        Some(flag) => parse_masters(flag, "--mesos-master", p),
        None => from_file.and_then(|list| {
            let mut masters = Vec::new();
            for (i, url) in list.iter().enumerate() {
                match parse_master_url(url) {
                    Ok(u) => masters.push(u),
                    Err(e) => p.push(format!("`mesos.master` entry {} {e}", i + 1)),
                }
            }
            (masters.len() == list.len()).then_some(masters)
        }),
    };
    let framework_name = s.non_empty("framework_name", defaults.framework_name, p);
    let role = s.non_empty("role", defaults.role, p);
    let user = s.take("user", Need::Optional, p, as_non_empty).flatten();
    let failover_timeout_secs = s
        .take("failover_timeout_secs", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.failover_timeout_secs));
    let principal = s
        .take("principal", Need::Optional, p, as_non_empty)
        .flatten();
    let secret = s.take("secret", Need::Optional, p, as_non_empty).flatten();
    let reconciliation_interval_secs = s
        .take("reconciliation_interval_secs", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.reconciliation_interval_secs));
    let decline_offer_duration_secs = s
        .take("decline_offer_duration_secs", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.decline_offer_duration_secs));
    let max_instances_per_offer = s
        .take("max_instances_per_offer", Need::Optional, p, as_u64)
        .unwrap_or(Some(defaults.max_instances_per_offer as u64));
    if max_instances_per_offer == Some(0) {
        p.push("`mesos.max_instances_per_offer` must be at least 1".to_string());
    }
    if reconciliation_interval_secs == Some(0) {
        p.push("`mesos.reconciliation_interval_secs` must be at least 1".to_string());
    }
    if secret.is_some() && principal.is_none() {
        p.push("`mesos.secret` is set without `mesos.principal`".to_string());
    }
    Some(MesosConfig {
        masters: masters?,
        framework_name: framework_name?,
        role: role?,
        user,
        failover_timeout_secs: failover_timeout_secs?,
        principal,
        secret,
        reconciliation_interval_secs: reconciliation_interval_secs.filter(|s| *s > 0)?,
        decline_offer_duration_secs: decline_offer_duration_secs?,
        max_instances_per_offer: max_instances_per_offer.filter(|n| *n > 0)? as usize,
    })
}

/// Splits a comma-separated list of master URLs and checks each.
pub(super) fn parse_masters(list: &str, key: &str, p: &mut Vec<String>) -> Option<Vec<String>> {
    let mut masters = Vec::new();
    let mut ok = true;
    for url in list.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        match parse_master_url(url) {
            Ok(u) => masters.push(u),
            Err(e) => {
                p.push(format!("{key} {e}"));
                ok = false;
            }
        }
    }
    if masters.is_empty() && ok {
        p.push(format!("{key} names no Mesos master"));
        return None;
    }
    ok.then_some(masters)
}
