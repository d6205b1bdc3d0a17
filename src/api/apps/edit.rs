//! Writes a struct's derived serialization with some fields dropped or replaced and more
//! appended, straight into the output: how an `AppDefinition` becomes Marathon's AppInfo
//! without a `serde_json::Value` in between.

use serde::ser::{Error as _, Impossible, Serialize, SerializeStruct, Serializer};

/// Decides, field by field, what a struct written through [`Edited`] holds.
pub trait StructEdit {
    /// How many fields [`StructEdit::append`] may add (a length hint for the serializer).
    fn appended(&self) -> usize;

    /// Writes the field `key` as the type would (`value`), something else in its place, or
    /// nothing.
    fn field<M, T>(&self, out: &mut M, key: &'static str, value: &T) -> Result<(), M::Error>
    where
        M: SerializeStruct,
        T: ?Sized + Serialize;

    /// Writes the fields that follow the type's own.
    fn append<M: SerializeStruct>(&self, out: &mut M) -> Result<(), M::Error>;
}

/// A struct-shaped `value` serialized with `edit` applied to its fields.
pub struct Edited<'a, T: ?Sized, E> {
    pub value: &'a T,
    pub edit: E,
}

impl<T, E> Serialize for Edited<'_, T, E>
where
    T: ?Sized + Serialize,
    E: StructEdit + Clone,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(EditSerializer {
            inner: serializer,
            edit: self.edit.clone(),
        })
    }
}

/// Drops one field of a struct.
#[derive(Clone, Copy)]
pub struct Drop(pub &'static str);

impl StructEdit for Drop {
    fn appended(&self) -> usize {
        0
    }

    fn field<M, T>(&self, out: &mut M, key: &'static str, value: &T) -> Result<(), M::Error>
    where
        M: SerializeStruct,
        T: ?Sized + Serialize,
    {
        if key == self.0 {
            return Ok(());
        }
        out.serialize_field(key, value)
    }

    fn append<M: SerializeStruct>(&self, _out: &mut M) -> Result<(), M::Error> {
        Ok(())
    }
}

/// The serializer a struct's `Serialize` is handed: it passes the struct's fields through the
/// edit. Anything but a struct is refused: editing fields of it means nothing.
struct EditSerializer<S, E> {
    inner: S,
    edit: E,
}

/// The struct being written, between its fields.
pub struct EditedStruct<M, E> {
    out: M,
    edit: E,
}

impl<M: SerializeStruct, E: StructEdit> SerializeStruct for EditedStruct<M, E> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        self.edit.field(&mut self.out, key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), M::Error> {
        self.out.skip_field(key)
    }

    fn end(mut self) -> Result<M::Ok, M::Error> {
        self.edit.append(&mut self.out)?;
        self.out.end()
    }
}

const NOT_A_STRUCT: &str = "only the fields of a struct can be edited";

/// `fn $name(self, _: $arg) -> Result<Self::Ok, Self::Error>` refusing the value.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*) -> $out:ty;)*) => {
        $(
            fn $name(self, $(_: $arg),*) -> Result<$out, S::Error> {
                Err(S::Error::custom(NOT_A_STRUCT))
            }
        )*
    };
}

impl<S: Serializer, E: StructEdit> Serializer for EditSerializer<S, E> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = EditedStruct<S::SerializeStruct, E>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let out = self
            .inner
            .serialize_struct(name, len + self.edit.appended())?;
        Ok(EditedStruct {
            out,
            edit: self.edit,
        })
    }

    refuse! {
        serialize_bool(bool) -> S::Ok;
        serialize_i8(i8) -> S::Ok;
        serialize_i16(i16) -> S::Ok;
        serialize_i32(i32) -> S::Ok;
        serialize_i64(i64) -> S::Ok;
        serialize_u8(u8) -> S::Ok;
        serialize_u16(u16) -> S::Ok;
        serialize_u32(u32) -> S::Ok;
        serialize_u64(u64) -> S::Ok;
        serialize_f32(f32) -> S::Ok;
        serialize_f64(f64) -> S::Ok;
        serialize_char(char) -> S::Ok;
        serialize_str(&str) -> S::Ok;
        serialize_bytes(&[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(&'static str) -> S::Ok;
        serialize_unit_variant(&'static str, u32, &'static str) -> S::Ok;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(NOT_A_STRUCT))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(NOT_A_STRUCT))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom(NOT_A_STRUCT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        kind: &'static str,
        port_mappings: Vec<u32>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        id: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cmd: Option<&'static str>,
        port_definitions: Vec<u32>,
        inner: Inner,
    }

    /// Drops `portDefinitions`, edits `inner`, appends `version`.
    #[derive(Clone)]
    struct Example<'a>(&'a Outer);

    impl StructEdit for Example<'_> {
        fn appended(&self) -> usize {
            1
        }
        fn field<M, T>(&self, out: &mut M, key: &'static str, value: &T) -> Result<(), M::Error>
        where
            M: SerializeStruct,
            T: ?Sized + Serialize,
        {
            match key {
                "portDefinitions" => Ok(()),
                "inner" => out.serialize_field(
                    key,
                    &Edited {
                        value: &self.0.inner,
                        edit: Drop("portMappings"),
                    },
                ),
                _ => out.serialize_field(key, value),
            }
        }
        fn append<M: SerializeStruct>(&self, out: &mut M) -> Result<(), M::Error> {
            out.serialize_field("version", "v1")
        }
    }

    #[test]
    fn fields_are_dropped_replaced_and_appended_in_bytes_and_values() {
        let outer = Outer {
            id: "/a",
            cmd: None,
            port_definitions: vec![1],
            inner: Inner {
                kind: "MESOS",
                port_mappings: vec![2],
            },
        };
        let edited = Edited {
            value: &outer,
            edit: Example(&outer),
        };
        let bytes = serde_json::to_vec(&edited).expect("bytes");
        assert_eq!(
            String::from_utf8(bytes).expect("utf-8"),
            r#"{"id":"/a","inner":{"kind":"MESOS"},"version":"v1"}"#
        );
        assert_eq!(
            serde_json::to_value(&edited).expect("value"),
            json!({ "id": "/a", "inner": { "kind": "MESOS" }, "version": "v1" })
        );
    }

    #[test]
    fn anything_but_a_struct_is_refused() {
        let edited = Edited {
            value: &vec![1, 2],
            edit: Drop("x"),
        };
        assert!(serde_json::to_vec(&edited).is_err());
    }
}
