//! The host's side of releases: reading the pointer and the release it
//! names (checked against its pin and, with `WASM_LAMBDA_TRUSTED_KEYS`,
//! its signature), and putting the release's objects in a local folder
//! that the guest and model loaders read like any other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::client::{S3, S3Error, S3ErrorKind};
use super::download::{self, CacheCounts, ObjectCache};
use super::location::S3Location;
use super::manifest::{ObjectRef, Pointer, ReleaseGuest, ReleaseManifest};
use super::pointer_signature::{self, AgeRefusal, Stamp};
use super::signing::TrustedKeys;
use crate::guests::engine::Arch;

/// Why a release cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseErrorKind {
    /// S3 failed (see the kind).
    S3(S3ErrorKind),
    /// No pointer: nothing was ever published there.
    NoRelease,
    /// The pointer, manifest or a manifest file is malformed or does not
    /// match its pin.
    Invalid,
    /// Not signed by a trusted key (the release or its pointer), or the
    /// pointer is dated too far in the future.
    Untrusted,
    /// With `WASM_LAMBDA_RELEASE_MAX_AGE`: the pointer was signed too long
    /// ago.
    Expired,
    /// In a warm environment: the pointer's sequence is lower than the one
    /// in use (an older pointer replayed), or equal with other contents.
    Rollback,
}

/// A release that cannot be used, and why (with the bucket and key).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ReleaseError {
    /// What went wrong.
    pub kind: ReleaseErrorKind,
    /// For people.
    pub message: String,
    /// The release refused, when the pointer named one.
    pub release: Option<String>,
}

impl From<S3Error> for ReleaseError {
    fn from(error: S3Error) -> Self {
        Self {
            kind: ReleaseErrorKind::S3(error.kind),
            message: error.message,
            release: None,
        }
    }
}

impl ReleaseError {
    fn invalid(message: String) -> Self {
        Self {
            kind: ReleaseErrorKind::Invalid,
            message,
            release: None,
        }
    }

    fn of_release(mut self, id: &str) -> Self {
        self.release = Some(id.to_owned());
        self
    }
}

/// A release read from the bucket, checked, not yet on disk.
#[derive(Debug, Clone)]
pub struct FetchedRelease {
    /// Its manifest.
    pub manifest: ReleaseManifest,
    /// The pointer's ETag when it was read.
    pub pointer_etag: Option<String>,
    /// Who signed it, if signatures are checked.
    pub signer: Option<String>,
    /// Its pointer's sequence and signing time, if signatures are checked.
    pub stamp: Option<Stamp>,
}

/// What a watched pointer said last.
#[derive(Debug, Clone, Default)]
struct Seen {
    etag: Option<String>,
    release: Option<String>,
    stamp: Option<Stamp>,
}

/// One watched `s3://` location: its client, object cache and what its
/// pointer said last.
pub struct Watched {
    s3: S3,
    cache: Arc<ObjectCache>,
    seen: Mutex<Seen>,
}

impl Watched {
    /// Watches `location`, caching objects under `cache_dir`.
    ///
    /// # Errors
    /// No credentials, or settings object_store refuses.
    pub fn new(location: &S3Location, cache_dir: &Path) -> Result<Self, ReleaseError> {
        let s3 = S3::from_env(location)?;
        Ok(Self {
            cache: Arc::new(ObjectCache::new(cache_dir, s3.clone())),
            s3,
            seen: Mutex::new(Seen::default()),
        })
    }

    /// The location.
    pub fn location(&self) -> &S3Location {
        &self.s3.location
    }

    /// What the object cache has done.
    pub fn counts(&self) -> CacheCounts {
        self.cache.counts()
    }

