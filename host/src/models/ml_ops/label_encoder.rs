//! `LabelEncoder`: maps each value through a key → value table (int64,
//! float or string keys and values, opset 2's `keys_*`/`values_*`
//! attributes); values missing from the table get the `default_*` value.
//! Guests only send numbers; string tables work on string tensors made
//! inside the model.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats, ints};
use super::{FactShape, Kernel, expand_kernel};

/// A key: floats by their bits (with -0.0 as 0.0 and every NaN one NaN),
/// so they can be hashed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Int(i64),
    Float(u32),
    Text(String),
}

fn float_key(x: f32) -> Key {
    let canonical = if x.is_nan() {
        f32::NAN
    } else if x == 0.0 {
        0.0
    } else {
        x
    };
    Key::Float(canonical.to_bits())
}

#[derive(Debug, Clone)]
enum Values {
    Ints(Vec<i64>, i64),
    Floats(Vec<f32>, f32),
    Texts(Vec<String>, String),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Self::Ints(v, _) => v.len(),
            Self::Floats(v, _) => v.len(),
            Self::Texts(v, _) => v.len(),
        }
    }

    fn datum_type(&self) -> DatumType {
        match self {
            Self::Ints(..) => i64::datum_type(),
            Self::Floats(..) => f32::datum_type(),
            Self::Texts(..) => String::datum_type(),
        }
    }
}

#[derive(Debug)]
struct LabelEncoder {
    key_type: DatumType,
    table: HashMap<Key, usize>,
    values: Values,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (key_type, keys): (DatumType, Vec<Key>) = match (
        ints(node, "keys_int64s")?,
        floats(node, "keys_floats")?,
        node.get_attr_opt_vec::<String>("keys_strings")?,
    ) {
        (Some(k), None, None) => (i64::datum_type(), k.into_iter().map(Key::Int).collect()),
        (None, Some(k), None) => (f32::datum_type(), k.into_iter().map(float_key).collect()),
        (None, None, Some(k)) => (String::datum_type(), k.into_iter().map(Key::Text).collect()),
        _ => bail!(
            "{}: exactly one of keys_int64s, keys_floats and keys_strings must be set \
             (the opset-4 keys_tensor form is not supported)",
            context(node)
        ),
    };
    let values = match (
        ints(node, "values_int64s")?,
        floats(node, "values_floats")?,
        node.get_attr_opt_vec::<String>("values_strings")?,
    ) {
        (Some(v), None, None) => Values::Ints(v, node.get_attr_opt("default_int64")?.unwrap_or(-1)),
        (None, Some(v), None) => {
            Values::Floats(v, node.get_attr_opt("default_float")?.unwrap_or(-0.0))
        }
        (None, None, Some(v)) => Values::Texts(
            v,
            node.get_attr_opt::<String>("default_string")?
                .unwrap_or_else(|| "_Unused".to_owned()),
        ),
        _ => bail!(
            "{}: exactly one of values_int64s, values_floats and values_strings must be set",
            context(node)
        ),
    };
    ensure!(
        keys.len() == values.len(),
        "{}: {} keys but {} values",
        context(node),
        keys.len(),
        values.len()
    );
    let mut table = HashMap::new();
    for (position, key) in keys.into_iter().enumerate() {
        table.entry(key).or_insert(position);
    }
    expand_kernel(LabelEncoder {
        key_type,
        table,
        values,
    })
}

impl LabelEncoder {
    fn keys_of(&self, input: &TValue) -> TractResult<Vec<Key>> {
        ensure!(
            input.datum_type() == self.key_type,
            "LabelEncoder: input is {:?} but the keys are {:?}",
            input.datum_type(),
            self.key_type
        );
        let view = input.try_as_plain_ram()?;
        Ok(if self.key_type == i64::datum_type() {
            view.as_slice::<i64>()?
                .iter()
                .copied()
                .map(Key::Int)
                .collect()
        } else if self.key_type == f32::datum_type() {
            view.as_slice::<f32>()?
                .iter()
                .copied()
                .map(float_key)
                .collect()
        } else {
            view.as_slice::<String>()?
                .iter()
                .cloned()
                .map(Key::Text)
                .collect()
        })
    }
}

impl Kernel for LabelEncoder {
    fn name(&self) -> &'static str {
        "LabelEncoder"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        ensure!(
            inputs[0].0 == self.key_type,
            "LabelEncoder: input is {:?} but the keys are {:?}",
            inputs[0].0,
            self.key_type
        );
        Ok(tvec!((self.values.datum_type(), inputs[0].1.clone())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let positions: Vec<Option<usize>> = self
            .keys_of(input)?
            .iter()
            .map(|key| self.table.get(key).copied())
            .collect();
        let shape = input.shape();
        let tensor = match &self.values {
            Values::Ints(values, default) => {
                let mapped: Vec<i64> = positions
                    .iter()
                    .map(|p| p.map_or(*default, |p| values[p]))
                    .collect();
                Tensor::from_shape(shape, &mapped)?
            }
            Values::Floats(values, default) => {
                let mapped: Vec<f32> = positions
                    .iter()
                    .map(|p| p.map_or(*default, |p| values[p]))
                    .collect();
                Tensor::from_shape(shape, &mapped)?
            }
            Values::Texts(values, default) => {
                let mapped: Vec<String> = positions
                    .iter()
                    .map(|p| p.map_or_else(|| default.clone(), |p| values[p].clone()))
                    .collect();
                tract_ndarray::ArrayD::from_shape_vec(shape, mapped)?.into_tensor()
            }
        };
        Ok(tvec!(tensor.into_tvalue()))
    }
}
