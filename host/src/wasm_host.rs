//! The host: built once at [`init`] (engine, guests, models, router), then
//! serving events one way in [`dispatch`]: payload → router → guest slot →
//! checked answer.

use std::collections::BTreeMap;

use crate::guests::slot::GuestSlot;
use crate::routing::router::Router;
use crate::runtime::environment::Environment;
use crate::runtime::settings::Settings;

pub mod dispatch;
pub mod init;

/// The host.
pub struct WasmHost {
    settings: Settings,
    guests: BTreeMap<String, GuestSlot>,
    router: Router,
    environment: Environment,
}

impl WasmHost {
    /// Names of all guests, loaded or not.
    pub fn guest_names(&self) -> impl Iterator<Item = &str> {
        self.guests.keys().map(String::as_str)
    }
}
