//! `precompile [--target x86_64|aarch64] DIR`: compiles every guest in DIR
//! to `NAME.cwasm` beside its `.wasm`, for the portable baseline of a Lambda
//! architecture (default: this host's), on any machine.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow, bail};

use crate::guests::artifact::{self, SourceStamp};
use crate::guests::engine::{Arch, compile_engine};
use crate::guests::loader::{self, cwasm_path};
use crate::sources::folder::resolve_inside;
use crate::sources::pin;

/// Compiles the guests of `dir` for `target` (default: this host's
/// architecture).
///
/// # Errors
/// The folder or manifest cannot be read, the architecture is unknown, or
/// any guest fails to compile.
pub fn precompile(dir: &Path, target: Option<Arch>) -> Result<()> {
    let arch = target
        .or_else(Arch::host)
        .ok_or_else(|| anyhow!("this host is not a Lambda architecture: pass --target"))?;
    let engine = compile_engine(arch)?;
    let sources = loader::discover(dir, &loader::read_manifest(dir)?)?;
    if sources.is_empty() {
        bail!("no guests (*.wasm) in {}", dir.display());
    }
    let mut failed = 0;
    for source in &sources {
        let started = Instant::now();
        let output = cwasm_path(source);
        let result = resolve_inside(dir, &source.path)
            .and_then(|real| {
                // Stamp first: a file rewritten while we read it then fails
                // the stamp check at init and is hashed, never trusted.
                let stamp = SourceStamp::of(&real);
                let wasm =
                    std::fs::read(&real).with_context(|| format!("reading {}", real.display()))?;
                artifact::precompile(&engine, arch, &wasm, &pin::digest(&wasm), stamp)
                    .with_context(|| format!("{} is not a valid component", source.path.display()))
            })
            .and_then(|bytes| artifact::store(&output, &bytes).map(|()| bytes.len()));
        match result {
            Ok(size) => println!(
                "precompiled {} for {} ({}) -> {} ({} KB, {:.0} ms)",
                source.name,
                arch,
                arch.baseline_name(),
                output.display(),
                size / 1024,
                started.elapsed().as_secs_f64() * 1e3
            ),
            Err(error) => {
                failed += 1;
                eprintln!("error: {}: {error:#}", source.name);
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} guests failed to precompile", sources.len());
    }
    Ok(())
}
