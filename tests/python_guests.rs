//! Python guests, built with the Python SDK (`guest-sdk/python`) by the
//! build step, precompiled by the real host binary, and run by it under
//! cargo-lambda's Runtime API emulator: the `classifier-py` example (seed
//! 004's `app.py`, ported) and `py-probe`, which exercises every service.

use std::path::Path;

use serde_json::{Value, json};
use wasm_lambda_tests::{GuestFolder, Lambda, S3Server, model_reference};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn envelope(guest: &str, event: Value) -> Value {
    json!({ "guest": guest, "event": event })
}

/// A deployment with the probe (config `greeting = "hola"`) and the models
/// it calls.
fn probe_folder(label: &str) -> GuestFolder {
    GuestFolder::new(label)
        .with_precompiled_guest("py-probe", "py-probe", Path::new(HOST))
        .with_file(
            "guests.toml",
            "[guests.py-probe.config]\ngreeting = \"hola\"\n",
        )
        .with_model("seed_forest", "seed_forest")
        .with_model("forest_regressor", "forest_regressor")
}

fn probe(lambda: &Lambda, event: Value) -> Value {
    lambda
        .emulator
        .invoke(&envelope("py-probe", event))
        .answer()
}

#[test]
fn the_example_answers_seed_004s_request_beside_the_rust_guests() {
    let folder = GuestFolder::new("py-example")
        .with_precompiled_guest("classifier-py", "classifier-py", Path::new(HOST))
        .with_guest("classifier", "classifier")
        .with_guest("hello", "hello")
        .with_model("seed_forest", "seed_forest");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    let log = lambda.host.log();
    assert!(
        log.contains("guest ready") && log.contains(r#"guest=classifier-py origin="precompiled""#),
        "the Python guest loads from its .cwasm: {log}"
    );

    // Seed 004's request and answer, the model served by the host.
    let answer = lambda
        .emulator
        .invoke(&envelope("classifier-py", json!({"data": [0, 0, 0, 0]})))
        .answer();
    assert_eq!(answer, json!({"statusCode": 200, "body": 1}));

    // The same rows through the Rust classifier in the same host agree.
    let rows = json!([
        [0, 0, 0, 0],
        [2.5, -1, 0.3, 4],
        [-3, 2, 1, -0.5],
        [0.1, 0.2, -2, 1]
    ]);
    let python = lambda
        .emulator
        .invoke(&envelope("classifier-py", json!({"data": rows})))
        .answer();
    let rust = lambda
        .emulator
        .invoke(&envelope("classifier", json!({"data": rows})))
        .answer();
    assert_eq!(python["body"], rust["body"], "{python} vs {rust}");
    assert_eq!(python["body"].as_array().map(Vec::len), Some(4));

    // A bad request is the guest's own error, and the next one works.
    let bad = lambda
        .emulator
        .invoke(&envelope("classifier-py", json!({"data": [0, 0, 0]})));
    assert_eq!(bad.error_type(), "GuestError");
    assert!(
        bad.error_message().contains("(ValidationError)")
            && bad.error_message().contains("shape [N, 4]"),
        "{}",
        bad.error_message()
    );
    let hello = lambda
        .emulator
        .invoke(&envelope("hello", json!({"name": "Ana"})))
        .answer();
    assert_eq!(hello["message"], "Hello, Ana!");
    let again = lambda
        .emulator
        .invoke(&envelope("classifier-py", json!({"data": [0, 0, 0, 0]})))
        .answer();
    assert_eq!(again["body"], 1);
}

#[test]
fn module_state_persists_across_warm_invocations_and_the_context_is_complete() {
    let folder = probe_folder("py-state");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    let mut request_ids = Vec::new();
    for n in 1..=5u64 {
        let answer = probe(&lambda, json!({"mode": "count"}));
        assert_eq!(answer["handled"], n, "{answer}");
        assert_eq!(
            answer["initialized"], 1,
            "init runs once per instance: {answer}"
        );
        let ctx = &answer["context"];
        assert_eq!(ctx["cold"], n == 1, "{ctx}");
        assert_eq!(ctx["events_handled"], n - 1, "{ctx}");
        assert_eq!(ctx["guest_name"], "py-probe");
        assert_eq!(ctx["function_name"], "wasm-lambda-test");
        assert_eq!(ctx["function_version"], "1");
        assert_eq!(ctx["memory_limit_in_mb"], 128);
        assert_eq!(ctx["aws_request_id"], ctx["request_id"]);
        let remaining = ctx["remaining_ms"].as_u64().unwrap_or_default();
        assert!(
            remaining > 0 && remaining <= 900_000,
            "remaining time from Lambda's deadline: {ctx}"
        );
        request_ids.push(ctx["request_id"].as_str().unwrap_or_default().to_owned());
    }
    request_ids.sort();
    request_ids.dedup();
    assert_eq!(
        request_ids.len(),
        5,
        "each invocation has its own request id"
    );
}

#[test]
fn guest_errors_and_uncaught_exceptions_answer_clearly_and_the_next_event_works() {
    let folder = probe_folder("py-errors");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    assert_eq!(probe(&lambda, json!({"mode": "count"}))["handled"], 1);

    let raised = lambda
        .emulator
        .invoke(&envelope("py-probe", json!({"mode": "guest-error"})));
    assert_eq!(raised.error_type(), "GuestError");
    assert_eq!(
        raised.error_message(),
        "guest `py-probe` returned an error (ValidationError): quantity must be positive"
    );

    let crashed = lambda
        .emulator
        .invoke(&envelope("py-probe", json!({"mode": "crash"})));
    assert_eq!(crashed.error_type(), "GuestError");
    assert!(
        crashed.error_message().contains("(KeyError)")
            && crashed.error_message().contains("'missing'")
            && crashed.error_message().contains("uncaught in handle"),
        "{}",
        crashed.error_message()
    );
    let log = lambda.host.wait_for_log("uncaught KeyError in handle");
    let traceback: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("uncaught KeyError in handle"))
        .take_while(|l| !l.contains("requestId="))
        .collect();
    let text = traceback.join("\n");
    assert!(
        text.contains("Traceback (most recent call last)")
            && text.contains("app.py\", line")
            && text.contains("in handle")
            && !text.contains("_glue.py"),
        "the app's own traceback is logged: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("KeyError: 'missing'") && l.contains(r#"guest="py-probe""#)),
        "the traceback is tagged with the guest: {log}"
    );

    let unserialisable = lambda
        .emulator
        .invoke(&envelope("py-probe", json!({"mode": "not-json"})));
    assert_eq!(unserialisable.error_type(), "GuestError");
    assert!(
        unserialisable.error_message().contains("(InvalidOutput)"),
        "{}",
        unserialisable.error_message()
    );

    // Only modules imported at build time are in the guest (docs/guests-python.md).
    let lazy = lambda
        .emulator
        .invoke(&envelope("py-probe", json!({"mode": "lazy-import"})));
    assert_eq!(lazy.error_type(), "GuestError");
    assert!(
        lazy.error_message()
            .contains("(ModuleNotFoundError): No module named 'decimal'"),
        "{}",
        lazy.error_message()
    );

    // None of it was a trap: the same instance answers, its state intact.
    let answer = probe(&lambda, json!({"mode": "count"}));
    assert_eq!(answer["handled"], 6, "{answer}");
    assert_eq!(answer["initialized"], 1, "{answer}");
}

