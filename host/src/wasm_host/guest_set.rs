//! The live guest set: every guest's slot, the models they share and the
//! router, built together and replaced together. An event takes the set
//! once and is served wholly by it, so a release switch (one pointer swap)
//! never mixes two releases in one event, however many events run at once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use wasmtime::Engine;

use super::eager::Deferred;
use super::init::{GuestReport, InitError};
use crate::guests::engine::Arch;
use crate::guests::linker::SharedLinker;
use crate::guests::loader::{
    self, GuestSource, LoadContext, LoadOrigin, LoadedGuest, OwnedLoadContext,
};
use crate::guests::manifest::GuestSpec;
use crate::guests::slot::{GuestCode, GuestSlot};
use crate::models::store::{ModelReport, ModelStore, ModelsDirError};
use crate::releases::source::PlacedGuest;
use crate::routing::router::Router;
use crate::runtime::executor::executor;
use crate::runtime::settings::Settings;

/// The releases a set was built from (none for folders).
#[derive(Debug, Clone, Default)]
pub struct ReleaseTag {
    /// The guests' release id.
    pub guests: Option<String>,
    /// The models' release id.
    pub models: Option<String>,
    /// Who signed the guests' release, when signatures are checked.
    pub signer: Option<String>,
}

/// What decides whether a guest's live instance may carry over to a new
/// set: the same code, the same settings.
#[derive(Debug, Clone, PartialEq)]
struct GuestKey {
    content: String,
    spec: GuestSpec,
}

/// Guests, models and router of one release (or of the folders).
pub struct GuestSet {
    /// Slots by guest name.
    pub guests: BTreeMap<String, Arc<GuestSlot>>,
    /// Routes events to guests.
    pub router: Router,
    /// Where it came from.
    pub release: ReleaseTag,
    models: Arc<ModelStore>,
    models_key: Option<String>,
    keys: BTreeMap<String, GuestKey>,
}

impl GuestSet {
    /// Names of all guests, loaded or not.
    pub fn guest_names(&self) -> impl Iterator<Item = &str> {
        self.guests.keys().map(String::as_str)
    }
}

/// One guest to load: where its files will be, and (for releases) the
/// sha256 of its code, which lets an unchanged guest carry over.
pub struct PlannedGuest {
    /// Name, file and settings.
    pub source: GuestSource,
    /// sha256 of its `.wasm`, when known before loading.
    pub content: Option<String>,
}

impl PlannedGuest {
    /// What must match for the guest's live instance to carry over.
    fn key(&self) -> Option<GuestKey> {
        Some(GuestKey {
            content: self.content.clone()?,
            spec: self.source.spec.clone(),
        })
    }
}

/// Everything needed to build a set.
pub struct SetPlan<'a> {
    /// The guests.
    pub guests: Vec<PlannedGuest>,
    /// Folder the guests' files are (or will be) in.
    pub guests_dir: PathBuf,
    /// Folder of the models.
    pub models_dir: PathBuf,
    /// Identifies the models' contents; equal keys mean the models need
    /// not be loaded again and guests may carry over.
    pub models_key: Option<String>,
    /// Puts a guest's files in place (downloads them) before it loads;
    /// `true` allows a release to place only the guest's `.cwasm`.
    pub place_guest: &'a (dyn Fn(&GuestSource, bool) -> Result<PlacedGuest, String> + Sync),
    /// Puts a guest's `.wasm` in place after its `.cwasm`, placed alone,
    /// was refused.
    pub place_guest_source: &'a (dyn Fn(&GuestSource) -> Result<(), String> + Sync),
    /// Puts the models in place before they load; returns the models that
    /// could not be had, with why.
    pub place_models: &'a (dyn Fn() -> BTreeMap<String, String> + Sync),
    /// Where it comes from.
    pub release: ReleaseTag,
}

/// What the set builder borrows from the host.
pub struct Builder<'a> {
    /// The runtime engine.
    pub engine: &'a Engine,
    /// What its code is for.
    pub arch: Option<Arch>,
    /// The linker guests are checked against.
    pub linker: &'a SharedLinker,
    /// The host's settings.
    pub settings: &'a Settings,
}

/// A built set and what happened building it.
pub struct Built {
    /// The set.
    pub set: GuestSet,
    /// One entry per guest.
    pub guests: Vec<GuestReport>,
    /// One entry per model loaded (none if the models carried over).
    pub models: Vec<ModelReport>,
    /// Guests left for their first event to instantiate.
    pub deferred: Deferred,
    /// Placing, compiling or loading the guests' code, with the models
    /// loading beside it.
    pub load_time: Duration,
    /// Instantiating the guests and running their `init`.
    pub instantiate_time: Duration,
}

