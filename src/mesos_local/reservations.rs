//! The master's RESERVE, UNRESERVE, CREATE and DESTROY as pure functions: each checks an
//! operation against the framework and what is left of the accepted offers, and says which
//! resources it turns into which.

use super::resources::{Key, PersistentVolume, Resources};
use crate::mesos::Resource;
use std::collections::BTreeSet;
use std::path::{Component, Path};

/// Who asks: the framework's principal and roles.
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    pub principal: Option<&'a str>,
    pub roles: &'a [String],
}

/// What an operation does to the pool and the agent: `consumed` becomes `converted`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    pub consumed: Resources,
    pub converted: Resources,
}

fn parse(list: &[Resource]) -> Result<Resources, String> {
    if list.is_empty() {
        return Err("no resources given".into());
    }
    Resources::from_wire(list).map_err(|e| format!("Invalid resources: {e}"))
}

/// The keys of `bag`, each with its last reservation popped.
fn popped(bag: &Resources) -> Resources {
    bag.map_keys(|k| {
        let mut k = k.clone();
        k.reservations.pop();
        k
    })
}

fn without_volumes(bag: &Resources) -> Resources {
    bag.map_keys(|k| Key {
        volume: None,
        ..k.clone()
    })
}

fn may_use_role(asker: &Asker<'_>, key: &Key) -> Result<(), String> {
    let role = key.role().unwrap_or("*");
    if asker.roles.iter().any(|r| r == role) {
        Ok(())
    } else {
        Err(format!(
            "Resource {key} is reserved for role '{role}', which is not one of the framework's \
             roles {:?}",
            asker.roles
        ))
    }
}

fn available(kind: &str, pool: &Resources, wanted: &Resources) -> Result<(), String> {
    if pool.contains(wanted) {
        Ok(())
    } else {
        Err(format!(
            "Invalid {kind} Operation: {pool} does not contain {wanted}"
        ))
    }
}

/// RESERVE: unreserved (or parent-role) resources of the pool become dynamically reserved for
/// one of the framework's roles, with its principal.
pub fn reserve(
    list: &[Resource],
    asker: &Asker<'_>,
    pool: &Resources,
) -> Result<Conversion, String> {
    let wanted = parse(list)?;
    for key in wanted.keys() {
        let Some(last) = key.reservations.last() else {
            return Err(format!("Resource {key} is not dynamically reserved"));
        };
        if !last.dynamic {
            return Err(format!("Resource {key} is not dynamically reserved"));
        }
        if key.volume.is_some() {
            return Err(format!("Persistent volume {key} cannot be reserved"));
        }
        may_use_role(asker, key)?;
        if let Some(principal) = asker.principal
            && last.principal.as_deref() != Some(principal)
        {
            return Err(format!(
                "A reserve operation was attempted with principal '{principal}', but there is \
                 a reserved resource in the request with principal '{}' set in \
                 `ReservationInfo`",
                last.principal.as_deref().unwrap_or_default()
            ));
        }
    }
    let consumed = popped(&wanted);
    available("RESERVE", pool, &consumed)?;
    Ok(Conversion {
        consumed,
        converted: wanted,
    })
}

/// UNRESERVE: dynamically reserved resources of the pool go back to the parent role (or
/// unreserved); a persistent volume must be destroyed first.
pub fn unreserve(
    list: &[Resource],
    asker: &Asker<'_>,
    pool: &Resources,
) -> Result<Conversion, String> {
    let wanted = parse(list)?;
    for key in wanted.keys() {
        if !key.reservations.last().is_some_and(|r| r.dynamic) {
            return Err(format!("Resource {key} is not dynamically reserved"));
        }
        if key.volume.is_some() {
            return Err(format!(
                "A dynamically reserved persistent volume {key} cannot be unreserved"
            ));
        }
        may_use_role(asker, key)?;
    }
    available("UNRESERVE", pool, &wanted)?;
    Ok(Conversion {
        converted: popped(&wanted),
        consumed: wanted,
    })
}

/// Why a persistence id cannot name a directory.
fn id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty")
    } else if id == "."
        || id == ".."
        || id.contains(['/', '\\'])
        || id.chars().any(char::is_control)
    {
        Some("it contains invalid characters")
    } else {
        None
    }
}

