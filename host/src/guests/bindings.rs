//! Host-side bindings generated from the WIT contract in `guest-sdk/wit`.

wasmtime::component::bindgen!({
    world: "guest",
    path: "../guest-sdk/wit",
    // A model call made after the guest's time budget ran out stops the
    // guest (as a timeout) instead of answering it.
    imports: { "wasm-lambda:guest/models.infer": trappable },
});

pub use wasm_lambda::guest::{host, models, types};
