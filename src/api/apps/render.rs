//! Marathon's AppInfo and task JSON as borrowed views over the state, serialized straight into
//! a response: a list of 100,000 tasks builds no `serde_json::Value` tree, reads each app's
//! instances once and counts its tasks once. `Value` forms remain for the callers that want
//! one (gRPC, deployments, groups over gRPC).
//!
//! `app` is the app document and its embeds, `counts` its task counts, `readiness` its
//! readiness results; `task` is the task document, with its health fields in `health`;
//! `document` writes a view out.

mod app;
mod counts;
mod document;
mod health;
mod readiness;
mod task;

pub use app::{AppEmbed, AppView, app_info, app_info_json};
pub use counts::{TaskCounts, task_counts};
pub use document::{TASK_BYTES, document, to_value, write_document};
pub use readiness::readiness_results;
pub(crate) use task::task_state;
pub use task::{TaskView, Tasks, task_json};

#[cfg(test)]
mod tests;
