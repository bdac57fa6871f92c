//! `publish [--sign KEY] DIR s3://BUCKET/PREFIX/ [--models DIR]`: checks
//! every guest (and model), precompiles each guest for both Lambda
//! architectures (or reuses the current release's code for a `.wasm` it
//! already holds: `releases/reuse.rs`), uploads what the bucket does not
//! have yet under its sha256, then writes the release manifest, its
//! signature and, last, the pointer, so readers see the old release or the
//! whole new one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;

use super::pointer_writer::{self, CurrentPointer, PointerTarget, write_pointer};
use super::progress::Progress;
use super::releases::command_runtime;
use crate::guests::artifact;
use crate::guests::check::check;
use crate::guests::engine::{Arch, compile_engine, shared_engine};
use crate::guests::linker::guest_linker;
use crate::guests::loader::{self, GuestSource};
use crate::guests::state::GuestState;
use crate::models::manifest::ModelManifest;
use crate::models::store::{self, ModelStore};
use crate::releases::client::S3;
use crate::releases::location::S3Location;
use crate::releases::manifest::{
    ObjectRef, ReleaseContents, ReleaseGuest, ReleaseManifest, ReleaseModel, changes,
};
use crate::releases::reuse::{self, Code, ReusePlan};
use crate::releases::signing;
use crate::sources::folder::read_inside;
use crate::sources::pin::{self, Sha256Digest};

/// Both Lambda architectures: every release carries code for each.
const ARCHITECTURES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

/// Uploads in flight at once.
const PARALLEL_UPLOADS: usize = 8;

/// A checked guest: its release entry, the bytes of the objects it adds,
/// and where its compiled code came from.
struct BuiltGuest {
    entry: ReleaseGuest,
    blobs: Vec<Vec<u8>>,
    code: CodeReport,
}

/// Where one guest's compiled code came from, for the output.
#[derive(Default)]
struct CodeReport {
    reused: Vec<Arch>,
    compiled: Vec<(Arch, String)>,
}

impl CodeReport {
    /// `reused from release ID (x86_64, aarch64)` / `compiled for x86_64
    /// (new .wasm)`, or both.
    fn describe(&self, release: Option<&str>) -> String {
        let archs = |list: &mut dyn Iterator<Item = &Arch>| {
            list.map(|arch| arch.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !self.reused.is_empty() {
            parts.push(format!(
                "reused from release {} ({})",
                release.unwrap_or("-"),
                archs(&mut self.reused.iter())
            ));
        }
        if !self.compiled.is_empty() {
            let mut reasons: Vec<&str> = self.compiled.iter().map(|(_, r)| r.as_str()).collect();
            reasons.dedup();
            parts.push(format!(
                "compiled for {} ({})",
                archs(&mut self.compiled.iter().map(|(arch, _)| arch)),
                reasons.join("; ")
            ));
        }
        parts.join("; ")
    }
}

/// What building a guest's part of the release needs.
struct GuestTools<'a> {
    engine: &'a wasmtime::Engine,
    linker: &'a wasmtime::component::Linker<GuestState>,
    compilers: &'a [(Arch, wasmtime::Engine)],
    reuse: &'a ReusePlan,
    progress: &'a Progress,
}

/// The models part of a release and the bytes of its objects.
struct ModelsPart {
    manifest: Option<ObjectRef>,
    models: Vec<ReleaseModel>,
    blobs: Vec<Vec<u8>>,
}

/// What `publish` was asked to do.
pub struct PublishRequest<'a> {
    /// Guests folder.
    pub dir: &'a Path,
    /// `s3://BUCKET/PREFIX/`.
    pub to: &'a str,
    /// Models folder; without it the current release's models carry over.
    pub models: Option<&'a Path>,
    /// Secret key to sign the release with.
    pub sign: Option<&'a Path>,
}

