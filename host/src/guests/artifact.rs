//! Compiled guest artifacts (`.cwasm`): their file format and the content-keyed cache.
//!
//! An artifact is wasmtime's serialized component followed by a trailer:
//!
//! ```text
//! wasmtime bytes | sha256 of the source .wasm (32) | engine fingerprint (u64 LE)
//!                | architecture (1) | host version (15, zero-padded)
//!                | source stamp: size (u64 LE), mtime ns (u64 LE) | b"WLCWASM3"
//! ```
//!
//! (Format 2, still read, has no source stamp.)
//!
//! Deserializing is only sound for bytes wasmtime produced with the same
//! configuration, and an artifact is only right for the `.wasm` it was made
//! from; the trailer lets us check both, and say which one failed, before
//! handing the file to wasmtime. It is a trailer, not a header, so wasmtime
//! can map the file directly (`deserialize_file`) instead of copying it:
//! that is most of a cold start.
//!
//! The source stamp lets init skip reading and hashing the `.wasm` when the
//! file is the very one `precompile` read (same size and modification time,
//! the test `make` and git's index use): a Python guest's `.wasm` is 18 MB,
//! and hashing it was most of that guest's cold start.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::engine::{Arch, engine_fingerprint};
use crate::sources::pin::{Sha256Digest, hex};

const MAGIC: &[u8; 8] = b"WLCWASM3";
/// The second format's magic: no source stamp.
const MAGIC_V2: &[u8; 8] = b"WLCWASM2";
/// The first format's magic: no architecture or host version recorded.
const MAGIC_V1: &[u8; 8] = b"WLCWASM1";
const VERSION_LEN: usize = 15;
/// Source digest, fingerprint, architecture, version: both formats.
const COMMON_LEN: usize = 32 + 8 + 1 + VERSION_LEN;
const STAMP_LEN: usize = 16;
const TRAILER_LEN: usize = COMMON_LEN + STAMP_LEN + 8;
/// The most bytes from an artifact's end that [`inspect_tail`] needs.
pub const TAIL_LEN: usize = TRAILER_LEN;
const TRAILER_V2_LEN: usize = COMMON_LEN + 8;
const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why an artifact present on disk was not used (the guest is compiled
/// instead). Shown in the init log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Made for the other Lambda architecture.
    #[error("it was compiled for {artifact}, this host runs {host}")]
    OtherArchitecture {
        /// The artifact's architecture.
        artifact: String,
        /// This host's.
        host: String,
    },
    /// Made by another release of wasm-lambda-host.
    #[error("it was made by wasm-lambda-host {artifact}, this is {HOST_VERSION}")]
    OtherHostVersion {
        /// The version that made it.
        artifact: String,
    },
    /// Made under another engine configuration or CPU baseline.
    #[error("it was compiled under another engine configuration ({0})")]
    OtherEngine(String),
    /// Made from other `.wasm` bytes.
    #[error("it was compiled from a different .wasm")]
    OtherWasm,
    /// Not an artifact, cut short, or corrupt.
    #[error("it is damaged or not an artifact: {0}")]
    Damaged(String),
}

/// Which `.wasm` file an artifact was made from, cheaply: its size and
/// modification time. Equal stamps mean the file was not rewritten since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStamp {
    /// File size in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the Unix epoch (never 0).
    pub modified_ns: u64,
}

impl SourceStamp {
    /// The stamp of the file at `path` (`None` when the file system keeps
    /// no usable modification time).
    pub fn of(path: &Path) -> Option<Self> {
        let metadata = fs::metadata(path).ok()?;
        let modified = metadata.modified().ok()?;
        let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
        let modified_ns = u64::try_from(since_epoch.as_nanos()).ok()?;
        (modified_ns != 0).then_some(Self {
            len: metadata.len(),
            modified_ns,
        })
    }
}

/// Compiles `.wasm` bytes and returns the component with its artifact bytes.
///
/// `arch` is what `engine` compiles for (`None`: a CPU Lambda does not have).
///
/// # Errors
/// The bytes are not a valid component for this engine.
pub fn compile(
    engine: &Engine,
    arch: Option<Arch>,
    wasm: &[u8],
    source: &Sha256Digest,
) -> Result<(Component, Vec<u8>)> {
    let component = Component::new(engine, wasm)?;
    let mut artifact = component.serialize()?;
    // Cache entries are found by digest, so they need no stamp.
    artifact.extend_from_slice(&trailer(engine, arch, source, None));
    Ok((component, artifact))
}

