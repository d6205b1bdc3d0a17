//! The agents' fetcher: a task's `CommandInfo.uris` that name local files (absolute paths or
//! `file://` URLs) are copied into its sandbox before its command runs; archives are extracted
//! (`tar`, `unzip`), `executable` files made executable, `output_file` renames. mesos-local
//! fetches nothing over the network: other URIs fail the task.

use crate::mesos::CommandUri;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

/// Fetches every URI into `sandbox`, in order; the first failure is the task's failure message.
pub fn fetch_all(uris: &[CommandUri], sandbox: &Path) -> Result<(), String> {
    for uri in uris {
        fetch(uri, sandbox).map_err(|why| format!("Failed to fetch URI '{}': {why}", uri.value))?;
    }
    Ok(())
}

/// The local file a URI names, or why mesos-local cannot fetch it.
fn local_path(value: &str) -> Result<PathBuf, String> {
    let path = match value.strip_prefix("file://") {
        Some(rest) => rest.strip_prefix("localhost").unwrap_or(rest),
        None if value.contains("://") => {
            return Err(
                "only local URIs (absolute paths or file://) are supported by mesos-local".into(),
            );
        }
        None => value,
    };
    if !path.starts_with('/') {
        return Err(
            "not an absolute path; only local URIs (absolute paths or file://) are supported by \
             mesos-local"
                .into(),
        );
    }
    Ok(PathBuf::from(path))
}

/// The file's name in the sandbox: `output_file` (relative, staying inside the sandbox), else
/// the source's own name.
fn destination(uri: &CommandUri, source: &Path) -> Result<PathBuf, String> {
    match uri.output_file.as_deref().filter(|o| !o.is_empty()) {
        Some(out) => {
            let p = Path::new(out);
            if p.components().all(|c| matches!(c, Component::Normal(_))) {
                Ok(p.to_path_buf())
            } else {
                Err(format!(
                    "output_file '{out}' must be a relative path inside the sandbox"
                ))
            }
        }
        None => source
            .file_name()
            .map(PathBuf::from)
            .ok_or_else(|| "the URI names no file".to_owned()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Archive {
    Tar,
    Zip,
}

/// Which archive a file name says it is (`tar` detects the compression itself).
fn archive_kind(name: &Path) -> Option<Archive> {
    let name = name.to_string_lossy().to_ascii_lowercase();
    const TARS: [&str; 7] = [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
    ];
    if TARS.iter().any(|ext| name.ends_with(ext)) {
        Some(Archive::Tar)
    } else if name.ends_with(".zip") {
        Some(Archive::Zip)
    } else {
        None
    }
}

fn fetch(uri: &CommandUri, sandbox: &Path) -> Result<(), String> {
    let source = local_path(&uri.value)?;
    let name = destination(uri, &source)?;
    let target = sandbox.join(&name);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::copy(&source, &target).map_err(|e| e.to_string())?;
    if uri.executable == Some(true) {
        let mode = std::fs::Permissions::from_mode(0o755);
        return std::fs::set_permissions(&target, mode).map_err(|e| e.to_string());
    }
    // Mesos extracts unless told not to.
    match archive_kind(&name) {
        Some(kind) if uri.extract.unwrap_or(true) => extract(kind, &target, sandbox),
        _ => Ok(()),
    }
}

fn extract(kind: Archive, archive: &Path, into: &Path) -> Result<(), String> {
    let mut cmd = match kind {
        Archive::Tar => {
            let mut c = Command::new("tar");
            c.arg("-C").arg(into).arg("-xf").arg(archive);
            c
        }
        Archive::Zip => {
            let mut c = Command::new("unzip");
            c.args(["-o", "-q"]).arg(archive).arg("-d").arg(into);
            c
        }
    };
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {kind:?} extraction: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot extract it: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(value: &str) -> CommandUri {
        CommandUri {
            value: value.to_owned(),
            executable: None,
            extract: None,
            cache: None,
            output_file: None,
        }
    }

    #[test]
    fn only_local_uris_name_a_path() {
        let table = [
            ("/srv/app.tgz", Ok("/srv/app.tgz")),
            ("file:///srv/app.tgz", Ok("/srv/app.tgz")),
            ("file://localhost/srv/a", Ok("/srv/a")),
            ("https://example.com/app.tgz", Err("only local URIs")),
            ("hdfs://nn/app.tgz", Err("only local URIs")),
            ("app.tgz", Err("not an absolute path")),
            ("file://srv/a", Err("not an absolute path")),
        ];
        for (value, want) in table {
            match (local_path(value), want) {
                (Ok(p), Ok(w)) => assert_eq!(p, PathBuf::from(w), "{value}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{value}: {e}"),
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn destinations_and_archive_kinds() {
        let mut renamed = uri("/a/b.tgz");
        renamed.output_file = Some("lib/c.tar.gz".into());
        let mut escaping = uri("/a/b");
        escaping.output_file = Some("../x".into());
        let src = Path::new("/a/b.tgz");
        assert_eq!(destination(&uri("/a/b.tgz"), src), Ok("b.tgz".into()));
        assert_eq!(destination(&renamed, src), Ok("lib/c.tar.gz".into()));
        assert!(destination(&escaping, src).is_err());
        let kinds = [
            ("a.tar.gz", Some(Archive::Tar)),
            ("A.TGZ", Some(Archive::Tar)),
            ("a.tar.xz", Some(Archive::Tar)),
            ("a.zip", Some(Archive::Zip)),
            ("a.gz", None),
            ("run.sh", None),
        ];
        for (name, want) in kinds {
            assert_eq!(archive_kind(Path::new(name)), want, "{name}");
        }
    }

    #[test]
    fn files_are_copied_renamed_made_executable_and_extracted() {
        let src = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sandbox = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let script = src.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\necho ok\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(src.path().join("pkg")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(src.path().join("pkg/data.txt"), "data").unwrap_or_else(|e| panic!("{e}"));
        let tar = Command::new("tar")
            .arg("-C")
            .arg(src.path())
            .args(["-czf", "app.tgz", "pkg"])
            .current_dir(src.path())
            .status();
        assert!(tar.is_ok_and(|s| s.success()), "tar -czf");

        let mut exe = uri(&format!("file://{}", script.display()));
        exe.executable = Some(true);
        exe.output_file = Some("bin/start".into());
        let archive = uri(&src.path().join("app.tgz").display().to_string());
        let mut kept = uri(&src.path().join("app.tgz").display().to_string());
        kept.extract = Some(false);
        kept.output_file = Some("copy.tgz".into());
        assert_eq!(fetch_all(&[exe, archive, kept], sandbox.path()), Ok(()));

        let start = sandbox.path().join("bin/start");
        let mode = std::fs::metadata(&start).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o755));
        let data = std::fs::read_to_string(sandbox.path().join("pkg/data.txt"));
        assert_eq!(
            data.ok().as_deref(),
            Some("data"),
            "the archive was extracted"
        );
        assert!(sandbox.path().join("copy.tgz").exists());

        let missing = uri("/nonexistent/file.txt");
        let err = fetch_all(&[missing], sandbox.path()).unwrap_err();
        assert!(
            err.starts_with("Failed to fetch URI '/nonexistent/file.txt'"),
            "{err}"
        );
        let mut corrupt = uri(&script.display().to_string());
        corrupt.output_file = Some("broken.zip".into());
        let err = fetch_all(&[corrupt], sandbox.path()).unwrap_err();
        assert!(err.contains("cannot extract"), "{err}");
    }
}
