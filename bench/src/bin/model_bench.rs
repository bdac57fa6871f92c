//! Our side of the model benchmark (scripts/bench-models.sh): load time,
//! single-row latency, batch throughput on the same models and inputs as
//! `bench/onnxruntime_anchor.py`, plus the guest-side cost of a model call.
//! One thread throughout. Prints JSON.
//!
//!     model-bench MODELS_DIR NAME [NAME ...]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result};
use serde_json::{Map, Value, json};
use wasm_lambda_host::models::onnx_model::OnnxModel;
use wasm_lambda_host::models::tensor_json::tensor_from_json;
use wasm_lambda_host::runtime::invocation::Invocation;
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::tract_prelude::*;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::GuestFolder;

const SINGLE_ROW_CALLS: usize = 20_000;
const BATCH_ROWS: usize = 1024;
const BATCH_CALLS: usize = 50;
const LOADS: usize = 10;
const GUEST_CALLS: u64 = 20_000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, names) = args
        .split_first()
        .context("usage: model-bench MODELS_DIR NAME [NAME ...]")?;
    let dir = PathBuf::from(dir);
    let mut results = Map::new();
    for name in names {
        results.insert(name.clone(), measure(&dir, name)?);
    }
    println!("{}", Value::Object(results));
    Ok(())
}

fn measure(dir: &Path, name: &str) -> Result<Value> {
    let bytes = std::fs::read(dir.join(format!("{name}.onnx")))?;
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(
        dir.join(format!("{name}.reference.json")),
    )?)?;
    let rows = reference["inputs"]["input"]
        .as_array()
        .context("reference rows")?;

    let mut loads = Vec::new();
    let mut model = None;
    for _ in 0..LOADS {
        let started = Instant::now();
        model = Some(OnnxModel::load(&bytes, &Default::default())?);
        loads.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let model = model.context("loaded")?;
    // Floats, or strings for text models.
    let element = model
        .inputs
        .first()
        .map_or(DatumType::F32, |input| input.datum_type);

    let one_row = json!([rows[1]]);
    let single = || -> Result<Vec<(String, Tensor)>> {
        Ok(vec![(
            "input".to_string(),
            tensor_from_json(&one_row, element)?,
        )])
    };
    for _ in 0..200 {
        model.run(single()?).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut calls = Vec::with_capacity(SINGLE_ROW_CALLS);
    for _ in 0..SINGLE_ROW_CALLS {
        let inputs = single()?;
        let started = Instant::now();
        model.run(inputs).map_err(|e| anyhow::anyhow!("{e}"))?;
        calls.push(started.elapsed().as_secs_f64() * 1e6);
    }
    // The same statistic as the guest call (median of 5 means of
    // GUEST_CALLS calls, input tensor built in the loop as the guest does),
    // so the difference is the guest boundary's cost and nothing else.
    let mut means = Vec::with_capacity(5);
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..GUEST_CALLS {
            model.run(single()?).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        means.push(started.elapsed().as_secs_f64() * 1e6 / GUEST_CALLS as f64);
    }

    let batch_rows: Vec<Value> = rows.iter().cycle().take(BATCH_ROWS).cloned().collect();
    let batch = tensor_from_json(&Value::Array(batch_rows), element)?;
    // One untimed call first, as the anchors do; then the median call, which
    // leaves out one preempted call on this 2-core machine and the timed
    // call that makes this batch size's plan (the second of its size).
    model
        .run(vec![("input".to_string(), batch.clone())])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut batch_calls = Vec::with_capacity(BATCH_CALLS);
    for _ in 0..BATCH_CALLS {
        let inputs = vec![("input".to_string(), batch.clone())];
        let started = Instant::now();
        model.run(inputs).map_err(|e| anyhow::anyhow!("{e}"))?;
        batch_calls.push(started.elapsed().as_secs_f64());
    }

    Ok(json!({
        "load_ms": median(&mut loads),
        "single_row_p50_us": median(&mut calls),
        "single_row_mean_us": median(&mut means),
        "batch_rows_per_s": BATCH_ROWS as f64 / median(&mut batch_calls),
        "guest_call_us": guest_call_us(dir, name, &rows[1])?,
    }))
}

/// Per call, timed inside the `model-probe` guest: tensor built in the guest,
/// passed to the host, model run, outputs copied back into the guest.
fn guest_call_us(dir: &Path, name: &str, row: &Value) -> Result<f64> {
    let folder = GuestFolder::new("model-bench").with_guest("probe", "model-probe");
    std::fs::copy(
        dir.join(format!("{name}.onnx")),
        folder.models().join(format!("{name}.onnx")),
    )?;
    let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    let (host, _) = WasmHost::init(settings).map_err(|e| anyhow::anyhow!("{e}"))?;
    let width = row.as_array().map_or(0, Vec::len);
    let element = if row[0].is_string() {
        "string"
    } else {
        "float32"
    };
    let event = |repeat: u64| {
        json!({"guest": "probe", "event": {"model": name, "repeat": repeat,
            "inputs": [{"name": "input", "shape": [1, width], "type": element, "data": row}]}})
        .to_string()
    };
    let invocation = Invocation {
        request_id: "bench".into(),
        deadline: SystemTime::now() + Duration::from_secs(600),
        invoked_function_arn: String::new(),
        caller: Default::default(),
    };
    host.dispatch(event(500).as_bytes(), &invocation)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut per_call = Vec::new();
    for _ in 0..5 {
        let answer = host
            .dispatch(event(GUEST_CALLS).as_bytes(), &invocation)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let answer: Value = serde_json::from_slice(&answer.body)?;
        let loop_ns = answer["loop_ns"]
            .as_f64()
            .with_context(|| format!("no loop_ns from the probe guest: {answer}"))?;
        per_call.push(loop_ns / GUEST_CALLS as f64 / 1e3);
    }
    Ok(median(&mut per_call))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
