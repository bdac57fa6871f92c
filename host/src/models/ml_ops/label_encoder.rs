//! `LabelEncoder`: maps each value through a key → value table; values
//! missing from the table get the default. Opset 2's `keys_*`/`values_*`/
//! `default_*` attributes (int64, float, string) and opset 4's
//! `keys_tensor`/`values_tensor`/`default_tensor` (any integer or float
//! type, or strings), mixed as the spec allows.
//! Guests only send numbers; string tables work on string tensors made
//! inside the model.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats, ints};
use super::{FactShape, Kernel, expand_kernel};

/// A key: floats by their bits as `f64` (with -0.0 as 0.0 and every NaN
/// one NaN), so they can be hashed; `f32` keys and inputs widen exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Int(i64),
    Float(u64),
    Text(String),
}

fn float_key(x: f64) -> Key {
    let canonical = if x.is_nan() {
        f64::NAN
    } else if x == 0.0 {
        0.0
    } else {
        x
    };
    Key::Float(canonical.to_bits())
}

/// The table's values and the default, held wide; the output is cast to
/// `output` (opset 4's `values_tensor` may be int16, int32, double, ...).
#[derive(Debug, Clone)]
enum Values {
    Ints(Vec<i64>, i64),
    Floats(Vec<f64>, f64),
    Texts(Vec<String>, String),
}

#[derive(Debug)]
struct LabelEncoder {
    key_type: DatumType,
    table: HashMap<Key, usize>,
    values: Values,
    output: DatumType,
}

/// How a list of keys or values is held: its element type and contents.
enum Table {
    Ints(DatumType, Vec<i64>),
    Floats(DatumType, Vec<f64>),
    Texts(Vec<String>),
}