    /// Reads the current release, or `None` if the pointer still names the
    /// release last read (a conditional request: one small round trip).
    ///
    /// With `trusted` keys the pointer must be signed by one of them, and
    /// its sequence must not be lower than the one last read (a refreshed
    /// pointer to the same release is taken without loading anything);
    /// with `max_age` too, it must have been signed within that long.
    ///
    /// # Errors
    /// See [`ReleaseErrorKind`].
    pub async fn read_if_changed(
        &self,
        trusted: Option<&TrustedKeys>,
        max_age: Option<Duration>,
    ) -> Result<Option<FetchedRelease>, ReleaseError> {
        let location = &self.s3.location;
        let pointer_key = location.pointer_key();
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let read = self
            .s3
            .get_if_changed(&pointer_key, seen.etag.as_deref())
            .await
            .map_err(|e| match e.kind {
                S3ErrorKind::NotFound => ReleaseError {
                    kind: ReleaseErrorKind::NoRelease,
                    message: format!(
                        "no release at {}: nothing was published to {location} \
                         (run `wasm-lambda-host publish DIR {location}`)",
                        location.url_of(&pointer_key)
                    ),
                    release: None,
                },
                _ => e.into(),
            })?;
        let Some((bytes, etag)) = read else {
            return Ok(None);
        };
        let pointer = Pointer::parse(&bytes).map_err(|e| {
            ReleaseError::invalid(format!("{}: {e:#}", location.url_of(&pointer_key)))
        })?;
        let id = pointer.release.as_str();
        let stamp = match trusted {
            None => None,
            Some(keys) => Some(self.check_pointer(&pointer, keys, max_age, seen.stamp.as_ref())?),
        };
        if seen.release.as_deref() == Some(id) {
            if let Some(stamp) = &stamp
                && seen.stamp.as_ref() != Some(stamp)
            {
                tracing::info!(
                    release = id,
                    sequence = stamp.sequence,
                    signed_at = %stamp.signed_at,
                    "the pointer was refreshed; the release in use is unchanged"
                );
            }
            self.remember(etag, Some(pointer.release.clone()), stamp);
            return Ok(None);
        }
        let manifest_bytes = pointer.manifest.as_bytes();
        let manifest = ReleaseManifest::parse(manifest_bytes).map_err(|e| {
            ReleaseError::invalid(format!(
                "release {id} named by {}: {e:#}",
                location.url_of(&pointer_key)
            ))
            .of_release(id)
        })?;
        if manifest.id != pointer.release {
            return Err(ReleaseError::invalid(format!(
                "{} names release {id}, whose manifest calls itself {}",
                location.url_of(&pointer_key),
                manifest.id
            ))
            .of_release(id));
        }
        let signer = match trusted {
            None => None,
            Some(keys) => {
                let signer = keys
                    .verify_as("release", manifest_bytes, pointer.signature.as_ref())
                    .map_err(|reason| ReleaseError {
                        kind: ReleaseErrorKind::Untrusted,
                        message: format!("release {id} at {location}: {reason}"),
                        release: Some(id.to_owned()),
                    })?;
                Some(signer)
            }
        };
        Ok(Some(FetchedRelease {
            manifest,
            pointer_etag: etag,
            signer,
            stamp,
        }))
    }

    /// Checks a pointer under trusted keys: its signature, its age against
    /// `max_age`, and its sequence against `running`'s (the pointer in use).
    fn check_pointer(
        &self,
        pointer: &Pointer,
        keys: &TrustedKeys,
        max_age: Option<Duration>,
        running: Option<&Stamp>,
    ) -> Result<Stamp, ReleaseError> {
        let location = &self.s3.location;
        let refused = |kind: ReleaseErrorKind, reason: &str| ReleaseError {
            kind,
            message: format!("{}: {reason}", location.url_of(&location.pointer_key())),
            release: Some(pointer.release.clone()),
        };
        let stamp = pointer_signature::verify(pointer, keys)
            .map_err(|reason| refused(ReleaseErrorKind::Untrusted, &reason))?;
        if let Some(max_age) = max_age {
            stamp
                .check_age(max_age, SystemTime::now())
                .map_err(|refusal| match refusal {
                    AgeRefusal::TooOld(reason) => refused(ReleaseErrorKind::Expired, &reason),
                    AgeRefusal::Ahead(reason) => refused(ReleaseErrorKind::Untrusted, &reason),
                })?;
        }
        if let Some(running) = running {
            running
                .may_follow(&stamp)
                .map_err(|reason| refused(ReleaseErrorKind::Rollback, &reason))?;
        }
        Ok(stamp)
    }

    /// Records that `release` (read with `etag`, its pointer stamped
    /// `stamp` when signatures are checked) is the one in use, so the next
    /// check is conditional on it and never goes below its sequence.
    pub fn remember(&self, etag: Option<String>, release: Option<String>, stamp: Option<Stamp>) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Seen {
            etag,
            release,
            stamp,
        };
    }

    /// The stamp of the pointer in use, when signatures are checked.
    pub fn stamp(&self) -> Option<Stamp> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stamp
            .clone()
    }

    /// Drops the pointer's ETag (keeping the release in use), so the next
    /// check reads the pointer whole and tries its release again.
    pub fn forget_etag(&self) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .etag = None;
    }

    /// Starts downloading every object of `manifest` this host needs (the
    /// `.cwasm` for `arch` only), without waiting.
    pub fn prefetch(
        &self,
        runtime: &tokio::runtime::Handle,
        manifest: &ReleaseManifest,
        arch: Option<Arch>,
    ) {
        for object in prefetched_objects(manifest, arch) {
            let cache = self.cache.clone();
            runtime.spawn(async move {
                // The outcome is kept in the cache for whoever needs it.
                let _ = cache.fetch(&object).await;
            });
        }
    }

    /// Forgets every object not in `keep` (their files are being removed).
    pub fn forget_except(&self, keep: &std::collections::HashSet<String>) {
        self.cache.forget_except(keep);
    }

    /// Blocks until `object` is on disk (checked); returns its path.
    ///
    /// # Errors
    /// Missing, unreadable, or not matching its pin.
    pub fn fetch(
        &self,
        runtime: &tokio::runtime::Handle,
        object: &ObjectRef,
    ) -> Result<PathBuf, String> {
        runtime.block_on(self.cache.fetch(object))
    }
}

