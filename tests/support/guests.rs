//! The compiled guests, and throwaway folders that deploy them.

use std::fs;
use std::path::{Path, PathBuf};

/// Path of a guest built by the build script, by package name
/// (`http-router` → `http_router.wasm`).
pub fn guest_wasm(package: &str) -> PathBuf {
    let path = Path::new(env!("WASM_LAMBDA_TEST_WASM_DIR")).join(format!("{}.wasm", package.replace('-', "_")));
    assert!(path.exists(), "guest {package} was not built: {} is missing", path.display());
    path
}

/// A temporary deployment: a guests folder, a cache folder and a scratch
/// folder, removed when dropped.
pub struct GuestFolder {
    root: PathBuf,
}

impl GuestFolder {
    /// An empty deployment under the system temp dir.
    pub fn new(label: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("wasm-lambda-test-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("guests")).unwrap();
        fs::create_dir_all(root.join("cache")).unwrap();
        Self { root }
    }

    /// Deploys a built guest under `name`.
    pub fn with_guest(self, name: &str, package: &str) -> Self {
        fs::copy(guest_wasm(package), self.guests().join(format!("{name}.wasm"))).unwrap();
        self
    }

    /// Writes a file into the guests folder (a manifest, a corrupt guest...).
    pub fn with_file(self, file: &str, contents: impl AsRef<[u8]>) -> Self {
        fs::write(self.guests().join(file), contents).unwrap();
        self
    }

    /// The guests folder (`WASM_LAMBDA_GUESTS`).
    pub fn guests(&self) -> PathBuf {
        self.root.join("guests")
    }

    /// The cache folder (`WASM_LAMBDA_CACHE`).
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }

    /// The deployment's root, for scratch files.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for GuestFolder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}
