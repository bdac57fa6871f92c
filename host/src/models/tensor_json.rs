//! Tensors as JSON nested arrays (`infer` input and output): the shape is the
//! nesting, the element type comes from the model.

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::Value;
use tract_onnx::prelude::*;

/// Elements a JSON tensor may hold (a guard against answers that would not
/// fit in memory, not a model limit).
const MAX_ELEMENTS: usize = 1 << 26;

/// The name `models`/`infer` and guests use for an element type.
pub fn element_type_name(dt: DatumType) -> String {
    match dt {
        DatumType::F32 => "float32".into(),
        DatumType::F64 => "float64".into(),
        DatumType::I32 => "int32".into(),
        DatumType::I64 => "int64".into(),
        DatumType::U8 => "uint8".into(),
        DatumType::Bool => "bool".into(),
        DatumType::String => "string".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Builds a tensor of element type `dt` from nested arrays.
///
/// # Errors
/// Ragged nesting, or an element that is not a `dt` value (`null` is NaN
/// for float types).
pub fn tensor_from_json(value: &Value, dt: DatumType) -> Result<Tensor> {
    let mut shape = Vec::new();
    let mut probe = value;
    while let Some(items) = probe.as_array() {
        shape.push(items.len());
        match items.first() {
            Some(first) => probe = first,
            None => break,
        }
    }
    let count = shape
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .filter(|n| *n <= MAX_ELEMENTS);
    let count = count.with_context(|| format!("a tensor of shape {shape:?} is too large"))?;
    let mut leaves = Vec::with_capacity(count);
    collect_leaves(value, &shape, &mut leaves)?;
    Ok(match dt {
        DatumType::F32 => build(&shape, &leaves, |v| as_float(v).map(|f| f as f32))?,
        DatumType::F64 => build(&shape, &leaves, as_float)?,
        DatumType::F16 => build(&shape, &leaves, |v| as_float(v).map(f16::from_f64))?,
        DatumType::I64 => build(&shape, &leaves, as_i64)?,
        DatumType::I32 => build(&shape, &leaves, |v| narrow::<i32>(v, "int32"))?,
        DatumType::U8 => build(&shape, &leaves, |v| narrow::<u8>(v, "uint8"))?,
        DatumType::I16 => build(&shape, &leaves, |v| narrow::<i16>(v, "int16"))?,
        DatumType::I8 => build(&shape, &leaves, |v| narrow::<i8>(v, "int8"))?,
        DatumType::U16 => build(&shape, &leaves, |v| narrow::<u16>(v, "uint16"))?,
        DatumType::U32 => build(&shape, &leaves, |v| narrow::<u32>(v, "uint32"))?,
        DatumType::U64 => build(&shape, &leaves, |v| {
            v.as_u64()
                .with_context(|| format!("expected a non-negative integer, got {v}"))
        })?,
        DatumType::Bool => build(&shape, &leaves, |v| {
            v.as_bool()
                .with_context(|| format!("expected true or false, got {v}"))
        })?,
        DatumType::String => {
            let data: Vec<String> = leaves
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .with_context(|| format!("expected a string, got {v}"))
                })
                .collect::<Result<_>>()?;
            tract_ndarray::ArrayD::from_shape_vec(shape, data)?.into_tensor()
        }
        other => bail!(
            "element type {} is not supported in JSON",
            element_type_name(other)
        ),
    })
}

/// A tensor of `shape` from leaves converted one by one.
fn build<T: Datum + Copy>(
    shape: &[usize],
    leaves: &[&Value],
    convert: impl Fn(&Value) -> Result<T>,
) -> Result<Tensor> {
    let data: Vec<T> = leaves.iter().map(|v| convert(v)).collect::<Result<_>>()?;
    Tensor::from_shape(shape, &data)
}

