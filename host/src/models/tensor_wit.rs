//! Tensors as guests pass them through the `models` interface.

use anyhow::{Result, bail, ensure};
use tract_onnx::prelude::*;

use super::tensor_json::element_type_name;
use crate::guests::bindings::models::{Tensor as WitTensor, TensorData};

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
    // The guest chose the shape: check the element count (overflow-safe)
    // before tract sees it, so no shape can make it panic or wrap.
    let expected = shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    let len = match &tensor.data {
        TensorData::Float32(v) => v.len(),
        TensorData::Float64(v) => v.len(),
        TensorData::Int32(v) => v.len(),
        TensorData::Int64(v) => v.len(),
        TensorData::Uint8(v) => v.len(),
        TensorData::Boolean(v) => v.len(),
        TensorData::String(v) => v.len(),
    };
    ensure!(
        expected == Some(len),
        "input `{}` has shape {:?} but {len} elements",
        tensor.name,
        tensor.shape
    );
    match tensor.data {
        TensorData::Float32(v) => Tensor::from_shape(&shape, &v),
        TensorData::Float64(v) => Tensor::from_shape(&shape, &v),
        TensorData::Int32(v) => Tensor::from_shape(&shape, &v),
        TensorData::Int64(v) => Tensor::from_shape(&shape, &v),
        TensorData::Uint8(v) => Tensor::from_shape(&shape, &v),
        TensorData::Boolean(v) => Tensor::from_shape(&shape, &v),
        // Moved, not copied: the strings become the tensor's own.
        TensorData::String(v) => Ok(tract_ndarray::ArrayD::from_shape_vec(shape, v)?.into_tensor()),
    }
}

/// A tract tensor as a guest receives it.
///
/// # Errors
/// An element type guests cannot receive (e.g. `float16`).
pub fn tensor_to_wit(name: &str, tensor: &Tensor) -> Result<WitTensor> {
    let view = tensor.try_as_plain_ram()?;
    let data = match tensor.datum_type() {
        DatumType::F32 => TensorData::Float32(view.as_slice::<f32>()?.to_vec()),
        DatumType::F64 => TensorData::Float64(view.as_slice::<f64>()?.to_vec()),
        DatumType::I32 => TensorData::Int32(view.as_slice::<i32>()?.to_vec()),
        DatumType::I64 => TensorData::Int64(view.as_slice::<i64>()?.to_vec()),
        DatumType::U8 => TensorData::Uint8(view.as_slice::<u8>()?.to_vec()),
        DatumType::Bool => TensorData::Boolean(view.as_slice::<bool>()?.to_vec()),
        DatumType::String => TensorData::String(view.as_slice::<String>()?.to_vec()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_whose_count_overflows_are_refused_before_tract_sees_them() {
        for shape in [
            vec![1u64 << 32, 1 << 32],
            vec![u64::MAX, 2],
            vec![(1 << 62) + 1, 4], // wraps to exactly 4 elements
        ] {
            let tensor = WitTensor {
                name: "input".into(),
                shape: shape.clone(),
                data: TensorData::Float32(vec![0.0; 4]),
            };
            let error = tensor_from_wit(tensor).unwrap_err();
            assert!(
                error.to_string().contains("but 4 elements"),
                "{shape:?}: {error}"
            );
        }
        let fine = WitTensor {
            name: "input".into(),
            shape: vec![2, 2],
            data: TensorData::Float32(vec![1.0, 2.0, 3.0, 4.0]),
        };
        assert_eq!(tensor_from_wit(fine).unwrap().shape(), &[2, 2]);
    }
}
