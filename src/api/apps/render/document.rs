//! Writing a view out: as a `{"<key>": …}` document of bytes, or as a `Value` for callers that
//! want a tree.

use serde::Serialize;
use serde_json::Value;

/// A view as a `Value`, for callers that edit or re-encode the document. The views hold only
/// string-keyed structs, sequences and scalars, so this cannot fail.
pub fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("a view serializes to JSON")
}

/// `{"<key>": item}` written to `out`.
pub fn write_document<T: Serialize>(
    out: &mut impl std::io::Write,
    key: &str,
    item: T,
) -> Result<(), serde_json::Error> {
    out.write_all(b"{").map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *out, key)?;
    out.write_all(b":").map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *out, &item)?;
    out.write_all(b"}").map_err(serde_json::Error::io)
}

/// `{"<key>": item}` written into a buffer of `capacity` bytes to start with.
pub fn document<T: Serialize>(
    key: &str,
    item: T,
    capacity: usize,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(capacity);
    write_document(&mut out, key, item)?;
    Ok(out)
}

/// Bytes a rendered task takes, about (for sizing a response buffer up front).
pub const TASK_BYTES: usize = 480;
