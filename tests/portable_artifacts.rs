//! Precompiled guests load on the CPUs Lambda runs on, whatever machine
//! made them: the real host binary, run on other x86_64 CPUs by qemu-user
//! (`qemu-x86_64 -cpu MODEL`, installed by `scripts/setup.sh`).
//!
//! - EPYC-Rome (AMD Zen 2: AVX2, no AVX-512) and Haswell have the x86-64-v3
//!   baseline: a `.cwasm` made anywhere must load there.
//! - Nehalem (SSE4.2, no AVX) is below it: the host must say so once,
//!   compile for that CPU, and serve.
//! - An aarch64 `.cwasm` is AArch64 code and is refused, with the reason,
//!   by an x86_64 host.
#![cfg(target_arch = "x86_64")]

use std::process::{Command, Output};

use serde_json::Value;
use wasm_lambda_tests::GuestFolder;

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

/// Runs the host binary, natively or on an emulated CPU model.
fn host(cpu: Option<&str>, args: &[&str], folder: &GuestFolder) -> Output {
    let mut command = match cpu {
        Some(model) => {
            let mut command = Command::new("qemu-x86_64");
            command.args(["-cpu", model, HOST]);
            command
        }
        None => Command::new(HOST),
    };
    command
        .args(args)
        .env("WASM_LAMBDA_GUESTS", folder.guests())
        .env("WASM_LAMBDA_CACHE", folder.cache())
        .env("WASM_LAMBDA_MODELS", folder.models())
        .env("RUST_LOG", "info")
        .env_remove("WASM_LAMBDA_STRICT")
        .env_remove("WASM_LAMBDA_DEFAULT_GUEST");
    command.output().unwrap_or_else(|e| {
        panic!("running {command:?} (is qemu-user installed? scripts/setup.sh installs it): {e}")
    })
}

