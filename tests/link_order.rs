//! The functions a start runs sit together at the start of the host's code
//! (`host/link-order.txt`, recorded by `scripts/link-order.sh`, handed to
//! lld by `host/build.rs`).
//!
//! Two ways this quietly stops working, each a test: the list goes stale
//! (a dependency or feature change renames symbols: run the script again),
//! or the linker stops honouring it (another linker, a build.rs change).
//! The symbol table is read with `nm` (binutils, beside the C toolchain).
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::collections::{HashMap, HashSet};
use std::process::Command;

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");
const ORDER: &str = include_str!("../host/link-order.txt");

/// A function's place in the binary.
#[derive(Debug, Clone, Copy)]
struct Placed {
    address: u64,
    size: u64,
}

/// The host binary's defined functions, by symbol name.
fn functions() -> HashMap<String, Placed> {
    let output = Command::new("nm")
        .args(["--defined-only", "--print-size", HOST])
        .output()
        .expect("running nm");
    assert!(output.status.success(), "nm failed");
    String::from_utf8(output.stdout)
        .expect("nm prints text")
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
        .collect()
}

fn listed() -> Vec<&'static str> {
    ORDER.lines().filter(|line| !line.is_empty()).collect()
}

/// A name without the `.llvm.<hash>` suffix LLVM gives a local function it
/// promotes across codegen units. The hash is of the codegen unit's whole
/// module, so any edit to it (here a doc comment in `forest.rs` was
/// enough) renames every such function in it; they are ~11% of the list.
/// lld then leaves those few out of the packed start (the rest keep their
/// places); the list is stale only when functions themselves are gone.
fn without_llvm_suffix(name: &str) -> &str {
    match name.rsplit_once(".llvm.") {
        Some((base, hash)) if hash.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

#[test]
fn the_list_names_this_builds_functions() {
    let functions: HashSet<String> = functions()
        .keys()
        .map(|name| without_llvm_suffix(name).to_owned())
        .collect();
    let listed = listed();
    assert!(listed.len() > 1000, "only {} names listed", listed.len());
    let missing: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|name| !functions.contains(without_llvm_suffix(name)))
        .collect();
    // A few may go with code changes (a renamed function, a new generic
    // instance); many means a dependency or its features changed.
    assert!(
        missing.len() * 20 <= listed.len(),
        "{} of the {} functions in host/link-order.txt are not in this build \
         (run scripts/link-order.sh); for example {:?}",
        missing.len(),
        listed.len(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn the_linker_packs_the_listed_functions_together_in_order() {
    let functions = functions();
    let placed: Vec<Placed> = listed()
        .iter()
        .filter_map(|name| functions.get(*name).copied())
        .collect();
    let total: u64 = placed.iter().map(|f| f.size).sum();
    let start = placed.iter().map(|f| f.address).min().unwrap_or(0);
    let end = placed.iter().map(|f| f.address + f.size).max().unwrap_or(0);
    // Packed: the span they occupy is their size plus alignment padding.
    // Unordered, they are spread over the whole 40 MB of code.
    assert!(
        end - start <= total + total / 4,
        "the {} listed functions ({total} bytes) span {} bytes: is lld given host/link-order.txt?",
        placed.len(),
        end - start
    );
    // And in the list's order (a function with an alias or folded with an
    // identical one may sit at its twin's place; nearly all are in order).
    let in_order = placed
        .windows(2)
        .filter(|pair| pair[0].address < pair[1].address)
        .count();
    assert!(
        in_order * 100 >= (placed.len() - 1) * 95,
        "only {in_order} of {} neighbours in the list are in address order",
        placed.len() - 1
    );
}
