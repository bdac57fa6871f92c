//! What guests and models have in common: files found in a folder, an
//! optional TOML manifest beside them, names that become file names, paths
//! that must stay inside their folder, and sha256 pins.
//!
//! Guests (`guests/loader.rs`) and models (`models/store.rs`) both build on
//! these, so the rules are written, and checked, once.

pub(crate) mod folder;
pub mod names;
pub(crate) mod pin;
