//! Which guests are instantiated at init, and which wait for their first
//! event.
//!
//! A guest whose manifest entry says `eager = true` is instantiated (and
//! its `init` run) at init whatever it costs; `eager = false` waits for its
//! first event. A guest that says neither is instantiated at init while the
//! process's resident memory is under the init memory budget: half of
//! `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (the other half is left for events).
//! Past the budget the rest are deferred, and a deferred guest's `init`
//! still runs before its first event is handled. A deferred guest with a
//! `.cwasm` this host can use (by its trailer) is not loaded at init either:
//! loading costs about a quarter MB of a guest's ~0.4 MB. One without is
//! compiled at init, so that its first event does not wait for a compile.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::sync::OnceLock;

/// The share of the function's memory init may fill with instances.
pub const BUDGET_SHARE_OF_FUNCTION_MEMORY: f64 = 0.5;

/// The budget unset guests are instantiated within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EagerBudget {
    /// Resident bytes the process may reach before unset guests are
    /// deferred; `None` instantiates every unset guest.
    limit_bytes: Option<u64>,
}

impl EagerBudget {
    /// No budget: every guest not marked `eager = false` is instantiated.
    pub const UNLIMITED: Self = Self { limit_bytes: None };

    /// The budget for a function of `function_memory_mb`.
    pub fn for_function_memory(function_memory_mb: u32) -> Self {
        let bytes = f64::from(function_memory_mb) * 1024.0 * 1024.0;
        Self {
            limit_bytes: Some((bytes * BUDGET_SHARE_OF_FUNCTION_MEMORY) as u64),
        }
    }

    /// The limit in MB, for the log (`None`: unlimited).
    pub fn limit_mb(self) -> Option<u64> {
        self.limit_bytes.map(|b| b / (1024 * 1024))
    }

    /// Whether a guest with this `eager` setting is instantiated now.
    pub fn admits(self, eager: Option<bool>) -> bool {
        match (eager, self.limit_bytes) {
            (Some(marked), _) => marked,
            (None, None) => true,
            // Unreadable: instantiate, as without a budget.
            (None, Some(limit)) => resident_bytes().is_none_or(|resident| resident < limit),
        }
    }
}

/// This process's resident memory.
///
/// Read from `/proc/self/statm` by hand: one short line (a procfs crate
/// would parse far more than this needs). The file is opened once and read
/// again from its start each time, one `pread`: opening it for each of 100
/// guests, twice, was 5% of their init (a profile, BENCHMARKS.md "Cost per
/// guest"). Lambda runs Linux with 4 KiB pages on both architectures.
pub fn resident_bytes() -> Option<u64> {
    const PAGE_BYTES: u64 = 4096;
    static STATM: OnceLock<Option<File>> = OnceLock::new();
    let statm = STATM
        .get_or_init(|| File::open("/proc/self/statm").ok())
        .as_ref()?;
    let mut line = [0u8; 128];
    // procfs regenerates the file for a read from offset 0.
    let read = statm.read_at(&mut line, 0).ok()?;
    let pages: u64 = std::str::from_utf8(line.get(..read)?)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(pages * PAGE_BYTES)
}

/// What init did not instantiate, for its log line.
#[derive(Debug, Clone, Default)]
pub struct Deferred {
    /// Guests marked `eager = false`.
    pub marked: Vec<String>,
    /// Unset guests past the budget.
    pub over_budget: Vec<String>,
}

impl Deferred {
    /// How many guests wait for their first event.
    pub fn count(&self) -> usize {
        self.marked.len() + self.over_budget.len()
    }

    /// Logs which guests wait for their first event, and why.
    pub fn log(&self, budget: EagerBudget) {
        if self.count() == 0 {
            return;
        }
        let budget_mb = budget
            .limit_mb()
            .map_or_else(|| "-".to_owned(), |mb| mb.to_string());
        tracing::info!(
            deferred = self.count(),
            marked_not_eager = %self.marked.join(","),
            over_budget = %self.over_budget.join(","),
            budget_mb = %budget_mb,
            "{} guests will be instantiated on their first event: {} marked eager = false, {} past \
             the init memory budget ({budget_mb} MB resident)",
            self.count(),
            self.marked.len(),
            self.over_budget.len(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_win_over_the_budget() {
        let none = EagerBudget::for_function_memory(0);
        assert!(none.admits(Some(true)));
        assert!(!none.admits(None), "a zero budget is already spent");
        assert!(!EagerBudget::UNLIMITED.admits(Some(false)));
        assert!(EagerBudget::UNLIMITED.admits(None));
    }

    #[test]
    fn the_budget_is_half_the_function_memory_and_compared_with_rss() {
        assert_eq!(EagerBudget::for_function_memory(1024).limit_mb(), Some(512));
        let resident = resident_bytes().expect("Linux has /proc/self/statm");
        assert!(resident > 1024 * 1024, "{resident}");
        let roomy = EagerBudget::for_function_memory(1 << 20);
        assert!(roomy.admits(None));
    }

    #[test]
    fn each_reading_is_current_not_the_first_one_again() {
        let before = resident_bytes().expect("Linux has /proc/self/statm");
        let grown = vec![1u8; 64 << 20];
        let during = resident_bytes().expect("read again");
        assert!(
            during >= before + (48 << 20),
            "64 MB touched between readings of {before} and {during} bytes"
        );
        drop(std::hint::black_box(grown));
    }
}