/// The objects of `manifest` a host of `arch` uses.
pub fn needed_objects(manifest: &ReleaseManifest, arch: Option<Arch>) -> Vec<ObjectRef> {
    let contents = &manifest.contents;
    let mut objects: Vec<ObjectRef> = Vec::new();
    objects.extend(contents.guests_manifest.iter().cloned());
    objects.extend(contents.models_manifest.iter().cloned());
    for guest in &contents.guests {
        objects.push(guest.wasm.clone());
        if let Some(cwasm) = arch.and_then(|a| guest.cwasm.get(a.as_str())) {
            objects.push(cwasm.clone());
        }
    }
    objects.extend(contents.models.iter().map(|m| m.onnx.clone()));
    objects
}

/// The objects a cold start fetches up front: [`needed_objects`] less the
/// `.wasm` of every guest whose `.cwasm` for `arch` the release pins (see
/// [`place_guest`]; such a `.wasm` is fetched only if it turns out to be
/// needed).
fn prefetched_objects(manifest: &ReleaseManifest, arch: Option<Arch>) -> Vec<ObjectRef> {
    let guests = &manifest.contents.guests;
    let precompiled =
        |guest: &ReleaseGuest| arch.is_some_and(|a| guest.cwasm.contains_key(a.as_str()));
    // A .wasm another guest (without code for this arch) shares is still needed.
    let skipped: std::collections::HashSet<&str> = guests
        .iter()
        .filter(|guest| precompiled(guest))
        .map(|guest| guest.wasm.sha256.as_str())
        .filter(|sha| {
            !guests
                .iter()
                .any(|other| !precompiled(other) && other.wasm.sha256 == *sha)
        })
        .collect();
    needed_objects(manifest, arch)
        .into_iter()
        .filter(|object| !skipped.contains(object.sha256.as_str()))
        .collect()
}

/// Where a release's files go: `WASM_LAMBDA_CACHE/releases/ID/{guests,models}`.
pub fn release_dir(cache_dir: &Path, id: &str) -> PathBuf {
    cache_dir.join("releases").join(id)
}

/// What [`place_guest`] put in a guest's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacedGuest {
    /// The `.wasm`, and the `.cwasm` for this architecture if the release
    /// has one that could be fetched.
    Source,
    /// Only the `.cwasm` for this architecture. The release pins its bytes
    /// (checked when it was fetched) and the `.wasm`'s sha256, which the
    /// `.cwasm`'s trailer must name, so the `.wasm` is neither downloaded
    /// nor hashed; [`place_guest_source`] fetches it if the `.cwasm` is
    /// refused after all (another engine, another host version).
    PrecompiledOnly {
        /// The `.wasm`'s sha256 (lowercase hex) as the release pins it.
        wasm_sha256: String,
    },
}

/// Puts one guest in `dir`, where the guest loader expects it: with
/// `precompiled_only` allowed and a `.cwasm` for `arch` in the release,
/// that `.cwasm` alone; otherwise the `.wasm` and, if the release has one,
/// the `.cwasm`.
///
/// # Errors
/// An object is missing, unreadable or does not match its pin. A `.cwasm`
/// that cannot be had is not an error (the guest is compiled instead).
pub fn place_guest(
    watched: &Watched,
    runtime: &tokio::runtime::Handle,
    guest: &ReleaseGuest,
    arch: Option<Arch>,
    dir: &Path,
    precompiled_only: bool,
) -> Result<PlacedGuest, String> {
    let wasm_path = dir.join(&guest.file);
    let cwasm_path = wasm_path.with_extension("cwasm");
    let code = arch.and_then(|a| guest.cwasm.get(a.as_str()));
    let placed_code = match code {
        Some(object) => match watched.fetch(runtime, object) {
            Ok(cwasm) => {
                download::place(&cwasm, &cwasm_path).map_err(|e| format!("{e:#}"))?;
                true
            }
            // The .wasm is all a guest needs; its precompiled code failing
            // only costs a compile, and is logged.
            Err(reason) => {
                tracing::warn!(guest = %guest.name, "not using the release's precompiled code: {reason}");
                false
            }
        },
        None => false,
    };
    if !placed_code {
        let _ = std::fs::remove_file(&cwasm_path);
    } else if precompiled_only {
        // A .wasm an earlier start placed here goes: the folder shows what
        // this start used.
        let _ = std::fs::remove_file(&wasm_path);
        return Ok(PlacedGuest::PrecompiledOnly {
            wasm_sha256: guest.wasm.sha256.clone(),
        });
    }
    let wasm = watched.fetch(runtime, &guest.wasm)?;
    download::place(&wasm, &wasm_path).map_err(|e| format!("{e:#}"))?;
    Ok(PlacedGuest::Source)
}

