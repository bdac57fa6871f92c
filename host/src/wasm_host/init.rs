//! Init (Lambda's INIT phase): the engine, every guest compiled or loaded
//! and instantiated with its `init` run, every model loaded, the router.
//! What init did is reported; what makes the environment useless is an
//! [`InitError`] for the Runtime API's init-error endpoint.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::WasmHost;
use crate::guests::check::guest_linker;
use crate::guests::engine::{runtime_target, shared_engine};
use crate::guests::loader::{self, LoadContext, LoadOrigin};
use crate::guests::slot::GuestSlot;
use crate::models::store::{ModelReport, ModelStore, ModelsDirError};
use crate::routing::router::Router;
use crate::runtime::environment::Environment;
use crate::runtime::settings::Settings;

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

/// How many guests got their code each way, and how many failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OriginCounts {
    /// Compiled at init.
    pub compiled: usize,
    /// Loaded from `WASM_LAMBDA_CACHE`.
    pub cached: usize,
    /// Loaded from the `.cwasm` beside the `.wasm`.
    pub precompiled: usize,
    /// Unavailable.
    pub failed: usize,
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
    pub fn counts(&self) -> OriginCounts {
        let mut counts = OriginCounts::default();
        for guest in &self.guests {
            match guest.outcome {
                Ok(LoadOrigin::Compiled) => counts.compiled += 1,
                Ok(LoadOrigin::Cache) => counts.cached += 1,
                Ok(LoadOrigin::Precompiled) => counts.precompiled += 1,
                Err(_) => counts.failed += 1,
            }
        }
        counts
    }

    /// Logs one line per guest and model, and a summary line.
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
        let counts = self.counts();
        tracing::info!(
            guests = self.guests.len(),
            models = self.models.len(),
            compiled = counts.compiled,
            cached = counts.cached,
            precompiled = counts.precompiled,
            failed = counts.failed,
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

impl WasmHost {
    /// Builds everything: engine, every guest (compiled in parallel,
    /// instantiated, `init` run), every model, the router.
    ///
    /// # Errors
    /// Only what makes the whole environment useless: the engine cannot be
    /// configured, the guests folder cannot be read or is empty, a manifest
    /// is broken, every guest failed (or, in strict mode, any guest or model
    /// did). Otherwise a guest that fails is reported and answers its
    /// events with the reason.
    pub fn init(settings: Settings) -> Result<(Self, InitReport), InitError> {
        let started = Instant::now();
        let engine = shared_engine().map_err(|e| InitError::Engine(format!("{e:#}")))?;
        let linker = guest_linker(&engine).map_err(|e| InitError::Engine(format!("{e:#}")))?;
        let dir = &settings.guests_dir;
        let manifest =
            loader::read_manifest(dir).map_err(|e| InitError::ManifestInvalid(format!("{e:#}")))?;
        let sources = loader::discover(dir, &manifest)
            .map_err(|e| InitError::GuestsFolderUnreadable(format!("{e:#}")))?;
        if sources.is_empty() {
            return Err(InitError::NoGuests(dir.display().to_string()));
        }
        let context = LoadContext {
            engine: &engine,
            arch: runtime_target().arch(),
            linker: &linker,
            guests_dir: &settings.guests_dir,
            cache_dir: &settings.cache_dir,
        };
        // Models load while the guests compile, on the same pool (one
        // thread a core: the two never oversubscribe the CPUs).
        let (loaded, models) = rayon::join(
            || loader::load_all(&context, &sources),
            || ModelStore::load_dir(&settings.models_dir),
        );
        let (models, model_reports) = models.map_err(|e| match e {
            ModelsDirError::ManifestInvalid(text) => InitError::ManifestInvalid(text),
            ModelsDirError::Unreadable(text) => InitError::ModelsFolderUnreadable(text),
        })?;
        let models = Arc::new(models);

        let built: Vec<(GuestSlot, GuestReport)> = sources
            .iter()
            .zip(loaded)
            .map(|(source, result)| {
                let (template, outcome, elapsed) = match result {
                    Ok(loaded) => (Ok(loaded.pre), Ok(loaded.origin), loaded.elapsed),
                    Err(error) => {
                        let reason = format!("{error:#}");
                        (Err(reason.clone()), Err(reason), Duration::ZERO)
                    }
                };
                let slot = GuestSlot::new(&source.name, &source.spec, &engine, &models, template);
                let report = GuestReport {
                    name: source.name.clone(),
                    outcome,
                    elapsed,
                };
                (slot, report)
            })
            .collect();
        // Instantiate every loaded guest and run its `init`, in parallel.
        let prepared: Vec<_> = built
            .par_iter()
            .map(|(slot, report)| {
                if report.outcome.is_err() {
                    return (Ok(()), Duration::ZERO);
                }
                let started = Instant::now();
                (slot.prepare(), started.elapsed())
            })
            .collect();

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
        check_failures(&settings, &reports, &model_reports)?;
        let host = Self {
            settings,
            guests,
            router,
            environment: Environment::new(),
        };
        let report = InitReport {
            guests: reports,
            models: model_reports,
            elapsed: started.elapsed(),
        };
        Ok((host, report))
    }
}

/// Every guest failed, or strict mode and any guest or model did.
fn check_failures(
    settings: &Settings,
    guests: &[GuestReport],
    models: &[ModelReport],
) -> Result<(), InitError> {
    let failures: Vec<String> = guests
        .iter()
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .err()
                .map(|reason| format!("`{}`: {reason}", r.name))
        })
        .collect();
    if failures.len() == guests.len() {
        return Err(InitError::GuestsUnavailable(format!(
            "every guest failed to load: {}",
            failures.join("; ")
        )));
    }
    if settings.strict && !failures.is_empty() {
        return Err(InitError::GuestsUnavailable(format!(
            "WASM_LAMBDA_STRICT is set and {} of {} guests failed: {}",
            failures.len(),
            guests.len(),
            failures.join("; ")
        )));
    }
    let model_failures: Vec<String> = models
        .iter()
        .filter(|r| r.outcome.is_err())
        .map(ModelReport::summary)
        .collect();
    if settings.strict && !model_failures.is_empty() {
        return Err(InitError::ModelsUnavailable(format!(
            "WASM_LAMBDA_STRICT is set and {} of {} models failed: {}",
            model_failures.len(),
            models.len(),
            model_failures.join("; ")
        )));
    }
    Ok(())
}
