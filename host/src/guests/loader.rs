//! Finds the guests in a folder and compiles (or loads) each one.
//!
//! For each guest: read the `.wasm` (inside the folder only), check its
//! sha256 pin, then take the first that works of: the `.cwasm` beside it
//! (from `wasm-lambda-host precompile`), the content-keyed cache in
//! `WASM_LAMBDA_CACHE`, compiling (and filling the cache). Artifacts are
//! verified against the `.wasm`, the architecture, the host version and the
//! engine before use; one that is present but unusable is logged with the
//! reason and skipped, never trusted.
//!
//! One shortcut: a `.wasm` with no pin whose size and modification time are
//! those `precompile` recorded in the `.cwasm` beside it was not rewritten
//! since, so its digest is the one recorded and the file is not read at all
//! (an 18 MB Python guest costs 10–40 ms to read and hash).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::artifact;
use super::check;
use super::contract::GuestPre;
use super::engine::Arch;
use super::linker::SharedLinker;
use super::manifest::{GuestSpec, Manifest};
use crate::sources::folder::{self, Found, read_inside, resolve_inside};
use crate::sources::pin;

/// A guest found in the guests folder.
pub type GuestSource = Found<GuestSpec>;

/// Where `precompile` puts (and init looks for) a guest's artifact.
pub fn cwasm_path(source: &GuestSource) -> PathBuf {
    source.path.with_extension("cwasm")
}

/// Where a loaded guest's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOrigin {
    /// Compiled at init.
    Compiled,
    /// Deserialized from `WASM_LAMBDA_CACHE`.
    Cache,
    /// Deserialized from the `.cwasm` beside the `.wasm`.
    Precompiled,
    /// Kept from the release before: same code, settings and models, so
    /// its live instance (and the state in it) carried over.
    Kept,
    /// Not loaded at init: deferred with a usable `.cwasm`, which its
    /// first event loads.
    OnFirstUse,
}

impl LoadOrigin {
    /// Name used in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compiled => "compiled",
            Self::Cache => "cache",
            Self::Precompiled => "precompiled",
            Self::Kept => "kept",
            Self::OnFirstUse => "on first use",
        }
    }
}

/// A guest ready to instantiate.
pub struct LoadedGuest {
    /// The template every instance is made from.
    pub pre: GuestPre,
    /// Where its code came from.
    pub origin: LoadOrigin,
}

/// What loading needs besides the guest: the engine and what it compiles
/// for, the linker, and the two folders.
pub struct LoadContext<'a> {
    /// The runtime engine.
    pub engine: &'a Engine,
    /// The architecture the engine's code is for (`None`: below baseline).
    pub arch: Option<Arch>,
    /// The linker guests are checked against.
    pub linker: &'a SharedLinker,
    /// `WASM_LAMBDA_GUESTS`.
    pub guests_dir: &'a Path,
    /// `WASM_LAMBDA_CACHE`.
    pub cache_dir: &'a Path,
}

/// What loading needs, owned: kept by a guest whose code is loaded on its
/// first event.
#[derive(Clone)]
pub struct OwnedLoadContext {
    /// The runtime engine.
    pub engine: Engine,
    /// The architecture the engine's code is for.
    pub arch: Option<Arch>,
    /// The linker guests are checked against, shared by every guest.
    pub linker: SharedLinker,
    /// `WASM_LAMBDA_GUESTS` (or the release's folder).
    pub guests_dir: PathBuf,
    /// `WASM_LAMBDA_CACHE`.
    pub cache_dir: PathBuf,
}

impl OwnedLoadContext {
    /// The borrowed form [`load_one`] takes.
    pub fn borrow(&self) -> LoadContext<'_> {
        LoadContext {
            engine: &self.engine,
            arch: self.arch,
            linker: &self.linker,
            guests_dir: &self.guests_dir,
            cache_dir: &self.cache_dir,
        }
    }
}

