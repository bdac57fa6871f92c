//! The host: built once at init (engine, guests, router), then serving
//! events one way: payload → router → guest slot → checked answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bindings::types;
use crate::engine::shared_engine;
use crate::environment::Environment;
use crate::guest_check::guest_linker;
use crate::guest_loader::{self, LoadOrigin};
use crate::guest_slot::GuestSlot;
use crate::invocation::{Invocation, InvocationError, MAX_PAYLOAD_BYTES};
use crate::models::model_store::{ModelReport, ModelStore, ModelsDirError};
use crate::parallel::parallel_map;
use crate::router::{Decision, Payload, RouteError, Router};
use crate::settings::Settings;
use crate::warmer::{self, EnvironmentReport, WarmOutcome, WarmerPing};

/// Time kept back from Lambda's deadline so the host can still send an
/// answer (or an error) after stopping a guest.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(150);

/// Longest a guest's instantiation and `init` may take at init.
const INIT_BUDGET: Duration = Duration::from_secs(10);

/// What the host answers an invocation with.
#[derive(Debug)]
pub struct Response {
    /// JSON bytes.
    pub body: Vec<u8>,
    /// How long to hold the answer (a warmer ping's `delay`).
    pub hold: Duration,
}

/// How each guest fared at init.
#[derive(Debug, Clone)]
pub struct GuestReport {
    /// Guest name.
    pub name: String,
    /// `Ok(origin)` or the reason it is unavailable.
    pub outcome: Result<LoadOrigin, String>,
    /// Load time (compile or deserialize, plus instantiate and `init`).
    pub elapsed: Duration,
}

/// What init did, for the init log line and `invoke`.
#[derive(Debug, Clone)]
pub struct InitReport {
    /// One entry per guest.
    pub guests: Vec<GuestReport>,
    /// One entry per model.
    pub models: Vec<ModelReport>,
    /// Whole init time.
    pub elapsed: Duration,
}

impl InitReport {
    /// How many guests got their code each way, and how many failed.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let count = |origin| {
            self.guests
                .iter()
                .filter(|g| g.outcome == Ok(origin))
                .count()
        };
        let failed = self.guests.iter().filter(|g| g.outcome.is_err()).count();
        (
            count(LoadOrigin::Compiled),
            count(LoadOrigin::Cache),
            count(LoadOrigin::Precompiled),
            failed,
        )
    }

    /// Logs one line per guest and a summary line.
    pub fn log(&self) {
        for guest in &self.guests {
            let ms = guest.elapsed.as_secs_f64() * 1e3;
            match &guest.outcome {
                Ok(origin) => {
                    tracing::info!(guest = %guest.name, origin = origin.as_str(), "guest ready in {ms:.1} ms")
                }
                Err(reason) => tracing::error!(guest = %guest.name, "guest unavailable: {reason}"),
            }
        }
        for model in &self.models {
            match &model.outcome {
                Ok(_) => tracing::info!(model = %model.name, "model ready: {}", model.summary()),
                Err(_) => {
                    tracing::error!(model = %model.name, "model unavailable: {}", model.summary())
                }
            }
        }
        let (compiled, cached, precompiled, failed) = self.counts();
        tracing::info!(
            guests = self.guests.len(),
            models = self.models.len(),
            compiled,
            cached,
            precompiled,
            failed,
            "init complete in {:.1} ms",
            self.elapsed.as_secs_f64() * 1e3
        );
    }
}

/// Why init failed: reported to the Runtime API's init-error endpoint, after
/// which Lambda ends the environment.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// wasmtime could not be configured.
    #[error("{0}")]
    Engine(String),
    /// `guests.toml` or `models.toml` is unreadable or invalid.
    #[error("{0}")]
    ManifestInvalid(String),
    /// The models folder exists but cannot be read.
    #[error("{0}")]
    ModelsFolderUnreadable(String),
    /// With `WASM_LAMBDA_STRICT=1`, a model failed to load.
    #[error("{0}")]
    ModelsUnavailable(String),
    /// The guests folder cannot be read.
    #[error("{0}")]
    GuestsFolderUnreadable(String),
    /// The guests folder holds no guests.
    #[error("no guests (*.wasm) in {0}")]
    NoGuests(String),
    /// Every guest failed, or (with `WASM_LAMBDA_STRICT=1`) any did.
    #[error("{0}")]
    GuestsUnavailable(String),
}

impl InitError {
    /// The `errorType` sent to the init-error endpoint.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Engine(_) => "InitError.Engine",
            Self::ManifestInvalid(_) => "InitError.ManifestInvalid",
            Self::ModelsFolderUnreadable(_) => "InitError.ModelsFolderUnreadable",
            Self::ModelsUnavailable(_) => "InitError.ModelsUnavailable",
            Self::GuestsFolderUnreadable(_) => "InitError.GuestsFolderUnreadable",
            Self::NoGuests(_) => "InitError.NoGuests",
            Self::GuestsUnavailable(_) => "InitError.GuestsUnavailable",
        }
    }
}

