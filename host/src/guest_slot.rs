//! One guest's place in the host: its template, its live instance, and the
//! rules for calling it.
//!
//! `reuse` guests keep one instance across events (state persists, like code
//! outside a Lambda handler); `fresh` guests get a new instance per event.
//! Any trap, timeout or memory-limit failure drops the instance; the next
//! event builds a new one from the template and runs `init` again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, Trap};

use crate::bindings::{Guest, GuestPre, types};
use crate::engine::ticks_for;
use crate::guest_state::{GuestIdentity, GuestState};
use crate::invocation::{Invocation, InvocationError};
use crate::manifest::{GuestSpec, InstanceMode};
use crate::models::model_store::ModelStore;
use crate::settings::FunctionInfo;

/// Linear-memory limit for guests whose manifest entry sets none.
pub const DEFAULT_MEMORY_LIMIT_MB: u64 = 128;

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
}

/// How one call ended, before it becomes an answer or an error.
type CallResult = wasmtime::Result<Result<Vec<u8>, types::GuestError>>;

impl GuestSlot {
    /// A guest that loaded.
    pub fn ready(
        name: &str,
        spec: &GuestSpec,
        engine: &Engine,
        models: &Arc<ModelStore>,
        pre: GuestPre<GuestState>,
    ) -> Self {
        Self::new(name, spec, engine, models, Template::Ready(pre))
    }

    /// A guest that failed to load: its events get the reason.
    pub fn failed(
        name: &str,
        spec: &GuestSpec,
        engine: &Engine,
        models: &Arc<ModelStore>,
        reason: String,
    ) -> Self {
        Self::new(name, spec, engine, models, Template::Failed(reason))
    }

    fn new(
        name: &str,
        spec: &GuestSpec,
        engine: &Engine,
        models: &Arc<ModelStore>,
        template: Template,
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
            template,
            mode: spec.instance,
            memory_limit_mb: spec.memory_limit_mb.unwrap_or(DEFAULT_MEMORY_LIMIT_MB),
            timeout: spec.timeout_ms.map(Duration::from_millis),
            live: Mutex::new(None),
        }
    }

    /// The guest's name.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// Why the guest failed to load, if it did.
    pub fn load_error(&self) -> Option<&str> {
        match &self.template {
            Template::Ready(_) => None,
            Template::Failed(reason) => Some(reason),
        }
    }

    /// At init: builds the instance of a `reuse` guest and runs its `init`,
    /// so the first event finds it warm.
    ///
    /// # Errors
    /// The guest did not load, or instantiation / `init` failed.
    pub fn prepare(&self, deadline: Instant) -> Result<(), InvocationError> {
        if self.mode == InstanceMode::Fresh {
            return self.template().map(|_| ());
        }
        let mut live = self.lock_live();
        if live.is_none() {
            *live = Some(self.instantiate(deadline)?);
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
            None => self.instantiate(deadline)?,
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

    /// Instantiates the template and runs `init`.
    fn instantiate(&self, deadline: Instant) -> Result<LiveInstance, InvocationError> {
        let pre = self.template()?;
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
        // "unreachable"), then wasmtime's wasm backtrace, bounded in size.
        // Errors that are not traps (a limit refused at instantiation, say)
        // carry a host backtrace in their debug form: only their words go out.
        let mut detail = match error.downcast_ref::<Trap>() {
            Some(trap) => format!("{trap}; {error:?}"),
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
