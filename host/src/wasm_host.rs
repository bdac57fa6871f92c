//! The host: built once at [`init`] (engine, guests, models, router), then
//! serving events one way in [`dispatch`]: payload → router → guest slot →
//! checked answer. With guests from S3, [`switch`] replaces the live guest
//! set when a new release is published.

use std::sync::Arc;
use std::sync::Mutex;

use arc_swap::ArcSwap;
use wasmtime::Engine;

use crate::guests::engine::Arch;
use crate::guests::linker::SharedLinker;
use crate::runtime::environment::Environment;
use crate::runtime::settings::Settings;

pub mod dispatch;
pub mod eager;
pub(crate) mod guest_set;
pub mod init;
pub(crate) mod live_release;
pub mod switch;

use guest_set::GuestSet;
use live_release::Releases;
use switch::CheckState;

/// The host.
pub struct WasmHost {
    settings: Settings,
    engine: Engine,
    arch: Option<Arch>,
    linker: SharedLinker,
    /// The guest set events are served by; replaced whole by a switch.
    live: ArcSwap<GuestSet>,
    environment: Environment,
    releases: Option<Releases>,
    /// The releases `live` was built from, and the last check's outcome.
    /// Held while checking, so two checks never load a release twice.
    checks: Mutex<CheckState>,
}

impl WasmHost {
    /// Names of all guests of the live set, loaded or not.
    pub fn guest_names(&self) -> Vec<String> {
        self.live.load().guest_names().map(str::to_owned).collect()
    }

    fn current_set(&self) -> Arc<GuestSet> {
        self.live.load_full()
    }
}