/// A number, or `null` for NaN (a missing value, what imputers replace;
/// JSON has no NaN, and answers write NaN as `null` too), or the strings
/// `"inf"` / `"-inf"` for the infinities JSON has no number for either.
fn as_float(v: &Value) -> Result<f64> {
    if v.is_null() {
        return Ok(f64::NAN);
    }
    match v.as_str() {
        Some("inf") => return Ok(f64::INFINITY),
        Some("-inf") => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    v.as_f64()
        .with_context(|| format!("expected a number or null, got {v}"))
}

/// An integer, also written as a float with no fraction (`3.0`).
fn as_i64(v: &Value) -> Result<i64> {
    v.as_i64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .with_context(|| format!("expected an integer, got {v}"))
}

fn narrow<T: TryFrom<i64>>(v: &Value, type_name: &str) -> Result<T> {
    let i = as_i64(v)?;
    T::try_from(i)
        .ok()
        .with_context(|| format!("{i} does not fit {type_name}"))
}

fn collect_leaves<'v>(value: &'v Value, shape: &[usize], out: &mut Vec<&'v Value>) -> Result<()> {
    match shape.split_first() {
        None => {
            ensure!(
                !value.is_array(),
                "ragged nesting: found an array where the first row has a number"
            );
            out.push(value);
        }
        Some((len, rest)) => {
            let items = value
                .as_array()
                .context("ragged nesting: found a number where the first row has an array")?;
            ensure!(
                items.len() == *len,
                "ragged nesting: a row of {} where the first has {len}",
                items.len()
            );
            for item in items {
                collect_leaves(item, rest, out)?;
            }
        }
    }
    Ok(())
}

/// Writes a tensor as nested arrays. Floats are written with the fewest
/// digits that read back to the same value; NaN and infinities as `null`.
///
/// # Errors
/// An element type JSON cannot carry.
pub fn tensor_to_json(tensor: &Tensor) -> Result<Value> {
    let view = tensor.try_as_plain_ram()?;
    let leaves: Vec<Value> = match tensor.datum_type() {
        DatumType::F32 => view
            .as_slice::<f32>()?
            .iter()
            .map(|f| float_json(f.to_string(), f.is_finite()))
            .collect(),
        DatumType::F64 => view
            .as_slice::<f64>()?
            .iter()
            .map(|f| float_json(f.to_string(), f.is_finite()))
            .collect(),
        DatumType::F16 => view
            .as_slice::<f16>()?
            .iter()
            .map(|f| float_json(f.to_f32().to_string(), f.is_finite()))
            .collect(),
        DatumType::I64 => view
            .as_slice::<i64>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::I32 => view
            .as_slice::<i32>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::I16 => view
            .as_slice::<i16>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::I8 => view
            .as_slice::<i8>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::U64 => view
            .as_slice::<u64>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::U32 => view
            .as_slice::<u32>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::U16 => view
            .as_slice::<u16>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::U8 => view
            .as_slice::<u8>()?
            .iter()
            .map(|i| Value::from(*i))
            .collect(),
        DatumType::Bool => view
            .as_slice::<bool>()?
            .iter()
            .map(|b| Value::from(*b))
            .collect(),
        DatumType::String => view
            .as_slice::<String>()?
            .iter()
            .map(|s| Value::from(s.as_str()))
            .collect(),
        other => bail!(
            "element type {} is not supported in JSON",
            element_type_name(other)
        ),
    };
    Ok(nest(&leaves, tensor.shape()))
}

fn float_json(shortest: String, finite: bool) -> Value {
    if !finite {
        return Value::Null;
    }
    shortest
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn nest(leaves: &[Value], shape: &[usize]) -> Value {
    match shape.split_first() {
        None => leaves.first().cloned().unwrap_or(Value::Null),
        Some((len, rest)) => {
            let stride: usize = rest.iter().product();
            Value::Array(
                (0..*len)
                    .map(|i| nest(&leaves[i * stride..(i + 1) * stride], rest))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_arrays_round_trip_with_their_shape() {
        let value = json!([[0.1, 2.0, -3.5], [4.0, 5.0, 6.25]]);
        let tensor = tensor_from_json(&value, DatumType::F32).unwrap();
        assert_eq!(tensor.shape(), &[2, 3]);
        assert_eq!(tensor_to_json(&tensor).unwrap(), value);
        let ints = tensor_from_json(&json!([1, 2, 3]), DatumType::I64).unwrap();
        assert_eq!(tensor_to_json(&ints).unwrap(), json!([1, 2, 3]));
        let scalar = tensor_from_json(&json!(7), DatumType::I32).unwrap();
        assert_eq!(scalar.shape(), &[] as &[usize]);
    }

    #[test]
    fn ragged_and_mistyped_input_is_refused() {
        assert!(tensor_from_json(&json!([[1, 2], [3]]), DatumType::F32).is_err());
        assert!(tensor_from_json(&json!([[1, 2], 3]), DatumType::F32).is_err());
        assert!(tensor_from_json(&json!([1.5]), DatumType::I64).is_err());
        assert!(tensor_from_json(&json!([300]), DatumType::U8).is_err());
        assert!(tensor_from_json(&json!(["a"]), DatumType::F32).is_err());
    }
}
