//! What tells one resource from another besides its amount: its name, reservation stack and
//! persistent volume (a [`Key`]), and how a key reads from and writes to the wire in either
//! reservation format.

use super::resources::ResourceError;
use crate::mesos::{
    DiskInfo, Label, Labels, Persistence, ReservationInfo, ReservationType, Resource, Value,
    Volume, VolumeMode,
};
use std::fmt;

/// One entry of a reservation stack (the last is the current owner).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reservation {
    pub dynamic: bool,
    pub role: String,
    pub principal: Option<String>,
    /// Kept in their given order: Mesos compares labels as given.
    pub labels: Vec<(String, Option<String>)>,
}

/// The identity of a persistent volume.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersistentVolume {
    pub id: String,
    pub principal: Option<String>,
    pub container_path: String,
    pub read_only: bool,
}

/// What, besides its name, tells one resource from another.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub name: String,
    pub reservations: Vec<Reservation>,
    pub volume: Option<PersistentVolume>,
}

impl Key {
    /// An unreserved resource that is no volume.
    pub fn plain(name: &str) -> Key {
        Key {
            name: name.to_owned(),
            ..Key::default()
        }
    }

    /// The role that owns it; `None` when unreserved.
    pub fn role(&self) -> Option<&str> {
        self.reservations.last().map(|r| r.role.as_str())
    }

    /// Whether a framework subscribed with `role` may be offered it: unreserved, or reserved
    /// for that role or one of its ancestors.
    pub fn offerable_to(&self, role: &str) -> bool {
        match self.role() {
            None => true,
            Some(r) => {
                role == r
                    || role
                        .strip_prefix(r)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

/// The two ways a framework reads reservations on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RESERVATION_REFINEMENT: a `reservations` stack; unreserved has none.
    Refined,
    /// `role` (`"*"` when unreserved) and, for a dynamic reservation, `reservation`.
    Legacy,
}

pub(super) fn labels_of(labels: Option<&Labels>) -> Vec<(String, Option<String>)> {
    labels
        .map(|l| {
            l.labels
                .iter()
                .map(|x| (x.key.clone(), x.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn wire_labels(labels: &[(String, Option<String>)]) -> Option<Labels> {
    (!labels.is_empty()).then(|| Labels {
        labels: labels
            .iter()
            .map(|(key, value)| Label {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    })
}

/// The key of a wire resource, in either reservation format.
pub(super) fn key_of(r: &Resource) -> Result<Key, ResourceError> {
    let unsupported = || ResourceError::Unsupported(r.name.clone());
    if r.revocable.is_some() || r.shared.is_some() {
        return Err(unsupported());
    }
    let reservations = if !r.reservations.is_empty() {
        r.reservations
            .iter()
            .map(|x| {
                Ok(Reservation {
                    dynamic: x.kind != Some(ReservationType::Static),
                    role: x
                        .role
                        .clone()
                        .filter(|role| !role.is_empty() && role != "*")
                        .ok_or_else(|| ResourceError::NoRole(r.name.clone()))?,
                    principal: x.principal.clone(),
                    labels: labels_of(x.labels.as_ref()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        match r.role.as_deref() {
            None | Some("*") => Vec::new(),
            Some(role) => vec![Reservation {
                dynamic: r.reservation.is_some(),
                role: role.to_owned(),
                principal: r.reservation.as_ref().and_then(|x| x.principal.clone()),
                labels: labels_of(r.reservation.as_ref().and_then(|x| x.labels.as_ref())),
            }],
        }
    };
    let volume = match &r.disk {
        None => None,
        Some(d) if d.source.is_some() => return Err(unsupported()),
        Some(DiskInfo {
            persistence: None,
            volume: None,
            ..
        }) => None,
        Some(DiskInfo {
            persistence: Some(p),
            volume: Some(v),
            ..
        }) => Some(PersistentVolume {
            id: p.id.clone(),
            principal: p.principal.clone(),
            container_path: v.container_path.clone(),
            read_only: v.mode == Some(VolumeMode::Ro),
        }),
        Some(_) => return Err(unsupported()),
    };
    Ok(Key {
        name: r.name.clone(),
        reservations,
        volume,
    })
}

/// A wire resource with `key`'s reservations and volume, in `format`.
pub(super) fn wire(key: &Key, value: Value, format: Format) -> Resource {
    let mut r = match value {
        Value::Scalar(v) => Resource::scalar(&key.name, v),
        Value::Ranges(rs) => Resource::ranges(&key.name, rs),
        Value::Set(items) => Resource::set(&key.name, items),
        Value::Text(_) => Resource::scalar(&key.name, 0.0),
    };
    match format {
        Format::Refined => {
            r.reservations = key
                .reservations
                .iter()
                .map(|x| ReservationInfo {
                    kind: Some(if x.dynamic {
                        ReservationType::Dynamic
                    } else {
                        ReservationType::Static
                    }),
                    role: Some(x.role.clone()),
                    principal: x.principal.clone(),
                    labels: wire_labels(&x.labels),
                })
                .collect();
        }
        Format::Legacy => match key.reservations.last() {
            None => r.role = Some("*".to_owned()),
            Some(x) => {
                r.role = Some(x.role.clone());
                r.reservation = x.dynamic.then(|| ReservationInfo {
                    kind: None,
                    role: None,
                    principal: x.principal.clone(),
                    labels: wire_labels(&x.labels),
                });
            }
        },
    }
    r.disk = key.volume.as_ref().map(|v| DiskInfo {
        persistence: Some(Persistence {
            id: v.id.clone(),
            principal: v.principal.clone(),
        }),
        volume: Some(Volume {
            container_path: v.container_path.clone(),
            mode: Some(if v.read_only {
                VolumeMode::Ro
            } else {
                VolumeMode::Rw
            }),
            host_path: None,
        }),
        source: None,
    });
    r
}

/// `name`, `name(role)` when reserved, then `[id:path]` for a persistent volume.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(role) = self.role() {
            write!(f, "({role})")?;
        }
        if let Some(v) = &self.volume {
            write!(f, "[{}:{}]", v.id, v.container_path)?;
        }
        Ok(())
    }
}