fn log(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn precompile(cpu: Option<&str>, folder: &GuestFolder, target: Option<&str>) {
    let guests = folder.guests();
    let mut args = vec!["precompile"];
    if let Some(target) = target {
        args.extend(["--target", target]);
    }
    args.push(guests.to_str().unwrap());
    let output = host(cpu, &args, folder);
    assert!(output.status.success(), "precompile: {}", log(&output));
}

/// Invokes `hello` and returns the init log; asserts the answer.
fn invoke_hello(cpu: Option<&str>, folder: &GuestFolder) -> String {
    let event = folder.root().join("event.json");
    std::fs::write(&event, r#"{"name": "Lambda"}"#).unwrap();
    let output = host(cpu, &["invoke", "hello", event.to_str().unwrap()], folder);
    let log = log(&output);
    assert!(output.status.success(), "{cpu:?}: {log}");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["message"], "Hello, Lambda!", "{cpu:?}: {log}");
    log
}

fn origin_of_hello(log: &str) -> &str {
    let line = log
        .lines()
        .find(|l| l.contains("guest ready") && l.contains("guest=hello"))
        .unwrap_or_else(|| panic!("no ready line for hello: {log}"));
    ["precompiled", "cache", "compiled"]
        .into_iter()
        .find(|origin| {
            line.contains(&format!("origin=\"{origin}\""))
                || line.contains(&format!("origin={origin}"))
        })
        .unwrap_or_else(|| panic!("no origin in {line}"))
}

#[test]
fn a_cwasm_made_here_loads_on_lambda_class_cpus() {
    let folder = GuestFolder::new("portable-here").with_guest("hello", "hello");
    precompile(None, &folder, None);
    for cpu in ["EPYC-Rome", "Haswell"] {
        let log = invoke_hello(Some(cpu), &folder);
        assert_eq!(origin_of_hello(&log), "precompiled", "{cpu}: {log}");
        assert!(!log.contains("not using"), "{cpu}: {log}");
    }
}

#[test]
fn a_cwasm_made_on_an_old_cpu_still_targets_the_baseline() {
    // Precompiling on a CPU without AVX must not bake that CPU in either.
    let folder = GuestFolder::new("portable-old-builder").with_guest("hello", "hello");
    precompile(Some("Nehalem"), &folder, None);
    let log = invoke_hello(None, &folder);
    assert_eq!(origin_of_hello(&log), "precompiled", "{log}");
    let log = invoke_hello(Some("EPYC-Rome"), &folder);
    assert_eq!(origin_of_hello(&log), "precompiled", "{log}");
}

#[test]
fn a_cpu_below_the_baseline_compiles_at_init_and_says_why_once() {
    let folder = GuestFolder::new("portable-below").with_guest("hello", "hello");
    precompile(None, &folder, None);
    let log = invoke_hello(Some("Nehalem"), &folder);
    assert_eq!(origin_of_hello(&log), "compiled", "{log}");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("lacks") && l.contains("x86-64-v3"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("avx2"), "{}", warnings[0]);
    assert!(
        log.contains("another engine configuration"),
        "the unused .cwasm is explained: {log}"
    );
}

#[test]
fn an_aarch64_cwasm_is_arm_code_and_refused_here() {
    let folder = GuestFolder::new("portable-arm").with_guest("hello", "hello");
    precompile(None, &folder, Some("arm64"));
    let cwasm = std::fs::read(folder.guests().join("hello.cwasm")).unwrap();
    assert_eq!(&cwasm[..4], b"\x7fELF", "wasmtime artifacts are ELF");
    assert_eq!(cwasm[4], 2, "64-bit");
    assert_eq!(
        u16::from_le_bytes([cwasm[18], cwasm[19]]),
        183,
        "EM_AARCH64"
    );

    let log = invoke_hello(None, &folder);
    assert_eq!(origin_of_hello(&log), "compiled", "{log}");
    assert!(
        log.contains("it was compiled for aarch64, this host runs x86_64"),
        "{log}"
    );
    // The x86_64 artifact replaces it, and is used.
    precompile(None, &folder, Some("x86_64"));
    let cwasm = std::fs::read(folder.guests().join("hello.cwasm")).unwrap();
    assert_eq!(u16::from_le_bytes([cwasm[18], cwasm[19]]), 62, "EM_X86_64");
    assert_eq!(origin_of_hello(&invoke_hello(None, &folder)), "precompiled");
}

#[test]
fn stale_artifacts_say_why_they_are_not_used() {
    let folder = GuestFolder::new("portable-stale").with_guest("hello", "hello");
    precompile(None, &folder, None);
    let path = folder.guests().join("hello.cwasm");
    let mut bytes = std::fs::read(&path).unwrap();
    // Damage wasmtime's part (its ELF header): the trailer still matches,
    // so the load itself must refuse it.
    bytes[..4].copy_from_slice(b"JUNK");
    std::fs::write(&path, &bytes).unwrap();
    let log = invoke_hello(None, &folder);
    assert_eq!(origin_of_hello(&log), "compiled", "{log}");
    assert!(log.contains("it is damaged"), "{log}");
    assert!(log.contains(&path.display().to_string()), "{log}");
}

#[test]
fn dense_models_answer_their_references_on_cpus_with_and_without_avx2() {
    // The small dense layers (host/src/models/small_dense.rs) run AVX2+FMA
    // code where the CPU has them and portable loops elsewhere; tract picks
    // its own kernels by CPU too. Both must answer what onnxruntime did.
    let folder = GuestFolder::new("portable-models");
    for name in ["mlp", "mlp_wide"] {
        let reference = wasm_lambda_tests::model_reference(name);
        let input = folder.root().join(format!("{name}.json"));
        std::fs::write(&input, reference["inputs"].to_string()).unwrap();
        let model = wasm_lambda_tests::model_file(name);
        for cpu in [None, Some("Nehalem"), Some("EPYC-Rome")] {
            let output = host(
                cpu,
                &["infer", model.to_str().unwrap(), input.to_str().unwrap()],
                &folder,
            );
            assert!(
                output.status.success(),
                "{name} on {cpu:?}: {}",
                log(&output)
            );
            let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
            let expected = &reference["outputs"];
            assert_eq!(answer["label"], expected["label"], "{name} on {cpu:?}");
            let flat = |v: &Value| -> Vec<f64> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
                    .collect()
            };
            let (got, want) = (
                flat(&answer["probabilities"]),
                flat(&expected["probabilities"]),
            );
            assert_eq!(got.len(), want.len(), "{name} on {cpu:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1e-2),
                    "{name} on {cpu:?}: {g} vs {w}"
                );
            }
        }
    }
}