/// Publishes; returns `false` (nothing uploaded) if a guest or model
/// failed its checks.
///
/// # Errors
/// Unreadable folders or key, bad address, S3 failures.
pub fn publish(request: &PublishRequest<'_>) -> Result<bool> {
    let started = Instant::now();
    let location = S3Location::parse(request.to)?;
    let signing_key = request.sign.map(signing::read_signing_key).transpose()?;
    let s3 = S3::from_env(&location)?;
    let dir = request.dir;
    let manifest = loader::read_manifest(dir)?;
    let sources = loader::discover(dir, &manifest)?;
    if sources.is_empty() {
        bail!("no guests (*.wasm) in {}", dir.display());
    }
    let runtime = command_runtime()?;
    // The current release: its models carry over without `--models`, and
    // its compiled code is reused where it fits. The pointer carries its
    // manifest (checked against its sha256 when parsed).
    let current = runtime.block_on(CurrentPointer::read(&s3, false))?;
    let pointer = current.pointer.as_ref();
    let previous = pointer
        .map(|pointer| ReleaseManifest::parse(pointer.manifest.as_bytes()))
        .transpose()?;
    let progress = Progress::new(sources.len() as u64 * 2);

    // Read every guest, then check and precompile (in parallel) those
    // whose code the current release cannot lend.
    let engine = shared_engine()?;
    let linker = guest_linker(&engine)?;
    let compilers: Vec<(Arch, wasmtime::Engine)> = ARCHITECTURES
        .iter()
        .map(|&arch| compile_engine(arch).map(|engine| (arch, engine)))
        .collect::<Result<_>>()?;
    let read: Vec<Result<(Vec<u8>, Sha256Digest), String>> = sources
        .par_iter()
        .map(|source| loader::read_pinned(dir, source).map_err(|e| format!("{e:#}")))
        .collect();
    let wanted: Vec<String> = read
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|(_, digest)| pin::hex(digest))
        .collect();
    let reuse = runtime.block_on(reuse::plan(
        &s3,
        pointer.zip(previous.as_ref()),
        signing_key.as_ref(),
        &wanted,
        &compilers,
    ));
    let tools = GuestTools {
        engine: &engine,
        linker: &linker,
        compilers: &compilers,
        reuse: &reuse,
        progress: &progress,
    };
    let built: Vec<Result<BuiltGuest, String>> = sources
        .par_iter()
        .zip(read)
        .map(|(source, read)| build_guest(&tools, source, read?))
        .collect();
    let mut guests = Vec::new();
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    let mut code_lines = Vec::new();
    let mut refused = Vec::new();
    for (source, result) in sources.iter().zip(built) {
        match result {
            Ok(built) => {
                code_lines.push(format!(
                    "code of guest {}: {}",
                    source.name,
                    built.code.describe(reuse.release())
                ));
                guests.push(built.entry);
                blobs.extend(built.blobs);
            }
            Err(reason) => refused.push(format!("guest {}: {reason}", source.name)),
        }
    }
    let guests_toml = read_optional(&dir.join("guests.toml"))?;

    // Models: this folder's, or the current release's carried over.
    let (models_manifest, models) = match request.models {
        Some(models_dir) => {
            let part = read_models(models_dir, &mut refused)?;
            blobs.extend(part.blobs);
            (part.manifest, part.models)
        }
        None => {
            let carried = previous
                .as_ref()
                .map(|p| p.contents.clone())
                .unwrap_or_default();
            if !carried.models.is_empty() {
                progress.note(format!(
                    "no --models: keeping the current release's {} models",
                    carried.models.len()
                ));
            }
            (carried.models_manifest, carried.models)
        }
    };
    if !refused.is_empty() {
        progress.finish();
        for line in &refused {
            eprintln!("error: {line}");
        }
        eprintln!(
            "release refused: {} failed their checks; nothing was uploaded",
            refused.len()
        );
        return Ok(false);
    }
    let mut contents = ReleaseContents {
        guests_manifest: guests_toml.as_ref().map(|b| ObjectRef::of(b)),
        guests,
        models_manifest,
        models,
    };
    contents.guests.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(bytes) = guests_toml {
        blobs.push(bytes);
    }
    if let Some(previous) = &previous
        && previous.contents == contents
    {
        progress.finish();
        print_lines(&code_lines);
        println!(
            "nothing changed: release {} stays current at {location}; nothing uploaded",
            previous.id
        );
        return Ok(true);
    }

    // Upload what the bucket lacks, then the manifest, signature, pointer.
    let release = ReleaseManifest::new(contents, previous.as_ref().map(|p| p.id.clone()));
    let (uploaded, uploaded_bytes, present) =
        runtime.block_on(upload_missing(&s3, blobs, &progress))?;
    let manifest_bytes = release.to_bytes();
    let written = runtime.block_on(async {
        s3.put(&location.release_key(&release.id), manifest_bytes.clone())
            .await?;
        let signature = signing_key
            .as_ref()
            .map(|key| signing::sign(key, &manifest_bytes));
        if let Some(signature) = &signature {
            s3.put(
                &location.signature_key(&release.id),
                serde_json::to_vec(signature)?,
            )
            .await?;
        }
        let target = PointerTarget {
            release: &release.id,
            manifest: &manifest_bytes,
            signature,
        };
        write_pointer(&s3, target, signing_key.as_ref(), &current).await
    })?;
    progress.finish();
    println!("release {} is current at {location}", release.id);
    print_lines(&changes(
        previous.as_ref().map(|p| &p.contents),
        &release.contents,
    ));
    print_lines(&code_lines);
    println!(
        "uploaded {uploaded} objects ({uploaded_bytes} bytes), {present} already there; {}, {}; {:.1} s",
        if signing_key.is_some() {
            "signed"
        } else {
            "not signed"
        },
        pointer_writer::describe(&written),
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}

