//! Init (Lambda's INIT phase): the engine, every guest compiled or loaded
//! and instantiated with its `init` run, every model loaded, the router.
//! What init did is reported; what makes the environment useless is an
//! [`InitError`] for the Runtime API's init-error endpoint.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::WasmHost;
use super::eager::{Deferred, EagerBudget};
use super::guest_set::{Builder, PlannedGuest, ReleaseTag, SetPlan};
use super::live_release::{Current, Releases};
use super::switch::CheckState;
use crate::guests::engine::{runtime_target, shared_engine};
use crate::guests::linker::SharedLinker;
use crate::guests::loader::{self, LoadOrigin};
use crate::models::store::ModelReport;
use crate::releases::download::CacheCounts;
use crate::releases::source::PlacedGuest;
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
    /// Loaded but not instantiated: its first event will (see [`eager`]).
    ///
    /// [`eager`]: super::eager
    pub deferred: bool,
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
    /// Carried over from the release before (a live switch only).
    pub kept: usize,
    /// Left for the first event to load from its `.cwasm`.
    pub on_first_use: usize,
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
    /// The releases loaded, when guests or models come from S3.
    pub release: Option<ReleaseReport>,
    /// Guests left for their first event to instantiate.
    pub deferred: Deferred,
    /// The budget that decided which.
    pub eager_budget: EagerBudget,
    /// Where the time went.
    pub phases: InitPhases,
}

/// Where init's time went, in order (the engine is built while the release
/// is read; the models load while the guests' code does).
#[derive(Debug, Clone, Copy, Default)]
pub struct InitPhases {
    /// Building the engine, or reading the release if longer (the linker
    /// is built beside the loads).
    pub engine: Duration,
    /// Reading the manifest and listing the guests.
    pub plan: Duration,
    /// Getting the guests' code (and loading the models beside it).
    pub load: Duration,
    /// Instantiating the guests and running their `init`.
    pub instantiate: Duration,
}

/// Which releases init loaded and what their objects cost.
#[derive(Debug, Clone)]
pub struct ReleaseReport {
    /// Where from.
    pub source: String,
    /// The releases.
    pub tag: ReleaseTag,
    /// Downloads and cache hits: a warm `/tmp` downloads nothing.
    pub objects: CacheCounts,
    /// Whether signatures were checked.
    pub signatures_checked: bool,
    /// The signed pointer's sequence and signing time, when checked.
    pub pointer: Option<crate::releases::pointer_signature::Stamp>,
    /// `WASM_LAMBDA_RELEASE_MAX_AGE`.
    pub max_age: Option<std::time::Duration>,
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
                Ok(LoadOrigin::Kept) => counts.kept += 1,
                Ok(LoadOrigin::OnFirstUse) => counts.on_first_use += 1,
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
                Ok(LoadOrigin::OnFirstUse) => {
                    tracing::info!(guest = %guest.name, "guest left for its first event, which loads its .cwasm and instantiates it")
                }
                Ok(origin) if guest.deferred => {
                    tracing::info!(guest = %guest.name, origin = origin.as_str(), "guest loaded in {ms:.1} ms; instantiated on its first event")
                }
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
        if let Some(release) = &self.release {
            tracing::info!(
                release = release.tag.guests.as_deref().unwrap_or("-"),
                models_release = release.tag.models.as_deref().unwrap_or("-"),
                signed_by = release.tag.signer.as_deref().unwrap_or("-"),
                sequence = release.pointer.as_ref().map_or(0, |p| p.sequence),
                pointer_signed_at = release
                    .pointer
                    .as_ref()
                    .map_or("-", |p| p.signed_at.as_str()),
                downloaded = release.objects.downloaded,
                downloaded_bytes = release.objects.downloaded_bytes,
                reused = release.objects.reused,
                "release loaded: {}",
                release.source
            );
            if release.signatures_checked && release.max_age.is_none() {
                tracing::warn!(
                    "WASM_LAMBDA_RELEASE_MAX_AGE is not set: a cold start takes a signed pointer \
                     however old, so whoever can write the bucket can put back an older signed \
                     pointer for new environments (see docs/releases.md, \"Rollback and freeze\")"
                );
            }
            if !release.signatures_checked {
                tracing::warn!(
                    "releases are not signature-checked: set WASM_LAMBDA_TRUSTED_KEYS so that \
                     write access to the bucket is not enough to run code here"
                );
            }
        }
        self.deferred.log(self.eager_budget);
        let counts = self.counts();
        tracing::info!(
            guests = self.guests.len(),
            models = self.models.len(),
            compiled = counts.compiled,
            cached = counts.cached,
            precompiled = counts.precompiled,
            on_first_use = counts.on_first_use,
            failed = counts.failed,
            deferred = self.deferred.count(),
            engine_ms = ms(self.phases.engine),
            plan_ms = ms(self.phases.plan),
            load_ms = ms(self.phases.load),
            instantiate_ms = ms(self.phases.instantiate),
            "init complete in {:.1} ms",
            self.elapsed.as_secs_f64() * 1e3
        );
    }
}

