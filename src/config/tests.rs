//! Tests of the configuration: the ready configs load, and every rule reports its problem.

use super::*;

/// A valid three-member config for node 2; cases below edit it.
const BASE: &str = r#"
[node]
id = 2
data_dir = "unused: tests override it"
peer_listen = "127.0.0.1:7102"
grpc_listen = "127.0.0.1:9102"
http_listen = "127.0.0.1:8082"

[[members]]
id = 3
peer = "127.0.0.1:7103"
grpc = "127.0.0.1:9103"
http = "127.0.0.1:8083"

[[members]]
id = 1
peer = "127.0.0.1:7101"
grpc = "127.0.0.1:9101"
http = "127.0.0.1:8081"

[[members]]
id = 2
peer = "127.0.0.1:7102"
grpc = "127.0.0.1:9102"
http = "127.0.0.1:8082"

[mesos]
master = "http://127.0.0.1:5050"
"#;

fn with_data_dir(dir: &Path) -> Overrides {
    Overrides {
        data_dir: Some(dir.to_path_buf()),
        ..Overrides::default()
    }
}

/// Validates `text` with its data dir in a fresh temporary directory.
fn check(text: &str) -> Result<Config, ConfigError> {
    check_with(text, Overrides::default())
}

fn check_with(text: &str, overrides: Overrides) -> Result<Config, ConfigError> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let overrides = Overrides {
        data_dir: overrides.data_dir.or(Some(tmp.path().join("data"))),
        ..overrides
    };
    Config::from_toml(text, "test.toml", overrides)
}

fn problems(text: &str) -> Vec<String> {
    match check(text) {
        Ok(_) => panic!("expected problems, the config was accepted:\n{text}"),
        Err(e) => e.problems,
    }
}

/// `BASE` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

fn ready_config(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cluster-config")
        .join(rel)
}

#[test]
fn ready_configs_all_load() {
    for (size, n) in [("three", 3u64), ("five", 5)] {
        for i in 1..=n {
            let tmp = tempfile::tempdir().expect("tempdir");
            let path = ready_config(&format!("{size}/node{i}.toml"));
            let config =
                Config::load(&path, with_data_dir(tmp.path())).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.node.id, i);
            assert_eq!(
                config.node.peer_listen.to_string(),
                format!("127.0.0.1:710{i}")
            );
            assert_eq!(
                config.node.grpc_listen.to_string(),
                format!("127.0.0.1:910{i}")
            );
            assert_eq!(
                config.node.http_listen.to_string(),
                format!("127.0.0.1:808{i}")
            );
            assert_eq!(config.members.len() as u64, n);
            assert_eq!(config.me().http, format!("127.0.0.1:808{i}"));
            assert_eq!(config.mesos.masters, vec![DEFAULT_MESOS_MASTER.to_string()]);
            assert_eq!(config.raft, RaftTimings::default());
            assert_eq!(config.log.format, LogFormat::Text);

            let text = fs::read_to_string(&path).expect("read");
            assert!(text.contains(&format!("data_dir = \"data/{size}/node{i}\"")));
        }
    }
}

