//! ONNX models: our outputs against onnxruntime's stored references, the
//! `models`/`infer` commands, and guests calling models through the host
//! (typed and general APIs, every error as a value, budgets, load failures).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use wasm_lambda_host::models::onnx_model::OnnxModel;
use wasm_lambda_host::models::tensor_json::{tensor_from_json, tensor_to_json};
use wasm_lambda_host::runtime::invocation::{Invocation, InvocationError};
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::{WasmHost, init::InitReport};
use wasm_lambda_tests::{GuestFolder, model_file, model_reference, workspace_root};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

/// Every model the generator writes; each must have a reference.
const REFERENCE_MODELS: &[&str] = &[
    "seed_forest",
    "large_forest",
    "forest_regressor",
    "forest_regressor_v5",
    "boosting_binary",
    "boosting_multiclass",
    "boosting_regressor",
    "mlp",
    "mlp_wide",
];

/// 1e-5 relative; values within 1e-7 of zero are compared absolutely.
fn assert_close(name: &str, output: &str, got: &Value, expected: &Value) {
    match (got, expected) {
        (Value::Array(g), Value::Array(e)) => {
            assert_eq!(g.len(), e.len(), "{name}.{output}: lengths");
            for (g, e) in g.iter().zip(e) {
                assert_close(name, output, g, e);
            }
        }
        (Value::Number(g), Value::Number(e)) => {
            let (g, e) = (g.as_f64().unwrap(), e.as_f64().unwrap());
            let ok = (g - e).abs() <= 1e-5 * e.abs() || (g - e).abs() <= 1e-7;
            assert!(ok, "{name}.{output}: {g} vs onnxruntime {e}");
        }
        _ => panic!("{name}.{output}: {got} vs {expected}"),
    }
}

fn settings(folder: &GuestFolder) -> Settings {
    Settings::new(folder.guests(), folder.models(), folder.cache())
}

fn start(folder: &GuestFolder) -> (WasmHost, InitReport) {
    WasmHost::init(settings(folder)).expect("init")
}

