//! Legacy fields (`ports`, `uris`, docker port mappings) folded into their canonical forms.

use super::*;

#[test]
fn legacy_fields_are_normalized() {
    let app = ok(json!({
        "id": "test-complex-app", "cmd": "/bin/true", "cpus": 0.25, "mem": 30,
        "uris": ["file:///etc/docker.tar.gz"], "ports": [0, 0]
    }));
    assert_eq!(
        app.fetch,
        vec![FetchUri {
            uri: "file:///etc/docker.tar.gz".to_owned(),
            extract: true,
            executable: false,
            cache: false,
            dest_path: None,
        }]
    );
    assert_eq!(app.port_definitions.len(), 2);
    assert!(
        app.port_definitions
            .iter()
            .all(|d| d.port == 0 && d.name.is_none())
    );
    let json = app.to_marathon_json();
    assert!(json.get("uris").is_none() && json.get("ports").is_none());
    // Equivalent ports and portDefinitions together are fine.
    let app = ok(with(
        minimal(),
        json!({"ports": [80], "portDefinitions": [{"port": 80, "name": "http"}]}),
    ));
    assert_eq!(app.port_definitions[0].name.as_deref(), Some("http"));
    // Legacy docker port mappings move to the container (and are then refused on host networking).
    let details = invalid(
        json!({"id": "a", "container": {"type": "DOCKER", "docker": {"image": "x",
        "portMappings": [{"containerPort": 80}]}}}),
    );
    assert!(
        has(&details, "/container/portMappings", "host-networking"),
        "{details:?}"
    );
}
