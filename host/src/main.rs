//! `wasm-lambda-host`: the Lambda `bootstrap`, and its tools.

use std::process::ExitCode;

mod glibc_compat;

use clap::Parser as _;
use wasm_lambda_host::commands::cli::{Cli, Command};
use wasm_lambda_host::commands::{
    check, invoke, keygen, models, precompile, publish, releases, warm,
};
use wasm_lambda_host::runtime::{
    logging, runtime_api::RuntimeApi, runtime_loop, settings::Settings,
};

fn main() -> ExitCode {
    keep_host_backtraces_out_of_errors();
    grow_heaps_in_larger_steps();
    // Usage errors print clap's message and exit with 2.
    let cli = Cli::parse();
    logging::init();
    let result = match cli.command {
        None => run_runtime(),
        Some(Command::Precompile { target, dir }) => {
            precompile::precompile(&dir, target).map(|()| true)
        }
        Some(Command::Invoke { guest, event }) => {
            invoke::invoke(Settings::from_env(), &guest, event.as_deref())
        }
        Some(Command::Check { file }) => check::check(&file),
        Some(Command::Publish {
            sign,
            models,
            dir,
            to,
        }) => publish::publish(&publish::PublishRequest {
            dir: &dir,
            to: &to,
            models: models.as_deref(),
            sign: sign.as_deref(),
        }),
        Some(Command::Releases { location }) => releases::list(&location).map(|()| true),
        Some(Command::Rollback {
            sign,
            location,
            release,
        }) => releases::rollback(&location, &release, sign.as_deref()).map(|()| true),
        Some(Command::Refresh { sign, location }) => {
            releases::refresh(&location, &sign).map(|()| true)
        }
        Some(Command::Keygen { name }) => keygen::keygen(&name).map(|()| true),
        Some(Command::Warm {
            function,
            concurrency,
            delay,
            qualifier,
        }) => warm::warm(&warm::WarmRequest {
            function: &function,
            qualifier: qualifier.as_deref(),
            concurrency,
            delay_ms: delay,
        }),
        Some(Command::Models { dir }) => models::list_models(&dir),
        Some(Command::Infer {
            model,
            input,
            repeat,
        }) => models::infer(&model, input.as_deref(), repeat.unwrap_or(0)).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// With `RUST_BACKTRACE=1` (common while debugging a Rust Lambda) every
/// wasmtime error, and so every guest trap, would capture the host's native
/// stack. Guest errors never show it, so don't pay for it: library
/// backtraces stay off unless `RUST_LIB_BACKTRACE` asks for them (panics
/// still follow `RUST_BACKTRACE`).
fn keep_host_backtraces_out_of_errors() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: first thing in main, before any other thread exists.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}

/// How much more than asked glibc's malloc takes when a heap grows.
const HEAP_GROWTH_PAD_BYTES: i32 = 8 << 20;

/// Init deserializes every guest's metadata on two or more threads, and
/// glibc grows each thread's heap by its default pad (128 KB) at a time,
/// one `mprotect` each, under the process's mmap lock, which the other
/// threads' page faults then wait for: with 100 guests that was about a
/// tenth of init (BENCHMARKS.md, "Cost per guest"). A larger pad makes
/// those steps few. Untouched pages are not resident, so resident memory
/// is unchanged (measured); freed memory up to the pad stays with the heap
/// instead of being returned at once.
fn grow_heaps_in_larger_steps() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: first thing in main, before any other thread exists; mallopt
    // only changes a malloc tunable (it returns 0 if it refuses, and then
    // nothing changed).
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, HEAP_GROWTH_PAD_BYTES);
    }
}

fn run_runtime() -> anyhow::Result<bool> {
    let Some(endpoint) = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        anyhow::bail!(
            "AWS_LAMBDA_RUNTIME_API is not set: run under Lambda or a Runtime API emulator, or use `invoke`"
        );
    };
    let api = RuntimeApi::new(&endpoint)?;
    runtime_loop::run(api, Settings::from_env())?;
    Ok(true)
}
