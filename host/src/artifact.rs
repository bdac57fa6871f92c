//! Compiled guest artifacts (`.cwasm`): their file format and the content-keyed cache.
//!
//! An artifact is wasmtime's serialized component followed by a small trailer:
//!
//! ```text
//! wasmtime bytes | sha256 of the source .wasm | engine fingerprint (u64 LE) | b"WLCWASM1"
//! ```
//!
//! Deserializing is only sound for bytes wasmtime produced with the same
//! configuration, and an artifact is only right for the `.wasm` it was made
//! from; the trailer lets us check both before handing the file to wasmtime.
//! It is a trailer, not a header, so wasmtime can map the file directly
//! (`deserialize_file`) instead of copying it: that is most of a cold start.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::engine::engine_fingerprint;

const MAGIC: &[u8; 8] = b"WLCWASM1";
const TRAILER_LEN: usize = 32 + 8 + 8;

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
    let mut artifact = serialized;
    artifact.extend_from_slice(source);
    artifact.extend_from_slice(&engine_fingerprint(engine).to_le_bytes());
    artifact.extend_from_slice(MAGIC);
    Ok((component, artifact))
}

/// Loads an artifact file if it was made by this host's engine configuration
/// from exactly the `.wasm` whose digest is `source`.
///
/// # Errors
/// Missing, truncated, foreign, stale or corrupt artifacts are errors; the
/// caller falls back to compiling.
pub fn load(engine: &Engine, path: &Path, source: &WasmDigest) -> Result<Component> {
    let trailer = read_trailer(path)?;
    if &trailer[40..] != MAGIC {
        bail!(
            "{} is not an artifact made by wasm-lambda-host precompile",
            path.display()
        );
    }
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&trailer[32..40]);
    if u64::from_le_bytes(fingerprint) != engine_fingerprint(engine) {
        bail!(
            "{} was compiled by another host build or engine configuration",
            path.display()
        );
    }
    if &trailer[..32] != source {
        bail!("{} was compiled from a different .wasm", path.display());
    }
    // SAFETY: the trailer shows this file came from `compile` above, run by
    // a host with this exact engine configuration, from this exact `.wasm`;
    // wasmtime also checks its own header and version. Artifacts are written
    // by rename and never modified in place, so the mapping stays valid.
    let component = unsafe { Component::deserialize_file(engine, path) }
        .map_err(anyhow::Error::from)
        .with_context(|| format!("deserializing {}", path.display()))?;
    Ok(component)
}

fn read_trailer(path: &Path) -> Result<[u8; TRAILER_LEN]> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let length = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if length < TRAILER_LEN as u64 {
        bail!("{} is too short to be an artifact", path.display());
    }
    let mut trailer = [0u8; TRAILER_LEN];
    file.seek(SeekFrom::End(-(TRAILER_LEN as i64)))
        .and_then(|_| file.read_exact(&mut trailer))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(trailer)
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
    fs::rename(&temp, path)
        .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))?;
    Ok(())
}

/// Where the cache keeps the artifact for a given `.wasm`.
pub fn cache_path(cache_dir: &Path, engine: &Engine, source: &WasmDigest) -> PathBuf {
    cache_dir.join(format!(
        "{}-{:016x}.cwasm",
        hex(source),
        engine_fingerprint(engine)
    ))
}
