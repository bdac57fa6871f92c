//! One guest's place in the host: its template, its live instances, and
//! the rules for calling it.
//!
//! `reuse` guests keep their instances across events (state persists, like
//! code outside a Lambda handler); `fresh` guests get a new instance per
//! event. An instance serves one event at a time: with
//! `AWS_LAMBDA_MAX_CONCURRENCY` above 1 (Lambda Managed Instances) a
//! `reuse` guest keeps a pool that grows on demand, one instance per
//! invocation running at once, each with its own state (as each Lambda
//! environment has its own). Unset or 1, there is exactly one instance.
//! Any trap, timeout or memory-limit failure drops the instance; the next
//! event builds a new one from the template and runs `init` again.
//!
//! Every call is async and bounded as a whole: when its deadline passes the
//! call is abandoned wherever it is, in guest code or in a host call (WASI
//! sleep or poll, a model run, output), and answered with `GuestTimeout`.
//!
//! `init` runs under its own budget (the guest's `timeout_ms`, else
//! [`DEFAULT_INIT_BUDGET`]), and after it fails the guest is not
//! instantiated again until a back-off has passed (doubling from
//! [`INIT_RETRY_FIRST`] up to [`INIT_RETRY_MAX`]): a guest whose `init`
//! loops or keeps failing costs its events an immediate error, not every
//! event's whole Lambda timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::guests::bindings::types;
use crate::guests::contract::{GuestInstance, GuestPre};
use crate::guests::manifest::{GuestSpec, InstanceMode};
use crate::guests::output::{DEFAULT_LOG_LIMIT_BYTES, OutputTotals};
use crate::guests::state::{DEFAULT_MODEL_MEMORY_MB, GuestIdentity, GuestState};
use crate::http_guests::request::{self, HttpRequest};
use crate::http_guests::{answer, call};
use crate::models::store::ModelStore;
use crate::outbound::{AddressGuard, GuestClient, OutboundSummary};
use crate::runtime::invocation::{Invocation, InvocationError, MAX_PAYLOAD_BYTES};
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
    guest: GuestInstance,
    events_handled: u64,
}

/// Loads a guest's code on its first event (or says why it cannot).
pub type LoadOnFirstUse = Box<dyn Fn() -> Result<GuestPre, String> + Send + Sync>;

/// A guest's code, as its slot is made with it.
pub enum GuestCode {
    /// Loaded: the template instances are made from.
    Ready(GuestPre),
    /// Why it could not be loaded.
    Failed(String),
    /// Loaded on the first event that needs it (a guest deferred at init
    /// with a usable `.cwasm`): the load, or why it failed.
    OnFirstUse(LoadOnFirstUse),
}

/// Whether the guest loaded.
enum Template {
    Ready(GuestPre),
    Failed(String),
    Later {
        load: LoadOnFirstUse,
        loaded: OnceLock<Result<GuestPre, String>>,
    },
}

/// One guest, loaded or not.
pub struct GuestSlot {
    identity: Arc<GuestIdentity>,
    engine: Engine,
    template: Template,
    mode: InstanceMode,
    memory_limit_mb: u64,
    timeout: Option<Duration>,
    /// Instances waiting for an event, warmest last.
    idle: Mutex<Vec<LiveInstance>>,
    init_backoff: Mutex<InitBackoff>,
    /// Left uninstantiated at init, and no instance built since: a warmer
    /// ping leaves it alone (warming it would spend the memory deferring saved).
    deferred: AtomicBool,
}

/// Failed `init` attempts, and when the next may run.
#[derive(Debug, Default)]
struct InitBackoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<InvocationError>,
}

/// What one call cost, for the invocation's metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct CallStats {
    /// The instance served its first event (instantiated for this call, or
    /// at init and never used).
    pub cold: bool,
    /// Time in model runs.
    pub model_time: Duration,
    /// The guest's output.
    pub output: OutputTotals,
    /// The guest's outbound HTTP calls.
    pub outbound: OutboundSummary,
}

/// Which export a call runs.
enum Call<'a> {
    Handle {
        event: &'a [u8],
        invocation: &'a Invocation,
        function: &'a FunctionInfo,
    },
    Warm(&'a types::WarmInfo),
    /// An HTTP guest's request, read from the event.
    Http(HttpRequest),
}

