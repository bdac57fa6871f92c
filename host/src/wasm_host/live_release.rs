//! Guests and models from S3 releases: reading the current release at
//! init, turning a release into a [`SetPlan`], and checking the pointer
//! again on warmer pings and every `WASM_LAMBDA_REFRESH_S`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::guest_set::{PlannedGuest, ReleaseTag};
use super::init::InitError;
use crate::guests::engine::Arch;
use crate::guests::loader::{self, GuestSource};
use crate::releases::client::S3ErrorKind;
use crate::releases::download::CacheCounts;
use crate::releases::location::S3Location;
use crate::releases::manifest::ReleaseGuest;
use crate::releases::pointer_signature::{self, Stamp};
use crate::releases::signing::TrustedKeys;
use crate::releases::source::{self, FetchedRelease, ReleaseError, ReleaseErrorKind, Watched};
use crate::runtime::settings::Settings;
use crate::sources::folder::Found;

/// The S3 side of the host: the watched locations, their downloads'
/// runtime, and the keys releases must be signed with.
pub struct Releases {
    runtime: tokio::runtime::Runtime,
    guests: Option<Watched>,
    /// `None` when models come from a folder, or from the guests' release.
    models: Option<Watched>,
    models_follow_guests: bool,
    trusted: Option<TrustedKeys>,
    /// `WASM_LAMBDA_RELEASE_MAX_AGE`: the oldest pointer signature taken.
    max_age: Option<Duration>,
    cache_dir: PathBuf,
}

/// The releases in use (or about to be).
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// The guests' release.
    pub guests: Option<Arc<FetchedRelease>>,
    /// The models' release, when it is not the guests'.
    pub models: Option<Arc<FetchedRelease>>,
}

impl Current {
    /// The tag a set built from these releases carries.
    pub fn tag(&self) -> ReleaseTag {
        ReleaseTag {
            guests: self.guests.as_ref().map(|r| r.manifest.id.clone()),
            models: self
                .models
                .as_ref()
                .or(self.guests.as_ref())
                .map(|r| r.manifest.id.clone()),
            signer: self.guests.as_ref().and_then(|r| r.signer.clone()),
        }
    }
}

