//! `releases s3://…` lists the releases at a location; `rollback s3://…
//! RELEASE` makes an earlier one current again.

use anyhow::{Context as _, Result, bail};

use crate::releases::client::{S3, S3ErrorKind};
use crate::releases::location::S3Location;
use crate::releases::manifest::{Pointer, ReleaseManifest, is_release_id};

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
    match s3.get(&s3.location.pointer_key()).await {
        Ok((bytes, _)) => Ok(Some(Pointer::parse(&bytes)?)),
        Err(e) if e.kind == S3ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
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
        let current = read_pointer(&s3).await?.map(|p| p.release);
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

/// Points `current` at `release`.
///
/// # Errors
/// Bad address or id, no such release, S3 failed.
pub fn rollback(to: &str, release: &str) -> Result<()> {
    if !is_release_id(release) {
        bail!("`{release}` is not a release id (see `wasm-lambda-host releases {to}`)");
    }
    let location = S3Location::parse(to)?;
    let s3 = S3::from_env(&location)?;
    command_runtime()?.block_on(async {
        let before = read_pointer(&s3).await?;
        let (manifest, bytes) = read_release(&s3, release)
            .await
            .with_context(|| format!("no release {release} at {location}"))?;
        let signature = match s3.get(&location.signature_key(&manifest.id)).await {
            Ok((bytes, _)) => Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("the signature of release {}", manifest.id))?,
            ),
            Err(e) if e.kind == S3ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let pointer = Pointer::to(&manifest.id, &bytes, signature);
        s3.put(&location.pointer_key(), pointer.to_bytes()).await?;
        println!(
            "current release at {location}: {} (was {})",
            manifest.id,
            before.map_or_else(|| "none".to_owned(), |p| p.release)
        );
        Ok(())
    })
}
