//! The `check` and `invoke` commands of the real binary.

use std::process::{Command, Output};

use serde_json::{Value, json};
use wasm_lambda_tests::{GuestFolder, guest_wasm, wat_components};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn run(args: &[&str], folder: Option<&GuestFolder>) -> Output {
    let mut command = Command::new(HOST);
    command.args(args);
    if let Some(folder) = folder {
        command
            .env("WASM_LAMBDA_GUESTS", folder.guests())
            .env("WASM_LAMBDA_CACHE", folder.cache())
            .env("WASM_LAMBDA_MODELS", folder.models())
            .env_remove("WASM_LAMBDA_STRICT")
            .env_remove("WASM_LAMBDA_DEFAULT_GUEST");
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_accepts_sdk_guests() {
    for guest in [
        "hello",
        "counter",
        "http-router",
        "misbehave",
        "visits",
        "fetcher",
    ] {
        let output = run(&["check", guest_wasm(guest).to_str().unwrap()], None);
        assert!(output.status.success(), "{guest}: {}", stdout(&output));
        assert!(stdout(&output).starts_with("ok:"), "{}", stdout(&output));
    }
    // Guests with outbound HTTP import the standard wasi:http interfaces.
    let output = run(&["check", guest_wasm("visits").to_str().unwrap()], None);
    assert!(
        stdout(&output).contains("wasi:http/outgoing-handler@0.2"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn check_explains_what_is_wrong() {
    let folder = GuestFolder::new("check");
    let cases = [
        (
            "noexport.wasm",
            wat_components::no_exports(),
            "missing export `wasm-lambda:guest/function@0.2.0`",
        ),
        (
            "oldhost.wasm",
            wat_components::wrong_wit_version(),
            "wrong WIT version: the guest imports `wasm-lambda:guest/host@0.9.0` (0.9.0), this host serves wasm-lambda:guest@0.1.0 and wasm-lambda:guest@0.2.0",
        ),
        (
            "newexport.wasm",
            wat_components::wrong_export_version(),
            "wrong WIT version: the guest exports `wasm-lambda:guest/function@9.0.0`, this host serves wasm-lambda:guest@0.1.0 and wasm-lambda:guest@0.2.0",
        ),
        (
            "vault.wasm",
            wat_components::unknown_import(),
            "unknown import `acme:secrets/vault@1.0.0`",
        ),
        (
            "garbage.wasm",
            b"definitely not wasm".to_vec(),
            "not a valid WebAssembly component",
        ),
    ];
    for (file, bytes, needle) in cases {
        let path = folder.guests().join(file);
        std::fs::write(&path, bytes).unwrap();
        let output = run(&["check", path.to_str().unwrap()], None);
        assert!(!output.status.success(), "{file} accepted");
        assert!(
            stdout(&output).contains(needle),
            "{file}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn invoke_runs_one_event_through_the_host() {
    let folder = GuestFolder::new("invoke")
        .with_guest("hello", "hello")
        .with_guest("misbehave", "misbehave");
    let event = folder.root().join("event.json");
    std::fs::write(&event, r#"{"name": "CLI"}"#).unwrap();
    let output = run(&["invoke", "hello", event.to_str().unwrap()], Some(&folder));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(answer["message"], "Hello, CLI!");

    std::fs::write(&event, r#"{"mode": "trap"}"#).unwrap();
    let output = run(
        &["invoke", "misbehave", event.to_str().unwrap()],
        Some(&folder),
    );
    assert!(!output.status.success());
    let error: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(error["errorType"], "GuestTrapped");

    let output = run(&["invoke", "nobody"], Some(&folder));
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("no guest `nobody`; guests: hello, misbehave")
    );

    std::fs::write(&event, json!({"warmer": true}).to_string()).unwrap();
    let output = run(&["invoke", "hello", event.to_str().unwrap()], Some(&folder));
    let ping: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(ping["warmed"], true);
}

#[test]
fn invoke_serves_the_classifier_with_its_model() {
    let folder = GuestFolder::new("invoke-classifier")
        .with_guest("classifier", "classifier")
        .with_model("seed_forest", "seed_forest");
    let event = folder.root().join("event.json");
    std::fs::write(&event, r#"{"data": [0, 0, 0, 0]}"#).unwrap();
    let output = Command::new(HOST)
        .args(["invoke", "classifier", event.to_str().unwrap()])
        .env("WASM_LAMBDA_GUESTS", folder.guests())
        .env("WASM_LAMBDA_CACHE", folder.cache())
        .env("WASM_LAMBDA_MODELS", folder.models())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["body"], 1);
    assert_eq!(answer["probabilities"].as_array().map(Vec::len), Some(2));
}

#[test]
fn runtime_mode_without_a_runtime_api_says_so() {
    let output = Command::new(HOST)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("AWS_LAMBDA_RUNTIME_API is not set"));
    let usage = run(&["bogus"], None);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn every_command_has_help_and_misuse_exits_with_2() {
    for command in ["precompile", "invoke", "check", "models", "infer"] {
        let help = run(&[command, "--help"], None);
        assert!(help.status.success(), "{command} --help");
        let text = stdout(&help);
        assert!(
            text.contains("Usage: wasm-lambda-host"),
            "{command}: {text}"
        );
    }
    let help = stdout(&run(&["--help"], None));
    for variable in [
        "WASM_LAMBDA_GUESTS",
        "WASM_LAMBDA_CACHE",
        "AWS_LAMBDA_RUNTIME_API",
    ] {
        assert!(
            help.contains(variable),
            "{variable} missing from --help: {help}"
        );
    }
    assert!(stdout(&run(&["precompile", "--help"], None)).contains("--target <ARCH>"));
    for args in [
        &["precompile"][..],
        &["precompile", "--target", "mips", "guests"],
        &["check"],
        &["invoke"],
        &["models", "a", "b"],
        &["--no-such-flag"],
    ] {
        let output = run(args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn guest_traps_never_carry_the_host_backtrace() {
    let folder = GuestFolder::new("backtrace").with_guest("misbehave", "misbehave");
    let event = folder.root().join("event.json");
    std::fs::write(&event, r#"{"mode": "trap"}"#).unwrap();
    // RUST_BACKTRACE=1 as when debugging; RUST_LIB_BACKTRACE=1 also forces
    // wasmtime's errors to capture the host stack.
    for lib_backtrace in [None, Some("1")] {
        let mut command = Command::new(HOST);
        command
            .args(["invoke", "misbehave", event.to_str().unwrap()])
            .env("WASM_LAMBDA_GUESTS", folder.guests())
            .env("WASM_LAMBDA_CACHE", folder.cache())
            .env("WASM_LAMBDA_MODELS", folder.models())
            .env("RUST_BACKTRACE", "1");
        match lib_backtrace {
            Some(value) => command.env("RUST_LIB_BACKTRACE", value),
            None => command.env_remove("RUST_LIB_BACKTRACE"),
        };
        let output = command.output().unwrap();
        let error: Value = serde_json::from_str(stdout(&output).trim()).unwrap();
        assert_eq!(error["errorType"], "GuestTrapped");
        let message = error["errorMessage"].as_str().unwrap();
        assert!(message.contains("wasm backtrace"), "{message}");
        assert!(message.contains("misbehave"), "{message}");
        for host_frame in [
            "Stack backtrace",
            "wasm_lambda_host::",
            "wasmtime::runtime",
            "std::rt",
        ] {
            assert!(
                !message.contains(host_frame),
                "{host_frame} in the guest's error ({lib_backtrace:?}): {message}"
            );
        }
    }
}
