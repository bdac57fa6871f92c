//! The start-order list (`host/link-order.txt`) against a host binary's
//! symbol table: the test that lld packed the listed functions, and the
//! benchmark's report of how much of the list a build still has.
//!
//! The symbol table is read with `nm` (binutils, beside the C toolchain).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, ensure};

/// The list, as committed.
pub const ORDER: &str = include_str!("../../host/link-order.txt");

/// A function's place in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    /// Its address.
    pub address: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// The binary's defined functions, by symbol name.
///
/// # Errors
/// `nm` cannot be run or fails on the file.
pub fn functions(binary: &Path) -> Result<HashMap<String, Placed>> {
    let output = Command::new("nm")
        .args(["--defined-only", "--print-size"])
        .arg(binary)
        .output()
        .context("running nm")?;
    ensure!(output.status.success(), "nm failed on {}", binary.display());
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [address, size, kind, name] = fields[..] else {
                return None;
            };
            if !matches!(kind, "t" | "T" | "w" | "W") {
                return None;
            }
            Some((
                name.to_owned(),
                Placed {
                    address: u64::from_str_radix(address, 16).ok()?,
                    size: u64::from_str_radix(size, 16).ok()?,
                },
            ))
        })
        .collect())
}

/// The listed names, in order.
pub fn listed() -> Vec<&'static str> {
    ORDER.lines().filter(|line| !line.is_empty()).collect()
}

/// A name without the `.llvm.<hash>` suffix LLVM gives a local function it
/// promotes across codegen units. The hash is of the codegen unit's whole
/// module, so any edit to it (a doc comment in `forest.rs` was enough)
/// renames every such function in it; they are ~11% of the list. lld then
/// leaves those few out of the packed start (the rest keep their places);
/// the list is stale only when functions themselves are gone.
pub fn without_llvm_suffix(name: &str) -> &str {
    match name.rsplit_once(".llvm.") {
        Some((base, hash)) if hash.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}