/// A duration in milliseconds, rounded to 0.01 for the log.
fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
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
    /// An `s3://` address or `WASM_LAMBDA_TRUSTED_KEYS` is malformed.
    #[error("{0}")]
    ReleaseSettings(String),
    /// No AWS credentials in the environment.
    #[error("{0}")]
    S3Credentials(String),
    /// S3 refused the credentials, or access to the releases' prefix.
    #[error("{0}")]
    S3AccessDenied(String),
    /// The bucket does not exist.
    #[error("{0}")]
    S3BucketNotFound(String),
    /// S3 did not answer, or kept failing, within the bounded retries.
    #[error("{0}")]
    S3Unavailable(String),
    /// Nothing was ever published to the prefix (no `current` pointer).
    #[error("{0}")]
    NoRelease(String),
    /// The pointer, the release manifest or `guests.toml` / `models.toml`
    /// is missing, malformed or does not match its sha256.
    #[error("{0}")]
    ReleaseInvalid(String),
    /// With `WASM_LAMBDA_TRUSTED_KEYS`: the release or its pointer is
    /// unsigned or signed by another key (or the pointer is dated too far
    /// in the future).
    #[error("{0}")]
    ReleaseUntrusted(String),
    /// With `WASM_LAMBDA_RELEASE_MAX_AGE`: the pointer was signed longer ago
    /// than that.
    #[error("{0}")]
    ReleaseExpired(String),
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
            Self::ReleaseSettings(_) => "InitError.ReleaseSettings",
            Self::S3Credentials(_) => "InitError.S3Credentials",
            Self::S3AccessDenied(_) => "InitError.S3AccessDenied",
            Self::S3BucketNotFound(_) => "InitError.S3BucketNotFound",
            Self::S3Unavailable(_) => "InitError.S3Unavailable",
            Self::NoRelease(_) => "InitError.NoRelease",
            Self::ReleaseInvalid(_) => "InitError.ReleaseInvalid",
            Self::ReleaseUntrusted(_) => "InitError.ReleaseUntrusted",
            Self::ReleaseExpired(_) => "InitError.ReleaseExpired",
        }
    }
}

impl WasmHost {
    /// Builds everything: engine, every guest (compiled in parallel,
    /// instantiated, `init` run), every model, the router. With guests
    /// or models from S3, reads the current release first and downloads
    /// what the cache lacks while compiling and loading what it has.
    ///
    /// # Errors
    /// Only what makes the whole environment useless: the engine cannot be
    /// configured, the guests folder cannot be read or is empty, a manifest
    /// is broken, the release cannot be read or trusted, every guest failed
    /// (or, in strict mode, any guest or model did). Otherwise a guest that
    /// fails is reported and answers its events with the reason.
    pub fn init(settings: Settings) -> Result<(Self, InitReport), InitError> {
        let started = Instant::now();
        let arch = runtime_target().arch();
        // With S3 releases, the release is read (and its downloads
        // started) while the engine is built: S3 round trips overlap with
        // work that needs no network. From a folder there is nothing to
        // read, and a thread for it only competes with init's others for
        // the cores (measured: BENCHMARKS.md, "One guest").
        let (engine, release) = if settings.guests_s3.is_some() || settings.models_s3.is_some() {
            std::thread::scope(|scope| {
                let reading = scope.spawn(|| read_release(&settings, arch, started));
                let engine = engine_and_linker();
                let release = reading.join().unwrap_or_else(|_| {
                    Err(InitError::ReleaseInvalid(
                        "reading the release panicked".to_owned(),
                    ))
                });
                (engine, release)
            })
        } else {
            (engine_and_linker(), Ok((None, Current::default())))
        };
        let engine_time = started.elapsed();
        let (engine, linker) = engine.map_err(|e| InitError::Engine(format!("{e:#}")))?;
        let (releases, current) = release?;
        let builder = Builder {
            engine: &engine,
            arch,
            linker: &linker,
            settings: &settings,
        };
        let built = plan_and_build(&builder, releases.as_ref(), &current, None)?;
        // Every guest's load waited for it; this reports a failure to build
        // it (a host bug) as the engine's, not as each guest's.
        linker
            .get()
            .map_err(|e| InitError::Engine(format!("{e:#}")))?;
        let plan_time = started
            .elapsed()
            .saturating_sub(engine_time + built.load_time + built.instantiate_time);
        check_failures(&settings, &built.guests, &built.models)?;
        if let Some(releases) = &releases {
            releases.adopt(&current);
        }
        let release = releases.as_ref().map(|r| ReleaseReport {
            source: r.describe(),
            tag: current.tag(),
            objects: r.counts(),
            signatures_checked: r.checks_signatures(),
            pointer: r.pointer_stamp(),
            max_age: r.max_age(),
        });
        let report = InitReport {
            guests: built.guests,
            models: built.models,
            elapsed: started.elapsed(),
            release,
            deferred: built.deferred,
            eager_budget: settings.eager_budget,
            phases: InitPhases {
                engine: engine_time,
                plan: plan_time,
                load: built.load_time,
                instantiate: built.instantiate_time,
            },
        };
        let host = Self {
            live: ArcSwap::from_pointee(built.set),
            checks: Mutex::new(CheckState::new(current)),
            settings,
            engine,
            arch,
            linker,
            environment: Environment::new(),
            releases,
        };
        Ok((host, report))
    }
}