/// Compiles `.wasm` bytes for an engine that cannot run them (another
/// architecture): the artifact bytes only.
///
/// # Errors
/// The bytes are not a valid component.
pub fn precompile(
    engine: &Engine,
    arch: Arch,
    wasm: &[u8],
    source: &Sha256Digest,
    stamp: Option<SourceStamp>,
) -> Result<Vec<u8>> {
    let mut artifact = engine.precompile_component(wasm)?;
    artifact.extend_from_slice(&trailer(engine, Some(arch), source, stamp));
    Ok(artifact)
}

fn trailer(
    engine: &Engine,
    arch: Option<Arch>,
    source: &Sha256Digest,
    stamp: Option<SourceStamp>,
) -> Vec<u8> {
    let mut trailer = Vec::with_capacity(TRAILER_LEN);
    trailer.extend_from_slice(source);
    trailer.extend_from_slice(&engine_fingerprint(engine).to_le_bytes());
    trailer.push(arch_byte(arch));
    let mut version = [0u8; VERSION_LEN];
    let bytes = HOST_VERSION.as_bytes();
    let n = bytes.len().min(VERSION_LEN);
    version[..n].copy_from_slice(&bytes[..n]);
    trailer.extend_from_slice(&version);
    let stamp = stamp.unwrap_or(SourceStamp {
        len: 0,
        modified_ns: 0,
    });
    trailer.extend_from_slice(&stamp.len.to_le_bytes());
    trailer.extend_from_slice(&stamp.modified_ns.to_le_bytes());
    trailer.extend_from_slice(MAGIC);
    trailer
}

fn arch_byte(arch: Option<Arch>) -> u8 {
    match arch {
        None => 0,
        Some(Arch::X86_64) => 1,
        Some(Arch::Aarch64) => 2,
    }
}

fn arch_name(byte: u8) -> String {
    match byte {
        1 => Arch::X86_64.to_string(),
        2 => Arch::Aarch64.to_string(),
        0 => "a CPU below the Lambda baselines".to_owned(),
        other => format!("unknown architecture {other}"),
    }
}

/// What an artifact's trailer says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactInfo {
    /// The `.wasm` it was made from.
    pub source: Sha256Digest,
    /// The architecture its code is for (`None`: a below-baseline CPU).
    pub arch: Option<Arch>,
    /// The host version that made it.
    pub host_version: String,
    /// The engine configuration it was made under.
    pub fingerprint: u64,
    /// The source file's stamp when `precompile` read it, if recorded.
    pub stamp: Option<SourceStamp>,
}

/// Reads and checks an artifact's trailer.
///
/// # Errors
/// The file is unreadable, too short, or has no trailer of this format.
pub fn inspect(path: &Path) -> Result<ArtifactInfo, Refusal> {
    inspect_tail(&read_tail(path)?, &path.display().to_string())
}

/// Reads and checks the trailer in an artifact's last bytes (at most
/// [`TAIL_LEN`], or the whole artifact when shorter); `what` names the
/// artifact in errors.
///
/// # Errors
/// Too short, or no trailer of a format this host reads.
pub fn inspect_tail(tail: &[u8], what: &str) -> Result<ArtifactInfo, Refusal> {
    let too_short = || Refusal::Damaged(format!("{what} is too short to be an artifact"));
    if tail.len() < MAGIC.len() {
        return Err(too_short());
    }
    let magic = &tail[tail.len() - MAGIC.len()..];
    if magic == MAGIC_V1 {
        return Err(Refusal::OtherHostVersion {
            artifact: "0.1.0 (artifact format 1)".into(),
        });
    }
    let needed = if magic == MAGIC {
        TRAILER_LEN
    } else {
        TRAILER_V2_LEN
    };
    if tail.len() < needed {
        return Err(too_short());
    }
    let (trailer, stamp) = if magic == MAGIC {
        let trailer = &tail[tail.len() - TRAILER_LEN..];
        let field = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&trailer[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        let stamp = SourceStamp {
            len: field(COMMON_LEN),
            modified_ns: field(COMMON_LEN + 8),
        };
        (trailer, (stamp.modified_ns != 0).then_some(stamp))
    } else if magic == MAGIC_V2 {
        (&tail[tail.len() - TRAILER_V2_LEN..], None)
    } else {
        return Err(Refusal::Damaged(format!(
            "{what} has no wasm-lambda-host trailer"
        )));
    };
    let mut source = [0u8; 32];
    source.copy_from_slice(&trailer[..32]);
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&trailer[32..40]);
    let arch = match trailer[40] {
        0 => None,
        1 => Some(Arch::X86_64),
        2 => Some(Arch::Aarch64),
        other => return Err(Refusal::Damaged(format!("architecture byte {other}"))),
    };
    let version = &trailer[41..41 + VERSION_LEN];
    let end = version.iter().position(|b| *b == 0).unwrap_or(VERSION_LEN);
    Ok(ArtifactInfo {
        source,
        arch,
        host_version: String::from_utf8_lossy(&version[..end]).into_owned(),
        fingerprint: u64::from_le_bytes(fingerprint),
        stamp,
    })
}

