//! A model's run time by batch size, with the batch dimension a symbol (the
//! plan every model has) against the same model loaded with its input
//! fixed at that size (as a `models.toml` shape, or a plan made by
//! `BatchPlans`): the measurement behind `host/src/models/batch_plans.rs`
//! (BENCHMARKS.md, "Models against onnxruntime"). Median of many runs, in process,
//! inputs built outside the timed run. Prints a markdown table.
//!
//!     batch-sizes MODEL.onnx [INPUT_NAME]

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow};
use wasm_lambda_host::models::manifest::DimSpec;
use wasm_lambda_host::models::onnx_model::{Dim, OnnxModel};
use wasm_lambda_host::tract_prelude::*;

const SIZES: [usize; 6] = [1, 4, 16, 64, 256, 1024];

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .context("usage: batch-sizes MODEL.onnx [INPUT_NAME]")?;
    let input = args.next().unwrap_or_else(|| "input".to_owned());
    let bytes = std::fs::read(&path).with_context(|| format!("reading {path}"))?;
    let symbolic = OnnxModel::load(&bytes, &BTreeMap::new())?.without_batch_plans();
    let signature = symbolic
        .inputs
        .iter()
        .find(|s| s.name == input)
        .with_context(|| format!("the model has no input `{input}`"))?;
    let width = match signature.shape.as_slice() {
        [_, Dim::Fixed(width)] => *width,
        other => anyhow::bail!("`{input}` is not [batch, features]: {other:?}"),
    };
    println!("| rows | batch a symbol, µs | batch fixed, µs |");
    println!("| --- | --- | --- |");
    for rows in SIZES {
        let fixed = BTreeMap::from([(
            input.clone(),
            vec![DimSpec::Fixed(rows as u64), DimSpec::Fixed(width as u64)],
        )]);
        let fixed_model = OnnxModel::load(&bytes, &fixed)?;
        let data: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let tensor = Tensor::from_shape(&[rows, width], &data)?;
        let calls = if rows < 64 { 20_000 } else { 2_000 };
        let on_symbolic = median_us(&symbolic, &input, &tensor, calls)?;
        let on_fixed = median_us(&fixed_model, &input, &tensor, calls)?;
        println!("| {rows} | {on_symbolic:.2} | {on_fixed:.2} |");
    }
    Ok(())
}

/// Median run time over `calls` runs, after 100 untimed ones.
fn median_us(model: &OnnxModel, input: &str, tensor: &Tensor, calls: usize) -> Result<f64> {
    let run = |t: &Tensor| {
        model
            .run(vec![(input.to_owned(), t.clone())])
            .map_err(|e| anyhow!("{e}"))
    };
    let mut times = Vec::with_capacity(calls);
    for call in 0..calls + 100 {
        let started = Instant::now();
        run(tensor)?;
        if call >= 100 {
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