impl Table {
    fn datum_type(&self) -> DatumType {
        match self {
            Self::Ints(dt, _) | Self::Floats(dt, _) => *dt,
            Self::Texts(_) => String::datum_type(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Ints(_, v) => v.len(),
            Self::Floats(_, v) => v.len(),
            Self::Texts(v) => v.len(),
        }
    }

    /// A tensor attribute (opset 4's `*_tensor`) as a table.
    fn of_tensor(tensor: &Tensor, node: &NodeProto, name: &str) -> TractResult<Self> {
        let dt = tensor.datum_type();
        Ok(if dt == String::datum_type() {
            Self::Texts(tensor.try_as_plain_ram()?.as_slice::<String>()?.to_vec())
        } else if dt.is_integer() {
            let wide = tensor.cast_to::<i64>()?;
            Self::Ints(dt, wide.try_as_plain_ram()?.as_slice::<i64>()?.to_vec())
        } else if dt.is_float() {
            let wide = tensor.cast_to::<f64>()?;
            Self::Floats(dt, wide.try_as_plain_ram()?.as_slice::<f64>()?.to_vec())
        } else {
            bail!(
                "{}: {name} holds {dt:?}, not integers, floats or strings",
                context(node)
            )
        })
    }
}

/// The table named `kind` (`keys`, `values`): opset 2's `KIND_int64s`,
/// `KIND_floats`, `KIND_strings`, or opset 4's `KIND_tensor`; exactly one.
fn read_table(node: &NodeProto, kind: &str) -> TractResult<Table> {
    let tensor = tensor_attribute(node, &format!("{kind}_tensor"))?;
    let found = [
        ints(node, &format!("{kind}_int64s"))?.map(|v| Table::Ints(i64::datum_type(), v)),
        floats(node, &format!("{kind}_floats"))?
            .map(|v| Table::Floats(f32::datum_type(), v.into_iter().map(f64::from).collect())),
        node.get_attr_opt_vec::<String>(&format!("{kind}_strings"))?
            .map(Table::Texts),
        tensor
            .map(|t| Table::of_tensor(&t, node, &format!("{kind}_tensor")))
            .transpose()?,
    ];
    let mut found = found.into_iter().flatten();
    match (found.next(), found.next()) {
        (Some(table), None) => Ok(table),
        _ => bail!(
            "{}: exactly one of {kind}_int64s, {kind}_floats, {kind}_strings and {kind}_tensor \
             must be set",
            context(node)
        ),
    }
}

/// A tensor attribute, loaded.
fn tensor_attribute(node: &NodeProto, name: &str) -> TractResult<Option<Tensor>> {
    let Some(proto) = node.get_attr_opt::<&tract_onnx::pb::TensorProto>(name)? else {
        return Ok(None);
    };
    let tensor =
        tract_onnx::tensor::load_tensor(&tract_onnx::data_resolver::MmapDataResolver, proto, None)?;
    Ok(Some(tensor))
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let keys_table = read_table(node, "keys")?;
    let key_type = keys_table.datum_type();
    let keys: Vec<Key> = match keys_table {
        Table::Ints(_, k) => k.into_iter().map(Key::Int).collect(),
        Table::Floats(_, k) => k.into_iter().map(float_key).collect(),
        Table::Texts(k) => k.into_iter().map(Key::Text).collect(),
    };
    let values_table = read_table(node, "values")?;
    let output = values_table.datum_type();
    let n_values = values_table.len();
    // The default: opset 4's `default_tensor` (one value, of the values'
    // type), else opset 2's `default_*`, else the spec's -1 / -0.0 / "_Unused".
    let default = tensor_attribute(node, "default_tensor")?
        .map(|t| Table::of_tensor(&t, node, "default_tensor"))
        .transpose()?;
    if let Some(default) = &default {
        ensure!(
            default.len() == 1 && default.datum_type() == output,
            "{}: default_tensor must be one {output:?} value, got {} of {:?}",
            context(node),
            default.len(),
            default.datum_type()
        );
    }
    let values = match (values_table, default) {
        (Table::Ints(_, v), Some(Table::Ints(_, d))) => Values::Ints(v, d[0]),
        (Table::Ints(_, v), _) => {
            Values::Ints(v, node.get_attr_opt("default_int64")?.unwrap_or(-1))
        }
        (Table::Floats(_, v), Some(Table::Floats(_, d))) => Values::Floats(v, d[0]),
        (Table::Floats(_, v), _) => Values::Floats(
            v,
            node.get_attr_opt::<f32>("default_float")?
                .map_or(-0.0, f64::from),
        ),
        (Table::Texts(v), Some(Table::Texts(d))) => Values::Texts(v, d[0].clone()),
        (Table::Texts(v), _) => Values::Texts(
            v,
            node.get_attr_opt::<String>("default_string")?
                .unwrap_or_else(|| "_Unused".to_owned()),
        ),
    };
    ensure!(
        keys.len() == n_values,
        "{}: {} keys but {} values",
        context(node),
        keys.len(),
        n_values
    );
    let mut table = HashMap::new();
    for (position, key) in keys.into_iter().enumerate() {
        table.entry(key).or_insert(position);
    }
    expand_kernel(LabelEncoder {
        key_type,
        table,
        values,
        output,
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
        Ok(if self.key_type == String::datum_type() {
            let view = input.try_as_plain_ram()?;
            view.as_slice::<String>()?
                .iter()
                .cloned()
                .map(Key::Text)
                .collect()
        } else if self.key_type.is_integer() {
            let wide = input.cast_to::<i64>()?;
            let view = wide.try_as_plain_ram()?;
            view.as_slice::<i64>()?
                .iter()
                .copied()
                .map(Key::Int)
                .collect()
        } else {
            let wide = input.cast_to::<f64>()?;
            let view = wide.try_as_plain_ram()?;
            view.as_slice::<f64>()?
                .iter()
                .copied()
                .map(float_key)
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
        Ok(tvec!((self.output, inputs[0].1.clone())))
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
                let mapped: Vec<f64> = positions
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
        // Widened values narrow back exactly: they came from `output`.
        let tensor = tensor.cast_to_dt(self.output)?.into_owned();
        Ok(tvec!(tensor.into_tvalue()))
    }
}
