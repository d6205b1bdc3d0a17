//! The run's private network: a network namespace in which every node has its own loopback
//! address (all of 127.0.0.0/8 is local on `lo`), and partitions as nftables drop rules on
//! source and destination addresses. baton binds each node's outgoing connections to its own
//! address, so a rule `ip saddr A ip daddr B drop` cuts exactly the link A → B.

use anyhow::{Context, bail};
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The nftables table and chain the harness owns inside its namespace.
const TABLE: &str = "jepsen";
const CHAIN: &str = "out";

/// Runs a command, failing with its stderr when it does not succeed.
fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A network namespace, deleted (with every process still in it killed) when dropped.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `name` afresh (a leftover of the same name is removed first) with `lo` up.
    pub fn create(name: &str) -> anyhow::Result<Netns> {
        if Command::new("ip")
            .args(["netns", "pids", name])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            let stale = Netns {
                name: name.to_string(),
            };
            drop(stale);
        }
        run(Command::new("ip").args(["netns", "add", name]))?;
        let ns = Netns {
            name: name.to_string(),
        };
        run(Command::new("ip").args(["-n", name, "link", "set", "lo", "up"]))?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &std::path::Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Every process inside the namespace (stopped ones are continued first, so they die).
    pub fn kill_all(&self) {
        let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        else {
            return;
        };
        let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        if pids.is_empty() {
            return;
        }
        for signal in ["-CONT", "-KILL"] {
            let _ = Command::new("kill")
                .arg(signal)
                .args(&pids)
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_all();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// A directed link to cut: packets from `from` to `to` are dropped.
pub type Link = (Ipv4Addr, Ipv4Addr);

/// The namespace's firewall, driven from inside it. Every change replaces the whole rule set in
/// one atomic `nft -f` transaction.
pub struct Firewall;

impl Firewall {
    /// Installs the (empty) table; a leftover one is replaced.
    pub fn install() -> anyhow::Result<Firewall> {
        nft(&format!(
            "table inet {TABLE}\ndelete table inet {TABLE}\n\
             table inet {TABLE} {{\n  chain {CHAIN} {{\n    type filter hook output priority 0; policy accept;\n  }}\n}}\n"
        ))?;
        Ok(Firewall)
    }

    /// Drops exactly `links` (and nothing else).
    pub fn cut(&self, links: &[Link]) -> anyhow::Result<()> {
        nft(&cut_script(links))
    }

    /// Drops nothing.
    pub fn heal(&self) -> anyhow::Result<()> {
        nft(&cut_script(&[]))
    }

    /// The rules in force, as nft prints them (for the run's notes).
    pub fn rules(&self) -> anyhow::Result<String> {
        run(Command::new("nft").args(["list", "chain", "inet", TABLE, CHAIN]))
    }
}

/// The nft script that makes `links` the chain's only rules.
fn cut_script(links: &[Link]) -> String {
    let mut script = format!("flush chain inet {TABLE} {CHAIN}\n");
    for (from, to) in links {
        script.push_str(&format!(
            "add rule inet {TABLE} {CHAIN} ip saddr {from} ip daddr {to} drop\n"
        ));
    }
    script
}

fn nft(script: &str) -> anyhow::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run nft (is nftables installed?)")?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "nft refused the rules: {}\n{script}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_replaces_every_rule_at_once() {
        let a = Ipv4Addr::new(127, 0, 0, 11);
        let b = Ipv4Addr::new(127, 0, 0, 12);
        let script = cut_script(&[(a, b), (b, a)]);
        assert_eq!(
            script,
            "flush chain inet jepsen out\n\
             add rule inet jepsen out ip saddr 127.0.0.11 ip daddr 127.0.0.12 drop\n\
             add rule inet jepsen out ip saddr 127.0.0.12 ip daddr 127.0.0.11 drop\n"
        );
        assert_eq!(cut_script(&[]), "flush chain inet jepsen out\n");
    }
}
