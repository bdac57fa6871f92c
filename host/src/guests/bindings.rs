//! Host-side bindings generated from the WIT contract in `guest-sdk/wit`.
//!
//! Everything is async: a guest's exports are called with `call_async`, so
//! the host can stop a call at its deadline even while the guest waits in
//! a host call (WASI sleep or poll, a model run, a log write).

wasmtime::component::bindgen!({
    world: "guest",
    path: "../guest-sdk/wit",
    imports: {
        // A model call may trap the guest: a run that is still going at the
        // deadline ends the call as a timeout.
        "wasm-lambda:guest/models.infer": async | trappable,
        default: async,
    },
    exports: { default: async },
});

pub use wasm_lambda::guest::{host, models, types};
