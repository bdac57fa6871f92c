//! One guest's place in the host: its template, its live instance, and the
//! rules for calling it.
//!
//! `reuse` guests keep one instance across events (state persists, like code
//! outside a Lambda handler); `fresh` guests get a new instance per event.
//! Any trap, timeout or memory-limit failure drops the instance; the next
//! event builds a new one from the template and runs `init` again.
//!
//! `init` runs under its own budget (the guest's `timeout_ms`, else
//! [`DEFAULT_INIT_BUDGET`]), and after it fails the guest is not
//! instantiated again until a back-off has passed (doubling from
//! [`INIT_RETRY_FIRST`] up to [`INIT_RETRY_MAX`]): a guest whose `init`
//! loops or keeps failing costs its events an immediate error, not every
//! event's whole Lambda timeout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, Trap};

use crate::guests::bindings::{Guest, GuestPre, types};
use crate::guests::engine::ticks_for;
use crate::guests::manifest::{GuestSpec, InstanceMode};
use crate::guests::state::{GuestIdentity, GuestState};
use crate::models::store::ModelStore;
use crate::runtime::invocation::{Invocation, InvocationError};
use crate::runtime::settings::FunctionInfo;

/// Linear-memory limit for guests whose manifest entry sets none.
pub const DEFAULT_MEMORY_LIMIT_MB: u64 = 128;

/// Longest instantiation plus `init` may take, for guests with no `timeout_ms`.
pub const DEFAULT_INIT_BUDGET: Duration = Duration::from_secs(10);
/// Wait after a first failed `init` before trying again.
pub const INIT_RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest wait between `init` attempts.
pub const INIT_RETRY_MAX: Duration = Duration::from_secs(30);

/// A live instance and what it has done.
struct LiveInstance {
    store: Store<GuestState>,
    guest: Guest,
    events_handled: u64,
}

/// Whether the guest loaded.
enum Template {
    Ready(GuestPre<GuestState>),
    Failed(String),
}

/// One guest, loaded or not.
pub struct GuestSlot {
    identity: Arc<GuestIdentity>,
    engine: Engine,
    template: Template,
    mode: InstanceMode,
    memory_limit_mb: u64,
    timeout: Option<Duration>,
    live: Mutex<Option<LiveInstance>>,
    init_backoff: Mutex<InitBackoff>,
}

/// Failed `init` attempts, and when the next may run.
#[derive(Debug, Default)]
struct InitBackoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<InvocationError>,
}

/// How one call ended, before it becomes an answer or an error.
type CallResult = wasmtime::Result<Result<Vec<u8>, types::GuestError>>;

impl GuestSlot {
    /// A guest's slot: `template` is its pre-instantiated component, or
    /// why it failed to load (its events then get that reason).
    pub fn new(
        name: &str,
        spec: &GuestSpec,
        engine: &Engine,
        models: &Arc<ModelStore>,
        template: Result<GuestPre<GuestState>, String>,
    ) -> Self {
        let identity = GuestIdentity {
            name: name.to_owned(),
            config: spec.config_strings(),
            models: models.clone(),
            allowed_models: spec.models.clone(),
        };
        Self {
            identity: Arc::new(identity),
            engine: engine.clone(),
            template: match template {
                Ok(pre) => Template::Ready(pre),
                Err(reason) => Template::Failed(reason),
            },
            mode: spec.instance,
            memory_limit_mb: spec.memory_limit_mb.unwrap_or(DEFAULT_MEMORY_LIMIT_MB),
            timeout: spec.timeout_ms.map(Duration::from_millis),
            live: Mutex::new(None),
            init_backoff: Mutex::new(InitBackoff::default()),
        }
    }

    /// The guest's name.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// Whether the guest gets a new instance for every event.
    pub fn is_fresh(&self) -> bool {
        self.mode == InstanceMode::Fresh
    }

    /// At init: builds the guest's instance and runs its `init`, so the
    /// first event finds it warm (a `fresh` guest's first event uses it;
    /// later events get new ones). `fresh` guests are prepared too, so an
    /// `init` that fails shows at init, like any other guest's.
    ///
    /// # Errors
    /// The guest did not load, or instantiation / `init` failed.
    pub fn prepare(&self) -> Result<(), InvocationError> {
        let mut live = self.lock_live();
        if live.is_none() {
            *live = Some(self.instantiate(Instant::now() + self.init_budget())?);
        }
        Ok(())
    }

