//! The only code that knows openraft: the type configuration, the peer network (client and
//! server), the Raft configuration from `[raft]`, and the leadership watch the rest of the node
//! subscribes to.

pub mod types;

pub use types::{Member, NodeId, Raft, TypeConfig};
