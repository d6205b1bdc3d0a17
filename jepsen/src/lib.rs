//! baton's chaos-test harness as a library: the history format, and (as the jepsen issue lands)
//! cluster control, nemeses, workloads, checkers and the report. `main.rs` is the CLI over it;
//! integration tests use it directly. Declare new modules here, as `pub mod`.

pub mod history;
