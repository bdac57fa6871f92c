//! `check FILE.wasm`: whether this host can run a guest and, if not, why.

use std::path::Path;

use anyhow::{Context as _, Result};

use crate::guests::check;
use crate::guests::contract::ONE_REQUEST_PER_INSTANCE_EXPORT;
use crate::guests::engine::shared_engine;
use crate::guests::linker::guest_linker;

/// Prints the verdict; returns whether the guest is runnable.
///
/// # Errors
/// The file cannot be read.
pub fn check(file: &Path) -> Result<bool> {
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let engine = shared_engine()?;
    let linker = guest_linker(&engine)?;
    let verdict = wasmtime::component::Component::new(&engine, &wasm)
        .map_err(|e| anyhow::anyhow!("not a valid WebAssembly component: {e:#}"))
        .and_then(|component| {
            check::check(&engine, &linker, &component).map(|pre| (component, pre))
        });
    match verdict {
        Ok((component, pre)) => {
            let version = pre.version();
            let ty = component.component_type();
            let imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_owned()).collect();
            match version {
                Some(version) => {
                    println!("ok: {} runs on this host ({version})", file.display());
                    println!("contract: {version}");
                }
                None => {
                    let handler = ty
                        .exports(&engine)
                        .map(|(n, _)| n.to_owned())
                        .find(|n| n.starts_with("wasi:http/incoming-handler@"))
                        .unwrap_or_default();
                    println!(
                        "ok: {} runs on this host (an HTTP guest: it exports {handler}; HTTP events reach it as requests)",
                        file.display()
                    );
                    println!("kind: http ({handler})");
                    if pre.one_event_per_instance() {
                        println!(
                            "instances: one request per instance (the guest exports {ONE_REQUEST_PER_INSTANCE_EXPORT}): each event gets a fresh instance"
                        );
                    }
                }
            }
            println!("imports: {}", imports.join(", "));
            Ok(true)
        }
        Err(error) => {
            println!(
                "error: {} cannot run on this host: {error:#}",
                file.display()
            );
            Ok(false)
        }
    }
}