impl Builder<'_> {
    /// Loads a set: each guest's files are placed and the guest compiled
    /// or loaded in parallel with the models; a guest unchanged from
    /// `previous` (same code, settings and models) keeps its slot, and with
    /// it its live instance. New guests are instantiated and their `init`
    /// run before the set is returned.
    ///
    /// # Errors
    /// A models manifest is invalid or the models folder unreadable.
    pub fn build(
        &self,
        plan: SetPlan<'_>,
        previous: Option<&GuestSet>,
    ) -> Result<Built, InitError> {
        let models_carry_over =
            previous.is_some_and(|p| p.models_key.is_some() && p.models_key == plan.models_key);
        let kept = |planned: &PlannedGuest| -> Option<Arc<GuestSlot>> {
            let previous = previous.filter(|_| models_carry_over)?;
            let key = planned.key()?;
            (previous.keys.get(&planned.source.name) == Some(&key))
                .then(|| previous.guests.get(&planned.source.name).cloned())
                .flatten()
        };
        let context = LoadContext {
            engine: self.engine,
            arch: self.arch,
            linker: self.linker,
            guests_dir: &plan.guests_dir,
            cache_dir: &self.settings.cache_dir,
        };
        let budget = self.settings.eager_budget;
        let load_guests = || -> Vec<Loaded> {
            plan.guests
                .par_iter()
                .map(|planned| {
                    if let Some(slot) = kept(planned) {
                        return Loaded::Kept(slot);
                    }
                    let started = Instant::now();
                    let admitted = budget.admits(planned.source.spec.eager);
                    // A guest loaded on first use is loaded from its folder
                    // later: it gets its .wasm too.
                    let loaded = match (plan.place_guest)(&planned.source, admitted) {
                        Err(reason) => Err(reason),
                        // Past the budget with a usable .cwasm: not even
                        // loaded now (loading is ~0.24 MB of a guest's ~0.4
                        // MB, BENCHMARKS.md); its first event loads it.
                        Ok(PlacedGuest::Source)
                            if !admitted
                                && loader::has_usable_artifact(&context, &planned.source) =>
                        {
                            return Loaded::Later(started.elapsed());
                        }
                        Ok(PlacedGuest::Source) => load_from_folder(&context, &planned.source),
                        Ok(PlacedGuest::PrecompiledOnly { wasm_sha256 }) => {
                            load_precompiled_only(&context, &plan, &planned.source, &wasm_sha256)
                        }
                    };
                    match loaded {
                        Ok(loaded) => Loaded::Ready(loaded, started.elapsed()),
                        Err(reason) => Loaded::Failed(reason, started.elapsed()),
                    }
                })
                .collect()
        };
        // Models load while the guests download and compile, on the same
        // pool (one thread a core: the two never oversubscribe the CPUs).
        let loading = Instant::now();
        let (loaded, models) = match previous.filter(|_| models_carry_over) {
            Some(previous) => (load_guests(), Ok((previous.models.clone(), Vec::new()))),
            None => rayon::join(load_guests, || {
                let unavailable = (plan.place_models)();
                ModelStore::load_dir(&plan.models_dir).map(|(mut store, mut reports)| {
                    for (name, reason) in unavailable {
                        reports.retain(|r| r.name != name);
                        reports.push(store.record_failure(&name, reason));
                    }
                    (Arc::new(store), reports)
                })
            }),
        };
        let (models, model_reports) = models.map_err(|e| match e {
            ModelsDirError::ManifestInvalid(text) => InitError::ManifestInvalid(text),
            ModelsDirError::Unreadable(text) => InitError::ModelsFolderUnreadable(text),
        })?;

        let owned_context = OwnedLoadContext {
            engine: self.engine.clone(),
            arch: self.arch,
            linker: self.linker.clone(),
            guests_dir: plan.guests_dir.clone(),
            cache_dir: self.settings.cache_dir.clone(),
        };
        let new_slot = |source: &GuestSource, code| {
            Arc::new(GuestSlot::new(
                &source.name,
                &source.spec,
                self.engine,
                &models,
                code,
                self.settings.max_concurrency,
                &self.settings.function,
            ))
        };
        let slots: Vec<(Arc<GuestSlot>, GuestReport)> = plan
            .guests
            .iter()
            .zip(loaded)
            .map(|(planned, loaded)| {
                let source = &planned.source;
                let (slot, outcome, elapsed) = match loaded {
                    Loaded::Kept(slot) => (slot, Ok(LoadOrigin::Kept), Duration::ZERO),
                    Loaded::Ready(loaded, took) => (
                        new_slot(source, GuestCode::Ready(loaded.pre)),
                        Ok(loaded.origin),
                        took,
                    ),
                    Loaded::Failed(reason, took) => (
                        new_slot(source, GuestCode::Failed(reason.clone())),
                        Err(reason),
                        took,
                    ),
                    Loaded::Later(took) => {
                        let owned = owned_context.clone();
                        let source_owned = source.clone();
                        let load = move || {
                            loader::load_one(&owned.borrow(), &source_owned)
                                .map(|loaded| loaded.pre)
                                .map_err(|error| format!("{error:#}"))
                        };
                        (
                            new_slot(source, GuestCode::OnFirstUse(Box::new(load))),
                            Ok(LoadOrigin::OnFirstUse),
                            took,
                        )
                    }
                };
                let name = source.name.clone();
                (
                    slot,
                    GuestReport {
                        name,
                        outcome,
                        elapsed,
                        deferred: false,
                    },
                )
            })
            .collect();
        // Instantiate every newly loaded guest and run its `init`, in
        // parallel, within the init memory budget (see `eager`).
        let instantiating = Instant::now();
        let load_time = instantiating - loading;
        let prepared: Vec<_> = slots
            .par_iter()
            .zip(plan.guests.par_iter())
            .map(|((slot, report), planned)| {
                // Only newly loaded guests: kept ones are live already.
                let loaded_now = matches!(report.outcome, Ok(origin) if origin != LoadOrigin::Kept);
                let load_later = matches!(report.outcome, Ok(LoadOrigin::OnFirstUse));
                if !loaded_now && !load_later {
                    return Prepared::Skipped;
                }
                if load_later || !budget.admits(planned.source.spec.eager) {
                    slot.defer();
                    return Prepared::Deferred;
                }
                let started = Instant::now();
                // Each rayon thread drives its guest's async init itself.
                let prepared = executor().block_on(slot.prepare());
                Prepared::Instantiated(prepared, started.elapsed())
            })
            .collect();
        let instantiate_time = instantiating.elapsed();

        let mut guests = BTreeMap::new();
        let mut keys = BTreeMap::new();
        let mut reports = Vec::new();
        let mut deferred = Deferred::default();
        for ((planned, (slot, mut report)), prepared) in plan.guests.iter().zip(slots).zip(prepared)
        {
            match prepared {
                Prepared::Instantiated(Err(error), took) => {
                    report.elapsed += took;
                    report.outcome = Err(error.to_string());
                }
                Prepared::Instantiated(Ok(()), took) => report.elapsed += took,
                Prepared::Deferred => {
                    report.deferred = true;
                    if planned.source.spec.eager == Some(false) {
                        deferred.marked.push(report.name.clone());
                    } else {
                        deferred.over_budget.push(report.name.clone());
                    }
                }
                Prepared::Skipped => {}
            }
            if report.outcome.is_ok()
                && let Some(key) = planned.key()
            {
                keys.insert(report.name.clone(), key);
            }
            guests.insert(report.name.clone(), slot);
            reports.push(report);
        }
        let router = Router::new(
            plan.guests
                .iter()
                .map(|g| (g.source.name.as_str(), g.source.spec.routes.as_slice())),
            self.settings.default_guest.clone(),
        );
        Ok(Built {
            set: GuestSet {
                guests,
                router,
                release: plan.release,
                models,
                models_key: plan.models_key,
                keys,
            },
            guests: reports,
            models: model_reports,
            deferred,
            load_time,
            instantiate_time,
        })
    }
}

