//! Query strings as Marathon clients send them: repeated keys (`embed=a&embed=b`,
//! `status[]=…`), percent-encoding, and booleans spelled `True`/`False` by Python clients.

use crate::api::{ApiError, Consistency};
use crate::state::ids::RequestId;
use axum::http::{HeaderMap, Uri};

/// The query parameters, decoded, in order (repeated keys kept, as `status` may be).
pub fn params(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding of one query component (`+` is a space).
pub fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A boolean parameter; Python clients send `True`/`False`.
pub fn flag(params: &[(String, String)], key: &str) -> Result<bool, ApiError> {
    match param(params, key) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") || v.is_empty() => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ApiError::BadRequest(format!(
            "{key} must be true or false, not '{v}'"
        ))),
    }
}

/// Refuses any parameter not among `known`.
pub fn only_known(params: &[(String, String)], known: &[&str]) -> Result<(), ApiError> {
    match params
        .iter()
        .find(|(key, _)| !known.contains(&key.as_str()))
    {
        Some((key, _)) => Err(ApiError::BadRequest(format!(
            "unknown query parameter '{key}'"
        ))),
        None => Ok(()),
    }
}

/// The `consistency` parameter's value: `linearizable` (the default) or `stale`.
pub fn consistency(raw: Option<&str>) -> Result<Consistency, ApiError> {
    match raw {
        None | Some("linearizable") => Ok(Consistency::Linearizable),
        Some("stale") => Ok(Consistency::Stale),
        Some(other) => Err(ApiError::BadRequest(format!(
            "consistency must be 'stale' or 'linearizable', not '{other}'"
        ))),
    }
}

/// The idempotency key a client may send with a write.
pub fn request_id(headers: &HeaderMap) -> Option<RequestId> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| RequestId(v.to_string().into()))
}
