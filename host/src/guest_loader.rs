//! Finds the guests in a folder and compiles (or loads) them, in parallel.
//!
//! For each guest: read the `.wasm`, check its sha256 pin, then take the first
//! that works of: the `.cwasm` beside it (from `wasm-lambda-host precompile`),
//! the content-keyed cache in `WASM_LAMBDA_CACHE`, compiling (and filling the
//! cache). Artifacts are verified against the `.wasm` and the engine before
//! use; a bad one is reported and skipped, never trusted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::artifact;
use crate::bindings::GuestPre;
use crate::guest_check;
use crate::guest_state::GuestState;
use crate::manifest::{GuestSpec, Manifest, validate_name};
use crate::parallel::parallel_map;

/// A guest found in the guests folder.
#[derive(Debug, Clone)]
pub struct GuestSource {
    /// Deployed name.
    pub name: String,
    /// Its `.wasm`.
    pub wasm_path: PathBuf,
    /// Its settings (defaults without a manifest entry).
    pub spec: GuestSpec,
}

impl GuestSource {
    /// Where `precompile` puts (and init looks for) the guest's artifact.
    pub fn cwasm_path(&self) -> PathBuf {
        self.wasm_path.with_extension("cwasm")
    }
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
}

impl LoadOrigin {
    /// Name used in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compiled => "compiled",
            Self::Cache => "cache",
            Self::Precompiled => "precompiled",
        }
    }
}

/// A guest ready to instantiate.
pub struct LoadedGuest {
    /// The template every instance is made from.
    pub pre: GuestPre<GuestState>,
    /// Where its code came from.
    pub origin: LoadOrigin,
    /// How long loading took.
    pub elapsed: Duration,
}

/// Reads a folder's `guests.toml` (none means defaults for every guest).
///
/// # Errors
/// The manifest exists but cannot be read or is invalid.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let manifest_path = dir.join("guests.toml");
    match fs::read_to_string(&manifest_path) {
        Ok(text) => Manifest::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", manifest_path.display())),
    }
}

/// Lists the guests of a folder: every `*.wasm`, plus the manifest's entries.
///
/// # Errors
/// An unreadable folder. Files with invalid names are skipped with a warning.
pub fn discover(dir: &Path, manifest: &Manifest) -> Result<Vec<GuestSource>> {
    let mut guests: BTreeMap<String, GuestSource> = BTreeMap::new();
    let claimed: Vec<String> = manifest
        .guests
        .iter()
        .filter_map(|(_, s)| s.file.clone())
        .collect();
    for (name, spec) in &manifest.guests {
        let file = spec.file.clone().unwrap_or_else(|| format!("{name}.wasm"));
        guests.insert(
            name.clone(),
            GuestSource {
                name: name.clone(),
                wasm_path: dir.join(file),
                spec: spec.clone(),
            },
        );
    }

    let entries =
        fs::read_dir(dir).with_context(|| format!("reading guests folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading guests folder {}", dir.display()))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
            continue;
        }
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        if claimed.contains(&file_name) || guests.contains_key(&name) {
            continue;
        }
        if let Err(error) = validate_name(&name) {
            tracing::warn!(file = %path.display(), "skipping guest file: {error}");
            continue;
        }
        guests.insert(
            name.clone(),
            GuestSource {
                name,
                wasm_path: path,
                spec: GuestSpec::default(),
            },
        );
    }
    Ok(guests.into_values().collect())
}

/// Loads every guest, several at a time; results come back in input order.
pub fn load_all(
    engine: &Engine,
    linker: &Linker<GuestState>,
    guests_dir: &Path,
    cache_dir: &Path,
    sources: &[GuestSource],
) -> Vec<Result<LoadedGuest>> {
    parallel_map(sources, |source| {
        load_one(engine, linker, guests_dir, cache_dir, source)
    })
}

/// Loads one guest.
///
/// # Errors
/// Unreadable or escaping file, sha256 mismatch, invalid component, or a
/// component the host cannot run (see [`guest_check::check`]).
pub fn load_one(
    engine: &Engine,
    linker: &Linker<GuestState>,
    guests_dir: &Path,
    cache_dir: &Path,
    source: &GuestSource,
) -> Result<LoadedGuest> {
    let started = Instant::now();
    let wasm = read_inside(guests_dir, &source.wasm_path)?;
    let digest = artifact::digest(&wasm);
    if let Some(pin) = &source.spec.sha256 {
        let actual = artifact::hex(&digest);
        if !actual.eq_ignore_ascii_case(pin) {
            bail!(
                "sha256 mismatch for {}: manifest pins {pin}, file has {actual}",
                source.wasm_path.display()
            );
        }
    }

    let hashed = started.elapsed();
    let (component, origin) = obtain_component(engine, cache_dir, source, &wasm, &digest)?;
    let obtained = started.elapsed();
    let pre = guest_check::check(engine, linker, &component)?;
    let elapsed = started.elapsed();
    tracing::debug!(
        guest = %source.name,
        read_and_hash_ms = hashed.as_secs_f64() * 1e3,
        code_ms = (obtained - hashed).as_secs_f64() * 1e3,
        check_ms = (elapsed - obtained).as_secs_f64() * 1e3,
        "guest loaded"
    );
    Ok(LoadedGuest {
        pre,
        origin,
        elapsed,
    })
}

fn obtain_component(
    engine: &Engine,
    cache_dir: &Path,
    source: &GuestSource,
    wasm: &[u8],
    digest: &artifact::WasmDigest,
) -> Result<(Component, LoadOrigin)> {
    let beside = source.cwasm_path();
    if beside.exists() {
        match artifact::load(engine, &beside, digest) {
            Ok(component) => return Ok((component, LoadOrigin::Precompiled)),
            Err(error) => {
                tracing::warn!(guest = %source.name, "ignoring precompiled artifact: {error:#}")
            }
        }
    }
    let cached = artifact::cache_path(cache_dir, engine, digest);
    if cached.exists() {
        match artifact::load(engine, &cached, digest) {
            Ok(component) => return Ok((component, LoadOrigin::Cache)),
            Err(error) => {
                tracing::warn!(guest = %source.name, "ignoring cached artifact: {error:#}")
            }
        }
    }
    let (component, bytes) = artifact::compile(engine, wasm, digest)
        .with_context(|| format!("{} is not a valid component", source.wasm_path.display()))?;
    if let Err(error) = artifact::store(&cached, &bytes) {
        // A read-only or full /tmp only costs the next cold start a compile.
        tracing::warn!(guest = %source.name, "could not cache the compiled guest: {error:#}");
    }
    Ok((component, LoadOrigin::Compiled))
}

/// Reads a file that must resolve (through any symlinks) to a place inside
/// `dir` (guests and models folders alike).
///
/// # Errors
/// The file is missing, unreadable, or resolves outside `dir`.
pub fn read_inside(dir: &Path, path: &Path) -> Result<Vec<u8>> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let real = path
        .canonicalize()
        .with_context(|| format!("file {} not found", path.display()))?;
    if !real.starts_with(&root) {
        bail!(
            "{} resolves to {}, outside the folder {}",
            path.display(),
            real.display(),
            root.display()
        );
    }
    fs::read(&real).with_context(|| format!("reading {}", real.display()))
}
