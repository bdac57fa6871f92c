//! A guest's model call (`models.infer`): checked against the guest's model
//! memory cap and its permissions, then run on tokio's blocking pool, so the
//! call can be abandoned at its deadline while tract finishes on its own
//! thread; or, for a small input to a model whose small runs have all been
//! short lately, run on the calling thread.
//!
//! Why the second way: handing a run to the blocking pool and back costs
//! tens of microseconds (two thread wake-ups), ten times a one-row run of a
//! typical scikit-learn model. On the calling thread a run cannot be
//! abandoned, so it is allowed only where it cannot matter: the input is
//! small, the model's last `SHORT_STREAK` small runs each took under
//! `SHORT_RUN`, and the call has far more time left than that. One slow
//! small run sends the model's next runs back to the pool until it has
//! shown a streak again, so the deadline can be overrun by at most one
//! short run's surprise.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tract_onnx::prelude::DatumType;

use super::bindings::models;
use super::state::GuestIdentity;
use crate::models::onnx_model::{Dim, OnnxModel, RunError, TensorSignature};
use crate::models::store::AccessError;
use crate::models::tensor_json::element_type_name;
use crate::models::tensor_wit::{tensor_from_wit, tensor_to_wit};

/// Inputs up to this size count as small.
const SMALL_INPUT_BYTES: u64 = 64 * 1024;
/// A small run under this is short.
const SHORT_RUN: Duration = Duration::from_micros(500);
/// Short small runs in a row before runs go on the calling thread.
const SHORT_STREAK: u32 = 8;
/// The call must have this many times `SHORT_RUN` left to run inline.
const DEADLINE_MARGIN: u32 = 100;

/// Runs `model` for the guest of `identity`; `deadline` ends its call.
pub(crate) async fn run_model(
    identity: Arc<GuestIdentity>,
    model: String,
    inputs: Vec<models::Tensor>,
    deadline: Instant,
) -> Result<Vec<models::Tensor>, models::ModelError> {
    use models::ModelError;
    let cap = identity.model_memory_bytes;
    let input_bytes: u64 = inputs.iter().map(tensor_bytes).sum();
    if input_bytes > cap {
        return Err(ModelError::InvalidInput(format!(
            "model `{model}`: inputs of {input_bytes} bytes exceed guest `{}`'s model memory cap of {cap} bytes (`model_memory_mb` in guests.toml); send smaller batches",
            identity.name
        )));
    }
    let runnable = usable_model(&identity, &model)?;
    let permit = Arc::clone(&identity.model_runs)
        .acquire_owned()
        .await
        .map_err(|_| ModelError::Failed("the host is shutting down".to_owned()))?;
    let small = input_bytes <= SMALL_INPUT_BYTES;
    let call = ModelCall {
        model,
        guest: identity.name.clone(),
        cap,
        small,
    };
    let time_left = deadline.saturating_duration_since(Instant::now());
    if small
        && runnable.short_small_runs.load(Ordering::Relaxed) >= SHORT_STREAK
        && time_left > SHORT_RUN * DEADLINE_MARGIN
    {
        let _permit = permit;
        return call.run(&runnable, inputs);
    }
    let run = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        call.run(&runnable, inputs)
    });
    run.await.unwrap_or_else(|join_error| {
        Err(ModelError::Failed(format!(
            "the model run failed inside the host: {join_error}"
        )))
    })
}

/// The model `name` if the guest of `identity` may use it.
fn usable_model(
    identity: &GuestIdentity,
    name: &str,
) -> Result<Arc<OnnxModel>, models::ModelError> {
    use models::ModelError;
    identity
        .models
        .for_guest(name, &identity.name, identity.allowed_models.as_deref())
        .map(Arc::clone)
        .map_err(|error| match error {
            AccessError::Unknown(m) => ModelError::UnknownModel(m),
            AccessError::NotAllowed(m) => ModelError::NotAllowed(m),
            AccessError::Unavailable(m) => ModelError::Failed(m),
        })
}

/// What `model` takes and gives (`models.describe`).
pub(crate) fn describe_model(
    identity: &GuestIdentity,
    model: &str,
) -> Result<models::ModelInfo, models::ModelError> {
    let runnable = usable_model(identity, model)?;
    Ok(models::ModelInfo {
        name: model.to_owned(),
        inputs: runnable.inputs.iter().map(tensor_info).collect(),
        outputs: runnable.outputs.iter().map(tensor_info).collect(),
    })
}

