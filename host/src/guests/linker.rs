//! The linker every guest is instantiated with, and [`SharedLinker`]: the
//! same linker built on a thread of its own while init loads the guests'
//! code.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use anyhow::{Result, anyhow};
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::guests::state::GuestState;

/// Builds the linker every guest is instantiated with: WASI preview 2,
/// wasi:http (outgoing requests) and the wasm-lambda host interfaces of
/// every contract version served.
///
/// # Errors
/// Only if two definitions collide, a host bug.
pub fn guest_linker(engine: &Engine) -> Result<Linker<GuestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    // wasi:http's types and outgoing-handler; each request goes through
    // the guest's `OutboundHooks` (allow-list, pool, signing).
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    // Every contract version served, side by side (their names differ by
    // version, so they never collide).
    crate::guests::bindings::v0_1::Guest::add_to_linker::<
        GuestState,
        wasmtime::component::HasSelf<GuestState>,
    >(&mut linker, |state| state)?;
    crate::guests::bindings::v0_2::Guest::add_to_linker::<
        GuestState,
        wasmtime::component::HasSelf<GuestState>,
    >(&mut linker, |state| state)?;
    Ok(linker)
}

/// The guest linker, shared by every guest and every release, which may
/// still be being built.
///
/// Why a thread: building it (every WASI, wasi:http and host function)
/// takes 0.5–1 ms at a cold start, about as long as deserializing the first
/// guest's `.cwasm`, and only checking a guest's imports needs it. Built
/// beside the first loads, it is off the cold start's critical path
/// (BENCHMARKS.md, "One guest").
#[derive(Clone)]
pub struct SharedLinker(Arc<OnceLock<Result<Linker<GuestState>, String>>>);

impl SharedLinker {
    /// Starts building the linker on a thread of its own; [`get`] waits for
    /// it. If no thread can be started, builds it here.
    ///
    /// [`get`]: SharedLinker::get
    pub fn build_in_background(engine: &Engine) -> SharedLinker {
        let cell = Arc::new(OnceLock::new());
        let (target, thread_engine) = (cell.clone(), engine.clone());
        let spawned = std::thread::Builder::new()
            .name("guest-linker".into())
            .spawn(move || {
                target.get_or_init(|| build_reporting_panics(&thread_engine));
            });
        if spawned.is_err() {
            cell.get_or_init(|| build_reporting_panics(engine));
        }
        SharedLinker(cell)
    }

    /// The linker, once built.
    ///
    /// # Errors
    /// Building it failed (a host bug: two definitions collide).
    pub fn get(&self) -> Result<&Linker<GuestState>> {
        self.0
            .wait()
            .as_ref()
            .map_err(|reason| anyhow!("building the guest linker: {reason}"))
    }
}

/// Builds the linker; a panic becomes an error, so [`SharedLinker::get`]
/// never waits for a value that will not come.
fn build_reporting_panics(engine: &Engine) -> Result<Linker<GuestState>, String> {
    match catch_unwind(AssertUnwindSafe(|| guest_linker(engine))) {
        Ok(built) => built.map_err(|e| format!("{e:#}")),
        Err(_) => Err("building the linker panicked".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guests::engine::shared_engine;

    #[test]
    fn a_linker_built_in_the_background_is_the_one_guests_get() {
        let engine = shared_engine().unwrap();
        let shared = SharedLinker::build_in_background(&engine);
        let copy = shared.clone();
        // Both handles wait for, and then share, the one linker.
        let first: *const Linker<GuestState> = shared.get().unwrap();
        let second: *const Linker<GuestState> = copy.get().unwrap();
        assert_eq!(first, second);
    }
}