/// What an HTTP guest's failed response is answered with: the error types
/// SDK guests get for the same fault.
fn http_failure(guest: &str, failure: call::Failure) -> CallFailure {
    let instance_usable = failure.instance_usable();
    let error = match &failure {
        call::Failure::ErrorCode(code) => InvocationError::GuestError {
            guest: guest.to_owned(),
            kind: "http-error-code".to_owned(),
            message: code.clone(),
        },
        call::Failure::BodyTooLarge { .. } => {
            InvocationError::PayloadTooLarge(format!("guest `{guest}`: {failure}"))
        }
        call::Failure::NoResponse | call::Failure::BodyFailed(_) => {
            InvocationError::InvalidAnswer {
                guest: guest.to_owned(),
                detail: failure.to_string(),
            }
        }
    };
    CallFailure::Refused {
        error,
        instance_usable,
    }
}

/// The process's address guard (the Runtime API is the same for every guest).
fn address_guard() -> Arc<AddressGuard> {
    static GUARD: std::sync::OnceLock<Arc<AddressGuard>> = std::sync::OnceLock::new();
    GUARD
        .get_or_init(|| Arc::new(AddressGuard::from_env()))
        .clone()
}

/// `future`'s output, or `None` if `deadline` passed first (the future is
/// then dropped wherever it was waiting).
///
/// Hand-written rather than `tokio::time::timeout_at` because that builds
/// its timer for every call (0.6 µs of a 7 µs warm call, measured with
/// `host-bench warm`), while most guest calls finish without ever waiting:
/// the timer is made only once the call first has to wait.
async fn within<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        let timer =
            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// How one call ended, before it becomes an answer or an error: the outer
/// `Err` is a trap.
type CallResult = wasmtime::Result<Result<Vec<u8>, CallFailure>>;

/// A call that ended without an answer, but not in a trap.
enum CallFailure {
    /// The guest returned its own error; the instance serves on.
    Guest(types::GuestError),
    /// The host refused what the guest did (an HTTP guest's response).
    Refused {
        error: InvocationError,
        /// Whether the instance may serve again.
        instance_usable: bool,
    },
}

impl GuestSlot {
    /// A guest's slot: `code` is its pre-instantiated component, why it
    /// failed to load (its events then get that reason), or how to load it
    /// on its first event.
    pub fn new(
        name: &str,
        spec: &GuestSpec,
        engine: &Engine,
        models: &Arc<ModelStore>,
        code: GuestCode,
        concurrency: u32,
        function: &FunctionInfo,
    ) -> Self {
        let outbound = match GuestClient::new(name, &spec.outbound_settings(), address_guard()) {
            Ok(client) => Ok(client.map(Arc::new)),
            Err(error) => Err(format!("outbound HTTP: {error:#}")),
        };
        let (outbound, code) = match (outbound, code) {
            (Ok(client), code) => (client, code),
            (Err(reason), _) => (None, GuestCode::Failed(reason)),
        };
        let identity = GuestIdentity {
            name: name.to_owned(),
            config: spec.config_strings(),
            models: models.clone(),
            allowed_models: spec.models.clone(),
            model_memory_bytes: spec
                .model_memory_mb
                .unwrap_or(DEFAULT_MODEL_MEMORY_MB)
                .saturating_mul(1024 * 1024),
            model_runs: Arc::new(Semaphore::new(
                usize::try_from(concurrency.max(1)).unwrap_or(1),
            )),
            log_limit_bytes: spec
                .log_limit_kb
                .map_or(DEFAULT_LOG_LIMIT_BYTES, |kb| kb.saturating_mul(1024)),
            outbound,
            environment: types::LambdaEnvironment {
                log_group_name: function.log_group_name.clone(),
                log_stream_name: function.log_stream_name.clone(),
                region: function.region.clone(),
            },
        };
        Self {
            identity: Arc::new(identity),
            engine: engine.clone(),
            template: match code {
                GuestCode::Ready(pre) => Template::Ready(pre),
                GuestCode::Failed(reason) => Template::Failed(reason),
                GuestCode::OnFirstUse(load) => Template::Later {
                    load,
                    loaded: OnceLock::new(),
                },
            },
            mode: spec.instance,
            memory_limit_mb: spec.memory_limit_mb.unwrap_or(DEFAULT_MEMORY_LIMIT_MB),
            timeout: spec.timeout_ms.map(Duration::from_millis),
            idle: Mutex::new(Vec::new()),
            init_backoff: Mutex::new(InitBackoff::default()),
            deferred: AtomicBool::new(false),
        }
    }

