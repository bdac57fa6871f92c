//! Test support for wasm-lambda: the guests built by this crate's build
//! script, folders to deploy them in, the real Runtime API emulator
//! (cargo-lambda) and the real host binary.

pub mod emulator;
pub mod guests;
pub mod host_process;
pub mod wat_components;

pub use emulator::Emulator;
pub use guests::{GuestFolder, guest_wasm, model_file, model_reference};
pub use host_process::HostProcess;

/// The workspace root.
pub fn workspace_root() -> std::path::PathBuf {
    env!("WASM_LAMBDA_WORKSPACE").into()
}
