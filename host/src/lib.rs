//! wasm-lambda host: one AWS Lambda container image that runs many
//! WebAssembly guests.
//!
//! The event path runs one way: [`runtime_loop`] takes an event from the
//! [`runtime_api`], [`wasm_host`] parses it, the [`router`] picks a guest (or
//! the [`warmer`]), the guest's [`guest_slot`] calls its instance, and the
//! answer goes back. Everything the path borrows is built once at init:
//! the [`engine`], guests compiled or loaded by the [`guest_loader`] (with
//! [`artifact`]s cached by content), checked by [`guest_check`].

pub mod artifact;
pub mod bindings;
pub mod commands;
pub mod engine;
pub mod environment;
pub mod event_shape;
pub mod guest_check;
pub mod guest_loader;
pub mod guest_slot;
pub mod guest_state;
pub mod invocation;
pub mod logging;
pub mod manifest;
pub mod model_commands;
pub mod models;
pub mod parallel;
pub mod pattern;
pub mod router;
pub mod runtime_api;
pub mod runtime_loop;
pub mod settings;
pub mod warmer;
pub mod wasm_host;

/// tract's prelude (tensors, datum types) at the version the host uses, for
/// tools that build model inputs.
pub use tract_onnx::prelude as tract_prelude;
