//! What a guest's `Store` holds: its WASI context (no environment, files or
//! network), its resource limits, its identity and configuration, and the
//! host imports it may call (logging, config, models).

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{host, models, types};

/// Who a guest is: its name and configuration, shared by all its instances.
#[derive(Debug)]
pub struct GuestIdentity {
    /// Deployed name.
    pub name: String,
    /// Config key/values from the manifest.
    pub config: BTreeMap<String, String>,
}

/// The data of one guest instance's store.
pub struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and table limits; remembers whether the guest hit them.
    pub limits: GuestLimits,
    identity: Arc<GuestIdentity>,
    /// The request being served, for log lines.
    pub request_id: String,
}

impl GuestState {
    /// A fresh state: the guest sees no environment variables, no files, no
    /// sockets and no arguments. Its stdout and stderr go to the host's
    /// stderr (CloudWatch on Lambda; never the `invoke` answer on stdout).
    pub fn new(identity: Arc<GuestIdentity>, memory_limit_bytes: usize) -> Self {
        let wasi = WasiCtx::builder()
            .stdout(wasmtime_wasi::cli::stderr())
            .stderr(wasmtime_wasi::cli::stderr())
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: GuestLimits::new(memory_limit_bytes),
            identity,
            request_id: String::new(),
        }
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Per-instance resource limits.
pub struct GuestLimits {
    memory_bytes: usize,
    /// Set when the guest asked for more memory than allowed.
    pub memory_exceeded: bool,
}

/// Table elements one table may hold (each costs a pointer).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl GuestLimits {
    fn new(memory_bytes: usize) -> Self {
        Self { memory_bytes, memory_exceeded: false }
    }
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            // Refuse the growth (memory.grow returns -1); the flag lets the
            // host report the limit rather than the allocator abort it causes.
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        // A component holds a few core instances (the guest, WASI adapters).
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

impl types::Host for GuestState {}

impl host::Host for GuestState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        let guest = self.identity.name.as_str();
        let request_id = self.request_id.as_str();
        match level {
            host::LogLevel::Trace => tracing::trace!(target: "guest", guest, request_id, "{message}"),
            host::LogLevel::Debug => tracing::debug!(target: "guest", guest, request_id, "{message}"),
            host::LogLevel::Info => tracing::info!(target: "guest", guest, request_id, "{message}"),
            host::LogLevel::Warn => tracing::warn!(target: "guest", guest, request_id, "{message}"),
            host::LogLevel::Error => tracing::error!(target: "guest", guest, request_id, "{message}"),
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.identity.config.get(&key).cloned()
    }

    fn config_entries(&mut self) -> Vec<(String, String)> {
        self.identity.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl models::Host for GuestState {
    fn infer(&mut self, model: String, _inputs: Vec<models::Tensor>) -> Result<Vec<models::Tensor>, models::ModelError> {
        // Model serving arrives with the ONNX models work; until then the
        // answer is a value the guest can handle, never a trap.
        Err(models::ModelError::UnknownModel(format!("model `{model}` is not loaded (this host serves no models yet)")))
    }
}