    /// Handles one event with the guest's `handle` export.
    ///
    /// # Errors
    /// Every failure of loading, init, the call itself, or the answer.
    pub fn handle(
        &self,
        event: &[u8],
        invocation: &Invocation,
        function: &FunctionInfo,
        deadline: Instant,
    ) -> Result<Vec<u8>, InvocationError> {
        let deadline = self.bounded(deadline);
        self.with_instance(
            deadline,
            &invocation.request_id,
            |instance, store_deadline| {
                let context = types::Context {
                    request_id: invocation.request_id.clone(),
                    deadline_ms: invocation.deadline_ms(),
                    function_name: function.name.clone(),
                    function_version: function.version.clone(),
                    invoked_function_arn: invocation.invoked_function_arn.clone(),
                    memory_limit_mb: function.memory_mb,
                    guest_name: self.identity.name.clone(),
                    cold: instance.events_handled == 0,
                    events_handled: instance.events_handled,
                };
                instance.events_handled += 1;
                self.arm(&mut instance.store, store_deadline);
                instance.guest.wasm_lambda_guest_function().call_handle(
                    &mut instance.store,
                    event,
                    &context,
                )
            },
        )
    }

    /// Runs the guest's `warm` hook for a warmer ping.
    ///
    /// # Errors
    /// As [`handle`](Self::handle).
    pub fn warm(
        &self,
        info: &types::WarmInfo,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Vec<u8>, InvocationError> {
        let deadline = self.bounded(deadline);
        self.with_instance(deadline, request_id, |instance, store_deadline| {
            self.arm(&mut instance.store, store_deadline);
            instance
                .guest
                .wasm_lambda_guest_function()
                .call_warm(&mut instance.store, info)
        })
    }

    /// Runs `call` on the live instance (building it first if needed) and
    /// turns its outcome into an answer or an error. Drops the instance on
    /// anything but success or a guest-returned error.
    fn with_instance(
        &self,
        deadline: Instant,
        request_id: &str,
        call: impl FnOnce(&mut LiveInstance, Instant) -> CallResult,
    ) -> Result<Vec<u8>, InvocationError> {
        let mut live = self.lock_live();
        let mut instance = match live.take() {
            Some(instance) => instance,
            None => self.instantiate(deadline.min(Instant::now() + self.init_budget()))?,
        };
        instance.store.data_mut().request_id.clear();
        instance.store.data_mut().request_id.push_str(request_id);
        instance.store.data_mut().limits.memory_exceeded = false;

        let started = Instant::now();
        let outcome = call(&mut instance, deadline);
        let result = match outcome {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(InvocationError::GuestError {
                guest: self.identity.name.clone(),
                kind: error.kind,
                message: error.message,
            }),
            Err(trap) => {
                let error = self.classify(trap, &instance.store, started, deadline);
                // The instance may be in any state after a trap: never reuse it.
                tracing::warn!(guest = %self.identity.name, error_type = error.error_type(), "dropping guest instance: {error}");
                return Err(error);
            }
        };
        if self.mode == InstanceMode::Reuse {
            *live = Some(instance);
        }
        result
    }

    /// How long instantiation plus `init` may take.
    fn init_budget(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_INIT_BUDGET)
    }

