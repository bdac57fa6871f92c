//! Whether the host can run a component: WIT version, exports, imports.

use anyhow::{Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::guests::bindings::GuestPre;
use crate::guests::state::GuestState;

/// The WIT package guests are built against.
pub const WIT_PACKAGE: &str = "wasm-lambda:guest";
/// The WIT version this host serves.
pub const WIT_VERSION: &str = "0.1.0";

/// Interfaces of our package a guest may import.
const IMPORTABLE: &[&str] = &["host", "models", "types"];

/// Checks a compiled component and returns its pre-instantiated template.
///
/// # Errors
/// Explains what is wrong: another WIT version, the `function` export
/// missing, or imports this host does not provide.
pub fn check(
    engine: &Engine,
    linker: &Linker<GuestState>,
    component: &Component,
) -> Result<GuestPre<GuestState>> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();

    // Versions first: a guest built for another WIT version usually also
    // lacks this version's export, and the version is the useful answer.
    for import in &imports {
        if let Some(rest) = import.strip_prefix(&format!("{WIT_PACKAGE}/")) {
            let (interface, version) = rest.split_once('@').unwrap_or((rest, "none"));
            if version != WIT_VERSION {
                bail!(
                    "wrong WIT version: the guest imports `{import}`, this host serves {WIT_PACKAGE}@{WIT_VERSION}"
                );
            }
            if !IMPORTABLE.contains(&interface) {
                bail!(
                    "unknown import `{import}`: {WIT_PACKAGE}@{WIT_VERSION} has no interface `{interface}`"
                );
            }
        }
    }

    let wanted_export = format!("{WIT_PACKAGE}/function@{WIT_VERSION}");
    if !exports.contains(&wanted_export) {
        if let Some(other) = exports
            .iter()
            .find(|e| e.starts_with(&format!("{WIT_PACKAGE}/function@")))
        {
            bail!(
                "wrong WIT version: the guest exports `{other}`, this host serves {WIT_PACKAGE}@{WIT_VERSION}; rebuild it with a matching wasm-lambda-sdk"
            );
        }
        bail!(
            "missing export `{wanted_export}`: build the guest with wasm-lambda-sdk and `export_function!` (it exports: {})",
            list(&exports)
        );
    }

    let unknown: Vec<String> = imports
        .iter()
        .filter(|i| !i.starts_with("wasi:") && !i.starts_with(WIT_PACKAGE))
        .map(|i| format!("`{i}`"))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "unknown import{} {}: guests may import only WASI preview 2 and {WIT_PACKAGE}@{WIT_VERSION}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", ")
        );
    }

    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| anyhow::anyhow!("imports this host cannot provide: {e:#}"))?;
    GuestPre::new(pre).map_err(|e| {
        anyhow::anyhow!("the guest's exports do not match {WIT_PACKAGE}@{WIT_VERSION}: {e:#}")
    })
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}
