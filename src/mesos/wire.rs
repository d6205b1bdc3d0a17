//! The JSON conventions every Mesos message shares: ids as `{"value": …}`, enums as their names,
//! bytes as padded standard Base64, labels, and time as `{"nanoseconds": …}`.

use serde::de::DeserializeOwned;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// A name that is not a value of the enum it was parsed as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {enum_name} value `{value}`")]
pub struct UnknownEnumValue {
    pub enum_name: &'static str,
    pub value: String,
}

/// Declares a closed wire enum: a `Copy` Rust enum that travels as its Mesos name. Parsing an
/// unknown name fails; optional fields use [`lenient`] so that, as on the master, an unknown
/// name there reads as absent.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)* }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::mesos::wire::UnknownEnumValue;
            fn from_str(s: &str) -> Result<$name, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)*
                    _ => Err($crate::mesos::wire::UnknownEnumValue {
                        enum_name: stringify!($name),
                        value: s.to_owned(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                $crate::mesos::wire::deserialize_name(d)
            }
        }
    };
}
pub(crate) use wire_enum;

struct NameVisitor<T>(PhantomData<T>);

impl<T: FromStr<Err = UnknownEnumValue>> Visitor<'_> for NameVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum value name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}

/// Parses an enum from its name; a number is refused, as the master refuses it.
pub(crate) fn deserialize_name<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = UnknownEnumValue>,
{
    d.deserialize_str(NameVisitor(PhantomData))
}

/// For optional enum fields: an unknown name (from a newer peer) reads as absent, as the master's
/// own JSON parser treats it. Use with `#[serde(default, deserialize_with = "lenient")]`.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
{
    let name: Option<String> = Option::deserialize(d)?;
    Ok(name.and_then(|n| n.parse().ok()))
}

/// Removes `key` from a message's JSON object and parses it; absent or `null` reads as `None`
/// (the master ignores nulls). For the tagged envelopes of calls, events and operations.
pub(crate) fn take<T: DeserializeOwned>(
    map: &mut JsonObject,
    key: &str,
) -> Result<Option<T>, String> {
    match map.remove(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| format!("'{key}': {e}")),
    }
}

/// As [`take`], for a sub-message the envelope's type requires.
pub(crate) fn take_required<T: DeserializeOwned>(
    map: &mut JsonObject,
    key: &str,
) -> Result<T, String> {
    take(map, key)?.ok_or_else(|| format!("Expecting '{key}' to be present"))
}

pub(crate) type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Declares the Mesos id messages, which travel as `{"value": "…"}`.
macro_rules! value_id {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name {
            pub value: String,
        }

        impl $name {
            pub fn new(value: impl Into<String>) -> $name {
                $name { value: value.into() }
            }

            pub fn as_str(&self) -> &str {
                &self.value
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.value)
            }
        }
    )*};
}

value_id! {
    /// Assigned by the master on the first SUBSCRIBE (`<master uuid>-0000`).
    FrameworkId,
    /// Assigned by the master to each agent (`<master uuid>-S<n>`).
    AgentId,
    /// Assigned by the master to each offer (`<master uuid>-O<n>`).
    OfferId,
    /// Chosen by the framework; unique among the framework's live tasks.
    TaskId,
    /// Chosen by the framework; the command executor's id is its task's id.
    ExecutorId,
    /// Chosen by the framework to get feedback on a non-launch offer operation.
    OperationId,
    ContainerId,
    ResourceProviderId,
}

impl From<&crate::state::ids::FrameworkId> for FrameworkId {
    fn from(id: &crate::state::ids::FrameworkId) -> FrameworkId {
        FrameworkId::new(id.as_str())
    }
}

impl From<&FrameworkId> for crate::state::ids::FrameworkId {
    fn from(id: &FrameworkId) -> crate::state::ids::FrameworkId {
        crate::state::ids::FrameworkId(id.value.clone().into())
    }
}

impl From<&crate::state::ids::AgentId> for AgentId {
    fn from(id: &crate::state::ids::AgentId) -> AgentId {
        AgentId::new(id.as_str())
    }
}

impl From<&AgentId> for crate::state::ids::AgentId {
    fn from(id: &AgentId) -> crate::state::ids::AgentId {
        crate::state::ids::AgentId(id.value.clone().into())
    }
}

impl From<&crate::state::ids::TaskId> for TaskId {
    fn from(id: &crate::state::ids::TaskId) -> TaskId {
        TaskId::new(id.as_str())
    }
}

impl From<&TaskId> for crate::state::ids::TaskId {
    fn from(id: &TaskId) -> crate::state::ids::TaskId {
        crate::state::ids::TaskId(id.value.clone().into())
    }
}

/// A `bytes` field: raw bytes in Rust, padded standard Base64 on the wire (status `uuid`,
/// `data`). Decoding also accepts missing padding; any other deviation is an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        base64_encode(&self.0)
    }

    pub fn from_base64(s: &str) -> Result<Base64Bytes, InvalidBase64> {
        base64_decode(s).map(Base64Bytes)
    }
}

