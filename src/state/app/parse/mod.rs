//! Request bodies to apps: JSON decoding with paths, legacy-field folding, merge, and defaults.
//!
//! `request.rs` holds the body as sent, `decode.rs` turns bytes into it, and `resolve.rs` turns
//! it into an [`AppDefinition`](super::AppDefinition), using `legacy.rs` for the old field forms
//! and `container.rs` for the container and its volumes.

mod container;
mod decode;
mod legacy;
mod request;
mod resolve;

pub(super) use decode::decode;
pub(crate) use decode::json_pointer;
pub(super) use resolve::resolve;
