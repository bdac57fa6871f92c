//! The Lambda environment (this process): its id, age and event count.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Facts about this environment that warmer answers report.
#[derive(Debug)]
pub struct Environment {
    id: String,
    started: Instant,
    invocations: AtomicU64,
}

impl Environment {
    /// A new environment with a random id.
    pub fn new() -> Self {
        // RandomState is seeded from the OS; mixing in time and pid makes two
        // environments' ids differ even if that seed ever did not.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        hasher.write_u32(std::process::id());
        Self {
            id: format!("env-{:016x}", hasher.finish()),
            started: Instant::now(),
            invocations: AtomicU64::new(0),
        }
    }

    /// The id, stable for the life of the process.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Time since the process started (well, since init built this).
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Counts an event; returns how many the environment has had, this one
    /// included (so 1 means this is its first, cold, event).
    pub fn record_invocation(&self) -> u64 {
        self.invocations.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl Default for Environment {
    fn default() -> Self {
        Self::new()
    }
}
