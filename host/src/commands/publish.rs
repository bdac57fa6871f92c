//! `publish [--sign KEY] DIR s3://BUCKET/PREFIX/ [--models DIR]`: checks
//! every guest (and model), precompiles each guest for both Lambda
//! architectures, uploads what the bucket does not have yet under its
//! sha256, then writes the release manifest, its signature and, last, the
//! pointer, so readers see the old release or the whole new one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;

use super::progress::Progress;
use super::releases::{command_runtime, read_pointer};
use crate::guests::artifact;
use crate::guests::check::check;
use crate::guests::engine::{Arch, compile_engine, shared_engine};
use crate::guests::linker::guest_linker;
use crate::guests::loader;
use crate::models::manifest::ModelManifest;
use crate::models::store::{self, ModelStore};
use crate::releases::client::S3;
use crate::releases::location::S3Location;
use crate::releases::manifest::{
    ObjectRef, Pointer, ReleaseContents, ReleaseGuest, ReleaseManifest, ReleaseModel, changes,
};
use crate::releases::signing;
use crate::sources::folder::read_inside;

/// Both Lambda architectures: every release carries code for each.
const ARCHITECTURES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

/// Uploads in flight at once.
const PARALLEL_UPLOADS: usize = 8;

/// A checked guest: its release entry and the bytes of its objects.
type CheckedGuest = (ReleaseGuest, Vec<Vec<u8>>);

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
    let progress = Progress::new(sources.len() as u64 * 2);

    // Check and precompile every guest (in parallel).
    let engine = shared_engine()?;
    let linker = guest_linker(&engine)?;
    let compilers: Vec<(Arch, wasmtime::Engine)> = ARCHITECTURES
        .iter()
        .map(|&arch| compile_engine(arch).map(|engine| (arch, engine)))
        .collect::<Result<_>>()?;
    let built: Vec<Result<CheckedGuest, String>> = sources
        .par_iter()
        .map(|source| {
            let (wasm, digest) = loader::read_pinned(dir, source).map_err(|e| format!("{e:#}"))?;
            let component = wasmtime::component::Component::new(&engine, &wasm)
                .map_err(|e| format!("not a valid component: {e:#}"))?;
            check(&engine, &linker, &component).map_err(|e| format!("{e:#}"))?;
            progress.step(format!("checked {}", source.name));
            let mut cwasm = BTreeMap::new();
            let mut blobs = Vec::new();
            for (arch, compiler) in &compilers {
                let bytes = artifact::precompile(compiler, *arch, &wasm, &digest, None)
                    .map_err(|e| format!("precompiling for {arch}: {e:#}"))?;
                cwasm.insert(arch.as_str().to_owned(), ObjectRef::of(&bytes));
                blobs.push(bytes);
            }
            progress.step(format!("compiled {} for x86_64 and aarch64", source.name));
            let file = source
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let guest = ReleaseGuest {
                name: source.name.clone(),
                file,
                wasm: ObjectRef::of(&wasm),
                cwasm,
            };
            blobs.push(wasm);
            Ok((guest, blobs))
        })
        .collect();
    let mut guests = Vec::new();
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    let mut refused = Vec::new();
    for (source, result) in sources.iter().zip(built) {
        match result {
            Ok((guest, bytes)) => {
                guests.push(guest);
                blobs.extend(bytes);
            }
            Err(reason) => refused.push(format!("guest {}: {reason}", source.name)),
        }
    }
    let guests_toml = read_optional(&dir.join("guests.toml"))?;

    // Models: this folder's, or the current release's carried over.
    let runtime = command_runtime()?;
    // The pointer carries the current release's manifest (checked against
    // its sha256 when parsed).
    let previous = runtime
        .block_on(read_pointer(&s3))?
        .map(|pointer| ReleaseManifest::parse(pointer.manifest.as_bytes()))
        .transpose()?;
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
    runtime.block_on(async {
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
        let pointer = Pointer::to(&release.id, &manifest_bytes, signature);
        s3.put(&location.pointer_key(), pointer.to_bytes()).await?;
        anyhow::Ok(())
    })?;
    progress.finish();
    println!("release {} is current at {location}", release.id);
    for line in changes(previous.as_ref().map(|p| &p.contents), &release.contents) {
        println!("  {line}");
    }
    println!(
        "uploaded {uploaded} objects ({uploaded_bytes} bytes), {present} already there; {}; {:.1} s",
        if signing_key.is_some() {
            "signed"
        } else {
            "not signed"
        },
        started.elapsed().as_secs_f64()
    );
    Ok(true)
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