/// The host.
pub struct WasmHost {
    settings: Settings,
    guests: BTreeMap<String, GuestSlot>,
    router: Router,
    environment: Environment,
}

impl WasmHost {
    /// Builds everything: engine, every guest (compiled in parallel,
    /// instantiated, `init` run), the router.
    ///
    /// # Errors
    /// Only what makes the whole environment useless: the engine cannot be
    /// configured, the guests folder cannot be read or is empty,
    /// `guests.toml` is broken, every guest failed (or, in strict mode, any
    /// did). Otherwise a guest that fails is reported and answers its events
    /// with the reason.
    pub fn init(settings: Settings) -> Result<(Self, InitReport), InitError> {
        let started = Instant::now();
        let engine = shared_engine().map_err(|e| InitError::Engine(format!("{e:#}")))?;
        let linker = guest_linker(&engine).map_err(|e| InitError::Engine(format!("{e:#}")))?;
        let dir = &settings.guests_dir;
        let manifest = guest_loader::read_manifest(dir)
            .map_err(|e| InitError::ManifestInvalid(format!("{e:#}")))?;
        let sources = guest_loader::discover(dir, &manifest)
            .map_err(|e| InitError::GuestsFolderUnreadable(format!("{e:#}")))?;
        if sources.is_empty() {
            return Err(InitError::NoGuests(dir.display().to_string()));
        }
        // Models load on their own thread while the guests compile.
        let (loaded, models) = std::thread::scope(|scope| {
            let models = scope.spawn(|| ModelStore::load_dir(&settings.models_dir));
            let loaded = guest_loader::load_all(
                &engine,
                &linker,
                &settings.guests_dir,
                &settings.cache_dir,
                &sources,
            );
            let models = models.join().unwrap_or_else(|_| {
                Err(ModelsDirError::Unreadable(
                    "loading the models panicked".into(),
                ))
            });
            (loaded, models)
        });
        let (models, model_reports) = models.map_err(|e| match e {
            ModelsDirError::ManifestInvalid(text) => InitError::ManifestInvalid(text),
            ModelsDirError::Unreadable(text) => InitError::ModelsFolderUnreadable(text),
        })?;
        let models = Arc::new(models);

        let built: Vec<(GuestSlot, GuestReport)> = sources
            .iter()
            .zip(loaded)
            .map(|(source, result)| match result {
                Ok(loaded) => (
                    GuestSlot::ready(&source.name, &source.spec, &engine, &models, loaded.pre),
                    GuestReport {
                        name: source.name.clone(),
                        outcome: Ok(loaded.origin),
                        elapsed: loaded.elapsed,
                    },
                ),
                Err(error) => {
                    let reason = format!("{error:#}");
                    (
                        GuestSlot::failed(
                            &source.name,
                            &source.spec,
                            &engine,
                            &models,
                            reason.clone(),
                        ),
                        GuestReport {
                            name: source.name.clone(),
                            outcome: Err(reason),
                            elapsed: Duration::ZERO,
                        },
                    )
                }
            })
            .collect();
        // Instantiate every loaded guest and run its `init`, in parallel.
        let prepared = parallel_map(&built, |(slot, report)| {
            if report.outcome.is_err() {
                return (Ok(()), Duration::ZERO);
            }
            let started = Instant::now();
            (
                slot.prepare(Instant::now() + INIT_BUDGET),
                started.elapsed(),
            )
        });

        let mut guests = BTreeMap::new();
        let mut reports = Vec::new();
        for ((slot, mut report), (prepared, took)) in built.into_iter().zip(prepared) {
            report.elapsed += took;
            if let Err(error) = prepared {
                report.outcome = Err(error.to_string());
            }
            guests.insert(report.name.clone(), slot);
            reports.push(report);
        }

        let router = Router::new(
            sources
                .iter()
                .map(|s| (s.name.as_str(), s.spec.routes.as_slice())),
            settings.default_guest.clone(),
        );
        let failures: Vec<String> = reports
            .iter()
            .filter_map(|r| {
                r.outcome
                    .as_ref()
                    .err()
                    .map(|reason| format!("`{}`: {reason}", r.name))
            })
            .collect();
        if failures.len() == reports.len() {
            return Err(InitError::GuestsUnavailable(format!(
                "every guest failed to load: {}",
                failures.join("; ")
            )));
        }
        if settings.strict && !failures.is_empty() {
            return Err(InitError::GuestsUnavailable(format!(
                "WASM_LAMBDA_STRICT is set and {} of {} guests failed: {}",
                failures.len(),
                reports.len(),
                failures.join("; ")
            )));
        }
        let model_failures: Vec<String> = model_reports
            .iter()
            .filter(|r| r.outcome.is_err())
            .map(ModelReport::summary)
            .collect();
        if settings.strict && !model_failures.is_empty() {
            return Err(InitError::ModelsUnavailable(format!(
                "WASM_LAMBDA_STRICT is set and {} of {} models failed: {}",
                model_failures.len(),
                model_reports.len(),
                model_failures.join("; ")
            )));
        }
        let host = Self {
            settings,
            guests,
            router,
            environment: Environment::new(),
        };
        Ok((
            host,
            InitReport {
                guests: reports,
                models: model_reports,
                elapsed: started.elapsed(),
            },
        ))
    }

