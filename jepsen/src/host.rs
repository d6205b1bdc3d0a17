//! What the harness needs from the machine it runs on: root's tools (`ip`, `nft`, libfaketime,
//! installed through apt when missing, as `.ci/run` does for everything else), the baton binary
//! under test, and the commit it was built from.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian's `faketime` package puts the library.
const FAKETIME_LIBS: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
];

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn faketime_lib() -> Option<PathBuf> {
    FAKETIME_LIBS.iter().map(PathBuf::from).find(|p| p.exists())
}

fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    eprintln!("jepsen: installing {} with apt", packages.join(" "));
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
    };
    if install().is_ok_and(|s| s.success()) {
        return Ok(());
    }
    let _ = Command::new("apt-get")
        .args(["update", "-q"])
        .stdout(Stdio::null())
        .status();
    let status = install().context("cannot run apt-get")?;
    if !status.success() {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    Ok(())
}

/// Installs what is missing: iproute2 and nftables always, libfaketime when clocks are skewed.
/// Returns libfaketime's path when `clock` asked for it.
pub fn ensure_tools(clock: bool) -> anyhow::Result<Option<PathBuf>> {
    let mut missing = Vec::new();
    if !have("ip") {
        missing.push("iproute2");
    }
    if !have("nft") {
        missing.push("nftables");
    }
    if clock && faketime_lib().is_none() {
        missing.push("faketime");
    }
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    if !clock {
        return Ok(None);
    }
    faketime_lib()
        .map(Some)
        .context("libfaketime is installed but its library was not found")
}

/// The baton binary: the one given, else the `baton` next to this harness's own binary (both
/// are built into the same `target/<profile>/`).
pub fn baton_binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()?
            .parent()
            .map(|dir| dir.join("baton"))
            .context("the harness binary has no folder")?,
    };
    let path = path.canonicalize().with_context(|| {
        format!(
            "no baton binary at {} (build it, or pass --baton)",
            path.display()
        )
    })?;
    anyhow::ensure!(path.is_file(), "{} is not a file", path.display());
    Ok(path)
}

/// `git rev-parse HEAD`, marked `-dirty` when the work tree has changes; "unknown" outside git.
pub fn git_commit() -> String {
    let out = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match out(&["rev-parse", "HEAD"]) {
        Some(head) => match out(&["status", "--porcelain"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown".to_string(),
    }
}
