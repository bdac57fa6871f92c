//! What a guest's `Store` holds: its WASI context (no environment, files or
//! network), its resource limits, its identity and configuration, and the
//! host imports it may call (logging, config, models).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::guests::bindings::{host, models, types};
use crate::models::onnx_model::RunError;
use crate::models::store::{AccessError, ModelStore};
use crate::models::tensor_wit::{tensor_from_wit, tensor_to_wit};

/// Who a guest is: its name and configuration, shared by all its instances.
#[derive(Debug)]
pub struct GuestIdentity {
    /// Deployed name.
    pub name: String,
    /// Config key/values from the manifest.
    pub config: BTreeMap<String, String>,
    /// The models loaded at init.
    pub models: Arc<ModelStore>,
    /// The models the manifest lets this guest use (`None`: all).
    pub allowed_models: Option<Vec<String>>,
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
    /// When the current call's budget ends; host calls check it before
    /// starting work (time spent inside them counts against it anyway).
    pub deadline: Option<Instant>,
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
            deadline: None,
        }
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
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
        Self {
            memory_bytes,
            memory_exceeded: false,
        }
    }
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            // Refuse the growth (memory.grow returns -1); the flag lets the
            // host report the limit rather than the allocator abort it causes.
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
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
            host::LogLevel::Trace => {
                tracing::trace!(target: "guest", guest, request_id, "{message}")
            }
            host::LogLevel::Debug => {
                tracing::debug!(target: "guest", guest, request_id, "{message}")
            }
            host::LogLevel::Info => tracing::info!(target: "guest", guest, request_id, "{message}"),
            host::LogLevel::Warn => tracing::warn!(target: "guest", guest, request_id, "{message}"),
            host::LogLevel::Error => {
                tracing::error!(target: "guest", guest, request_id, "{message}")
            }
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.identity.config.get(&key).cloned()
    }

    fn config_entries(&mut self) -> Vec<(String, String)> {
        self.identity
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl models::Host for GuestState {
    fn infer(
        &mut self,
        model: String,
        inputs: Vec<models::Tensor>,
    ) -> wasmtime::Result<Result<Vec<models::Tensor>, models::ModelError>> {
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            // The same trap an epoch deadline raises: reported as GuestTimeout.
            return Err(wasmtime::Error::new(wasmtime::Trap::Interrupt));
        }
        Ok(self.run_model(&model, inputs))
    }
}

impl GuestState {
    fn run_model(
        &self,
        model: &str,
        inputs: Vec<models::Tensor>,
    ) -> Result<Vec<models::Tensor>, models::ModelError> {
        use models::ModelError;
        let identity = &self.identity;
        let found =
            identity
                .models
                .for_guest(model, &identity.name, identity.allowed_models.as_deref());
        let runnable = found.map_err(|error| match error {
            AccessError::Unknown(m) => ModelError::UnknownModel(m),
            AccessError::NotAllowed(m) => ModelError::NotAllowed(m),
            AccessError::Unavailable(m) => ModelError::Failed(m),
        })?;
        let named = inputs
            .into_iter()
            .map(|tensor| {
                let name = tensor.name.clone();
                tensor_from_wit(tensor).map(|t| (name, t))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| ModelError::InvalidInput(format!("{e:#}")))?;
        let outputs = runnable.run(named).map_err(|error| match error {
            RunError::InvalidInput(m) => ModelError::InvalidInput(format!("model `{model}`: {m}")),
            RunError::Failed(m) => ModelError::Failed(format!("model `{model}`: {m}")),
        })?;
        outputs
            .iter()
            .map(|(name, tensor)| tensor_to_wit(name, tensor))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| ModelError::Failed(format!("model `{model}`: {e:#}")))
    }
}
