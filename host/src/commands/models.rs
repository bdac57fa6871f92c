//! The model tools: `models DIR` and `infer MODEL_FILE [INPUT_JSON|-]`,
//! to check a model before uploading it, with no guest involved.

use std::io::Read as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value};
use tract_onnx::prelude::*;

use crate::models::onnx_model::{Dim, OnnxModel, TensorSignature};
use crate::models::store::{ModelStore, ModelsDirError};
use crate::models::tensor_json::{tensor_from_json, tensor_to_json};

/// `models DIR`: lists every model with its inputs and outputs (names,
/// element types, shapes), loaded exactly as init loads them.
///
/// Returns whether every model loaded.
///
/// # Errors
/// The folder or its `models.toml` cannot be read.
pub fn list_models(dir: &Path) -> Result<bool> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let (_, reports) = ModelStore::load_dir(dir).map_err(|e| match e {
        ModelsDirError::ManifestInvalid(m) | ModelsDirError::Unreadable(m) => anyhow::anyhow!(m),
    })?;
    if reports.is_empty() {
        println!("no models (*.onnx) in {}", dir.display());
    }
    let mut all_loaded = true;
    for report in &reports {
        match &report.outcome {
            Ok((inputs, outputs)) => {
                println!(
                    "{} (loaded in {:.1} ms)",
                    report.name,
                    report.elapsed.as_secs_f64() * 1e3
                );
                print_signatures("input ", inputs);
                print_signatures("output", outputs);
            }
            Err(reason) => {
                all_loaded = false;
                println!("{}: failed to load: {reason}", report.name);
            }
        }
    }
    Ok(all_loaded)
}

fn print_signatures(kind: &str, signatures: &[TensorSignature]) {
    for signature in signatures {
        println!("  {kind} {}", signature.describe());
    }
}

/// `infer MODEL_FILE [INPUT_JSON|-]`: runs a model once and prints every
/// output as `{"name": nested arrays}`. The input is a JSON object of input
/// name → nested arrays: inline (`'{"input": [[0,0,0,0]]}'`), a file, or `-`
/// for stdin. Without one, every input is zeros with free dimensions 1.
/// With `repeat` > 0, the same inputs then run `repeat` more times and the
/// median run time goes to stderr (the coverage matrix's latency column).
///
/// # Errors
/// The model does not load, or the input is not what it takes.
pub fn infer(model_file: &Path, input: Option<&str>, repeat: u32) -> Result<()> {
    let bytes =
        std::fs::read(model_file).with_context(|| format!("reading {}", model_file.display()))?;
    let started = Instant::now();
    let model = OnnxModel::load(&bytes, &Default::default())?;
    tracing::debug!(
        "model loaded in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let inputs = match input {
        None => zeros_for(&model)?,
        Some(source) => {
            let text = read_input_text(source)?;
            let value: Value = serde_json::from_str(&text).context("the input is not JSON")?;
            named_tensors(&model, &value)?
        }
    };
    let outputs = model
        .run(inputs.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if repeat > 0 {
        let median = median_run_time(&model, &inputs, repeat)?;
        eprintln!("median {:.2} us over {repeat} runs", median * 1e6);
    }
    let mut answer = Map::new();
    for (name, tensor) in &outputs {
        answer.insert(
            name.clone(),
            tensor_to_json(tensor).with_context(|| format!("output `{name}`"))?,
        );
    }
    println!("{}", Value::Object(answer));
    Ok(())
}

/// Median seconds per run of `inputs` (each run gets its own copy, made
/// outside the timed part).
fn median_run_time(model: &OnnxModel, inputs: &[(String, Tensor)], repeat: u32) -> Result<f64> {
    let mut samples = Vec::with_capacity(repeat as usize);
    for _ in 0..repeat {
        let copy = inputs.to_vec();
        let started = Instant::now();
        model.run(copy).map_err(|e| anyhow::anyhow!("{e}"))?;
        samples.push(started.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

fn read_input_text(source: &str) -> Result<String> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the input from stdin")?;
        Ok(text)
    } else if source.trim_start().starts_with('{') {
        Ok(source.to_owned())
    } else {
        std::fs::read_to_string(source).with_context(|| format!("reading input file {source}"))
    }
}

/// `{"name": nested arrays}` → tensors of each input's element type.
fn named_tensors(model: &OnnxModel, value: &Value) -> Result<Vec<(String, Tensor)>> {
    let object = value
        .as_object()
        .context("the input must be a JSON object of input name -> nested arrays")?;
    object
        .iter()
        .map(|(name, nested)| {
            let signature = model
                .inputs
                .iter()
                .find(|s| s.name == *name)
                .with_context(|| {
                    let names: Vec<&str> = model.inputs.iter().map(|s| s.name.as_str()).collect();
                    format!("unknown input `{name}`; the model takes {names:?}")
                })?;
            let tensor = tensor_from_json(nested, signature.datum_type)
                .with_context(|| format!("input `{name}` ({})", signature.describe()))?;
            Ok((name.clone(), tensor))
        })
        .collect()
}

fn zeros_for(model: &OnnxModel) -> Result<Vec<(String, Tensor)>> {
    model
        .inputs
        .iter()
        .map(|signature| {
            let shape: Vec<usize> = signature
                .shape
                .iter()
                .map(|d| if let Dim::Fixed(n) = d { *n } else { 1 })
                .collect();
            Ok((
                signature.name.clone(),
                Tensor::zero_dt(signature.datum_type, &shape)?,
            ))
        })
        .collect()
}
