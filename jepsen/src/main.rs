//! baton's chaos-test harness. The workloads, nemeses and checkers arrive with the jepsen issue;
//! until then the binary only says so, so that the workspace member builds. The modules live in
//! the library (`lib.rs`).

fn main() {
    eprintln!("jepsen: no workloads yet; see jepsen/README.md");
    std::process::exit(2);
}
