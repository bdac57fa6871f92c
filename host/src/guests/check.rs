//! Whether the host can run a component: contract version, exports,
//! imports.

use anyhow::{Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::guests::contract::{ContractVersion, GuestPre, WIT_PACKAGE};
use crate::guests::state::GuestState;

/// Interfaces of our package a guest may import (every version has them).
const IMPORTABLE: &[&str] = &["host", "models", "types"];

/// Checks a compiled component and returns its pre-instantiated template,
/// which knows the contract version the guest was built for.
///
/// # Errors
/// Explains what is wrong: a version this host does not serve, the
/// `function` export missing, or imports this host does not provide.
pub fn check(
    engine: &Engine,
    linker: &Linker<GuestState>,
    component: &Component,
) -> Result<GuestPre> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let served = ContractVersion::served_list();

    // The version first: a guest built for another version usually also
    // lacks the export this host looks for, and the version is the useful
    // answer. The export names it; a guest without it may still say
    // through its imports.
    let ours = our_imports(&imports);
    let export_prefix = format!("{WIT_PACKAGE}/function@");
    let function_export = exports.iter().find(|e| e.starts_with(&export_prefix));
    let version = match function_export {
        Some(export) => {
            let text = &export[export_prefix.len()..];
            ContractVersion::parse(text).ok_or_else(|| {
                anyhow::anyhow!(
                    "wrong WIT version: the guest exports `{export}`, this host serves {served}; rebuild it with a matching wasm-lambda-sdk"
                )
            })?
        }
        None => {
            if let Some((import, _, version)) = ours
                .iter()
                .find(|(_, _, v)| ContractVersion::parse(v).is_none())
            {
                bail!(
                    "wrong WIT version: the guest imports `{import}` ({version}), this host serves {served}"
                );
            }
            bail!(
                "missing export `{WIT_PACKAGE}/function@{}`: build the guest with wasm-lambda-sdk and `export_function!` (it exports: {})",
                ContractVersion::NEWEST.as_str(),
                list(&exports)
            );
        }
    };

    for &(import, interface, imported) in &ours {
        if imported != version.as_str() {
            bail!(
                "mixed WIT versions: the guest exports `{WIT_PACKAGE}/function@{}` but imports `{import}`; build it with one wasm-lambda-sdk",
                version.as_str()
            );
        }
        if !IMPORTABLE.contains(&interface) {
            bail!("unknown import `{import}`: {version} has no interface `{interface}`");
        }
    }

    let unknown: Vec<String> = imports
        .iter()
        .filter(|i| !i.starts_with("wasi:") && !i.starts_with(WIT_PACKAGE))
        .map(|i| format!("`{i}`"))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "unknown import{} {}: guests may import only WASI preview 2 and {served}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", ")
        );
    }

    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| anyhow::anyhow!("imports this host cannot provide: {e:#}"))?;
    GuestPre::new(version, pre)
        .map_err(|e| anyhow::anyhow!("the guest's exports do not match {version}: {e:#}"))
}

/// The guest's imports of our package: `(import, interface, version)`.
fn our_imports(imports: &[String]) -> Vec<(&str, &str, &str)> {
    let prefix = format!("{WIT_PACKAGE}/");
    imports
        .iter()
        .filter_map(|import| {
            let rest = import.strip_prefix(&prefix)?;
            let (interface, version) = rest.split_once('@').unwrap_or((rest, "no version"));
            Some((import.as_str(), interface, version))
        })
        .collect()
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}
