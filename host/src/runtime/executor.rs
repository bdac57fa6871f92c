//! The tokio runtime guests run on: one per process, shared by the Lambda
//! loop, every guest call and the `invoke` command.
//!
//! Guest calls are async (see `guests::slot`): a guest waiting in a host
//! call is a pending future, so the runtime can end it at its deadline and
//! serve other invocations meanwhile. CPU-bound guest code yields to the
//! runtime every epoch tick, so concurrent invocations share the cores.

use std::sync::OnceLock;

use crate::runtime::settings::max_concurrency_from_env;

/// The process's runtime, built on first use: worker threads for as many
/// invocations as `AWS_LAMBDA_MAX_CONCURRENCY` allows, at most one per
/// core (guest code is CPU work; more threads than cores only add
/// switching), at least one.
///
/// # Panics
/// Only if the OS refuses to start the runtime's threads at all, in which
/// case nothing could run.
pub fn executor() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let wanted = usize::try_from(max_concurrency_from_env()).unwrap_or(usize::MAX);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(wanted.min(cores).max(1))
            .thread_name("guest-worker")
            .enable_all()
            .build()
            .expect("starting the tokio runtime")
    })
}
