//! Run ONNX models the host loaded at init.
//!
//! ```no_run
//! use wasm_lambda_sdk::models::{infer, Tensor};
//!
//! let input = Tensor::f32("input", vec![1, 4], vec![0.0, 0.0, 0.0, 0.0]);
//! match infer("forest", vec![input]) {
//!     Ok(outputs) => println!("{} outputs", outputs.len()),
//!     Err(error) => println!("model failed: {error}"),
//! }
//! ```

use std::fmt;

use crate::bindings::wasm_lambda::guest::models as wit;

pub use wit::TensorData;

/// A named tensor: shape and row-major elements.
#[derive(Debug, Clone)]
pub struct Tensor {
    /// The model input or output name.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// The elements, row-major.
    pub data: TensorData,
}

impl Tensor {
    /// A tensor of `f32` elements.
    pub fn f32(name: impl Into<String>, shape: Vec<u64>, data: Vec<f32>) -> Self {
        Self { name: name.into(), shape, data: TensorData::Float32(data) }
    }

    /// A tensor of `i64` elements.
    pub fn i64(name: impl Into<String>, shape: Vec<u64>, data: Vec<i64>) -> Self {
        Self { name: name.into(), shape, data: TensorData::Int64(data) }
    }
}

/// Why [`infer`] did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// No model of that name is loaded.
    UnknownModel(String),
    /// The manifest does not let this guest use that model.
    NotAllowed(String),
    /// Wrong input names, shapes or element types.
    InvalidInput(String),
    /// The model failed while running.
    Failed(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownModel(m) => write!(f, "unknown model: {m}"),
            Self::NotAllowed(m) => write!(f, "model not allowed: {m}"),
            Self::InvalidInput(m) => write!(f, "invalid model input: {m}"),
            Self::Failed(m) => write!(f, "model failed: {m}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// Runs `model` on `inputs` and returns every output of the model.
///
/// # Errors
/// Unknown model, a model this guest may not use, or inputs of the wrong
/// name, shape or element type come back as a [`ModelError`], never a trap.
pub fn infer(model: &str, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, ModelError> {
    let inputs: Vec<wit::Tensor> = inputs
        .into_iter()
        .map(|t| wit::Tensor { name: t.name, shape: t.shape, data: t.data })
        .collect();
    match wit::infer(model, &inputs) {
        Ok(outputs) => Ok(outputs
            .into_iter()
            .map(|t| Tensor { name: t.name, shape: t.shape, data: t.data })
            .collect()),
        Err(wit::ModelError::UnknownModel(m)) => Err(ModelError::UnknownModel(m)),
        Err(wit::ModelError::NotAllowed(m)) => Err(ModelError::NotAllowed(m)),
        Err(wit::ModelError::InvalidInput(m)) => Err(ModelError::InvalidInput(m)),
        Err(wit::ModelError::Failed(m)) => Err(ModelError::Failed(m)),
    }
}
