//! Link settings for the `wasm-lambda-host` binary on Linux.
//!
//! 1. A position-dependent executable. A position-independent one has to
//!    be relocated by the dynamic loader at every start. This binary is
//!    large (wasmtime with Cranelift, tract, rustls, the S3 and HTTP
//!    clients), so that is about 117,000 relative relocations that write to
//!    ~1.7 MB of `.data.rel.ro`, one copy-on-write page fault per 4 KB
//!    page: measured 6.1 ms → 2.5 ms for `wasm-lambda-host --version`
//!    (BENCHMARKS.md, "One guest"), and every Lambda cold start pays it
//!    before `main` runs. The code itself is still compiled
//!    position-independent (the linker resolves those addresses once, at
//!    link time); what is lost is randomising the executable's own load
//!    address. Shared libraries, heap, stacks and guest code mappings stay
//!    randomised, and the container runs in Lambda's Firecracker micro-VM,
//!    one function per VM.
//!
//! 2. The functions a start runs, first and together (`link-order.txt`,
//!    recorded by `scripts/link-order.sh`, which says why). Only where the
//!    linker is rustc's own lld, the default for x86_64 Linux: GNU ld has
//!    no `--symbol-ordering-file`, and a configured linker may be either.
//!    Names the build does not have are skipped silently; the ordering
//!    test (`tests/link_order.rs`) says when too many are.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let default_lld = std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu");
    // `-C linker=…`, `-C linker-flavor=…`, `-C link-self-contained=-linker`.
    let linker_configured = std::env::var_os("RUSTC_LINKER").is_some()
        || std::env::var("CARGO_ENCODED_RUSTFLAGS").is_ok_and(|flags| flags.contains("linker"));
    if default_lld && !linker_configured {
        let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        let order = std::path::Path::new(&manifest_dir).join("link-order.txt");
        println!(
            "cargo:rustc-link-arg-bin=wasm-lambda-host=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=wasm-lambda-host=-Wl,--no-warn-symbol-ordering");
    }
}