/// What the instantiation step did with one guest.
enum Prepared {
    /// Kept from the set before, or failed to load: nothing to do.
    Skipped,
    /// Left for its first event (marked `eager = false`, or past the budget).
    Deferred,
    /// Instantiated and `init` run, or why that failed; how long it took.
    Instantiated(
        Result<(), crate::runtime::invocation::InvocationError>,
        Duration,
    ),
}

enum Loaded {
    Kept(Arc<GuestSlot>),
    /// Left, code and all, for its first event.
    Later(Duration),
    Ready(loader::LoadedGuest, Duration),
    Failed(String, Duration),
}

/// Loads a guest from its folder (its `.wasm`, and a `.cwasm` beside it).
fn load_from_folder(
    context: &LoadContext<'_>,
    source: &GuestSource,
) -> Result<LoadedGuest, String> {
    loader::load_one(context, source).map_err(|e| format!("{e:#}"))
}

/// Loads a guest whose release placed its `.cwasm` alone; if that `.cwasm`
/// is refused, places the `.wasm` and loads the guest from it.
fn load_precompiled_only(
    context: &LoadContext<'_>,
    plan: &SetPlan<'_>,
    source: &GuestSource,
    wasm_sha256: &str,
) -> Result<LoadedGuest, String> {
    match loader::load_precompiled_only(context, source, wasm_sha256) {
        Ok(Ok(loaded)) => Ok(loaded),
        Ok(Err(refusal)) => {
            tracing::warn!(
                guest = %source.name,
                "not using the release's precompiled code: {refusal}; fetching its .wasm to compile it"
            );
            (plan.place_guest_source)(source)?;
            load_from_folder(context, source)
        }
        Err(error) => Err(format!("{error:#}")),
    }
}
