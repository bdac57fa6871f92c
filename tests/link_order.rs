//! The functions a start runs sit together at the start of the host's code
//! (`host/link-order.txt`, recorded by `scripts/link-order.sh`, handed to
//! lld by `host/build.rs`).
//!
//! The test: the linker honours the list (another linker or a build.rs
//! change would silently stop it). Whether the list still names this
//! build's functions is a benchmark figure (`host-bench link-order`), not a
//! test: a stale list costs start-up time, it does not make the host wrong,
//! and any dependency update renames some of it.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::path::Path;

use wasm_lambda_tests::link_order::{Placed, functions, listed};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

#[test]
fn the_linker_packs_the_listed_functions_together_in_order() {
    let functions = functions(Path::new(HOST)).unwrap();
    let placed: Vec<Placed> = listed()
        .iter()
        .filter_map(|name| functions.get(*name).copied())
        .collect();
    // Enough of the list is in this build for the check to mean something
    // (the benchmark reports the share; even a wasmtime update keeps most).
    assert!(
        placed.len() >= 100,
        "only {} of the {} listed functions are in this build: run scripts/link-order.sh",
        placed.len(),
        listed().len()
    );
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