/// Whether the guest has a `.cwasm` beside it that this host can use, by
/// its trailer alone (architecture, host version, engine): loading such a
/// guest later takes milliseconds, not a compile. Whether it was made from
/// this `.wasm` (and the pin) is checked when it is loaded.
pub fn has_usable_artifact(context: &LoadContext<'_>, source: &GuestSource) -> bool {
    resolve_inside(context.guests_dir, &cwasm_path(source))
        .is_ok_and(|real| artifact::usable(context.engine, context.arch, &real).is_ok())
}

/// Reads a folder's `guests.toml` (none means defaults for every guest).
///
/// # Errors
/// The manifest exists but cannot be read or is invalid.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    folder::read_manifest(dir, "guests.toml", Manifest::parse)
}

/// Lists the guests of a folder: every `*.wasm`, plus the manifest's entries.
///
/// # Errors
/// An unreadable folder. Files with invalid names are skipped with a warning.
pub fn discover(dir: &Path, manifest: &Manifest) -> Result<Vec<GuestSource>> {
    folder::discover(dir, "wasm", &manifest.guests, |spec| spec.file.as_deref())
}

/// Reads a guest's `.wasm` (inside its folder only) and checks it against
/// its `guests.toml` pin; returns the bytes and their sha256.
///
/// # Errors
/// Unreadable or escaping file, sha256 mismatch.
pub fn read_pinned(dir: &Path, source: &GuestSource) -> Result<(Vec<u8>, pin::Sha256Digest)> {
    let wasm = read_inside(dir, &source.path)?;
    let digest = pin::digest(&wasm);
    pin::check(
        source.spec.sha256.as_deref(),
        &digest,
        &source.path,
        "guests.toml",
    )?;
    Ok((wasm, digest))
}

/// Loads one guest.
///
/// # Errors
/// Unreadable or escaping file, sha256 mismatch, invalid component, or a
/// component the host cannot run (see [`check::check`]).
pub fn load_one(context: &LoadContext<'_>, source: &GuestSource) -> Result<LoadedGuest> {
    let started = Instant::now();
    let (component, origin, hashed) = match precompiled_unchanged(context, source) {
        Some(component) => (component, LoadOrigin::Precompiled, false),
        None => {
            let (wasm, digest) = read_pinned(context.guests_dir, source)?;
            let (component, origin) = obtain_component(context, source, &wasm, &digest)?;
            (component, origin, true)
        }
    };
    checked(context, source, component, origin, started, hashed)
}

/// Checks `component` against the linker (see [`check::check`]) and logs
/// where the load's time went.
fn checked(
    context: &LoadContext<'_>,
    source: &GuestSource,
    component: Component,
    origin: LoadOrigin,
    started: Instant,
    wasm_read_and_hashed: bool,
) -> Result<LoadedGuest> {
    let obtained = started.elapsed();
    let pre = check::check(context.engine, context.linker.get()?, &component)?;
    let elapsed = started.elapsed();
    tracing::debug!(
        guest = %source.name,
        wasm_read_and_hashed,
        code_ms = obtained.as_secs_f64() * 1e3,
        check_ms = (elapsed - obtained).as_secs_f64() * 1e3,
        "guest loaded"
    );
    Ok(LoadedGuest { pre, origin })
}

