//! Run ONNX models the host loaded at init.
//!
//! The host loads every model of its models folder once, before the first
//! event; a call costs the model's run time plus a few microseconds. Two
//! levels of API:
//!
//! - [`Model`]: rows of `f32` in, typed answers out ([`Model::classify`] for
//!   classifiers such as scikit-learn forests, [`Model::predict`] for
//!   regressors). The rows go to the model's only input, whatever its name.
//! - [`infer`]: named [`Tensor`]s of any supported element type in (strings
//!   too, for pipelines that encode categories), every output of the model
//!   out.
//!
//! [`describe`] (or [`Model::describe`]) says what a model takes and gives,
//! and [`list`] which models this guest may use.
//!
//! Every failure (unknown model, a model this guest may not use, wrong
//! input name, shape or element type) is a [`ModelError`] value, never a
//! trap.
//!
//! ```no_run
//! use wasm_lambda_sdk::models::Model;
//!
//! let forest = Model::new("seed_forest");
//! let answer = forest.classify(&[[0.0f32, 0.0, 0.0, 0.0]]).expect("the model runs");
//! println!("class {} with probabilities {:?}", answer.labels[0], answer.probabilities[0]);
//! ```

use std::fmt;

use crate::bindings::wasm_lambda::guest::models as wit;

pub use wit::{Dimension, ElementType, ModelInfo, TensorData, TensorInfo};

