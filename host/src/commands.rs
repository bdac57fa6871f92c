//! The command-line tools beside the runtime loop: `precompile`, `invoke`, `check`.

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};

use crate::artifact;
use crate::engine::shared_engine;
use crate::guest_check::{self, WIT_PACKAGE, WIT_VERSION, guest_linker};
use crate::guest_loader;
use crate::invocation::Invocation;
use crate::settings::Settings;
use crate::wasm_host::WasmHost;

/// The deadline `invoke` gives an event (Lambda's maximum timeout).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// `precompile DIR`: compiles every guest in DIR to `NAME.cwasm` beside its
/// `.wasm`, with the engine settings the runtime uses.
///
/// # Errors
/// The folder or manifest cannot be read, or any guest fails to compile.
pub fn precompile(dir: &Path) -> Result<()> {
    let engine = shared_engine()?;
    let sources = guest_loader::discover(dir, &guest_loader::read_manifest(dir)?)?;
    if sources.is_empty() {
        bail!("no guests (*.wasm) in {}", dir.display());
    }
    let mut failed = 0;
    for source in &sources {
        let started = Instant::now();
        let result = std::fs::read(&source.wasm_path)
            .with_context(|| format!("reading {}", source.wasm_path.display()))
            .and_then(|wasm| {
                let digest = artifact::digest(&wasm);
                let (_, bytes) = artifact::compile(&engine, &wasm, &digest)?;
                artifact::store(&source.cwasm_path(), &bytes)?;
                Ok(bytes.len())
            });
        match result {
            Ok(size) => println!(
                "precompiled {} -> {} ({} KB, {:.0} ms)",
                source.name,
                source.cwasm_path().display(),
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

/// `invoke GUEST [EVENT_FILE|-]`: runs one event through the full host path
/// (init, route, guest) and prints the answer, or the Lambda error, as JSON.
///
/// Returns whether the invocation succeeded.
///
/// # Errors
/// Init failed or the event file cannot be read.
pub fn invoke(guest: &str, event_source: Option<&str>) -> Result<bool> {
    let payload = match event_source {
        None => b"{}".to_vec(),
        Some("-") => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .context("reading the event from stdin")?;
            buffer
        }
        Some(file) => std::fs::read(file).with_context(|| format!("reading event file {file}"))?,
    };
    let (host, report) = WasmHost::init(Settings::from_env())
        .map_err(|e| anyhow::anyhow!("init failed ({}): {e}", e.error_type()))?;
    report.log();
    if !host.guest_names().any(|name| name == guest) {
        bail!(
            "no guest `{guest}`; guests: {}",
            host.guest_names().collect::<Vec<_>>().join(", ")
        );
    }
    let invocation = Invocation {
        request_id: format!("invoke-{}", std::process::id()),
        deadline: SystemTime::now() + INVOKE_TIMEOUT,
        invoked_function_arn: String::new(),
    };
    match host.dispatch_to(guest, &payload, &invocation) {
        Ok(response) => {
            std::thread::sleep(response.hold);
            println!("{}", String::from_utf8_lossy(&response.body));
            Ok(true)
        }
        Err(error) => {
            println!("{}", error.to_json());
            Ok(false)
        }
    }
}

/// `check FILE.wasm`: says whether this host can run a guest and, if not, why.
///
/// Returns whether the guest is runnable.
///
/// # Errors
/// The file cannot be read.
pub fn check(file: &Path) -> Result<bool> {
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let engine = shared_engine()?;
    let linker = guest_linker(&engine)?;
    let verdict = wasmtime::component::Component::new(&engine, &wasm)
        .map_err(|e| anyhow::anyhow!("not a valid WebAssembly component: {e:#}"))
        .and_then(|component| guest_check::check(&engine, &linker, &component).map(|_| component));
    match verdict {
        Ok(component) => {
            let ty = component.component_type();
            let imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_owned()).collect();
            println!(
                "ok: {} runs on this host ({WIT_PACKAGE}@{WIT_VERSION})",
                file.display()
            );
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
