//! Links the `wasm-lambda-host` binary as a position-dependent executable
//! on Linux.
//!
//! Why: a position-independent executable has to be relocated by the
//! dynamic loader at every start. This binary is large (wasmtime with
//! Cranelift, tract, rustls, the S3 and HTTP clients), so that is about
//! 117,000 relative relocations that write to ~1.7 MB of `.data.rel.ro`,
//! one copy-on-write page fault per 4 KB page: measured 6.1 ms →
//! 2.5 ms for `wasm-lambda-host --version` (BENCHMARKS.md, "One guest"),
//! and every Lambda cold start pays it before `main` runs. The code itself
//! is still compiled position-independent (the linker resolves those
//! addresses once, at link time); what is lost is randomising the
//! executable's own load address. Shared libraries, heap, stacks and guest
//! code mappings stay randomised, and the container runs in Lambda's
//! Firecracker micro-VM, one function per VM.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
