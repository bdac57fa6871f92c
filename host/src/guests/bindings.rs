//! Host-side bindings generated from the WIT contract in `guest-sdk/wit`:
//! one module per released version, which the host serves side by side.
//!
//! The newest version's types are the host's own (`host`, `models`,
//! `types` below): the host services are written once against them, and
//! older versions adapt to them (`contract_v0_1.rs`).
//!
//! Everything is async: a guest's exports are called with `call_async`, so
//! the host can stop a call at its deadline even while the guest waits in
//! a host call (WASI sleep or poll, a model run, a log write).

/// `wasm-lambda:guest@0.1.0`, as released (guest-sdk/wit/0.1.0).
pub mod v0_1 {
    wasmtime::component::bindgen!({
        world: "guest",
        path: "../guest-sdk/wit/0.1.0",
        imports: {
            // A model call may trap the guest: a run that is still going at
            // the deadline ends the call as a timeout.
            "wasm-lambda:guest/models.infer": async | trappable,
            default: async,
        },
        exports: { default: async },
    });
}

/// `wasm-lambda:guest@0.2.0` (guest-sdk/wit/0.2.0).
pub mod v0_2 {
    wasmtime::component::bindgen!({
        world: "guest",
        path: "../guest-sdk/wit/0.2.0",
        imports: {
            "wasm-lambda:guest/models.infer": async | trappable,
            default: async,
        },
        exports: { default: async },
    });
}

pub use v0_2::wasm_lambda::guest::{host, models, types};
