//! `model-probe`: calls a model with exactly the tensors the event names and
//! answers what came back (outputs, or the error as a value), so tests can
//! reach every corner of the `models` import.
//!
//! Event: `{"model": "m", "inputs": [{"name": "input", "shape": [1, 4],
//! "type": "float32", "data": [0, 0, 0, 0]}], "repeat": 1}`.
//! Or `{"model": "m", "rows": [[...]], "task": "classify"|"predict"}` for the
//! SDK's typed calls. `"batch": N` repeats the inputs' data N times along
//! the first dimension (a huge batch without a huge event). Element type
//! `"string"` sends strings. `{"model": "m", "task": "describe"}` answers
//! the model's description; `{"task": "list"}` the models it may use.

use serde::Deserialize;
use wasm_lambda_sdk::models::{
    Dimension, ElementType, Model, ModelError, Tensor, TensorData, TensorInfo, infer, list,
};
use wasm_lambda_sdk::serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, Function, export_function};

#[derive(Default)]
struct Probe;

#[derive(Deserialize)]
struct Input {
    name: String,
    shape: Vec<u64>,
    #[serde(rename = "type")]
    element: String,
    data: Vec<Value>,
}

#[derive(Deserialize)]
struct Request {
    model: String,
    #[serde(default)]
    inputs: Vec<Input>,
    #[serde(default)]
    rows: Vec<Vec<f32>>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default = "one")]
    repeat: u32,
    #[serde(default)]
    batch: Option<u64>,
}

fn one() -> u32 {
    1
}

fn tensor(input: Input) -> Result<Tensor, Error> {
    let numbers = || input.data.iter().map(|v| v.as_f64().unwrap_or(0.0));
    let bad = |e: &str| Error::new("BadProbe", e.to_owned());
    Ok(match input.element.as_str() {
        "float32" => Tensor::f32(
            input.name,
            input.shape,
            numbers().map(|x| x as f32).collect(),
        ),
        "float64" => Tensor::f64(input.name, input.shape, numbers().collect()),
        "int32" => Tensor::i32(
            input.name,
            input.shape,
            numbers().map(|x| x as i32).collect(),
        ),
        "int64" => Tensor::i64(
            input.name,
            input.shape,
            numbers().map(|x| x as i64).collect(),
        ),
        "uint8" => Tensor::u8(
            input.name,
            input.shape,
            numbers().map(|x| x as u8).collect(),
        ),
        "string" => Tensor::strings(
            input.name,
            input.shape,
            input
                .data
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned()),
        ),
        "bool" => Tensor::bool(
            input.name,
            input.shape,
            input
                .data
                .iter()
                .map(|v| v.as_bool().unwrap_or(false))
                .collect(),
        ),
        other => return Err(bad(other)),
    })
}

fn output_json(t: &Tensor) -> Value {
    let data = match &t.data {
        TensorData::Float32(v) => json!(v),
        TensorData::Float64(v) => json!(v),
        TensorData::Int32(v) => json!(v),
        TensorData::Int64(v) => json!(v),
        TensorData::Uint8(v) => json!(v),
        TensorData::Boolean(v) => json!(v),
        TensorData::String(v) => json!(v),
    };
    json!({"name": t.name, "shape": t.shape, "data": data})
}

fn info_json(info: &TensorInfo) -> Value {
    let element = match &info.element_type {
        ElementType::Float32 => "float32".to_owned(),
        ElementType::Float64 => "float64".to_owned(),
        ElementType::Int32 => "int32".to_owned(),
        ElementType::Int64 => "int64".to_owned(),
        ElementType::Uint8 => "uint8".to_owned(),
        ElementType::Boolean => "bool".to_owned(),
        ElementType::String => "string".to_owned(),
        ElementType::Other(name) => format!("other:{name}"),
    };
    let shape: Vec<Value> = info
        .shape
        .iter()
        .map(|d| match d {
            Dimension::Fixed(n) => json!(n),
            Dimension::Unknown(symbol) => json!(symbol),
        })
        .collect();
    json!({"name": info.name, "type": element, "shape": shape})
}

fn error_json(e: &ModelError) -> Value {
    let kind = match e {
        ModelError::UnknownModel(_) => "UnknownModel",
        ModelError::NotAllowed(_) => "NotAllowed",
        ModelError::InvalidInput(_) => "InvalidInput",
        ModelError::Failed(_) => "Failed",
    };
    json!({"error": kind, "message": e.to_string()})
}

impl Function for Probe {
    type Event = Request;
    type Output = Value;

    fn handle(&mut self, request: Request, _ctx: &Context) -> Result<Value, Error> {
        let model = Model::new(request.model.clone());
        match request.task.as_deref() {
            Some("classify") => {
                return Ok(match model.classify(&request.rows) {
                    Ok(c) => json!({"labels": c.labels, "probabilities": c.probabilities}),
                    Err(e) => error_json(&e),
                });
            }
            Some("describe") => {
                return Ok(match model.describe() {
                    Ok(info) => json!({
                        "name": info.name,
                        "inputs": info.inputs.iter().map(info_json).collect::<Vec<_>>(),
                        "outputs": info.outputs.iter().map(info_json).collect::<Vec<_>>(),
                    }),
                    Err(e) => error_json(&e),
                });
            }
            Some("list") => return Ok(json!({ "models": list() })),
            Some("predict") => {
                return Ok(match model.predict(&request.rows) {
                    Ok(values) => json!({"values": values}),
                    Err(e) => error_json(&e),
                });
            }
            _ => {}
        }
        let inputs: Vec<Tensor> = request
            .inputs
            .into_iter()
            .map(tensor)
            .collect::<Result<_, _>>()?;
        let inputs = match request.batch {
            Some(batch) => inputs.into_iter().map(|t| repeated(t, batch)).collect(),
            None => inputs,
        };
        // Timed inside the guest (WASI's monotonic clock), so benchmarks see
        // the guest-side cost of a model call without the event around it.
        let started = std::time::Instant::now();
        let mut last = Ok(Vec::new());
        for _ in 0..request.repeat {
            last = infer(&request.model, inputs.clone());
            if last.is_err() {
                break;
            }
        }
        let elapsed = started.elapsed();
        let mut answer = match last {
            Ok(outputs) => json!({"outputs": outputs.iter().map(output_json).collect::<Vec<_>>()}),
            Err(e) => return Ok(error_json(&e)),
        };
        answer["loop_ns"] = json!(elapsed.as_nanos() as u64);
        Ok(answer)
    }
}

/// `tensor` with its data repeated `times` along the first dimension.
fn repeated(mut tensor: Tensor, times: u64) -> Tensor {
    fn repeat<T: Clone>(values: &mut Vec<T>, times: u64) {
        let one = std::mem::take(values);
        *values = one
            .iter()
            .cloned()
            .cycle()
            .take(one.len() * times as usize)
            .collect();
    }
    if let Some(first) = tensor.shape.first_mut() {
        *first *= times;
    }
    match &mut tensor.data {
        TensorData::Float32(v) => repeat(v, times),
        TensorData::Float64(v) => repeat(v, times),
        TensorData::Int32(v) => repeat(v, times),
        TensorData::Int64(v) => repeat(v, times),
        TensorData::Uint8(v) => repeat(v, times),
        TensorData::Boolean(v) => repeat(v, times),
        TensorData::String(v) => repeat(v, times),
    }
    tensor
}

export_function!(Probe);
