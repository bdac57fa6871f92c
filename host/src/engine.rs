//! The one wasmtime `Engine` of the process, and the clock that bounds guest calls.
//!
//! Every guest is compiled, cached and run with this configuration; `.cwasm`
//! files record its fingerprint so an artifact made under another
//! configuration (or another host build) is never loaded.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, Result};
use wasmtime::{Config, Engine, OptLevel};

/// How often the epoch advances. A guest overrunning its deadline is
/// interrupted at most about one tick late.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The engine every part of the host shares: one per process, built on
/// first use, with its epoch ticker running.
///
/// # Errors
/// Fails only if wasmtime rejects the configuration on this CPU.
pub fn shared_engine() -> Result<Engine> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let engine = ENGINE
        .get_or_init(|| build_engine().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

fn build_engine() -> Result<Engine> {
    let mut config = Config::new();
    config
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true)
        // Deadlines: guest code checks the epoch at loop headers and
        // function entries, so an infinite loop is interrupted.
        .epoch_interruption(true)
        // Deep recursion traps instead of aborting the process.
        .max_wasm_stack(1 << 20);
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("configuring the wasmtime engine")
}

/// A number that changes whenever compiled artifacts stop being compatible:
/// another wasmtime version, engine configuration, target, or host release.
pub fn engine_fingerprint(engine: &Engine) -> u64 {
    // DefaultHasher::new() uses fixed keys, so the value is stable for a
    // given host binary; that is all a cache in /tmp or an image needs.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    hasher.finish()
}

/// Starts (once per process) the thread that advances the engine's epoch.
fn start_epoch_ticker(engine: &Engine) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let engine = engine.clone();
        let spawned = std::thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        if let Err(error) = spawned {
            // Without the ticker deadlines never fire; everything else works.
            tracing::error!(%error, "could not start the epoch ticker: guest timeouts are disabled");
        }
    });
}

/// How many epoch ticks to allow for `budget`. The ticker's next tick may
/// come at any point of its period, so one extra tick makes sure a guest
/// gets at least its whole budget (and at most one tick more).
pub fn ticks_for(budget: Duration) -> u64 {
    let ticks = budget.as_micros().div_ceil(EPOCH_TICK.as_micros()) + 1;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_round_up_plus_one_tick() {
        assert_eq!(ticks_for(Duration::ZERO), 1);
        assert_eq!(ticks_for(Duration::from_millis(1)), 2);
        assert_eq!(ticks_for(EPOCH_TICK * 10), 11);
        assert_eq!(ticks_for(EPOCH_TICK * 10 + Duration::from_micros(1)), 12);
        assert_eq!(ticks_for(Duration::MAX), u64::MAX);
    }
}