#[test]
fn systemd_example_loads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = ready_config("systemd/baton.toml.example");
    let config = Config::load(&path, with_data_dir(tmp.path())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.members.len(), 3);
    assert_eq!(config.me().peer, "baton-1.example.internal:7100");
    assert_eq!(config.mesos.masters.len(), 3);
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn base_loads_with_defaults_and_members_sorted() {
    let config = check(BASE).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<u64> = config.members.iter().map(|m| m.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(config.me().id, 2);
    assert_eq!(config.mesos, MesosConfig::default());
    assert_eq!(config.raft, RaftTimings::default());
    assert_eq!(config.log, LogConfig::default());
}

#[test]
fn reports_every_problem_at_once() {
    let text = BASE
        .replace("id = 3", "id = 1")
        .replace(
            "[mesos]",
            "[raft]\nheartbeat_ms = 10\nelection_timeout_min_ms = 400\n[mesos]",
        )
        .replace("http://127.0.0.1:5050", "127.0.0.1:5050")
        + "\n[extra]\n";
    let err = check(&text).expect_err("several problems");
    let all = err.problems.join("\n");
    for expected in [
        "unknown key `raft.heartbeat_ms`",
        "unknown key `extra`",
        "duplicate member id 1",
        "`mesos.master` entry 1 \"127.0.0.1:5050\" is not an http(s) URL",
        "`raft.election_timeout_min_ms` (400) must be less than",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    assert_eq!(err.problems.len(), 5, "{all}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("invalid configuration test.toml:\n  - "),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), 6, "{shown}");
}

#[test]
fn each_rule_names_its_key() {
    let cases: &[(&str, String, &str)] = &[
        (
            "unknown root key",
            format!("foo = 1\n{BASE}"),
            "unknown key `foo`",
        ),
        (
            "unknown node key",
            edit("id = 2\n", "id = 2\nname = \"x\"\n"),
            "unknown key `node.name`",
        ),
        (
            "unknown member key",
            edit("id = 3\n", "id = 3\naddress = \"x\"\n"),
            "unknown key `members[0].address`",
        ),
        (
            "unknown raft key",
            format!("{BASE}\n[raft]\nheartbeat_ms = 50\n"),
            "unknown key `raft.heartbeat_ms`",
        ),
        (
            "unknown log key",
            format!("{BASE}\n[log]\nlevel = \"info\"\n"),
            "unknown key `log.level`",
        ),
        (
            "missing node",
            BASE.replace("[node]", "[nodes]"),
            "missing required key `node`",
        ),
        (
            "missing node.id",
            edit("id = 2\n", ""),
            "missing required key `node.id`",
        ),
        (
            "missing node listen",
            edit("grpc_listen = \"127.0.0.1:9102\"\n", ""),
            "missing required key `node.grpc_listen`",
        ),
        (
            "missing member address",
            edit("peer = \"127.0.0.1:7103\"\n", ""),
            "missing required key `members[0].peer`",
        ),
        (
            "missing mesos master",
            edit("master = \"http://127.0.0.1:5050\"\n", ""),
            "missing required key `mesos.master`",
        ),
        (
            "missing mesos section",
            edit("[mesos]\nmaster = \"http://127.0.0.1:5050\"\n", ""),
            "missing required key `mesos.master`",
        ),
        (
            "missing members",
            BASE.replace("[[members]]", "[[member]]"),
            "missing required key `members`",
        ),
        (
            "node id wrong type",
            edit("id = 2\n", "id = \"2\"\n"),
            "`node.id` must be an integer, found string",
        ),
        (
            "negative id",
            edit("id = 2\n", "id = -2\n"),
            "`node.id` must not be negative",
        ),
        (
            "node not a table",
            BASE.replace("[node]\n", "node = 1\n[x]\n"),
            "`node` must be a table, found integer",
        ),
        (
            "member listen wrong type",
            edit("http = \"127.0.0.1:8083\"", "http = 8083"),
            "`members[0].http` must be a string, found integer",
        ),
        (
            "raft wrong type",
            format!("{BASE}\n[raft]\nheartbeat_interval_ms = 5.5\n"),
            "`raft.heartbeat_interval_ms` must be an integer, found float",
        ),
        (
            "members not an array of tables",
            format!(
                "members = 3\n{}",
                BASE.split("[[members]]").next().unwrap_or_default()
            ),
            "`members` must be an array of tables",
        ),
        (
            "duplicate member id",
            edit("id = 3\n", "id = 1\n"),
            "duplicate member id 1: `members[0]` and `members[1]`",
        ),
        (
            "duplicate member address",
            edit("grpc = \"127.0.0.1:9103\"", "grpc = \"127.0.0.1:7101\""),
            "duplicate address 127.0.0.1:7101: `members[0].grpc` and `members[1].peer`",
        ),
        (
            "duplicate member address by host name case",
            BASE.replace("127.0.0.1:9101", "Node-A:1")
                .replace("127.0.0.1:8081", "node-a:1"),
            "duplicate address node-a:1: `members[1].grpc` and `members[1].http`",
        ),
        (
            "duplicate listen addresses",
            edit(
                "http_listen = \"127.0.0.1:8082\"",
                "http_listen = \"127.0.0.1:7102\"",
            ),
            "`node.peer_listen` 127.0.0.1:7102 and `node.http_listen` 127.0.0.1:7102 collide",
        ),
        (
            "listen on all interfaces collides by port",
            edit(
                "grpc_listen = \"127.0.0.1:9102\"",
                "grpc_listen = \"0.0.0.0:7102\"",
            ),
            "`node.peer_listen` 127.0.0.1:7102 and `node.grpc_listen` 0.0.0.0:7102 collide",
        ),
        (
            "node not a member",
            edit("id = 2\n", "id = 7\n"),
            "`node.id` 7 is not among `members` (ids 1, 2, 3)",
        ),
        (
            "own entry disagrees",
            edit(
                "peer_listen = \"127.0.0.1:7102\"",
                "peer_listen = \"127.0.0.1:7109\"",
            ),
            "`members[2].peer` 127.0.0.1:7102 is this node's entry but disagrees with \
             `node.peer_listen` 127.0.0.1:7109",
        ),
        (
            "own entry disagrees on the host",
            edit(
                "http_listen = \"127.0.0.1:8082\"",
                "http_listen = \"127.0.0.2:8082\"",
            ),
            "`members[2].http` 127.0.0.1:8082 is this node's entry",
        ),
        (
            "unparsable listen",
            edit(
                "peer_listen = \"127.0.0.1:7102\"",
                "peer_listen = \"localhost:7102\"",
            ),
            "`node.peer_listen` \"localhost:7102\" is not an IP:port address",
        ),
        (
            "member address without port",
            edit("grpc = \"127.0.0.1:9103\"", "grpc = \"127.0.0.1\""),
            "`members[0].grpc` \"127.0.0.1\" is not a host:port address: no port",
        ),
        (
            "member address with bad port",
            edit("grpc = \"127.0.0.1:9103\"", "grpc = \"127.0.0.1:99999\""),
            "`members[0].grpc` \"127.0.0.1:99999\" is not a host:port address: bad port",
        ),
        (
            "member address with bad host",
            edit("grpc = \"127.0.0.1:9103\"", "grpc = \"bad host!:9103\""),
            "`members[0].grpc` \"bad host!:9103\" is not a host:port address",
        ),
        (
            "member address unspecified",
            edit("grpc = \"127.0.0.1:9103\"", "grpc = \"0.0.0.0:9103\""),
            "`members[0].grpc` \"0.0.0.0:9103\" is an unspecified address",
        ),
        (
            "unbracketed ipv6 member address",
            edit("grpc = \"127.0.0.1:9103\"", "grpc = \"::1:9103\""),
            "must be written in brackets",
        ),
        (
            "mesos master not http",
            edit("http://127.0.0.1:5050", "ftp://127.0.0.1:5050"),
            "`mesos.master` entry 1 \"ftp://127.0.0.1:5050\" is not an http(s) URL",
        ),
        (
            "mesos master list with a bad entry",
            edit(
                "\"http://127.0.0.1:5050\"",
                "[\"http://a:5050\", \"http://:5050\"]",
            ),
            "`mesos.master` entry 2 \"http://:5050\" is not an http(s) URL",
        ),
        (
            "mesos master empty list",
            edit("\"http://127.0.0.1:5050\"", "[]"),
            "`mesos.master` names no Mesos master",
        ),
        (
            "mesos secret without principal",
            edit("[mesos]\n", "[mesos]\nsecret = \"s\"\n"),
            "`mesos.secret` is set without `mesos.principal`",
        ),
        (
            "mesos empty framework name",
            edit("[mesos]\n", "[mesos]\nframework_name = \"\"\n"),
            "`mesos.framework_name` must not be empty",
        ),
        (
            "heartbeat zero",
            format!("{BASE}\n[raft]\nheartbeat_interval_ms = 0\n"),
            "`raft.heartbeat_interval_ms` must be greater than 0",
        ),
        (
            "min not below max",
            format!("{BASE}\n[raft]\nelection_timeout_min_ms = 300\n"),
            "`raft.election_timeout_min_ms` (300) must be less than `raft.election_timeout_max_ms` (300)",
        ),
        (
            "heartbeat too slow",
            format!("{BASE}\n[raft]\nheartbeat_interval_ms = 80\n"),
            "`raft.heartbeat_interval_ms` (80) times 2 must not exceed",
        ),
        (
            "lease too long",
            format!("{BASE}\n[raft]\nlease_ms = 151\n"),
            "`raft.lease_ms` (151) must not exceed `raft.election_timeout_min_ms` (150)",
        ),
        (
            "zero members",
            format!(
                "members = []\n{}",
                BASE.split("[[members]]").next().unwrap_or_default()
            ),
            "`members` is empty",
        ),
        (
            "bad log format",
            format!("{BASE}\n[log]\nformat = \"xml\"\n"),
            "`log.format` is an unknown log format \"xml\"",
        ),
        (
            "bad log filter",
            format!("{BASE}\n[log]\nfilter = \"baton=loud\"\n"),
            "`log.filter` is not a valid filter",
        ),
        ("not toml", "[node\nid = 1".to_string(), "not valid TOML"),
        (
            "no instance per offer",
            edit(
                "master = \"http://127.0.0.1:5050\"\n",
                "master = \"http://127.0.0.1:5050\"\nmax_instances_per_offer = 0\n",
            ),
            "`mesos.max_instances_per_offer` must be at least 1",
        ),
    ];
    for (name, text, expected) in cases {
        let found = problems(text);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{name}: expected a problem containing {expected:?}, got {found:#?}"
        );
    }
}

#[test]
fn listen_on_all_interfaces_matches_member_by_port() {
    let text = BASE
        .replace(
            "peer_listen = \"127.0.0.1:7102\"",
            "peer_listen = \"0.0.0.0:7102\"",
        )
        .replace(
            "grpc_listen = \"127.0.0.1:9102\"",
            "grpc_listen = \"[::]:9102\"",
        );
    let config = check(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.node.peer_listen.to_string(), "0.0.0.0:7102");

    let wrong_port = BASE.replace(
        "peer_listen = \"127.0.0.1:7102\"",
        "peer_listen = \"0.0.0.0:7109\"",
    );
    assert!(
        problems(&wrong_port)
            .iter()
            .any(|p| p.contains("`members[2].peer`"))
    );
}

#[test]
fn host_names_match_any_listen_with_their_port() {
    let text = BASE.replace(
        "127.0.0.1:7102\"\ngrpc = ",
        "node-2.example:7102\"\ngrpc = ",
    );
    let config = check(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.me().peer, "node-2.example:7102");
}

#[test]
fn raft_timings_and_lease_default() {
    let text = format!(
        "{BASE}\n[raft]\nheartbeat_interval_ms = 100\nelection_timeout_min_ms = 400\n\
         election_timeout_max_ms = 800\n"
    );
    let raft = check(&text).unwrap_or_else(|e| panic!("{e}")).raft;
    assert_eq!(raft.heartbeat_interval_ms, 100);
    assert_eq!(
        raft.lease_ms, 400,
        "lease defaults to election_timeout_min_ms"
    );

    let text = format!("{BASE}\n[raft]\nlease_ms = 100\nsnapshot_logs_since_last = 5\n");
    let raft = check(&text).unwrap_or_else(|e| panic!("{e}")).raft;
    assert_eq!((raft.lease_ms, raft.snapshot_logs_since_last), (100, 5));
}

#[test]
fn mesos_settings_and_master_forms() {
    let text = edit(
        "master = \"http://127.0.0.1:5050\"\n",
        "master = \" http://a:5050/ , https://[::1]:5050\"\nframework_name = \"b\"\n\
         role = \"web\"\nuser = \"nobody\"\nfailover_timeout_secs = 60\n\
         principal = \"p\"\nsecret = \"hunter2\"\nmax_instances_per_offer = 40\n",
    );
    let mesos = check(&text).unwrap_or_else(|e| panic!("{e}")).mesos;
    assert_eq!(mesos.max_instances_per_offer, 40);
    assert_eq!(mesos.masters, ["http://a:5050", "https://[::1]:5050"]);
    assert_eq!(mesos.framework_name, "b");
    assert_eq!(mesos.role, "web");
    assert_eq!(mesos.user.as_deref(), Some("nobody"));
    assert_eq!(mesos.failover_timeout_secs, 60);
    assert_eq!(mesos.principal.as_deref(), Some("p"));
    assert_eq!(mesos.secret.as_deref(), Some("hunter2"));
    assert!(
        !format!("{mesos:?}").contains("hunter2"),
        "the secret is never printed"
    );
}

#[test]
fn overrides_apply_before_validation() {
    let text = edit(
        "master = \"http://127.0.0.1:5050\"\n",
        "master = \"not a url\"\n",
    )
    .replace("data_dir = \"unused: tests override it\"\n", "");
    let overrides = Overrides {
        mesos_master: Some("http://m1:5050,http://m2:5050".to_string()),
        log_format: Some(LogFormat::Json),
        ..Overrides::default()
    };
    let config = check_with(&text, overrides).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.mesos.masters, ["http://m1:5050", "http://m2:5050"]);
    assert_eq!(config.log.format, LogFormat::Json);

    let bad = Overrides {
        mesos_master: Some("m1:5050".to_string()),
        ..Overrides::default()
    };
    let err = check_with(BASE, bad).expect_err("bad flag");
    assert!(
        err.problems
            .iter()
            .any(|p| p.starts_with("--mesos-master \"m1:5050\""))
    );
}

#[test]
fn data_dir_is_created_and_probed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("a/b/c");
    let config =
        Config::from_toml(BASE, "t", with_data_dir(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.node.data_dir, dir);
    assert!(dir.is_dir());
    assert_eq!(
        fs::read_dir(&dir).expect("read_dir").count(),
        0,
        "the probe is removed"
    );

    let file = tmp.path().join("file");
    fs::write(&file, "x").expect("write");
    let under_file = Config::from_toml(BASE, "t", with_data_dir(&file.join("data")))
        .expect_err("a path under a regular file");
    assert!(
        under_file
            .problems
            .iter()
            .any(|p| p.starts_with("--data-dir") && p.contains("unreachable data dir")),
        "{under_file}"
    );
    let is_file = Config::from_toml(BASE, "t", with_data_dir(&file)).expect_err("a file");
    assert!(
        is_file
            .problems
            .iter()
            .any(|p| p.contains("unreachable data dir")),
        "{is_file}"
    );
}

#[test]
fn data_dir_from_the_file_is_named_by_its_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("file");
    fs::write(&file, "x").expect("write");
    let text = edit(
        "data_dir = \"unused: tests override it\"",
        &format!("data_dir = {:?}", file.join("d").display().to_string()),
    );
    let err = Config::from_toml(&text, "t", Overrides::default()).expect_err("unreachable");
    assert!(
        err.problems
            .iter()
            .any(|p| p.starts_with("`node.data_dir`") && p.contains("unreachable data dir")),
        "{err}"
    );
}

#[test]
fn missing_file_is_a_config_error() {
    let err = Config::load(Path::new("/nonexistent/baton.toml"), Overrides::default())
        .expect_err("missing");
    assert_eq!(err.path, "/nonexistent/baton.toml");
    assert!(
        err.problems[0].contains("cannot read the configuration file"),
        "{err}"
    );
}

#[test]
fn single_node_is_its_own_member() {
    let addr = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let config = Config::single_node("d".into(), addr(1), addr(2), addr(3));
    assert_eq!(config.members.len(), 1);
    assert_eq!(config.me().peer, "127.0.0.1:1");
    assert_eq!(config.me().http, "127.0.0.1:3");
}

#[test]
fn log_format_parses_from_flags() {
    assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
    assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
    assert!("yaml".parse::<LogFormat>().is_err());
}

#[test]
fn odd_inputs_never_panic() {
    for text in [
        "",
        "node = []",
        "[[node]]\nid = 1",
        "members = [1, \"x\", {}]",
        "[node]\nid = 18446744073709551615",
        "[mesos]\nmaster = [1]",
        "[raft]\nheartbeat_interval_ms = 9223372036854775807\nelection_timeout_min_ms = 1",
        "[node]\npeer_listen = \"\u{1F600}:1\"\n[[members]]\npeer = \"[\u{1F600}:1\"",
    ] {
        assert!(check(text).is_err(), "{text}");
    }
}
