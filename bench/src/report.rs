//! Figures saved for the plots: each part of the benchmark writes what it
//! printed as JSON to `target/bench/NAME.json`, and `bench/plot.py` draws
//! the PNGs BENCHMARKS.md shows from them.

use anyhow::{Context as _, Result};
use serde_json::Value;
use wasm_lambda_tests::workspace_root;

/// Writes `target/bench/NAME.json`.
///
/// # Errors
/// The folder or file cannot be written.
pub fn save(name: &str, figures: &Value) -> Result<()> {
    let dir = workspace_root().join("target").join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(figures)?)
        .with_context(|| format!("writing {}", path.display()))
}