    /// Instantiates the template and runs `init`, unless a recent failure's
    /// back-off is still running (then that failure is the answer).
    fn instantiate(&self, deadline: Instant) -> Result<LiveInstance, InvocationError> {
        let pre = self.template()?;
        let mut backoff = self
            .init_backoff
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let (Some(retry_at), Some(error)) = (backoff.retry_at, &backoff.last_error)
            && Instant::now() < retry_at
        {
            // The same error as the failed attempt (same errorType), at once.
            let wait_ms = retry_at
                .saturating_duration_since(Instant::now())
                .as_millis();
            let note = format!(
                "init failed {} time(s) in a row; next attempt in {wait_ms} ms",
                backoff.failures
            );
            return Err(match error.clone() {
                InvocationError::GuestInitFailed { guest, reason } => {
                    InvocationError::GuestInitFailed {
                        guest,
                        reason: format!("{reason} ({note})"),
                    }
                }
                other => other,
            });
        }
        match self.instantiate_now(pre, deadline) {
            Ok(instance) => {
                *backoff = InitBackoff::default();
                Ok(instance)
            }
            Err(error) => {
                backoff.failures = backoff.failures.saturating_add(1);
                let exponent = backoff.failures.saturating_sub(1).min(16);
                let wait = INIT_RETRY_FIRST
                    .saturating_mul(1 << exponent)
                    .min(INIT_RETRY_MAX);
                backoff.retry_at = Some(Instant::now() + wait);
                backoff.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    fn instantiate_now(
        &self,
        pre: &GuestPre<GuestState>,
        deadline: Instant,
    ) -> Result<LiveInstance, InvocationError> {
        let memory_limit =
            usize::try_from(self.memory_limit_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        let mut store = Store::new(
            &self.engine,
            GuestState::new(self.identity.clone(), memory_limit),
        );
        store.limiter(|state| &mut state.limits);
        self.arm(&mut store, deadline);
        let started = Instant::now();
        let init_failed = |reason: String| InvocationError::GuestInitFailed {
            guest: self.identity.name.clone(),
            reason,
        };

        let guest = match pre.instantiate(&mut store) {
            Ok(guest) => guest,
            Err(error) => return Err(self.init_failure(error, &store, started, deadline)),
        };
        match guest.wasm_lambda_guest_function().call_init(&mut store) {
            Ok(Ok(())) => Ok(LiveInstance {
                store,
                guest,
                events_handled: 0,
            }),
            Ok(Err(error)) => Err(init_failed(format!(
                "init returned an error ({}): {}",
                error.kind, error.message
            ))),
            Err(error) => Err(self.init_failure(error, &store, started, deadline)),
        }
    }

    fn init_failure(
        &self,
        error: wasmtime::Error,
        store: &Store<GuestState>,
        started: Instant,
        deadline: Instant,
    ) -> InvocationError {
        match self.classify(error, store, started, deadline) {
            // A limit hit while initializing is still a limit hit.
            limit @ (InvocationError::GuestTimeout { .. }
            | InvocationError::GuestMemoryLimit { .. }) => limit,
            InvocationError::GuestTrapped { detail, .. } => InvocationError::GuestInitFailed {
                guest: self.identity.name.clone(),
                reason: detail,
            },
            other => other,
        }
    }

    fn template(&self) -> Result<&GuestPre<GuestState>, InvocationError> {
        match &self.template {
            Template::Ready(pre) => Ok(pre),
            Template::Failed(reason) => Err(InvocationError::GuestLoadFailed {
                guest: self.identity.name.clone(),
                reason: reason.clone(),
            }),
        }
    }

    /// The call's deadline: Lambda's (already with the host's margin) or
    /// the guest's own timeout, whichever comes first.
    fn bounded(&self, deadline: Instant) -> Instant {
        match self.timeout {
            Some(timeout) => deadline.min(Instant::now() + timeout),
            None => deadline,
        }
    }

    /// Sets the store's epoch deadline so the call traps once `deadline` passes.
    fn arm(&self, store: &mut Store<GuestState>, deadline: Instant) {
        store.set_epoch_deadline(ticks_for(
            deadline.saturating_duration_since(Instant::now()),
        ));
        store.epoch_deadline_trap();
        store.data_mut().deadline = Some(deadline);
    }

    fn classify(
        &self,
        error: wasmtime::Error,
        store: &Store<GuestState>,
        started: Instant,
        deadline: Instant,
    ) -> InvocationError {
        let guest = self.identity.name.clone();
        if store.data().limits.memory_exceeded {
            return InvocationError::GuestMemoryLimit {
                guest,
                limit_mb: self.memory_limit_mb,
            };
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            return InvocationError::GuestTimeout {
                guest,
                elapsed_ms: millis(started.elapsed()),
                budget_ms: millis(deadline.saturating_duration_since(started)),
            };
        }
        // The trap's own words first ("call stack exhausted", the panic's
        // "unreachable"), then the error chain, which holds wasmtime's wasm
        // backtrace of the guest, bounded in size. Only the Display forms go
        // out: the Debug form carries the host's own native backtrace when
        // RUST_BACKTRACE is set, and that is nobody's business but ours.
        if error.backtrace().status() == std::backtrace::BacktraceStatus::Captured {
            tracing::debug!(guest = %guest, "host backtrace of the guest's failure:\n{}", error.backtrace());
        }
        let mut detail = match error.downcast_ref::<Trap>() {
            Some(trap) => format!("{trap}; {error:#}"),
            None => format!("{error:#}"),
        };
        if detail.len() > 4096 {
            let cut = (0..=4096)
                .rev()
                .find(|i| detail.is_char_boundary(*i))
                .unwrap_or(0);
            detail.truncate(cut);
            detail.push_str(" ...");
        }
        InvocationError::GuestTrapped { guest, detail }
    }

    /// The live-instance lock. A panic while it was held (a host bug) leaves
    /// an instance of unknown state, so it is discarded rather than reused.
    fn lock_live(&self) -> std::sync::MutexGuard<'_, Option<LiveInstance>> {
        match self.live.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = None;
                self.live.clear_poison();
                guard
            }
        }
    }
}