/// Loads a guest whose folder holds only its `.cwasm`, placed alone by a
/// release: the release pins the `.cwasm`'s bytes (checked when they were
/// fetched) and the `.wasm`'s sha256, `wasm_sha256`, which the `.cwasm`'s
/// trailer must name. So the `.wasm` is neither read nor hashed, and every
/// pin still holds.
///
/// # Errors
/// Outer: a `guests.toml` pin that disagrees with the release, or a
/// component the host cannot run. Inner: why the `.cwasm` cannot be used
/// here; the caller then places the `.wasm` and loads the guest from it.
pub fn load_precompiled_only(
    context: &LoadContext<'_>,
    source: &GuestSource,
    wasm_sha256: &str,
) -> Result<Result<LoadedGuest, artifact::Refusal>> {
    let digest = pin::from_hex(wasm_sha256)
        .with_context(|| format!("the release pins `{wasm_sha256}`, not a sha256"))?;
    if let Some(pin) = source.spec.sha256.as_deref()
        && !pin.eq_ignore_ascii_case(wasm_sha256)
    {
        anyhow::bail!(
            "sha256 mismatch for {}: guests.toml pins {pin}, the release pins {wasm_sha256}",
            source.path.display()
        );
    }
    let started = Instant::now();
    let loaded = resolve_inside(context.guests_dir, &cwasm_path(source))
        .map_err(|e| artifact::Refusal::Damaged(format!("{e:#}")))
        .and_then(|file| artifact::load(context.engine, context.arch, &file, &digest));
    match loaded {
        Ok(component) => checked(
            context,
            source,
            component,
            LoadOrigin::Precompiled,
            started,
            false,
        )
        .map(Ok),
        Err(refusal) => Ok(Err(refusal)),
    }
}

/// The `.cwasm` beside an unpinned `.wasm` that is, by size and
/// modification time, the file `precompile` compiled; `None` sends the
/// guest down the full path (read, hash, verify), which also reports why
/// an artifact is refused.
fn precompiled_unchanged(context: &LoadContext<'_>, source: &GuestSource) -> Option<Component> {
    if source.spec.sha256.is_some() {
        // A pin asks for the bytes to be checked: hash them.
        return None;
    }
    let beside = cwasm_path(source);
    let artifact_file = resolve_inside(context.guests_dir, &beside).ok()?;
    let wasm_file = resolve_inside(context.guests_dir, &source.path).ok()?;
    let usable = artifact::usable(context.engine, context.arch, &artifact_file).ok()?;
    let recorded = usable.info().stamp?;
    if artifact::SourceStamp::of(&wasm_file) != Some(recorded) {
        return None;
    }
    let component = artifact::load_usable(context.engine, &usable, &usable.info().source).ok()?;
    tracing::debug!(guest = %source.name, "the .wasm is unchanged since precompile (size and mtime): not re-hashed");
    Some(component)
}

fn obtain_component(
    context: &LoadContext<'_>,
    source: &GuestSource,
    wasm: &[u8],
    digest: &pin::Sha256Digest,
) -> Result<(Component, LoadOrigin)> {
    let beside = cwasm_path(source);
    if beside.symlink_metadata().is_ok() {
        // The artifact is held to the `.wasm`'s rule: inside the folder.
        let loaded = resolve_inside(context.guests_dir, &beside)
            .map_err(|e| artifact::Refusal::Damaged(format!("{e:#}")))
            .and_then(|real| artifact::load(context.engine, context.arch, &real, digest));
        match loaded {
            Ok(component) => return Ok((component, LoadOrigin::Precompiled)),
            Err(refusal) => tracing::warn!(
                guest = %source.name,
                "not using {}: {refusal}; compiling the guest instead",
                beside.display()
            ),
        }
    }
    let cached = artifact::cache_path(context.cache_dir, context.engine, digest);
    if cached.exists() {
        match artifact::load(context.engine, context.arch, &cached, digest) {
            Ok(component) => return Ok((component, LoadOrigin::Cache)),
            Err(refusal) => tracing::warn!(
                guest = %source.name,
                "not using the cached {}: {refusal}",
                cached.display()
            ),
        }
    }
    let (component, bytes) = artifact::compile(context.engine, context.arch, wasm, digest)
        .with_context(|| format!("{} is not a valid component", source.path.display()))?;
    if let Err(error) = artifact::store(&cached, &bytes) {
        // A read-only or full /tmp only costs the next cold start a compile.
        tracing::warn!(guest = %source.name, "could not cache the compiled guest: {error:#}");
    }
    Ok((component, LoadOrigin::Compiled))
}