/// CREATE: reserved disk of the pool becomes persistent volumes. `agent_total` is everything
/// the agent has, to keep persistence ids unique per role.
pub fn create(
    list: &[Resource],
    asker: &Asker<'_>,
    pool: &Resources,
    agent_total: &Resources,
) -> Result<Conversion, String> {
    let wanted = parse(list)?;
    let existing: BTreeSet<(String, String)> = agent_total
        .volumes()
        .into_iter()
        .map(|(role, v)| (role, v.id))
        .collect();
    let mut seen = BTreeSet::new();
    for key in wanted.keys() {
        let Some(PersistentVolume {
            id,
            principal,
            container_path,
            read_only,
        }) = &key.volume
        else {
            return Err(format!("Resource {key} is not a persistent volume"));
        };
        if key.name != "disk" {
            return Err(format!("Persistent volume {key} must be of 'disk'"));
        }
        let Some(role) = key.role() else {
            return Err("Persistent volumes cannot be created from unreserved resources".into());
        };
        may_use_role(asker, key)?;
        if let Some(why) = id_problem(id) {
            return Err(format!("Persistence ID '{id}' is invalid: {why}"));
        }
        if let Some(p) = asker.principal
            && principal.as_deref() != Some(p)
        {
            return Err(format!(
                "Create volume with principal '{}' but framework principal is '{p}'",
                principal.as_deref().unwrap_or_default()
            ));
        }
        let path = Path::new(container_path);
        let relative = !container_path.is_empty()
            && path.components().all(|c| matches!(c, Component::Normal(_)));
        if !relative {
            return Err(format!(
                "Volume's container path '{container_path}' must be a relative path inside the \
                 sandbox"
            ));
        }
        if *read_only {
            return Err("Persistent volumes must be created in mode RW".into());
        }
        let at = (role.to_owned(), id.clone());
        if existing.contains(&at) || !seen.insert(at) {
            return Err(format!(
                "Persistence ID '{id}' is already in use for role '{role}'"
            ));
        }
    }
    let consumed = without_volumes(&wanted);
    available("CREATE", pool, &consumed)?;
    Ok(Conversion {
        consumed,
        converted: wanted,
    })
}