/// Puts a guest's `.wasm` in `dir` after its `.cwasm`, placed alone, was
/// refused; removes that `.cwasm` (the guest is compiled from the `.wasm`).
///
/// # Errors
/// The `.wasm` is missing, unreadable or does not match its pin.
pub fn place_guest_source(
    watched: &Watched,
    runtime: &tokio::runtime::Handle,
    guest: &ReleaseGuest,
    dir: &Path,
) -> Result<(), String> {
    let wasm_path = dir.join(&guest.file);
    let _ = std::fs::remove_file(wasm_path.with_extension("cwasm"));
    let wasm = watched.fetch(runtime, &guest.wasm)?;
    download::place(&wasm, &wasm_path).map_err(|e| format!("{e:#}"))
}

/// Puts a manifest file (`guests.toml` / `models.toml`) in `dir`, or
/// removes a stale one if the release has none.
///
/// # Errors
/// The object is missing or does not match its pin.
pub fn place_manifest(
    watched: &Watched,
    runtime: &tokio::runtime::Handle,
    object: Option<&ObjectRef>,
    dir: &Path,
    file_name: &str,
) -> Result<(), String> {
    let path = dir.join(file_name);
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    match object {
        Some(object) => {
            let cached = watched
                .fetch(runtime, object)
                .map_err(|e| format!("{file_name}: {e}"))?;
            download::place(&cached, &path).map_err(|e| format!("{e:#}"))
        }
        None => match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("removing {}: {e}", path.display())),
        },
    }
}

/// Puts every model of a release in `dir`; returns the models whose
/// objects could not be had, with why.
pub fn place_models(
    watched: &Watched,
    runtime: &tokio::runtime::Handle,
    manifest: &ReleaseManifest,
    dir: &Path,
) -> BTreeMap<String, String> {
    let mut failed = BTreeMap::new();
    for model in &manifest.contents.models {
        let placed = watched.fetch(runtime, &model.onnx).and_then(|path| {
            download::place(&path, &dir.join(&model.file)).map_err(|e| format!("{e:#}"))
        });
        if let Err(reason) = placed {
            let _ = std::fs::remove_file(dir.join(&model.file));
            failed.insert(model.name.clone(), reason);
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(byte: u8) -> ObjectRef {
        ObjectRef::of(&[byte])
    }

    fn guest(name: &str, wasm: u8, cwasm: Option<u8>) -> ReleaseGuest {
        ReleaseGuest {
            name: name.to_owned(),
            file: format!("{name}.wasm"),
            wasm: object(wasm),
            cwasm: cwasm
                .map(|c| ("x86_64".to_owned(), object(c)))
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_cold_start_prefetches_no_wasm_whose_cwasm_is_pinned_unless_another_guest_needs_it() {
        let manifest = ReleaseManifest {
            format: 1,
            id: "20261202T000000Z-00000000".into(),
            created: String::new(),
            host_version: String::new(),
            previous: None,
            contents: crate::releases::manifest::ReleaseContents {
                guests_manifest: None,
                guests: vec![
                    guest("precompiled", 1, Some(2)),
                    guest("shares-its-wasm", 3, Some(4)),
                    guest("source-only", 3, None),
                ],
                models_manifest: None,
                models: Vec::new(),
            },
        };
        let shas = |objects: Vec<ObjectRef>| -> Vec<String> {
            objects.into_iter().map(|o| o.sha256).collect()
        };
        let prefetched = shas(prefetched_objects(&manifest, Some(Arch::X86_64)));
        for (byte, expected) in [(1, false), (2, true), (3, true), (4, true)] {
            assert_eq!(
                prefetched.contains(&object(byte).sha256),
                expected,
                "object {byte}"
            );
        }
        // Every object stays needed (kept in the cache), and a host with
        // no code for its architecture fetches every .wasm.
        assert!(shas(needed_objects(&manifest, Some(Arch::X86_64))).contains(&object(1).sha256));
        let without_code = shas(prefetched_objects(&manifest, None));
        assert!(
            without_code.contains(&object(1).sha256) && !without_code.contains(&object(2).sha256)
        );
    }
}
