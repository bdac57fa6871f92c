//! ONNX's own backend node tests, as `models/conformance.py` stored them
//! (models/conformance: the one-node model, its inputs, the expected
//! outputs; summary.json: each test's outcome): every test recorded as
//! passed still answers what ONNX expects, every one recorded as refused is
//! still refused, none is recorded as failed, and the table in
//! docs/models.md says what summary.json says.

use std::collections::BTreeMap;

use serde_json::Value;
use wasm_lambda_host::models::onnx_model::OnnxModel;
use wasm_lambda_host::models::tensor_json::{tensor_from_json, tensor_to_json};
use wasm_lambda_tests::workspace_root;

/// ONNX's backend tolerance.
const RTOL: f64 = 1e-3;
const ATOL: f64 = 1e-7;

fn read(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A stored float: a number, `null` (NaN) or `"inf"` / `"-inf"`.
fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Null => Some(f64::NAN),
        Value::String(s) if s == "inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-inf" => Some(f64::NEG_INFINITY),
        other => other.as_f64(),
    }
}

/// Whether `got` matches `want` (answers write every non-finite float as
/// `null`, which matches any of them).
fn matches(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| matches(g, w))
        }
        (Value::String(g), Value::String(w)) if w != "inf" && w != "-inf" => g == w,
        (Value::Bool(g), Value::Bool(w)) => g == w,
        (Value::Bool(g), Value::Number(w)) => w.as_f64() == Some(f64::from(u8::from(*g))),
        _ => match (float_of(got), float_of(want)) {
            (Some(g), Some(w)) if g.is_nan() => !w.is_finite(),
            (Some(g), Some(w)) => (g - w).abs() <= ATOL + RTOL * w.abs() || g == w,
            _ => false,
        },
    }
}

/// Runs one stored test: `Ok` with the outputs' agreement, `Err` with the
/// host's refusal.
fn run(name: &str) -> Result<Vec<(String, bool)>, String> {
    let folder = workspace_root().join("models/conformance");
    let bytes = std::fs::read(folder.join(format!("{name}.onnx"))).unwrap();
    let stored = read(&folder.join(format!("{name}.json")));
    let model = OnnxModel::load(&bytes, &Default::default()).map_err(|e| format!("{e:#}"))?;
    let inputs = stored["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(input, nested)| {
            let signature = model
                .inputs
                .iter()
                .find(|s| s.name == *input)
                .ok_or_else(|| format!("no input {input}"))?;
            let tensor =
                tensor_from_json(nested, signature.datum_type).map_err(|e| format!("{e:#}"))?;
            Ok((input.clone(), tensor))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let outputs = model.run(inputs).map_err(|e| e.to_string())?;
    // An output JSON cannot carry is the command's refusal too.
    let answers: BTreeMap<String, Value> = outputs
        .iter()
        .map(|(name, tensor)| {
            tensor_to_json(tensor)
                .map(|json| (name.clone(), json))
                .map_err(|e| format!("output {name}: {e:#}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(stored["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(output, want)| {
            let agrees = answers.get(output).is_some_and(|got| matches(got, want));
            (output.clone(), agrees)
        })
        .collect())
}

#[test]
fn onnx_node_tests_pass_or_are_refused_as_recorded_and_the_docs_say_so() {
    let folder = workspace_root().join("models/conformance");
    let summary = read(&folder.join("summary.json"));
    let summary = summary.as_object().unwrap();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut operators = std::collections::BTreeSet::new();
    let mut checked = 0;
    for (name, entry) in summary {
        let outcome = entry["outcome"].as_str().unwrap();
        *counts.entry(outcome).or_default() += 1;
        operators.insert(entry["operator"].as_str().unwrap());
        assert_ne!(
            outcome, "failed",
            "{name}: a wrong answer is recorded: {entry}"
        );
        // Tests refused before the host saw them (an input JSON cannot
        // carry) have no stored files.
        if !folder.join(format!("{name}.onnx")).exists() {
            assert_eq!(outcome, "refused", "{name}: no stored test");
            continue;
        }
        checked += 1;
        match (outcome, run(name)) {
            ("passed", Ok(outputs)) => {
                for (output, agrees) in outputs {
                    assert!(agrees, "{name}: output {output} no longer matches ONNX's");
                }
            }
            ("passed", Err(reason)) => panic!("{name} passed, now refused: {reason}"),
            ("refused", Err(_)) => {}
            ("refused", Ok(outputs)) => {
                // Refused by the command (an output JSON cannot carry, say)
                // but answered in process: only if it is right.
                for (output, agrees) in outputs {
                    assert!(agrees, "{name}: output {output} answered wrong");
                }
            }
            (other, _) => panic!("{name}: unknown outcome {other}"),
        }
    }
    assert!(checked >= 200, "{checked} stored tests");
    assert!(
        counts.get("passed").copied().unwrap_or(0) >= 200,
        "{counts:?}"
    );
    // Every ai.onnx.ml operator ONNX has node tests for passes them all.
    for entry in summary.values() {
        if [
            "ArrayFeatureExtractor",
            "Binarizer",
            "LabelEncoder",
            "TreeEnsemble",
        ]
        .contains(&entry["operator"].as_str().unwrap())
        {
            assert_eq!(entry["outcome"], "passed", "{entry}");
        }
    }
    let totals = format!(
        "{} tests of {} operators: {} passed, {} refused, {} failed.",
        summary.len(),
        operators.len(),
        counts.get("passed").copied().unwrap_or(0),
        counts.get("refused").copied().unwrap_or(0),
        counts.get("failed").copied().unwrap_or(0),
    );
    let page = std::fs::read_to_string(workspace_root().join("docs/models.md")).unwrap();
    assert!(
        page.contains(&totals),
        "docs/models.md's conformance table is out of date (want \"{totals}\"); run models/conformance.py"
    );
}
