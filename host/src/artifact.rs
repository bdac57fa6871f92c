//! Compiled guest artifacts (`.cwasm`): their file format and the content-keyed cache.
//!
//! An artifact is wasmtime's serialized component behind a small header:
//!
//! ```text
//! b"WLCWASM1" | engine fingerprint (u64 LE) | sha256 of the source .wasm | wasmtime bytes
//! ```
//!
//! Deserializing is only sound for bytes wasmtime produced with the same
//! configuration, and an artifact is only right for the `.wasm` it was made
//! from; the header lets us check both before handing bytes to wasmtime.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::engine::engine_fingerprint;

const MAGIC: &[u8; 8] = b"WLCWASM1";
const HEADER_LEN: usize = 8 + 8 + 32;

/// sha256 of a guest's `.wasm` bytes.
pub type WasmDigest = [u8; 32];

/// Hashes `.wasm` bytes.
pub fn digest(wasm: &[u8]) -> WasmDigest {
    Sha256::digest(wasm).into()
}

/// Lowercase hex of a digest, as used in manifests and cache file names.
pub fn hex(digest: &WasmDigest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiles `.wasm` bytes and returns the component with its artifact bytes.
///
/// # Errors
/// The bytes are not a valid component for this engine.
pub fn compile(engine: &Engine, wasm: &[u8], source: &WasmDigest) -> Result<(Component, Vec<u8>)> {
    let component = Component::new(engine, wasm)?;
    let serialized = component.serialize()?;
    let mut artifact = Vec::with_capacity(HEADER_LEN + serialized.len());
    artifact.extend_from_slice(MAGIC);
    artifact.extend_from_slice(&engine_fingerprint(engine).to_le_bytes());
    artifact.extend_from_slice(source);
    artifact.extend_from_slice(&serialized);
    Ok((component, artifact))
}

/// Loads an artifact file if it was made by this host's engine configuration
/// from exactly the `.wasm` whose digest is `source`.
///
/// # Errors
/// Missing, truncated, foreign, stale or corrupt artifacts are errors; the
/// caller falls back to compiling.
pub fn load(engine: &Engine, path: &Path, source: &WasmDigest) -> Result<Component> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        bail!("{} is not an artifact made by wasm-lambda-host precompile", path.display());
    }
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&bytes[8..16]);
    if u64::from_le_bytes(fingerprint) != engine_fingerprint(engine) {
        bail!("{} was compiled by another host build or engine configuration", path.display());
    }
    if &bytes[16..48] != source {
        bail!("{} was compiled from a different .wasm", path.display());
    }
    // SAFETY: the header shows these bytes came from `compile` above, run by
    // a host with this exact engine configuration, from this exact `.wasm`.
    // wasmtime additionally checks its own header and version on deserialize.
    let component = unsafe { Component::deserialize(engine, &bytes[HEADER_LEN..]) }
        .map_err(anyhow::Error::from)
        .with_context(|| format!("deserializing {}", path.display()))?;
    Ok(component)
}

/// Writes an artifact atomically (temp file, then rename), so a reader never
/// sees half a file even if two processes share the cache.
///
/// # Errors
/// The directory cannot be created or written.
pub fn store(path: &Path, artifact: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&temp, artifact).with_context(|| format!("writing {}", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("renaming {} to {}", temp.display(), path.display()))?;
    Ok(())
}

/// Where the cache keeps the artifact for a given `.wasm`.
pub fn cache_path(cache_dir: &Path, engine: &Engine, source: &WasmDigest) -> PathBuf {
    cache_dir.join(format!("{}-{:016x}.cwasm", hex(source), engine_fingerprint(engine)))
}