impl Releases {
    /// Opens the S3 locations the settings name; `None` if they name none.
    ///
    /// # Errors
    /// A malformed `s3://` address or `WASM_LAMBDA_TRUSTED_KEYS`, or no
    /// credentials.
    pub fn open(settings: &Settings) -> Result<Option<Self>, InitError> {
        if settings.guests_s3.is_none() && settings.models_s3.is_none() {
            return Ok(None);
        }
        let parse = |text: &str| {
            S3Location::parse(text).map_err(|e| InitError::ReleaseSettings(format!("{e:#}")))
        };
        let guests_location = settings.guests_s3.as_deref().map(parse).transpose()?;
        let models_location = settings.models_s3.as_deref().map(parse).transpose()?;
        let models_follow_guests = guests_location.is_some() && models_location == guests_location;
        let trusted = settings
            .trusted_keys
            .as_deref()
            .map(TrustedKeys::parse)
            .transpose()
            .map_err(|e| InitError::ReleaseSettings(format!("{e:#}")))?;
        let max_age = settings
            .release_max_age
            .as_deref()
            .map(pointer_signature::parse_max_age)
            .transpose()
            .map_err(InitError::ReleaseSettings)?;
        if max_age.is_some() && trusted.is_none() {
            return Err(InitError::ReleaseSettings(
                "WASM_LAMBDA_RELEASE_MAX_AGE needs WASM_LAMBDA_TRUSTED_KEYS: the age is that \
                 of the pointer's signature"
                    .to_owned(),
            ));
        }
        let watch = |location: &S3Location| {
            Watched::new(location, &settings.cache_dir).map_err(InitError::from)
        };
        let guests = guests_location.as_ref().map(watch).transpose()?;
        let models = if models_follow_guests {
            None
        } else {
            models_location.as_ref().map(watch).transpose()?
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3")
            .enable_all()
            .build()
            .map_err(|e| InitError::Engine(format!("starting the download runtime: {e}")))?;
        Ok(Some(Self {
            runtime,
            guests,
            models,
            models_follow_guests,
            trusted,
            max_age,
            cache_dir: settings.cache_dir.clone(),
        }))
    }

    /// Whether releases are signature-checked.
    pub fn checks_signatures(&self) -> bool {
        self.trusted.is_some()
    }

    /// The stamp (sequence, signing time) of the guests' pointer in use
    /// (else the models'), when signatures are checked.
    pub fn pointer_stamp(&self) -> Option<Stamp> {
        self.guests
            .iter()
            .chain(self.models.iter())
            .find_map(Watched::stamp)
    }

    /// The limit on a pointer's age, if any.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The guests' location, for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = &self.guests {
            parts.push(format!("guests from {}", g.location()));
        }
        if let Some(m) = &self.models {
            parts.push(format!("models from {}", m.location()));
        } else if self.models_follow_guests {
            parts.push("models from the same release".to_owned());
        }
        parts.join(", ")
    }

    /// What the object caches did so far (all locations).
    pub fn counts(&self) -> CacheCounts {
        let mut total = CacheCounts::default();
        for watched in self.guests.iter().chain(self.models.iter()) {
            let c = watched.counts();
            total.downloaded += c.downloaded;
            total.downloaded_bytes += c.downloaded_bytes;
            total.reused += c.reused;
        }
        total
    }

    /// Reads the pointers; returns the releases to load if any changed
    /// since `current` (at init, `current` is empty and both are read).
    ///
    /// # Errors
    /// See [`ReleaseErrorKind`].
    pub fn read(&self, current: &Current) -> Result<Option<Current>, ReleaseError> {
        let (trusted, max_age) = (self.trusted.as_ref(), self.max_age);
        let (guests, models) = self.runtime.block_on(async {
            let guests = async {
                match &self.guests {
                    Some(w) => w.read_if_changed(trusted, max_age).await,
                    None => Ok(None),
                }
            };
            let models = async {
                match &self.models {
                    Some(w) => w.read_if_changed(trusted, max_age).await,
                    None => Ok(None),
                }
            };
            tokio::join!(guests, models)
        });
        let (guests, models) = (guests?, models?);
        if guests.is_none() && models.is_none() {
            return Ok(None);
        }
        Ok(Some(Current {
            guests: guests.map(Arc::new).or_else(|| current.guests.clone()),
            models: models.map(Arc::new).or_else(|| current.models.clone()),
        }))
    }

    /// Marks `current` as the releases in use, so the next checks are
    /// conditional on them.
    pub fn adopt(&self, current: &Current) {
        let pairs = [
            (&self.guests, &current.guests),
            (&self.models, &current.models),
        ];
        for (watched, release) in pairs {
            if let (Some(watched), Some(release)) = (watched, release) {
                watched.remember(
                    release.pointer_etag.clone(),
                    Some(release.manifest.id.clone()),
                    release.stamp.clone(),
                );
            }
        }
    }

    /// Forgets what the pointers said, so a release that failed to load is
    /// read (and tried) again at the next check.
    pub fn forget(&self) {
        for watched in self.guests.iter().chain(self.models.iter()) {
            watched.forget_etag();
        }
    }

    /// After a switch to `current`: removes the downloaded objects and
    /// release folders no release in use needs, so a long-lived environment
    /// switching many releases does not fill `/tmp` (Lambda's is 512 MB by
    /// default). Files still mapped by live instances stay readable to them
    /// (unlinking does not unmap); a rollback downloads them again.
    pub fn prune(&self, current: &Current, arch: Option<Arch>) {
        let releases: Vec<&FetchedRelease> = current
            .guests
            .iter()
            .chain(current.models.iter())
            .map(AsRef::as_ref)
            .collect();
        let keep_objects: std::collections::HashSet<String> = releases
            .iter()
            .flat_map(|r| source::needed_objects(&r.manifest, arch))
            .map(|o| o.sha256)
            .collect();
        let keep_dirs: std::collections::HashSet<String> =
            releases.iter().map(|r| r.manifest.id.clone()).collect();
        for watched in self.guests.iter().chain(self.models.iter()) {
            watched.forget_except(&keep_objects);
        }
        let (mut files, mut dirs) = (0, 0);
        if let Ok(entries) = std::fs::read_dir(self.cache_dir.join("objects")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !keep_objects.contains(&name) && std::fs::remove_file(entry.path()).is_ok() {
                    files += 1;
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(self.cache_dir.join("releases")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !keep_dirs.contains(&name) && std::fs::remove_dir_all(entry.path()).is_ok() {
                    dirs += 1;
                }
            }
        }
        tracing::debug!(files, dirs, "removed what no release in use needs");
    }

    /// Starts every download `current` needs.
    pub fn prefetch(&self, current: &Current, arch: Option<Arch>) {
        let handle = self.runtime.handle();
        if let (Some(w), Some(r)) = (&self.guests, &current.guests) {
            w.prefetch(handle, &r.manifest, arch);
        }
        if let (Some(w), Some(r)) = (&self.models, &current.models) {
            w.prefetch(handle, &r.manifest, arch);
        }
    }

    /// The guests of the guests' release, their folder (with `guests.toml`
    /// in place) and how to place each guest's files.
    ///
    /// # Errors
    /// `guests.toml` is missing, damaged or invalid.
    pub fn plan_guests(
        &self,
        release: &FetchedRelease,
    ) -> Result<(Vec<PlannedGuest>, PathBuf), InitError> {
        let watched = self
            .guests
            .as_ref()
            .ok_or_else(|| InitError::ReleaseSettings("guests do not come from S3".to_owned()))?;
        let manifest = &release.manifest;
        let dir = source::release_dir(&self.cache_dir, &manifest.id).join("guests");
        source::place_manifest(
            watched,
            self.runtime.handle(),
            manifest.contents.guests_manifest.as_ref(),
            &dir,
            "guests.toml",
        )
        .map_err(|e| InitError::ReleaseInvalid(format!("release {}: {e}", manifest.id)))?;
        let guests_toml = loader::read_manifest(&dir)
            .map_err(|e| InitError::ManifestInvalid(format!("release {}: {e:#}", manifest.id)))?;
        let planned = manifest
            .contents
            .guests
            .iter()
            .map(|g| PlannedGuest {
                source: Found {
                    name: g.name.clone(),
                    path: dir.join(&g.file),
                    spec: guests_toml.guests.get(&g.name).cloned().unwrap_or_default(),
                },
                content: Some(g.wasm.sha256.clone()),
            })
            .collect();
        Ok((planned, dir))
    }

    /// Places one guest's files (downloading them if needed); with
    /// `precompiled_only`, only its `.cwasm` when the release has one for
    /// `arch` (see [`source::PlacedGuest`]).
    ///
    /// # Errors
    /// An object is missing, unreadable or tampered with.
    pub fn place_guest(
        &self,
        release: &FetchedRelease,
        source: &GuestSource,
        arch: Option<Arch>,
        dir: &Path,
        precompiled_only: bool,
    ) -> Result<source::PlacedGuest, String> {
        let (watched, guest) = self.release_guest(release, source)?;
        source::place_guest(
            watched,
            self.runtime.handle(),
            guest,
            arch,
            dir,
            precompiled_only,
        )
    }

    /// Places a guest's `.wasm` after its `.cwasm`, placed alone, was refused.
    ///
    /// # Errors
    /// The `.wasm` is missing, unreadable or tampered with.
    pub fn place_guest_source(
        &self,
        release: &FetchedRelease,
        source: &GuestSource,
        dir: &Path,
    ) -> Result<(), String> {
        let (watched, guest) = self.release_guest(release, source)?;
        source::place_guest_source(watched, self.runtime.handle(), guest, dir)
    }

    /// Where `source`'s release is watched, and its entry in the release.
    fn release_guest<'a>(
        &'a self,
        release: &'a FetchedRelease,
        source: &GuestSource,
    ) -> Result<(&'a Watched, &'a ReleaseGuest), String> {
        let watched = self.guests.as_ref().ok_or("guests do not come from S3")?;
        let guest = release
            .manifest
            .contents
            .guests
            .iter()
            .find(|g| g.name == source.name)
            .ok_or_else(|| {
                format!(
                    "release {} has no guest `{}`",
                    release.manifest.id, source.name
                )
            })?;
        Ok((watched, guest))
    }

    /// The models' release and where it is watched.
    fn models_source<'a>(
        &'a self,
        current: &'a Current,
    ) -> Option<(&'a Watched, &'a FetchedRelease)> {
        if self.models_follow_guests {
            Some((self.guests.as_ref()?, current.guests.as_deref()?))
        } else {
            Some((self.models.as_ref()?, current.models.as_deref()?))
        }
    }

    /// The models' folder (with `models.toml` in place) and the key of
    /// their contents, when models come from a release.
    ///
    /// # Errors
    /// `models.toml` is missing or damaged.
    pub fn plan_models(&self, current: &Current) -> Result<Option<(PathBuf, String)>, InitError> {
        let Some((watched, release)) = self.models_source(current) else {
            return Ok(None);
        };
        let manifest = &release.manifest;
        let dir = source::release_dir(&self.cache_dir, &manifest.id).join("models");
        source::place_manifest(
            watched,
            self.runtime.handle(),
            manifest.contents.models_manifest.as_ref(),
            &dir,
            "models.toml",
        )
        .map_err(|e| InitError::ReleaseInvalid(format!("release {}: {e}", manifest.id)))?;
        Ok(Some((dir, manifest.contents.models_digest())))
    }

    /// Places every model file of the models' release; returns those that
    /// could not be had.
    pub fn place_models(&self, current: &Current, dir: &Path) -> BTreeMap<String, String> {
        match self.models_source(current) {
            Some((watched, release)) => {
                source::place_models(watched, self.runtime.handle(), &release.manifest, dir)
            }
            None => BTreeMap::new(),
        }
    }
}

impl From<ReleaseError> for InitError {
    fn from(error: ReleaseError) -> Self {
        let message = error.message;
        match error.kind {
            ReleaseErrorKind::S3(S3ErrorKind::Credentials) => Self::S3Credentials(message),
            ReleaseErrorKind::S3(S3ErrorKind::Denied) => Self::S3AccessDenied(message),
            ReleaseErrorKind::S3(S3ErrorKind::NoSuchBucket) => Self::S3BucketNotFound(message),
            ReleaseErrorKind::S3(S3ErrorKind::Unavailable) => Self::S3Unavailable(message),
            ReleaseErrorKind::S3(S3ErrorKind::NotFound) | ReleaseErrorKind::Invalid => {
                Self::ReleaseInvalid(message)
            }
            ReleaseErrorKind::NoRelease => Self::NoRelease(message),
            ReleaseErrorKind::Untrusted | ReleaseErrorKind::Rollback => {
                Self::ReleaseUntrusted(message)
            }
            ReleaseErrorKind::Expired => Self::ReleaseExpired(message),
        }
    }
}
