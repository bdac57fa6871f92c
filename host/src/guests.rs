//! Guests: the wasmtime [`engine`], compiled [`artifact`]s and their cache,
//! the [`loader`] that finds and compiles a folder's guests, the [`linker`]
//! of host functions, the [`contract`] versions served side by side (their
//! [`bindings`], and the adapter [`contract_v0_1`]), the [`check`] of what a
//! component imports and exports, each guest's [`slot`] (its instance and
//! the rules for calling it), the [`state`] a guest's store holds, the host
//! [`services`] guests import (logs, config, [`model_calls`]), and
//! `guests.toml` ([`manifest`]).

pub(crate) mod artifact;
pub(crate) mod bindings;
pub(crate) mod check;
pub(crate) mod contract;
pub(crate) mod contract_v0_1;
pub(crate) mod engine;
pub(crate) mod linker;
pub(crate) mod loader;
pub mod manifest;
pub(crate) mod model_calls;
pub mod output;
pub(crate) mod services;
pub(crate) mod slot;
pub(crate) mod state;
