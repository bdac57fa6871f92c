//! `releases s3://…` lists the releases at a location; `rollback s3://…
//! RELEASE` makes an earlier one current again; `refresh --sign KEY s3://…`
//! signs the current pointer anew (see `releases/pointer_signature.rs`).

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::pointer_writer::{self, CurrentPointer, PointerTarget, write_pointer};

use crate::releases::client::{S3, S3ErrorKind};
use crate::releases::location::S3Location;
use crate::releases::manifest::{Pointer, ReleaseManifest, is_release_id};
use crate::releases::signing::{self, SignatureFile};

/// A runtime for a command's S3 calls.
pub(crate) fn command_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting a tokio runtime")
}

/// The current pointer at `s3`, if there is one.
///
/// # Errors
/// S3 failed, or the pointer is malformed.
pub(crate) async fn read_pointer(s3: &S3) -> Result<Option<Pointer>> {
    Ok(CurrentPointer::read(s3, false).await?.pointer)
}

/// Reads a release's manifest.
///
/// # Errors
/// Missing or malformed.
pub(crate) async fn read_release(s3: &S3, id: &str) -> Result<(ReleaseManifest, Vec<u8>)> {
    let key = s3.location.release_key(id);
    let (bytes, _) = s3.get(&key).await?;
    let manifest = ReleaseManifest::parse(&bytes).with_context(|| s3.location.url_of(&key))?;
    Ok((manifest, bytes.to_vec()))
}

/// Prints the releases, oldest first, marking the current one.
///
/// # Errors
/// Bad address, S3 failed.
pub fn list(to: &str) -> Result<()> {
    let location = S3Location::parse(to)?;
    let s3 = S3::from_env(&location)?;
    command_runtime()?.block_on(async {
        let pointer = read_pointer(&s3).await?;
        if let Some(pointer) = &pointer {
            println!(
                "current: {} ({})",
                pointer.release,
                pointer_writer::describe(pointer)
            );
        }
        let current = pointer.map(|p| p.release);
        let keys = s3.list(&location.releases_prefix()).await?;
        let mut ids: Vec<String> = keys
            .iter()
            .filter_map(|k| {
                k.rsplit('/')
                    .next()?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .collect();
        ids.sort();
        if ids.is_empty() {
            println!("no releases at {location}");
        }
        for id in &ids {
            let signed = keys.iter().any(|k| k.ends_with(&format!("/{id}.sig")));
            let summary = match read_release(&s3, id).await {
                Ok((m, _)) => format!(
                    "{}  {} guests, {} models{}",
                    m.created,
                    m.contents.guests.len(),
                    m.contents.models.len(),
                    if signed { ", signed" } else { "" }
                ),
                Err(e) => format!("unreadable: {e:#}"),
            };
            let mark = if current.as_deref() == Some(id.as_str()) {
                "* "
            } else {
                "  "
            };
            println!("{mark}{id}  {summary}");
        }
        Ok(())
    })
}

/// Points `current` at `release`: with `sign`, a signed pointer with the
/// next sequence, which warm environments with trusted keys follow (they
/// refuse an unsigned one, and any pointer with a lower sequence).
///
/// # Errors
/// Bad address or id, no such release, unreadable key, S3 failed.
pub fn rollback(to: &str, release: &str, sign: Option<&Path>) -> Result<()> {
    if !is_release_id(release) {
        bail!("`{release}` is not a release id (see `wasm-lambda-host releases {to}`)");
    }
    let location = S3Location::parse(to)?;
    let key = sign.map(signing::read_signing_key).transpose()?;
    let s3 = S3::from_env(&location)?;
    command_runtime()?.block_on(async {
        let before = CurrentPointer::read(&s3, true).await?;
        let (manifest, bytes) = read_release(&s3, release)
            .await
            .with_context(|| format!("no release {release} at {location}"))?;
        let signature = read_signature(&s3, &manifest.id).await?;
        let target = PointerTarget {
            release: &manifest.id,
            manifest: &bytes,
            signature,
        };
        let written = write_pointer(&s3, target, key.as_ref(), &before).await?;
        println!(
            "current release at {location}: {} (was {}); {}",
            manifest.id,
            before
                .pointer
                .map_or_else(|| "none".to_owned(), |p| p.release),
            pointer_writer::describe(&written)
        );
        Ok(())
    })
}

/// Signs the current pointer again with the time now and the next
/// sequence, naming the same release: no environment reloads anything,
/// and hosts with `WASM_LAMBDA_RELEASE_MAX_AGE` keep taking it. Run on a
/// schedule shorter than that limit.
///
/// # Errors
/// Bad address, unreadable key, nothing published, a current pointer that
/// is not the newest signed one ([`pointer_writer::check_refreshable`]),
/// S3 failed.
pub fn refresh(to: &str, sign: &Path) -> Result<()> {
    let location = S3Location::parse(to)?;
    let key = signing::read_signing_key(sign)?;
    let s3 = S3::from_env(&location)?;
    command_runtime()?.block_on(async {
        let read = CurrentPointer::read(&s3, false).await?;
        let Some(current) = read.pointer.clone() else {
            bail!("nothing to refresh: no release was published to {location}");
        };
        pointer_writer::check_refreshable(&s3, &current, &key).await?;
        if current.signature.is_none() {
            eprintln!(
                "warning: release {} itself is not signed: hosts with WASM_LAMBDA_TRUSTED_KEYS \
                 refuse it whatever its pointer says (publish it again with --sign)",
                current.release
            );
        }
        let target = PointerTarget {
            release: &current.release,
            manifest: current.manifest.as_bytes(),
            signature: current.signature.clone(),
        };
        let written = write_pointer(&s3, target, Some(&key), &read).await?;
        println!(
            "refreshed the pointer at {location}: release {} (unchanged), {}",
            written.release,
            pointer_writer::describe(&written)
        );
        Ok(())
    })
}

/// A release's stored signature, if it has one.
async fn read_signature(s3: &S3, id: &str) -> Result<Option<SignatureFile>> {
    match s3.get(&s3.location.signature_key(id)).await {
        Ok((bytes, _)) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("the signature of release {id}")
            })?))
        }
        Err(e) if e.kind == S3ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