/// Loads an artifact file if it was made for this host's architecture, by
/// this host version, under this engine's configuration, from exactly the
/// `.wasm` whose digest is `source`.
///
/// # Errors
/// The reason it cannot be used; the caller compiles instead.
pub fn load(
    engine: &Engine,
    arch: Option<Arch>,
    path: &Path,
    source: &Sha256Digest,
) -> Result<Component, Refusal> {
    load_usable(engine, &usable(engine, arch, path)?, source)
}

/// Loads an artifact [`usable`] accepted, if it was made from exactly the
/// `.wasm` whose digest is `source`.
///
/// # Errors
/// It was made from another `.wasm`, or wasmtime refuses it.
pub fn load_usable(
    engine: &Engine,
    artifact: &Usable,
    source: &Sha256Digest,
) -> Result<Component, Refusal> {
    if &artifact.info.source != source {
        return Err(Refusal::OtherWasm);
    }
    // SAFETY: the trailer shows this file came from `compile` above, run by
    // a host of this version with this exact engine configuration, from this
    // exact `.wasm`; wasmtime also checks its own header and version.
    // Artifacts are written by rename and never modified in place, so the
    // mapping stays valid.
    unsafe { Component::deserialize_file(engine, &artifact.path) }
        .map_err(|e| Refusal::Damaged(format!("{e:#}")))
}

/// An artifact file whose trailer names this host's architecture, version
/// and engine configuration; only [`usable`] makes one.
#[derive(Debug)]
pub struct Usable {
    path: PathBuf,
    info: ArtifactInfo,
}

impl Usable {
    /// What its trailer says.
    pub fn info(&self) -> &ArtifactInfo {
        &self.info
    }
}

/// Reads an artifact's trailer and checks everything but the `.wasm` it was
/// made from: this host's architecture, version and engine configuration.
///
/// # Errors
/// The reason this host cannot use it.
pub fn usable(engine: &Engine, arch: Option<Arch>, path: &Path) -> Result<Usable, Refusal> {
    let info = inspect(path)?;
    compatible(engine, arch, &info)?;
    Ok(Usable {
        path: path.to_path_buf(),
        info,
    })
}

/// Whether an artifact with this trailer was made for `arch` by this host
/// version under `engine`'s configuration (not which `.wasm` it came from).
///
/// # Errors
/// The first of those that differs.
pub fn compatible(engine: &Engine, arch: Option<Arch>, info: &ArtifactInfo) -> Result<(), Refusal> {
    if info.arch != arch {
        return Err(Refusal::OtherArchitecture {
            artifact: arch_name(arch_byte(info.arch)),
            host: arch_name(arch_byte(arch)),
        });
    }
    if info.host_version != HOST_VERSION {
        return Err(Refusal::OtherHostVersion {
            artifact: info.host_version.clone(),
        });
    }
    if info.fingerprint != engine_fingerprint(engine) {
        return Err(Refusal::OtherEngine(format!(
            "artifact {:016x}, this host {:016x}",
            info.fingerprint,
            engine_fingerprint(engine)
        )));
    }
    Ok(())
}

/// The last bytes of the file: the longest trailer, or the whole file when
/// shorter (at least a format-2 trailer).
fn read_tail(path: &Path) -> Result<Vec<u8>, Refusal> {
    let damaged = |e: std::io::Error| Refusal::Damaged(format!("reading {}: {e}", path.display()));
    let mut file = fs::File::open(path).map_err(damaged)?;
    let length = file.metadata().map_err(damaged)?.len();
    if length < TRAILER_V2_LEN as u64 {
        return Err(Refusal::Damaged(format!(
            "{} is too short to be an artifact",
            path.display()
        )));
    }
    let take = length.min(TRAILER_LEN as u64);
    let mut tail = vec![0u8; take as usize];
    file.seek(SeekFrom::End(-(take as i64)))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(damaged)?;
    Ok(tail)
}

