//! The coverage matrix's string and text pipelines (string categories,
//! TF-IDF and counts of words and characters), called from guests: the
//! Rust SDK's string tensors (`model-probe`) and the Python SDK's nested
//! lists of strings (`py-probe`), each model's reference rows in one call
//! under the real host and emulator, the answers against onnxruntime's.

use std::path::Path;

use serde_json::{Value, json};
use wasm_lambda_tests::{GuestFolder, Lambda, workspace_root};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

/// The matched coverage cases with a string input: (file, reference).
fn string_cases() -> Vec<(String, Value)> {
    let folder = workspace_root().join("models/coverage");
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(folder.join(name)).unwrap()).unwrap()
    };
    let matrix = read("matrix.json");
    matrix["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["matches"] == true)
        .filter_map(|case| {
            let file = case["file"].as_str()?.to_owned();
            let reference = read(&format!("{file}.reference.json"));
            let has_strings = reference["inputs"]
                .as_object()?
                .values()
                .any(|rows| rows[0][0].is_string());
            has_strings.then_some((file, reference))
        })
        .collect()
}

/// `|got - want| <= 1e-5 + 1e-5 |want|` (the matrix's tolerance), labels equal.
fn assert_close(what: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{what}: {got} vs {want}");
            for (g, w) in g.iter().zip(w) {
                assert_close(what, g, w);
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!(
                (g - w).abs() <= 1e-5 + 1e-5 * w.abs(),
                "{what}: {g} vs onnxruntime {w}"
            );
        }
        _ => assert_eq!(got, want, "{what}"),
    }
}

/// The nested rows as the model-probe's flat tensors.
fn probe_inputs(inputs: &Value) -> Value {
    let tensors: Vec<Value> = inputs
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, rows)| {
            let rows = rows.as_array().unwrap();
            let width = rows[0].as_array().unwrap().len();
            let data: Vec<Value> = rows
                .iter()
                .flat_map(|row| row.as_array().unwrap().clone())
                .collect();
            let element = if data[0].is_string() {
                "string"
            } else {
                "float32"
            };
            json!({"name": name, "shape": [rows.len(), width], "type": element, "data": data})
        })
        .collect();
    Value::Array(tensors)
}

#[test]
fn string_and_text_pipelines_answer_like_onnxruntime_from_rust_and_python_guests() {
    let cases = string_cases();
    assert!(cases.len() >= 10, "{} string and text cases", cases.len());
    let mut folder = GuestFolder::new("text-guests")
        .with_guest("model-probe", "model-probe")
        .with_precompiled_guest("py-probe", "py-probe", Path::new(HOST));
    // Short names: some files' names are longer than a model name may be.
    let named: Vec<(String, &String, &Value)> = cases
        .iter()
        .enumerate()
        .map(|(i, (file, reference))| (format!("text_case_{i}"), file, reference))
        .collect();
    for (model, file, _) in &named {
        let bytes =
            std::fs::read(workspace_root().join(format!("models/coverage/{file}.onnx"))).unwrap();
        folder = folder.with_model_file(&format!("{model}.onnx"), bytes);
    }
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    for (model, file, reference) in &named {
        let expected = reference["outputs"].as_object().unwrap();

        let rust = lambda
            .emulator
            .invoke(&json!({"guest": "model-probe", "event": {
                "model": model, "inputs": probe_inputs(&reference["inputs"]),
            }}))
            .answer();
        let outputs = rust["outputs"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: {rust}"));
        for (name, want) in expected {
            let got = outputs
                .iter()
                .find(|o| o["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{file}: no output {name} in {rust}"));
            // Flat data against the reference's rows, flattened.
            let flat: Vec<Value> = want
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_else(|| vec![row.clone()]))
                .collect();
            assert_close(
                &format!("{file}.{name} (Rust)"),
                &got["data"],
                &Value::Array(flat),
            );
        }

        let python = lambda
            .emulator
            .invoke(&json!({"guest": "py-probe", "event": {
                "mode": "infer-named", "model": model, "inputs": reference["inputs"],
            }}))
            .answer();
        for (name, want) in expected {
            assert_close(&format!("{file}.{name} (Python)"), &python[name], want);
        }
    }
}