    /// Names of all guests, loaded or not.
    pub fn guest_names(&self) -> impl Iterator<Item = &str> {
        self.guests.keys().map(String::as_str)
    }

    /// Serves one invocation: routes the event and returns the answer.
    ///
    /// # Errors
    /// See [`InvocationError`].
    pub fn dispatch(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let event = self.parse_event(payload)?;
        let decision = self.router.route(&event).map_err(|e| match e {
            RouteError::NoRoute(message) => InvocationError::NoRoute(message),
            RouteError::BadEvent(message) => InvocationError::BadEvent(message),
        })?;
        self.serve(decision, payload, invocation)
    }

    /// Serves one invocation addressed to `guest` (the `invoke` command):
    /// warmer pings still go to the host; anything else goes to `guest`.
    ///
    /// # Errors
    /// See [`InvocationError`].
    pub fn dispatch_to(
        &self,
        guest: &str,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let event = self.parse_event(payload)?;
        let decision = match warmer::detect(&event) {
            Some(ping) => Decision::Warmer(ping),
            None => Decision::Guest {
                guest: guest.to_owned(),
                payload: Payload::Whole,
            },
        };
        self.serve(decision, payload, invocation)
    }

    fn parse_event(&self, payload: &[u8]) -> Result<Value, InvocationError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(InvocationError::PayloadTooLarge(format!(
                "event of {} bytes exceeds Lambda's {MAX_PAYLOAD_BYTES}-byte payload limit",
                payload.len()
            )));
        }
        serde_json::from_slice(payload)
            .map_err(|e| InvocationError::BadEvent(format!("event is not JSON: {e}")))
    }

    fn serve(
        &self,
        decision: Decision<'_>,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let invocations = self.environment.record_invocation();
        let deadline = Instant::now() + invocation.remaining().saturating_sub(DEADLINE_MARGIN);
        match decision {
            Decision::Warmer(ping) => {
                Ok(self.answer_warmer(&ping, invocations, invocation, deadline))
            }
            Decision::Guest {
                guest,
                payload: part,
            } => {
                let slot = self.guests.get(&guest).ok_or_else(|| {
                    InvocationError::NoRoute(format!(
                        "guest `{guest}` does not exist; guests: {}",
                        self.guest_names().collect::<Vec<_>>().join(", ")
                    ))
                })?;
                let inner;
                let event = match part {
                    Payload::Whole => payload,
                    Payload::Inner(value) => {
                        inner = serde_json::to_vec(value)
                            .map_err(|e| InvocationError::BadEvent(e.to_string()))?;
                        &inner
                    }
                };
                let answer = slot.handle(event, invocation, &self.settings.function, deadline)?;
                check_answer(&guest, &answer)?;
                Ok(Response {
                    body: answer,
                    hold: Duration::ZERO,
                })
            }
        }
    }

    fn answer_warmer(
        &self,
        ping: &WarmerPing,
        invocations: u64,
        invocation: &Invocation,
        deadline: Instant,
    ) -> Response {
        let cold = invocations == 1;
        let info = types::WarmInfo {
            environment: self.environment.id().to_owned(),
            correlation_id: ping.correlation_id.clone(),
            concurrency: ping.concurrency,
            cold,
        };
        let outcomes = self
            .guests
            .values()
            .map(|slot| {
                let outcome =
                    slot.warm(&info, &invocation.request_id, deadline)
                        .and_then(|bytes| {
                            serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                                InvocationError::InvalidAnswer {
                                    guest: slot.name().to_owned(),
                                    detail: e.to_string(),
                                }
                            })
                        });
                let outcome = match outcome {
                    Ok(answer) => WarmOutcome::Warmed(answer),
                    Err(error) => WarmOutcome::Failed {
                        error_type: error.error_type().to_owned(),
                        error_message: error.to_string(),
                    },
                };
                (slot.name().to_owned(), outcome)
            })
            .collect();
        let report = EnvironmentReport {
            environment: self.environment.id().to_owned(),
            cold,
            invocations,
            uptime: self.environment.uptime(),
        };
        let body = warmer::answer(ping, &report, outcomes)
            .to_string()
            .into_bytes();
        // Hold the answer, but never past the point where it could still be sent.
        let hold = ping
            .delay
            .min(deadline.saturating_duration_since(Instant::now()));
        Response { body, hold }
    }
}

/// A guest's answer must be JSON and fit in a Lambda response.
fn check_answer(guest: &str, answer: &[u8]) -> Result<(), InvocationError> {
    if answer.len() > MAX_PAYLOAD_BYTES {
        return Err(InvocationError::PayloadTooLarge(format!(
            "guest `{guest}` answered {} bytes, over Lambda's {MAX_PAYLOAD_BYTES}-byte payload limit",
            answer.len()
        )));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(answer).map_err(|e| {
        InvocationError::InvalidAnswer {
            guest: guest.to_owned(),
            detail: e.to_string(),
        }
    })?;
    Ok(())
}