/// A named tensor: shape and row-major elements.
///
/// ```
/// use wasm_lambda_sdk::models::Tensor;
///
/// let rows = Tensor::f32("input", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(rows.element_count(), 4);
/// assert_eq!(rows.as_f32(), Some(&[1.0, 2.0, 3.0, 4.0][..]));
/// assert_eq!(rows.as_i64(), None);
/// ```
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
        Self {
            name: name.into(),
            shape,
            data: TensorData::Float32(data),
        }
    }

    /// A tensor of `f64` elements.
    pub fn f64(name: impl Into<String>, shape: Vec<u64>, data: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            shape,
            data: TensorData::Float64(data),
        }
    }

    /// A tensor of `i32` elements.
    pub fn i32(name: impl Into<String>, shape: Vec<u64>, data: Vec<i32>) -> Self {
        Self {
            name: name.into(),
            shape,
            data: TensorData::Int32(data),
        }
    }

    /// A tensor of `i64` elements.
    pub fn i64(name: impl Into<String>, shape: Vec<u64>, data: Vec<i64>) -> Self {
        Self {
            name: name.into(),
            shape,
            data: TensorData::Int64(data),
        }
    }

    /// A tensor of `u8` elements.
    pub fn u8(name: impl Into<String>, shape: Vec<u64>, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            shape,
            data: TensorData::Uint8(data),
        }
    }

    /// A tensor of `bool` elements.
    pub fn bool(name: impl Into<String>, shape: Vec<u64>, data: Vec<bool>) -> Self {
        Self {
            name: name.into(),
            shape,
            data: TensorData::Boolean(data),
        }
    }

    /// A tensor of strings, e.g. the categories of a one-hot encoder.
    ///
    /// ```
    /// use wasm_lambda_sdk::models::Tensor;
    ///
    /// let plan = Tensor::strings("plan", vec![2, 1], ["basic", "pro"]);
    /// assert_eq!(plan.as_strings(), Some(&["basic".to_owned(), "pro".to_owned()][..]));
    /// ```
    pub fn strings<S: Into<String>>(
        name: impl Into<String>,
        shape: Vec<u64>,
        data: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            shape,
            data: TensorData::String(data.into_iter().map(Into::into).collect()),
        }
    }

    /// How many elements the data holds.
    pub fn element_count(&self) -> usize {
        match &self.data {
            TensorData::Float32(v) => v.len(),
            TensorData::Float64(v) => v.len(),
            TensorData::Int32(v) => v.len(),
            TensorData::Int64(v) => v.len(),
            TensorData::Uint8(v) => v.len(),
            TensorData::Boolean(v) => v.len(),
            TensorData::String(v) => v.len(),
        }
    }

    /// The elements if they are `f32`.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::Float32(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if they are `f64`.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.data {
            TensorData::Float64(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if they are `i32`.
    pub fn as_i32(&self) -> Option<&[i32]> {
        match &self.data {
            TensorData::Int32(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if they are `i64`.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            TensorData::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if they are `u8`.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match &self.data {
            TensorData::Uint8(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if they are `bool`.
    pub fn as_bool(&self) -> Option<&[bool]> {
        match &self.data {
            TensorData::Boolean(v) => Some(v),
            _ => None,
        }
    }

    /// The elements if they are strings.
    pub fn as_strings(&self) -> Option<&[String]> {
        match &self.data {
            TensorData::String(v) => Some(v),
            _ => None,
        }
    }
}

/// Why a model call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// No model of that name is loaded.
    UnknownModel(String),
    /// The manifest does not let this guest use that model.
    NotAllowed(String),
    /// Wrong input names, shapes or element types.
    InvalidInput(String),
    /// The model failed while running, failed to load, or answered outputs
    /// of a form the typed call did not expect.
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
/// A single input may be passed with an empty name: it goes to the model's
/// only input.
///
/// ```no_run
/// use wasm_lambda_sdk::models::{infer, Tensor};
///
/// let input = Tensor::f32("input", vec![1, 4], vec![0.0, 0.0, 0.0, 0.0]);
/// match infer("seed_forest", vec![input]) {
///     Ok(outputs) => println!("{} outputs", outputs.len()),
///     Err(error) => println!("model failed: {error}"),
/// }
/// ```
///
/// # Errors
/// Unknown model, a model this guest may not use, or inputs of the wrong
/// name, shape or element type come back as a [`ModelError`], never a trap.
pub fn infer(model: &str, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, ModelError> {
    let inputs: Vec<wit::Tensor> = inputs
        .into_iter()
        .map(|t| wit::Tensor {
            name: t.name,
            shape: t.shape,
            data: t.data,
        })
        .collect();
    match wit::infer(model, &inputs) {
        Ok(outputs) => Ok(outputs
            .into_iter()
            .map(|t| Tensor {
                name: t.name,
                shape: t.shape,
                data: t.data,
            })
            .collect()),
        Err(error) => Err(error.into()),
    }
}

impl From<wit::ModelError> for ModelError {
    fn from(error: wit::ModelError) -> Self {
        match error {
            wit::ModelError::UnknownModel(m) => ModelError::UnknownModel(m),
            wit::ModelError::NotAllowed(m) => ModelError::NotAllowed(m),
            wit::ModelError::InvalidInput(m) => ModelError::InvalidInput(m),
            wit::ModelError::Failed(m) => ModelError::Failed(m),
        }
    }
}

/// What `model` takes and gives: each input's and output's name, element
/// type and shape ([`Dimension::Unknown`] for a size known only when the
/// model runs, such as the batch).
///
/// ```no_run
/// use wasm_lambda_sdk::models::{describe, Dimension, ElementType};
///
/// let info = describe("churn").expect("the model is loaded");
/// for input in &info.inputs {
///     let strings = matches!(input.element_type, ElementType::String);
///     let width = match input.shape.last() {
///         Some(Dimension::Fixed(n)) => n.to_string(),
///         _ => "any".to_owned(),
///     };
///     println!("{}: strings? {strings}, width {width}", input.name);
/// }
/// ```
///
/// # Errors
/// As [`infer`]: unknown model, not allowed for this guest, or failed to
/// load.
pub fn describe(model: &str) -> Result<ModelInfo, ModelError> {
    wit::describe(model).map_err(ModelError::from)
}

/// The names of the models this guest may use (loaded, and allowed by
/// `models.toml` and `guests.toml`), sorted.
///
/// ```no_run
/// let names = wasm_lambda_sdk::models::list();
/// assert!(names.windows(2).all(|pair| pair[0] <= pair[1]));
/// ```
pub fn list() -> Vec<String> {
    wit::list()
}

/// A classifier's answer: one label and one row of class scores per input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The predicted class of each row.
    pub labels: Vec<i64>,
    /// Each row's score per class (probabilities for scikit-learn models).
    pub probabilities: Vec<Vec<f32>>,
}

/// A model the host loaded, called by name with rows of features.
///
/// ```no_run
/// use wasm_lambda_sdk::models::Model;
///
/// let regressor = Model::new("forest_regressor");
/// let values = regressor.predict(&[[0.5f32; 8], [1.0; 8]]).expect("the model runs");
/// assert_eq!(values.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    name: String,
}

impl Model {
    /// The model loaded from `NAME.onnx` (or named so in `models.toml`).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the model takes and gives; see [`describe`].
    ///
    /// # Errors
    /// As [`describe`].
    pub fn describe(&self) -> Result<ModelInfo, ModelError> {
        describe(&self.name)
    }

    /// Runs the model on named tensors; see [`infer`].
    ///
    /// # Errors
    /// As [`infer`].
    pub fn infer(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, ModelError> {
        infer(&self.name, inputs)
    }

    /// Runs a classifier on `rows` (each of the model's feature count) and
    /// returns its labels (an `int64` output, `label` by preference) and class
    /// scores (a `float32` `[rows, classes]` output, `probabilities` by
    /// preference), as scikit-learn models exported by skl2onnx answer.
    ///
    /// # Errors
    /// As [`infer`]; rows of different lengths are [`ModelError::InvalidInput`];
    /// a model without such outputs is [`ModelError::Failed`].
    pub fn classify<R: AsRef<[f32]>>(&self, rows: &[R]) -> Result<Classification, ModelError> {
        let outputs = self.infer(vec![rows_tensor(rows)?])?;
        let labels = pick_output(&outputs, "label", |t| {
            t.as_i64().is_some() && t.shape.len() == 1
        })
        .and_then(Tensor::as_i64)
        .ok_or_else(|| self.unexpected("an int64 label output"))?
        .to_vec();
        let scores = pick_output(&outputs, "probabilities", |t| {
            t.as_f32().is_some() && t.shape.len() == 2
        })
        .ok_or_else(|| self.unexpected("a float32 [rows, classes] probabilities output"))?;
        Ok(Classification {
            labels,
            probabilities: split_rows(scores),
        })
    }

    /// Runs a regressor on `rows` and returns each row's values (one per
    /// target) from the model's first `float32` `[rows, targets]` output.
    ///
    /// # Errors
    /// As [`Model::classify`].
    pub fn predict<R: AsRef<[f32]>>(&self, rows: &[R]) -> Result<Vec<Vec<f32>>, ModelError> {
        let outputs = self.infer(vec![rows_tensor(rows)?])?;
        let values = pick_output(&outputs, "variable", |t| {
            t.as_f32().is_some() && t.shape.len() == 2
        })
        .ok_or_else(|| self.unexpected("a float32 [rows, targets] output"))?;
        Ok(split_rows(values))
    }

    fn unexpected(&self, wanted: &str) -> ModelError {
        ModelError::Failed(format!("model `{}` has no {wanted}", self.name))
    }
}

/// Rows as one `[rows, features]` tensor for the model's only input.
fn rows_tensor<R: AsRef<[f32]>>(rows: &[R]) -> Result<Tensor, ModelError> {
    let width = rows.first().map_or(0, |r| r.as_ref().len());
    let mut data = Vec::with_capacity(rows.len() * width);
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != width {
            return Err(ModelError::InvalidInput(format!(
                "row {i} has {} features, row 0 has {width}",
                row.len()
            )));
        }
        data.extend_from_slice(row);
    }
    Ok(Tensor::f32("", vec![rows.len() as u64, width as u64], data))
}

/// The output called `name`, else the first that `fits`.
fn pick_output<'a>(
    outputs: &'a [Tensor],
    name: &str,
    fits: impl Fn(&Tensor) -> bool,
) -> Option<&'a Tensor> {
    outputs
        .iter()
        .find(|t| t.name == name && fits(t))
        .or_else(|| outputs.iter().find(|t| fits(t)))
}

fn split_rows(tensor: &Tensor) -> Vec<Vec<f32>> {
    let width = tensor.shape.get(1).copied().unwrap_or(1).max(1) as usize;
    tensor
        .as_f32()
        .unwrap_or_default()
        .chunks(width)
        .map(<[f32]>::to_vec)
        .collect()
}
