//! The object cache in `WASM_LAMBDA_CACHE/objects/`: every object a release
//! pins, stored under its sha256 after the bytes were checked against it,
//! so a second cold start in the same `/tmp` downloads nothing, and two
//! releases share what they have in common.
//!
//! Downloads run on a small tokio runtime of their own, several at a time;
//! whoever needs an object first (a prefetch, or a guest about to load)
//! downloads it, and everyone else waits for that one download.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OnceCell, Semaphore};

use super::client::S3;
use super::manifest::ObjectRef;

/// Downloads in flight at once.
const PARALLEL_DOWNLOADS: usize = 8;

/// What the cache did: the proof that a warm `/tmp` downloads nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Objects fetched from S3.
    pub downloaded: u64,
    /// Bytes fetched from S3.
    pub downloaded_bytes: u64,
    /// Objects found in the cache (and re-checked).
    pub reused: u64,
}

/// One object's local path once it is there, shared by everyone who asked
/// for it. A failure is not kept: the next request tries again (a live
/// switch retried after the object was fixed in the bucket must see it).
type Outcome = Arc<OnceCell<PathBuf>>;

/// Content-addressed objects on local disk, filled from one bucket.
pub struct ObjectCache {
    dir: PathBuf,
    s3: S3,
    slots: Mutex<HashMap<String, Outcome>>,
    permits: Semaphore,
    downloaded: AtomicU64,
    downloaded_bytes: AtomicU64,
    reused: AtomicU64,
}

impl ObjectCache {
    /// A cache in `cache_dir/objects` for objects of `s3`.
    pub fn new(cache_dir: &Path, s3: S3) -> Self {
        Self {
            dir: cache_dir.join("objects"),
            s3,
            slots: Mutex::new(HashMap::new()),
            permits: Semaphore::new(PARALLEL_DOWNLOADS),
            downloaded: AtomicU64::new(0),
            downloaded_bytes: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        }
    }

    /// What the cache has done so far.
    pub fn counts(&self) -> CacheCounts {
        CacheCounts {
            downloaded: self.downloaded.load(Ordering::Relaxed),
            downloaded_bytes: self.downloaded_bytes.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
        }
    }

    /// Forgets every object whose sha256 is not in `keep`, so a later
    /// request fetches it again instead of trusting a removed file.
    pub fn forget_except(&self, keep: &std::collections::HashSet<String>) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|sha, _| keep.contains(sha));
    }

    /// The local path of `object`, downloading and checking it if needed.
    ///
    /// # Errors
    /// The object is missing, unreadable, or its bytes do not match its
    /// sha256 or size (the message names the bucket and key).
    pub async fn fetch(&self, object: &ObjectRef) -> Result<PathBuf, String> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.entry(object.sha256.clone()).or_default().clone()
        };
        slot.get_or_try_init(|| self.obtain(object)).await.cloned()
    }

    async fn obtain(&self, object: &ObjectRef) -> Result<PathBuf, String> {
        let path = self.dir.join(&object.sha256);
        if let Ok(bytes) = fs::read(&path) {
            // Re-checked: a cached file is only as good as its bytes.
            if ObjectRef::of(&bytes) == *object {
                self.reused.fetch_add(1, Ordering::Relaxed);
                return Ok(path);
            }
            tracing::warn!(path = %path.display(), "cached object does not match its sha256; downloading it again");
        }
        let key = self.s3.location.object_key(&object.sha256);
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let (bytes, _) = self.s3.get(&key).await.map_err(|e| e.to_string())?;
        let found = ObjectRef::of(&bytes);
        if found != *object {
            return Err(format!(
                "{} was tampered with or damaged: the release pins sha256 {} ({} bytes), the object has {} ({} bytes); not using it",
                self.s3.location.url_of(&key),
                object.sha256,
                object.size,
                found.sha256,
                found.size
            ));
        }
        self.downloaded.fetch_add(1, Ordering::Relaxed);
        self.downloaded_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        store(&path, &bytes).map_err(|e| format!("caching {}: {e:#}", path.display()))?;
        Ok(path)
    }
}

/// Writes a file whole or not at all (a concurrent reader never sees half).
fn store(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no folder for {}", path.display()))?;
    fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path)?;
    Ok(())
}

/// Puts a cached object at `to` (a release folder's file): a hard link
/// (no copy), or a copy where links are not possible.
///
/// # Errors
/// Neither works.
pub fn place(object: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    match fs::remove_file(to) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    if fs::hard_link(object, to).is_err() {
        fs::copy(object, to)?;
    }
    Ok(())
}
