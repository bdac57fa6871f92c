//! The C-API anchor of the model benchmark (scripts/bench-models.sh):
//! onnxruntime called from Rust through the `ort` crate, with the
//! `libonnxruntime.so` of the pinned onnxruntime wheel (`ORT_DYLIB_PATH`),
//! one intra-op and one inter-op thread, the same models, inputs and
//! statistics as `model-bench` and `bench/onnxruntime_anchor.py`, without
//! Python's per-call binding cost. Prints JSON.
//!
//!     ORT_DYLIB_PATH=.../libonnxruntime.so.1.31.1 ort-anchor MODELS_DIR NAME [NAME ...]

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow};
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use serde_json::{Map, Value, json};

const SINGLE_ROW_CALLS: usize = 20_000;
const BATCH_ROWS: usize = 1024;
const BATCH_CALLS: usize = 50;
const LOADS: usize = 10;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, names) = args
        .split_first()
        .context("usage: ort-anchor MODELS_DIR NAME [NAME ...]")?;
    let library = std::env::var("ORT_DYLIB_PATH")
        .context("set ORT_DYLIB_PATH to the wheel's onnxruntime/capi/libonnxruntime.so.*")?;
    let environment = ort::init_from(&library)
        .map_err(|e| anyhow!("loading {library}: {e}"))?
        .build()
        .map_err(|e| anyhow!("{e}"))?;
    let dir = PathBuf::from(dir);
    let mut results = Map::new();
    for name in names {
        results.insert(name.clone(), measure(&environment, &dir, name)?);
    }
    println!("{}", Value::Object(results));
    Ok(())
}

/// A session as the Python anchor makes it: one thread each way, default
/// (full) graph optimizations.
fn session(environment: &Environment, bytes: &[u8]) -> Result<Session> {
    Session::builder(environment)
        .map_err(|e| anyhow!("{e}"))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| anyhow!("{e}"))?
        .with_intra_threads(1)
        .map_err(|e| anyhow!("{e}"))?
        .with_inter_threads(1)
        .map_err(|e| anyhow!("{e}"))?
        .commit_from_memory(bytes)
        .map_err(|e| anyhow!("{e}"))
}

fn measure(environment: &Environment, dir: &Path, name: &str) -> Result<Value> {
    let bytes = std::fs::read(dir.join(format!("{name}.onnx")))?;
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(
        dir.join(format!("{name}.reference.json")),
    )?)?;
    let rows: Vec<Vec<Value>> = reference["inputs"]["input"]
        .as_array()
        .context("reference rows")?
        .iter()
        .map(|row| row.as_array().cloned().unwrap_or_default())
        .collect();
    let width = rows.first().map_or(0, Vec::len);
    // Text models take strings, the others floats (NaN as null).
    let strings = rows
        .first()
        .and_then(|row| row.first())
        .is_some_and(Value::is_string);
    let tensor = |n_rows: usize, values: &[Value]| -> Result<ort::value::DynValue> {
        let shape = [n_rows, width];
        Ok(if strings {
            let texts: Vec<String> = values
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
            Tensor::from_string_array((shape, texts.as_slice()))
                .map_err(|e| anyhow!("{e}"))?
                .into_dyn()
        } else {
            let numbers: Vec<f32> = values
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
                .collect();
            Tensor::from_array((shape, numbers))
                .map_err(|e| anyhow!("{e}"))?
                .into_dyn()
        })
    };

    let mut loads = Vec::new();
    let mut model = None;
    for _ in 0..LOADS {
        let started = Instant::now();
        model = Some(session(environment, &bytes)?);
        loads.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let mut model = model.context("loaded")?;

    // As in model-bench: the input is built outside the timed run.
    let one_row = || tensor(1, &rows[1]);
    for _ in 0..200 {
        model
            .run(ort::inputs!["input" => one_row()?])
            .map_err(|e| anyhow!("{e}"))?;
    }
    let mut calls = Vec::with_capacity(SINGLE_ROW_CALLS);
    for _ in 0..SINGLE_ROW_CALLS {
        let input = one_row()?;
        let started = Instant::now();
        let outputs = model
            .run(ort::inputs!["input" => input])
            .map_err(|e| anyhow!("{e}"))?;
        calls.push(started.elapsed().as_secs_f64() * 1e6);
        drop(outputs);
    }

    let batch: Vec<Value> = rows
        .iter()
        .cycle()
        .take(BATCH_ROWS)
        .flatten()
        .cloned()
        .collect();
    // As in model-bench: one call first, then the median call.
    let mut batch_calls = Vec::with_capacity(BATCH_CALLS);
    for call in 0..=BATCH_CALLS {
        let input = tensor(BATCH_ROWS, &batch)?;
        let started = Instant::now();
        let outputs = model
            .run(ort::inputs!["input" => input])
            .map_err(|e| anyhow!("{e}"))?;
        if call > 0 {
            batch_calls.push(started.elapsed().as_secs_f64());
        }
        drop(outputs);
    }

    Ok(json!({
        "load_ms": median(&mut loads),
        "single_row_p50_us": median(&mut calls),
        "batch_rows_per_s": BATCH_ROWS as f64 / median(&mut batch_calls),
    }))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