    /// The guest's name.
    pub fn name(&self) -> &str {
        &self.identity.name
    }

    /// Whether it is an HTTP guest (known once its code has loaded).
    pub fn is_http(&self) -> bool {
        self.loaded().is_some_and(GuestPre::is_http)
    }

    /// Whether the guest gets a new instance for every event: `fresh` in
    /// `guests.toml`, or a guest that says each instance serves one event.
    pub fn is_fresh(&self) -> bool {
        self.mode == InstanceMode::Fresh
            || self.loaded().is_some_and(GuestPre::one_event_per_instance)
    }

    /// The template, if loaded.
    fn loaded(&self) -> Option<&GuestPre> {
        match &self.template {
            Template::Ready(pre) => Some(pre),
            Template::Failed(_) => None,
            Template::Later { loaded, .. } => loaded.get().and_then(|l| l.as_ref().ok()),
        }
    }

    /// At init: leaves the guest for its first event to instantiate.
    pub fn defer(&self) {
        self.deferred.store(true, Ordering::Relaxed);
    }

    /// Whether the guest was deferred at init and has had no instance since.
    pub fn is_deferred(&self) -> bool {
        self.deferred.load(Ordering::Relaxed)
    }

    /// At init: builds the guest's first instance and runs its `init`, so
    /// the first event finds it warm (a `fresh` guest's first event uses it;
    /// later events get new ones). `fresh` guests are prepared too, so an
    /// `init` that fails shows at init, like any other guest's.
    ///
    /// # Errors
    /// The guest did not load, or instantiation / `init` failed.
    pub async fn prepare(&self) -> Result<(), InvocationError> {
        if self.lock_idle().is_empty() {
            let instance = self
                .instantiate(Instant::now() + self.init_budget())
                .await?;
            self.lock_idle().push(instance);
        }
        Ok(())
    }

    /// Handles one event with the guest's `handle` export.
    ///
    /// # Errors
    /// Every failure of loading, init, the call itself, or the answer.
    pub async fn handle(
        &self,
        event: &[u8],
        invocation: &Invocation,
        function: &FunctionInfo,
        deadline: Instant,
        stats: &mut CallStats,
    ) -> Result<Vec<u8>, InvocationError> {
        let call = if self.template()?.is_http() {
            let mut request = request::from_event(event).map_err(|reason| {
                InvocationError::BadEvent(format!(
                    "guest `{}` serves HTTP only (it exports wasi:http/incoming-handler): {reason}",
                    self.identity.name
                ))
            })?;
            request.set_lambda_context(invocation);
            Call::Http(request)
        } else {
            Call::Handle {
                event,
                invocation,
                function,
            }
        };
        self.call(call, &invocation.request_id, self.bounded(deadline), stats)
            .await
    }

    /// Runs the guest's `warm` hook for a warmer ping.
    ///
    /// # Errors
    /// As [`handle`](Self::handle).
    pub async fn warm(
        &self,
        info: &types::WarmInfo,
        request_id: &str,
        deadline: Instant,
    ) -> Result<Vec<u8>, InvocationError> {
        let mut stats = CallStats::default();
        self.call(
            Call::Warm(info),
            request_id,
            self.bounded(deadline),
            &mut stats,
        )
        .await
    }

