//! Host-side bindings generated from the WIT contract in `guest-sdk/wit`.

wasmtime::component::bindgen!({
    world: "guest",
    path: "../guest-sdk/wit",
});

pub use exports::wasm_lambda::guest::function as function;
pub use wasm_lambda::guest::{host, models, types};
