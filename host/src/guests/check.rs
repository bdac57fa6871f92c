//! Whether the host can run a component: contract version, exports,
//! imports. A component that exports `wasi:http/incoming-handler` rather
//! than our `function` is an HTTP guest.

use anyhow::{Result, bail};
use wasmtime::Engine;
use wasmtime::component::{Component, InstancePre, Linker};

use crate::guests::contract::{
    ContractVersion, GuestPre, ONE_REQUEST_PER_INSTANCE_EXPORT, WIT_PACKAGE,
};
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
        None if let Some(handler) = exports.iter().find(|e| is_incoming_handler(e)) => {
            let one_request_per_instance =
                exports.iter().any(|e| e == ONE_REQUEST_PER_INSTANCE_EXPORT);
            return check_http(
                linker,
                component,
                handler,
                &imports,
                &ours,
                one_request_per_instance,
            );
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
                "missing export `{WIT_PACKAGE}/function@{}` (an SDK guest) or `wasi:http/incoming-handler@0.2` (an HTTP guest): build the guest with wasm-lambda-sdk and `export_function!` (it exports: {})",
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

    if let Some(unknown) = foreign_imports(&imports) {
        bail!("{unknown}: guests may import only WASI preview 2 and {served}");
    }

    let pre = instantiate_pre(linker, component)?;
    GuestPre::new(version, pre)
        .map_err(|e| anyhow::anyhow!("the guest's exports do not match {version}: {e:#}"))
}

/// `wasi:http/incoming-handler@0.2.x`: what makes a component an HTTP
/// guest (wasmtime matches any 0.2 patch version to the one it serves).
fn is_incoming_handler(export: &str) -> bool {
    export
        .strip_prefix("wasi:http/incoming-handler@0.2")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Checks an HTTP guest: it may import WASI preview 2 (wasi:http's
/// outgoing handler included, with the same allow-list as SDK guests) and
/// the host interfaces of a served contract version; anything else (a
/// Spin or wasmCloud interface) is named and refused.
fn check_http(
    linker: &Linker<GuestState>,
    component: &Component,
    handler: &str,
    imports: &[String],
    ours: &[(&str, &str, &str)],
    one_request_per_instance: bool,
) -> Result<GuestPre> {
    let served = ContractVersion::served_list();
    for &(import, interface, version) in ours {
        if ContractVersion::parse(version).is_none() || !IMPORTABLE.contains(&interface) {
            bail!(
                "unknown import `{import}`: an HTTP guest may import only WASI preview 2 and {served}"
            );
        }
    }
    if let Some(unknown) = foreign_imports(imports) {
        bail!(
            "{unknown}: this HTTP guest (it exports `{handler}`) was built for another host; on wasm-lambda an HTTP guest may import only WASI preview 2 (wasi:http, wasi:cli, wasi:io, wasi:clocks, wasi:random, …) and {served}"
        );
    }
    let pre = instantiate_pre(linker, component)?;
    GuestPre::http(pre, one_request_per_instance).map_err(|e| {
        anyhow::anyhow!("`{handler}` is not the wasi:http incoming handler this host serves (wasi:http 0.2): {e:#}")
    })
}

/// "unknown import(s) `a`, `b`" for imports neither WASI nor ours (another
/// host's interfaces), if there are any.
fn foreign_imports(imports: &[String]) -> Option<String> {
    let unknown: Vec<String> = imports
        .iter()
        .filter(|i| !i.starts_with("wasi:") && !i.starts_with(WIT_PACKAGE))
        .map(|i| format!("`{i}`"))
        .collect();
    (!unknown.is_empty()).then(|| {
        let plural = if unknown.len() > 1 { "s" } else { "" };
        format!("unknown import{plural} {}", unknown.join(", "))
    })
}

/// The component linked against the host's imports, ready to instantiate.
fn instantiate_pre(
    linker: &Linker<GuestState>,
    component: &Component,
) -> Result<InstancePre<GuestState>> {
    linker
        .instantiate_pre(component)
        .map_err(|e| anyhow::anyhow!("imports this host cannot provide: {e:#}"))
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