impl fmt::Display for Base64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Base64Bytes, D::Error> {
        struct B64Visitor;
        impl Visitor<'_> for B64Visitor {
            type Value = Base64Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Bytes, E> {
                Base64Bytes::from_base64(v).map_err(E::custom)
            }
        }
        d.deserialize_str(B64Visitor)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid Base64")]
pub struct InvalidBase64;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> shift) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

fn base64_decode(s: &str) -> Result<Vec<u8>, InvalidBase64> {
    let s = s.as_bytes();
    let body = match s {
        [rest @ .., b'=', b'='] if s.len().is_multiple_of(4) => rest,
        [rest @ .., b'='] if s.len().is_multiple_of(4) => rest,
        _ => s,
    };
    if body.len() % 4 == 1 {
        return Err(InvalidBase64);
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= base64_value(c).ok_or(InvalidBase64)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        // 4 characters carry 3 bytes, 3 carry 2, 2 carry 1; the unused bits must be zero.
        let keep = chunk.len() - 1;
        if bytes[1 + keep..].iter().any(|&b| b != 0) {
            return Err(InvalidBase64);
        }
        out.extend_from_slice(&bytes[1..1 + keep]);
    }
    Ok(out)
}

/// A key-value label (`value` is optional in Mesos).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `{"labels": [{"key": …, "value": …}]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    #[serde(default)]
    pub labels: Vec<Label>,
}

impl Labels {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.key == key)
            .and_then(|l| l.value.as_deref())
    }
}

/// An instant, in nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInfo {
    pub nanoseconds: i64,
}

/// A duration in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationInfo {
    pub nanoseconds: i64,
}

impl DurationInfo {
    pub fn from_secs_f64(secs: f64) -> DurationInfo {
        DurationInfo {
            nanoseconds: (secs * 1e9) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    wire_enum! {
        pub enum Colour { Red = "RED", Blue = "BLUE", }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "lenient")]
        colour: Option<Colour>,
    }

    #[test]
    fn enums_travel_as_names() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::Blue]);
        assert_eq!(
            serde_json::to_string(&Colour::Blue).ok(),
            Some("\"BLUE\"".into())
        );
        assert_eq!(
            serde_json::from_str::<Colour>("\"RED\"").ok(),
            Some(Colour::Red)
        );
        assert!(serde_json::from_str::<Colour>("\"GREEN\"").is_err());
        assert!(serde_json::from_str::<Colour>("1").is_err());
        let parse = |s| serde_json::from_str::<Holder>(s).map_err(|e| e.to_string());
        assert_eq!(parse(r#"{"colour":"GREEN"}"#), Ok(Holder { colour: None }));
        assert_eq!(parse(r#"{"colour":null}"#), Ok(Holder { colour: None }));
        assert_eq!(parse("{}"), Ok(Holder { colour: None }));
        assert_eq!(
            parse(r#"{"colour":"RED"}"#),
            Ok(Holder {
                colour: Some(Colour::Red)
            })
        );
    }

    #[test]
    fn base64_known_vectors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"hello", "aGVsbG8="),
            (
                &[
                    0xa3, 0x79, 0x00, 0x22, 0xe7, 0xab, 0x4c, 0x65, 0x95, 0x49, 0xdb, 0xac, 0x9a,
                    0x9a, 0x88, 0x6f,
                ],
                "o3kAIuerTGWVSdusmpqIbw==",
            ),
        ];
        for (raw, text) in cases {
            assert_eq!(base64_encode(raw), *text);
            assert_eq!(base64_decode(text).as_deref(), Ok(*raw));
        }
        assert_eq!(base64_decode("Zg").as_deref(), Ok(&b"f"[..]));
        for bad in ["Z", "Zh==", "Zm9v!", "=Zg=", "Zg===", "Z===", "Zm 9v"] {
            assert_eq!(base64_decode(bad), Err(InvalidBase64), "{bad}");
        }
    }

    #[test]
    fn ids_are_value_objects() {
        let id = TaskId::new("web.1");
        assert_eq!(
            serde_json::to_value(&id).ok(),
            Some(serde_json::json!({"value": "web.1"}))
        );
        let state_id: crate::state::ids::TaskId = (&id).into();
        assert_eq!(TaskId::from(&state_id), id);
    }

    proptest! {
        #[test]
        fn base64_round_trips(raw in prop::collection::vec(any::<u8>(), 0..64)) {
            let text = base64_encode(&raw);
            prop_assert_eq!(base64_decode(&text), Ok(raw.clone()));
            prop_assert_eq!(base64_decode(text.trim_end_matches('=')), Ok(raw));
        }

        #[test]
        fn base64_decode_never_panics(s in ".{0,16}") {
            let _ = base64_decode(&s);
        }
    }
}