/// A guest's entry in the release: its `.wasm` and, per architecture, the
/// current release's code where that fits, else code compiled here (after
/// checking the guest as `check` does).
fn build_guest(
    tools: &GuestTools<'_>,
    source: &GuestSource,
    (wasm, digest): (Vec<u8>, Sha256Digest),
) -> Result<BuiltGuest, String> {
    let wasm_ref = ObjectRef::of(&wasm);
    let plan: Vec<Code> = tools
        .compilers
        .iter()
        .map(|(arch, _)| tools.reuse.code(&wasm_ref.sha256, *arch))
        .collect();
    // A guest whose code is all reused is these very bytes, checked when
    // the release holding them was published by a host of this version and
    // engine configuration (its objects' trailers say so): checking means
    // compiling, seconds for a Python guest.
    if plan.iter().any(|code| matches!(code, Code::Compile(_))) {
        let component = wasmtime::component::Component::new(tools.engine, &wasm)
            .map_err(|e| format!("not a valid component: {e:#}"))?;
        check(tools.engine, tools.linker, &component).map_err(|e| format!("{e:#}"))?;
        tools.progress.step(format!("checked {}", source.name));
    } else {
        tools
            .progress
            .step(format!("{}: the current release holds it", source.name));
    }
    let mut cwasm = BTreeMap::new();
    let mut blobs = Vec::new();
    let mut code = CodeReport::default();
    for ((arch, compiler), planned) in tools.compilers.iter().zip(plan) {
        let object = match planned {
            Code::Reuse(object) => {
                code.reused.push(*arch);
                object
            }
            Code::Compile(reason) => {
                let bytes = artifact::precompile(compiler, *arch, &wasm, &digest, None)
                    .map_err(|e| format!("precompiling for {arch}: {e:#}"))?;
                code.compiled.push((*arch, reason));
                let object = ObjectRef::of(&bytes);
                blobs.push(bytes);
                object
            }
        };
        cwasm.insert(arch.as_str().to_owned(), object);
    }
    tools.progress.step(format!(
        "{}: {}",
        source.name,
        code.describe(tools.reuse.release())
    ));
    let file = source
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    blobs.push(wasm);
    Ok(BuiltGuest {
        entry: ReleaseGuest {
            name: source.name.clone(),
            file,
            wasm: wasm_ref,
            cwasm,
        },
        blobs,
        code,
    })
}

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("  {line}");
    }
}

/// Reads and loads every model of `dir` (as init would); failures go to
/// `refused`.
fn read_models(dir: &Path, refused: &mut Vec<String>) -> Result<ModelsPart> {
    let (_, reports) = ModelStore::load_dir(dir).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for report in reports.iter().filter(|r| r.outcome.is_err()) {
        refused.push(format!("model {}", report.summary()));
    }
    let manifest = ModelManifest::read(dir)?;
    let mut models = Vec::new();
    let mut blobs = Vec::new();
    for source in store::discover(dir, &manifest)? {
        let Ok(bytes) = read_inside(dir, &source.path) else {
            continue; // already refused above
        };
        let file = source
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        models.push(ReleaseModel {
            name: source.name,
            file,
            onnx: ObjectRef::of(&bytes),
        });
        blobs.push(bytes);
    }
    let models_toml = read_optional(&dir.join("models.toml"))?;
    let manifest = models_toml.as_ref().map(|b| ObjectRef::of(b));
    blobs.extend(models_toml);
    Ok(ModelsPart {
        manifest,
        models,
        blobs,
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Uploads each blob the bucket does not have under its sha256; returns
/// (objects uploaded, bytes uploaded, objects already there).
async fn upload_missing(
    s3: &S3,
    blobs: Vec<Vec<u8>>,
    progress: &Progress,
) -> Result<(u64, u64, u64)> {
    let mut unique: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for blob in blobs {
        unique.entry(ObjectRef::of(&blob).sha256).or_insert(blob);
    }
    progress.add_steps(unique.len() as u64);
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_UPLOADS));
    let mut tasks = tokio::task::JoinSet::new();
    for (sha, blob) in unique {
        let s3 = s3.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let key = s3.location.object_key(&sha);
            let size = blob.len() as u64;
            if s3.size_of(&key).await? == Some(size) {
                return anyhow::Ok((sha, None));
            }
            s3.put(&key, blob).await?;
            anyhow::Ok((sha, Some(size)))
        });
    }
    let (mut uploaded, mut bytes, mut present) = (0, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let (sha, sent) = done??;
        match sent {
            Some(size) => {
                uploaded += 1;
                bytes += size;
                progress.step(format!("uploaded {} ({size} bytes)", &sha[..12]));
            }
            None => {
                present += 1;
                progress.step(format!("already there: {}", &sha[..12]));
            }
        }
    }
    Ok((uploaded, bytes, present))
}