    /// Runs `call` on an idle instance (building one if none is idle) and
    /// turns its outcome into an answer or an error. Drops the instance on
    /// anything but success or a guest-returned error; otherwise a `reuse`
    /// guest's instance goes back to the pool.
    async fn call(
        &self,
        call: Call<'_>,
        request_id: &str,
        deadline: Instant,
        stats: &mut CallStats,
    ) -> Result<Vec<u8>, InvocationError> {
        let idle = self.lock_idle().pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => {
                self.instantiate(deadline.min(Instant::now() + self.init_budget()))
                    .await?
            }
        };
        stats.cold = instance.events_handled == 0;
        instance.store.data().output.begin(request_id);
        instance.store.data_mut().limits.memory_exceeded = false;
        instance.store.data_mut().model_time = Duration::ZERO;
        instance.store.data_mut().outbound.begin(request_id);

        let started = Instant::now();
        self.arm(&mut instance.store, deadline);
        let outcome = within(deadline, Self::run_export(&mut instance, &call)).await;
        stats.output = instance.store.data().output.finish();
        stats.model_time = instance.store.data().model_time;
        stats.outbound = instance.store.data().outbound.summary();
        // Outer `Err`: the instance cannot be used again.
        let ended = match outcome {
            Some(Ok(Ok(answer))) => Ok(Ok(answer)),
            Some(Ok(Err(CallFailure::Guest(error)))) => Ok(Err(InvocationError::GuestError {
                guest: self.identity.name.clone(),
                kind: error.kind,
                message: error.message,
            })),
            Some(Ok(Err(CallFailure::Refused {
                error,
                instance_usable,
            }))) => {
                if instance_usable {
                    Ok(Err(error))
                } else {
                    Err(error)
                }
            }
            // The instance may be in any state after a trap.
            Some(Err(trap)) => Err(self.classify(trap, &instance.store, started, deadline)),
            // Stopped in a host call (or between yields): the call's future
            // is gone, and with it the instance's consistency.
            None => Err(self.timeout_error(started, deadline)),
        };
        let result = match ended {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(guest = %self.identity.name, requestId = request_id, error_type = error.error_type(), "dropping guest instance: {error}");
                return Err(error);
            }
        };
        if !self.is_fresh() {
            self.lock_idle().push(instance);
        }
        result
    }

    /// Calls the export `call` names on `instance`.
    async fn run_export(instance: &mut LiveInstance, call: &Call<'_>) -> CallResult {
        match call {
            Call::Handle {
                event,
                invocation,
                function: info,
            } => {
                let context = types::Context {
                    request_id: invocation.request_id.clone(),
                    deadline_ms: invocation.deadline_ms(),
                    function_name: info.name.clone(),
                    function_version: info.version.clone(),
                    invoked_function_arn: invocation.invoked_function_arn.clone(),
                    memory_limit_mb: info.memory_mb,
                    guest_name: instance.store.data().guest_name().to_owned(),
                    cold: instance.events_handled == 0,
                    events_handled: instance.events_handled,
                    trace_id: invocation.caller.trace_id.clone(),
                    client_context: invocation.caller.client_context.clone(),
                    cognito_identity: invocation.caller.cognito_identity.clone(),
                    tenant_id: invocation.caller.tenant_id.clone(),
                };
                instance.events_handled += 1;
                Ok(instance
                    .guest
                    .call_handle(&mut instance.store, event, &context)
                    .await?
                    .map_err(CallFailure::Guest))
            }
            Call::Warm(info) => Ok(instance
                .guest
                .call_warm(&mut instance.store, info)
                .await?
                .map_err(CallFailure::Guest)),
            Call::Http(request) => {
                instance.events_handled += 1;
                let LiveInstance { store, guest, .. } = instance;
                let Some(proxy) = guest.http() else {
                    return Err(wasmtime::Error::msg(
                        "host bug: an HTTP request for an SDK guest's instance",
                    ));
                };
                let guest_name = store.data().guest_name().to_owned();
                Ok(
                    match call::serve(proxy, store, request, MAX_PAYLOAD_BYTES).await? {
                        Ok(response) => Ok(answer::encode(request.kind, &response)),
                        Err(failure) => Err(http_failure(&guest_name, failure)),
                    },
                )
            }
        }
    }

    /// How long instantiation plus `init` may take.
    fn init_budget(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_INIT_BUDGET)
    }

    /// Instantiates the template and runs `init`, unless a recent failure's
    /// back-off is still running (then that failure is the answer).
    async fn instantiate(&self, deadline: Instant) -> Result<LiveInstance, InvocationError> {
        let pre = self.template()?;
        if let Some(error) = self.backing_off() {
            return Err(error);
        }
        let outcome = self.instantiate_now(pre, deadline).await;
        let mut backoff = self
            .init_backoff
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(instance) => {
                *backoff = InitBackoff::default();
                self.deferred.store(false, Ordering::Relaxed);
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

    /// The last `init` failure, while its back-off runs.
    fn backing_off(&self) -> Option<InvocationError> {
        let backoff = self
            .init_backoff
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (Some(retry_at), Some(error)) = (backoff.retry_at, &backoff.last_error) else {
            return None;
        };
        if Instant::now() >= retry_at {
            return None;
        }
        // The same error as the failed attempt (same errorType), at once.
        let wait_ms = retry_at
            .saturating_duration_since(Instant::now())
            .as_millis();
        let note = format!(
            "init failed {} time(s) in a row; next attempt in {wait_ms} ms",
            backoff.failures
        );
        Some(match error.clone() {
            InvocationError::GuestInitFailed { guest, reason } => {
                InvocationError::GuestInitFailed {
                    guest,
                    reason: format!("{reason} ({note})"),
                }
            }
            other => other,
        })
    }

    async fn instantiate_now(
        &self,
        pre: &GuestPre,
        deadline: Instant,
    ) -> Result<LiveInstance, InvocationError> {
        let memory_limit =
            usize::try_from(self.memory_limit_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        let mut store = Store::new(
            &self.engine,
            GuestState::new(self.identity.clone(), memory_limit),
        );
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_callback(|store| {
            // Every tick: past the deadline, stop; before it, let other
            // invocations (and the deadline's timer) run, then go on.
            let expired = store
                .data()
                .deadline
                .is_none_or(|deadline| Instant::now() >= deadline);
            Ok(if expired {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        self.arm(&mut store, deadline);
        store.data().output.begin("");
        let started = Instant::now();
        let outcome = within(deadline, Self::init_instance(pre, &mut store)).await;
        store.data().output.finish();
        match outcome {
            Some(Ok((guest, Ok(())))) => Ok(LiveInstance {
                store,
                guest,
                events_handled: 0,
            }),
            Some(Ok((_, Err(error)))) => Err(InvocationError::GuestInitFailed {
                guest: self.identity.name.clone(),
                reason: format!("init returned an error ({}): {}", error.kind, error.message),
            }),
            Some(Err(error)) => Err(self.init_failure(error, &store, started, deadline)),
            None => Err(self.timeout_error(started, deadline)),
        }
    }

    /// Instantiates the template and calls `init`.
    async fn init_instance(
        pre: &GuestPre,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<(GuestInstance, Result<(), types::GuestError>)> {
        let guest = pre.instantiate(&mut *store).await?;
        let init = guest.call_init(store).await?;
        Ok((guest, init))
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

    fn template(&self) -> Result<&GuestPre, InvocationError> {
        let failed = |reason: &String| InvocationError::GuestLoadFailed {
            guest: self.identity.name.clone(),
            reason: reason.clone(),
        };
        match &self.template {
            Template::Ready(pre) => Ok(pre),
            Template::Failed(reason) => Err(failed(reason)),
            // Once: its outcome, either way, stands for the slot's life.
            Template::Later { load, loaded } => loaded.get_or_init(load).as_ref().map_err(failed),
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

    /// Starts a call's budget: the epoch callback checks `deadline` every
    /// tick (see `instantiate_now`).
    fn arm(&self, store: &mut Store<GuestState>, deadline: Instant) {
        store.set_epoch_deadline(1);
        store.data_mut().deadline = Some(deadline);
    }

    fn timeout_error(&self, started: Instant, deadline: Instant) -> InvocationError {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        InvocationError::GuestTimeout {
            guest: self.identity.name.clone(),
            elapsed_ms: millis(started.elapsed()),
            budget_ms: millis(deadline.saturating_duration_since(started)),
        }
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
            return self.timeout_error(started, deadline);
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

    /// The idle instances. Only whole instances are pushed and popped, so
    /// a panic elsewhere cannot leave the list half-changed.
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<LiveInstance>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