/// DESTROY: persistent volumes of the pool (so no task uses them) become plain reserved disk.
pub fn destroy(
    list: &[Resource],
    pool: &Resources,
    agent_total: &Resources,
) -> Result<Conversion, String> {
    let wanted = parse(list)?;
    for key in wanted.keys() {
        if key.volume.is_none() {
            return Err(format!("Resource {key} is not a persistent volume"));
        }
    }
    if !agent_total.contains(&wanted) {
        return Err(format!(
            "Persistent volumes {wanted} do not exist on the agent"
        ));
    }
    if !pool.contains(&wanted) {
        return Err(format!(
            "Persistent volumes {wanted} are in use or not offered"
        ));
    }
    Ok(Conversion {
        converted: without_volumes(&wanted),
        consumed: wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::{
        DiskInfo, Persistence, ReservationInfo, ReservationType, Volume, VolumeMode,
    };

    fn reserved(name: &str, v: f64, role: &str, principal: &str) -> Resource {
        let mut r = Resource::scalar(name, v);
        r.reservations = vec![ReservationInfo {
            kind: Some(ReservationType::Dynamic),
            role: Some(role.into()),
            principal: Some(principal.into()),
            labels: None,
        }];
        r
    }

    fn volume(v: f64, role: &str, id: &str, path: &str) -> Resource {
        let mut r = reserved("disk", v, role, "p");
        r.disk = Some(DiskInfo {
            persistence: Some(Persistence {
                id: id.into(),
                principal: Some("p".into()),
            }),
            volume: Some(Volume {
                container_path: path.into(),
                mode: Some(VolumeMode::Rw),
                host_path: None,
            }),
            source: None,
        });
        r
    }

    fn bag(list: &[Resource]) -> Resources {
        Resources::from_wire(list).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err<T: std::fmt::Debug>(r: Result<T, String>) -> String {
        r.map(|v| format!("unexpectedly Ok: {v:?}"))
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn reserve_then_create_then_destroy_then_unreserve() {
        let roles = ["apps".to_owned()];
        let asker = Asker {
            principal: Some("p"),
            roles: &roles,
        };
        let pool = bag(&[
            Resource::scalar("cpus", 2.0),
            Resource::scalar("disk", 100.0),
        ]);
        let want = [
            reserved("cpus", 1.0, "apps", "p"),
            reserved("disk", 50.0, "apps", "p"),
        ];
        let r = reserve(&want, &asker, &pool).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.consumed,
            bag(&[
                Resource::scalar("cpus", 1.0),
                Resource::scalar("disk", 50.0)
            ])
        );
        let pool = pool.subtract(&r.consumed).add(&r.converted);
        assert_eq!(pool.unreserved().scalar("cpus"), 1.0);

        let vol = [volume(50.0, "apps", "db#data", "data")];
        let c = create(&vol, &asker, &pool, &pool).unwrap_or_else(|e| panic!("{e}"));
        let pool = pool.subtract(&c.consumed).add(&c.converted);
        assert_eq!(pool.volumes().len(), 1);
        let again = err(create(&vol, &asker, &pool, &pool));
        assert!(
            again.contains("already in use") || again.contains("does not contain"),
            "{again}"
        );
        let held = err(unreserve(&vol, &asker, &pool));
        assert!(held.contains("persistent volume"), "{held}");

        let d = destroy(&vol, &pool, &pool).unwrap_or_else(|e| panic!("{e}"));
        let pool = pool.subtract(&d.consumed).add(&d.converted);
        let u = unreserve(&want, &asker, &pool).unwrap_or_else(|e| panic!("{e}"));
        let pool = pool.subtract(&u.consumed).add(&u.converted);
        assert_eq!(
            pool,
            bag(&[
                Resource::scalar("cpus", 2.0),
                Resource::scalar("disk", 100.0)
            ])
        );
    }

    #[test]
    fn invalid_operations_say_why() {
        let roles = ["apps".to_owned()];
        let asker = Asker {
            principal: Some("p"),
            roles: &roles,
        };
        let pool = bag(&[
            Resource::scalar("cpus", 1.0),
            reserved("disk", 10.0, "apps", "p"),
        ]);
        let table: Vec<(&str, String, &str)> = vec![
            (
                "unreserved",
                err(reserve(&[Resource::scalar("cpus", 1.0)], &asker, &pool)),
                "is not dynamically reserved",
            ),
            (
                "other role",
                err(reserve(&[reserved("cpus", 1.0, "db", "p")], &asker, &pool)),
                "not one of the framework's roles",
            ),
            (
                "other principal",
                err(reserve(
                    &[reserved("cpus", 1.0, "apps", "q")],
                    &asker,
                    &pool,
                )),
                "principal 'q'",
            ),
            (
                "too much",
                err(reserve(
                    &[reserved("cpus", 2.0, "apps", "p")],
                    &asker,
                    &pool,
                )),
                "Invalid RESERVE Operation",
            ),
            ("nothing", err(reserve(&[], &asker, &pool)), "no resources"),
            (
                "not reserved",
                err(unreserve(
                    &[reserved("cpus", 1.0, "apps", "p")],
                    &asker,
                    &pool,
                )),
                "Invalid UNRESERVE Operation",
            ),
            (
                "not a volume",
                err(create(
                    &[reserved("disk", 10.0, "apps", "p")],
                    &asker,
                    &pool,
                    &pool,
                )),
                "is not a persistent volume",
            ),
            (
                "absolute path",
                err(create(
                    &[volume(10.0, "apps", "v", "/data")],
                    &asker,
                    &pool,
                    &pool,
                )),
                "must be a relative path",
            ),
            (
                "bad id",
                err(create(
                    &[volume(10.0, "apps", "a/b", "data")],
                    &asker,
                    &pool,
                    &pool,
                )),
                "invalid characters",
            ),
            (
                "no such disk",
                err(create(
                    &[volume(20.0, "apps", "v", "data")],
                    &asker,
                    &pool,
                    &pool,
                )),
                "Invalid CREATE Operation",
            ),
            (
                "destroy unknown",
                err(destroy(&[volume(10.0, "apps", "v", "data")], &pool, &pool)),
                "do not exist",
            ),
        ];
        for (case, got, want) in table {
            assert!(got.contains(want), "{case}: {got}");
        }
        let mut unreserved_volume = volume(10.0, "apps", "v", "data");
        unreserved_volume.reservations.clear();
        let got = err(create(&[unreserved_volume], &asker, &pool, &pool));
        assert!(got.contains("from unreserved resources"), "{got}");
    }
}