/// Writes an artifact atomically: a uniquely named temporary file in the
/// same folder, then a rename, so a reader (another guest with the same
/// bytes, another process sharing the cache) never sees half a file.
///
/// # Errors
/// The directory cannot be created or written.
pub fn store(path: &Path, artifact: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".artifact-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(artifact)
        .with_context(|| format!("writing {}", temp.path().display()))?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Where the cache keeps the artifact for a given `.wasm`.
pub fn cache_path(cache_dir: &Path, engine: &Engine, source: &Sha256Digest) -> PathBuf {
    cache_dir.join(format!(
        "{}-{:016x}-{HOST_VERSION}.cwasm",
        hex(source),
        engine_fingerprint(engine)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guests::engine::compile_engine;
    use crate::sources::pin::digest;

    #[test]
    fn concurrent_stores_of_one_artifact_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("same.cwasm");
        std::thread::scope(|scope| {
            for i in 0..8u8 {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..50 {
                        store(path, &vec![i; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|b| *b == bytes[0]), "mixed writes");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "same.cwasm")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn each_refusal_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = wat::parse_str("(component)").unwrap();
        let source = digest(&wasm);
        let arm = compile_engine(Arch::Aarch64).unwrap();
        let x86 = compile_engine(Arch::X86_64).unwrap();
        let arm_path = dir.path().join("arm.cwasm");
        store(
            &arm_path,
            &precompile(&arm, Arch::Aarch64, &wasm, &source, None).unwrap(),
        )
        .unwrap();
        let refusal = load(&x86, Some(Arch::X86_64), &arm_path, &source).unwrap_err();
        assert!(
            matches!(refusal, Refusal::OtherArchitecture { .. }),
            "{refusal}"
        );
        assert_eq!(
            refusal.to_string(),
            "it was compiled for aarch64, this host runs x86_64"
        );

        let x86_path = dir.path().join("x86.cwasm");
        let bytes = precompile(&x86, Arch::X86_64, &wasm, &source, None).unwrap();
        store(&x86_path, &bytes).unwrap();
        let other = digest(b"other");
        assert_eq!(
            load(&x86, Some(Arch::X86_64), &x86_path, &other).unwrap_err(),
            Refusal::OtherWasm
        );

        let mut older = bytes.clone();
        let at = older.len() - 8 - STAMP_LEN - VERSION_LEN;
        older[at..at + 5].copy_from_slice(b"0.0.9");
        store(&x86_path, &older).unwrap();
        assert!(matches!(
            load(&x86, Some(Arch::X86_64), &x86_path, &source),
            Err(Refusal::OtherHostVersion { artifact }) if artifact.starts_with("0.0.9")
        ));

        store(
            &x86_path,
            b"not an artifact at all, but long enough to hold a trailer...",
        )
        .unwrap();
        assert!(matches!(
            load(&x86, Some(Arch::X86_64), &x86_path, &source),
            Err(Refusal::Damaged(_))
        ));
    }

    #[test]
    fn the_source_stamp_round_trips_and_format_2_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = wat::parse_str("(component)").unwrap();
        let source = digest(&wasm);
        let x86 = compile_engine(Arch::X86_64).unwrap();
        let wasm_path = dir.path().join("a.wasm");
        fs::write(&wasm_path, &wasm).unwrap();
        let stamp = SourceStamp::of(&wasm_path).expect("this file system keeps mtimes");
        assert_eq!(stamp.len, wasm.len() as u64);

        let path = dir.path().join("a.cwasm");
        let bytes = precompile(&x86, Arch::X86_64, &wasm, &source, Some(stamp)).unwrap();
        store(&path, &bytes).unwrap();
        let info = inspect(&path).unwrap();
        assert_eq!(info.stamp, Some(stamp));
        assert_eq!(info.source, source);

        // Format 2: the same trailer without the stamp.
        let mut v2 = bytes[..bytes.len() - STAMP_LEN - 8].to_vec();
        v2.extend_from_slice(MAGIC_V2);
        store(&path, &v2).unwrap();
        let info = inspect(&path).unwrap();
        assert_eq!((info.stamp, info.source), (None, source));
        assert!(load(&x86, Some(Arch::X86_64), &path, &source).is_ok());

        // No stamp recorded (publish, the cache): none comes back.
        store(
            &path,
            &precompile(&x86, Arch::X86_64, &wasm, &source, None).unwrap(),
        )
        .unwrap();
        assert_eq!(inspect(&path).unwrap().stamp, None);
    }
}