#[test]
fn a_warmer_ping_runs_the_warm_hook_and_never_handle() {
    let folder = probe_folder("py-warm");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    assert_eq!(probe(&lambda, json!({"mode": "count"}))["handled"], 1);
    for ping in 1..=2u64 {
        let answer = lambda
            .emulator
            .invoke(&json!({"warmer": true, "concurrency": 3, "correlation_id": "py-check"}))
            .answer();
        let warm = &answer["guests"]["py-probe"];
        assert_eq!(warm["ok"], true, "{answer}");
        assert_eq!(warm["answer"]["pings"], ping, "{answer}");
        assert_eq!(warm["answer"]["handled"], 1, "handle never ran: {answer}");
        assert_eq!(warm["answer"]["correlation_id"], "py-check");
        assert_eq!(warm["answer"]["concurrency"], 3);
        assert_eq!(warm["answer"]["environment"], answer["environment"]);
    }
    let answer = probe(&lambda, json!({"mode": "count"}));
    assert_eq!(
        (answer["handled"].as_u64(), answer["pings"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn logs_config_and_bundled_dependencies_work() {
    let folder = probe_folder("py-services");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);

    let answer = probe(&lambda, json!({"mode": "log"}));
    let request_id = answer["request_id"].as_str().unwrap_or_default().to_owned();
    assert!(!request_id.is_empty(), "{answer}");
    let log = lambda.host.wait_for_log("probe printed");
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .to_owned()
    };
    let info = line("probe info for");
    assert!(
        info.contains("INFO")
            && info.contains(&format!("probe info for {request_id}"))
            && info.contains(r#"guest="py-probe""#)
            && info.contains(&format!(r#"requestId="{request_id}""#)),
        "{log}"
    );
    let warning = line("probe warning through logging");
    assert!(
        warning.contains("WARN") && warning.contains(r#"guest="py-probe""#),
        "Python's logging module lands as WARN: {log}"
    );
    assert!(
        line("probe printed").contains(r#"stream="stdout""#),
        "{log}"
    );

    let config = probe(&lambda, json!({"mode": "config"}));
    assert_eq!(
        config,
        json!({"greeting": "hola", "missing": "fallback", "entries": {"greeting": "hola"}})
    );

    let deps = probe(&lambda, json!({"mode": "deps"}));
    assert_eq!(deps, json!({"helper": "HI!", "six": "1.17.0"}));
}

#[test]
fn models_answer_like_onnxruntime_and_their_errors_are_catchable() {
    let folder = probe_folder("py-models");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);

    // The regressor against onnxruntime's reference outputs for the same rows.
    let reference = model_reference("forest_regressor");
    let (rows, expected) = reference_rows(&reference);
    let answer = probe(
        &lambda,
        json!({"mode": "predict", "model": "forest_regressor", "rows": rows}),
    );
    let values = answer["values"].as_array().cloned().unwrap_or_default();
    assert_eq!(values.len(), expected.len(), "{answer}");
    for (got, want) in values.iter().zip(&expected) {
        let got = got[0].as_f64().unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{got} vs onnxruntime's {want}"
        );
    }

    // The general call: nested lists, array.array with a shape, no name.
    let rows = json!([[0, 0, 0, 0], [1.5, -2, 0.5, 3]]);
    let classified = probe(&lambda, json!({"mode": "classify", "rows": rows}));
    let inferred = probe(&lambda, json!({"mode": "infer", "rows": rows}));
    for way in ["nested", "array", "unnamed"] {
        assert_eq!(
            inferred[way]["label"], classified["labels"],
            "{way}: {inferred}"
        );
        assert_eq!(
            inferred[way]["probabilities"], classified["probabilities"],
            "{way}: {inferred}"
        );
    }
    let probabilities = classified["probabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(probabilities.len(), 2);
    for row in &probabilities {
        let sum: f64 = row
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .sum();
        assert!((sum - 1.0).abs() < 1e-5, "{classified}");
    }

    // Every model failure is an exception the guest catches.
    let errors = probe(&lambda, json!({"mode": "model-errors"}));
    let caught = |case: &str| {
        errors[case]["caught"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(caught("unknown"), "UnknownModel", "{errors}");
    for case in ["width", "ragged", "name", "dtype"] {
        assert_eq!(caught(case), "InvalidInput", "{case}: {errors}");
    }
    assert!(
        errors["width"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("shape [N, 4]")),
        "{errors}"
    );
    assert!(
        errors["dtype"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("float32")),
        "{errors}"
    );
    assert_eq!(
        (
            errors["is_unknown"].as_bool(),
            errors["is_invalid"].as_bool()
        ),
        (Some(true), Some(true))
    );
    // And the instance lives on.
    assert_eq!(probe(&lambda, json!({"mode": "count"}))["handled"], 5);
}

/// Rows and first-target values from a regressor's onnxruntime reference.
fn reference_rows(reference: &Value) -> (Value, Vec<f64>) {
    let inputs = reference["inputs"]
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap_or_default();
    let outputs = reference["outputs"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let expected = outputs
        .iter()
        .map(|row| {
            row.get(0)
                .and_then(Value::as_f64)
                .or_else(|| row.as_f64())
                .unwrap_or(f64::NAN)
        })
        .collect();
    (inputs, expected)
}

#[test]
fn a_published_python_guest_serves_from_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("py-releases");
    let folder = GuestFolder::new("py-publish")
        .with_guest("classifier-py", "classifier-py")
        .with_model("seed_forest", "seed_forest");
    let check = std::process::Command::new(HOST)
        .arg("check")
        .arg(folder.guests().join("classifier-py.wasm"))
        .output()
        .unwrap();
    assert!(
        check.status.success()
            && String::from_utf8_lossy(&check.stdout).contains("contract: wasm-lambda:guest@0.2.0"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let publish = std::process::Command::new(HOST)
        .arg("publish")
        .arg(folder.guests())
        .arg("s3://py-releases/guests/")
        .arg("--models")
        .arg(folder.models())
        .envs(s3.env())
        .output()
        .unwrap();
    assert!(
        publish.status.success(),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );
    let empty = GuestFolder::new("py-from-s3");
    let env: Vec<(String, String)> = s3.release_env("s3://py-releases/guests/");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let lambda = Lambda::start(Path::new(HOST), &empty, &env);
    let log = lambda.host.log();
    assert!(
        log.contains("precompiled=1") && log.contains(" compiled=0"),
        "the release's .cwasm is used, nothing compiled at init: {log}"
    );
    let answer = lambda
        .emulator
        .invoke(&envelope("classifier-py", json!({"data": [0, 0, 0, 0]})))
        .answer();
    assert_eq!(answer, json!({"statusCode": 200, "body": 1}));
}
