//! `baton app deploy`, `baton deploy …` and `baton queue`: deploying a definition and following
//! its deployment step by step, the running deployments, and the launch queue with the offer
//! funnel that says why instances are not launched.
//!
//! `deployments.rs` lists and cancels deployments, `follow.rs` deploys an app and follows its
//! deployment (reading events with `progress.rs`), and `queue.rs` prints the launch queue.

/// Calls `$method` of the app service on whichever node answers.
macro_rules! apps_call {
    ($client:expr, $method:ident, $request:expr) => {{
        let request = $request;
        $client
            .call(|c| {
                let request = request.clone();
                async move { AppServiceClient::new(c).$method(request).await }
            })
            .await
    }};
}

// The modules come after `apps_call!`, which they use.
mod deployments;
mod follow;
mod progress;
mod queue;

pub use deployments::{DeployCommand, run_deploy};
pub use follow::app_deploy;
pub use queue::run_queue;
