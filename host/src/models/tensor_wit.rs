//! Tensors as guests pass them through the `models` interface.

use anyhow::{Result, bail, ensure};
use tract_onnx::prelude::*;

use super::tensor_json::element_type_name;
use crate::bindings::models::{Tensor as WitTensor, TensorData};

/// The element type a guest's tensor carries.
pub fn wit_datum_type(data: &TensorData) -> DatumType {
    match data {
        TensorData::Float32(_) => DatumType::F32,
        TensorData::Float64(_) => DatumType::F64,
        TensorData::Int32(_) => DatumType::I32,
        TensorData::Int64(_) => DatumType::I64,
        TensorData::Uint8(_) => DatumType::U8,
        TensorData::Boolean(_) => DatumType::Bool,
    }
}

/// A guest's tensor as a tract tensor.
///
/// # Errors
/// The element count does not match the shape.
pub fn tensor_from_wit(tensor: WitTensor) -> Result<Tensor> {
    let shape: Vec<usize> = tensor
        .shape
        .iter()
        .map(|d| usize::try_from(*d))
        .collect::<Result<_, _>>()?;
    let expected = shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    let (len, result) = match &tensor.data {
        TensorData::Float32(v) => (v.len(), Tensor::from_shape(&shape, v)),
        TensorData::Float64(v) => (v.len(), Tensor::from_shape(&shape, v)),
        TensorData::Int32(v) => (v.len(), Tensor::from_shape(&shape, v)),
        TensorData::Int64(v) => (v.len(), Tensor::from_shape(&shape, v)),
        TensorData::Uint8(v) => (v.len(), Tensor::from_shape(&shape, v)),
        TensorData::Boolean(v) => (v.len(), Tensor::from_shape(&shape, v)),
    };
    ensure!(
        expected == Some(len),
        "input `{}` has shape {:?} but {len} elements",
        tensor.name,
        tensor.shape
    );
    result
}

/// A tract tensor as a guest receives it.
///
/// # Errors
/// An element type guests cannot receive (e.g. strings).
pub fn tensor_to_wit(name: &str, tensor: &Tensor) -> Result<WitTensor> {
    let view = tensor.try_as_plain_ram()?;
    let data = match tensor.datum_type() {
        DatumType::F32 => TensorData::Float32(view.as_slice::<f32>()?.to_vec()),
        DatumType::F64 => TensorData::Float64(view.as_slice::<f64>()?.to_vec()),
        DatumType::I32 => TensorData::Int32(view.as_slice::<i32>()?.to_vec()),
        DatumType::I64 => TensorData::Int64(view.as_slice::<i64>()?.to_vec()),
        DatumType::U8 => TensorData::Uint8(view.as_slice::<u8>()?.to_vec()),
        DatumType::Bool => TensorData::Boolean(view.as_slice::<bool>()?.to_vec()),
        other => bail!(
            "output `{name}` has element type {}, which guests cannot receive",
            element_type_name(other)
        ),
    };
    Ok(WitTensor {
        name: name.to_owned(),
        shape: tensor.shape().iter().map(|d| *d as u64).collect(),
        data,
    })
}
