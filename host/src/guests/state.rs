//! What a guest's `Store` holds: its WASI context (no environment, files or
//! sockets; HTTP only through the host's checked client), its resource
//! limits, its identity and configuration. The host imports it may call
//! (logging, config, models) are in `services.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::guests::bindings::types;
use crate::guests::output::{GuestOutput, Stream};
use crate::models::store::ModelStore;
use crate::outbound::{GuestClient, OutboundHooks};

/// Host memory one model call may use per guest when `guests.toml` sets no
/// `model_memory_mb`: the bytes of its inputs, and of its outputs.
pub const DEFAULT_MODEL_MEMORY_MB: u64 = 64;

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
    /// Most bytes of inputs, and of outputs, one model call may have.
    pub model_memory_bytes: u64,
    /// Model runs of this guest that may be in flight at once (one per
    /// instance). A run the guest stopped waiting for (its deadline passed)
    /// keeps its permit until tract finishes, so abandoned runs cannot pile
    /// up: host memory for models stays below this many times the cap.
    pub model_runs: Arc<Semaphore>,
    /// Guest output allowed per call, in bytes.
    pub log_limit_bytes: u64,
    /// The guest's outbound HTTP client (`None`: it may reach nothing).
    pub outbound: Option<Arc<GuestClient>>,
    /// The Lambda environment's log group, log stream and region.
    pub environment: types::LambdaEnvironment,
}

/// The data of one guest instance's store.
pub struct GuestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    /// Outbound HTTP: the guest's client and the current call's totals.
    pub outbound: OutboundHooks,
    /// Memory and table limits; remembers whether the guest hit them.
    pub limits: GuestLimits,
    identity: Arc<GuestIdentity>,
    /// What the instance prints, tagged and capped per call.
    pub output: GuestOutput,
    /// When the current call's budget ends; host calls check it before
    /// starting work (time spent inside them counts against it anyway).
    pub deadline: Option<Instant>,
    /// Time spent in model runs during the current call.
    pub model_time: std::time::Duration,
}

impl GuestState {
    /// A fresh state: the guest sees no environment variables, no files, no
    /// sockets and no arguments. Its stdout and stderr become host log
    /// lines (stderr, so CloudWatch on Lambda; never the `invoke` answer on
    /// stdout).
    pub fn new(identity: Arc<GuestIdentity>, memory_limit_bytes: usize) -> Self {
        let output = GuestOutput::new(&identity.name, identity.log_limit_bytes);
        let wasi = WasiCtx::builder()
            .stdout(output.stream(Stream::Stdout))
            .stderr(output.stream(Stream::Stderr))
            .build();
        let outbound = OutboundHooks::new(&identity.name, identity.outbound.clone());
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound,
            limits: GuestLimits::new(memory_limit_bytes),
            identity,
            output,
            deadline: None,
            model_time: std::time::Duration::ZERO,
        }
    }
}

impl GuestState {
    /// The guest's deployed name.
    pub fn guest_name(&self) -> &str {
        &self.identity.name
    }

    /// Who the guest is: shared by all its instances.
    pub fn identity(&self) -> &Arc<GuestIdentity> {
        &self.identity
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

impl WasiHttpView for GuestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        // Requests end at the current call's deadline.
        self.outbound.deadline = self.deadline;
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
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