fn call(host: &WasmHost, guest: &str, event: Value) -> Result<Value, InvocationError> {
    let invocation = Invocation {
        request_id: "models".into(),
        deadline: SystemTime::now() + Duration::from_secs(30),
        invoked_function_arn: String::new(),
        caller: Default::default(),
    };
    let event = json!({ "guest": guest, "event": event }).to_string();
    host.dispatch(event.as_bytes(), &invocation)
        .map(|r| serde_json::from_slice(&r.body).expect("JSON answer"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(HOST)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_reference_model_matches_onnxruntime() {
    for name in REFERENCE_MODELS {
        let bytes = std::fs::read(model_file(name)).unwrap();
        let model = OnnxModel::load(&bytes, &Default::default())
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let reference = model_reference(name);
        let inputs = reference["inputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(input, nested)| {
                let signature = model.inputs.iter().find(|s| s.name == *input).unwrap();
                (
                    input.clone(),
                    tensor_from_json(nested, signature.datum_type).unwrap(),
                )
            })
            .collect();
        let outputs = model.run(inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = reference["outputs"].as_object().unwrap();
        assert_eq!(
            outputs.len(),
            expected.len(),
            "{name}: every output comes back"
        );
        for (output, tensor) in &outputs {
            let got = tensor_to_json(tensor).unwrap();
            let want = &expected[output.as_str()];
            if output == "label" {
                assert_eq!(&got, want, "{name}: labels");
            } else {
                assert_close(name, output, &got, want);
            }
        }
    }
}

#[test]
fn batches_of_any_size_answer_exactly_what_single_rows_answer() {
    for name in [
        "large_forest",
        "boosting_multiclass",
        "forest_regressor",
        "forest_regressor_v5",
        "mlp",
    ] {
        let bytes = std::fs::read(model_file(name)).unwrap();
        let model = OnnxModel::load(&bytes, &Default::default()).unwrap();
        let rows = model_reference(name)["inputs"]["input"]
            .as_array()
            .unwrap()
            .clone();
        // 131 rows: several blocks, and a remainder that is not a multiple of 4.
        let batch: Vec<Value> = rows.iter().cycle().take(131).cloned().collect();
        let run = |rows: Vec<Value>| {
            let tensor = tensor_from_json(&Value::Array(rows), model.inputs[0].datum_type).unwrap();
            let outputs = model.run(vec![("input".into(), tensor)]).unwrap();
            outputs
                .iter()
                .map(|(_, t)| tensor_to_json(t).unwrap())
                .collect::<Vec<_>>()
        };
        let together = run(batch.clone());
        for (i, row) in batch.iter().enumerate().step_by(7) {
            let alone = run(vec![row.clone()]);
            for (output, single) in together.iter().zip(&alone) {
                assert_eq!(output[i], single[0], "{name} row {i}");
            }
        }
    }
}

/// A batch of `size` rows cycled from the `name` model's reference inputs,
/// run once: its outputs by name.
fn run_batch(name: &str, model: &OnnxModel, size: usize) -> serde_json::Map<String, Value> {
    let rows = model_reference(name)["inputs"]["input"]
        .as_array()
        .unwrap()
        .clone();
    let batch: Vec<Value> = rows.iter().cycle().take(size).cloned().collect();
    let tensor = tensor_from_json(&Value::Array(batch), model.inputs[0].datum_type).unwrap();
    model
        .run(vec![("input".into(), tensor)])
        .unwrap()
        .iter()
        .map(|(name, t)| (name.clone(), tensor_to_json(t).unwrap()))
        .collect()
}

#[test]
fn a_model_with_a_large_dense_layer_gets_a_plan_for_a_batch_size_it_keeps_running() {
    use wasm_lambda_host::models::batch_plans::{MAX_PLANS, MIN_ROWS};
    // mlp_wide's 256 × 128 layer is more than a small dense layer: tract's
    // matrix multiply runs it.
    let bytes = std::fs::read(model_file("mlp_wide")).unwrap();
    let run_wide = |model: &OnnxModel, size| run_batch("mlp_wide", model, size);
    let model = OnnxModel::load(&bytes, &Default::default()).unwrap();
    // The general plan's answers, from a second model that never runs a
    // size twice.
    let general = OnnxModel::load(&bytes, &Default::default()).unwrap();
    let expected = run_wide(&general, 64);
    assert!(general.batch_plan_sizes().is_empty());

    let first = run_wide(&model, 64);
    assert!(
        model.batch_plan_sizes().is_empty(),
        "a size seen once keeps the general plan"
    );
    let second = run_wide(&model, 64);
    assert_eq!(model.batch_plan_sizes(), [64], "made on the second run");
    let third = run_wide(&model, 64);
    for answers in [&first, &second, &third] {
        assert_eq!(answers["label"], expected["label"]);
        assert_close(
            "mlp_wide",
            "probabilities",
            &answers["probabilities"],
            &expected["probabilities"],
        );
    }
    // Single rows never get one; at most MAX_PLANS sizes do.
    for _ in 0..3 {
        run_wide(&model, MIN_ROWS - 1);
    }
    for size in (65..).take(MAX_PLANS + 2) {
        run_wide(&model, size);
        run_wide(&model, size);
    }
    let sizes = model.batch_plan_sizes();
    assert_eq!(sizes.len(), MAX_PLANS, "{sizes:?}");
    assert!(sizes.iter().all(|size| *size >= MIN_ROWS), "{sizes:?}");
    // Past the limit a size runs on the general plan, with the same answers.
    let past_limit = 65 + MAX_PLANS + 1;
    let answers = run_wide(&model, past_limit);
    assert_eq!(answers["label"], run_wide(&general, past_limit)["label"]);

    // The small MLP is all small dense layers: ours, for every batch size.
    let mlp = OnnxModel::load(
        &std::fs::read(model_file("mlp")).unwrap(),
        &Default::default(),
    )
    .unwrap();
    for _ in 0..3 {
        run_batch("mlp", &mlp, 64);
    }
    assert!(mlp.batch_plan_sizes().is_empty());

    // A tree ensemble is our own operator, the same for every batch size.
    let forest = OnnxModel::load(
        &std::fs::read(model_file("forest_regressor")).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let rows = model_reference("forest_regressor")["inputs"]["input"].clone();
    for _ in 0..3 {
        let tensor = tensor_from_json(&rows, forest.inputs[0].datum_type).unwrap();
        forest.run(vec![("input".into(), tensor)]).unwrap();
    }
    assert!(forest.batch_plan_sizes().is_empty());
}
#[test]
fn infer_command_answers_the_seed_request_from_argument_file_and_stdin() {
    let seed = model_file("seed_forest");
    let expected = &model_reference("seed_forest")["outputs"];
    let folder = GuestFolder::new("infer-cli");
    let input_file = folder.root().join("input.json");
    std::fs::write(&input_file, r#"{"input": [[0, 0, 0, 0]]}"#).unwrap();
    let seed_arg = seed.to_str().unwrap();
    for output in [
        run(&["infer", seed_arg, r#"{"input": [[0, 0, 0, 0]]}"#], None),
        run(&["infer", seed_arg, input_file.to_str().unwrap()], None),
        run(
            &["infer", seed_arg, "-"],
            Some(r#"{"input": [[0, 0, 0, 0]]}"#),
        ),
    ] {
        assert!(output.status.success(), "{}", text(&output.stderr));
        let answer: Value = serde_json::from_str(text(&output.stdout).trim()).unwrap();
        // The seed's request is classified 1, as its app.py answers.
        assert_eq!(answer["label"], json!([1]));
        assert_close(
            "seed_forest",
            "probabilities",
            &answer["probabilities"],
            &json!([expected["probabilities"][0]]),
        );
    }
    let wrong = run(&["infer", seed_arg, r#"{"input": [[0, 0, 0]]}"#], None);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("must have shape [N, 4], got [1, 3]"),
        "{}",
        text(&wrong.stderr)
    );
    let unknown = run(
        &["infer", seed_arg, r#"{"features": [[0, 0, 0, 0]]}"#],
        None,
    );
    assert!(
        text(&unknown.stderr).contains("unknown input `features`"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn models_command_lists_every_model_and_flags_broken_ones() {
    let output = run(
        &["models", workspace_root().join("models").to_str().unwrap()],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listing = text(&output.stdout);
    for needle in [
        "seed_forest (loaded in",
        "input  input: float32[N, 4]",
        "output label: int64[N]",
        "output probabilities: float32[N, 2]",
        "large_forest (loaded in",
        "output probabilities: float32[N, 3]",
        "output variable: float32[N, 1]",
    ] {
        assert!(
            listing.contains(needle),
            "missing `{needle}` in:\n{listing}"
        );
    }

    let seed = std::fs::read(model_file("seed_forest")).unwrap();
    let folder = GuestFolder::new("models-cli")
        .with_model("seed_forest", "good")
        .with_model_file("truncated.onnx", &seed[..seed.len() / 3])
        .with_model_file("models.toml", "[models.good.inputs]\ninput = [1, 4]\n");
    let output = run(&["models", folder.models().to_str().unwrap()], None);
    assert!(
        !output.status.success(),
        "a broken model makes the listing fail"
    );
    let listing = text(&output.stdout);
    assert!(
        listing.contains("input  input: float32[1, 4]"),
        "models.toml fixes the shape:\n{listing}"
    );
    assert!(listing.contains("truncated: failed to load: "), "{listing}");
}

#[test]
fn classifier_example_answers_the_seed_request() {
    let folder = GuestFolder::new("classifier")
        .with_guest("classifier", "classifier")
        .with_model("seed_forest", "seed_forest");
    let (host, report) = start(&folder);
    assert!(report.models.iter().all(|m| m.outcome.is_ok()));
    let reference = model_reference("seed_forest");
    let answer = call(&host, "classifier", json!({"data": [0, 0, 0, 0]})).unwrap();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["body"], 1);
    assert_close(
        "classifier",
        "probabilities",
        &answer["probabilities"],
        &reference["outputs"]["probabilities"][0],
    );

    let rows = &reference["inputs"]["input"];
    let batch = call(&host, "classifier", json!({"data": rows})).unwrap();
    assert_eq!(batch["body"], reference["outputs"]["label"]);

    let error = call(&host, "classifier", json!({"data": [1, 2]})).unwrap_err();
    assert_eq!(error.error_type(), "GuestError");
    assert!(
        error.to_string().contains("ValidationError") && error.to_string().contains("[N, 4]"),
        "{error}"
    );
}

#[test]
fn typed_sdk_calls_match_the_references() {
    let folder = GuestFolder::new("typed")
        .with_guest("probe", "model-probe")
        .with_model("seed_forest", "seed_forest")
        .with_model("forest_regressor", "forest_regressor");
    let (host, _) = start(&folder);
    let seed = model_reference("seed_forest");
    let classified = call(
        &host,
        "probe",
        json!({"model": "seed_forest", "task": "classify", "rows": seed["inputs"]["input"]}),
    )
    .unwrap();
    assert_eq!(classified["labels"], seed["outputs"]["label"]);
    assert_close(
        "seed_forest",
        "probabilities",
        &classified["probabilities"],
        &seed["outputs"]["probabilities"],
    );

    let regressor = model_reference("forest_regressor");
    let predicted = call(
        &host,
        "probe",
        json!({"model": "forest_regressor", "task": "predict", "rows": regressor["inputs"]["input"]}),
    )
    .unwrap();
    assert_close(
        "forest_regressor",
        "variable",
        &predicted["values"],
        &regressor["outputs"]["variable"],
    );
}

#[test]
fn guest_model_errors_come_back_as_values_and_the_guest_keeps_serving() {
    let folder = GuestFolder::new("model-errors")
        .with_guest("probe", "model-probe")
        .with_guest("outsider", "model-probe")
        .with_guest("narrow", "model-probe")
        .with_model("seed_forest", "forest")
        .with_model("mlp", "mlp")
        .with_model_file(
            "models.toml",
            "[models.mlp]\nguests = [\"probe\", \"narrow\"]\n",
        )
        .with_file("guests.toml", "[guests.narrow]\nmodels = [\"mlp\"]\n");
    let (host, _) = start(&folder);
    let input = |shape: Value, element: &str, data: Value| json!({"name": "input", "shape": shape, "type": element, "data": data});
    let good = json!({"model": "forest", "inputs": [input(json!([1, 4]), "float32", json!([0, 0, 0, 0]))]});
    let cases = [
        (
            json!({"model": "nope", "inputs": []}),
            "probe",
            "UnknownModel",
            "no model `nope`; models: forest, mlp",
        ),
        (
            json!({"model": "forest", "inputs": [input(json!([1, 3]), "float32", json!([0, 0, 0]))]}),
            "probe",
            "InvalidInput",
            "must have shape [N, 4], got [1, 3]",
        ),
        (
            json!({"model": "forest", "inputs": [input(json!([1, 4]), "int64", json!([0, 0, 0, 0]))]}),
            "probe",
            "InvalidInput",
            "must be float32, got int64",
        ),
        (
            json!({"model": "forest", "inputs": [input(json!([2, 4]), "float32", json!([0, 0, 0, 0]))]}),
            "probe",
            "InvalidInput",
            "has shape [2, 4] but 4 elements",
        ),
        (
            json!({"model": "forest", "inputs": []}),
            "probe",
            "InvalidInput",
            "missing input `input`",
        ),
        (
            json!({"model": "mlp", "inputs": [input(json!([1, 8]), "float32", json!([0, 0, 0, 0, 0, 0, 0, 0]))]}),
            "outsider",
            "NotAllowed",
            "models.toml",
        ),
        (good.clone(), "narrow", "NotAllowed", "guests.toml"),
    ];
    for (event, guest, kind, needle) in cases {
        let answer = call(&host, guest, event.clone()).unwrap_or_else(|e| panic!("{event}: {e}"));
        assert_eq!(answer["error"], kind, "{event}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{event}: {answer}"
        );
        let next = call(&host, guest, good.clone()).unwrap();
        if guest != "narrow" {
            assert_eq!(
                next["outputs"][0]["data"],
                json!([1]),
                "after {event}: {next}"
            );
        }
    }
    // The allowed pairs work: `probe` may use mlp, `narrow` may use mlp.
    let mlp = json!({"model": "mlp", "inputs": [input(json!([1, 8]), "float32", json!([0, 0, 0, 0, 0, 0, 0, 0]))]});
    for guest in ["probe", "narrow"] {
        let answer = call(&host, guest, mlp.clone()).unwrap();
        assert_eq!(answer["outputs"][0]["name"], "label", "{guest}: {answer}");
        assert_eq!(
            answer["outputs"][1]["shape"],
            json!([1, 3]),
            "{guest}: {answer}"
        );
    }
}

#[test]
fn model_calls_count_against_the_guest_time_budget() {
    let folder = GuestFolder::new("model-budget")
        .with_guest("probe", "model-probe")
        .with_model("large_forest", "large_forest")
        .with_file("guests.toml", "[guests.probe]\ntimeout_ms = 200\n");
    let (host, _) = start(&folder);
    let row: Vec<f32> = vec![0.0; 20];
    let event = json!({"model": "large_forest", "repeat": 10_000_000,
        "inputs": [{"name": "input", "shape": [1, 20], "type": "float32", "data": row}]});
    let started = Instant::now();
    let error = call(&host, "probe", event).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(error.error_type(), "GuestTimeout", "{error}");
    assert!(
        elapsed < Duration::from_millis(200 + 250),
        "stopped {elapsed:?} after a 200 ms budget"
    );
    let again = json!({"model": "large_forest", "inputs": [{"name": "input", "shape": [1, 20], "type": "float32", "data": vec![0.0f32; 20]}]});
    assert!(
        call(&host, "probe", again).unwrap()["outputs"].is_array(),
        "the guest serves again"
    );
}

#[test]
fn broken_models_are_reported_while_good_models_and_guests_serve() {
    let seed = std::fs::read(model_file("seed_forest")).unwrap();
    let outside = GuestFolder::new("models-outside").with_model("seed_forest", "escape");
    let folder = GuestFolder::new("models-broken")
        .with_guest("probe", "model-probe")
        .with_model("seed_forest", "forest")
        .with_model("seed_forest", "pinned")
        .with_model_file("truncated.onnx", &seed[..seed.len() / 2])
        .with_model_file(
            "garbage.onnx",
            b"\x08\x07\x12\x04junk\xff\xff\xff garbage that is not protobuf",
        )
        .with_model_file("empty.onnx", b"")
        .with_model_file("bad name.onnx", &seed)
        .with_model_file(
            "models.toml",
            format!("[models.pinned]\nsha256 = \"{}\"\n", "ab".repeat(32)),
        );
    std::os::unix::fs::symlink(
        outside.models().join("escape.onnx"),
        folder.models().join("escape.onnx"),
    )
    .unwrap();
    let (host, report) = start(&folder);
    let outcome = |name: &str| {
        report
            .models
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.outcome.clone())
    };
    assert!(outcome("bad name").is_none(), "invalid names are skipped");
    assert!(matches!(outcome("forest"), Some(Ok(_))));
    for (name, needle) in [
        ("truncated", "not a loadable ONNX model"),
        ("garbage", "not a loadable ONNX model"),
        (
            "empty",
            "not a loadable ONNX model: model proto does not contain a graph",
        ),
        ("pinned", "sha256 mismatch"),
        ("escape", "outside the folder"),
    ] {
        let reason = outcome(name)
            .unwrap_or_else(|| panic!("{name} not reported"))
            .unwrap_err();
        assert!(reason.contains(needle), "{name}: {reason}");
        let answer = call(
            &host,
            "probe",
            json!({"model": name, "inputs": [
            {"name": "input", "shape": [1, 4], "type": "float32", "data": [0, 0, 0, 0]}]}),
        )
        .unwrap();
        assert_eq!(answer["error"], "Failed", "{name}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("failed to load"),
            "{name}: {answer}"
        );
    }
    let good = call(
        &host,
        "probe",
        json!({"model": "forest", "inputs": [
        {"name": "input", "shape": [1, 4], "type": "float32", "data": [0, 0, 0, 0]}]}),
    )
    .unwrap();
    assert_eq!(good["outputs"][0]["data"], json!([1]));
}

#[test]
fn strict_mode_and_broken_models_toml_fail_init() {
    let folder = GuestFolder::new("models-strict")
        .with_guest("hello", "hello")
        .with_model("seed_forest", "forest")
        .with_model_file("broken.onnx", b"not onnx");
    let mut strict = settings(&folder);
    strict.strict = true;
    let error = WasmHost::init(strict).err().expect("strict init fails");
    assert_eq!(error.error_type(), "InitError.ModelsUnavailable");
    assert!(error.to_string().contains("broken"), "{error}");
    assert!(
        WasmHost::init(settings(&folder)).is_ok(),
        "without strict mode the host serves"
    );

    let manifest = GuestFolder::new("models-toml")
        .with_guest("hello", "hello")
        .with_model_file("models.toml", "[models");
    assert_eq!(
        WasmHost::init(settings(&manifest))
            .err()
            .unwrap()
            .error_type(),
        "InitError.ManifestInvalid"
    );
}
