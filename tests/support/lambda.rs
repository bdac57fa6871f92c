//! A Lambda environment on loopback: cargo-lambda's Runtime API emulator
//! with the real host binary attached and initialised.

use std::path::Path;

use crate::{Emulator, GuestFolder, HostProcess};

/// The emulator and the host process serving it.
pub struct Lambda {
    /// Where tests invoke.
    pub emulator: Emulator,
    /// The host, its log and its exit.
    pub host: HostProcess,
}

impl Lambda {
    /// Starts an emulator and `binary` against it with `folder`'s guests
    /// and extra variables, and waits for the host's "init complete".
    pub fn start(binary: &Path, folder: &GuestFolder, env: &[(&str, &str)]) -> Self {
        let emulator = Emulator::start();
        let host = HostProcess::start(binary, &emulator.runtime_api(), folder, env);
        host.wait_for_log("init complete");
        Self { emulator, host }
    }
}