/// The models the guest of `identity` may use, loaded and allowed, sorted
/// (`models.list`).
pub(crate) fn allowed_models(identity: &GuestIdentity) -> Vec<String> {
    let mut names: Vec<String> = identity
        .models
        .names()
        .filter(|name| usable_model(identity, name).is_ok())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

fn tensor_info(signature: &TensorSignature) -> models::TensorInfo {
    models::TensorInfo {
        name: signature.name.clone(),
        element_type: element_type(signature.datum_type),
        shape: signature
            .shape
            .iter()
            .map(|dim| match dim {
                Dim::Fixed(n) => models::Dimension::Fixed(*n as u64),
                Dim::Symbolic(symbol) => models::Dimension::Unknown(symbol.clone()),
            })
            .collect(),
    }
}

fn element_type(datum: DatumType) -> models::ElementType {
    use models::ElementType;
    match datum {
        DatumType::F32 => ElementType::Float32,
        DatumType::F64 => ElementType::Float64,
        DatumType::I32 => ElementType::Int32,
        DatumType::I64 => ElementType::Int64,
        DatumType::U8 => ElementType::Uint8,
        DatumType::Bool => ElementType::Boolean,
        DatumType::String => ElementType::String,
        other => ElementType::Other(element_type_name(other)),
    }
}

/// One call's facts, for the run and its error messages.
struct ModelCall {
    model: String,
    guest: String,
    /// Most bytes of outputs.
    cap: u64,
    small: bool,
}

impl ModelCall {
    /// Converts, runs, checks the outputs' size, converts back; notes how
    /// long a small run took.
    fn run(
        self,
        runnable: &OnnxModel,
        inputs: Vec<models::Tensor>,
    ) -> Result<Vec<models::Tensor>, models::ModelError> {
        use models::ModelError;
        let Self {
            model,
            guest,
            cap,
            small,
        } = self;
        let named = inputs
            .into_iter()
            .map(|tensor| {
                let name = tensor.name.clone();
                tensor_from_wit(tensor).map(|t| (name, t))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| ModelError::InvalidInput(format!("{e:#}")))?;
        let started = Instant::now();
        let outputs = runnable.run(named);
        if small {
            note_small_run(runnable, started.elapsed());
        }
        let outputs = outputs.map_err(|error| match error {
            RunError::InvalidInput(m) => ModelError::InvalidInput(format!("model `{model}`: {m}")),
            RunError::Failed(m) => ModelError::Failed(format!("model `{model}`: {m}")),
        })?;
        let output_bytes: u64 = outputs.iter().map(|(_, t)| output_bytes(t)).sum();
        if output_bytes > cap {
            return Err(ModelError::Failed(format!(
                "model `{model}`: outputs of {output_bytes} bytes exceed guest `{guest}`'s model memory cap of {cap} bytes (`model_memory_mb` in guests.toml); send smaller batches"
            )));
        }
        outputs
            .iter()
            .map(|(name, tensor)| tensor_to_wit(name, tensor))
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| ModelError::Failed(format!("model `{model}`: {e:#}")))
    }
}

/// Extends or breaks the model's streak of short small runs.
fn note_small_run(model: &OnnxModel, took: Duration) {
    if took < SHORT_RUN {
        // Saturating: the streak only has to reach SHORT_STREAK.
        let _ = model
            .short_small_runs
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(1))
            });
    } else {
        model.short_small_runs.store(0, Ordering::Relaxed);
    }
}

/// Bytes of a model output's elements (a string's own bytes included).
fn output_bytes(tensor: &tract_onnx::prelude::Tensor) -> u64 {
    let elements = (tensor.len() * tensor.datum_type().size_of()) as u64;
    let text = match tensor.try_as_plain_ram() {
        Ok(view) if tensor.datum_type() == DatumType::String => view
            .as_slice::<String>()
            .map(|strings| strings.iter().map(|s| s.len() as u64).sum())
            .unwrap_or(0),
        _ => 0,
    };
    elements.saturating_add(text)
}

/// Bytes of a tensor's elements.
fn tensor_bytes(tensor: &models::Tensor) -> u64 {
    use models::TensorData;
    let (count, size) = match &tensor.data {
        TensorData::Float32(v) => (v.len(), 4),
        TensorData::Float64(v) => (v.len(), 8),
        TensorData::Int32(v) => (v.len(), 4),
        TensorData::Int64(v) => (v.len(), 8),
        TensorData::Uint8(v) => (v.len(), 1),
        TensorData::Boolean(v) => (v.len(), 1),
        // A string's bytes plus tract's `String` (pointer, length, capacity).
        TensorData::String(v) => {
            let bytes: usize = v.iter().map(|s| s.len() + 24).sum();
            return bytes as u64;
        }
    };
    (count as u64).saturating_mul(size)
}
