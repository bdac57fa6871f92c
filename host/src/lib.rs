//! wasm-lambda host: one AWS Lambda container image that runs many
//! WebAssembly guests.
//!
//! The event path runs one way: the [`runtime`] loop takes an event from
//! Lambda's Runtime API, [`wasm_host`] parses it, [`routing`] picks a guest
//! (or answers a warmer ping), the guest's slot in [`guests`] calls its
//! instance, and the answer goes back. Everything the path borrows is built
//! once at init: the engine, the guests, and the [`models`], each read from
//! a folder by the rules in [`sources`]. [`commands`] are the tools beside
//! the loop.

pub mod aws;
pub mod commands;
pub mod guests;
pub mod http_guests;
pub mod models;
pub mod outbound;
pub mod releases;
pub mod routing;
pub mod runtime;
pub mod sources;
pub mod wasm_host;

/// tract's prelude (tensors, datum types) at the version the host uses, for
/// tools that build model inputs.
pub use tract_onnx::prelude as tract_prelude;
