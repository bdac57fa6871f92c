//! Builds every guest (the examples and `tests/guests/*`) once for
//! `wasm32-wasip2`, so tests never run cargo themselves.
//!
//! The guests get their own target dir (`target/guests`): the outer cargo
//! holds the lock on the main one while this script runs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_path_buf();
    let target_dir = root.join("target").join("guests");

    let mut packages = Vec::new();
    for folder in [root.join("examples"), manifest_dir.join("guests")] {
        println!("cargo:rerun-if-changed={}", folder.display());
        packages.extend(guest_packages(&folder));
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("guest-sdk").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    for package in &packages {
        command.args(["-p", package]);
    }
    // Flags meant for the host build must not leak into the guests'.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let output = command
        .output()
        .expect("running cargo to build the test guests");
    if !output.status.success() {
        panic!(
            "building the guests for wasm32-wasip2 failed (is the target installed? see rust-toolchain.toml):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wasm_dir = target_dir.join("wasm32-wasip2").join("release");
    build_guests_with(&root, &wasm_dir, "build-python-guests.sh", "Python");
    build_guests_with(&root, &wasm_dir, "build-js-guests.sh", "JavaScript");
    println!(
        "cargo:rustc-env=WASM_LAMBDA_TEST_WASM_DIR={}",
        wasm_dir.display()
    );
    println!("cargo:rustc-env=WASM_LAMBDA_WORKSPACE={}", root.display());
}

/// The guests in other languages, into the same folder as the Rust ones,
/// by their build scripts: the Python ones (`examples/*/app.py`,
/// `tests/guests/*/app.py`) by `scripts/build-python-guests.sh` (the
/// Python SDK and componentize-py in `.venv`), the JavaScript and
/// TypeScript ones (`app.ts`, `app.js`) by `scripts/build-js-guests.sh`
/// (the JS SDK's and the guests' npm packages); `scripts/setup.sh`
/// installs both.
fn build_guests_with(root: &Path, wasm_dir: &Path, script: &str, language: &str) {
    let script = root.join("scripts").join(script);
    println!("cargo:rerun-if-changed={}", script.display());
    let output = Command::new("bash")
        .arg(&script)
        .arg(wasm_dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    if !output.status.success() {
        panic!(
            "building the {language} guests failed (run scripts/setup.sh first):\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Package names of the guest crates directly under `folder`.
fn guest_packages(folder: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}
