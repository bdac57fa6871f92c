//! `ArrayFeatureExtractor`: picks columns (the last axis) of its first
//! input at the indices of its second. tract's version is a `Gather`, which
//! drops the last axis for a scalar index; onnxruntime (and the models
//! skl2onnx writes for SVC and ColumnTransformer, which then concatenate on
//! axis 1) keep it: the output is the input's shape with the last axis
//! replaced by the number of indices, and a 1-D input gives `[1, n]`.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::{FactShape, Kernel, expand_kernel};

#[derive(Debug)]
struct ArrayFeatureExtractor;

pub fn from_node(
    _ctx: &ParsingContext,
    _node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    expand_kernel(ArrayFeatureExtractor)
}

fn output_shape<D: Clone>(input: &[D], indices: D, one: D) -> TVec<D> {
    match input.len() {
        1 => tvec![one, indices],
        _ => {
            let mut shape: TVec<D> = input.into();
            if let Some(last) = shape.last_mut() {
                *last = indices;
            }
            shape
        }
    }
}

/// The indices as positions, each one checked against `columns`.
fn checked_indices(indices: &Tensor, columns: usize) -> TractResult<Vec<usize>> {
    let indices = indices.cast_to::<i64>()?;
    let indices = indices
        .try_as_plain_ram()?
        .as_slice::<i64>()?
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < columns)
                .ok_or_else(|| {
                    anyhow!(
                        "ArrayFeatureExtractor: index {i} is out of range for {columns} columns"
                    )
                })
        })
        .collect::<TractResult<Vec<usize>>>()?;
    ensure!(!indices.is_empty(), "ArrayFeatureExtractor: no indices");
    Ok(indices)
}

fn pick<T: Datum + Clone>(
    input: &Tensor,
    indices: &[usize],
    shape: &[usize],
) -> TractResult<Tensor> {
    let values = input.try_as_plain_ram()?;
    let values = values.as_slice::<T>()?;
    let stride = input.shape().last().copied().unwrap_or(1).max(1);
    let picked: Vec<T> = values
        .chunks(stride)
        .flat_map(|row| indices.iter().map(|&i| row[i].clone()))
        .collect();
    Ok(tract_ndarray::ArrayD::from_shape_vec(shape, picked)?.into_tensor())
}

impl Kernel for ArrayFeatureExtractor {
    fn name(&self) -> &'static str {
        "ArrayFeatureExtractor"
    }

    fn n_inputs(&self) -> Option<usize> {
        Some(2)
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let (datum_type, shape) = &inputs[0];
        ensure!(
            !shape.is_empty(),
            "ArrayFeatureExtractor: the input is a scalar"
        );
        let count = inputs[1].1.iter().product::<TDim>();
        Ok(tvec!((*datum_type, output_shape(shape, count, 1.to_dim()))))
    }

    /// Constant indices (skl2onnx's exports) are checked at load against a
    /// fixed column count.
    fn check_wiring(&self, inputs: &[&TypedFact]) -> TractResult<()> {
        let columns = inputs[0].shape.last().and_then(|d| d.to_usize().ok());
        if let (Some(columns), Some(indices)) = (columns, &inputs[1].konst) {
            checked_indices(indices, columns)?;
        }
        Ok(())
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (input, indices) = (&inputs[0], &inputs[1]);
        ensure!(
            input.rank() >= 1,
            "ArrayFeatureExtractor: the input is a scalar"
        );
        let stride = input.shape().last().copied().unwrap_or(0);
        let indices = checked_indices(indices, stride)?;
        let shape = output_shape(input.shape(), indices.len(), 1);
        let picked = match input.datum_type() {
            DatumType::F32 => pick::<f32>(input, &indices, &shape)?,
            DatumType::F64 => pick::<f64>(input, &indices, &shape)?,
            DatumType::I64 => pick::<i64>(input, &indices, &shape)?,
            DatumType::I32 => pick::<i32>(input, &indices, &shape)?,
            DatumType::TDim => pick::<TDim>(input, &indices, &shape)?,
            DatumType::String => pick::<String>(input, &indices, &shape)?,
            other => bail!("ArrayFeatureExtractor: {other:?} inputs are not supported"),
        };
        Ok(tvec!(picked.into_tvalue()))
    }
}