/// The shared engine, and the linker started on a thread of its own (it is
/// built beside the first loads: see [`SharedLinker`]).
fn engine_and_linker() -> anyhow::Result<(wasmtime::Engine, SharedLinker)> {
    let engine = shared_engine()?;
    let linker = SharedLinker::build_in_background(&engine);
    Ok((engine, linker))
}

/// Opens the S3 locations the settings name, reads their current releases
/// and starts downloading what the cache lacks.
fn read_release(
    settings: &Settings,
    arch: Option<crate::guests::engine::Arch>,
    started: Instant,
) -> Result<(Option<Releases>, Current), InitError> {
    let Some(releases) = Releases::open(settings)? else {
        return Ok((None, Current::default()));
    };
    let current = releases.read(&Current::default())?.unwrap_or_default();
    tracing::debug!(
        "read the release in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    releases.prefetch(&current, arch);
    Ok((Some(releases), current))
}

/// Builds a guest set from the folders or the releases in `current`
/// (carrying unchanged guests over from `previous`).
pub(super) fn plan_and_build(
    builder: &Builder<'_>,
    releases: Option<&Releases>,
    current: &Current,
    previous: Option<&super::guest_set::GuestSet>,
) -> Result<super::guest_set::Built, InitError> {
    let settings = builder.settings;
    let (guests, guests_dir) = match (releases, current.guests.as_deref()) {
        (Some(releases), Some(release)) => releases.plan_guests(release)?,
        _ => {
            let dir = &settings.guests_dir;
            let manifest = loader::read_manifest(dir)
                .map_err(|e| InitError::ManifestInvalid(format!("{e:#}")))?;
            let sources = loader::discover(dir, &manifest)
                .map_err(|e| InitError::GuestsFolderUnreadable(format!("{e:#}")))?;
            let planned = sources
                .into_iter()
                .map(|source| PlannedGuest {
                    source,
                    content: None,
                })
                .collect();
            (planned, dir.clone())
        }
    };
    if guests.is_empty() {
        let place = releases.and(current.guests.as_ref()).map_or_else(
            || guests_dir.display().to_string(),
            |r| format!("release {}", r.manifest.id),
        );
        return Err(InitError::NoGuests(place));
    }
    let models = match releases {
        Some(releases) => releases.plan_models(current)?,
        None => None,
    };
    let (models_dir, models_key) = match models {
        Some((dir, key)) => (dir, Some(key)),
        None => (
            settings.models_dir.clone(),
            Some(format!("folder:{}", settings.models_dir.display())),
        ),
    };
    let place_guest = |source: &loader::GuestSource,
                       precompiled_only: bool|
     -> Result<PlacedGuest, String> {
        match (releases, current.guests.as_deref()) {
            (Some(releases), Some(release)) => {
                releases.place_guest(release, source, builder.arch, &guests_dir, precompiled_only)
            }
            _ => Ok(PlacedGuest::Source),
        }
    };
    let place_guest_source = |source: &loader::GuestSource| -> Result<(), String> {
        match (releases, current.guests.as_deref()) {
            (Some(releases), Some(release)) => {
                releases.place_guest_source(release, source, &guests_dir)
            }
            _ => Ok(()),
        }
    };
    let place_models = || -> BTreeMap<String, String> {
        match releases {
            Some(releases) => releases.place_models(current, &models_dir),
            None => BTreeMap::new(),
        }
    };
    let plan = SetPlan {
        guests,
        guests_dir: guests_dir.clone(),
        models_dir: models_dir.clone(),
        models_key,
        place_guest: &place_guest,
        place_guest_source: &place_guest_source,
        place_models: &place_models,
        release: current.tag(),
    };
    builder.build(plan, previous)
}

/// Every guest failed, or strict mode and any guest or model did.
pub(super) fn check_failures(
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
